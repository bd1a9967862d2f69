/**
 * `POST /v1/completions` (the legacy text completions API): a `text_completion` object, or with
 * `"stream": true` `text_completion` chunks whose `choices[0].text` are the deltas, then `[DONE]`.
 */
import type { JsonObject } from './body.js';
import { includeUsageOf } from './chat.js';
import { mockId, unixSeconds } from './ids.js';
import { sendJson, type MockExchange } from './reply.js';
import { modelOf, planReply, type ReplyPlan } from './script.js';
import { sendSse, type SseFrame } from './sse.js';

const SYSTEM_FINGERPRINT = 'fp_mock';

/** The `usage` object of a text completion. */
function completionUsage(plan: ReplyPlan): Record<string, number> {
  return {
    prompt_tokens: plan.promptTokens,
    completion_tokens: plan.completionTokens,
    total_tokens: plan.promptTokens + plan.completionTokens,
  };
}

/** The non-stream `text_completion` object. */
export function textCompletion(id: string, created: number, plan: ReplyPlan): Record<string, unknown> {
  return {
    id,
    object: 'text_completion',
    created,
    model: plan.model,
    system_fingerprint: SYSTEM_FINGERPRINT,
    choices: [{ text: plan.pieces.join(''), index: 0, logprobs: null, finish_reason: 'stop' }],
    usage: completionUsage(plan),
  };
}

/** The frames of a streamed text completion, in order. */
export function completionFrames(id: string, created: number, plan: ReplyPlan, includeUsage: boolean): SseFrame[] {
  const head = `{"id":"${id}","object":"text_completion","created":${created},"choices":[{"text":`;
  const tail = `,"model":${JSON.stringify(plan.model)},"system_fingerprint":"${SYSTEM_FINGERPRINT}"${includeUsage ? ',"usage":null' : ''}}`;
  const chunk = (text: string, finish: string | null): string =>
    `${head}${JSON.stringify(text)},"index":0,"logprobs":null,"finish_reason":${finish === null ? 'null' : `"${finish}"`}}]${tail}`;
  const frames: SseFrame[] = plan.pieces.map((piece) => ({ kind: 'delta', data: chunk(piece, null) }));
  frames.push({ kind: 'tail', data: chunk('', 'stop') });
  if (includeUsage) {
    frames.push({
      kind: 'tail',
      data: JSON.stringify({
        id, object: 'text_completion', created, choices: [], model: plan.model,
        system_fingerprint: SYSTEM_FINGERPRINT, usage: completionUsage(plan),
      }),
    });
  }
  frames.push({ kind: 'tail', data: '[DONE]' });
  return frames;
}

/** Handles `POST /v1/completions` with an already parsed body. */
export function handleCompletions(ex: MockExchange, body: JsonObject): void {
  // Tool calls and reasoning do not exist in this API: only the text steering applies.
  const { steering } = ex;
  const textOnly = steering.toolCalls.length === 0 && !steering.reasoning
    ? steering : { ...steering, toolCalls: [], reasoning: false };
  const plan = planReply(textOnly, modelOf(body), ex.body.length);
  const id = mockId('cmpl-');
  const created = unixSeconds();
  if (body.stream === true) sendSse(ex, completionFrames(id, created, plan, includeUsageOf(body)));
  else sendJson(ex, 200, textCompletion(id, created, plan));
}
