import { describe, expect, it } from 'vitest';
import { forwardKeys } from '../../src/config/forward-keys.js';
import type { ForwardKeySpec, KeyPolicy } from '../../src/core/key-policy.js';
import { maskSecret } from '../../src/core/mask.js';

const ALICE = 'fk-test-alice-000000';
const BOB = 'fk-test-bob-111111111111111111111111';
const CAROL = 'fk-test-carol-2222222222222222222222';

function policyOf(specs: ForwardKeySpec[], index = 0): KeyPolicy {
  const policy = specs[index].policy;
  if (policy === null) throw new Error(`entry ${index} has no policy`);
  return policy;
}

/** The error `forwardKeys(value)` throws; it must not contain any of `secrets`. */
function errorOf(value: unknown, secrets: string[] = [ALICE, BOB, CAROL]): string {
  let message: string | undefined;
  try {
    forwardKeys(value);
  } catch (err) {
    message = (err as Error).message;
  }
  if (message === undefined) throw new Error(`expected ${JSON.stringify(value)} to be refused`);
  for (const secret of secrets) expect(message).not.toContain(secret);
  return message;
}

describe('forwardKeys: plain keys', () => {
  it('nothing gives no keys', () => {
    expect(forwardKeys(undefined)).toEqual([]);
    expect(forwardKeys(null)).toEqual([]);
    expect(forwardKeys('')).toEqual([]);
    expect(forwardKeys([])).toEqual([]);
  });

  it('a string, or comma/space lists, give keys without a policy', () => {
    expect(forwardKeys(ALICE)).toEqual([{ key: ALICE, policy: null }]);
    expect(forwardKeys(`${ALICE}, ${BOB}  ${CAROL},`)).toEqual([
      { key: ALICE, policy: null },
      { key: BOB, policy: null },
      { key: CAROL, policy: null },
    ]);
    expect(forwardKeys([ALICE, `${BOB},${CAROL}`])).toEqual([
      { key: ALICE, policy: null },
      { key: BOB, policy: null },
      { key: CAROL, policy: null },
    ]);
  });

  it('a plain key listed twice is kept once, in its first place', () => {
    expect(forwardKeys([ALICE, `${BOB} ${ALICE}`, BOB])).toEqual([
      { key: ALICE, policy: null },
      { key: BOB, policy: null },
    ]);
  });

  it('a value that is no string is refused', () => {
    expect(errorOf([true])).toMatch(/expected a list of strings/);
  });
});

describe('forwardKeys: policies', () => {
  it('reads every field', () => {
    const specs = forwardKeys([
      {
        key: ALICE,
        name: 'alice',
        models: ['gpt-4o-mini', 'gpt-4.1*'],
        routes: ['/v1/chat/completions', '/v1/responses'],
        rpm: 60,
        expires: '2027-04-01',
      },
    ]);
    expect(specs).toHaveLength(1);
    expect(specs[0].key).toBe(ALICE);
    const policy = policyOf(specs);
    expect(policy.name).toBe('alice');
    expect(policy.models?.patterns).toEqual(['gpt-4o-mini', 'gpt-4.1*']);
    expect(policy.models?.matches('gpt-4.1-mini')).toBe(true);
    expect(policy.models?.matches('gpt-4o')).toBe(false);
    expect(policy.routes?.patterns).toEqual(['/v1/chat/completions', '/v1/responses']);
    expect(policy.routes?.matches('POST', '/v1/responses')).toBe(true);
    expect(policy.routes?.matches('POST', '/v1/files')).toBe(false);
    expect(policy.rpm).toBe(60);
    expect(policy.expiresAt).toBe(Date.UTC(2027, 3, 1));
  });

  it('a mapping with only a key has a policy that allows everything', () => {
    const specs = forwardKeys([{ key: ALICE }]);
    expect(specs).toEqual([{ key: ALICE, policy: { name: maskSecret(ALICE), models: null, routes: null, rpm: 0, expiresAt: 0 } }]);
  });

  it('a single mapping (not in a list) is read too', () => {
    const specs = forwardKeys({ key: ALICE, rpm: 5 });
    expect(specs).toHaveLength(1);
    expect(policyOf(specs).rpm).toBe(5);
  });

  it('the default name is the masked key, never the key', () => {
    for (const key of [ALICE, BOB, 'fk-x', 'not-a-real-key-00000000000000000000']) {
      const policy = policyOf(forwardKeys([{ key }]));
      expect(policy.name).toBe(maskSecret(key));
      expect(policy.name).not.toBe(key);
      expect(policy.name).not.toContain(key);
    }
    expect(policyOf(forwardKeys([{ key: BOB }])).name).toBe('fk…1111');
  });

  it('key and name are trimmed', () => {
    const specs = forwardKeys([{ key: `  ${ALICE}\t`, name: '  alice ' }]);
    expect(specs[0].key).toBe(ALICE);
    expect(policyOf(specs).name).toBe('alice');
  });

  it('models and routes may be one string; items are trimmed', () => {
    const policy = policyOf(forwardKeys([{ key: ALICE, models: 'whisper-1', routes: ' /v1/audio/* ' }]));
    expect(policy.models?.patterns).toEqual(['whisper-1']);
    expect(policy.routes?.patterns).toEqual(['/v1/audio/*']);
    expect(policyOf(forwardKeys([{ key: ALICE, models: [' gpt-4o-mini ', 'o3*'] }])).models?.patterns).toEqual(['gpt-4o-mini', 'o3*']);
  });

  it('"*" may end a name, or be the whole model pattern', () => {
    expect(policyOf(forwardKeys([{ key: ALICE, models: ['*'] }])).models?.matches('anything')).toBe(true);
    expect(policyOf(forwardKeys([{ key: ALICE, routes: ['/*'] }])).routes?.matches('GET', '/v1/x')).toBe(true);
  });

  it('keeps the order of a mix of plain keys and policies', () => {
    const specs = forwardKeys([ALICE, { key: BOB, name: 'bob' }, `${CAROL}`]);
    expect(specs.map((s) => [s.key, s.policy?.name ?? null])).toEqual([
      [ALICE, null],
      [BOB, 'bob'],
      [CAROL, null],
    ]);
  });

  it('rpm: a whole number from 1 to 100000', () => {
    expect(policyOf(forwardKeys([{ key: ALICE, rpm: 1 }])).rpm).toBe(1);
    expect(policyOf(forwardKeys([{ key: ALICE, rpm: 100_000 }])).rpm).toBe(100_000);
    for (const rpm of [0, -1, 1.5, 100_001, '60', Number.NaN, Number.POSITIVE_INFINITY, null, true]) {
      expect(errorOf([{ key: ALICE, rpm }]), String(rpm)).toMatch(/^entry 1: "rpm" must be a whole number of requests per minute from 1 to 100000$/);
    }
  });

  it('an unknown field is refused, by name', () => {
    const message = errorOf([ALICE, { key: BOB, model: ['gpt-4o'] }]);
    expect(message).toMatch(/^entry 2: unknown field "model"/);
    expect(message).toContain('known: key, name, models, routes, rpm, expires');
  });

  it('the key must be one word', () => {
    for (const key of [undefined, '', '   ', 42, `${ALICE} ${BOB}`, `${ALICE},${BOB}`, `fk-a\tb`]) {
      expect(errorOf([{ key, name: 'x' }]), String(key)).toMatch(/^entry 1: "key" must be the forward key/);
    }
  });

  it('the name must be a string of 1 to 64 characters', () => {
    expect(policyOf(forwardKeys([{ key: ALICE, name: 'n'.repeat(64) }])).name).toBe('n'.repeat(64));
    for (const name of ['', '  ', 'n'.repeat(65), 7, null, ['alice']]) {
      expect(errorOf([{ key: ALICE, name }]), String(name)).toMatch(/^entry 1: "name" must be a string of 1 to 64 characters$/);
    }
  });

  it('models and routes must be non-empty lists of names', () => {
    for (const field of ['models', 'routes']) {
      for (const value of [[], '', 42, null, {}, ['/v1/a', ''], ['/v1/a', 3], ['  ']]) {
        expect(errorOf([{ key: ALICE, [field]: value }]), `${field}: ${JSON.stringify(value)}`).toMatch(new RegExp(`^entry 1: ${field}: expected`));
      }
    }
  });

  it('"*" only at the end of a name', () => {
    for (const pattern of ['gpt-*-mini', '*gpt', '**', 'a*b*']) {
      expect(errorOf([{ key: ALICE, models: ['ok', pattern] }])).toContain(`entry 1: models: "${pattern}": "*" may only end a name`);
    }
    expect(errorOf([{ key: ALICE, routes: ['/v1/*/completions'] }])).toContain('"*" may only end a name');
  });

  it('routes must start with "/"', () => {
    for (const route of ['v1/chat/completions', '*', 'https://api.openai.com/v1/chat/completions', 'get /v1/models', 'GET v1/models', 'GET /v1/models x']) {
      expect(errorOf([{ key: ALICE, routes: ['/v1/models', route] }])).toBe(
        `entry 1: routes: "${route}": a route is a path such as /v1/chat/completions, maybe after a method in capitals (GET /v1/models*)`,
      );
    }
  });

  it('a route may name its method: that method only', () => {
    const routes = policyOf(forwardKeys([{ key: ALICE, routes: ['GET  /v1/models*', '/v1/chat/completions'] }])).routes;
    expect(routes?.patterns).toEqual(['GET /v1/models*', '/v1/chat/completions']);
    expect(routes?.matches('GET', '/v1/models/ft:gpt-4o:acme')).toBe(true);
    expect(routes?.matches('DELETE', '/v1/models/ft:gpt-4o:acme')).toBe(false);
    expect(routes?.matches('DELETE', '/v1/chat/completions')).toBe(true);
  });

  describe('expires', () => {
    const at = (expires: unknown): number => policyOf(forwardKeys([{ key: ALICE, expires }])).expiresAt;

    it('a date alone is its start in UTC', () => {
      expect(at('2027-04-01')).toBe(Date.UTC(2027, 3, 1));
      expect(at(' 2027-12-31 ')).toBe(Date.UTC(2027, 11, 31));
    });

    it('a date and time with its zone', () => {
      expect(at('2027-04-01T09:00:00Z')).toBe(Date.UTC(2027, 3, 1, 9));
      expect(at('2027-04-01T09:00Z')).toBe(Date.UTC(2027, 3, 1, 9));
      expect(at('2027-04-01T09:00:00.250Z')).toBe(Date.UTC(2027, 3, 1, 9, 0, 0, 250));
      expect(at('2027-04-01T09:00:00+02:00')).toBe(Date.UTC(2027, 3, 1, 7));
      expect(at('2027-04-01T09:00:00-05:30')).toBe(Date.UTC(2027, 3, 1, 14, 30));
      expect(at('2027-04-01 09:00:00+02:00')).toBe(Date.UTC(2027, 3, 1, 7));
      expect(at('2027-04-01t09:00:00z')).toBe(Date.UTC(2027, 3, 1, 9));
    });

    it('a Date (as a YAML 1.1 timestamp parses) is taken as is', () => {
      expect(at(new Date(Date.UTC(2027, 3, 1, 9, 30)))).toBe(Date.UTC(2027, 3, 1, 9, 30));
    });

    it('an instant at or before the epoch still expires (never 0, which means never)', () => {
      expect(at('1970-01-01')).toBe(1);
      expect(at('1969-12-31T00:00:00Z')).toBe(1);
      expect(at('1970-01-01T00:00:00.002Z')).toBe(2);
    });

    it('a time without its zone, and anything else, is refused', () => {
      const bad = ['2027-04-01T09:00:00', '2027-04-01 09:00', '2027-04-01T09', '01/04/2027', '2027-4-1', 'tomorrow', '', '2027-13-01', 1_800_000_000_000, 20270401, null, true];
      for (const expires of bad) {
        expect(errorOf([{ key: ALICE, expires }]), String(expires)).toMatch(/^entry 1: expires: expected a date such as 2027-04-01/);
      }
    });

    it('an invalid Date is refused with the expires message, not a bare RangeError', () => {
      expect(errorOf([{ key: ALICE, expires: new Date(Number.NaN) }])).toMatch(/^entry 1: expires: expected a date/);
    });

    it('a day that does not exist (2027-02-30) is refused, not rolled over into March', () => {
      expect(errorOf([{ key: ALICE, expires: '2027-02-30' }])).toMatch(/expires/);
    });
  });
});

describe('forwardKeys: one key, one meaning', () => {
  it('a key with a policy listed twice is an error, however the other is given', () => {
    const cases: unknown[] = [
      [{ key: ALICE, name: 'a' }, ALICE],
      [ALICE, { key: ALICE, name: 'a' }],
      [`${BOB}, ${ALICE}`, { key: ALICE }],
      [{ key: ALICE, name: 'a' }, { key: ` ${ALICE} `, name: 'b' }],
      [{ key: ALICE, rpm: 5 }, { key: ALICE, rpm: 5 }],
    ];
    for (const value of cases) expect(errorOf(value)).toMatch(/^a key with a policy is listed twice \(/);
    expect(errorOf([{ key: ALICE, name: 'alice' }, ALICE])).toBe('a key with a policy is listed twice (alice)');
    expect(errorOf([ALICE, { key: ALICE }])).toBe(`a key with a policy is listed twice (${maskSecret(ALICE)})`);
  });

  it('two policies with the same name is an error', () => {
    const message = errorOf([{ key: ALICE, name: 'team' }, { key: BOB, name: ' team ' }]);
    expect(message).toBe('two keys are named "team": give each a distinct "name"');
  });

  it('two unnamed keys whose masked forms coincide need names', () => {
    const other = 'fk-test-bobby-000000';
    expect(maskSecret(other)).toBe(maskSecret(ALICE));
    expect(errorOf([{ key: ALICE }, { key: other }], [ALICE, other])).toMatch(/two keys are named .*give each a distinct "name"/);
    expect(forwardKeys([{ key: ALICE }, { key: other, name: 'bobby' }])).toHaveLength(2);
  });

  it('a policy name may be another key’s masked form: names only clash among policies', () => {
    const specs = forwardKeys([ALICE, { key: BOB, name: maskSecret(ALICE) }]);
    expect(specs).toHaveLength(2);
  });

  it('no error message quotes a key', () => {
    const bad: unknown[] = [
      [{ key: ALICE, oops: 1 }],
      [{ key: ALICE, rpm: 0 }],
      [{ key: ALICE, name: '' }],
      [{ key: ALICE, models: [] }],
      [{ key: ALICE, models: ['a*b'] }],
      [{ key: ALICE, routes: ['v1'] }],
      [{ key: ALICE, expires: 'soon' }],
      [{ key: `${ALICE} ${BOB}` }],
      [{ key: ALICE }, ALICE],
      [{ key: BOB }, { key: BOB }],
      [{ key: CAROL, name: 'x' }, { key: BOB, name: 'x' }],
    ];
    for (const value of bad) errorOf(value);
  });
});
