/**
 * The two chat-log records as the JSON lines the sink gets — the same text as
 * `JSON.stringify(buildRequestRecord(…))` / `JSON.stringify(buildResponseRecord(…))` (chat-record.ts),
 * built for less CPU: the chat log runs on the gateway's hot path and may add only a few µs per
 * exchange, while building a record object and serialising it costs more than parsing the body.
 *
 * - The response line is written field by field (its shape is fixed; only values are serialised).
 * - The request line copies the body's members as the client wrote them (after one `JSON.parse`
 *   proved the body is a JSON object), in the contract's order: envelope, `model`, `stream`,
 *   conversation, then the other fields in body order. A consumer that parses the line gets the
 *   same keys in the same order with the same values as from the general path; only the spelling
 *   may differ — escapes (`\u0041` stays as sent), number forms (`1.0`, `1e2`, `-0`) and spaces
 *   inside a value — and a number beyond double range keeps its digits where `JSON.stringify`
 *   writes `null`.
 *   Bodies the copy cannot render exactly like the general path take that path: a line break
 *   outside strings (a pretty-printed body: JSON Lines allow none), a duplicate key (`JSON.parse`
 *   keeps the last), a key with an escape (it could spell a field name the checks would not see),
 *   a key starting with a digit (JavaScript orders integer keys first) and `__proto__`.
 */
import { objectMembers } from './chat-json-members.js';
import { isOtherField, type RequestRecordInput, requestRecordOf, type ResponseRecordInput } from './chat-record.js';
import { isObject, type JsonObject, parseJson } from './chat-reply.js';
import { isoTime } from './chat-time.js';

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

/** The last `,"ip":…,"route":…` written: consecutive records mostly share both. */
let lastIp = '';
let lastRoute = '';
let lastIpRoute = ',"ip":"","route":""';

function ipAndRoute(ip: string, route: string): string {
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
  const text = body.toString('utf8');
  const parsed = parseJson(text);
  if (isObject(parsed)) {
    const fields = copiedFields(text, parsed);
    if (fields !== undefined) {
      const { uid, startedAt, ip, route } = input;
      return `{"type":"request","uid":${jsonString(uid)},"time":"${isoTime(startedAt)}"${ipAndRoute(ip, route)}${fields}`;
    }
  }
  return JSON.stringify(requestRecordOf(input, parsed));
}

/**
 * The record's fields after the envelope (`,"model":…` through the closing brace), copied from the
 * body text, or `undefined` when the body must take the general path.
 */
function copiedFields(text: string, parsed: JsonObject): string | undefined {
  // Line breaks can only be whitespace in valid JSON; a line of JSON Lines may hold none.
  if (text.indexOf('\n') !== -1 || text.indexOf('\r') !== -1) return undefined;
  const members = objectMembers(text);
  // Fewer keys than members: a duplicate key, whose last value alone counts.
  if (members === undefined || members.length !== Object.keys(parsed).length * 4) return undefined;
  let model = 'null';
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
    if (isOtherField(name)) {
      if (runStart === -1) runStart = keyStart;
      runEnd = members[m + 3];
      continue;
    }
    if (runStart !== -1) {
      others += `,${text.slice(runStart, runEnd)}`;
      runStart = -1;
    }
    if (name === 'model') {
      if (typeof parsed.model === 'string') model = text.slice(members[m + 2], members[m + 3]);
    } else if (name === 'messages') {
      messages = m;
    } else if (name === 'prompt') {
      prompt = m;
    } else if (name === 'input') {
      input = m;
    }
  }
  if (runStart !== -1) others += `,${text.slice(runStart, runEnd)}`;
  const member = (at: number): string => (at === -1 ? '' : `,${text.slice(members[at], members[at + 3])}`);
  const stream = parsed.stream === true ? 'true' : 'false';
  return `,"model":${model},"stream":${stream}${member(messages)}${member(prompt)}${member(input)}${others}}`;
}

/** The response record as one JSON line: `JSON.stringify(buildResponseRecord(input))`, field by field. */
export function responseRecordLine(input: ResponseRecordInput): string {
  const { reply, outcome } = input;
  let line =
    `{"type":"response","uid":${jsonString(input.uid)},"time":"${isoTime(input.endedAt)}","status":${jsonValue(input.status)}` +
    `,"assistant":${jsonValue(reply?.assistant)},"tool_calls":${jsonValue(reply?.toolCalls)}` +
    `,"reasoning":${jsonValue(reply?.reasoning)},"finish_reason":${jsonValue(reply?.finishReason)}` +
    `,"usage":${jsonValue(reply?.usage)},"ttft_ms":${jsonValue(input.ttftMs)},"duration_ms":${jsonValue(input.durationMs)}`;
  if (reply?.choices) line += `,"choices":${JSON.stringify(reply.choices)}`;
  if (outcome.kind === 'error') line += `,"error":${JSON.stringify({ message: outcome.message, code: outcome.code })}`;
  else if (reply !== null && reply.error !== null && reply.error !== undefined) line += `,"error":${jsonValue(reply.error)}`;
  if (outcome.kind === 'aborted') line += ',"aborted":true';
  const { unparsed } = input;
  if (unparsed !== undefined) line += `,"unparsed":true,"reason":${jsonString(unparsed.reason)},"raw":${jsonString(unparsed.raw)}`;
  if (input.truncated === true) line += ',"truncated":true';
  return `${line}}`;
}
