/**
 * The conversation of a request record as chat messages, whatever API it used: chat completions'
 * `messages` as they are; a completions `prompt` as one user message; a responses `instructions` +
 * `input` (a string, or message / function_call / function_call_output items) mapped to the chat
 * shapes of OpenAI's fine-tuning format. Pure.
 */
import { isObject, type JsonObject, stringOf } from '../core/chat-reply.js';

/** Which API a request record came from: by its route, else by its conversation field. */
function apiOf(request: JsonObject): 'chat' | 'completions' | 'responses' | undefined {
  if (request.route === '/v1/chat/completions' || (request.route === undefined && request.messages !== undefined)) return 'chat';
  if (request.route === '/v1/completions' || (request.route === undefined && request.prompt !== undefined)) return 'completions';
  if (request.route === '/v1/responses' || (request.route === undefined && request.input !== undefined)) return 'responses';
  return undefined;
}

const TEXT_PARTS = new Set(['input_text', 'output_text', 'text']);

/** Responses content parts → a string when all are text, else chat content parts. */
function mapContent(content: unknown): unknown {
  if (!Array.isArray(content)) return content;
  const parts = content as unknown[];
  if (parts.every((part) => isObject(part) && TEXT_PARTS.has(String(part.type)))) {
    return parts.map((part) => String((part as JsonObject).text ?? '')).join('');
  }
  const mapped: JsonObject[] = [];
  for (const part of parts) {
    if (!isObject(part)) continue;
    if (TEXT_PARTS.has(String(part.type))) mapped.push({ type: 'text', text: part.text });
    else if (part.type === 'input_image' && typeof part.image_url === 'string') mapped.push({ type: 'image_url', image_url: { url: part.image_url } });
  }
  return mapped;
}

function responsesMessages(request: JsonObject): JsonObject[] | undefined {
  const messages: JsonObject[] = [];
  const instructions = stringOf(request.instructions);
  if (instructions !== undefined && instructions !== '') messages.push({ role: 'system', content: instructions });
  const input = request.input;
  if (typeof input === 'string') {
    messages.push({ role: 'user', content: input });
    return messages;
  }
  if (!Array.isArray(input)) return undefined;
  for (const item of input as unknown[]) {
    if (!isObject(item)) continue;
    if (typeof item.role === 'string' && (item.type === undefined || item.type === 'message')) {
      messages.push({ role: item.role === 'developer' ? 'system' : item.role, content: mapContent(item.content) });
    } else if (item.type === 'function_call') {
      const call = { id: item.call_id ?? item.id ?? null, type: 'function', function: { name: item.name ?? '', arguments: item.arguments ?? '' } };
      const last = messages[messages.length - 1];
      // Parallel calls are one assistant turn in chat shape.
      if (last?.role === 'assistant' && Array.isArray(last.tool_calls)) (last.tool_calls as unknown[]).push(call);
      else messages.push({ role: 'assistant', tool_calls: [call] });
    } else if (item.type === 'function_call_output') {
      const output = typeof item.output === 'string' ? item.output : JSON.stringify(item.output ?? null);
      messages.push({ role: 'tool', tool_call_id: item.call_id ?? null, content: output });
    }
  }
  return messages;
}

/** The request's conversation as chat messages, or `undefined` when it has none usable. */
export function requestMessages(request: JsonObject): JsonObject[] | undefined {
  switch (apiOf(request)) {
    case 'chat':
      return Array.isArray(request.messages) ? (request.messages as unknown[]).filter(isObject) : undefined;
    case 'completions': {
      const prompt = Array.isArray(request.prompt) && request.prompt.length === 1 ? (request.prompt as unknown[])[0] : request.prompt;
      return typeof prompt === 'string' ? [{ role: 'user', content: prompt }] : undefined;
    }
    case 'responses':
      return responsesMessages(request);
    default:
      return undefined;
  }
}

/** Text of a message's content (parts joined), for the seed's `{role: text}` shape. */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return content === null || content === undefined ? '' : JSON.stringify(content);
  return (content as unknown[])
    .map((part) => (isObject(part) && typeof part.text === 'string' ? part.text : ''))
    .join('');
}
