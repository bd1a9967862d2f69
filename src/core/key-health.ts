/**
 * How long a pool key rests after the upstream refused it, pure (USERS.md #5: one bad or
 * rate-limited key must not poison the pool, and cooldowns must follow what the upstream says,
 * not stack into hours).
 *
 * - 429: OpenAI's `retry-after-ms`, else `Retry-After` (seconds or an HTTP date); else
 *   `x-ratelimit-reset-*` of the limit that is exhausted (`remaining` 0), or the longer of the two
 *   when neither says; else 20 s.
 * - 401 whose body says the key itself is bad ({@link isKeyFault}): 5 minutes, then one request
 *   tries it again (and fails over when another key is in rotation). Other 401s (a wrong
 *   `OpenAI-Organization` header) and 403s (model, region) are about the request: a key rested for
 *   them would take the whole pool out of rotation one request at a time.
 * - Anything else says nothing about the key (a 5xx is the upstream's trouble, not the key's).
 * Every rest lasts at least 1 s (so the key leaves the rotation for this exchange) and at most 10
 * minutes.
 */

/** Reads a response header by lower-case name. */
export type HeaderLookup = (name: string) => string | undefined;

export interface Cooldown {
  readonly ms: number;
  /** Where the duration came from, for the operator's log line. */
  readonly source: string;
}

export const MAX_COOLDOWN_MS = 10 * 60_000;
export const MIN_COOLDOWN_MS = 1000;
export const DEFAULT_RATE_LIMIT_COOLDOWN_MS = 20_000;
export const INVALID_KEY_COOLDOWN_MS = 5 * 60_000;

/** Statuses that may say something about the key itself (a 401 only with {@link isKeyFault}). */
export function isKeyRefusal(status: number): boolean {
  return status === 401 || status === 429;
}

/** OpenAI's `error.code` values of a 401 that blame the key. */
const KEY_FAULT_CODES = new Set(['invalid_api_key', 'account_deactivated']);
/** The same in words, for upstreams without OpenAI's codes (Azure: "invalid subscription key"). */
const KEY_FAULT_MESSAGE = /\b(?:incorrect|invalid|expired|revoked|deactivated|disabled)\b.{0,40}\b(?:api|subscription|access)[ -]?key\b/i;

/**
 * True when a 401 body (OpenAI's error shape) says the key itself is bad: an `error.code` of
 * `invalid_api_key` / `account_deactivated`, or, without a code, a message about an invalid key.
 */
export function isKeyFault(body: string): boolean {
  let error: unknown;
  try {
    error = (JSON.parse(body) as { error?: unknown } | null)?.error;
  } catch {
    return false;
  }
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && code !== '' && !/^\d+$/.test(code)) return KEY_FAULT_CODES.has(code);
  return typeof message === 'string' && KEY_FAULT_MESSAGE.test(message);
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

/** An HTTP-date as RFC 9110 §5.6.7 has senders write it (IMF-fixdate). */
const IMF_FIXDATE = /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/;

/**
 * `Retry-After` (RFC 9110 §10.2.3: delay-seconds, taken with a fraction too, or an HTTP-date) in ms
 * from `now`, or `undefined`. Only the IMF-fixdate form of a date is read: `Date.parse` alone would
 * take `-3` or `Wed 5` for a date.
 */
export function parseRetryAfter(value: string, now: number): number | undefined {
  const text = value.trim();
  if (/^\d+(?:\.\d+)?$/.test(text)) return Number(text) * 1000;
  if (!IMF_FIXDATE.test(text)) return undefined;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The rest for a key after the upstream answered `status`, or `null` when the answer is not about the key. */
/**
 * The rest for a key after the upstream answered `status`, or `null` when the answer is not about
 * the key. A 401 must already be known to blame the key ({@link isKeyFault}).
 */
export function cooldownFor(status: number, header: HeaderLookup, now: number): Cooldown | null {
  if (status === 401) return { ms: INVALID_KEY_COOLDOWN_MS, source: 'invalid key' };
  if (status !== 429) return null;
  const retryAfterMs = header('retry-after-ms')?.trim();
  if (retryAfterMs !== undefined && /^\d+(?:\.\d+)?$/.test(retryAfterMs)) return bounded(Number(retryAfterMs), 'retry-after-ms');
  const retryAfter = header('retry-after');
  const fromRetryAfter = retryAfter === undefined ? undefined : parseRetryAfter(retryAfter, now);
  if (fromRetryAfter !== undefined) return bounded(fromRetryAfter, 'retry-after');
  const requestsExhausted = header('x-ratelimit-remaining-requests')?.trim() === '0';
  const tokensExhausted = header('x-ratelimit-remaining-tokens')?.trim() === '0';
  const requests = resetOf(header, 'requests');
  const tokens = resetOf(header, 'tokens');
  if (requestsExhausted !== tokensExhausted) {
    // One limit is spent: its reset is the answer (the other limit's reset says nothing of it).
    const reset = requestsExhausted ? requests : tokens;
    if (reset !== undefined) return bounded(reset, `x-ratelimit-reset-${requestsExhausted ? 'requests' : 'tokens'}`);
    return { ms: DEFAULT_RATE_LIMIT_COOLDOWN_MS, source: 'no reset header' };
  }
  const longest = Math.max(requests ?? -1, tokens ?? -1);
  if (longest >= 0) return bounded(longest, 'x-ratelimit-reset-*');
  return { ms: DEFAULT_RATE_LIMIT_COOLDOWN_MS, source: 'no reset header' };
}

function resetOf(header: HeaderLookup, limit: 'requests' | 'tokens'): number | undefined {
  const reset = header(`x-ratelimit-reset-${limit}`);
  return reset === undefined ? undefined : parseResetDuration(reset);
}

function bounded(ms: number, source: string): Cooldown {
  if (ms > MAX_COOLDOWN_MS) return { ms: MAX_COOLDOWN_MS, source: `${source}, capped at 10 min` };
  if (ms < MIN_COOLDOWN_MS) return { ms: MIN_COOLDOWN_MS, source: `${source}, at least 1 s` };
  return { ms, source };
}
