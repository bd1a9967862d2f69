/** The CORS policy (core/cors.ts): what a browser's request and a preflight get, per `cors_origins`. */
import { describe, expect, it } from 'vitest';
import { corsOrigins } from '../../src/config/values.js';
import { createCorsPolicy, withCorsHeaders } from '../../src/core/cors.js';

/** A flat header list as a map (names are unique in these answers). */
const asMap = (flat: readonly string[]): Record<string, string> => {
  const out: Record<string, string> = {};
  for (let i = 0; i < flat.length; i += 2) out[flat[i]] = flat[i + 1];
  return out;
};

describe('cors_origins values', () => {
  it.each([
    ['*', ['*']],
    ['off', ['off']],
    ['OFF', ['off']],
    ['https://chat.example.com, http://localhost:3000', ['https://chat.example.com', 'http://localhost:3000']],
  ])('%j is accepted', (value, parsed) => {
    expect(corsOrigins(value)).toEqual(parsed);
  });

  it.each(['chat.example.com', 'https://chat.example.com/', 'https://chat.example.com/app', 'ftp://x', 'off, https://a.example'])(
    '%j is refused with a message that names it and says what to use',
    (value) => {
      expect(() => corsOrigins(value)).toThrow(/is not an origin: use \* \(any origin\), off, or origins such as https:\/\/chat\.example\.com/);
    },
  );
});

describe('CORS policy', () => {
  it('is off for `off` and for an empty list', () => {
    expect(createCorsPolicy(['off'])).toBeNull();
    expect(createCorsPolicy([])).toBeNull();
  });

  it('any origin: the same headers for every browser, no Vary', () => {
    const policy = createCorsPolicy(['*']);
    expect(asMap(policy?.responseHeaders('https://a.example') ?? [])).toEqual({
      'access-control-allow-origin': '*',
      'access-control-expose-headers': '*',
    });
    expect(asMap(policy?.preflightHeaders('https://a.example', 'authorization, content-type') ?? [])).toEqual({
      'access-control-allow-origin': '*',
      'access-control-allow-methods': 'GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS',
      'access-control-allow-headers': 'authorization, content-type',
      'access-control-max-age': '7200',
      vary: 'access-control-request-headers',
    });
  });

  it('a list: an allowed origin is named (any case of scheme and host), Vary: Origin', () => {
    const policy = createCorsPolicy(['https://chat.example.com', 'http://localhost:3000']);
    expect(asMap(policy?.responseHeaders('https://chat.example.com') ?? [])).toEqual({
      'access-control-allow-origin': 'https://chat.example.com',
      'access-control-expose-headers': '*',
      vary: 'origin',
    });
    expect(asMap(policy?.responseHeaders('HTTP://LOCALHOST:3000') ?? [])['access-control-allow-origin']).toBe('HTTP://LOCALHOST:3000');
    const preflight = asMap(policy?.preflightHeaders('http://localhost:3000', undefined) ?? []);
    expect(preflight['access-control-allow-origin']).toBe('http://localhost:3000');
    expect(preflight['access-control-allow-headers']).toBeUndefined();
    expect(preflight.vary).toBe('origin, access-control-request-headers');
  });

  it('a list: another origin gets no CORS header at all (the browser then refuses to read)', () => {
    const policy = createCorsPolicy(['https://chat.example.com']);
    expect(policy?.responseHeaders('https://evil.example')).toEqual(['vary', 'origin']);
    const preflight = policy?.preflightHeaders('https://evil.example', 'authorization') ?? [];
    expect(preflight.filter((_, i) => i % 2 === 0 && preflight[i].startsWith('access-control-'))).toEqual([]);
  });
});

describe('withCorsHeaders', () => {
  it("replaces the upstream's CORS headers and keeps everything else in order", () => {
    const upstream = ['content-type', 'application/json', 'access-control-allow-origin', 'https://other.example', 'x-request-id', 'req_1', 'access-control-allow-credentials', 'true'];
    expect(withCorsHeaders(upstream, ['access-control-allow-origin', '*'])).toEqual([
      'content-type', 'application/json', 'x-request-id', 'req_1', 'access-control-allow-origin', '*',
    ]);
  });
});
