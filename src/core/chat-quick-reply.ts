/**
 * The common non-stream reply — one choice with a plain text message — read straight from the
 * parsed body, without the general assemblers (chat-assemble-choices.ts) and the builders they
 * allocate per choice. It gives exactly what the general path gives for such a body, and answers
 * `undefined` for anything it does not cover, so the caller falls back to the general path: several
 * choices, a `delta` in a JSON body, content as an array of parts, tool calls, a `function_call`,
 * and every `/v1/responses` body.
 */
import type { ChatApi } from './chat-api.js';
import { type AssembledReply, isObject, type JsonObject } from './chat-reply.js';

/** A text as the assemblers record it: only a non-empty string counts, anything else is `null`. */
function textOf(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

/** What the general path would put in `assistant` / `reasoning` for this choice, or `undefined`. */
function readChoice(api: 'chat' | 'completions', choice: JsonObject): { assistant: string | null; reasoning: string | null } | undefined {
  if (api === 'completions') return { assistant: textOf(choice.text), reasoning: null };
  if (isObject(choice.delta)) return undefined;
  const message = choice.message;
  if (!isObject(message)) return { assistant: null, reasoning: null };
  if (Array.isArray(message.content) || Array.isArray(message.tool_calls) || isObject(message.function_call)) return undefined;
  // As applyMessage: `reasoning_content` (DeepSeek, vLLM) wins over `reasoning` (OpenRouter).
  const reasoning = typeof message.reasoning_content === 'string' ? message.reasoning_content : message.reasoning;
  return { assistant: textOf(message.content), reasoning: textOf(reasoning) };
}

/**
 * The reply of a parsed non-stream body of `api` when it is the common simple case (see the file
 * comment), else `undefined`.
 */
export function quickReply(api: ChatApi, body: unknown): AssembledReply | undefined {
  if (api === 'responses' || !isObject(body)) return undefined;
  const choices = body.choices;
  let read: { assistant: string | null; reasoning: string | null } | undefined = { assistant: null, reasoning: null };
  let finishReason: string | null = null;
  if (Array.isArray(choices) && choices.length > 0) {
    if (choices.length > 1) return undefined;
    const choice: unknown = choices[0];
    // The general path skips a choice that is not an object: nothing to read then.
    if (isObject(choice)) {
      read = readChoice(api, choice);
      if (read === undefined) return undefined;
      if (typeof choice.finish_reason === 'string') finishReason = choice.finish_reason;
    }
  }
  const error = body.error;
  return {
    assistant: read.assistant,
    reasoning: read.reasoning,
    toolCalls: null,
    finishReason,
    usage: isObject(body.usage) ? body.usage : null,
    usageModel: isObject(body.usage) && typeof body.model === 'string' ? body.model : null,
    choices: null,
    error: error === undefined || error === null ? null : error,
    parsed: true,
  };
}
