import { describe, expect, it } from 'vitest';
import { Authenticator, bearerToken } from '../../src/core/auth.js';
import { maskSecret } from '../../src/core/mask.js';

describe('Authenticator', () => {
  it('open mode: every request gets the next pool key, round-robin', () => {
    const auth = new Authenticator({ poolKeys: ['sk-fake-a', 'sk-fake-b'], forwardKeys: [] });
    expect(auth.mode).toBe('open');
    const keys = [undefined, 'Bearer whatever', 'Basic x'].map((h) => auth.decide(h));
    expect(keys).toEqual([
      { kind: 'pool', key: 'sk-fake-a', keyIndex: 0, forwardKeyIndex: -1 },
      { kind: 'pool', key: 'sk-fake-b', keyIndex: 1, forwardKeyIndex: -1 },
      { kind: 'pool', key: 'sk-fake-a', keyIndex: 0, forwardKeyIndex: -1 },
    ]);
  });

  it('forward keys: a matching token maps to the pool, others pass through', () => {
    const auth = new Authenticator({ poolKeys: ['sk-fake-a', 'sk-fake-b'], forwardKeys: ['fk-one', 'fk-two'] });
    expect(auth.mode).toBe('forward-key');
    expect(auth.decide('Bearer fk-two')).toEqual({ kind: 'pool', key: 'sk-fake-a', keyIndex: 0, forwardKeyIndex: 1 });
    expect(auth.decide('bearer fk-one')).toEqual({ kind: 'pool', key: 'sk-fake-b', keyIndex: 1, forwardKeyIndex: 0 });
    expect(auth.decide('Bearer fk-on')).toEqual({ kind: 'passthrough' });
    expect(auth.decide('Bearer sk-client-own')).toEqual({ kind: 'passthrough' });
    expect(auth.decide(undefined)).toEqual({ kind: 'passthrough' });
    expect(auth.decide('fk-one')).toEqual({ kind: 'passthrough' });
  });

  it('no pool: passthrough whatever the forward keys', () => {
    const auth = new Authenticator({ poolKeys: [], forwardKeys: ['fk-one'] });
    expect(auth.mode).toBe('passthrough');
    expect(auth.decide('Bearer fk-one')).toEqual({ kind: 'passthrough' });
  });

  it('parses bearer tokens', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('BEARER abc ')).toBe('abc');
    expect(bearerToken('Basic abc')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });
});

describe('maskSecret', () => {
  it.each([
    ['sk-proj-abcdefghijklmnop1234', 'sk-pr…1234'],
    ['fk-abcdefgh9876', 'f…6'], // short secrets show at most a quarter of themselves
    ['sk-fake-a', 's…a'],
    ['short', '*****'],
    ['', '***'],
  ])('%s → %s', (secret, masked) => expect(maskSecret(secret)).toBe(masked));
});
