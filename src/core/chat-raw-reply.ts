/**
 * The common non-stream reply — the case quickReply() covers (chat-quick-reply.ts): one choice with
 * a plain text message, or a completions text — read from the body's bytes instead of from what
 * `JSON.parse` made of it. The response record only copies the reply's values into its own line,
 * so they are taken as the JSON text the upstream wrote (`"Hello"`, `{"prompt_tokens":9,…}`)
 * instead of being parsed into strings and objects and serialised back. One pass over the bytes
 * validates the body as strictly as `JSON.parse` (json-scan.ts) and notes on the way where the
 * few values the record needs are. A consumer that parses the line gets the same values as from
 * the general path; only their spelling may differ (escapes, number forms and spaces as the
 * upstream wrote them; a number beyond double range keeps its digits where the general path has
 * `null`).
 *
 * A pretty-printed body — OpenAI's own replies are, two spaces of indentation per level — goes the
 * general way: the scan refuses a line break before the end of the value (a JSON line may hold
 * none), and `JSON.parse` skips indentation faster than a scan in JavaScript would
 * (bench/micro/chat-log-tap.mjs, scenario jsonoa).
 *
 * Anything the case does not cover answers `undefined`, and the caller takes the general path:
 * several choices, a `delta` object, content as parts, tool calls, a `function_call`, a key that
 * matters written with an escape or twice (`JSON.parse` would keep the last), a body that is not
 * well-formed UTF-8 JSON, and every `/v1/responses` body.
 */
import type { ChatApi } from './chat-api.js';
import { beginUtf8Scan, endUtf8Scan, MAX_DEPTH, scanKeyEnd, scanOnlySpaceFrom, scanSpace, scanValueEnd } from './json-scan.js';

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
  /** The body's `model` as JSON text (a string literal) when `usage` is an object and it is a string, else `null`. */
  usageModel: string | null;
}

const QUOTE = 0x22;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

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
const at = new Int32Array(2 * 13);

/** The keys looked for at each level, as bytes, and the slot of each. */
interface Level {
  names: readonly Buffer[];
  slots: readonly number[];
}

function level(keys: Record<string, number>): Level {
  return { names: Object.keys(keys).map((key) => Buffer.from(key)), slots: Object.values(keys) };
}

const TOP = level({ choices: TOP_CHOICES, usage: TOP_USAGE, model: TOP_MODEL, error: TOP_ERROR });
const CHOICE = level({ message: CHOICE_MESSAGE, delta: CHOICE_DELTA, text: CHOICE_TEXT, finish_reason: CHOICE_FINISH });
const MESSAGE = level({
  content: MESSAGE_CONTENT,
  tool_calls: MESSAGE_TOOL_CALLS,
  function_call: MESSAGE_FUNCTION_CALL,
  reasoning_content: MESSAGE_REASONING_CONTENT,
  reasoning: MESSAGE_REASONING,
});

/** The slot of the key whose quotes are at `start` and `end - 1` among `level`'s, or -1. */
function slotOf(b: Buffer, start: number, end: number, { names, slots }: Level): number {
  const length = end - start - 2;
  for (let n = 0; n < names.length; n++) {
    const name = names[n];
    if (name.length !== length) continue;
    let k = 0;
    while (k < length && b[start + 1 + k] === name[k]) k++;
    if (k === length) return slots[n];
  }
  return -1;
}

/**
 * Walks the object opening at `open` (validating it) and notes the values of `level`'s keys; the
 * value of `inner`'s key, when an object or array, is walked by `walkInner` instead. Answers the
 * offset just past the object, or INVALID / UNCOVERED.
 */
function walkObject(b: Buffer, open: number, depth: number, keys: Level, inner: number, walkInner: (b: Buffer, i: number, depth: number) => number): number {
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
    const slot = slotOf(b, i, keyEnd, keys);
    const c = b[start];
    let end: number;
    if (slot === inner && (c === OPEN_BRACE || c === OPEN_BRACKET)) end = walkInner(b, start, depth);
    else end = scanValueEnd(b, start, depth);
    if (end < 0) return end;
    if (slot !== -1) {
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
  if (b[open] !== OPEN_BRACKET || depth >= MAX_DEPTH) return scanValueEnd(b, open, depth);
  const first = scanSpace(b, open + 1);
  if (b[first] === CLOSE_BRACKET) return first + 1;
  const end = b[first] === OPEN_BRACE ? walkObject(b, first, depth + 2, CHOICE, CHOICE_MESSAGE, walkMessage) : scanValueEnd(b, first, depth + 1);
  if (end < 0) return end;
  const close = scanSpace(b, end);
  return b[close] === CLOSE_BRACKET ? close + 1 : b[close] === COMMA ? UNCOVERED : INVALID;
}

/** The choice's `message` at `open`: an object is walked for its fields, an array is only validated. */
function walkMessage(b: Buffer, open: number, depth: number): number {
  if (b[open] !== OPEN_BRACE || depth >= MAX_DEPTH) return scanValueEnd(b, open, depth);
  return walkObject(b, open, depth + 1, MESSAGE, -1, scanValueEnd);
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
  const end = walkObject(body, open, 1, TOP, TOP_CHOICES, walkChoices);
  if (end < 0 || !scanOnlySpaceFrom(body, end)) return undefined;
  const encoding = endUtf8Scan(body);
  if (encoding === 'invalid') return undefined;
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
    usageModel: usage !== 'null' && kindOf(body, TOP_MODEL) === QUOTE ? text.of(TOP_MODEL) : null,
  };
}

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
    if (this.#ascii) {
      this.#latin1 ??= this.#body.toString('latin1');
      return this.#latin1.slice(start, end);
    }
    return this.#body.toString('utf8', start, end);
  }

  /** As the assemblers record a text: the value of `slot` when it is a non-empty string, else `null`. */
  ifText(slot: number): string {
    return kindOf(this.#body, slot) === QUOTE && at[2 * slot + 1] - at[2 * slot] > 2 ? this.of(slot) : 'null';
  }
}
