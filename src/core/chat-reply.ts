/**
 * The assembled reply of one exchange — what the three OpenAI APIs (chat completions, completions,
 * responses) have in common once their SSE deltas or JSON body are put together — and the small
 * builders the assemblers share. Pure: no I/O, plain values in and out.
 */

export type JsonObject = Record<string, unknown>;

/** A plain JSON object (not null, not an array). */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value if it is a string, else `undefined`. */
export function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** `JSON.parse` that answers `undefined` instead of throwing. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** A tool call in chat-completions shape (the responses API's function calls are mapped to it). */
export interface ToolCall {
  id: string | null;
  type: string;
  function: { name: string; arguments: string };
}

/** One choice of a reply with `n > 1`. */
export interface ChoiceReply {
  index: number;
  assistant: string | null;
  reasoning: string | null;
  tool_calls: ToolCall[] | null;
  finish_reason: string | null;
}

export interface AssembledReply {
  /** Text of the main choice (index 0), `null` when it produced none. */
  assistant: string | null;
  reasoning: string | null;
  toolCalls: ToolCall[] | null;
  /** Chat/completions: the choice's `finish_reason`; responses: the response `status`. */
  finishReason: string | null;
  usage: JsonObject | null;
  /** The `model` next to `usage` (what the upstream says it served), `null` when absent. */
  usageModel: string | null;
  /** Every choice, only when there was more than one. */
  choices: ChoiceReply[] | null;
  /** An error the upstream reported in the body or the stream. */
  error: unknown;
  /** False when nothing in the body or stream could be interpreted. */
  parsed: boolean;
}

/** Turns SSE events or a JSON body of one API into an {@link AssembledReply}. */
export interface ReplyAssembler {
  /** One SSE event (`data` already joined); `[DONE]` and foreign events are ignored. */
  event(type: string, data: string): void;
  /** A whole non-stream body, already parsed. */
  json(body: unknown): void;
  /** True once something could be interpreted (what `result().parsed` would say, without building it). */
  hasParsed(): boolean;
  result(): AssembledReply;
}

/**
 * Text arriving in pieces (one per SSE delta). Pieces are joined into blocks of 256, so a long
 * reply costs one small string per block instead of one per delta while it streams, and each
 * character is copied at most twice: O(length), never quadratic.
 */
export class TextParts {
  static readonly BLOCK = 256;
  #blocks: string[] = [];
  #parts: string[] = [];

  push(text: unknown): void {
    if (typeof text !== 'string' || text === '') return;
    this.#parts.push(text);
    if (this.#parts.length === TextParts.BLOCK) {
      this.#blocks.push(this.#parts.join(''));
      this.#parts.length = 0;
    }
  }

  /** Replaces everything so far (a `done` event carrying the authoritative full text). */
  set(text: string): void {
    this.#blocks = [];
    this.#parts = text === '' ? [] : [text];
  }

  get empty(): boolean {
    return this.#blocks.length === 0 && this.#parts.length === 0;
  }

  text(): string | null {
    if (this.empty) return null;
    const whole = this.#blocks.join('') + this.#parts.join('');
    this.set(whole);
    return whole;
  }
}

/** A tool call put together from deltas (`id`, `type`, `function.name` once; arguments in pieces). */
export class ToolCallBuilder {
  id: string | null = null;
  type = 'function';
  name = '';
  readonly args = new TextParts();

  /** Merges a delta (or a whole tool call) in chat-completions shape. */
  merge(delta: JsonObject): void {
    const id = stringOf(delta.id);
    if (id !== undefined && id !== '') this.id = id;
    const type = stringOf(delta.type);
    if (type !== undefined && type !== '') this.type = type;
    const fn = delta.function;
    if (!isObject(fn)) return;
    const name = stringOf(fn.name);
    // Some providers repeat the name in every delta, others send it once: keep the first.
    if (this.name === '' && name !== undefined) this.name = name;
    this.args.push(fn.arguments);
  }

  result(): ToolCall {
    return { id: this.id, type: this.type, function: { name: this.name, arguments: this.args.text() ?? '' } };
  }
}

/**
 * Tool calls of one choice, merged by their `index`. Providers that send no `index` are matched by
 * `id`, and a delta with neither continues the call seen last.
 */
export class ToolCalls {
  readonly #byKey = new Map<number | string, ToolCallBuilder>();
  #last: ToolCallBuilder | undefined;

  merge(list: unknown): void {
    if (!Array.isArray(list)) return;
    for (const item of list as unknown[]) {
      if (!isObject(item)) continue;
      const builder = this.#find(item);
      builder.merge(item);
      this.#last = builder;
    }
  }

  #find(item: JsonObject): ToolCallBuilder {
    let key: number | string;
    if (typeof item.index === 'number') key = item.index;
    else {
      const id = stringOf(item.id);
      if (id === undefined || id === '') {
        if (this.#last !== undefined) return this.#last;
        key = 0;
      } else key = `id:${id}`;
    }
    let builder = this.#byKey.get(key);
    if (builder === undefined) {
      builder = new ToolCallBuilder();
      this.#byKey.set(key, builder);
    }
    return builder;
  }

  result(): ToolCall[] | null {
    if (this.#byKey.size === 0) return null;
    return [...this.#byKey.values()].map((builder) => builder.result());
  }
}

/** One choice of chat completions or completions, built from deltas or from a whole message. */
export class ChoiceBuilder {
  readonly content = new TextParts();
  readonly reasoning = new TextParts();
  readonly toolCalls = new ToolCalls();
  finishReason: string | null = null;

  constructor(readonly index: number) {}

  result(): ChoiceReply {
    return {
      index: this.index,
      assistant: this.content.text(),
      reasoning: this.reasoning.text(),
      tool_calls: this.toolCalls.result(),
      finish_reason: this.finishReason,
    };
  }
}

/** The choices of a reply by index; index 0 is the main one. */
export class Choices {
  readonly #byIndex = new Map<number, ChoiceBuilder>();

  get(index: unknown, position: number): ChoiceBuilder {
    const i = typeof index === 'number' ? index : position;
    let choice = this.#byIndex.get(i);
    if (choice === undefined) {
      choice = new ChoiceBuilder(i);
      this.#byIndex.set(i, choice);
    }
    return choice;
  }

  /** The reply fields of the main choice plus `choices` when there were several. */
  result(): Pick<AssembledReply, 'assistant' | 'reasoning' | 'toolCalls' | 'finishReason' | 'choices'> {
    const all = [...this.#byIndex.values()].sort((a, b) => a.index - b.index).map((c) => c.result());
    const main = all.find((c) => c.index === 0) ?? all[0];
    return {
      assistant: main?.assistant ?? null,
      reasoning: main?.reasoning ?? null,
      toolCalls: main?.tool_calls ?? null,
      finishReason: main?.finish_reason ?? null,
      choices: all.length > 1 ? all : null,
    };
  }
}
