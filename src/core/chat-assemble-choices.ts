/**
 * Assemblers for the two `choices`-shaped APIs: `/v1/chat/completions` (`delta` / `message` with
 * content, reasoning and tool calls) and `/v1/completions` (`text`). A stream and a JSON body go
 * through the same code: a stream chunk's `delta` and a body's `message` carry the same fields.
 */
import { type AssembledReply, type ChoiceBuilder, Choices, isObject, type JsonObject, parseJson, type ReplyAssembler, type TextParts } from './chat-reply.js';

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
function choicesAssembler(read: ChoiceReader): ReplyAssembler {
  const choices = new Choices();
  let usage: JsonObject | null = null;
  let error: unknown = null;
  let parsed = false;

  const take = (body: unknown): void => {
    if (!isObject(body)) return;
    parsed = true;
    // The usage chunk (`stream_options.include_usage`) has empty `choices` and the totals.
    if (isObject(body.usage)) usage = body.usage;
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
      take(parseJson(data));
    },
    json: take,
    result(): AssembledReply {
      return { ...choices.result(), usage, error, parsed };
    },
  };
}

/** `/v1/chat/completions`: stream chunks carry `delta`, a JSON body `message`. */
export function createChatCompletionsAssembler(): ReplyAssembler {
  return choicesAssembler((choice, raw) => {
    if (isObject(raw.delta)) applyMessage(choice, raw.delta);
    else if (isObject(raw.message)) applyMessage(choice, raw.message);
  });
}

/** `/v1/completions`: every choice carries `text`, in a stream chunk and in a JSON body alike. */
export function createCompletionsAssembler(): ReplyAssembler {
  return choicesAssembler((choice, raw) => choice.content.push(raw.text));
}
