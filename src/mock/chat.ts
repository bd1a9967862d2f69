/**
 * `POST /v1/chat/completions`: a `chat.completion` object, or with `"stream": true` a stream of
 * `chat.completion.chunk` events ending in `data: [DONE]`. Chunks are assembled from a per-request
 * prefix and a small delta, so a stream costs one short `JSON.stringify` per event.
 */
import type { JsonObject } from './body.js';
import { mockId, unixSeconds } from './ids.js';
import { sendJson, type MockExchange } from './reply.js';
import { modelOf, planReply, TOOL_ARGUMENT_PIECES, TOOL_ARGUMENTS, type ReplyPlan } from './script.js';
import { sendSse, type SseFrame } from './sse.js';

const SYSTEM_FINGERPRINT = 'fp_mock';

/** What identifies one completion across its chunks. */
interface ChatIdentity {
  readonly id: string;
  readonly created: number;
  readonly plan: ReplyPlan;
}

/** The `usage` object of a chat completion. */
export function chatUsage(plan: ReplyPlan): Record<string, unknown> {
  return {
    prompt_tokens: plan.promptTokens,
    completion_tokens: plan.completionTokens,
    total_tokens: plan.promptTokens + plan.completionTokens,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: plan.reasoningTokens,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

/** The non-stream `chat.completion` object. */
export function chatCompletion({ id, created, plan }: ChatIdentity): Record<string, unknown> {
  const message: Record<string, unknown> = {
    role: 'assistant',
    content: plan.toolCalls.length > 0 ? null : plan.pieces.join(''),
    refusal: null,
    annotations: [],
  };
  if (plan.reasoning.length > 0) message.reasoning_content = plan.reasoning.join('');
  if (plan.toolCalls.length > 0) {
    message.tool_calls = plan.toolCalls.map((call) => ({
      id: call.callId,
      type: 'function',
      function: { name: call.name, arguments: TOOL_ARGUMENTS },
    }));
  }
  return {
    id,
    object: 'chat.completion',
    created,
    model: plan.model,
    choices: [{
      index: 0,
      message,
      logprobs: null,
      finish_reason: plan.toolCalls.length > 0 ? 'tool_calls' : 'stop',
    }],
    usage: chatUsage(plan),
    service_tier: 'default',
    system_fingerprint: SYSTEM_FINGERPRINT,
  };
}

/** The frames of a streamed chat completion, in order. */
export function chatFrames({ id, created, plan }: ChatIdentity, includeUsage: boolean): SseFrame[] {
  const head = `{"id":"${id}","object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(plan.model)},` +
    `"service_tier":"default","system_fingerprint":"${SYSTEM_FINGERPRINT}","choices":[{"index":0,"delta":`;
  // With include_usage every chunk carries "usage": null, as OpenAI sends it.
  const end = includeUsage ? ',"usage":null}' : '}';
  const chunk = (delta: string, finish: string | null = null): string =>
    `${head}${delta},"logprobs":null,"finish_reason":${finish === null ? 'null' : `"${finish}"`}}]${end}`;
  const tools = plan.toolCalls.length > 0;
  const frames: SseFrame[] = [{
    kind: 'meta',
    data: chunk(tools ? '{"role":"assistant","content":null,"refusal":null}' : '{"role":"assistant","content":"","refusal":null}'),
  }];
  for (const piece of plan.reasoning) {
    frames.push({ kind: 'delta', data: chunk(JSON.stringify({ reasoning_content: piece })) });
  }
  for (const piece of plan.pieces) {
    frames.push({ kind: 'delta', data: chunk(JSON.stringify({ content: piece })) });
  }
  plan.toolCalls.forEach((call, index) => {
    const first = { tool_calls: [{ index, id: call.callId, type: 'function', function: { name: call.name, arguments: '' } }] };
    frames.push({ kind: 'delta', data: chunk(JSON.stringify(first)) });
    for (const piece of TOOL_ARGUMENT_PIECES) {
      frames.push({ kind: 'delta', data: chunk(JSON.stringify({ tool_calls: [{ index, function: { arguments: piece } }] })) });
    }
  });
  frames.push({ kind: 'tail', data: chunk('{}', tools ? 'tool_calls' : 'stop') });
  if (includeUsage) {
    frames.push({
      kind: 'tail',
      data: JSON.stringify({
        id, object: 'chat.completion.chunk', created, model: plan.model, service_tier: 'default',
        system_fingerprint: SYSTEM_FINGERPRINT, choices: [], usage: chatUsage(plan),
      }),
    });
  }
  frames.push({ kind: 'tail', data: '[DONE]' });
  return frames;
}

/** True when the body asks for `stream_options.include_usage`. */
export function includeUsageOf(body: JsonObject): boolean {
  const options = body.stream_options;
  return typeof options === 'object' && options !== null && (options as JsonObject).include_usage === true;
}

/** Handles `POST /v1/chat/completions` with an already parsed body. */
export function handleChat(ex: MockExchange, body: JsonObject): void {
  const identity: ChatIdentity = {
    id: mockId('chatcmpl-'),
    created: unixSeconds(),
    plan: planReply(ex.steering, modelOf(body), ex.body.length),
  };
  if (body.stream === true) sendSse(ex, chatFrames(identity, includeUsageOf(body)));
  else sendJson(ex, 200, chatCompletion(identity));
}
