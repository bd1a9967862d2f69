/**
 * The two chat-log records as the JSON lines the sink gets — the same text as
 * `JSON.stringify(buildRequestRecord(…))` / `JSON.stringify(buildResponseRecord(…))` (chat-record.ts),
 * built for less CPU: the chat log runs on the gateway's hot path and may add only a few µs per
 * exchange, while building a record object and serialising it costs more than parsing the body.
 *
 * - The response line is written field by field (its shape is fixed; only values are serialised,
 *   or given as the JSON text the upstream wrote them in: chat-raw-reply.ts).
 * - The request line copies the body's members as the client wrote them, once the body is proved
 *   a JSON object — by a scan of its bytes when it is UTF-8 on one line (json-scan.ts), else by
 *   `JSON.parse` — in the contract's order: envelope, `model`, `stream`, conversation, then the
 *   other fields in body order. A consumer that parses the line gets the same keys in the same
 *   order with the same values as from the general path; only the spelling may differ — escapes
 *   (`\u0041` stays as sent), number forms (`1.0`, `1e2`, `-0`) and spaces inside a value — and a
 *   number beyond double range keeps its digits where `JSON.stringify` writes `null`.
 *   Bodies the copy cannot render exactly like the general path take that path: a line break
 *   outside strings (a pretty-printed body: JSON Lines allow none), a duplicate key (`JSON.parse`
 *   keeps the last), a key with an escape (it could spell a field name the checks would not see),
 *   a key starting with a digit (JavaScript orders integer keys first) and `__proto__`.
 *
 * The chat log builds the common lines — the copied request, the response of a reply rawReply
 * reads — in WebAssembly instead (chat-lines-wasm.ts): the same bytes, which the tests check; it
 * also copies pretty-printed bodies, which take the general path here, without their whitespace.
 */
import { isUtf8 } from 'node:buffer';
import { objectMembers } from './chat-json-members.js';
import { isOtherField, type RequestRecordInput, requestRecordOf, type ResponseRecordInput, statusError } from './chat-record.js';
import type { ReplyJson } from './chat-raw-reply.js';
import { type AssembledReply, isObject, parseJson } from './chat-reply.js';
import { isoTime } from './chat-time.js';
import { utf8ObjectMembers } from './json-scan.js';

/**
 * What `JSON.stringify` escapes in a string: quote, backslash, control characters and (well-formed
 * JSON.stringify, ES2019) lone surrogates; without the `u` flag the class matches any surrogate.
 */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/**
 * `JSON.stringify(text)`. Most strings of a record (uid, ip, route, many replies) need no escape,
 * and testing for that costs a third of what `JSON.stringify` does.
 */
export function jsonString(text: string): string {
  return NEEDS_ESCAPE.test(text) ? JSON.stringify(text) : `"${text}"`;
}

/** The last `,"ip":…,"route":…` written: consecutive records mostly share both (the same string then). */
let lastIp = '';
let lastRoute = '';
let lastIpRoute = ',"ip":"","route":""';

/** `,"ip":…,"route":…` of a request line (also what the WebAssembly builder writes). */
export function ipAndRoute(ip: string, route: string): string {
  if (ip !== lastIp || route !== lastRoute) {
    lastIpRoute = `,"ip":${jsonString(ip)},"route":${jsonString(route)}`;
    lastIp = ip;
    lastRoute = route;
  }
  return lastIpRoute;
}

/** `JSON.stringify(value)` for a value known to be JSON data (`undefined` taken as `null`). */
function jsonValue(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return jsonString(value);
  if (typeof value === 'number') return Number.isFinite(value) ? `${value}` : 'null';
  return JSON.stringify(value);
}

/** The request record as one JSON line (see the file comment). */
export function requestRecordLine(input: RequestRecordInput): string {
  const { body } = input;
  if (body === undefined || body.length === 0) return JSON.stringify(requestRecordOf(input, undefined));
  // The common body — JSON on one line — is checked by its bytes (the scan refuses a line break
  // before the end of the value).
  const scanned = utf8ObjectMembers(body);
  if (scanned !== undefined) {
    // In ASCII the bytes' offsets are the text's; else the scan proved the text a valid object,
    // and its members are found again in the text, which only skips (chat-json-members.ts).
    const text = scanned.nonAscii ? body.toString('utf8') : body.toString('latin1');
    const members = scanned.nonAscii ? objectMembers(text) : scanned.members;
    const fields = members === undefined ? undefined : copiedFields(text, members);
    if (fields !== undefined) return withEnvelope(input, fields);
  }
  // JSON text is UTF-8 (RFC 8259): a body that is not is recorded as unparsed, not decoded with
  // U+FFFD in place of its bytes (the scan above declined it for that too).
  if (!isUtf8(body)) return JSON.stringify(requestRecordOf(input, undefined));
  const text = body.toString('utf8');
  const parsed = parseJson(text);
  // Line breaks can only be whitespace in valid JSON; a line of JSON Lines may hold none.
  const copyable = isObject(parsed) && text.indexOf('\n') === -1 && text.indexOf('\r') === -1;
  const members = copyable ? objectMembers(text) : undefined;
  const fields = members === undefined ? undefined : copiedFields(text, members);
  return fields === undefined ? JSON.stringify(requestRecordOf(input, parsed)) : withEnvelope(input, fields);
}

/** The request line: the envelope, then the fields copiedFields() gave. */
function withEnvelope({ uid, uidJson, startedAt, ip, route }: RequestRecordInput, fields: string): string {
  return `{"type":"request","uid":${uidJson ?? jsonString(uid)},"time":"${isoTime(startedAt)}"${ipAndRoute(ip, route)}${fields}`;
}

/** Above this many members a body's keys are checked for duplicates with a set, not pairwise. */
const PAIRWISE_KEYS = 16;

/** True when two keys are the same (as written: keys with escapes never get here). */
function hasDuplicate(names: readonly string[]): boolean {
  if (names.length > PAIRWISE_KEYS) return new Set(names).size !== names.length;
  for (let a = 1; a < names.length; a++) for (let b = 0; b < a; b++) if (names[a] === names[b]) return true;
  return false;
}

/**
 * The record's fields after the envelope (`,"model":…` through the closing brace), copied from the
 * text of a valid JSON object on one line whose members are at `members` (json-scan.ts /
 * chat-json-members.ts offsets), or `undefined` when the body must take the general path. The values are read as
 * `JSON.parse` would: `model` only when it is a string, `stream` only when it is `true`.
 */
function copiedFields(text: string, members: readonly number[]): string | undefined {
  const names: string[] = [];
  let model = 'null';
  let stream = 'false';
  // Where the conversation members are (index into `members`), -1 when absent.
  let messages = -1;
  let prompt = -1;
  let input = -1;
  let others = '';
  // Consecutive copied members are copied as one slice, commas and spaces between them included.
  let runStart = -1;
  let runEnd = -1;
  for (let m = 0; m < members.length; m += 4) {
    const keyStart = members[m];
    const name = text.slice(keyStart + 1, members[m + 1] - 1);
    const first = name.charCodeAt(0);
    if (name.includes('\\') || (first >= 0x30 && first <= 0x39) || name === '__proto__') return undefined;
    names.push(name);
    if (isOtherField(name)) {
      if (runStart === -1) runStart = keyStart;
      runEnd = members[m + 3];
      continue;
    }
    if (runStart !== -1) {
      others += `,${text.slice(runStart, runEnd)}`;
      runStart = -1;
    }
    const valueStart = members[m + 2];
    if (name === 'model') {
      model = text.charCodeAt(valueStart) === 0x22 ? text.slice(valueStart, members[m + 3]) : 'null';
    } else if (name === 'stream') {
      stream = members[m + 3] - valueStart === 4 && text.startsWith('true', valueStart) ? 'true' : 'false';
    } else if (name === 'messages') {
      messages = m;
    } else if (name === 'prompt') {
      prompt = m;
    } else if (name === 'input') {
      input = m;
    }
  }
  // `JSON.parse` keeps a duplicate key's last value: the general path reproduces that.
  if (hasDuplicate(names)) return undefined;
  if (runStart !== -1) others += `,${text.slice(runStart, runEnd)}`;
  const member = (at: number): string => (at === -1 ? '' : `,${text.slice(members[at], members[at + 3])}`);
  return `,"model":${model},"stream":${stream}${member(messages)}${member(prompt)}${member(input)}${others}}`;
}

/** The JSON text of no reply: every field `null`. */
const NO_REPLY: ReplyJson = { assistant: 'null', toolCalls: 'null', reasoning: 'null', finishReason: 'null', usage: 'null', choices: '', error: '' };

/** A reply's record fields as JSON text. */
function replyJson(reply: AssembledReply | null): ReplyJson {
  if (reply === null) return NO_REPLY;
  return {
    assistant: jsonValue(reply.assistant),
    toolCalls: jsonValue(reply.toolCalls),
    reasoning: jsonValue(reply.reasoning),
    finishReason: jsonValue(reply.finishReason),
    usage: jsonValue(reply.usage),
    choices: reply.choices ? JSON.stringify(reply.choices) : '',
    error: reply.error !== null && reply.error !== undefined ? jsonValue(reply.error) : '',
  };
}

/**
 * The response record as one JSON line: `JSON.stringify(buildResponseRecord(input))`, field by
 * field. `json`: the reply's fields as JSON text already (chat-raw-reply.ts), in place of
 * `input.reply`.
 */
export function responseRecordLine(input: ResponseRecordInput, json: ReplyJson = replyJson(input.reply)): string {
  const { outcome } = input;
  let line =
    `{"type":"response","uid":${input.uidJson ?? jsonString(input.uid)},"time":"${isoTime(input.endedAt)}","status":${jsonValue(input.status)}` +
    `,"assistant":${json.assistant},"tool_calls":${json.toolCalls},"reasoning":${json.reasoning},"finish_reason":${json.finishReason}` +
    `,"usage":${json.usage},"ttft_ms":${jsonValue(input.ttftMs)},"duration_ms":${jsonValue(input.durationMs)}`;
  if (json.choices !== '') line += `,"choices":${json.choices}`;
  if (outcome.kind === 'error') line += `,"error":${JSON.stringify({ message: outcome.message, code: outcome.code })}`;
  else if (json.error !== '') line += `,"error":${json.error}`;
  else {
    const error = statusError(input, json !== NO_REPLY);
    if (error !== null) line += `,"error":${JSON.stringify(error)}`;
  }
  if (outcome.kind === 'aborted') line += ',"aborted":true';
  const { unparsed } = input;
  if (unparsed !== undefined) line += `,"unparsed":true,"reason":${jsonString(unparsed.reason)},"raw":${jsonString(unparsed.raw)}`;
  if (input.truncated === true) line += ',"truncated":true';
  return `${line}}`;
}
