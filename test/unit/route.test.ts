import { describe, expect, it } from 'vitest';
import { createRouter, normalisePrefix } from '../../src/core/route.js';

describe('normalisePrefix', () => {
  it.each([
    [undefined, ''],
    ['', ''],
    ['/', ''],
    ['openai', '/openai'],
    ['/openai/', '/openai'],
    ['/a/b//', '/a/b'],
  ])('%s → %s', (input, expected) => expect(normalisePrefix(input)).toBe(expected));
});

describe('router', () => {
  const plain = createRouter({ prefix: '', basePath: '' });
  const prefixed = createRouter({ prefix: '/openai', basePath: '/proxy/v1x' });

  it.each([
    [plain, '/v1/chat/completions', '/v1/chat/completions', '/v1/chat/completions'],
    [plain, '/v1/models?limit=2&x=%20y', '/v1/models?limit=2&x=%20y', '/v1/models'],
    [plain, '/', '/', '/'],
    [prefixed, '/openai/v1/models?a=1', '/proxy/v1x/v1/models?a=1', '/v1/models'],
    [prefixed, '/openai', '/proxy/v1x/', '/'],
    [prefixed, '/openai?x=1', '/proxy/v1x/?x=1', '/'],
  ])('forwards %#', (router, target, path, route) => {
    expect(router.route('POST', target)).toEqual({ kind: 'forward', path, route });
  });

  it.each([
    ['http://evil.example/v1/models'],
    ['https://evil.example'],
    ['evil.example:443'],
    ['*'],
    ['//evil.example/v1/models'],
    ['/v1/../../admin'],
    ['/v1/%2e%2e/admin'],
    ['/v1/./models'],
    ['/v1\\models'],
  ])('refuses %s with 400', (target) => {
    const result = plain.route('GET', target);
    expect(result.kind).toBe('error');
    if (result.kind === 'error') {
      expect(result.error.status).toBe(400);
      expect(result.error.code).toBe('bad_request_target');
    }
  });

  it.each([
    // With a prefix and no base path, what follows the prefix is the upstream path: "//" would name a host.
    [createRouter({ prefix: '/pfx', basePath: '' }), '/pfx//evil.example/x'],
    [createRouter({ prefix: '/pfx', basePath: '' }), '/pfx///evil.example'],
    [createRouter({ prefix: '/pfx', basePath: '/v1' }), '/pfx//evil.example'],
    [plain, '/v1/models#frag'],
    [prefixed, '/openai/v1/models?a=1#frag'],
  ])('refuses %# with 400: another host after the prefix, a fragment', (router, target) => {
    const result = router.route('GET', target);
    expect(result).toMatchObject({ kind: 'error', error: { status: 400, code: 'bad_request_target' } });
  });

  it('keeps dots that are not segments', () => {
    expect(plain.route('GET', '/v1/files/file-a.b..c')).toMatchObject({ kind: 'forward' });
    expect(plain.route('GET', '/v1/x?q=../..')).toMatchObject({ kind: 'forward' });
  });

  it('404s outside the prefix', () => {
    for (const target of ['/v1/models', '/openaiX/v1', '/open']) {
      const result = prefixed.route('GET', target);
      expect(result.kind).toBe('error');
      if (result.kind === 'error') expect(result.error.status).toBe(404);
    }
  });

  it('answers health with and without prefix, GET and HEAD only', () => {
    expect(prefixed.route('GET', '/healthz').kind).toBe('health');
    expect(prefixed.route('HEAD', '/openai/healthz').kind).toBe('health');
    expect(prefixed.route('POST', '/openai/healthz').kind).toBe('forward');
  });
});
