/**
 * What the mock "generates": deterministic text pieces, reasoning pieces, tool calls and token
 * counts, derived only from the steering headers and the request size, so a stream and a JSON
 * reply for the same headers always tell the same story.
 */
import { mockId } from './ids.js';
import type { MockSteering } from './steering.js';

/** Model named in replies when the request does not name one. */
export const DEFAULT_MODEL = 'gpt-4o-mini';

/** The default reply, "Hello from the aifwd mock upstream!", in 8 pieces. */
export const DEFAULT_PIECES: readonly string[] = Object.freeze(
  ['Hello', ' from', ' the', ' ai', 'fwd', ' mock', ' upstream', '!'],
);

/** Reasoning text sent before the answer with `x-mock-reasoning: true`, in pieces. */
export const REASONING_PIECES: readonly string[] = Object.freeze(['Thinking', ' about', ' it.']);

/** Arguments of every mock function call. */
export const TOOL_ARGUMENTS = '{"city":"Paris"}';

/** {@link TOOL_ARGUMENTS} split as a stream sends it. */
export const TOOL_ARGUMENT_PIECES: readonly string[] = Object.freeze(['{"city"', ':"Par', 'is"}']);

/** One function call of a reply. */
export interface ToolCallPlan {
  /** `call_…` id shared by the chat `tool_calls[].id` and the Responses `call_id`. */
  readonly callId: string;
  readonly name: string;
}

/** Everything one reply contains. */
export interface ReplyPlan {
  readonly model: string;
  /** Content pieces; empty when the reply is tool calls. */
  readonly pieces: readonly string[];
  readonly reasoning: readonly string[];
  readonly toolCalls: readonly ToolCallPlan[];
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly reasoningTokens: number;
}

const tokPieceCache: string[] = [];

/** The content pieces for `x-mock-chunks: n`: `"tok0 "`, `"tok1 "`, … */
export function tokPieces(n: number): readonly string[] {
  for (let i = tokPieceCache.length; i < n && i < 4096; i++) tokPieceCache.push(`tok${i} `);
  if (n <= tokPieceCache.length) return tokPieceCache.slice(0, n);
  const out = tokPieceCache.slice();
  for (let i = out.length; i < n; i++) out.push(`tok${i} `);
  return out;
}

/** The model a reply names: the request's `model` if it is a non-empty string. */
export function modelOf(body: Readonly<Record<string, unknown>>): string {
  const model = body.model;
  return typeof model === 'string' && model !== '' ? model : DEFAULT_MODEL;
}

/** A rough, deterministic prompt size: about four bytes of request body per token. */
export function promptTokensOf(bodyBytes: number): number {
  return Math.max(1, Math.ceil(bodyBytes / 4));
}

/** Plans one reply from the steering headers, the request's model and its body size. */
export function planReply(steering: MockSteering, model: string, bodyBytes: number): ReplyPlan {
  const toolCalls = steering.toolCalls.map((name) => ({ callId: mockId('call_'), name }));
  const pieces = toolCalls.length > 0 ? []
    : steering.chunks === undefined ? DEFAULT_PIECES : tokPieces(steering.chunks);
  const reasoning = steering.reasoning ? REASONING_PIECES : [];
  const reasoningTokens = reasoning.length;
  const answerTokens = toolCalls.length > 0 ? toolCalls.length * (TOOL_ARGUMENT_PIECES.length + 2) : pieces.length;
  return {
    model,
    pieces,
    reasoning,
    toolCalls,
    promptTokens: promptTokensOf(bodyBytes),
    completionTokens: answerTokens + reasoningTokens,
    reasoningTokens,
  };
}
