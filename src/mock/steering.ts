/**
 * Per-request steering of the mock upstream, read from request headers. Every header is optional;
 * a malformed value is answered with 400 (`code: "invalid_mock_header"`) naming the header, so a
 * typo in a test never silently falls back to the default behaviour.
 *
 * | header                  | value                 | effect |
 * |-------------------------|-----------------------|--------|
 * | `x-mock-chunks`         | integer >= 0          | number of content deltas; piece i is `"tok" + i + " "`. Absent: the sentence "Hello from the aifwd mock upstream!" in 8 pieces |
 * | `x-mock-delay-ms`       | integer ms            | delay before each delta of a stream (0: everything is written synchronously) |
 * | `x-mock-first-byte-ms`  | integer ms            | delay before the response headers (any endpoint) |
 * | `x-mock-status`         | 400..599              | answer that status with an OpenAI-shaped error (429 adds `retry-after: 1`) |
 * | `x-mock-reset-after`    | integer >= 0          | stream: cut the connection after N deltas (no final chunk, no `[DONE]`); non-stream: cut before answering |
 * | `x-mock-tool-calls`     | `name1,name2`         | reply with function calls (arguments `{"city":"Paris"}`) instead of text |
 * | `x-mock-reasoning`      | boolean               | add reasoning (`reasoning_content` / reasoning output item) before the answer |
 * | `x-mock-encoding`       | `gzip`, `br`, `deflate` | compress the body with that `content-encoding` (streams flush per event) |
 * | `x-mock-ping`           | boolean               | streams: write an SSE comment `: ping` between events |
 * | `x-mock-crlf`           | boolean               | streams: use `\r\n` line endings |
 *
 * Booleans accept `true`/`false`/`1`/`0`/`yes`/`no` (case-insensitive).
 */
import type { IncomingHttpHeaders } from 'node:http';

/** Names of every steering header the mock understands, in documentation order. */
export const MOCK_HEADERS = [
  'x-mock-chunks',
  'x-mock-delay-ms',
  'x-mock-first-byte-ms',
  'x-mock-status',
  'x-mock-reset-after',
  'x-mock-tool-calls',
  'x-mock-reasoning',
  'x-mock-encoding',
  'x-mock-ping',
  'x-mock-crlf',
] as const;

/** One of {@link MOCK_HEADERS}. */
export type MockHeader = (typeof MOCK_HEADERS)[number];

/** Content-encodings the mock can apply to a response body. */
export type MockEncoding = 'gzip' | 'br' | 'deflate';

/** The decoded steering of one request. */
export interface MockSteering {
  /** Number of content deltas; `undefined` means the default sentence. */
  readonly chunks: number | undefined;
  readonly delayMs: number;
  readonly firstByteMs: number;
  /** Error status to answer with, if any. */
  readonly status: number | undefined;
  /** Cut the connection after this many deltas (stream) or before answering (non-stream). */
  readonly resetAfter: number | undefined;
  readonly toolCalls: readonly string[];
  readonly reasoning: boolean;
  readonly encoding: MockEncoding | undefined;
  readonly ping: boolean;
  readonly crlf: boolean;
}

/** Steering of a request that carries no `x-mock-*` header; shared, never mutated. */
export const DEFAULT_STEERING: MockSteering = Object.freeze({
  chunks: undefined,
  delayMs: 0,
  firstByteMs: 0,
  status: undefined,
  resetAfter: undefined,
  toolCalls: Object.freeze([]) as readonly string[],
  reasoning: false,
  encoding: undefined,
  ping: false,
  crlf: false,
});

/** Thrown by {@link readSteering} for a malformed steering header; `message` names header and value. */
export class MockHeaderError extends Error {
  override readonly name = 'MockHeaderError';
}

const MAX_CHUNKS = 1_000_000;
const MAX_DELAY_MS = 600_000;
const TOOL_NAME = /^[A-Za-z0-9_-]{1,64}$/;

function header(headers: IncomingHttpHeaders, name: MockHeader): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

function integer(name: MockHeader, value: string, max: number): number {
  const trimmed = value.trim();
  const n = Number(trimmed);
  if (!/^\d+$/.test(trimmed) || n > max) {
    throw new MockHeaderError(`${name}: "${value}" is not an integer from 0 to ${max}`);
  }
  return n;
}

function boolean(name: MockHeader, value: string): boolean {
  switch (value.trim().toLowerCase()) {
    case 'true': case '1': case 'yes': return true;
    case 'false': case '0': case 'no': case '': return false;
    default: throw new MockHeaderError(`${name}: "${value}" is not a boolean (true or false)`);
  }
}

function encoding(value: string): MockEncoding | undefined {
  const v = value.trim().toLowerCase();
  if (v === 'gzip' || v === 'br' || v === 'deflate') return v;
  if (v === '' || v === 'identity') return undefined;
  throw new MockHeaderError(`x-mock-encoding: "${value}" is not one of gzip, br, deflate`);
}

function toolCalls(value: string): readonly string[] {
  const names = value.split(',').map((name) => name.trim()).filter((name) => name !== '');
  for (const name of names) {
    if (!TOOL_NAME.test(name)) throw new MockHeaderError(`x-mock-tool-calls: "${name}" is not a valid function name`);
  }
  return names;
}

/**
 * Decodes the steering headers of a request. Returns the shared {@link DEFAULT_STEERING} when none
 * is present (the common, benchmarked case). Throws {@link MockHeaderError} on a malformed value.
 */
export function readSteering(headers: IncomingHttpHeaders): MockSteering {
  const chunks = header(headers, 'x-mock-chunks');
  const delay = header(headers, 'x-mock-delay-ms');
  const firstByte = header(headers, 'x-mock-first-byte-ms');
  const status = header(headers, 'x-mock-status');
  const reset = header(headers, 'x-mock-reset-after');
  const tools = header(headers, 'x-mock-tool-calls');
  const reasoning = header(headers, 'x-mock-reasoning');
  const enc = header(headers, 'x-mock-encoding');
  const ping = header(headers, 'x-mock-ping');
  const crlf = header(headers, 'x-mock-crlf');
  if (chunks === undefined && delay === undefined && firstByte === undefined && status === undefined &&
    reset === undefined && tools === undefined && reasoning === undefined && enc === undefined &&
    ping === undefined && crlf === undefined) {
    return DEFAULT_STEERING;
  }
  let statusCode: number | undefined;
  if (status !== undefined) {
    statusCode = integer('x-mock-status', status, 599);
    if (statusCode < 400) throw new MockHeaderError(`x-mock-status: "${status}" is not an error status from 400 to 599`);
  }
  return {
    chunks: chunks === undefined ? undefined : integer('x-mock-chunks', chunks, MAX_CHUNKS),
    delayMs: delay === undefined ? 0 : integer('x-mock-delay-ms', delay, MAX_DELAY_MS),
    firstByteMs: firstByte === undefined ? 0 : integer('x-mock-first-byte-ms', firstByte, MAX_DELAY_MS),
    status: statusCode,
    resetAfter: reset === undefined ? undefined : integer('x-mock-reset-after', reset, MAX_CHUNKS),
    toolCalls: tools === undefined ? DEFAULT_STEERING.toolCalls : toolCalls(tools),
    reasoning: reasoning === undefined ? false : boolean('x-mock-reasoning', reasoning),
    encoding: enc === undefined ? undefined : encoding(enc),
    ping: ping === undefined ? false : boolean('x-mock-ping', ping),
    crlf: crlf === undefined ? false : boolean('x-mock-crlf', crlf),
  };
}
