/**
 * The chat-lines module's JSON scanner (wasm/chat-lines.ts): the grammar of src/core/json-scan.ts —
 * strict numbers, literals and escapes, no control characters in strings, nesting up to MAX_DEPTH —
 * over the body at IN_AT, which a 0 byte follows (no rule accepts it, so the scan needs no bounds
 * checks). Line breaks are whitespace here: `multiline` tells the writers a body had one, and
 * `highBits` whether it had a byte above 0x7f, both noted on the way. What an object's scan notes
 * depends on its level: nothing, the request's members, or the values the response walk looks for
 * (response-line.ts).
 */
import { IN_AT, MAX_DEPTH, MEMBERS_AT, MEMBERS_MAX } from './layout';
import { walkedValue } from './response-line';

// ---- bytes ----
export const QUOTE: i32 = 0x22;
export const BACKSLASH: i32 = 0x5c;
export const OPEN_BRACE: i32 = 0x7b;
export const CLOSE_BRACE: i32 = 0x7d;
export const OPEN_BRACKET: i32 = 0x5b;
export const CLOSE_BRACKET: i32 = 0x5d;
export const COMMA: i32 = 0x2c;
export const COLON: i32 = 0x3a;
export const MINUS: i32 = 0x2d;
export const PLUS: i32 = 0x2b;
export const DOT: i32 = 0x2e;
export const ZERO: i32 = 0x30;
export const NEWLINE: i32 = 0x0a;

/** Set by every escape a string holds: cleared before a key to tell whether it had one. */
export let sawEscape: bool = false;
/** Whether the scan met a number that may be beyond double range (see numberEnd). */
export let hugeNumber: bool = false;
const MAX_MAGNITUDE: i32 = 308;
const EXPONENT_CAP: i32 = 1_000_000;
/** Members the request's scan recorded at MEMBERS_AT. */
export let members: i32 = 0;
/**
 * Whether the body has a line break: set by spaceFrom, which every run of whitespace the scan
 * passes goes through (a line break anywhere else is inside a string, which the scan refuses).
 */
export let multiline: bool = false;
/**
 * The sign bits of the 16-byte blocks the string scans loaded: for a body the scan accepts, not 0
 * exactly when it has a byte above 0x7f. Such a byte is valid only inside a string, and every byte
 * of a string is in a block a scan loads. A block may reach past its string: into bytes of the
 * body the scan reads later (a byte above 0x7f there is in a string, or the scan refuses it) or
 * past the body, into the zeros beginScan writes. (This replaced a pass over the whole body.)
 */
export let highBits: i32 = 0;

/** Starts the scan of a body of `length` bytes at IN_AT: its sentinel, and the scan's notes cleared. */
export function beginScan(length: i32): void {
  // The sentinel, and 15 more zeros: no block a string scan loads reaches an earlier body's bytes.
  v128.store(IN_AT + length, i8x16.splat(0));
  members = 0;
  hugeNumber = false;
  multiline = false;
  highBits = 0;
}

@inline export function at(i: i32): i32 { return <i32>load<u8>(i); }
@inline export function isDigit(c: i32): bool { return <u32>(c - ZERO) <= 9; }
@inline export function isHex(c: i32): bool { const lower = c | 0x20; return isDigit(c) || <u32>(lower - 0x61) <= 5; }

/**
 * Past whitespace (a pretty-printed body's line breaks too: see `multiline`). Every byte that starts
 * a token is above 0x20, so a minified body — most requests — takes one comparison per call.
 */
@inline export function space(i: i32): i32 {
  return at(i) > 0x20 ? i : spaceFrom(i);
}

/**
 * space() past the bytes that are whitespace, from a byte at or below 0x20: 16 at a time, as a
 * pretty-printed body (OpenAI's replies) indents its lines. Sets `multiline` when the run has a
 * line break.
 */
export function spaceFrom(i: i32): i32 {
  while (true) {
    const v = v128.load(i);
    const lineBreak = v128.or(i8x16.eq(v, i8x16.splat(0x0a)), i8x16.eq(v, i8x16.splat(0x0d)));
    const blank = v128.or(lineBreak, v128.or(i8x16.eq(v, i8x16.splat(0x20)), i8x16.eq(v, i8x16.splat(0x09))));
    // The first byte that is not whitespace (the body's 0 sentinel is one).
    const other = ~i8x16.bitmask(blank) & 0xffff;
    // The run's line breaks: those before that byte.
    const run = other == 0 ? 0xffff : (other & -other) - 1;
    if ((i8x16.bitmask(lineBreak) & run) != 0) multiline = true;
    if (other != 0) return i + ctz(other);
    i += 16;
  }
  return i;
}

/**
 * The bytes of `v` below 0x20, as a lane mask: `min_u(v, 0x1f) == v`, two instructions on x64
 * where V8 makes `i8x16.lt_u` four.
 */
@inline function controlBytes(v: v128): v128 {
  return i8x16.eq(i8x16.min_u(v, i8x16.splat(0x1f)), v);
}

/**
 * stringEnd() inline for a string whose first 16 bytes hold its closing quote and nothing to check
 * before it — most keys and short values — else the call. One load and one mask: no loop, no call.
 */
@inline export function shortStringEnd(i: i32): i32 {
  const v = v128.load(i + 1);
  highBits |= i8x16.bitmask(v);
  const mask = i8x16.bitmask(v128.or(v128.or(i8x16.eq(v, i8x16.splat(<i8>QUOTE)), i8x16.eq(v, i8x16.splat(<i8>BACKSLASH))), controlBytes(v)));
  if (mask != 0) {
    const end = i + 1 + ctz(mask);
    if (at(end) == QUOTE) return end + 1;
  }
  return stringEnd(i);
}

/** Just past the string whose opening quote is at `i`, or -1. Bytes above 0x7f pass (checked later). */
export function stringEnd(i: i32): i32 {
  i++;
  const quote = i8x16.splat(<i8>QUOTE);
  const backslash = i8x16.splat(<i8>BACKSLASH);
  while (true) {
    // 16 bytes at a time up to the first quote, backslash or control byte (the sentinel is one).
    let mask = 0;
    while (true) {
      const v = v128.load(i);
      highBits |= i8x16.bitmask(v);
      mask = i8x16.bitmask(v128.or(v128.or(i8x16.eq(v, quote), i8x16.eq(v, backslash)), controlBytes(v)));
      if (mask != 0) break;
      i += 16;
    }
    i += ctz(mask);
    const c = at(i);
    if (c == QUOTE) return i + 1;
    if (c != BACKSLASH) return -1;
    sawEscape = true;
    const e = at(i + 1);
    if (e == QUOTE || e == BACKSLASH || e == 0x2f || e == 0x62 || e == 0x66 || e == 0x6e || e == 0x72 || e == 0x74) {
      i += 2;
    } else if (e == 0x75 && isHex(at(i + 2)) && isHex(at(i + 3)) && isHex(at(i + 4)) && isHex(at(i + 5))) {
      i += 6;
    } else {
      return -1;
    }
  }
  return -1;
}

/**
 * Just past the number at `i`, or -1. Notes a number that may be beyond double range (its digits
 * before the point plus its exponent pass 308, as json-scan.ts's hugeNumber): a line holding one is
 * declined where JavaScript would write `null` for it (a reply; a pretty-printed request).
 */
export function numberEnd(i: i32): i32 {
  if (at(i) == MINUS) i++;
  // Digits before the point, plus the exponent: the number is below 10 to that power.
  let magnitude = 1;
  if (at(i) == ZERO) {
    i++;
  } else if (isDigit(at(i))) {
    const from = i;
    while (isDigit(at(++i)));
    magnitude = i - from;
  } else {
    return -1;
  }
  if (at(i) == DOT) {
    if (!isDigit(at(++i))) return -1;
    while (isDigit(at(++i)));
  }
  if ((at(i) | 0x20) == 0x65) {
    const sign = at(++i);
    if (sign == PLUS || sign == MINUS) i++;
    if (!isDigit(at(i))) return -1;
    let exponent = 0;
    for (; isDigit(at(i)); i++) if (exponent < EXPONENT_CAP) exponent = exponent * 10 + at(i) - ZERO;
    magnitude += sign == MINUS ? -exponent : exponent;
  }
  if (magnitude > MAX_MAGNITUDE) hugeNumber = true;
  return i;
}

export function valueEnd(i: i32, depth: i32): i32 {
  const c = at(i);
  if (c == QUOTE) return shortStringEnd(i);
  if (c == OPEN_BRACE) return depth >= MAX_DEPTH ? -1 : objectEnd(i, depth + 1, LEVEL_PLAIN);
  if (c == OPEN_BRACKET) return depth >= MAX_DEPTH ? -1 : arrayEnd(i, depth + 1);
  // Little-endian words: "true", "alse" (after the f), "null".
  if (c == 0x74) return load<u32>(i) == 0x65757274 ? i + 4 : -1;
  if (c == 0x66) return load<u32>(i + 1) == 0x65736c61 ? i + 5 : -1;
  if (c == 0x6e) return load<u32>(i) == 0x6c6c756e ? i + 4 : -1;
  return numberEnd(i);
}

// What objectEnd notes: nothing; every member's offsets (the request line's); or, at the levels of
// the response walk (LEVEL_TOP and on, response-line.ts), the values of that level's keys.
export const LEVEL_PLAIN: i32 = -1;
export const LEVEL_REQUEST: i32 = -2;

/**
 * Just past the object opening at `open` at `depth`, or -1: invalid, or not the case covered — a
 * key with an escape where keys matter (it could spell a name the checks would not see), too many
 * members, a walked key written twice. `level` says what it notes (see above).
 */
export function objectEnd(open: i32, depth: i32, level: i32): i32 {
  let i = space(open + 1);
  if (at(i) == CLOSE_BRACE) return i + 1;
  while (true) {
    if (at(i) != QUOTE) return -1;
    sawEscape = false;
    const keyEnd = shortStringEnd(i);
    if (keyEnd == -1) return -1;
    const colon = space(keyEnd);
    if (at(colon) != COLON) return -1;
    const start = space(colon + 1);
    let end: i32;
    if (level == LEVEL_PLAIN) {
      end = valueEnd(start, depth);
    } else if (sawEscape) {
      return -1;
    } else if (level == LEVEL_REQUEST) {
      end = valueEnd(start, depth);
      if (end == -1 || members == MEMBERS_MAX) return -1;
      const m = MEMBERS_AT + (members << 4);
      store<i32>(m, i);
      store<i32>(m, keyEnd, 4);
      store<i32>(m, start, 8);
      store<i32>(m, end, 12);
      members++;
    } else {
      end = walkedValue(level, i, keyEnd, start, depth);
    }
    if (end == -1) return -1;
    i = space(end);
    const c = at(i);
    if (c == CLOSE_BRACE) return i + 1;
    if (c != COMMA) return -1;
    i = space(i + 1);
  }
  return -1;
}

export function arrayEnd(open: i32, depth: i32): i32 {
  let i = space(open + 1);
  if (at(i) == CLOSE_BRACKET) return i + 1;
  while (true) {
    const end = valueEnd(i, depth);
    if (end == -1) return -1;
    i = space(end);
    const c = at(i);
    if (c == CLOSE_BRACKET) return i + 1;
    if (c != COMMA) return -1;
    i = space(i + 1);
  }
  return -1;
}

/**
 * True when bytes [a, a+n) equal [b, b+n). Up to 8 bytes — most keys — inline, in one comparison
 * of the words there (every region has 8 bytes after it to read); longer runs call sameBytesFrom.
 */
@inline export function sameBytes(a: i32, b: i32, n: i32): bool {
  if (n <= 8) return n <= 0 || ((load<u64>(a) ^ load<u64>(b)) << <u64>(64 - (n << 3))) == 0;
  return sameBytesFrom(a, b, n);
}

/** sameBytes for more than 8 bytes: 8 at a time, the last 8 overlapping. */
function sameBytesFrom(a: i32, b: i32, n: i32): bool {
  const last = n - 8;
  for (let k = 0; k < last; k += 8) {
    if (load<u64>(a + k) != load<u64>(b + k)) return false;
  }
  return load<u64>(a + last) == load<u64>(b + last);
}

/**
 * A hash of the key bytes [a, a+n), from the words at its two ends (the first and last 8 bytes,
 * fewer for a short key) and its length: two multiplications, not one per byte as FNV-1a took.
 * Keys of a field memo differ in those far more often than not; equal hashes are compared whole.
 */
export function hashBytes(a: i32, n: i32): u32 {
  const head = n >= 8 ? load<u64>(a) : n <= 0 ? <u64>0 : load<u64>(a) << <u64>(64 - (n << 3));
  const tail = n > 8 ? load<u64>(a + n - 8) : <u64>0;
  let h = (head ^ <u64>n) * 0x9e3779b97f4a7c15;
  h = (h ^ (h >>> 29) ^ tail) * 0xbf58476d1ce4e5b9;
  return <u32>(h >>> 32);
}
