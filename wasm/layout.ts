/**
 * The chat-lines module's memory (wasm/chat-lines.ts): where each region is, fixed at start and
 * never grown, so JavaScript's views of it stay valid; and the answers its builders give.
 */
// The small tables first, on few pages, then the envelope, the line and the body: an exchange
// touches as few pages as it can. Below TABLES_AT: AssemblyScript's own data (its strings).
export const TABLES_AT: i32 = 4096;
/** Most members taken here (4 offsets each); more take the JavaScript path. */
export const MEMBERS_MAX: i32 = 256;
export const MEMBERS_AT: i32 = TABLES_AT;
export const RUNS_AT: i32 = MEMBERS_AT + MEMBERS_MAX * 16;
/** Keys the memo did not know, as (offset, length) pairs: for JavaScript to classify. */
export const UNKNOWN_AT: i32 = RUNS_AT + MEMBERS_MAX * 8;
/** Values the response walk notes (response-line.ts). */
export const SLOT_COUNT: i32 = 17;
/** Where the response walk noted each value (start, end; -1 when absent), by slot. */
export const NOTED_AT: i32 = UNKNOWN_AT + MEMBERS_MAX * 8;
export const SLOTS_AT: i32 = NOTED_AT + 256;
/** Field memo: open addressing, SLOTS slots (16 bytes: hash, key offset, length, class + 1). */
export const SLOTS: i32 = 1024;
/** At most this many keys are remembered; then the memo starts again (as isOtherField's). */
export const KEYS_MAX: i32 = 512;
export const KEY_MAX: i32 = 64;
export const KEY_BYTES_AT: i32 = SLOTS_AT + SLOTS * 16;
export const KEY_BYTES_END: i32 = KEY_BYTES_AT + KEYS_MAX * KEY_MAX;
/** The usage's token counts read as numbers (f64 by slot; NaN: JavaScript reads the text). */
export const COUNTS_AT: i32 = KEY_BYTES_END;
/** The last reply's `model` (its JSON text), so JavaScript can reuse the string it decoded. */
export const MODEL_AT: i32 = COUNTS_AT + SLOT_COUNT * 8;
export const MODEL_MAX: i32 = 256;
/** The constant texts of the lines (write.ts, constant), written when the module starts. */
export const TEXTS_AT: i32 = MODEL_AT + MODEL_MAX;
export const TEXTS_END: i32 = TEXTS_AT + 512;
export const TABLES_END: i32 = TEXTS_END;
// What JavaScript writes of a record's envelope, each when it changes: the uid as JSON text, or
// its start (see write.ts, putUidAndTime), the time up to the second (`2025-01-31T12:00:00.`) and
// `,"ip":…,"route":…`. The module writes the rest of the envelope itself.
export const ENV_AT: i32 = 64 * 1024;
export const UID_AT: i32 = ENV_AT;
export const UID_MAX: i32 = 1024;
export const SECOND_AT: i32 = UID_AT + UID_MAX;
export const SECOND_LENGTH: i32 = 20;
export const PLACE_AT: i32 = SECOND_AT + 64;
export const ENV_MAX: i32 = 16 * 1024;
export const PLACE_MAX: i32 = ENV_AT + ENV_MAX - PLACE_AT;
/**
 * The outbox: lines are written one after the other from OUT_AT, each ending in `\n`, until
 * JavaScript takes them (src/core/chat-lines-wasm.ts).
 */
export const OUT_AT: i32 = ENV_AT + ENV_MAX;
/** Largest body taken here; larger ones take the JavaScript path. */
export const IN_MAX: i32 = 1 << 20;
/**
 * The most a line and its newline may need beyond its body's length: the envelope, and fewer than
 * 128 bytes of the line's own (a response line's values are parts of its body).
 */
export const LINE_MARGIN: i32 = ENV_MAX + 128;
/** The outbox holds at least the line of the largest body. */
export const OUT_END: i32 = OUT_AT + LINE_MARGIN + IN_MAX;
/** After the outbox, room for what a short copy writes past the end of a line (write.ts, put). */
export const IN_AT: i32 = OUT_END + 16;
/** After the body: the sentinel, and room for a 16-byte load at its end. */
export const IN_END: i32 = IN_AT + IN_MAX + 64;

export const DECLINE: i32 = -1;
export const UNKNOWN_KEY: i32 = -2;
/** Deeper nesting is declined, as json-scan.ts's MAX_DEPTH. */
export const MAX_DEPTH: i32 = 64;

/** A record field JavaScript has as `null` (i32's lowest value, never a status or a duration). */
export const NULL: i32 = i32.MIN_VALUE;
