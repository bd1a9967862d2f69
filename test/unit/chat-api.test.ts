import { describe, expect, it } from 'vitest';
import { CHAT_ROUTES, chatApiOf } from '../../src/core/chat-api.js';

/** `route` as the request parser makes it: a slice of the request's head, not a literal. */
function sliced(route: string): string {
  const head = `POST ${route} HTTP/1.1\r\nHost: example.test\r\n\r\n`;
  return head.slice(5, 5 + route.length);
}

describe('chatApiOf', () => {
  it('names the recorded API of a POST to one of the three routes, also for a route sliced from a head', () => {
    for (const make of [(r: string) => r, sliced]) {
      expect(chatApiOf('POST', make('/v1/chat/completions'))).toBe('chat');
      expect(chatApiOf('POST', make('/v1/completions'))).toBe('completions');
      expect(chatApiOf('POST', make('/v1/responses'))).toBe('responses');
      expect(chatApiOf('POST', make(CHAT_ROUTES.chat))).toBe('chat');
    }
  });

  it('records nothing but POST', () => {
    for (const method of ['GET', 'PUT', 'post', 'HEAD']) expect(chatApiOf(method, '/v1/chat/completions')).toBeUndefined();
  });

  it('takes only the exact route: not a longer one that starts with it, a shorter one, or one of the same length', () => {
    for (const route of [
      '/v1/chat/completions/x',
      '/v1/chat/completionsx',
      '/v1/chat/completion',
      '/v1/chat/completionZ',
      '/V1/chat/completions',
      '/x1/chat/completions',
      '/v1/completions/',
      '/v1/completion',
      '/v1/responsesx',
      '/v1/response',
      '/v1/Responses',
      '/v1/models',
      '',
      '/',
    ]) {
      expect(chatApiOf('POST', route), route).toBeUndefined();
      expect(chatApiOf('POST', sliced(route)), route).toBeUndefined();
    }
  });
});
