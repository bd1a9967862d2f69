/**
 * How the chat-lines module writes a line (wasm/chat-lines.ts): bytes copied, ASCII and numbers
 * written as JavaScript writes them, values of a pretty-printed body without their whitespace, and
 * the envelope's parts JavaScript left in memory (uid, second, ip and route).
 */
import { NULL, PLACE_AT, SECOND_AT, SECOND_LENGTH, TEXTS_AT, TEXTS_END, UID_AT } from './layout';
import { at, MINUS, multiline, QUOTE, spaceFrom, stringEnd, ZERO } from './json';

/** The length of `,"ip":…,"route":…` JavaScript wrote at PLACE_AT. */
let placeLength: i32 = 0;
export function setPlace(length: i32): void { placeLength = length; }

/** Appends `,"ip":…,"route":…` as JavaScript last wrote it. */
export function putPlace(out: i32): i32 {
  return put(out, PLACE_AT, PLACE_AT + placeLength);
}

/** Appends the valid JSON text [a, b) without whitespace between its tokens. */
export function putMinified(out: i32, a: i32, b: i32): i32 {
  let i = a;
  while (i < b) {
    const c = at(i);
    if (c == QUOTE) {
      const end = stringEnd(i);
      out = put(out, i, end);
      i = end;
    } else if (c == 0x20 || c == 0x0a || c == 0x09 || c == 0x0d) {
      // A run of whitespace, skipped at once; the value ends in a token, so the run ends before b.
      i = spaceFrom(i);
    } else {
      store<u8>(out++, c);
      i++;
    }
  }
  return out;
}

/** Appends the JSON text [a, b) of the body: as written, or without whitespace when it spans lines. */
@inline export function putValue(out: i32, a: i32, b: i32): i32 {
  return multiline ? putMinified(out, a, b) : put(out, a, b);
}

/**
 * Appends [a, b) at `out`; returns the new end. Up to 32 bytes — the constant texts, keys, most
 * values — as one or two 16-byte loads and stores, which may write up to 15 bytes past the end
 * (layout.ts leaves that room after the outbox; a later write covers them): V8 makes `memory.copy`
 * a call into C, which cost more than the copy.
 */
@inline export function put(out: i32, a: i32, b: i32): i32 {
  const n = b - a;
  if (n <= 16) {
    v128.store(out, v128.load(a));
  } else if (n <= 32) {
    v128.store(out, v128.load(a));
    v128.store(out, v128.load(a, 16), 16);
  } else {
    putLong(out, a, n);
  }
  return out + n;
}

/**
 * put() for more than 32 bytes: up to COPY_LOOP_MAX in 16-byte steps (the messages of a chat
 * request, a reply's content), longer ones with `memory.copy`, whose call into C costs more than
 * a loop over a few hundred bytes. Like put(), it may write up to 15 bytes past the end.
 */
function putLong(out: i32, a: i32, n: i32): void {
  if (n > COPY_LOOP_MAX) {
    memory.copy(out, a, n);
    return;
  }
  for (let k = 0; k < n; k += 16) v128.store(out + k, v128.load(a + k));
}
const COPY_LOOP_MAX: i32 = 1024;

@inline export function putByte(out: i32, c: i32): i32 {
  store<u8>(out, c);
  return out + 1;
}

/** Where the next constant text goes. */
let textsEnd: i32 = TEXTS_AT;

/**
 * A constant ASCII text of the lines, written once when the module starts (at TEXTS_AT; it aborts
 * when they do not fit): its offset and length, as `offset << 8 | length`, for putConstant.
 */
export function constant(text: string): i32 {
  const n = text.length;
  assert(n < 256 && textsEnd + n <= TEXTS_END, 'the constant texts do not fit');
  const at = textsEnd;
  for (let k = 0; k < n; k++) store<u8>(at + k, <u8>text.charCodeAt(k));
  textsEnd += n;
  return (at << 8) | n;
}

/** Appends a {@link constant}: one copy, where writing it character by character cost a tenth of a response line. */
@inline export function putConstant(out: i32, text: i32): i32 {
  return put(out, text >>> 8, (text >>> 8) + (text & 0xff));
}

export const NULL_TEXT = constant('null');
const UID_KEY = constant('"uid":');
const TIME_KEY = constant(',"time":"');

/** Writes `value` as JavaScript's `${value}` does, or `null` for NULL. */
export function putInt(out: i32, value: i32): i32 {
  if (value == NULL) return putConstant(out, NULL_TEXT);
  let n = <u32>value;
  if (value < 0) {
    out = putByte(out, MINUS);
    n = <u32>(-value);
  }
  let digits = 1;
  for (let rest = n; rest >= 10; rest /= 10) digits++;
  for (let k = digits - 1; k >= 0; k--) {
    store<u8>(out + k, ZERO + <i32>(n % 10));
    n /= 10;
  }
  return out + digits;
}

/** The length of the uid text JavaScript wrote at UID_AT (see putUidAndTime). */
let uidLength: i32 = 0;
export function setUid(length: i32): void { uidLength = length; }

/** Lower-case hex digits. */
const HEX_DIGITS = memory.data<u8>([0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66]);

/**
 * Writes `"uid":…,"time":"…"` (no leading comma), stamped `millis` past the second JavaScript
 * wrote. The uid is the text JavaScript wrote at UID_AT: the whole uid as JSON when `uidLow` is -1;
 * else its start (the quote, the random prefix and the counter's high half, src/chat-log/uid.ts),
 * which the counter's low 24 bits `uidLow` end as six hex digits, and the closing quote.
 */
export function putUidAndTime(out: i32, uidLow: i32, millis: i32): i32 {
  out = putConstant(out, UID_KEY);
  out = put(out, UID_AT, UID_AT + uidLength);
  if (uidLow >= 0) {
    for (let k = 5; k >= 0; k--) {
      store<u8>(out + k, load<u8>(HEX_DIGITS + (uidLow & 15)));
      uidLow >>>= 4;
    }
    store<u8>(out + 6, QUOTE);
    out += 7;
  }
  out = putConstant(out, TIME_KEY);
  out = put(out, SECOND_AT, SECOND_AT + SECOND_LENGTH);
  store<u8>(out, ZERO + millis / 100);
  store<u8>(out + 1, ZERO + (millis / 10) % 10);
  store<u8>(out + 2, ZERO + millis % 10);
  store<u8>(out + 3, 0x5a); // Z
  store<u8>(out + 4, QUOTE);
  return out + 5;
}
