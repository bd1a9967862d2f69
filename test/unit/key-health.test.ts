/** Key health (core/key-health.ts) and the pool's rotation around resting keys (core/key-pool.ts). */
import { describe, expect, it } from 'vitest';
import { cooldownFor, isKeyFault, isKeyRefusal, parseResetDuration, parseRetryAfter } from '../../src/core/key-health.js';
import { KeyPool } from '../../src/core/key-pool.js';

const NOW = Date.UTC(2026, 10, 27, 12, 0, 0);
const lookup = (headers: Record<string, string>) => (name: string): string | undefined => headers[name];

describe('cooldownFor', () => {
  it.each([
    ['429 with Retry-After seconds', 429, { 'retry-after': '30' }, 30_000, 'retry-after'],
    ['429 with Retry-After as a date', 429, { 'retry-after': new Date(NOW + 45_000).toUTCString() }, 45_000, 'retry-after'],
    ['429, the requests limit exhausted', 429, { 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '1.5s', 'x-ratelimit-remaining-tokens': '900', 'x-ratelimit-reset-tokens': '6m0s' }, 1_500, 'x-ratelimit-reset-requests'],
    ['429, the tokens limit exhausted', 429, { 'x-ratelimit-remaining-requests': '40', 'x-ratelimit-reset-requests': '1s', 'x-ratelimit-remaining-tokens': '0', 'x-ratelimit-reset-tokens': '2.5s' }, 2_500, 'x-ratelimit-reset-tokens'],
    ['429, a limit exhausted without its reset: not the other limit’s reset', 429, { 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-remaining-tokens': '900', 'x-ratelimit-reset-tokens': '6m0s' }, 20_000, 'no reset header'],
    ['429 with OpenAI’s retry-after-ms (wins over Retry-After)', 429, { 'retry-after-ms': '1500', 'retry-after': '9' }, 1_500, 'retry-after-ms'],
    ['429 with a fractional Retry-After', 429, { 'retry-after': '2.5' }, 2_500, 'retry-after'],
    ['429 asking for no rest at all still takes the key out for this exchange', 429, { 'retry-after': '0' }, 1_000, 'retry-after, at least 1 s'],
    ['429 with a 20 ms reset', 429, { 'x-ratelimit-remaining-tokens': '0', 'x-ratelimit-reset-tokens': '20ms' }, 1_000, 'x-ratelimit-reset-tokens, at least 1 s'],
    ['429, resets without remaining counts: the longer', 429, { 'x-ratelimit-reset-requests': '2s', 'x-ratelimit-reset-tokens': '1m2s' }, 62_000, 'x-ratelimit-reset-*'],
    ['429 without any hint', 429, {}, 20_000, 'no reset header'],
    ['429 asking for hours is capped at 10 minutes', 429, { 'retry-after': '86400' }, 600_000, 'retry-after, capped at 10 min'],
    ['401 (known to blame the key)', 401, { 'retry-after': '1' }, 300_000, 'invalid key'],
  ])('%s', (_name, status, headers, ms, source) => {
    expect(cooldownFor(status, lookup(headers), NOW)).toEqual({ ms, source });
  });

  it.each([200, 400, 403, 404, 500, 502, 503])('%i says nothing about the key', (status) => {
    expect(cooldownFor(status, lookup({ 'retry-after': '5' }), NOW)).toBeNull();
    expect(isKeyRefusal(status)).toBe(false);
  });

  it('an unreadable Retry-After falls back to the rate-limit headers', () => {
    for (const junk of ['soon', 'Wed 5', 'abc 1', '-5', '+5', '1e3']) {
      expect(cooldownFor(429, lookup({ 'retry-after': junk, 'x-ratelimit-reset-requests': '3s' }), NOW)).toEqual({ ms: 3000, source: 'x-ratelimit-reset-*' });
    }
  });
});

describe('isKeyFault: does a 401 blame the key, or the request?', () => {
  const body = (error: unknown): string => JSON.stringify({ error });
  it.each([
    ['OpenAI: invalid_api_key', body({ message: 'Incorrect API key provided: sk-…', type: 'invalid_request_error', code: 'invalid_api_key' }), true],
    ['OpenAI: account_deactivated', body({ message: 'This key is associated with a deactivated account.', code: 'account_deactivated' }), true],
    ['OpenAI: wrong OpenAI-Organization header (about the request)', body({ message: 'OpenAI-Organization header should match organization for API key', code: 'mismatched_organization' }), false],
    ['OpenAI: no code, message about the key', body({ message: 'Incorrect API key provided: sk-…', code: null }), true],
    ['Azure: numeric code, message about the subscription key', body({ code: '401', message: 'Access denied due to invalid subscription key or wrong API endpoint.' }), true],
    ['a 401 about something else', body({ message: 'You must be a member of an organization to use the API.', code: null }), false],
    ['not JSON', 'Unauthorized', false],
    ['JSON without error', '{"detail":"nope"}', false],
  ])('%s', (_name, text, expected) => {
    expect(isKeyFault(text)).toBe(expected);
  });
});

describe('duration formats', () => {
  it.each([
    ['1s', 1000],
    ['6m0s', 360_000],
    ['59.5s', 59_500],
    ['20ms', 20],
    ['1h2m3s', 3_723_000],
    ['', undefined],
    ['soon', undefined],
    ['5', undefined],
    ['1s junk', undefined],
  ])('x-ratelimit-reset %j → %s ms', (text, ms) => {
    expect(parseResetDuration(text)).toBe(ms);
  });

  it('Retry-After: seconds, a date in the future or past, garbage', () => {
    expect(parseRetryAfter(' 12 ', NOW)).toBe(12_000);
    expect(parseRetryAfter(new Date(NOW + 5_000).toUTCString(), NOW)).toBe(5_000);
    expect(parseRetryAfter(new Date(NOW - 5_000).toUTCString(), NOW)).toBe(0);
    expect(parseRetryAfter('-3', NOW)).toBeUndefined();
    expect(parseRetryAfter('Wed 5', NOW)).toBeUndefined();
  });
});

describe('KeyPool rotation', () => {
  const keys = ['sk-fake-a', 'sk-fake-b', 'sk-fake-c'];

  it('is round-robin while every key is in rotation', () => {
    const pool = new KeyPool(keys);
    expect([0, 1, 2, 3].map(() => pool.next(NOW))).toEqual(['sk-fake-a', 'sk-fake-b', 'sk-fake-c', 'sk-fake-a']);
  });

  it('skips a resting key until its rest is over', () => {
    const pool = new KeyPool(keys);
    expect(pool.rest(1, NOW + 1000, NOW)).toBe(true);
    expect(pool.rest(1, NOW + 500, NOW)).toBe(false); // already resting; a shorter rest does not shorten it
    expect([0, 1, 2, 3].map(() => pool.next(NOW))).toEqual(['sk-fake-a', 'sk-fake-c', 'sk-fake-a', 'sk-fake-c']);
    expect(pool.available(1, NOW + 999)).toBe(false);
    expect(pool.available(1, NOW + 1000)).toBe(true);
    expect(pool.next(NOW + 1000)).toBe('sk-fake-a');
    expect(pool.next(NOW + 1000)).toBe('sk-fake-b');
  });

  it('when every key rests, uses the one whose rest ends first', () => {
    const pool = new KeyPool(keys);
    pool.rest(0, NOW + 3000, NOW);
    pool.rest(1, NOW + 1000, NOW);
    pool.rest(2, NOW + 2000, NOW);
    expect(pool.next(NOW)).toBe('sk-fake-b');
    expect(pool.otherAvailable(1, NOW)).toBe(-1);
    expect(pool.otherAvailable(1, NOW + 2000)).toBe(2);
  });

  it('an empty pool has no key', () => {
    expect(new KeyPool([]).next(NOW)).toBeUndefined();
    expect(new KeyPool([]).nextIndex(NOW)).toBe(-1);
  });
});
