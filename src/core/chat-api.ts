/**
 * The recorded APIs (DESIGN §6): which routes are chat exchanges, and the assembler for each.
 */
import { createChatCompletionsAssembler, createCompletionsAssembler } from './chat-assemble-choices.js';
import { createResponsesAssembler } from './chat-assemble-responses.js';
import type { ReplyAssembler } from './chat-reply.js';

export type ChatApi = 'chat' | 'completions' | 'responses';

/** The route (after the prefix, exact) of each recorded API, for `POST` only. */
export const CHAT_ROUTES: Readonly<Record<ChatApi, string>> = {
  chat: '/v1/chat/completions',
  completions: '/v1/completions',
  responses: '/v1/responses',
};

/**
 * The recorded API of a request, or `undefined` when it is not recorded. Compared as text, not
 * looked up in a Map: the route is a fresh string per request, which a Map hashes first and then
 * compares in V8's runtime (0.15 µs per request under load, measured with `perf`). Not with `===`
 * either: the route is a slice of the request's head, and V8 compares a sliced string with
 * another in its runtime too (`String::SlowEquals`: 0.09–0.16 µs per exchange in place, cpu-prof
 * and perf on 2026-11-28), while `indexOf` reads it where it lies (by hand, 20 ns less per call).
 */
export function chatApiOf(method: string, route: string): ChatApi | undefined {
  if (method !== 'POST') return undefined;
  const n = route.length;
  if (n === CHAT_ROUTES.chat.length && route.indexOf(CHAT_ROUTES.chat) === 0) return 'chat';
  if (n === CHAT_ROUTES.completions.length && route.indexOf(CHAT_ROUTES.completions) === 0) return 'completions';
  if (n === CHAT_ROUTES.responses.length && route.indexOf(CHAT_ROUTES.responses) === 0) return 'responses';
  return undefined;
}

/** A fresh assembler for one response of `api`. */
export function createAssembler(api: ChatApi): ReplyAssembler {
  if (api === 'chat') return createChatCompletionsAssembler();
  if (api === 'completions') return createCompletionsAssembler();
  return createResponsesAssembler();
}
