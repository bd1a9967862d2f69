/**
 * How long a pool key rests after the upstream refused it, pure (USERS.md #5: one bad or
 * rate-limited key must not poison the pool, and cooldowns must follow what the upstream says,
 * not stack into hours).
 *
 * - 429: `Retry-After` (seconds or an HTTP date) when sent; else OpenAI's `x-ratelimit-reset-*`
 *   for the limit that is exhausted (`remaining` 0), or the longer of the two; else 20 s.
 * - 401 / 403: the key is invalid, revoked or not allowed: 5 minutes, then it is tried again (one
 *   request, which fails over when another key is healthy).
 * - Anything else says nothing about the key (a 5xx is the upstream's trouble, not the key's).
 * Every rest is capped at 10 minutes.
 */

/** Reads a response header by lower-case name. */
export type HeaderLookup = (name: string) => string | undefined;

export interface Cooldown {
  readonly ms: number;
  /** Where the duration came from, for the operator's log line. */
  readonly source: string;
}

export const MAX_COOLDOWN_MS = 10 * 60_000;
export const DEFAULT_RATE_LIMIT_COOLDOWN_MS = 20_000;
export const INVALID_KEY_COOLDOWN_MS = 5 * 60_000;

/** Statuses that say something about the key itself. */
export function isKeyRefusal(status: number): boolean {
  return status === 401 || status === 403 || status === 429;
}

const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

/**
 * OpenAI's reset durations (`1s`, `6m0s`, `59.5s`, `20ms`, `1h2m3s`) in ms, or `undefined` when
 * `value` is not one.
 */
export function parseResetDuration(value: string): number | undefined {
  const text = value.trim();
  if (text === '') return undefined;
  let total = 0;
  let at = 0;
  const part = /(\d+(?:\.\d+)?)(ms|h|m|s)/y;
  while (at < text.length) {
    part.lastIndex = at;
    const match = part.exec(text);
    if (match === null) return undefined;
    total += Number(match[1]) * UNIT_MS[match[2]];
    at = part.lastIndex;
  }
  return total;
}

/** `Retry-After` (RFC 9110 §10.2.3: delay-seconds or an HTTP-date) in ms from `now`, or `undefined`. */
export function parseRetryAfter(value: string, now: number): number | undefined {
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // An HTTP-date names its day and month (`Fri, 27 Nov 2026 12:00:00 GMT`); Date.parse alone takes `-3` for a year.
  if (!/[a-z]{3}/i.test(text)) return undefined;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The rest for a key after the upstream answered `status`, or `null` when the answer is not about the key. */
export function cooldownFor(status: number, header: HeaderLookup, now: number): Cooldown | null {
  if (status === 401 || status === 403) return { ms: INVALID_KEY_COOLDOWN_MS, source: `${status}` };
  if (status !== 429) return null;
  const retryAfter = header('retry-after');
  const fromRetryAfter = retryAfter === undefined ? undefined : parseRetryAfter(retryAfter, now);
  if (fromRetryAfter !== undefined) return capped(fromRetryAfter, 'retry-after');
  const requests = resetOf(header, 'requests');
  const tokens = resetOf(header, 'tokens');
  if (requests !== undefined && requests.exhausted && !(tokens?.exhausted ?? false)) return capped(requests.ms, 'x-ratelimit-reset-requests');
  if (tokens !== undefined && tokens.exhausted && !(requests?.exhausted ?? false)) return capped(tokens.ms, 'x-ratelimit-reset-tokens');
  const longest = Math.max(requests?.ms ?? -1, tokens?.ms ?? -1);
  if (longest >= 0) return capped(longest, 'x-ratelimit-reset-*');
  return { ms: DEFAULT_RATE_LIMIT_COOLDOWN_MS, source: 'no reset header' };
}

function resetOf(header: HeaderLookup, limit: 'requests' | 'tokens'): { ms: number; exhausted: boolean } | undefined {
  const reset = header(`x-ratelimit-reset-${limit}`);
  const ms = reset === undefined ? undefined : parseResetDuration(reset);
  if (ms === undefined) return undefined;
  return { ms, exhausted: header(`x-ratelimit-remaining-${limit}`)?.trim() === '0' };
}

function capped(ms: number, source: string): Cooldown {
  return ms > MAX_COOLDOWN_MS ? { ms: MAX_COOLDOWN_MS, source: `${source}, capped at 10 min` } : { ms, source };
}
