/**
 * The chat log's request line, built from the body's bytes in WebAssembly (AssemblyScript; built by
 * `npm run build:wasm` into wasm/build/chat-lines.wasm, loaded by src/core/chat-lines-wasm.ts).
 *
 * It is the byte-for-byte twin of the copy path of src/core/chat-record-line.ts (`copiedFields`
 * over json-scan.ts's members): the same strict JSON grammar, the same refusals, the same line. In
 * JavaScript that path cost the log most of its time per exchange: slicing each key into a string,
 * hashing it for the field memo, concatenating the line and encoding it again. Here the body is
 * validated with 16 bytes at a time inside strings, keys are compared as bytes, and the line is
 * written as bytes with `memory.copy`.
 *
 * Memory is fixed at start (never grown, so JavaScript's views stay valid): the body goes at
 * IN_AT (followed by a 0 byte that no rule accepts, so the scan needs no bounds checks), the
 * envelope JavaScript wrote at ENV_AT, the line comes out at OUT_AT.
 *
 * `requestLine` returns the line's length, or:
 * - DECLINE: the body must take the general path (not such an object, a line break before the end,
 *   nesting beyond MAX_DEPTH, a key with an escape, a key starting with a digit, `__proto__`, a
 *   duplicate key, too many members, a key too long for the field memo);
 * - UNKNOWN_KEY: keys the field memo does not know yet are listed at `unknownKeysAt()`
 *   (`unknownKeyCount()` pairs of offset and length, no quotes): JavaScript classifies each
 *   (isOtherField), tells `learnKey`, and asks once more.
 * After a line, `sawHighByte()` says whether the body has bytes above 0x7f: JavaScript then checks
 * it is well-formed UTF-8 (node:buffer isUtf8) before it uses the line.
 */

// ---- memory layout (64 KiB pages) ----
/** Largest body taken here; larger ones take the JavaScript path. */
const IN_MAX: i32 = 1 << 20;
/** Below IN_AT: AssemblyScript's own static data (none used today) and stack. */
const IN_AT: i32 = 64 * 1024;
/** Room for the sentinel and a 16-byte load at the end of the largest body. */
const ENV_AT: i32 = IN_AT + IN_MAX + 64;
/** Largest envelope (`{"type":"request",…,"route":…`). */
const ENV_MAX: i32 = 16 * 1024;
const OUT_AT: i32 = ENV_AT + ENV_MAX;
/** A line holds the envelope, the body's members and fewer than 64 bytes of its own. */
const OUT_MAX: i32 = ENV_MAX + IN_MAX + 64;
const MEMBERS_AT: i32 = OUT_AT + OUT_MAX;
/** Most members taken here (4 offsets each); more take the JavaScript path. */
const MEMBERS_MAX: i32 = 256;
const RUNS_AT: i32 = MEMBERS_AT + MEMBERS_MAX * 16;
/** Keys the memo did not know, as (offset, length) pairs: for JavaScript to classify. */
const UNKNOWN_AT: i32 = RUNS_AT + MEMBERS_MAX * 8;
const SLOTS_AT: i32 = UNKNOWN_AT + MEMBERS_MAX * 8;
/** Field memo: open addressing, SLOTS slots (16 bytes: hash, key offset, length, class + 1). */
const SLOTS: i32 = 1024;
/** At most this many keys are remembered; then the memo starts again (as isOtherField's). */
const KEYS_MAX: i32 = 512;
const KEY_MAX: i32 = 64;
const KEY_BYTES_AT: i32 = SLOTS_AT + SLOTS * 16;
const KEY_BYTES_END: i32 = KEY_BYTES_AT + KEYS_MAX * KEY_MAX;

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
let members: i32 = 0;
let unknownKeys: i32 = 0;
let keyCount: i32 = 0;
let keyBytesEnd: i32 = KEY_BYTES_AT;

export function inputAt(): i32 { return IN_AT; }
export function inputMax(): i32 { return IN_MAX; }
export function envelopeAt(): i32 { return ENV_AT; }
export function envelopeMax(): i32 { return ENV_MAX; }
export function outputAt(): i32 { return OUT_AT; }
/** Just past the memory this module uses: the memory must be at least this large. */
export function layoutEnd(): i32 { return KEY_BYTES_END; }
export function sawHighByte(): bool { return highByte; }
/** Where the last UNKNOWN_KEY answer listed its keys: (offset, length) pairs of i32. */
export function unknownKeysAt(): i32 { return UNKNOWN_AT; }
/** How many keys it listed. */
export function unknownKeyCount(): i32 { return unknownKeys; }

@inline function at(i: i32): i32 { return <i32>load<u8>(i); }
@inline function isDigit(c: i32): bool { return <u32>(c - ZERO) <= 9; }
@inline function isHex(c: i32): bool { const lower = c | 0x20; return isDigit(c) || <u32>(lower - 0x61) <= 5; }

/** Past spaces and tabs. */
@inline function space(i: i32): i32 {
  let c = at(i);
  while (c == 0x20 || c == 0x09) c = at(++i);
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

function numberEnd(i: i32): i32 {
  if (at(i) == MINUS) i++;
  if (at(i) == ZERO) {
    i++;
  } else if (isDigit(at(i))) {
    while (isDigit(at(++i)));
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
    while (isDigit(at(++i)));
  }
  return i;
}

function valueEnd(i: i32, depth: i32): i32 {
  const c = at(i);
  if (c == QUOTE) return stringEnd(i);
  if (c == OPEN_BRACE) return depth >= MAX_DEPTH ? -1 : objectEnd(i, depth + 1, false);
  if (c == OPEN_BRACKET) return depth >= MAX_DEPTH ? -1 : arrayEnd(i, depth + 1);
  // Little-endian words: "true", "alse" (after the f), "null".
  if (c == 0x74) return load<u32>(i) == 0x65757274 ? i + 4 : -1;
  if (c == 0x66) return load<u32>(i + 1) == 0x65736c61 ? i + 5 : -1;
  if (c == 0x6e) return load<u32>(i) == 0x6c6c756e ? i + 4 : -1;
  return numberEnd(i);
}

/** Just past the object opening at `open`, or -1; the top level records its members. */
function objectEnd(open: i32, depth: i32, top: bool): i32 {
  let i = space(open + 1);
  if (at(i) == CLOSE_BRACE) return i + 1;
  while (true) {
    if (at(i) != QUOTE) return -1;
    const keyEnd = stringEnd(i);
    if (keyEnd == -1) return -1;
    const colon = space(keyEnd);
    if (at(colon) != COLON) return -1;
    const start = space(colon + 1);
    const end = valueEnd(start, depth);
    if (end == -1) return -1;
    if (top) {
      if (members == MEMBERS_MAX) return -1;
      const m = MEMBERS_AT + (members << 4);
      store<i32>(m, i);
      store<i32>(m, keyEnd, 4);
      store<i32>(m, start, 8);
      store<i32>(m, end, 12);
      members++;
    }
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

/** True when bytes [a, a+n) hold one above 0x7f. */
function hasHighByte(a: i32, n: i32): bool {
  const end = a + n;
  let seen = i8x16.splat(0);
  while (a + 16 <= end) {
    seen = v128.or(seen, v128.load(a));
    a += 16;
  }
  if (i8x16.bitmask(seen) != 0) return true;
  for (; a < end; a++) if (load<u8>(a) >= 0x80) return true;
  return false;
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

/**
 * The request line for the body of `length` bytes at IN_AT and the envelope of `envelopeLength`
 * bytes at ENV_AT, written at OUT_AT: its length, DECLINE or UNKNOWN_KEY (see the file comment).
 */
export function requestLine(length: i32, envelopeLength: i32): i32 {
  if (length > IN_MAX || envelopeLength > ENV_MAX) return DECLINE;
  const end = IN_AT + length;
  store<u8>(end, 0);
  members = 0;
  const open = space(IN_AT);
  if (at(open) != OPEN_BRACE) return DECLINE;
  const close = objectEnd(open, 1, true);
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
    for (let j = keyAt; j < keyAt + keyLength; j++) if (at(j) == BACKSLASH) return DECLINE;
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
  highByte = hasHighByte(IN_AT, length);

  let out = put(OUT_AT, ENV_AT, ENV_AT + envelopeLength);
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
  if (messages != -1) out = put(putByte(out, COMMA), load<i32>(messages), load<i32>(messages, 12));
  if (prompt != -1) out = put(putByte(out, COMMA), load<i32>(prompt), load<i32>(prompt, 12));
  if (input != -1) out = put(putByte(out, COMMA), load<i32>(input), load<i32>(input, 12));
  for (let r = 0; r < runs; r++) out = put(putByte(out, COMMA), load<i32>(RUNS_AT + (r << 3)), load<i32>(RUNS_AT + (r << 3), 4));
  out = putByte(out, CLOSE_BRACE);
  return out - OUT_AT;
}
