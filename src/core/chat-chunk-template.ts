/**
 * Streamed chunks of one reply repeat everything but their text:
 *
 *     {"id":"chatcmpl-1","object":"chat.completion.chunk",…,"choices":[{"index":0,"delta":{"content":"Hel"},"logprobs":null,"finish_reason":null}],"obfuscation":"k2"}
 *
 * Parsing each whole chunk is most of what the chat log costs per SSE event. So after a chunk has
 * been parsed, it becomes a template: the text before its text value (the prefix) and after it up to
 * the end of `choices` (the choice tail). A later chunk that has exactly the same prefix and choice
 * tail, a plain JSON string in between, and after `choices` only members with string or null values
 * (OpenAI's per-chunk `obfuscation` padding, `"usage":null`) is read without `JSON.parse`.
 *
 * Why that is exact: the template chunk was valid JSON, and swapping one string literal for another
 * (and the trailing members for other valid ones) keeps it valid and changes nothing else the
 * assembler reads. A chunk qualifies as a template only when the assembler would read nothing from
 * it but that one text: one choice, no usage object, no error, no tool calls, the text in
 * `delta.content`, `delta.reasoning_content` or `delta.reasoning` (chat) or `text` (completions),
 * and no duplicate keys on the way to it (`JSON.parse` keeps the last; the scan would see the first).
 * Trailing members named `choices`, or `error` with a value, send the chunk to the general path.
 */
import { objectMembers, skipSpace, stringEnd, valueEnd } from './chat-json-members.js';
import { isObject, type JsonObject } from './chat-reply.js';

/** Which API's chunks: chat completions (`delta`) or completions (`text`). */
export type ChunkKind = 'chat' | 'completions';

const QUOTE = 0x22;
const COMMA = 0x2c;
const COLON = 0x3a;
const CLOSE_BRACE = 0x7d;

/** In a string literal cut at its first quote, these need `JSON.parse` (escapes) or make it invalid. */
const ESCAPE_OR_CONTROL = /[\\\u0000-\u001f]/;

/**
 * V8 keeps a slice of this many characters or more as a view of the string it was cut from, which
 * stays alive with it: here the decoded text of a whole network chunk, for as long as a stream's
 * reply is assembled. Such texts are copied (`JSON.parse` builds its strings afresh).
 */
const VIEW_MIN_LENGTH = 13;

/** A copy of `text` that does not keep the string it was cut from alive (see VIEW_MIN_LENGTH). */
function detached(text: string): string {
  return text.length < VIEW_MIN_LENGTH ? text : (JSON.parse(JSON.stringify(text)) as string);
}

/** Offset in `members` (see objectMembers) of the member whose key is exactly `name`, or -1. */
function memberAt(text: string, members: number[], name: string): number {
  for (let m = 0; m < members.length; m += 4) {
    if (members[m + 1] - members[m] - 2 === name.length && text.slice(members[m] + 1, members[m + 1] - 1) === name) return m;
  }
  return -1;
}

/** The members of the object at `start`, only when they are all its keys (no duplicates). */
function uniqueMembers(text: string, start: number, parsed: JsonObject): number[] | undefined {
  const members = objectMembers(text, start);
  return members !== undefined && members.length === Object.keys(parsed).length * 4 ? members : undefined;
}

/** The delta field holding a chat chunk's text, if the chunk carries nothing else the assembler reads. */
function chatTextField(delta: JsonObject): 'content' | 'reasoning_content' | 'reasoning' | undefined {
  if (Array.isArray(delta.tool_calls) || isObject(delta.function_call) || Array.isArray(delta.content)) return undefined;
  const content = typeof delta.content === 'string';
  const reasoningContent = typeof delta.reasoning_content === 'string';
  // As applyMessage: content and one reasoning field are read; `reasoning_content` wins over `reasoning`.
  if (content) return reasoningContent || typeof delta.reasoning === 'string' ? undefined : 'content';
  if (reasoningContent) return 'reasoning_content';
  return typeof delta.reasoning === 'string' ? 'reasoning' : undefined;
}

/** A learned chunk shape (see the file comment). */
export class ChunkTemplate {
  /** The chunk up to and including the opening quote of its text. */
  readonly #prefix: string;
  /** From just after the text's closing quote to the end of the `choices` array. */
  readonly #choiceTail: string;
  /** The choice's `index` as the chunk has it (the assembler's key for the choice). */
  readonly index: unknown;
  /** Which text of the choice a match adds to. */
  readonly target: 'content' | 'reasoning';
  /** The choice's `finish_reason` when it is a string (then every match repeats it). */
  readonly finishReason: string | null;

  private constructor(prefix: string, choiceTail: string, choice: JsonObject, target: 'content' | 'reasoning') {
    this.#prefix = prefix;
    this.#choiceTail = choiceTail;
    this.index = choice.index;
    this.target = target;
    this.finishReason = typeof choice.finish_reason === 'string' ? choice.finish_reason : null;
  }

  /**
   * A template from a chunk's text `data` and what `JSON.parse` made of it, if it qualifies.
   * Learning costs about one `JSON.parse`, so a chunk with empty text is not learned from: that is
   * the role chunk opening a chat stream, shaped unlike the content chunks after it.
   */
  static learn(kind: ChunkKind, data: string, body: unknown): ChunkTemplate | undefined {
    if (!isObject(body) || isObject(body.usage) || (body.error !== undefined && body.error !== null)) return undefined;
    const choices = body.choices;
    if (!Array.isArray(choices) || choices.length !== 1) return undefined;
    const choice: unknown = choices[0];
    if (!isObject(choice)) return undefined;
    let holder: JsonObject = choice;
    let field: string = 'text';
    if (kind === 'chat') {
      if (!isObject(choice.delta)) return undefined;
      holder = choice.delta;
      const found = chatTextField(holder);
      if (found === undefined) return undefined;
      field = found;
    } else if (typeof choice.text !== 'string') {
      return undefined;
    }
    if (holder[field] === '') return undefined;
    // Where that text sits: top level → choices → the one choice (→ delta) → the field.
    const top = uniqueMembers(data, 0, body);
    const choicesAt = top === undefined ? -1 : memberAt(data, top, 'choices');
    if (top === undefined || choicesAt === -1) return undefined;
    const arrayEnd = top[choicesAt + 3];
    const choiceStart = skipSpace(data, top[choicesAt + 2] + 1);
    const choiceEnd = valueEnd(data, choiceStart);
    if (choiceEnd === -1 || skipSpace(data, choiceEnd) !== arrayEnd - 1) return undefined;
    let members = uniqueMembers(data, choiceStart, choice);
    if (members !== undefined && kind === 'chat') {
      const deltaAt = memberAt(data, members, 'delta');
      members = deltaAt === -1 ? undefined : uniqueMembers(data, members[deltaAt + 2], holder);
    }
    const at = members === undefined ? -1 : memberAt(data, members, field);
    if (members === undefined || at === -1 || data.charCodeAt(members[at + 2]) !== QUOTE) return undefined;
    const target = field === 'reasoning_content' || field === 'reasoning' ? 'reasoning' : 'content';
    return new ChunkTemplate(detached(data.slice(0, members[at + 2] + 1)), detached(data.slice(members[at + 3], arrayEnd)), choice, target);
  }

  /** The text of a chunk of this template's shape, or `undefined` when it must be parsed. */
  match(data: string): string | undefined {
    const start = this.#prefix.length;
    if (data.length <= start || data.slice(0, start) !== this.#prefix) return undefined;
    const close = stringEnd(data, start - 1);
    if (close === -1) return undefined;
    let text: string | undefined = data.slice(start, close);
    // A short plain text is a copy already; anything else JSON.parse decodes, checks and copies.
    if (text.length >= VIEW_MIN_LENGTH || ESCAPE_OR_CONTROL.test(text)) {
      try {
        const decoded: unknown = JSON.parse(data.slice(start - 1, close + 1));
        text = typeof decoded === 'string' ? decoded : undefined;
      } catch {
        text = undefined;
      }
      if (text === undefined) return undefined;
    }
    const tail = close + 1 + this.#choiceTail.length;
    if (data.slice(close + 1, tail) !== this.#choiceTail) return undefined;
    return trailingMembersOk(data, tail) ? text : undefined;
  }
}

/**
 * True when `data` from `pos` is `(,"key":"value"|null)*}` and nothing more, with plain keys and
 * values (no escapes, no control characters) and none the assembler would read.
 */
function trailingMembersOk(data: string, pos: number): boolean {
  for (;;) {
    const c = data.charCodeAt(pos);
    if (c === CLOSE_BRACE) return pos + 1 === data.length;
    if (c !== COMMA || data.charCodeAt(pos + 1) !== QUOTE) return false;
    const keyEnd = data.indexOf('"', pos + 2);
    if (keyEnd === -1 || data.charCodeAt(keyEnd + 1) !== COLON) return false;
    const key = data.slice(pos + 2, keyEnd);
    if (key === 'choices' || ESCAPE_OR_CONTROL.test(key)) return false;
    const value = keyEnd + 2;
    if (data.charCodeAt(value) === QUOTE) {
      const valueEnd = data.indexOf('"', value + 1);
      if (valueEnd === -1 || key === 'error' || ESCAPE_OR_CONTROL.test(data.slice(value + 1, valueEnd))) return false;
      pos = valueEnd + 1;
    } else if (data.slice(value, value + 4) === 'null') {
      pos = value + 4;
    } else {
      return false;
    }
  }
}
