/**
 * Assemblers for the two `choices`-shaped APIs: `/v1/chat/completions` (`delta` / `message` with
 * content, reasoning and tool calls) and `/v1/completions` (`text`). A stream and a JSON body go
 * through the same code: a stream chunk's `delta` and a body's `message` carry the same fields.
 */
import { ChunkTemplate, type ChunkKind } from './chat-chunk-template.js';
import { type AssembledReply, type ChoiceBuilder, Choices, isObject, type JsonObject, parseJson, type ReplyAssembler, type TextParts } from './chat-reply.js';

/**
 * Templates learned in a row whose next chunk did not match them: past this, the stream's chunks
 * differ in more than their text (per-chunk ids, log probabilities) and learning is given up.
 */
const MAX_TEMPLATE_MISSES = 3;

/** `content` is a string, or (some providers, multimodal echoes) a list of `{type: 'text', text}` parts. */
function pushContent(target: TextParts, content: unknown): void {
  if (typeof content === 'string') {
    target.push(content);
    return;
  }
  if (!Array.isArray(content)) return;
  for (const part of content as unknown[]) if (isObject(part) && typeof part.text === 'string') target.push(part.text);
}

function applyMessage(choice: ChoiceBuilder, message: JsonObject): void {
  pushContent(choice.content, message.content);
  // DeepSeek, vLLM and others send `reasoning_content`, OpenRouter `reasoning`; a few send both (same text).
  if (typeof message.reasoning_content === 'string') choice.reasoning.push(message.reasoning_content);
  else choice.reasoning.push(message.reasoning);
  choice.toolCalls.merge(message.tool_calls);
  // The deprecated `functions` API: one call, recorded like a tool call.
  if (isObject(message.function_call)) choice.toolCalls.merge([{ index: 0, type: 'function', function: message.function_call }]);
}

type ChoiceReader = (choice: ChoiceBuilder, raw: JsonObject) => void;

/** Shared body of both assemblers: usage, error and per-choice fields via `read`. */
function choicesAssembler(kind: ChunkKind, read: ChoiceReader): ReplyAssembler {
  const choices = new Choices();
  let usage: JsonObject | null = null;
  /** The last `model` a parsed chunk named, and the one current when the usage came. */
  let model: string | null = null;
  let usageModel: string | null = null;
  let error: unknown = null;
  let parsed = false;
  // Stream chunks that differ from a parsed one only in their text skip JSON.parse (chat-chunk-template.ts).
  let template: ChunkTemplate | undefined;
  let misses = 0;

  const take = (body: unknown): void => {
    if (!isObject(body)) return;
    parsed = true;
    // The usage chunk (`stream_options.include_usage`) has empty `choices` and the totals.
    if (typeof body.model === 'string') model = body.model;
    if (isObject(body.usage)) {
      usage = body.usage;
      usageModel = model;
    }
    if (body.error !== undefined && body.error !== null) error = body.error;
    if (!Array.isArray(body.choices)) return;
    (body.choices as unknown[]).forEach((raw, position) => {
      if (!isObject(raw)) return;
      const choice = choices.get(raw.index, position);
      read(choice, raw);
      if (typeof raw.finish_reason === 'string') choice.finishReason = raw.finish_reason;
    });
  };

  return {
    event(_type, data) {
      if (data === '[DONE]') return;
      if (template !== undefined) {
        const text = template.match(data);
        if (text !== undefined) {
          parsed = true;
          const choice = choices.get(template.index, 0);
          choice[template.target].push(text);
          if (template.finishReason !== null) choice.finishReason = template.finishReason;
          misses = 0;
          return;
        }
      }
      const body = parseJson(data);
      take(body);
      if (misses >= MAX_TEMPLATE_MISSES) return;
      const learned = ChunkTemplate.learn(kind, data, body);
      if (learned === undefined) return;
      if (template !== undefined) misses++;
      template = learned;
    },
    json: take,
    hasParsed: () => parsed,
    result(): AssembledReply {
      // Fields listed, not spread: spreading made this the costliest call of a stream's record.
      const main = choices.result();
      return {
        assistant: main.assistant,
        reasoning: main.reasoning,
        toolCalls: main.toolCalls,
        finishReason: main.finishReason,
        usage,
        usageModel,
        choices: main.choices,
        error,
        parsed,
      };
    },
  };
}

/** `/v1/chat/completions`: stream chunks carry `delta`, a JSON body `message`. */
export function createChatCompletionsAssembler(): ReplyAssembler {
  return choicesAssembler('chat', (choice, raw) => {
    if (isObject(raw.delta)) applyMessage(choice, raw.delta);
    else if (isObject(raw.message)) applyMessage(choice, raw.message);
  });
}

/** `/v1/completions`: every choice carries `text`, in a stream chunk and in a JSON body alike. */
export function createCompletionsAssembler(): ReplyAssembler {
  return choicesAssembler('completions', (choice, raw) => choice.content.push(raw.text));
}
