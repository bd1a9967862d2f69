/**
 * A strict JSON validator over bytes that also says where the members of the top-level object
 * are: what the chat log's request record needs from a body (chat-record-line.ts), for a fraction
 * of `JSON.parse`, which builds every object and string of the conversation only for the record to
 * copy their text back. Measured on the gateway's hot path, `JSON.parse` of both bodies of an
 * exchange cost ~3 µs; scanning their bytes ~0.5 µs.
 *
 * It accepts only what `JSON.parse` accepts (RFC 8259 grammar: strict numbers, literals and
 * escapes; no control characters in strings; nothing but whitespace after the value), and no line
 * break before the value's end (a JSON Lines record may hold none; a final newline is fine). Text
 * is ASCII, where byte offsets are string offsets (asciiObjectMembers), or well-formed UTF-8
 * (utf8ObjectMembers, checked natively once a byte above 0x7f was seen). A walker can use the same
 * parts to look into some members on the way (chat-raw-reply.ts).
 * It also refuses nesting deeper than {@link MAX_DEPTH}. So `undefined` means "take the general
 * path" — `JSON.parse` — never "invalid". Reads past the end of a Buffer give `undefined`, which no
 * comparison below accepts, so the scanner needs no bounds checks.
 */

import { Buffer, isUtf8 } from 'node:buffer';

// The JSON bytes, defined here, where the scan uses them: imported from another module, the scan
// measured ~10% slower. The other readers of JSON bytes and text import them from here.
export const QUOTE = 0x22;
export const BACKSLASH = 0x5c;
export const OPEN_BRACE = 0x7b;
export const CLOSE_BRACE = 0x7d;
export const OPEN_BRACKET = 0x5b;
export const CLOSE_BRACKET = 0x5d;
export const COMMA = 0x2c;
export const COLON = 0x3a;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

/** Deeper nesting is refused (valid or not): the scanner recurses, and chat bodies are shallow. */
export const MAX_DEPTH = 64;

/** Whether strings may hold bytes above 0x7f in this scan (set by the entry point). */
let utf8 = false;
/**
 * Whether this walk met a number that may be beyond double range — its digits before the point
 * plus its exponent pass 308, so it may be 10^308 or more (and so flags a few finite ones):
 * `JSON.stringify` of what `JSON.parse` made of it is `null`, so a copy of its digits would read
 * differently. Only a walker declines for it (endUtf8Scan); the request line keeps such digits on
 * purpose (chat-record-line.ts).
 */
let hugeNumber = false;
const MAX_MAGNITUDE = 308;
/** Where an exponent's value stops growing: far beyond double range either way. */
const EXPONENT_CAP = 1_000_000;
/** Whether this scan met a byte above 0x7f. */
let sawHighByte = false;
/** Set by every escape a string holds: a walker clears it before a key to tell whether the key had one. */
let sawEscape = false;

/** 1 for the bytes a string may hold unescaped here: printable ASCII but `"` and `\`. */
const PLAIN = new Uint8Array(256);
for (let b = 0x20; b < 0x80; b++) PLAIN[b] = 1;
PLAIN[QUOTE] = 0;
PLAIN[BACKSLASH] = 0;

/** 1 for the bytes that may follow a backslash besides `u`: `" \ / b f n r t`. */
const SIMPLE_ESCAPE = new Uint8Array(256);
for (const c of '"\\/bfnrt') SIMPLE_ESCAPE[c.charCodeAt(0)] = 1;

function isDigit(c: number): boolean {
  return c >= ZERO && c <= NINE;
}

function isHex(c: number): boolean {
  const lower = c | 0x20;
  return isDigit(c) || (lower >= 0x61 && lower <= 0x66);
}

/** Past spaces and tabs (a line break is refused where a token is expected). */
function space(b: Buffer, i: number): number {
  let c = b[i];
  while (c === 0x20 || c === 0x09) c = b[++i];
  return i;
}

/**
 * True when `b` holds nothing but whitespace from `i` on: after the value, line breaks are allowed
 * too (a body written with a final newline), as nothing after the value is copied.
 */
function onlySpaceFrom(b: Buffer, i: number): boolean {
  for (; i < b.length; i++) {
    const c = b[i];
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return false;
  }
  return true;
}

/** Just past the string whose opening quote is at `i`, or -1. */
function stringEnd(b: Buffer, i: number): number {
  i++;
  for (;;) {
    while (PLAIN[b[i]] === 1) i++;
    const c = b[i];
    if (c === QUOTE) return i + 1;
    if (c >= 0x80 && utf8) {
      // Part of a character: the entry point checks the body is well-formed UTF-8 once it saw one.
      sawHighByte = true;
      i++;
      continue;
    }
    if (c !== BACKSLASH) return -1; // a control character, a byte above 0x7f, or the end
    sawEscape = true;
    const e = b[i + 1];
    if (SIMPLE_ESCAPE[e] === 1) {
      i += 2;
    } else if (e === 0x75 && isHex(b[i + 2]) && isHex(b[i + 3]) && isHex(b[i + 4]) && isHex(b[i + 5])) {
      i += 6;
    } else {
      return -1;
    }
  }
}

/** Just past the number at `i` (`-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`), or -1. */
function numberEnd(b: Buffer, i: number): number {
  if (b[i] === MINUS) i++;
  // Digits before the point, plus the exponent: the number is below 10 to that power.
  let magnitude = 1;
  if (b[i] === ZERO) {
    i++;
  } else if (isDigit(b[i])) {
    const from = i;
    while (isDigit(b[++i]));
    magnitude = i - from;
  } else {
    return -1;
  }
  if (b[i] === DOT) {
    if (!isDigit(b[++i])) return -1;
    while (isDigit(b[++i]));
  }
  if ((b[i] | 0x20) === 0x65) {
    const sign = b[++i];
    if (sign === PLUS || sign === MINUS) i++;
    if (!isDigit(b[i])) return -1;
    let exponent = 0;
    for (; isDigit(b[i]); i++) if (exponent < EXPONENT_CAP) exponent = exponent * 10 + b[i] - ZERO;
    magnitude += sign === MINUS ? -exponent : exponent;
  }
  if (magnitude > MAX_MAGNITUDE) hugeNumber = true;
  return i;
}

/** Just past `word` when the bytes at `i` spell it, else -1. */
function literalEnd(b: Buffer, i: number, word: string): number {
  for (let k = 0; k < word.length; k++) if (b[i + k] !== word.charCodeAt(k)) return -1;
  return i + word.length;
}

/** Just past the value at `i` (no space before it), or -1. */
function valueEnd(b: Buffer, i: number, depth: number): number {
  const c = b[i];
  if (c === QUOTE) return stringEnd(b, i);
  if (c === OPEN_BRACE) return depth >= MAX_DEPTH ? -1 : objectEnd(b, i, depth + 1, null);
  if (c === OPEN_BRACKET) return depth >= MAX_DEPTH ? -1 : arrayEnd(b, i, depth + 1);
  if (c === 0x74) return literalEnd(b, i, 'true');
  if (c === 0x66) return literalEnd(b, i, 'false');
  if (c === 0x6e) return literalEnd(b, i, 'null');
  return numberEnd(b, i);
}

/** Just past the object opening at `open`, or -1; with `members`, pushes each member's offsets. */
function objectEnd(b: Buffer, open: number, depth: number, members: number[] | null): number {
  let i = space(b, open + 1);
  if (b[i] === CLOSE_BRACE) return i + 1;
  for (;;) {
    if (b[i] !== QUOTE) return -1;
    const keyEnd = stringEnd(b, i);
    if (keyEnd === -1) return -1;
    const colon = space(b, keyEnd);
    if (b[colon] !== COLON) return -1;
    const start = space(b, colon + 1);
    const end = valueEnd(b, start, depth);
    if (end === -1) return -1;
    members?.push(i, keyEnd, start, end);
    i = space(b, end);
    const c = b[i];
    if (c === CLOSE_BRACE) return i + 1;
    if (c !== COMMA) return -1;
    i = space(b, i + 1);
  }
}

function arrayEnd(b: Buffer, open: number, depth: number): number {
  let i = space(b, open + 1);
  if (b[i] === CLOSE_BRACKET) return i + 1;
  for (;;) {
    const end = valueEnd(b, i, depth);
    if (end === -1) return -1;
    i = space(b, end);
    const c = b[i];
    if (c === CLOSE_BRACKET) return i + 1;
    if (c !== COMMA) return -1;
    i = space(b, i + 1);
  }
}

/**
 * The members of the JSON object that is the whole of `body` (spaces and tabs before it, any
 * whitespace after it), as byte offsets — for member k, `[4k]` is its key's opening quote, `[4k+1]`
 * just past the key's closing quote, `[4k+2]` the value's first byte and `[4k+3]` just past its
 * last — when the body is such an object in ASCII with no line break before its end; `undefined`
 * otherwise (see the file comment).
 * Decoded as latin1 or UTF-8, the text has the same offsets.
 */
export function asciiObjectMembers(body: Buffer): number[] | undefined {
  utf8 = false;
  return members(body);
}

/** The members of a UTF-8 body (see {@link utf8ObjectMembers}). */
export interface Utf8Members {
  /** Byte offsets, as {@link asciiObjectMembers} gives them. */
  members: number[];
  /** False when the body is all ASCII: then the offsets are also those of its text. */
  nonAscii: boolean;
}

/**
 * Like {@link asciiObjectMembers}, but strings may also hold any character of well-formed UTF-8
 * (the body is checked natively once a byte above 0x7f was seen). The offsets are byte offsets:
 * in the text of a body with such characters they differ.
 */
export function utf8ObjectMembers(body: Buffer): Utf8Members | undefined {
  utf8 = true;
  sawHighByte = false;
  const found = members(body);
  if (found === undefined || (sawHighByte && !isUtf8(body))) return undefined;
  return { members: found, nonAscii: sawHighByte };
}

function members(body: Buffer): number[] | undefined {
  const open = space(body, 0);
  if (body[open] !== OPEN_BRACE) return undefined;
  const members: number[] = [];
  const end = objectEnd(body, open, 1, members);
  return end !== -1 && onlySpaceFrom(body, end) ? members : undefined;
}

/**
 * The scanner's parts, for a walker that validates a body as {@link utf8ObjectMembers} does while
 * it looks into particular members on the way (chat-raw-reply.ts). Call {@link beginUtf8Scan}
 * first; once the walk succeeded, {@link endUtf8Scan} says whether the body is well-formed UTF-8.
 */
export { onlySpaceFrom as scanOnlySpaceFrom, space as scanSpace, valueEnd as scanValueEnd };

/** Starts a walk over a body whose strings may hold UTF-8. */
export function beginUtf8Scan(): void {
  utf8 = true;
  sawHighByte = false;
  hugeNumber = false;
}

/**
 * After a walk that succeeded: what `body` is — all ASCII or well-formed UTF-8 — or `undefined`
 * when it is neither, or held a number that may be beyond double range (declined, as above).
 */
export function endUtf8Scan(body: Buffer): 'ascii' | 'utf8' | undefined {
  if (hugeNumber) return undefined;
  if (!sawHighByte) return 'ascii';
  return isUtf8(body) ? 'utf8' : undefined;
}

/** Just past the key whose opening quote is at `i`, or -1; -2 when it holds an escape. */
export function scanKeyEnd(b: Buffer, i: number): number {
  sawEscape = false;
  const end = stringEnd(b, i);
  return end !== -1 && sawEscape ? -2 : end;
}
