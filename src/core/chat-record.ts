/**
 * The two chat-log records of an exchange (DESIGN §6), joined by `uid`. Pure: plain values in, a
 * plain object out; the caller serialises it as one JSON line.
 *
 * - `time` is ISO-8601 UTC with milliseconds (`2025-01-31T12:00:00.123Z`): the request's arrival
 *   for the request record, the end of the exchange for the response record.
 * - The request record copies the body's fields (conversation and sampling parameters) except
 *   credentials some clients put in bodies; nothing ever comes from headers.
 * - The response record always carries every contract field (`null` when absent), plus `choices`
 *   (`n > 1`), `error`, `aborted`, `unparsed` / `raw` / `reason` and `truncated` when they apply.
 */
import type { ExchangeEnd } from './exchange.js';
import { type AssembledReply, isObject, type JsonObject, parseJson } from './chat-reply.js';

/** How much of a body that is not JSON the record keeps. */
export const RAW_EXCERPT_BYTES = 2048;

/**
 * Body fields never copied: credentials (`api_key`, `openai_api_key`, `client_secret`, ...) and
 * header bags some SDKs send along. Whole words only, so `max_tokens` stays.
 */
const SECRET_FIELD = /^(?:authorization|auth|token|access[-_]?token|secret|password|credentials?|headers|extra[-_]headers)$|(?:^|[-_])(?:api[-_]?key|secret|password)$/i;

/** Conversation fields, written right after `stream` in this order. */
const CONVERSATION_FIELDS = ['messages', 'prompt', 'input'] as const;
const LEADING_FIELDS = new Set<string>(['model', 'stream', ...CONVERSATION_FIELDS]);

/** True for a body field the request record leaves out. */
export function isSecretField(name: string): boolean {
  return SECRET_FIELD.test(name);
}

/** The first `max` bytes of a body as text (a character cut in half becomes U+FFFD). */
export function excerpt(body: Buffer, max = RAW_EXCERPT_BYTES): string {
  return body.toString('utf8', 0, Math.min(max, body.length));
}

export interface RequestRecordInput {
  uid: string;
  /** When the request arrived (epoch ms). */
  startedAt: number;
  ip: string;
  route: string;
  /** The request body; `undefined` when there was none or it never arrived. */
  body: Buffer | undefined;
}

/** The `request` record: envelope, `model`, `stream`, conversation, then the remaining body fields. */
export function buildRequestRecord({ uid, startedAt, ip, route, body }: RequestRecordInput): JsonObject {
  const record: JsonObject = { type: 'request', uid, time: new Date(startedAt).toISOString(), ip, route };
  const parsed = body === undefined || body.length === 0 ? undefined : parseJson(body.toString('utf8'));
  if (!isObject(parsed)) {
    record.model = null;
    record.stream = null;
    record.unparsed = true;
    record.raw = body === undefined ? '' : excerpt(body);
    return record;
  }
  record.model = typeof parsed.model === 'string' ? parsed.model : null;
  record.stream = parsed.stream === true;
  for (const field of CONVERSATION_FIELDS) if (parsed[field] !== undefined) record[field] = parsed[field];
  for (const [name, value] of Object.entries(parsed)) {
    if (!LEADING_FIELDS.has(name) && !isSecretField(name)) record[name] = value;
  }
  return record;
}

export interface ResponseRecordInput {
  uid: string;
  /** When the exchange ended (epoch ms). */
  endedAt: number;
  /** HTTP status the client got; `null` when it got none (aborted before the response). */
  status: number | null;
  /** What the body or stream said; `null` when there was no body to read. */
  reply: AssembledReply | null;
  /** First response byte since the request arrived; `null` when none came. */
  ttftMs: number | null;
  durationMs: number;
  outcome: ExchangeEnd;
  /** A body that could not be interpreted: an excerpt and why. */
  unparsed?: { raw: string; reason: string };
  /** The body was larger than the collector keeps. */
  truncated?: boolean;
}

/** The `response` record. */
export function buildResponseRecord(input: ResponseRecordInput): JsonObject {
  const { reply, outcome } = input;
  const record: JsonObject = {
    type: 'response',
    uid: input.uid,
    time: new Date(input.endedAt).toISOString(),
    status: input.status,
    assistant: reply?.assistant ?? null,
    tool_calls: reply?.toolCalls ?? null,
    reasoning: reply?.reasoning ?? null,
    finish_reason: reply?.finishReason ?? null,
    usage: reply?.usage ?? null,
    ttft_ms: input.ttftMs,
    duration_ms: input.durationMs,
  };
  if (reply?.choices) record.choices = reply.choices;
  if (outcome.kind === 'error') record.error = { message: outcome.message, code: outcome.code };
  else if (reply !== null && reply.error !== null && reply.error !== undefined) record.error = reply.error;
  if (outcome.kind === 'aborted') record.aborted = true;
  if (input.unparsed !== undefined) {
    record.unparsed = true;
    record.reason = input.unparsed.reason;
    record.raw = input.unparsed.raw;
  }
  if (input.truncated === true) record.truncated = true;
  return record;
}
