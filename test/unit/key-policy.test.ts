import { describe, expect, it } from 'vitest';
import { GatewayError, toOpenAIErrorBody } from '../../src/core/errors.js';
import { INDIRECT_MODEL_ROUTES, type KeyPolicy, NameList, RouteList, accessRefusal, modelRefusal, rateRefusal } from '../../src/core/key-policy.js';
import { maskSecret } from '../../src/core/mask.js';

/** An obviously fake forward key: it must never appear in a message. */
const KEY = 'fk-test-alice-000000';

function policy(overrides: Partial<KeyPolicy> = {}): KeyPolicy {
  return { name: maskSecret(KEY), models: null, routes: null, rpm: 0, expiresAt: 0, ...overrides };
}

function expectError(err: GatewayError | null): GatewayError {
  expect(err).toBeInstanceOf(GatewayError);
  if (err === null) throw new Error('expected a refusal');
  expect(err.message).not.toContain(KEY);
  return err;
}

describe('NameList', () => {
  it('matches exact names only, case-sensitively', () => {
    const list = new NameList(['gpt-4o-mini', 'whisper-1']);
    expect(list.matches('gpt-4o-mini')).toBe(true);
    expect(list.matches('whisper-1')).toBe(true);
    expect(list.matches('gpt-4o')).toBe(false);
    expect(list.matches('gpt-4o-mini-2024-07-18')).toBe(false);
    expect(list.matches('GPT-4o-mini')).toBe(false);
    expect(list.matches(' gpt-4o-mini')).toBe(false);
    expect(list.matches('')).toBe(false);
  });

  it('matches `prefix*` patterns by prefix, the prefix itself included', () => {
    const list = new NameList(['gpt-4.1*', 'o3']);
    expect(list.matches('gpt-4.1')).toBe(true);
    expect(list.matches('gpt-4.1-mini')).toBe(true);
    expect(list.matches('gpt-4.1-nano-2025-04-14')).toBe(true);
    expect(list.matches('gpt-4')).toBe(false);
    expect(list.matches('gpt-4.')).toBe(false);
    expect(list.matches('xgpt-4.1')).toBe(false);
    expect(list.matches('o3')).toBe(true);
    expect(list.matches('o3-mini')).toBe(false);
  });

  it('a lone "*" matches every name; an empty list none', () => {
    const any = new NameList(['*']);
    for (const name of ['', 'a', 'gpt-4o', '/v1/anything']) expect(any.matches(name)).toBe(true);
    const none = new NameList([]);
    for (const name of ['', 'a', '*']) expect(none.matches(name)).toBe(false);
  });

  it('a "*" not at the end is an ordinary character', () => {
    const list = new NameList(['gpt*4o']);
    expect(list.matches('gpt*4o')).toBe(true);
    expect(list.matches('gpt-4o')).toBe(false);
    expect(list.matches('gpt4o')).toBe(false);
  });

  it('route patterns: a prefix with a slash does not match its parent', () => {
    const list = new NameList(['/v1/chat/completions', '/v1/audio/*']);
    expect(list.matches('/v1/chat/completions')).toBe(true);
    expect(list.matches('/v1/chat/completions/')).toBe(false);
    expect(list.matches('/v1/audio/transcriptions')).toBe(true);
    expect(list.matches('/v1/audio')).toBe(false);
    expect(list.matches('/v1/files')).toBe(false);
  });

  it('keeps the patterns as configured', () => {
    const patterns = ['b*', 'a', 'c'];
    expect(new NameList(patterns).patterns).toEqual(['b*', 'a', 'c']);
  });

  it('describe() lists up to 8 patterns, then says how many more', () => {
    const names = (n: number): string[] => Array.from({ length: n }, (_, i) => `m${i + 1}`);
    expect(new NameList([]).describe()).toBe('');
    expect(new NameList(['gpt-4o*']).describe()).toBe('gpt-4o*');
    expect(new NameList(names(3)).describe()).toBe('m1, m2, m3');
    expect(new NameList(names(8)).describe()).toBe('m1, m2, m3, m4, m5, m6, m7, m8');
    expect(new NameList(names(9)).describe()).toBe('m1, m2, m3, m4, m5, m6, m7, m8 and 1 more');
    expect(new NameList(names(20)).describe()).toBe('m1, m2, m3, m4, m5, m6, m7, m8 and 12 more');
  });
});

describe('accessRefusal', () => {
  const EXPIRES = Date.UTC(2027, 3, 1);

  it('a policy without expiry or routes admits anything', () => {
    expect(accessRefusal(policy(), 'POST', '/v1/chat/completions', Date.now())).toBeNull();
    expect(accessRefusal(policy(), 'POST', '/anything/at/all', Number.MAX_SAFE_INTEGER)).toBeNull();
  });

  it('expiresAt 0 means never, however late', () => {
    expect(accessRefusal(policy({ expiresAt: 0 }), 'POST', '/v1/models', 8.64e15)).toBeNull();
  });

  it('admits until the instant before expiry, refuses from the instant itself (now >= expiresAt)', () => {
    const p = policy({ expiresAt: EXPIRES });
    expect(accessRefusal(p, 'POST', '/v1/models', EXPIRES - 1)).toBeNull();
    expect(accessRefusal(p, 'POST', '/v1/models', EXPIRES - 0.001)).toBeNull();
    for (const now of [EXPIRES, EXPIRES + 1, EXPIRES + 365 * 86_400_000]) {
      const err = expectError(accessRefusal(p, 'POST', '/v1/models', now));
      expect(err.code).toBe('forward_key_expired');
      expect(err.status).toBe(401);
      expect(err.type).toBe('invalid_request_error');
      expect(err.param).toBeNull();
      expect(err.retryAfterSeconds).toBeNull();
    }
  });

  it('the expiry message names the policy and the instant, never the key', () => {
    const err = expectError(accessRefusal(policy({ name: 'alice', expiresAt: EXPIRES }), 'POST', '/v1/models', EXPIRES));
    expect(err.message).toContain('alice');
    expect(err.message).toContain('2027-04-01T00:00:00.000Z');
    const masked = expectError(accessRefusal(policy({ expiresAt: EXPIRES }), 'POST', '/v1/models', EXPIRES));
    expect(masked.message).toContain(maskSecret(KEY));
  });

  it('expiry is checked before routes', () => {
    const p = policy({ expiresAt: EXPIRES, routes: new RouteList(['/v1/chat/completions']) });
    expect(expectError(accessRefusal(p, 'POST', '/v1/files', EXPIRES)).code).toBe('forward_key_expired');
    expect(expectError(accessRefusal(p, 'POST', '/v1/files', EXPIRES - 1)).code).toBe('route_not_allowed');
  });

  it('routes: admits listed routes and prefixes, refuses the rest with 403 route_not_allowed', () => {
    const p = policy({ name: 'bob', routes: new RouteList(['/v1/chat/completions', '/v1/audio/*']) });
    expect(accessRefusal(p, 'POST', '/v1/chat/completions', 0)).toBeNull();
    expect(accessRefusal(p, 'POST', '/v1/audio/speech', 0)).toBeNull();
    for (const route of ['/v1/completions', '/v1/chat/completions/', '/v1/Chat/completions', '/v1/audio', '/v1/batches', '']) {
      const err = expectError(accessRefusal(p, 'POST', route, 0));
      expect(err.code).toBe('route_not_allowed');
      expect(err.status).toBe(403);
      expect(err.type).toBe('permission_error');
      expect(err.message).toContain('bob');
      expect(err.message).toContain(JSON.stringify(route));
      expect(err.message).toContain('allowed: /v1/chat/completions, /v1/audio/*');
    }
  });

  it('routes with a method allow that method only; the message names the method', () => {
    const p = policy({ routes: new RouteList(['GET /v1/models*', '/v1/chat/completions']) });
    expect(accessRefusal(p, 'GET', '/v1/models/ft:gpt-4o:acme', 0)).toBeNull();
    expect(accessRefusal(p, 'DELETE', '/v1/chat/completions', 0)).toBeNull();
    const err = expectError(accessRefusal(p, 'DELETE', '/v1/models/ft:gpt-4o:acme', 0));
    expect(err.message).toContain('may not use DELETE "/v1/models/ft:gpt-4o:acme"');
  });

  it('an encoded "/" or "\\" in the path is refused where routes are listed: a server decoding it would see another path', () => {
    const p = policy({ routes: new RouteList(['/v1/models*']) });
    for (const route of ['/v1/models%2F..%2Ffiles', '/v1/models%2f..%2ffiles', '/v1/models%5C..%5Cfiles']) {
      expect(expectError(accessRefusal(p, 'GET', route, 0)).code).toBe('route_not_allowed');
    }
    // Without routes, the path is the upstream's business, as for any key.
    expect(accessRefusal(policy(), 'GET', '/v1/models%2Fx', 0)).toBeNull();
  });

  it('a key limited to models but not to routes is refused the routes that pick their model elsewhere', () => {
    const modelsOnly = policy({ models: new NameList(['gpt-4o-mini']) });
    for (const route of ['/v1/realtime/client_secrets', '/v1/realtime/sessions', '/v1/assistants', '/v1/threads/thread_1/runs', '/v1/evals/e/runs', '/v1/batches']) {
      expect(INDIRECT_MODEL_ROUTES.matches(route)).toBe(true);
      const err = expectError(accessRefusal(modelsOnly, 'POST', route, 0));
      expect(err.code).toBe('route_not_allowed');
      expect(err.message).toContain('picks its model elsewhere');
    }
    expect(accessRefusal(modelsOnly, 'POST', '/v1/chat/completions', 0)).toBeNull();
    expect(accessRefusal(modelsOnly, 'POST', '/v1/realtime', 0)).toBeNull();
    // Listed in routes, they are the operator's decision; without models they are no concern.
    expect(accessRefusal(policy({ models: new NameList(['gpt-4o-mini']), routes: new RouteList(['/v1/batches*']) }), 'POST', '/v1/batches', 0)).toBeNull();
    expect(accessRefusal(policy(), 'POST', '/v1/batches', 0)).toBeNull();
  });

  it('a long route is quoted back truncated to 100 characters', () => {
    const route = `/v1/${'x'.repeat(300)}`;
    const err = expectError(accessRefusal(policy({ routes: new RouteList(['/v1/models']) }), 'POST', route, 0));
    expect(err.message).toContain(JSON.stringify(`${route.slice(0, 100)}…`));
    expect(err.message).not.toContain(route.slice(0, 101));
  });

  it('the routes message lists at most 8 patterns', () => {
    const routes = Array.from({ length: 10 }, (_, i) => `/v1/r${i}`);
    const err = expectError(accessRefusal(policy({ routes: new RouteList(routes) }), 'POST', '/v1/other', 0));
    expect(err.message).toContain('/v1/r7 and 2 more');
    expect(err.message).not.toContain('/v1/r8');
  });
});

describe('modelRefusal', () => {
  const limited = policy({ name: 'carol', models: new NameList(['gpt-4o-mini', 'gpt-4.1*']) });

  it('a policy without models admits whatever the request names, even unreadable', () => {
    const open = policy();
    expect(modelRefusal(open, { kind: 'none' })).toBeNull();
    expect(modelRefusal(open, { kind: 'named', models: ['o3-pro', 42, null] })).toBeNull();
    expect(modelRefusal(open, { kind: 'unreadable', why: 'the body is not valid JSON' })).toBeNull();
  });

  it('a request that names no model passes the model list', () => {
    expect(modelRefusal(limited, { kind: 'none' })).toBeNull();
  });

  it('an unreadable request is refused with 400 model_unreadable, saying why', () => {
    const err = expectError(modelRefusal(limited, { kind: 'unreadable', why: 'the body is not valid JSON' }));
    expect(err.code).toBe('model_unreadable');
    expect(err.status).toBe(400);
    expect(err.type).toBe('invalid_request_error');
    expect(err.message).toContain('carol');
    expect(err.message).toContain('the body is not valid JSON');
  });

  it('admits allowed models, exact and by prefix', () => {
    expect(modelRefusal(limited, { kind: 'named', models: ['gpt-4o-mini'] })).toBeNull();
    expect(modelRefusal(limited, { kind: 'named', models: ['gpt-4.1-nano'] })).toBeNull();
    expect(modelRefusal(limited, { kind: 'named', models: ['gpt-4.1', 'gpt-4o-mini'] })).toBeNull();
  });

  it('refuses a model not on the list with 403 model_not_allowed, param "model"', () => {
    for (const model of ['gpt-4o', 'gpt-4o-mini-2024-07-18', 'GPT-4o-mini', 'gpt-4', '']) {
      const err = expectError(modelRefusal(limited, { kind: 'named', models: [model] }));
      expect(err.code).toBe('model_not_allowed');
      expect(err.status).toBe(403);
      expect(err.type).toBe('permission_error');
      expect(err.param).toBe('model');
      expect(err.message).toContain('carol');
      expect(err.message).toContain(JSON.stringify(model));
      expect(err.message).toContain('allowed: gpt-4o-mini, gpt-4.1*');
    }
  });

  it('a model named twice must be allowed both times, whichever comes first', () => {
    for (const models of [['gpt-4o-mini', 'o3-pro'], ['o3-pro', 'gpt-4o-mini'], ['gpt-4o-mini', 'gpt-4o-mini', 'gpt-5']]) {
      const err = expectError(modelRefusal(limited, { kind: 'named', models }));
      expect(err.code).toBe('model_not_allowed');
      expect(err.message).toMatch(/"o3-pro"|"gpt-5"/);
    }
  });

  it('a model that is not a string is refused, even if its text would be allowed', () => {
    for (const model of [42, null, true, ['gpt-4o-mini'], { id: 'gpt-4o-mini' }]) {
      const err = expectError(modelRefusal(limited, { kind: 'named', models: [model] }));
      expect(err.code).toBe('model_not_allowed');
      expect(err.param).toBe('model');
      expect(err.message).toContain('must be a string');
      expect(err.message).toContain('gpt-4o-mini, gpt-4.1*');
    }
    expect(expectError(modelRefusal(limited, { kind: 'named', models: ['gpt-4o-mini', 7] })).code).toBe('model_not_allowed');
  });

  it('a long model name is quoted back truncated', () => {
    const model = `gpt-${'9'.repeat(500)}`;
    const err = expectError(modelRefusal(limited, { kind: 'named', models: [model] }));
    expect(err.message).toContain(`${JSON.stringify(`${model.slice(0, 100)}…`)}`);
    expect(err.message.length).toBeLessThan(300);
  });

  it('the key never appears, even when a request names it as a model', () => {
    const err = modelRefusal(policy({ models: new NameList(['gpt-4o-mini']) }), { kind: 'named', models: ['gpt-4o'] });
    expect(err?.message).toContain(maskSecret(KEY));
    expect(err?.message).not.toContain(KEY);
  });
});

describe('rateRefusal', () => {
  it('answers 429 rate_limit_exceeded with type "requests"', () => {
    const err = rateRefusal(policy({ name: 'dave', rpm: 60 }), 1500);
    expect(err).toBeInstanceOf(GatewayError);
    expect(err.code).toBe('rate_limit_exceeded');
    expect(err.status).toBe(429);
    expect(err.type).toBe('requests');
    expect(err.param).toBeNull();
    expect(err.message).toContain('dave');
    expect(err.message).toContain('60 requests per minute');
    expect(err.message).toContain('retry in 2 s');
    expect(err.message).not.toContain(KEY);
    expect(JSON.parse(toOpenAIErrorBody(err))).toEqual({
      error: { message: err.message, type: 'requests', code: 'rate_limit_exceeded', param: null },
    });
  });

  it('Retry-After is ceil(wait / 1000) seconds, at least 1', () => {
    const cases: [number, number][] = [
      [0, 1],
      [0.25, 1],
      [1, 1],
      [999, 1],
      [1000, 1],
      [1000.001, 2],
      [1001, 2],
      [2000, 2],
      [2001, 3],
      [59_999.5, 60],
      [60_000, 60],
    ];
    for (const [waitMs, seconds] of cases) {
      const err = rateRefusal(policy({ rpm: 1 }), waitMs);
      expect(err.retryAfterSeconds, `wait ${waitMs}`).toBe(seconds);
      expect(err.message).toContain(`retry in ${seconds} s`);
    }
  });
});
