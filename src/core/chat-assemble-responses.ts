/**
 * Assembler for `/v1/responses` (https://platform.openai.com/docs/api-reference/responses-streaming).
 * A stream is read from its typed events — text, reasoning and function-call argument deltas, output
 * items, and the terminal `response.completed` / `response.incomplete` / `response.failed` with
 * status and usage. The terminal event's `response.output` (and a JSON body's) fills whatever the
 * deltas did not deliver. Function calls are recorded in chat-completions tool-call shape
 * (`{id: call_id, type: 'function', function: {name, arguments}}`); other tool items are not.
 * `finishReason` is the response `status` (`completed`, `incomplete`, `failed`, ...).
 */
import { type AssembledReply, isObject, type JsonObject, parseJson, type ReplyAssembler, stringOf, TextParts, type ToolCall, ToolCallBuilder } from './chat-reply.js';

const TERMINAL = new Set(['response.completed', 'response.incomplete', 'response.failed', 'response.cancelled']);

/** Text, reasoning and function calls of one response, from deltas or from `output` items. */
class OutputState {
  text = new TextParts();
  reasoningText = new TextParts();
  summary = new TextParts();
  calls = new Map<number | string, ToolCallBuilder>();
  readonly #itemKeys = new Map<string, number | string>();
  #summaryKey = '';

  call(outputIndex: unknown, itemId: unknown): ToolCallBuilder {
    const id = stringOf(itemId);
    const known = id === undefined ? undefined : this.#itemKeys.get(id);
    const key = known ?? (typeof outputIndex === 'number' ? outputIndex : (id ?? this.calls.size));
    let builder = this.calls.get(key);
    if (builder === undefined) {
      builder = new ToolCallBuilder();
      this.calls.set(key, builder);
    }
    if (id !== undefined) this.#itemKeys.set(id, key);
    return builder;
  }

  /**
   * An output item: from `response.output` (everything), or from a stream's `output_item` events
   * (`callsOnly`: their message and reasoning text already arrived as deltas).
   */
  item(item: unknown, outputIndex: unknown, callsOnly = false): void {
    if (!isObject(item)) return;
    if (item.type === 'function_call') {
      const call = this.call(outputIndex, item.id);
      call.id = stringOf(item.call_id) ?? stringOf(item.id) ?? call.id;
      if (typeof item.name === 'string' && item.name !== '') call.name = item.name;
      // `added` carries `arguments: ""`; `done` the whole text, which then wins over the deltas.
      if (typeof item.arguments === 'string' && item.arguments !== '') call.args.set(item.arguments);
    } else if (callsOnly) {
      return;
    } else if (item.type === 'message' && Array.isArray(item.content)) {
      for (const part of item.content as unknown[]) if (isObject(part) && part.type === 'output_text') this.text.push(part.text);
    } else if (item.type === 'reasoning') {
      this.#texts(item.summary, this.summary, '\n\n');
      this.#texts(item.content, this.reasoningText, '');
    }
  }

  summaryDelta(event: JsonObject): void {
    const key = `${String(event.item_id)}:${String(event.summary_index)}`;
    // Summary parts are separate paragraphs.
    if (key !== this.#summaryKey && !this.summary.empty) this.summary.push('\n\n');
    this.#summaryKey = key;
    this.summary.push(event.delta);
  }

  #texts(parts: unknown, target: TextParts, separator: string): void {
    if (!Array.isArray(parts)) return;
    for (const part of parts as unknown[]) {
      if (!isObject(part) || typeof part.text !== 'string') continue;
      if (!target.empty) target.push(separator);
      target.push(part.text);
    }
  }

  toolCalls(): ToolCall[] | null {
    return this.calls.size === 0 ? null : [...this.calls.values()].map((call) => call.result());
  }
}

/** `/v1/responses`, streamed or not. */
export function createResponsesAssembler(): ReplyAssembler {
  let out = new OutputState();
  let status: string | null = null;
  let usage: JsonObject | null = null;
  let usageModel: string | null = null;
  let error: unknown = null;
  let parsed = false;

  const applyResponse = (response: unknown, fromStream: boolean): void => {
    if (!isObject(response)) return;
    if (typeof response.status === 'string') status = response.status;
    if (isObject(response.usage)) {
      usage = response.usage;
      usageModel = typeof response.model === 'string' ? response.model : null;
    }
    if (response.error !== undefined && response.error !== null) error = response.error;
    if (!Array.isArray(response.output)) return;
    const full = new OutputState();
    (response.output as unknown[]).forEach((item, index) => full.item(item, index));
    if (!fromStream) {
      out = full;
      return;
    }
    // Deltas are what the client saw; `output` only fills what they lack.
    if (out.text.empty) out.text = full.text;
    if (out.reasoningText.empty) out.reasoningText = full.reasoningText;
    if (out.summary.empty) out.summary = full.summary;
    if (out.calls.size === 0) out.calls = full.calls;
  };

  const event = (type: string, data: string): void => {
    const body = parseJson(data);
    if (!isObject(body)) return;
    parsed = true;
    const kind = stringOf(body.type) ?? type;
    switch (kind) {
      case 'response.output_text.delta':
        out.text.push(body.delta);
        break;
      case 'response.reasoning_text.delta':
        out.reasoningText.push(body.delta);
        break;
      case 'response.reasoning_summary_text.delta':
        out.summaryDelta(body);
        break;
      case 'response.output_item.added':
      case 'response.output_item.done':
        out.item(body.item, body.output_index, true);
        break;
      case 'response.function_call_arguments.delta':
        out.call(body.output_index, body.item_id).args.push(body.delta);
        break;
      case 'response.function_call_arguments.done':
        if (typeof body.arguments === 'string') out.call(body.output_index, body.item_id).args.set(body.arguments);
        break;
      case 'error':
        error = body.error ?? { code: body.code ?? null, message: body.message ?? null, param: body.param ?? null };
        break;
      default:
        if (TERMINAL.has(kind) || kind === 'response.created' || kind === 'response.in_progress') applyResponse(body.response, true);
    }
  };

  return {
    event,
    hasParsed: () => parsed,
    json(body) {
      if (!isObject(body)) return;
      parsed = true;
      if (isObject(body.error) && body.output === undefined) error = body.error;
      else applyResponse(body, false);
    },
    result(): AssembledReply {
      return {
        assistant: out.text.text(),
        reasoning: out.reasoningText.text() ?? out.summary.text(),
        toolCalls: out.toolCalls(),
        finishReason: status,
        usage,
        usageModel,
        choices: null,
        error,
        parsed,
      };
    },
  };
}
