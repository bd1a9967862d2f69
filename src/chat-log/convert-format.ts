/**
 * One paired exchange → one output line of `aifwd convert` (DESIGN §6). Pure.
 *
 * - `openai`: OpenAI's fine-tuning chat format,
 *   `{"messages": [...request messages, {"role": "assistant", "content", "tool_calls"?}], "tools"?}`.
 * - `seed`: openai-forward 0.2.2's pairs,
 *   `[{"messages": [{"user": "hi"}], "model": "..."}, {"assistant": "...", "tool_calls"?}]`.
 *
 * An exchange without a usable reply (upstream error, abort, unparsed body, non-2xx status, no text
 * and no tool calls) or without a usable conversation is skipped, never written half.
 */
import { isObject, type JsonObject } from '../core/chat-reply.js';
import { contentText, requestMessages } from './convert-messages.js';

export type ConvertFormat = 'openai' | 'seed';

export const CONVERT_FORMATS: readonly ConvertFormat[] = ['openai', 'seed'];

export type FormatResult = { readonly line: string } | { readonly skip: string };

/** Why `response` is no usable reply, or `undefined` when it is one. */
export function unusableReason(response: JsonObject): string | undefined {
  if (response.aborted === true) return 'aborted';
  if (response.error !== undefined && response.error !== null) return 'error';
  if (response.unparsed === true) return 'unparsed';
  if (typeof response.status === 'number' && (response.status < 200 || response.status > 299)) return 'status';
  const hasText = typeof response.assistant === 'string' && response.assistant !== '';
  const hasCalls = Array.isArray(response.tool_calls) && response.tool_calls.length > 0;
  return hasText || hasCalls ? undefined : 'empty';
}

function toolCallsOf(response: JsonObject): unknown[] | undefined {
  return Array.isArray(response.tool_calls) && response.tool_calls.length > 0 ? (response.tool_calls as unknown[]) : undefined;
}

function openaiLine(request: JsonObject, response: JsonObject, messages: JsonObject[]): string {
  const assistant: JsonObject = { role: 'assistant' };
  if (typeof response.assistant === 'string' && response.assistant !== '') assistant.content = response.assistant;
  const toolCalls = toolCallsOf(response);
  if (toolCalls !== undefined) assistant.tool_calls = toolCalls;
  else assistant.content ??= '';
  const out: JsonObject = { messages: [...messages, assistant] };
  if (Array.isArray(request.tools) && request.tools.length > 0) out.tools = request.tools;
  if (typeof request.parallel_tool_calls === 'boolean') out.parallel_tool_calls = request.parallel_tool_calls;
  return JSON.stringify(out);
}

function seedLine(request: JsonObject, response: JsonObject, messages: JsonObject[]): string {
  const seedMessages = messages.map((message) => ({ [String(message.role ?? 'user')]: contentText(message.content) }));
  const reply: JsonObject = { assistant: typeof response.assistant === 'string' ? response.assistant : '' };
  const toolCalls = toolCallsOf(response);
  if (toolCalls !== undefined) reply.tool_calls = toolCalls;
  return JSON.stringify([{ messages: seedMessages, model: request.model ?? null }, reply]);
}

/** The output line for a request/response pair, or why it is skipped. */
export function formatPair(request: JsonObject, response: JsonObject, format: ConvertFormat): FormatResult {
  const unusable = unusableReason(response);
  if (unusable !== undefined) return { skip: unusable };
  if (request.unparsed === true) return { skip: 'unparsed request' };
  const messages = requestMessages(request);
  if (messages === undefined || messages.length === 0) return { skip: 'no conversation' };
  return { line: format === 'seed' ? seedLine(request, response, messages) : openaiLine(request, response, messages) };
}

/** A log line as a record, or `undefined` when it is not one (malformed). */
export function readRecord(line: string): { kind: 'request' | 'response'; uid: string; record: JsonObject } | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!isObject(value) || typeof value.uid !== 'string') return undefined;
  if (value.type !== 'request' && value.type !== 'response') return undefined;
  return { kind: value.type, uid: value.uid, record: value };
}
