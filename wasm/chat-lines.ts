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
 * This file is the module's face to JavaScript: where its memory regions are (layout.ts), and the
 * builders — the scanner (json.ts), the writers (write.ts), the field memo (field-memo.ts), the
 * request line (request-line.ts) and the response line (response-line.ts). Memory is fixed at
 * start (never grown, so JavaScript's views stay valid): the body goes at IN_AT, the parts of the
 * envelope JavaScript has (the uid or its start, time up to the second, ip and route) at ENV_AT,
 * and the line, with its newline, at the place in the outbox (from OUT_AT) JavaScript gives.
 *
 * `requestLine` returns the length of the line and its newline, or:
 * - DECLINE: the body must take the general path (not such an object, nesting beyond MAX_DEPTH,
 *   a key with an escape, a key starting with a digit, `__proto__`, a duplicate key, too many
 *   members, a key too long for the field memo, a number beyond double range in a pretty-printed
 *   body);
 * - UNKNOWN_KEY: keys the field memo does not know yet are listed at `unknownKeysAt()`
 *   (`unknownKeyCount()` pairs of offset and length, no quotes): JavaScript classifies each
 *   (isOtherField), tells `learnKey`, and asks once more.
 * `responseLine` returns that length or DECLINE (response-line.ts). Either declines when the line
 * might not fit at the place given (LINE_MARGIN beyond the body before OUT_END).
 * After a line, `sawHighByte()` says whether the body has bytes above 0x7f: JavaScript then checks
 * it is well-formed UTF-8 (node:buffer isUtf8) before it uses the line.
 */
import { COUNTS_AT, ENV_AT, IN_AT, IN_END, IN_MAX, LINE_MARGIN, NOTED_AT, OUT_AT, OUT_END, PLACE_AT, PLACE_MAX, SECOND_AT, SLOT_COUNT, TABLES_AT, TABLES_END, UID_AT, UID_MAX, UNKNOWN_AT } from './layout';
import { highBits } from './json';

export { learnKey } from './field-memo';
export { requestLine, unknownKeyCount } from './request-line';
export { lastModelKey, responseLine } from './response-line';
export { setPlace, setUid } from './write';

export function inputAt(): i32 { return IN_AT; }
export function inputMax(): i32 { return IN_MAX; }
export function envelopeAt(): i32 { return ENV_AT; }
export function uidAt(): i32 { return UID_AT; }
export function uidMax(): i32 { return UID_MAX; }
export function secondAt(): i32 { return SECOND_AT; }
export function placeAt(): i32 { return PLACE_AT; }
export function placeMax(): i32 { return PLACE_MAX; }
export function outputAt(): i32 { return OUT_AT; }
export function outputEnd(): i32 { return OUT_END; }
/** What a line may need in the outbox beyond its body's length (see layout.ts). */
export function lineMargin(): i32 { return LINE_MARGIN; }
/** Where this module's own data ends (its strings): below TABLES_AT. */
export function dataEnd(): i32 { return <i32>__heap_base; }
export function tablesAt(): i32 { return TABLES_AT; }
export function tablesEnd(): i32 { return TABLES_END; }
/** Just past the memory this module uses: the memory must be at least this large. */
export function layoutEnd(): i32 { return IN_END; }
/** After a line: whether the body has a byte above 0x7f (JavaScript then checks its UTF-8). */
export function sawHighByte(): bool { return highBits != 0; }
/** Where the last UNKNOWN_KEY answer listed its keys: (offset, length) pairs of i32. */
export function unknownKeysAt(): i32 { return UNKNOWN_AT; }
/** Where the response walk noted its values (JavaScript reads the usage's, for the metrics). */
export function notedAt(): i32 { return NOTED_AT; }
/** How many values it notes: JavaScript checks its numbering is the same. */
export function slotCount(): i32 { return SLOT_COUNT; }
/** Where the usage's token counts are, as numbers (see response-line.ts, noteUsage). */
export function countsAt(): i32 { return COUNTS_AT; }
