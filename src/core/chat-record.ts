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
import { Buffer, isUtf8 } from 'node:buffer';
import type { ExchangeEnd } from './exchange.js';
import { type AssembledReply, isObject, type JsonObject, parseJson } from './chat-reply.js';
import { isoTime } from './chat-time.js';

/** How much of a body that is not JSON the record keeps. */
export const RAW_EXCERPT_BYTES = 2048;

/**
 * Body fields never copied: credentials (`api_key`, `openai_api_key`, `client_secret`, ...) and
 * header bags some SDKs send along. Whole words only, so `max_tokens` stays.
 */
const SECRET_FIELD = /^(?:authorization|auth|token|access[-_]?token|secret|password|credentials?|headers|extra[-_]headers)$|(?:^|[-_])(?:api[-_]?key|secret|password)$/i;

/** Conversation fields, written right after `stream` in this order. */
const CONVERSATION_FIELDS = ['messages', 'prompt', 'input'] as const;
/**
 * Record fields the gateway fills itself: a body field of the same name is left out, or it would
 * overwrite them (a body `uid` would break the pairing of the two records).
 */
const ENVELOPE_FIELDS: ReadonlySet<string> = new Set(['type', 'uid', 'time', 'ip', 'route']);
const LEADING_FIELDS = new Set<string>(['model', 'stream', ...CONVERSATION_FIELDS]);

/** True for a body field the request record leaves out. */
export function isSecretField(name: string): boolean {
  return SECRET_FIELD.test(name);
}

/** Answers of {@link isOtherField} by name: clients send the same dozen names over and over. */
const otherMemo = new Map<string, boolean>();
/** Bound on the memo: clients choose the names, so it must not grow without limit. */
const OTHER_MEMO_SIZE = 512;

/** True for a body field copied into the request record after the conversation (memoised). */
export function isOtherField(name: string): boolean {
  let other = otherMemo.get(name);
  if (other === undefined) {
    other = !LEADING_FIELDS.has(name) && !ENVELOPE_FIELDS.has(name) && !isSecretField(name);
    if (otherMemo.size >= OTHER_MEMO_SIZE) otherMemo.clear();
    otherMemo.set(name, other);
  }
  return other;
}

/** The first `max` bytes of a body as text (a character cut in half becomes U+FFFD). */
export function excerpt(body: Buffer, max = RAW_EXCERPT_BYTES): string {
  return body.toString('utf8', 0, Math.min(max, body.length));
}

export interface RequestRecordInput {
  uid: string;
  /** `uid` as JSON text, when the caller has it already (one quoting per exchange, not per record). */
  uidJson?: string;
  /** When the request arrived (epoch ms). */
  startedAt: number;
  ip: string;
  route: string;
  /** The request body; `undefined` when there was none or it never arrived. */
  body: Buffer | undefined;
}

/** The `request` record: envelope, `model`, `stream`, conversation, then the remaining body fields. */
export function buildRequestRecord(input: RequestRecordInput): JsonObject {
  const { body } = input;
  // JSON text is UTF-8 (RFC 8259): a body that is not is unparsed, not text with U+FFFD in it.
  return requestRecordOf(input, body === undefined || body.length === 0 || !isUtf8(body) ? undefined : parseJson(body.toString('utf8')));
}

/** {@link buildRequestRecord} for a body already parsed (`parsed`: what `JSON.parse` made of it). */
export function requestRecordOf({ uid, startedAt, ip, route, body }: RequestRecordInput, parsed: unknown): JsonObject {
  const record: JsonObject = { type: 'request', uid, time: isoTime(startedAt), ip, route };
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
  for (const name of Object.keys(parsed)) {
    if (!isOtherField(name)) continue;
    // A body's own `__proto__` member (JSON.parse makes it one) stays a member: assigned, it would
    // set the record's prototype and vanish from the line.
    if (name === '__proto__') Object.defineProperty(record, name, { value: parsed[name], enumerable: true, writable: true, configurable: true });
    else record[name] = parsed[name];
  }
  return record;
}

export interface ResponseRecordInput {
  uid: string;
  /** As in {@link RequestRecordInput}. */
  uidJson?: string;
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

/**
 * The `error` of an exchange that completed with an error status and a body that said nothing —
 * not JSON (an HTML 502 page) or none at all — so that every failed exchange's record has one;
 * `null` otherwise. `read`: a reply was read from the body (its `error`, if any, is copied) —
 * unless it is `unparsed`.
 */
export function statusError({ status, outcome, unparsed }: ResponseRecordInput, read: boolean): { message: string; code: string } | null {
  if ((read && unparsed === undefined) || outcome.kind !== 'complete' || status === null || status < 400) return null;
  const body = unparsed === undefined ? 'no error object' : 'a body that is not a JSON error object (see raw)';
  return { message: `the upstream answered ${status} with ${body}`, code: 'upstream_error_status' };
}

/** The `response` record. */
export function buildResponseRecord(input: ResponseRecordInput): JsonObject {
  const { reply, outcome } = input;
  const record: JsonObject = {
    type: 'response',
    uid: input.uid,
    time: isoTime(input.endedAt),
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
  else {
    const error = statusError(input, reply !== null);
    if (error !== null) record.error = error;
  }
  if (outcome.kind === 'aborted') record.aborted = true;
  if (input.unparsed !== undefined) {
    record.unparsed = true;
    record.reason = input.unparsed.reason;
    record.raw = input.unparsed.raw;
  }
  if (input.truncated === true) record.truncated = true;
  return record;
}
