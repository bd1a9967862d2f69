/**
 * The common non-stream reply — the case quickReply() covers (chat-quick-reply.ts): one choice with
 * a plain text message, or a completions text — read from the body's bytes instead of from what
 * `JSON.parse` made of it. The response record only copies the reply's values into its own line,
 * so they are taken as the JSON text the upstream wrote (`"Hello"`, `{"prompt_tokens":9,…}`)
 * instead of being parsed into strings and objects and serialised back. One pass over the bytes
 * validates the body as strictly as `JSON.parse` (json-scan.ts) and notes on the way where the
 * few values the record needs are. A consumer that parses the line gets the same values as from
 * the general path; only their spelling may differ (escapes, number forms and spaces as the
 * upstream wrote them).
 *
 * A pretty-printed body — OpenAI's own replies are, two spaces of indentation per level — goes the
 * general way: the scan refuses a line break before the end of the value (a JSON line may hold
 * none), and `JSON.parse` skips indentation faster than a scan in JavaScript would
 * (bench/micro/chat-log-tap.mjs, scenario jsonoa).
 *
 * Anything the case does not cover answers `undefined`, and the caller takes the general path:
 * several choices, a `delta` object, content as parts, tool calls, a `function_call`, a key that
 * matters written with an escape or twice (`JSON.parse` would keep the last), a number that may be
 * beyond double range (the general path writes `null` for it), a body that is not well-formed
 * UTF-8 JSON, and every `/v1/responses` body.
 *
 * wasm/response-line.ts walks the same replies the same way (same slots, same refusals, pretty-printed
 * ones too) and writes their response line itself; this reader serves what it declines, and
 * callers without it.
 */
import { Buffer } from 'node:buffer';
import type { ChatApi } from './chat-api.js';
import type { JsonObject } from './chat-reply.js';
import {
  beginUtf8Scan,
  CLOSE_BRACE,
  CLOSE_BRACKET,
  COLON,
  COMMA,
  endUtf8Scan,
  OPEN_BRACE,
  OPEN_BRACKET,
  QUOTE,
  scanKeyEnd,
  scanOnlySpaceFrom,
  scanSpace,
  scanValueEnd,
} from './json-scan.js';

/** A reply's record fields as JSON text (`null` when absent); `choices` / `error`: '' when absent. */
export interface ReplyJson {
  assistant: string;
  toolCalls: string;
  reasoning: string;
  finishReason: string;
  usage: string;
  choices: string;
  error: string;
}

/** {@link ReplyJson} of a body read by {@link rawReply}, with what the metrics need. */
export interface RawReply extends ReplyJson {
  /** The body's `model` when `usage` is an object and it is a string, else `null`. */
  usageModel: string | null;
  /**
   * When `usage` is an object: the token counts in it the metrics read (`prompt_tokens`,
   * `completion_tokens`, `input_tokens`, `output_tokens`, those present), else `null`.
   */
  usageTokens: JsonObject | null;
}

/** A walk's answers besides an offset: the body is not valid JSON / not the case covered here. */
const INVALID = -1;
const UNCOVERED = -2;

/** Where each value the record needs starts and ends (`[2k]`, `[2k+1]`; -1 when absent). */
const TOP_CHOICES = 0; // only to tell a key seen twice
const TOP_USAGE = 1;
const TOP_MODEL = 2;
const TOP_ERROR = 3;
const CHOICE_MESSAGE = 4;
const CHOICE_DELTA = 5;
const CHOICE_TEXT = 6;
const CHOICE_FINISH = 7;
const MESSAGE_CONTENT = 8;
const MESSAGE_TOOL_CALLS = 9;
const MESSAGE_FUNCTION_CALL = 10;
const MESSAGE_REASONING_CONTENT = 11;
const MESSAGE_REASONING = 12;
const USAGE_PROMPT = 13;
const USAGE_COMPLETION = 14;
const USAGE_INPUT = 15;
const USAGE_OUTPUT = 16;
/** Slots in all; wasm/response-line.ts numbers the same values alike. */
export const SLOT_COUNT = 17;
const at = new Int32Array(2 * SLOT_COUNT);

/** Walks the value opening at `open` (an object or array) at `depth`: an offset, or INVALID / UNCOVERED. */
type Walker = (b: Buffer, open: number, depth: number) => number;

/** The keys looked for at one level, as bytes: the slot of each, and how its value is walked. */
interface Level {
  names: readonly Buffer[];
  slots: readonly number[];
  /** For an object or array value; `null`: only validated (json-scan.ts). */
  walkers: readonly (Walker | null)[];
}

function level(keys: Record<string, number>, walkers: Record<string, Walker> = {}): Level {
  const names = Object.keys(keys);
  return { names: names.map((key) => Buffer.from(key)), slots: Object.values(keys), walkers: names.map((key) => walkers[key] ?? null) };
}

const TOP = level({ choices: TOP_CHOICES, usage: TOP_USAGE, model: TOP_MODEL, error: TOP_ERROR }, { choices: walkChoices, usage: walkUsage });
const CHOICE = level({ message: CHOICE_MESSAGE, delta: CHOICE_DELTA, text: CHOICE_TEXT, finish_reason: CHOICE_FINISH }, { message: walkMessage });
const MESSAGE = level({
  content: MESSAGE_CONTENT,
  tool_calls: MESSAGE_TOOL_CALLS,
  function_call: MESSAGE_FUNCTION_CALL,
  reasoning_content: MESSAGE_REASONING_CONTENT,
  reasoning: MESSAGE_REASONING,
});
/** The token counts the metrics read, and their slots. */
const TOKENS = { prompt_tokens: USAGE_PROMPT, completion_tokens: USAGE_COMPLETION, input_tokens: USAGE_INPUT, output_tokens: USAGE_OUTPUT };
const USAGE = level(TOKENS);
/** The token counts' names and slots (the WebAssembly walk numbers them alike: chat-lines-wasm.ts). */
export const TOKEN_SLOTS = Object.entries(TOKENS);
/** The slots of `usage` and `model` in that numbering, and of the token counts. */
export { TOP_MODEL as MODEL_SLOT, TOP_USAGE as USAGE_SLOT, USAGE_PROMPT as PROMPT_SLOT, USAGE_COMPLETION as COMPLETION_SLOT, USAGE_INPUT as INPUT_SLOT, USAGE_OUTPUT as OUTPUT_SLOT };

/** The index among `level`'s names of the key whose quotes are at `start` and `end - 1`, or -1. */
function nameOf(b: Buffer, start: number, end: number, { names }: Level): number {
  const length = end - start - 2;
  for (let n = 0; n < names.length; n++) {
    const name = names[n];
    if (name.length !== length) continue;
    let k = 0;
    while (k < length && b[start + 1 + k] === name[k]) k++;
    if (k === length) return n;
  }
  return -1;
}

/**
 * Walks the object opening at `open` at `depth` (validating it) and notes the values of `keys`'
 * names, walking those that have a walker. Answers the offset just past the object, or INVALID /
 * UNCOVERED.
 */
function walkObject(b: Buffer, open: number, depth: number, keys: Level): number {
  let i = scanSpace(b, open + 1);
  if (b[i] === CLOSE_BRACE) return i + 1;
  for (;;) {
    if (b[i] !== QUOTE) return INVALID;
    const keyEnd = scanKeyEnd(b, i);
    if (keyEnd === INVALID) return INVALID;
    // A key with an escape could spell one that matters; none of the covered replies has one.
    if (keyEnd === -2) return UNCOVERED;
    const colon = scanSpace(b, keyEnd);
    if (b[colon] !== COLON) return INVALID;
    const start = scanSpace(b, colon + 1);
    const n = nameOf(b, i, keyEnd, keys);
    const walker = n === -1 ? null : keys.walkers[n];
    const c = b[start];
    const end = walker !== null && (c === OPEN_BRACE || c === OPEN_BRACKET) ? walker(b, start, depth) : scanValueEnd(b, start, depth);
    if (end < 0) return end;
    if (n !== -1) {
      const slot = keys.slots[n];
      // `JSON.parse` keeps the last of a key written twice: the general path does that.
      if (at[2 * slot] !== -1) return UNCOVERED;
      at[2 * slot] = start;
      at[2 * slot + 1] = end;
    }
    i = scanSpace(b, end);
    const next = b[i];
    if (next === CLOSE_BRACE) return i + 1;
    if (next !== COMMA) return INVALID;
    i = scanSpace(b, i + 1);
  }
}

/** The `choices` array at `open`: its one element walked as a choice; more than one is UNCOVERED. */
function walkChoices(b: Buffer, open: number, depth: number): number {
  if (b[open] !== OPEN_BRACKET) return scanValueEnd(b, open, depth);
  const first = scanSpace(b, open + 1);
  if (b[first] === CLOSE_BRACKET) return first + 1;
  const end = b[first] === OPEN_BRACE ? walkObject(b, first, depth + 2, CHOICE) : scanValueEnd(b, first, depth + 1);
  if (end < 0) return end;
  const close = scanSpace(b, end);
  return b[close] === CLOSE_BRACKET ? close + 1 : b[close] === COMMA ? UNCOVERED : INVALID;
}

/** A choice's `message`: an object is walked for its fields, an array only validated. */
function walkMessage(b: Buffer, open: number, depth: number): number {
  return b[open] === OPEN_BRACE ? walkObject(b, open, depth + 1, MESSAGE) : scanValueEnd(b, open, depth);
}

/** `usage`: an object is walked for the token counts, an array only validated. */
function walkUsage(b: Buffer, open: number, depth: number): number {
  return b[open] === OPEN_BRACE ? walkObject(b, open, depth + 1, USAGE) : scanValueEnd(b, open, depth);
}

/** The first byte of the noted value of `slot` (0 when absent). */
function kindOf(b: Buffer, slot: number): number {
  const start = at[2 * slot];
  return start === -1 ? 0 : b[start];
}

/**
 * The reply of a non-stream `body` of `api`, its fields as JSON text, or `undefined` when the body
 * is not the case covered (see the file comment).
 */
export function rawReply(api: ChatApi, body: Buffer): RawReply | undefined {
  if (api === 'responses') return undefined;
  at.fill(-1);
  beginUtf8Scan();
  const open = scanSpace(body, 0);
  if (body[open] !== OPEN_BRACE) return undefined;
  const end = walkObject(body, open, 1, TOP);
  if (end < 0 || !scanOnlySpaceFrom(body, end)) return undefined;
  const encoding = endUtf8Scan(body);
  if (encoding === undefined) return undefined;
  // A chat choice's `delta` object, content as parts, tool calls, a function call: the general path.
  if (
    api === 'chat' &&
    (kindOf(body, CHOICE_DELTA) === OPEN_BRACE ||
      kindOf(body, MESSAGE_CONTENT) === OPEN_BRACKET ||
      kindOf(body, MESSAGE_TOOL_CALLS) === OPEN_BRACKET ||
      kindOf(body, MESSAGE_FUNCTION_CALL) === OPEN_BRACE)
  ) {
    return undefined;
  }
  const text = new ReplyText(body, encoding === 'ascii');
  const usage = kindOf(body, TOP_USAGE) === OPEN_BRACE ? text.of(TOP_USAGE) : 'null';
  let assistant: string;
  let reasoning = 'null';
  if (api === 'completions') {
    assistant = text.ifText(CHOICE_TEXT);
  } else {
    assistant = text.ifText(MESSAGE_CONTENT);
    // As applyMessage: `reasoning_content` (DeepSeek, vLLM) wins over `reasoning` (OpenRouter).
    reasoning = text.ifText(kindOf(body, MESSAGE_REASONING_CONTENT) === QUOTE ? MESSAGE_REASONING_CONTENT : MESSAGE_REASONING);
  }
  return {
    assistant,
    toolCalls: 'null',
    reasoning,
    finishReason: kindOf(body, CHOICE_FINISH) === QUOTE ? text.of(CHOICE_FINISH) : 'null',
    usage,
    choices: '',
    // `null` is the only value that starts with `n`: an error of `null` is no error.
    error: at[2 * TOP_ERROR] === -1 || kindOf(body, TOP_ERROR) === 0x6e ? '' : text.of(TOP_ERROR),
    usageModel: usage !== 'null' && kindOf(body, TOP_MODEL) === QUOTE ? stringOf(text.of(TOP_MODEL)) : null,
    usageTokens: usage === 'null' ? null : tokensOf(text),
  };
}

/** The token counts noted in `usage`. */
function tokensOf(text: ReplyText): JsonObject {
  const tokens: JsonObject = {};
  for (const [name, slot] of TOKEN_SLOTS) if (at[2 * slot] !== -1) tokens[name] = valueOf(text.of(slot));
  return tokens;
}

/** The string a JSON string literal spells. */
export function stringOf(literal: string): string {
  return literal.includes('\\') ? (JSON.parse(literal) as string) : literal.slice(1, -1);
}

/** The value of a JSON text: a number without `JSON.parse` (the common case). */
export function valueOf(json: string): unknown {
  const c = json.charCodeAt(0);
  return (c >= 0x30 && c <= 0x39) || c === 0x2d ? Number(json) : JSON.parse(json);
}

/** Up to this size an ASCII body is decoded once for all its values; a larger one value by value. */
const WHOLE_DECODE_BYTES = 4096;

/** The noted values of a body as text. */
class ReplyText {
  readonly #body: Buffer;
  readonly #ascii: boolean;
  /** An ASCII body as Latin-1: decoded once, and its offsets are the bytes'. */
  #latin1: string | null = null;

  constructor(body: Buffer, ascii: boolean) {
    this.#body = body;
    this.#ascii = ascii;
  }

  /** The value of `slot` as the JSON text it is. */
  of(slot: number): string {
    const start = at[2 * slot];
    const end = at[2 * slot + 1];
    // A large body (logprobs, say) is not decoded whole for a few values.
    if (this.#ascii && this.#body.length <= WHOLE_DECODE_BYTES) {
      this.#latin1 ??= this.#body.toString('latin1');
      return this.#latin1.slice(start, end);
    }
    if (this.#ascii) return this.#body.toString('latin1', start, end);
    return this.#body.toString('utf8', start, end);
  }

  /** As the assemblers record a text: the value of `slot` when it is a non-empty string, else `null`. */
  ifText(slot: number): string {
    return kindOf(this.#body, slot) === QUOTE && at[2 * slot + 1] - at[2 * slot] > 2 ? this.of(slot) : 'null';
  }
}
