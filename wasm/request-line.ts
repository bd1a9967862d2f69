/**
 * The request line (wasm/chat-lines.ts): the byte-for-byte twin of the copy path of
 * src/core/chat-record-line.ts — the envelope, `model`, `stream`, the conversation, then the other
 * fields in body order, each member copied as written (a pretty-printed body's without whitespace).
 */
import { DECLINE, IN_AT, IN_MAX, KEYS_MAX, LINE_MARGIN, MEMBERS_AT, OUT_AT, OUT_END, RUNS_AT, UNKNOWN_AT, UNKNOWN_KEY } from './layout';
import { at, beginScan, CLOSE_BRACE, COLON, COMMA, NEWLINE, hugeNumber, isDigit, LEVEL_REQUEST, members, multiline, objectEnd, OPEN_BRACE, QUOTE, sameBytes, space } from './json';
import { CLASS_INPUT, CLASS_MESSAGES, CLASS_MODEL, CLASS_OTHER, CLASS_PROMPT, CLASS_STREAM, classOf, forgetKeys, keysKnown } from './field-memo';
import { constant, put, putByte, putConstant, putPlace, putUidAndTime, putValue } from './write';

const REQUEST_START = constant('{"type":"request",');

/** Keys the last answer listed as unknown, at UNKNOWN_AT. */
let unknownKeys: i32 = 0;
export function unknownKeyCount(): i32 { return unknownKeys; }

/**
 * The request line for the body of `length` bytes at IN_AT, of the uid at UID_AT that `uidLow`
 * ends (write.ts, putUidAndTime), stamped `millis` past the second at SECOND_AT, written with its
 * newline at `lineAt` in the outbox: its length with the newline, DECLINE or UNKNOWN_KEY (see
 * chat-lines.ts).
 */
export function requestLine(length: i32, uidLow: i32, millis: i32, lineAt: i32): i32 {
  if (length > IN_MAX || lineAt < OUT_AT || lineAt + LINE_MARGIN + length > OUT_END) return DECLINE;
  const end = IN_AT + length;
  beginScan(length);
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
    // "__proto__": left to the general path, which defines it as a member (chat-record.ts)
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
    if (keysKnown() + unknownKeys > KEYS_MAX) {
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
  // A pretty-printed body is written anew by JavaScript, `null` for such a number: decline it.
  if (multiline && hugeNumber) return DECLINE;

  let out = putConstant(lineAt, REQUEST_START);
  out = putUidAndTime(out, uidLow, millis);
  out = putPlace(out);
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
  out = putByte(putByte(out, CLOSE_BRACE), NEWLINE);
  return out - lineAt;
}
