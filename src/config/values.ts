/**
 * Parsers for the kinds of values settings take. Flags, environment variables and `.env` give
 * strings; a YAML/JSON config file may give numbers, booleans and arrays. Each parser accepts both
 * and throws a message saying what was expected.
 */
import { corsOriginProblem } from '../core/cors.js';
import { parseIpRange } from '../core/ip.js';
import { normalisePrefix } from '../core/route.js';

/** Raw value in, typed value out; throws an Error whose message says what was expected. */
export type Parser<T> = (value: unknown) => T;

/** Lists are separated by spaces and/or commas (DESIGN §4). */
export const list: Parser<string[]> = (value) => {
  if (value === undefined || value === null) return [];
  const items = Array.isArray(value) ? value : [value];
  const out: string[] = [];
  for (const item of items) {
    if (typeof item !== 'string' && typeof item !== 'number') throw new Error('expected a list of strings');
    for (const part of String(item).split(/[\s,]+/)) if (part !== '') out.push(part);
  }
  return out;
};

/** IP addresses and CIDR ranges, v4 and v6 (`ip_whitelist`, `ip_blacklist`, `trusted_proxies`). */
export const ipList: Parser<string[]> = (value) => {
  const entries = list(value);
  for (const entry of entries) {
    if (parseIpRange(entry) === undefined) throw new Error(`"${entry}" is not an IP address or CIDR range such as 10.0.0.0/8 or ::1`);
  }
  return entries;
};

/** One segment of a prefix: RFC 3986's path characters, `%` only as an escape. */
const PREFIX = /^(?:\/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})+)+$/;

/**
 * `route_prefix`, normalised to `/x` (core/route.ts: leading slash, no trailing one); undefined for
 * none. A prefix that no request target could start with — a space, `?`, `#`, an empty or a dot
 * segment — would leave the gateway answering 404 to everything, so it fails at start-up.
 */
export const routePrefix: Parser<string | undefined> = (value) => {
  const given = optionalText(value);
  const prefix = normalisePrefix(given);
  if (prefix === '') return undefined;
  if (!PREFIX.test(prefix)) throw new Error('expected a path such as /openai: no spaces, "?", "#" or empty segments, "%" only before two hex digits');
  if (prefix.split('/').some((segment) => /^(?:\.|%2e){1,2}$/i.test(segment))) throw new Error('a prefix cannot hold "." or ".." segments');
  return prefix;
};

/**
 * `cors_origins`: a list of browser origins, `*` (any) or `off` (`off` alone). Checked here so a
 * typo fails at start-up, not as a browser error much later.
 */
export const corsOrigins: Parser<string[]> = (value) => {
  const origins = list(value);
  if (origins.length === 1 && origins[0].toLowerCase() === 'off') return ['off'];
  for (const origin of origins) {
    const problem = corsOriginProblem(origin);
    if (problem !== undefined) throw new Error(problem);
  }
  return origins;
};

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off', '']);

export const bool: Parser<boolean> = (value) => {
  if (typeof value === 'boolean') return value;
  const text = String(value).trim().toLowerCase();
  if (TRUE.has(text)) return true;
  if (FALSE.has(text)) return false;
  throw new Error('expected true or false');
};

export function integer(min: number, max: number): Parser<number> {
  return (value) => {
    const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : '';
    if (!/^-?\d+$/.test(text)) throw new Error(`expected an integer from ${min} to ${max}`);
    const n = Number(text);
    if (n < min || n > max) throw new Error(`expected an integer from ${min} to ${max}`);
    return n;
  };
}

/** The longest duration a setting may have (Node's timers overflow at 2^31-1 ms). */
const MAX_DURATION_MS = 2_000_000_000;

/** Seconds as a non-negative number (`0` disables the limit); returned in milliseconds. */
export const secondsAsMs: Parser<number> = (value) => {
  const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : '';
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m)?$/.exec(text);
  if (match === null) throw new Error('expected a duration in seconds such as 10, 0.5, 1500ms or 10m');
  const n = Number(match[1]);
  const unit = match[2] ?? 's';
  // A limit above 0 stays one (0 would turn it off): at least 1 ms.
  const exact = unit === 'ms' ? n : unit === 'm' ? n * 60_000 : n * 1000;
  const ms = exact > 0 ? Math.max(1, Math.round(exact)) : 0;
  // Node's timers take at most 2^31-1 ms (24.8 days) and fire at once beyond: keep well inside.
  if (ms > MAX_DURATION_MS) throw new Error(`expected at most ${MAX_DURATION_MS / 1000} seconds (about 23 days)`);
  return ms;
};

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3 };

/** A byte size such as 1048576, 512kb, 20mb or 1gb (`0` = no limit). */
export const byteSize: Parser<number> = (value) => {
  const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim().toLowerCase() : '';
  const match = /^(\d+(?:\.\d+)?)\s*([kmg]?b?)$/.exec(text);
  if (match === null) throw new Error('expected a size such as 1048576, 512kb, 20mb or 1gb');
  return Math.floor(Number(match[1]) * SIZE_UNITS[match[2]]);
};

export const text: Parser<string> = (value) => {
  if (typeof value !== 'string' && typeof value !== 'number') throw new Error('expected a string');
  return String(value).trim();
};

export const optionalText: Parser<string | undefined> = (value) => {
  if (value === undefined || value === null) return undefined;
  const s = text(value);
  return s === '' ? undefined : s;
};

/** An http(s) URL; a trailing slash is dropped so `https://x/v1/` and `https://x/v1` are one. */
export const httpUrl: Parser<URL> = (value) => {
  const s = text(value);
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    throw new Error('expected an http(s) URL such as https://api.openai.com');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('expected an http:// or https:// URL');
  if (url.search !== '' || url.hash !== '') throw new Error('a base URL cannot carry a query or fragment');
  if (url.username !== '' || url.password !== '') throw new Error('put credentials in OPENAI_API_KEY, not in the URL');
  return url;
};
