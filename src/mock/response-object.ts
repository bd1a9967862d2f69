/**
 * The Responses API `response` object and its output items. A reply is an optional reasoning
 * item, then either one message with `output_text` or one `function_call` item per steered tool
 * call. The endpoint and its event stream live in responses.ts.
 */
import type { JsonObject } from './body.js';
import { mockId, unixSeconds } from './ids.js';
import type { MockExchange } from './reply.js';
import { modelOf, planReply, TOOL_ARGUMENTS, type ReplyPlan } from './script.js';

/** One output item of a planned response. */
export type ItemPlan =
  | { readonly type: 'reasoning'; readonly id: string; readonly pieces: readonly string[] }
  | { readonly type: 'message'; readonly id: string; readonly pieces: readonly string[] }
  | { readonly type: 'function_call'; readonly id: string; readonly callId: string; readonly name: string };

/** Everything one response contains. */
export interface ResponsePlan {
  readonly id: string;
  readonly createdAt: number;
  readonly reply: ReplyPlan;
  readonly items: readonly ItemPlan[];
  /** The request, whose settings (instructions, tools, temperature, …) the response echoes. */
  readonly request: JsonObject;
}

/** Plans the output items of a response. */
export function planResponse(ex: MockExchange, request: JsonObject): ResponsePlan {
  const reply = planReply(ex.steering, modelOf(request), ex.body.length);
  const items: ItemPlan[] = [];
  if (reply.reasoning.length > 0) items.push({ type: 'reasoning', id: mockId('rs_'), pieces: reply.reasoning });
  if (reply.toolCalls.length > 0) {
    for (const call of reply.toolCalls) {
      items.push({ type: 'function_call', id: mockId('fc_'), callId: call.callId, name: call.name });
    }
  } else {
    items.push({ type: 'message', id: mockId('msg_'), pieces: reply.pieces });
  }
  return { id: mockId('resp_'), createdAt: unixSeconds(), reply, items, request };
}

/** The `output_text` content part of a message with the given text. */
export function outputText(text: string): Record<string, unknown> {
  return { type: 'output_text', annotations: [], logprobs: [], text };
}

/** An output item in its completed form. */
export function completedItem(item: ItemPlan): Record<string, unknown> {
  switch (item.type) {
    case 'reasoning':
      return { id: item.id, type: 'reasoning', summary: [{ type: 'summary_text', text: item.pieces.join('') }] };
    case 'message':
      return {
        id: item.id, type: 'message', status: 'completed', role: 'assistant',
        content: [outputText(item.pieces.join(''))],
      };
    case 'function_call':
      return {
        id: item.id, type: 'function_call', status: 'completed',
        arguments: TOOL_ARGUMENTS, call_id: item.callId, name: item.name,
      };
  }
}

/** The `usage` object of a response. */
export function responseUsage(reply: ReplyPlan): Record<string, unknown> {
  return {
    input_tokens: reply.promptTokens,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: reply.completionTokens,
    output_tokens_details: { reasoning_tokens: reply.reasoningTokens },
    total_tokens: reply.promptTokens + reply.completionTokens,
  };
}

function setting(request: JsonObject, key: string, fallback: unknown): unknown {
  const value = request[key];
  return value === undefined ? fallback : value;
}

/**
 * The `response` object: while `in_progress` (stream start) with no output and no usage, once
 * `completed` with every item and usage.
 */
export function responseObject(plan: ResponsePlan, status: 'in_progress' | 'completed'): Record<string, unknown> {
  const { request } = plan;
  const done = status === 'completed';
  return {
    id: plan.id,
    object: 'response',
    created_at: plan.createdAt,
    status,
    background: false,
    error: null,
    incomplete_details: null,
    instructions: setting(request, 'instructions', null),
    max_output_tokens: setting(request, 'max_output_tokens', null),
    model: plan.reply.model,
    output: done ? plan.items.map(completedItem) : [],
    parallel_tool_calls: setting(request, 'parallel_tool_calls', true),
    previous_response_id: setting(request, 'previous_response_id', null),
    reasoning: setting(request, 'reasoning', { effort: null, summary: null }),
    service_tier: 'default',
    store: setting(request, 'store', true),
    temperature: setting(request, 'temperature', 1),
    text: setting(request, 'text', { format: { type: 'text' } }),
    tool_choice: setting(request, 'tool_choice', 'auto'),
    tools: setting(request, 'tools', []),
    top_p: setting(request, 'top_p', 1),
    truncation: setting(request, 'truncation', 'disabled'),
    usage: done ? responseUsage(plan.reply) : null,
    user: setting(request, 'user', null),
    metadata: setting(request, 'metadata', {}),
  };
}
