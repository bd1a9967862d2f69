/**
 * The response line of the common non-stream reply (wasm/chat-lines.ts), as
 * src/core/chat-raw-reply.ts reads it: one walk validates the body and notes where the values the
 * record needs are; the line copies them as written. It declines what rawReply declines (see that
 * file) but line breaks, which it takes as json.ts says.
 */
import { COUNTS_AT, DECLINE, IN_AT, IN_MAX, LINE_MARGIN, MODEL_AT, MODEL_MAX, NOTED_AT, OUT_AT, OUT_END, SLOT_COUNT } from './layout';
import { at, beginScan, CLOSE_BRACE, hugeNumber, NEWLINE, isDigit, objectEnd, OPEN_BRACE, OPEN_BRACKET, QUOTE, sameBytes, space, valueEnd, ZERO, CLOSE_BRACKET } from './json';
import { constant, NULL_TEXT, put, putByte, putConstant, putInt, putUidAndTime, putValue } from './write';

// The line's constant texts (write.ts, constant).
const RESPONSE_START = constant('{"type":"response",');
const STATUS_KEY = constant(',"status":');
const ASSISTANT_KEY = constant(',"assistant":');
const TOOL_CALLS_AND_REASONING_KEYS = constant(',"tool_calls":null,"reasoning":');
const FINISH_REASON_KEY = constant(',"finish_reason":');
const USAGE_KEY = constant(',"usage":');
const TTFT_KEY = constant(',"ttft_ms":');
const DURATION_KEY = constant(',"duration_ms":');
const ERROR_KEY = constant(',"error":');

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

/** True when the `n` bytes at `a` spell `name` (a constant text). */
@inline function spells(a: i32, n: i32, name: i32): bool {
  return n == (name & 0xff) && sameBytes(a, name >>> 8, n);
}

// The key names the walk looks for (constant texts).
const NAME_CHOICES = constant('choices');
const NAME_USAGE = constant('usage');
const NAME_MODEL = constant('model');
const NAME_ERROR = constant('error');
const NAME_MESSAGE = constant('message');
const NAME_DELTA = constant('delta');
const NAME_TEXT = constant('text');
const NAME_FINISH_REASON = constant('finish_reason');
const NAME_CONTENT = constant('content');
const NAME_TOOL_CALLS = constant('tool_calls');
const NAME_FUNCTION_CALL = constant('function_call');
const NAME_REASONING_CONTENT = constant('reasoning_content');
const NAME_REASONING = constant('reasoning');
const NAME_PROMPT_TOKENS = constant('prompt_tokens');
const NAME_COMPLETION_TOKENS = constant('completion_tokens');
const NAME_INPUT_TOKENS = constant('input_tokens');
const NAME_OUTPUT_TOKENS = constant('output_tokens');

/** The slot of the key whose quotes are at `start` and `end - 1` at `level`, or -1. */
function slotOf(level: i32, start: i32, end: i32): i32 {
  const a = start + 1;
  const n = end - start - 2;
  if (level == LEVEL_TOP) {
    if (spells(a, n, NAME_CHOICES)) return TOP_CHOICES;
    if (spells(a, n, NAME_USAGE)) return TOP_USAGE;
    if (spells(a, n, NAME_MODEL)) return TOP_MODEL;
    if (spells(a, n, NAME_ERROR)) return TOP_ERROR;
  } else if (level == LEVEL_CHOICE) {
    if (spells(a, n, NAME_MESSAGE)) return CHOICE_MESSAGE;
    if (spells(a, n, NAME_DELTA)) return CHOICE_DELTA;
    if (spells(a, n, NAME_TEXT)) return CHOICE_TEXT;
    if (spells(a, n, NAME_FINISH_REASON)) return CHOICE_FINISH;
  } else if (level == LEVEL_MESSAGE) {
    if (spells(a, n, NAME_CONTENT)) return MESSAGE_CONTENT;
    if (spells(a, n, NAME_TOOL_CALLS)) return MESSAGE_TOOL_CALLS;
    if (spells(a, n, NAME_FUNCTION_CALL)) return MESSAGE_FUNCTION_CALL;
    if (spells(a, n, NAME_REASONING_CONTENT)) return MESSAGE_REASONING_CONTENT;
    if (spells(a, n, NAME_REASONING)) return MESSAGE_REASONING;
  } else {
    if (spells(a, n, NAME_PROMPT_TOKENS)) return 13;
    if (spells(a, n, NAME_COMPLETION_TOKENS)) return 14;
    if (spells(a, n, NAME_INPUT_TOKENS)) return 15;
    if (spells(a, n, NAME_OUTPUT_TOKENS)) return 16;
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
export function walkedValue(level: i32, keyStart: i32, keyEnd: i32, start: i32, depth: i32): i32 {
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

/** Writes the noted value of `slot`, or `null`. */
@inline function putValueOrNull(out: i32, slot: i32, present: bool): i32 {
  return present ? put(out, notedStart(slot), notedEnd(slot)) : putConstant(out, NULL_TEXT);
}

/** As the assemblers record a text: the value of `slot` when it is a non-empty string, else null. */
function putText(out: i32, slot: i32): i32 {
  return putValueOrNull(out, slot, kindOf(slot) == QUOTE && notedEnd(slot) - notedStart(slot) > 2);
}

/** Where the response walk noted its values (JavaScript reads the usage's, for the metrics). */
function notedAt(): i32 { return NOTED_AT; }
/** How many values it notes: JavaScript checks its numbering is the same. */
function slotCount(): i32 { return SLOT_COUNT; }
/** Where the usage's token counts are, as numbers (see noteUsage). */
function countsAt(): i32 { return COUNTS_AT; }

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
 * Marks every slot's value absent (-1): in 16-byte stores, as `memory.fill` is a call into C in V8
 * that cost more than the stores (the last store reaches past the slots, into NOTED_AT's room).
 */
@inline function forgetNoted(): void {
  const absent = i32x4.splat(-1);
  for (let k = 0; k < SLOT_COUNT << 3; k += 16) v128.store(NOTED_AT + k, absent);
}

/**
 * The response line for the reply of `length` bytes at IN_AT — of the chat API (`completions` 0)
 * or the completions API (1) — of the uid at UID_AT that `uidLow` ends (putUidAndTime), stamped
 * `millis` past the second at SECOND_AT, with `status`, `ttft` and `duration` (NULL: `null`),
 * written with its newline at `lineAt` in the outbox: its length with the newline, or DECLINE.
 */
export function responseLine(length: i32, completions: i32, uidLow: i32, millis: i32, status: i32, ttft: i32, duration: i32, lineAt: i32): i32 {
  if (length > IN_MAX || lineAt < OUT_AT || lineAt + LINE_MARGIN + length > OUT_END) return DECLINE;
  beginScan(length);
  forgetNoted();
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

  let out = putConstant(lineAt, RESPONSE_START);
  out = putUidAndTime(out, uidLow, millis);
  out = putInt(putConstant(out, STATUS_KEY), status);
  out = putConstant(out, ASSISTANT_KEY);
  out = putText(out, completions != 0 ? CHOICE_TEXT : MESSAGE_CONTENT);
  out = putConstant(out, TOOL_CALLS_AND_REASONING_KEYS);
  if (completions != 0) out = putConstant(out, NULL_TEXT);
  // As applyMessage: `reasoning_content` (DeepSeek, vLLM) wins over `reasoning` (OpenRouter).
  else out = putText(out, kindOf(MESSAGE_REASONING_CONTENT) == QUOTE ? MESSAGE_REASONING_CONTENT : MESSAGE_REASONING);
  out = putConstant(out, FINISH_REASON_KEY);
  out = putValueOrNull(out, CHOICE_FINISH, kindOf(CHOICE_FINISH) == QUOTE);
  out = putConstant(out, USAGE_KEY);
  if (kindOf(TOP_USAGE) == OPEN_BRACE) out = putValue(out, notedStart(TOP_USAGE), notedEnd(TOP_USAGE));
  else out = putConstant(out, NULL_TEXT);
  out = putInt(putConstant(out, TTFT_KEY), ttft);
  out = putInt(putConstant(out, DURATION_KEY), duration);
  // `null` is the only value that starts with `n`: an error of `null` is no error.
  const error = kindOf(TOP_ERROR);
  if (error != 0 && error != 0x6e) out = putValue(putConstant(out, ERROR_KEY), notedStart(TOP_ERROR), notedEnd(TOP_ERROR));
  out = putByte(putByte(out, CLOSE_BRACE), NEWLINE);
  if (kindOf(TOP_USAGE) == OPEN_BRACE) noteUsage();
  return out - lineAt;
}

