/**
 * The chat-lines module's field memo (wasm/chat-lines.ts): which request fields the line copies,
 * by their key's bytes. The leading fields are known here; every other key is classified once by
 * JavaScript (isOtherField) and remembered, up to KEYS_MAX keys, then the memo starts over.
 */
import { KEY_BYTES_AT, KEY_MAX, KEYS_MAX, SLOTS, SLOTS_AT } from './layout';
import { hashBytes, sameBytes } from './json';

let keyCount: i32 = 0;
let keyBytesEnd: i32 = KEY_BYTES_AT;

// Field classes: leading fields are placed after the envelope; the memo answers the rest.
export const CLASS_OTHER: i32 = 1;
export const CLASS_DROPPED: i32 = 2;
export const CLASS_MODEL: i32 = 3;
export const CLASS_STREAM: i32 = 4;
export const CLASS_MESSAGES: i32 = 5;
export const CLASS_PROMPT: i32 = 6;
export const CLASS_INPUT: i32 = 7;

/** The class of the key whose bytes are [a, a+n), 0 when the memo does not know it. */
export function classOf(a: i32, n: i32): i32 {
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
export function forgetKeys(): void {
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

/** Keys remembered now. */
export function keysKnown(): i32 { return keyCount; }
