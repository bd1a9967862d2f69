import { describe, expect, it } from 'vitest';
import { readClientHeaders, readUpstreamHeaders } from '../../src/core/headers.js';

const b = (list: string[]): Buffer[] => list.map((s) => Buffer.from(s, 'latin1'));

describe('readClientHeaders', () => {
  it('drops hop-by-hop, identifying and Connection-listed headers, keeps the rest in order', () => {
    const head = readClientHeaders([
      'Host', 'gw.example',
      'Content-Type', 'application/json',
      'Connection', 'keep-alive, X-Secret-Hop',
      'X-Secret-Hop', '1',
      'Keep-Alive', 'timeout=5',
      'Cookie', 'a=b',
      'X-Forwarded-For', '1.1.1.1',
      'X-Forwarded-Proto', 'https',
      'X-Real-IP', '1.1.1.1',
      'Forwarded', 'for=1.1.1.1',
      'Transfer-Encoding', 'chunked',
      'TE', 'trailers',
      'Expect', '100-continue',
      'Authorization', 'Bearer fk-test',
      'OpenAI-Organization', 'org-1',
      'Accept-Encoding', 'gzip',
    ]);
    expect(head.headers).toEqual([
      'content-type', 'application/json',
      'openai-organization', 'org-1',
      'accept-encoding', 'gzip',
    ]);
    expect(head.authorization).toBe('Bearer fk-test');
    expect(head.forwardedFor).toBe('1.1.1.1');
    expect(head.hasBody).toBe(true);
    expect(head.contentLength).toBe(-1);
  });

  it('reads content-length and keeps it', () => {
    const head = readClientHeaders(['content-length', '0']);
    expect(head.hasBody).toBe(false);
    expect(head.headers).toEqual(['content-length', '0']);
    expect(readClientHeaders(['content-length', '12']).contentLength).toBe(12);
  });
});

describe('readUpstreamHeaders', () => {
  it('drops hop-by-hop, marks event streams', () => {
    const head = readUpstreamHeaders(
      b(['Content-Type', 'text/event-stream; charset=utf-8', 'Transfer-Encoding', 'chunked', 'Connection', 'keep-alive', 'X-Request-Id', 'req_1', 'Content-Encoding', 'GZIP']),
    );
    expect(head.headers).toEqual([
      'content-type', 'text/event-stream; charset=utf-8',
      'x-request-id', 'req_1',
      'content-encoding', 'GZIP',
      'x-accel-buffering', 'no',
    ]);
    expect(head.eventStream).toBe(true);
    expect(head.contentEncoding).toBe('gzip');
  });

  it('leaves JSON alone', () => {
    const head = readUpstreamHeaders(b(['content-type', 'application/json', 'content-length', '2']));
    expect(head.eventStream).toBe(false);
    expect(head.headers).toEqual(['content-type', 'application/json', 'content-length', '2']);
  });
});
