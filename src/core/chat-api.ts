/**
 * The recorded APIs (DESIGN §6): which routes are chat exchanges, and the assembler for each.
 */
import { createChatCompletionsAssembler, createCompletionsAssembler } from './chat-assemble-choices.js';
import { createResponsesAssembler } from './chat-assemble-responses.js';
import type { ReplyAssembler } from './chat-reply.js';

export type ChatApi = 'chat' | 'completions' | 'responses';

/** Routes (after the prefix, exact) that the chat log records, for `POST` only. */
export const CHAT_ROUTES: ReadonlyMap<string, ChatApi> = new Map<string, ChatApi>([
  ['/v1/chat/completions', 'chat'],
  ['/v1/completions', 'completions'],
  ['/v1/responses', 'responses'],
]);

/** The recorded API of a request, or `undefined` when it is not recorded. */
export function chatApiOf(method: string, route: string): ChatApi | undefined {
  return method === 'POST' ? CHAT_ROUTES.get(route) : undefined;
}

/** A fresh assembler for one response of `api`. */
export function createAssembler(api: ChatApi): ReplyAssembler {
  if (api === 'chat') return createChatCompletionsAssembler();
  if (api === 'completions') return createCompletionsAssembler();
  return createResponsesAssembler();
}
