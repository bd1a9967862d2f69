/** NO_PROXY matching (core/no-proxy.ts): curl's and undici's conventions. */
import { describe, expect, it } from 'vitest';
import { bypassesProxy } from '../../src/core/no-proxy.js';

describe('bypassesProxy', () => {
  it.each([
    ['api.openai.com', 443, undefined, false],
    ['api.openai.com', 443, '', false],
    ['api.openai.com', 443, '*', true],
    ['api.openai.com', 443, 'api.openai.com', true],
    ['api.openai.com', 443, 'openai.com', true],
    ['api.openai.com', 443, '.openai.com', true],
    ['api.openai.com', 443, '*.openai.com', true],
    ['api.openai.com', 443, 'notopenai.com', false],
    ['api.openai.com', 443, 'localhost, 10.0.0.1 api.openai.com', true],
    ['api.openai.com', 443, 'api.openai.com:443', true],
    ['api.openai.com', 443, 'api.openai.com:8443', false],
    ['API.OpenAI.com', 443, 'api.openai.com', true],
    ['127.0.0.1', 9000, '127.0.0.1', true],
    ['127.0.0.1', 9000, '127.0.0.1:9000', true],
    ['127.0.0.1', 9000, '127.0.0.2', false],
    ['[::1]', 9000, '::1', true],
    ['[::1]', 9000, '[::1]:9000', true],
    ['[::1]', 9000, '[::1]:9001', false],
  ])('%s:%i with NO_PROXY=%j → %s', (host, port, noProxy, expected) => {
    expect(bypassesProxy(host, port, noProxy)).toBe(expected);
  });
});
