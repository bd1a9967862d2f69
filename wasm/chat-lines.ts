/**
 * The chat log's two common lines, built from the bodies' bytes in WebAssembly (AssemblyScript;
 * built by `npm run build:wasm` into wasm/build/chat-lines.wasm, loaded by
 * src/core/chat-lines-wasm.ts):
 * - the request line, the byte-for-byte twin of the copy path of src/core/chat-record-line.ts
 *   (`copiedFields` over json-scan.ts's members): the same strict JSON grammar, the same refusals,
 *   the same line;
 * - the response line of the common one-choice JSON reply, the twin of src/core/chat-raw-reply.ts
 *   read into responseRecordLine.
 * In JavaScript those paths cost the log most of its time per exchange: slicing each key into a
 * string, hashing it for the field memo, concatenating the line and encoding it again. Here the
 * body is validated with 16 bytes at a time inside strings, keys are compared as bytes, and the
 * line is written as bytes. The tests hold each twin to the same bytes. A body with line breaks —
 * pretty-printed, as OpenAI writes its replies — is taken too, which JavaScript leaves to
 * `JSON.parse`: the values that may span lines are copied without whitespace between their tokens,
 * so the line parses to the values the general path writes (the tests check those) — but for
 * number forms, as for a one-line body: `-0` stays `-0`, `1e-400` stays, where the general path
 * writes `0`.
 *
 * Memory is fixed at start (never grown, so JavaScript's views stay valid): the body goes at
 * IN_AT (followed by a 0 byte that no rule accepts, so the scan needs no bounds checks), the parts
 * of the envelope JavaScript has (uid, time up to the second, ip and route) at ENV_AT, and the
 * line comes out at OUT_AT.
 *
 * `requestLine` returns the line's length, or:
 * - DECLINE: the body must take the general path (not such an object, nesting beyond MAX_DEPTH,
 *   a key with an escape, a key starting with a digit, `__proto__`, a duplicate key, too many
 *   members, a key too long for the field memo, a number beyond double range in a pretty-printed
 *   body);
 * - UNKNOWN_KEY: keys the field memo does not know yet are listed at `unknownKeysAt()`
 *   (`unknownKeyCount()` pairs of offset and length, no quotes): JavaScript classifies each
 *   (isOtherField), tells `learnKey`, and asks once more.
 * `responseLine` returns the line's length or DECLINE (see it below).
 * After a line, `sawHighByte()` says whether the body has bytes above 0x7f: JavaScript then checks
 * it is well-formed UTF-8 (node:buffer isUtf8) before it uses the line.
 */

// ---- memory layout ----
// The small tables first, on few pages, then the envelope, the line and the body: an exchange
// touches as few pages as it can. Below TABLES_AT: AssemblyScript's own data (its strings).
const TABLES_AT: i32 = 4096;
/** Most members taken here (4 offsets each); more take the JavaScript path. */
const MEMBERS_MAX: i32 = 256;
const MEMBERS_AT: i32 = TABLES_AT;
const RUNS_AT: i32 = MEMBERS_AT + MEMBERS_MAX * 16;
/** Keys the memo did not know, as (offset, length) pairs: for JavaScript to classify. */
const UNKNOWN_AT: i32 = RUNS_AT + MEMBERS_MAX * 8;
/** Values the response walk notes (see the response line below). */
const SLOT_COUNT: i32 = 17;
/** Where the response walk noted each value (start, end; -1 when absent), by slot. */
const NOTED_AT: i32 = UNKNOWN_AT + MEMBERS_MAX * 8;
const SLOTS_AT: i32 = NOTED_AT + 256;
/** Field memo: open addressing, SLOTS slots (16 bytes: hash, key offset, length, class + 1). */
const SLOTS: i32 = 1024;
/** At most this many keys are remembered; then the memo starts again (as isOtherField's). */
const KEYS_MAX: i32 = 512;
const KEY_MAX: i32 = 64;
const KEY_BYTES_AT: i32 = SLOTS_AT + SLOTS * 16;
const KEY_BYTES_END: i32 = KEY_BYTES_AT + KEYS_MAX * KEY_MAX;
/** The usage's token counts read as numbers (f64 by slot; NaN: JavaScript reads the text). */
const COUNTS_AT: i32 = KEY_BYTES_END;
/** The last reply's `model` (its JSON text), so JavaScript can reuse the string it decoded. */
const MODEL_AT: i32 = COUNTS_AT + SLOT_COUNT * 8;
const MODEL_MAX: i32 = 256;
const TABLES_END: i32 = MODEL_AT + MODEL_MAX;
// What JavaScript writes of a record's envelope: the uid as JSON text (per record), the time up to
// the second (`2025-01-31T12:00:00.`, when the second changes) and `,"ip":…,"route":…` (when they
// change). The module writes the rest of the envelope itself.
const ENV_AT: i32 = 64 * 1024;
const UID_AT: i32 = ENV_AT;
const UID_MAX: i32 = 1024;
const SECOND_AT: i32 = UID_AT + UID_MAX;
const SECOND_LENGTH: i32 = 20;
const PLACE_AT: i32 = SECOND_AT + 64;
const ENV_MAX: i32 = 16 * 1024;
const PLACE_MAX: i32 = ENV_AT + ENV_MAX - PLACE_AT;
const OUT_AT: i32 = ENV_AT + ENV_MAX;
/** Largest body taken here; larger ones take the JavaScript path. */
const IN_MAX: i32 = 1 << 20;
/** A line holds the envelope, the body's members and fewer than 64 bytes of its own. */
const OUT_MAX: i32 = ENV_MAX + IN_MAX + 64;
const IN_AT: i32 = OUT_AT + OUT_MAX;
/** After the body: the sentinel, and room for a 16-byte load at its end. */
const IN_END: i32 = IN_AT + IN_MAX + 64;

const DECLINE: i32 = -1;
const UNKNOWN_KEY: i32 = -2;
/** Deeper nesting is declined, as json-scan.ts's MAX_DEPTH. */
const MAX_DEPTH: i32 = 64;

// ---- bytes ----
const QUOTE: i32 = 0x22;
const BACKSLASH: i32 = 0x5c;
const OPEN_BRACE: i32 = 0x7b;
const CLOSE_BRACE: i32 = 0x7d;
const OPEN_BRACKET: i32 = 0x5b;
const CLOSE_BRACKET: i32 = 0x5d;
const COMMA: i32 = 0x2c;
const COLON: i32 = 0x3a;
const MINUS: i32 = 0x2d;
const PLUS: i32 = 0x2b;
const DOT: i32 = 0x2e;
const ZERO: i32 = 0x30;
const NINE: i32 = 0x39;

let highByte: bool = false;
/** Set by every escape a string holds: cleared before a key to tell whether it had one. */
let sawEscape: bool = false;
let hugeNumber: bool = false;
const MAX_MAGNITUDE: i32 = 308;
const EXPONENT_CAP: i32 = 1_000_000;
let members: i32 = 0;
let unknownKeys: i32 = 0;
let keyCount: i32 = 0;
let keyBytesEnd: i32 = KEY_BYTES_AT;

export function inputAt(): i32 { return IN_AT; }
export function inputMax(): i32 { return IN_MAX; }
export function envelopeAt(): i32 { return ENV_AT; }
export function uidAt(): i32 { return UID_AT; }
export function uidMax(): i32 { return UID_MAX; }
export function secondAt(): i32 { return SECOND_AT; }
export function placeAt(): i32 { return PLACE_AT; }
export function placeMax(): i32 { return PLACE_MAX; }

/** The length of `,"ip":…,"route":…` JavaScript wrote at PLACE_AT. */
let placeLength: i32 = 0;
export function setPlace(length: i32): void { placeLength = length; }

/** A record field JavaScript has as `null` (i32's lowest value, never a status or a duration). */
const NULL: i32 = i32.MIN_VALUE;
export function outputAt(): i32 { return OUT_AT; }
/** Where this module's own data ends (its strings): below TABLES_AT. */
export function dataEnd(): i32 { return <i32>__heap_base; }
export function tablesAt(): i32 { return TABLES_AT; }
export function tablesEnd(): i32 { return TABLES_END; }
/** Just past the memory this module uses: the memory must be at least this large. */
export function layoutEnd(): i32 { return IN_END; }
export function sawHighByte(): bool { return highByte; }
/** Where the last UNKNOWN_KEY answer listed its keys: (offset, length) pairs of i32. */
export function unknownKeysAt(): i32 { return UNKNOWN_AT; }
/** How many keys it listed. */
export function unknownKeyCount(): i32 { return unknownKeys; }

@inline function at(i: i32): i32 { return <i32>load<u8>(i); }
@inline function isDigit(c: i32): bool { return <u32>(c - ZERO) <= 9; }
@inline function isHex(c: i32): bool { const lower = c | 0x20; return isDigit(c) || <u32>(lower - 0x61) <= 5; }

/** Past whitespace (a pretty-printed body's line breaks too: see `multiline`). */
@inline function space(i: i32): i32 {
  let c = at(i);
  while (c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d) c = at(++i);
  return i;
}

/** Just past the string whose opening quote is at `i`, or -1. Bytes above 0x7f pass (checked later). */
function stringEnd(i: i32): i32 {
  i++;
  const quote = i8x16.splat(<i8>QUOTE);
  const backslash = i8x16.splat(<i8>BACKSLASH);
  const control = i8x16.splat(0x20);
  while (true) {
    // 16 bytes at a time up to the first quote, backslash or control byte (the sentinel is one).
    let mask = 0;
    while (true) {
      const v = v128.load(i);
      mask = i8x16.bitmask(v128.or(v128.or(i8x16.eq(v, quote), i8x16.eq(v, backslash)), i8x16.lt_u(v, control)));
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
function numberEnd(i: i32): i32 {
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

function valueEnd(i: i32, depth: i32): i32 {
  const c = at(i);
  if (c == QUOTE) return stringEnd(i);
  if (c == OPEN_BRACE) return depth >= MAX_DEPTH ? -1 : objectEnd(i, depth + 1, LEVEL_PLAIN);
  if (c == OPEN_BRACKET) return depth >= MAX_DEPTH ? -1 : arrayEnd(i, depth + 1);
  // Little-endian words: "true", "alse" (after the f), "null".
  if (c == 0x74) return load<u32>(i) == 0x65757274 ? i + 4 : -1;
  if (c == 0x66) return load<u32>(i + 1) == 0x65736c61 ? i + 5 : -1;
  if (c == 0x6e) return load<u32>(i) == 0x6c6c756e ? i + 4 : -1;
  return numberEnd(i);
}

// What objectEnd notes: nothing; every member's offsets (the request line's); or, at the levels of
// the response walk (LEVEL_TOP and on, below), the values of that level's keys.
const LEVEL_PLAIN: i32 = -1;
const LEVEL_REQUEST: i32 = -2;

/**
 * Just past the object opening at `open` at `depth`, or -1: invalid, or not the case covered — a
 * key with an escape where keys matter (it could spell a name the checks would not see), too many
 * members, a walked key written twice. `level` says what it notes (see above).
 */
function objectEnd(open: i32, depth: i32, level: i32): i32 {
  let i = space(open + 1);
  if (at(i) == CLOSE_BRACE) return i + 1;
  while (true) {
    if (at(i) != QUOTE) return -1;
    sawEscape = false;
    const keyEnd = stringEnd(i);
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

function arrayEnd(open: i32, depth: i32): i32 {
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

/** True when bytes [a, a+n) equal [b, b+n). */
function sameBytes(a: i32, b: i32, n: i32): bool {
  while (n >= 8) {
    if (load<u64>(a) != load<u64>(b)) return false;
    a += 8; b += 8; n -= 8;
  }
  while (n > 0) {
    if (load<u8>(a) != load<u8>(b)) return false;
    a++; b++; n--;
  }
  return true;
}

/** FNV-1a of bytes [a, a+n). */
function hashBytes(a: i32, n: i32): u32 {
  let h: u32 = 0x811c9dc5;
  for (let k = 0; k < n; k++) h = (h ^ load<u8>(a + k)) * 0x01000193;
  return h;
}

// Field classes: leading fields are placed after the envelope; the memo answers the rest.
const CLASS_OTHER: i32 = 1;
const CLASS_DROPPED: i32 = 2;
const CLASS_MODEL: i32 = 3;
const CLASS_STREAM: i32 = 4;
const CLASS_MESSAGES: i32 = 5;
const CLASS_PROMPT: i32 = 6;
const CLASS_INPUT: i32 = 7;

/** The class of the key whose bytes are [a, a+n), 0 when the memo does not know it. */
function classOf(a: i32, n: i32): i32 {
  // "model", "input"; "stream", "prompt"; "messages" (little-endian words).
  if (n == 5) {
    const w = load<u32>(a);
    const last = load<u8>(a + 4);
    if (w == 0x65646f6d && last == 0x6c) return CLASS_MODEL;
    if (w == 0x75706e69 && last == 0x74) return CLASS_INPUT;
  } else if (n == 6) {
    const w = load<u32>(a);
    const tail = load<u16>(a + 4);
    if (w == 0x65727473 && tail == 0x6d61) return CLASS_STREAM;
    if (w == 0x6d6f7270 && tail == 0x7470) return CLASS_PROMPT;
  } else if (n == 8) {
    if (load<u32>(a) == 0x7373656d && load<u32>(a + 4) == 0x73656761) return CLASS_MESSAGES;
  }
  if (n > KEY_MAX) return -1;
  const h = hashBytes(a, n);
  let slot = <i32>(h & <u32>(SLOTS - 1));
  while (true) {
    const s = SLOTS_AT + (slot << 4);
    const cls = load<i32>(s, 12);
    if (cls == 0) return 0;
    if (load<u32>(s) == h && load<i32>(s, 8) == n && sameBytes(load<i32>(s, 4), a, n)) return cls - 1;
    slot = (slot + 1) & (SLOTS - 1);
  }
  return 0;
}

/** Empties the field memo: the keys clients send change, so it starts over rather than grow. */
function forgetKeys(): void {
  memory.fill(SLOTS_AT, 0, SLOTS << 4);
  keyCount = 0;
  keyBytesEnd = KEY_BYTES_AT;
}

/** Remembers the key at [a, a+n) as copied (`other` 1) or dropped (0): JavaScript's answer. */
export function learnKey(a: i32, n: i32, other: i32): void {
  if (n > KEY_MAX) return;
  if (keyCount == KEYS_MAX) forgetKeys();
  const h = hashBytes(a, n);
  let slot = <i32>(h & <u32>(SLOTS - 1));
  while (load<i32>(SLOTS_AT + (slot << 4), 12) != 0) slot = (slot + 1) & (SLOTS - 1);
  const s = SLOTS_AT + (slot << 4);
  memory.copy(keyBytesEnd, a, n);
  store<u32>(s, h);
  store<i32>(s, keyBytesEnd, 4);
  store<i32>(s, n, 8);
  store<i32>(s, (other != 0 ? CLASS_OTHER : CLASS_DROPPED) + 1, 12);
  keyBytesEnd += n;
  keyCount++;
}

/**
 * Whether the body has a byte above 0x7f (then JavaScript checks its UTF-8) and whether it has a
 * line break — in valid JSON only whitespace between tokens, which a line may not hold: then the
 * values that can span lines are copied without their whitespace (putValue).
 */
let multiline: bool = false;

/** Sets highByte and multiline for the bytes [a, a+n) (the value; only whitespace follows it), 16 at a time. */
function noteBody(a: i32, n: i32): void {
  const end = a + n;
  let seen = i8x16.splat(0);
  let breaks = i8x16.splat(0);
  const lineFeed = i8x16.splat(0x0a);
  const carriageReturn = i8x16.splat(0x0d);
  while (a + 16 <= end) {
    const v = v128.load(a);
    seen = v128.or(seen, v);
    breaks = v128.or(breaks, v128.or(i8x16.eq(v, lineFeed), i8x16.eq(v, carriageReturn)));
    a += 16;
  }
  highByte = i8x16.bitmask(seen) != 0;
  multiline = i8x16.bitmask(breaks) != 0;
  for (; a < end; a++) {
    const c = at(a);
    if (c >= 0x80) highByte = true;
    else if (c == 0x0a || c == 0x0d) multiline = true;
  }
}

/** Appends the valid JSON text [a, b) without whitespace between its tokens. */
function putMinified(out: i32, a: i32, b: i32): i32 {
  let i = a;
  while (i < b) {
    const c = at(i);
    if (c == QUOTE) {
      const end = stringEnd(i);
      out = put(out, i, end);
      i = end;
    } else {
      if (c != 0x20 && c != 0x09 && c != 0x0a && c != 0x0d) store<u8>(out++, c);
      i++;
    }
  }
  return out;
}

/** Appends the JSON text [a, b) of the body: as written, or without whitespace when it spans lines. */
@inline function putValue(out: i32, a: i32, b: i32): i32 {
  return multiline ? putMinified(out, a, b) : put(out, a, b);
}

/** Appends [a, b) at `out`; returns the new end. */
@inline function put(out: i32, a: i32, b: i32): i32 {
  memory.copy(out, a, b - a);
  return out + (b - a);
}

@inline function putByte(out: i32, c: i32): i32 {
  store<u8>(out, c);
  return out + 1;
}

/** Writes `value` as JavaScript's `${value}` does, or `null` for NULL. */
function putInt(out: i32, value: i32): i32 {
  if (value == NULL) return putAscii(out, "null");
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

/** Writes `"uid":…,"time":"…"` (no leading comma): the uid JavaScript wrote, its second, `millis`. */
function putUidAndTime(out: i32, uidLength: i32, millis: i32): i32 {
  out = putAscii(out, '"uid":');
  out = put(out, UID_AT, UID_AT + uidLength);
  out = putAscii(out, ',"time":"');
  out = put(out, SECOND_AT, SECOND_AT + SECOND_LENGTH);
  store<u8>(out, ZERO + millis / 100);
  store<u8>(out + 1, ZERO + (millis / 10) % 10);
  store<u8>(out + 2, ZERO + millis % 10);
  store<u8>(out + 3, 0x5a); // Z
  store<u8>(out + 4, QUOTE);
  return out + 5;
}

/**
 * The request line for the body of `length` bytes at IN_AT, of the uid of `uidLength` bytes at
 * UID_AT, stamped `millis` past the second at SECOND_AT, written at OUT_AT: its length, DECLINE
 * or UNKNOWN_KEY (see the file comment).
 */
export function requestLine(length: i32, uidLength: i32, millis: i32): i32 {
  if (length > IN_MAX || uidLength > UID_MAX) return DECLINE;
  const end = IN_AT + length;
  store<u8>(end, 0);
  members = 0;
  hugeNumber = false;
  const open = space(IN_AT);
  if (at(open) != OPEN_BRACE) return DECLINE;
  const close = objectEnd(open, 1, LEVEL_REQUEST);
  if (close == -1) return DECLINE;
  for (let i = close; i < end; i++) {
    const c = at(i);
    if (c != 0x20 && c != 0x09 && c != 0x0a && c != 0x0d) return DECLINE;
  }
  // Keys: refusals, classes and duplicates, before anything is written.
  let model = -1;
  let stream = -1;
  let messages = -1;
  let prompt = -1;
  let input = -1;
  let runs = 0;
  let runStart = -1;
  let runEnd = -1;
  unknownKeys = 0;
  for (let k = 0; k < members; k++) {
    const m = MEMBERS_AT + (k << 4);
    const keyAt = load<i32>(m) + 1;
    const keyLength = load<i32>(m, 4) - 1 - keyAt;
    if (keyLength > 0 && isDigit(at(keyAt))) return DECLINE;
    // "__proto__" (JavaScript would set the record's prototype)
    if (keyLength == 9 && load<u64>(keyAt) == 0x5f6f746f72705f5f && at(keyAt + 8) == 0x5f) return DECLINE;
    for (let j = 0; j < k; j++) {
      const o = MEMBERS_AT + (j << 4);
      const otherAt = load<i32>(o) + 1;
      if (load<i32>(o, 4) - 1 - otherAt == keyLength && sameBytes(otherAt, keyAt, keyLength)) return DECLINE;
    }
    const cls = classOf(keyAt, keyLength);
    if (cls < 0) return DECLINE;
    if (cls == 0) {
      store<i32>(UNKNOWN_AT + (unknownKeys << 3), keyAt);
      store<i32>(UNKNOWN_AT + (unknownKeys << 3), keyLength, 4);
      unknownKeys++;
      continue;
    }
    if (cls == CLASS_OTHER) {
      if (runStart == -1) runStart = load<i32>(m);
      runEnd = load<i32>(m, 12);
      continue;
    }
    if (runStart != -1) {
      store<i32>(RUNS_AT + (runs << 3), runStart);
      store<i32>(RUNS_AT + (runs << 3), runEnd, 4);
      runs++;
      runStart = -1;
    }
    if (cls == CLASS_MODEL) model = m;
    else if (cls == CLASS_STREAM) stream = m;
    else if (cls == CLASS_MESSAGES) messages = m;
    else if (cls == CLASS_PROMPT) prompt = m;
    else if (cls == CLASS_INPUT) input = m;
  }
  if (unknownKeys > 0) {
    if (keyCount + unknownKeys > KEYS_MAX) {
      // No room for them all: the memo starts over, so every key of this body is to learn again.
      forgetKeys();
      unknownKeys = 0;
      for (let k = 0; k < members; k++) {
        const m = MEMBERS_AT + (k << 4);
        const keyAt = load<i32>(m) + 1;
        const keyLength = load<i32>(m, 4) - 1 - keyAt;
        if (classOf(keyAt, keyLength) == 0) {
          store<i32>(UNKNOWN_AT + (unknownKeys << 3), keyAt);
          store<i32>(UNKNOWN_AT + (unknownKeys << 3), keyLength, 4);
          unknownKeys++;
        }
      }
    }
    return UNKNOWN_KEY;
  }
  if (runStart != -1) {
    store<i32>(RUNS_AT + (runs << 3), runStart);
    store<i32>(RUNS_AT + (runs << 3), runEnd, 4);
    runs++;
  }
  noteBody(IN_AT, close - IN_AT);
  // A pretty-printed body is written anew by JavaScript, `null` for such a number: decline it.
  if (multiline && hugeNumber) return DECLINE;

  let out = putAscii(OUT_AT, '{"type":"request",');
  out = putUidAndTime(out, uidLength, millis);
  out = put(out, PLACE_AT, PLACE_AT + placeLength);
  // ,"model":
  store<u64>(out, 0x226c65646f6d222c);
  store<u8>(out + 8, COLON);
  out += 9;
  if (model != -1 && at(load<i32>(model, 8)) == QUOTE) {
    out = put(out, load<i32>(model, 8), load<i32>(model, 12));
  } else {
    store<u32>(out, 0x6c6c756e);
    out += 4;
  }
  // ,"stream":
  store<u64>(out, 0x6d6165727473222c);
  store<u16>(out + 8, 0x3a22);
  out += 10;
  const streamAt = stream == -1 ? -1 : load<i32>(stream, 8);
  if (streamAt != -1 && load<i32>(stream, 12) - streamAt == 4 && load<u32>(streamAt) == 0x65757274) {
    store<u32>(out, 0x65757274);
    out += 4;
  } else {
    store<u32>(out, 0x736c6166);
    store<u8>(out + 4, 0x65);
    out += 5;
  }
  if (messages != -1) out = putValue(putByte(out, COMMA), load<i32>(messages), load<i32>(messages, 12));
  if (prompt != -1) out = putValue(putByte(out, COMMA), load<i32>(prompt), load<i32>(prompt, 12));
  if (input != -1) out = putValue(putByte(out, COMMA), load<i32>(input), load<i32>(input, 12));
  for (let r = 0; r < runs; r++) out = putValue(putByte(out, COMMA), load<i32>(RUNS_AT + (r << 3)), load<i32>(RUNS_AT + (r << 3), 4));
  out = putByte(out, CLOSE_BRACE);
  return out - OUT_AT;
}

// ---- the response line ----
//
// The common non-stream reply, as src/core/chat-raw-reply.ts reads it: one walk validates the
// body and notes where the values the record needs are; the line copies them as written. It
// declines what rawReply declines (see that file) but line breaks, which it takes as said above.

// Slots of the noted values: the same numbering as chat-raw-reply.ts.
const TOP_CHOICES: i32 = 0;
const TOP_USAGE: i32 = 1;
const TOP_MODEL: i32 = 2;
const TOP_ERROR: i32 = 3;
const CHOICE_MESSAGE: i32 = 4;
const CHOICE_DELTA: i32 = 5;
const CHOICE_TEXT: i32 = 6;
const CHOICE_FINISH: i32 = 7;
const MESSAGE_CONTENT: i32 = 8;
const MESSAGE_TOOL_CALLS: i32 = 9;
const MESSAGE_FUNCTION_CALL: i32 = 10;
const MESSAGE_REASONING_CONTENT: i32 = 11;
const MESSAGE_REASONING: i32 = 12;
// USAGE_PROMPT 13, USAGE_COMPLETION 14, USAGE_INPUT 15, USAGE_OUTPUT 16: read by JavaScript.

// The levels walked, and the keys noted at each.
const LEVEL_TOP: i32 = 0;
const LEVEL_CHOICE: i32 = 1;
const LEVEL_MESSAGE: i32 = 2;
const LEVEL_USAGE: i32 = 3;

/** True when the `n` bytes at `a` spell `name` (ASCII). */
function spells(a: i32, n: i32, name: string): bool {
  if (n != name.length) return false;
  for (let k = 0; k < n; k++) if (<i32>load<u8>(a + k) != <i32>name.charCodeAt(k)) return false;
  return true;
}

/** The slot of the key whose quotes are at `start` and `end - 1` at `level`, or -1. */
function slotOf(level: i32, start: i32, end: i32): i32 {
  const a = start + 1;
  const n = end - start - 2;
  if (level == LEVEL_TOP) {
    if (spells(a, n, "choices")) return TOP_CHOICES;
    if (spells(a, n, "usage")) return TOP_USAGE;
    if (spells(a, n, "model")) return TOP_MODEL;
    if (spells(a, n, "error")) return TOP_ERROR;
  } else if (level == LEVEL_CHOICE) {
    if (spells(a, n, "message")) return CHOICE_MESSAGE;
    if (spells(a, n, "delta")) return CHOICE_DELTA;
    if (spells(a, n, "text")) return CHOICE_TEXT;
    if (spells(a, n, "finish_reason")) return CHOICE_FINISH;
  } else if (level == LEVEL_MESSAGE) {
    if (spells(a, n, "content")) return MESSAGE_CONTENT;
    if (spells(a, n, "tool_calls")) return MESSAGE_TOOL_CALLS;
    if (spells(a, n, "function_call")) return MESSAGE_FUNCTION_CALL;
    if (spells(a, n, "reasoning_content")) return MESSAGE_REASONING_CONTENT;
    if (spells(a, n, "reasoning")) return MESSAGE_REASONING;
  } else {
    if (spells(a, n, "prompt_tokens")) return 13;
    if (spells(a, n, "completion_tokens")) return 14;
    if (spells(a, n, "input_tokens")) return 15;
    if (spells(a, n, "output_tokens")) return 16;
  }
  return -1;
}

@inline function notedStart(slot: i32): i32 { return load<i32>(NOTED_AT + (slot << 3)); }
@inline function notedEnd(slot: i32): i32 { return load<i32>(NOTED_AT + (slot << 3), 4); }
/** The first byte of the noted value of `slot`, 0 when absent. */
@inline function kindOf(slot: i32): i32 { const start = notedStart(slot); return start == -1 ? 0 : at(start); }

/**
 * The value at `start` of the key whose quotes are at `keyStart` and `keyEnd - 1` in an object at
 * `level` of the response walk, at `depth`: notes it when the key is one of the level's, walks into
 * the objects and arrays that have a walker, and answers just past it, or -1.
 */
function walkedValue(level: i32, keyStart: i32, keyEnd: i32, start: i32, depth: i32): i32 {
  const slot = slotOf(level, keyStart, keyEnd);
  const c = at(start);
  const container = c == OPEN_BRACE || c == OPEN_BRACKET;
  let end: i32;
  if (container && slot == TOP_CHOICES) end = walkChoices(start, depth);
  else if (container && slot == TOP_USAGE) end = c == OPEN_BRACE ? objectEnd(start, depth + 1, LEVEL_USAGE) : valueEnd(start, depth);
  else if (container && slot == CHOICE_MESSAGE) end = c == OPEN_BRACE ? objectEnd(start, depth + 1, LEVEL_MESSAGE) : valueEnd(start, depth);
  else end = valueEnd(start, depth);
  if (end == -1 || slot == -1) return end;
  // A key written twice: `JSON.parse` keeps the last; the general path does that.
  if (notedStart(slot) != -1) return -1;
  store<i32>(NOTED_AT + (slot << 3), start);
  store<i32>(NOTED_AT + (slot << 3), end, 4);
  return end;
}

/** The `choices` array at `open`: its one element walked as a choice; more than one is declined. */
function walkChoices(open: i32, depth: i32): i32 {
  if (at(open) != OPEN_BRACKET) return valueEnd(open, depth);
  const first = space(open + 1);
  if (at(first) == CLOSE_BRACKET) return first + 1;
  const end = at(first) == OPEN_BRACE ? objectEnd(first, depth + 2, LEVEL_CHOICE) : valueEnd(first, depth + 1);
  if (end < 0) return -1;
  const close = space(end);
  return at(close) == CLOSE_BRACKET ? close + 1 : -1;
}

/** Writes the ASCII `text` at `out`; returns the new end. */
function putAscii(out: i32, text: string): i32 {
  const n = text.length;
  for (let k = 0; k < n; k++) store<u8>(out + k, <u8>text.charCodeAt(k));
  return out + n;
}

/** Writes the noted value of `slot`, or `null`. */
@inline function putValueOrNull(out: i32, slot: i32, present: bool): i32 {
  return present ? put(out, notedStart(slot), notedEnd(slot)) : putAscii(out, "null");
}

/** As the assemblers record a text: the value of `slot` when it is a non-empty string, else null. */
function putText(out: i32, slot: i32): i32 {
  return putValueOrNull(out, slot, kindOf(slot) == QUOTE && notedEnd(slot) - notedStart(slot) > 2);
}

/** Where the response walk noted its values (JavaScript reads the usage's, for the metrics). */
export function notedAt(): i32 { return NOTED_AT; }
/** How many values it notes: JavaScript checks its numbering is the same. */
export function slotCount(): i32 { return SLOT_COUNT; }
/** Where the usage's token counts are, as numbers (see noteUsage). */
export function countsAt(): i32 { return COUNTS_AT; }

/** Bytes of the model text at MODEL_AT (-1: none), and how many times it changed. */
let modelLength: i32 = -1;
let modelChanges: i32 = 0;
/** The last reply's model: a number that stays the same while its text does, -1 when not kept. */
let modelKey: i32 = -1;
export function lastModelKey(): i32 { return modelKey; }

/**
 * For the metrics (JavaScript's responseUsage): reads the usage's token counts that are plain
 * integers of up to 15 digits (exact as doubles) into COUNTS_AT, NaN for any other, and keeps the
 * model's text: while it is the same, JavaScript reuses the string it decoded before.
 */
function noteUsage(): void {
  for (let slot = MESSAGE_REASONING + 1; slot < SLOT_COUNT; slot++) {
    const start = notedStart(slot);
    const end = notedEnd(slot);
    let value: f64 = NaN;
    if (start != -1 && end - start <= 15) {
      let n: i64 = 0;
      let i = start;
      while (i < end && isDigit(at(i))) n = n * 10 + <i64>(at(i++) - ZERO);
      if (i == end) value = <f64>n;
    }
    store<f64>(COUNTS_AT + (slot << 3), value);
  }
  modelKey = -1;
  if (kindOf(TOP_MODEL) != QUOTE) return;
  const start = notedStart(TOP_MODEL);
  const length = notedEnd(TOP_MODEL) - start;
  if (length > MODEL_MAX) return;
  if (length != modelLength || !sameBytes(MODEL_AT, start, length)) {
    memory.copy(MODEL_AT, start, length);
    modelLength = length;
    modelChanges++;
  }
  modelKey = modelChanges;
}

/**
 * The response line for the reply of `length` bytes at IN_AT — of the chat API (`completions` 0)
 * or the completions API (1) — of the uid of `uidLength` bytes at UID_AT, stamped `millis` past
 * the second at SECOND_AT, with `status`, `ttft` and `duration` (NULL: `null`), written at
 * OUT_AT: its length, or DECLINE.
 */
export function responseLine(length: i32, completions: i32, uidLength: i32, millis: i32, status: i32, ttft: i32, duration: i32): i32 {
  if (length > IN_MAX || uidLength > UID_MAX) return DECLINE;
  store<u8>(IN_AT + length, 0);
  memory.fill(NOTED_AT, 0xff, SLOT_COUNT << 3);
  hugeNumber = false;
  const open = space(IN_AT);
  if (at(open) != OPEN_BRACE) return DECLINE;
  const close = objectEnd(open, 1, LEVEL_TOP);
  if (close == -1 || hugeNumber) return DECLINE;
  for (let i = close; i < IN_AT + length; i++) {
    const c = at(i);
    if (c != 0x20 && c != 0x09 && c != 0x0a && c != 0x0d) return DECLINE;
  }
  // A chat choice's `delta` object, content as parts, tool calls, a function call: the general path.
  if (completions == 0 && (kindOf(CHOICE_DELTA) == OPEN_BRACE || kindOf(MESSAGE_CONTENT) == OPEN_BRACKET || kindOf(MESSAGE_TOOL_CALLS) == OPEN_BRACKET || kindOf(MESSAGE_FUNCTION_CALL) == OPEN_BRACE)) {
    return DECLINE;
  }
  noteBody(IN_AT, close - IN_AT);

  let out = putAscii(OUT_AT, '{"type":"response",');
  out = putUidAndTime(out, uidLength, millis);
  out = putInt(putAscii(out, ',"status":'), status);
  out = putAscii(out, ',"assistant":');
  out = putText(out, completions != 0 ? CHOICE_TEXT : MESSAGE_CONTENT);
  out = putAscii(out, ',"tool_calls":null,"reasoning":');
  if (completions != 0) out = putAscii(out, "null");
  // As applyMessage: `reasoning_content` (DeepSeek, vLLM) wins over `reasoning` (OpenRouter).
  else out = putText(out, kindOf(MESSAGE_REASONING_CONTENT) == QUOTE ? MESSAGE_REASONING_CONTENT : MESSAGE_REASONING);
  out = putAscii(out, ',"finish_reason":');
  out = putValueOrNull(out, CHOICE_FINISH, kindOf(CHOICE_FINISH) == QUOTE);
  out = putAscii(out, ',"usage":');
  if (kindOf(TOP_USAGE) == OPEN_BRACE) out = putValue(out, notedStart(TOP_USAGE), notedEnd(TOP_USAGE));
  else out = putAscii(out, "null");
  out = putInt(putAscii(out, ',"ttft_ms":'), ttft);
  out = putInt(putAscii(out, ',"duration_ms":'), duration);
  // `null` is the only value that starts with `n`: an error of `null` is no error.
  const error = kindOf(TOP_ERROR);
  if (error != 0 && error != 0x6e) out = putValue(putAscii(out, ',"error":'), notedStart(TOP_ERROR), notedEnd(TOP_ERROR));
  out = putByte(out, CLOSE_BRACE);
  if (kindOf(TOP_USAGE) == OPEN_BRACE) noteUsage();
  return out - OUT_AT;
}
