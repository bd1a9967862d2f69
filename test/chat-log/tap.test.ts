import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { describe, expect, it, vi } from 'vitest';
import { ChatLineBuilder } from '../../src/core/chat-lines-wasm.js';
import type { ExchangeEnd, ExchangeInfo } from '../../src/core/exchange.js';
import type { UpstreamResponseHead } from '../../src/core/headers.js';
import { createChatLog } from '../../src/chat-log/chat-log.js';
import { type ChatLogHook, createChatLogHook } from '../../src/chat-log/tap.js';
import { sse } from './helpers.js';

type Json = Record<string, unknown>;

/** The lines of a block handed to `appendLines`, as text (each ended by a newline). */
function textLines(block: Uint8Array): string[] {
  return Buffer.from(block).toString('utf8').split('\n').slice(0, -1);
}

/**
 * A hook whose lines are collected as text. `bytes`: it is also given `appendLines`, so request
 * lines are built in WebAssembly where they can be; `viaBytes` counts the lines that came so.
 */
function setup(options: { maxBodyBytes?: number; bytes?: boolean; secrets?: readonly string[] } = {}): { hook: ChatLogHook; lines: string[]; records: () => Json[]; viaBytes: () => number } {
  const lines: string[] = [];
  let clock = 1_000;
  let n = 0;
  let viaBytes = 0;
  const { bytes = false, ...rest } = options;
  const appendLines = (block: Uint8Array, count: number): void => {
    viaBytes += count;
    lines.push(...textLines(block));
  };
  const hook = createChatLogHook({ append: (line) => lines.push(line), ...(bytes ? { appendLines } : {}), now: () => (clock += 10), newUid: () => `uid-${++n}`, ...rest });
  return { hook, lines, records: () => lines.map((line) => JSON.parse(line) as Json), viaBytes: () => viaBytes };
}

const info = (route = '/v1/chat/completions', method = 'POST'): ExchangeInfo => ({ method, route, ip: '10.0.0.7', startedAt: 1_000, keyName: null });
const head = (eventStream: boolean, contentEncoding?: string): UpstreamResponseHead => ({
  headers: [],
  eventStream,
  contentEncoding,
  contentType: eventStream ? 'text/event-stream' : 'application/json',
});

interface Exchange {
  /** The forward key's policy name (ExchangeInfo.keyName). */
  keyName?: string;
  route?: string;
  body?: unknown;
  status?: number;
  eventStream?: boolean;
  encoding?: string;
  response?: Buffer;
  chunkSize?: number;
  outcome?: ExchangeEnd;
}

async function exchange(hook: ChatLogHook, x: Exchange): Promise<void> {
  const tap = hook.open({ ...info(x.route), keyName: x.keyName ?? null });
  if (tap === undefined) throw new Error('no tap');
  if (x.body !== undefined) tap.requestBody(Buffer.isBuffer(x.body) ? x.body : Buffer.from(JSON.stringify(x.body)));
  if (x.response !== undefined) {
    tap.responseStart(x.status ?? 200, head(x.eventStream ?? false, x.encoding));
    const size = x.chunkSize ?? 5;
    for (let i = 0; i < x.response.length; i += size) tap.responseData(x.response.subarray(i, i + size));
  }
  tap.end(x.outcome ?? { kind: 'complete' });
  await hook.settled();
}

const CHAT_BODY = { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'Say hi' }], api_key: 'sk-in-body' };
const CHAT_STREAM = sse([
  { choices: [{ index: 0, delta: { role: 'assistant', content: 'Hi' } }] },
  { choices: [{ index: 0, delta: { content: ' there' }, finish_reason: 'stop' }] },
  { choices: [], usage: { total_tokens: 9 } },
]);
const CHAT_JSON = { choices: [{ index: 0, message: { role: 'assistant', content: 'Hello JSON' }, finish_reason: 'stop' }], usage: { total_tokens: 4 } };

describe('chat log hook: which exchanges', () => {
  it.each([
    ['POST', '/v1/chat/completions', true],
    ['POST', '/v1/completions', true],
    ['POST', '/v1/responses', true],
    ['GET', '/v1/chat/completions', false],
    ['POST', '/v1/embeddings', false],
    ['POST', '/v1/chat/completions/', false],
    ['POST', '/v1/responses/resp_1/cancel', false],
    ['post', '/v1/chat/completions', false],
    ['POST', '/v1/chat/completions ', false],
    ['POST', '__proto__', false],
    ['POST', 'constructor', false],
  ])('%s %s → tap: %s', (method, route, tapped) => {
    expect(setup().hook.open(info(route, method)) !== undefined).toBe(tapped);
  });
});

// Every record test runs twice: request lines built in JavaScript, and in WebAssembly where they can be.
describe.each([['strings', false], ['bytes', true]])('chat log hook: records (%s)', (_mode, bytes) => {
  it('SSE exchange: request then response record, joined by uid', async () => {
    const { hook, records, lines, viaBytes } = setup({ bytes });
    await exchange(hook, { body: CHAT_BODY, eventStream: true, response: Buffer.from(CHAT_STREAM) });
    // With appendLines, the request line came from WebAssembly.
    expect(viaBytes()).toBe(bytes ? 1 : 0);
    const [request, response] = records();
    expect(request).toEqual({ type: 'request', uid: 'uid-1', time: new Date(1_000).toISOString(), ip: '10.0.0.7', route: '/v1/chat/completions', model: 'gpt-4o-mini', stream: true, messages: CHAT_BODY.messages });
    expect(response).toMatchObject({ type: 'response', uid: 'uid-1', status: 200, assistant: 'Hi there', finish_reason: 'stop', usage: { total_tokens: 9 }, tool_calls: null, reasoning: null });
    expect(response.ttft_ms).toBeTypeOf('number');
    expect(response.duration_ms as number).toBeGreaterThanOrEqual(response.ttft_ms as number);
    expect(lines.join('\n')).not.toContain('sk-in-body');
  });

  it('JSON exchange', async () => {
    const { hook, records } = setup({ bytes });
    await exchange(hook, { body: { ...CHAT_BODY, stream: false }, response: Buffer.from(JSON.stringify(CHAT_JSON)) });
    expect(records()[1]).toMatchObject({ assistant: 'Hello JSON', usage: { total_tokens: 4 }, status: 200 });
  });

  it.each([
    ['gzip', gzipSync],
    ['br', brotliCompressSync],
    ['deflate', deflateSync],
    ['deflate', deflateRawSync],
  ] as const)('decodes a %s stream on a copy', async (encoding, compress) => {
    const { hook, records } = setup({ bytes });
    await exchange(hook, { body: CHAT_BODY, eventStream: true, encoding, response: compress(Buffer.from(CHAT_STREAM)), chunkSize: 3 });
    expect(records()[1]).toMatchObject({ assistant: 'Hi there', usage: { total_tokens: 9 } });
  });

  it('decodes a gzip JSON body', async () => {
    const { hook, records } = setup({ bytes });
    await exchange(hook, { body: CHAT_BODY, encoding: 'gzip', response: gzipSync(JSON.stringify(CHAT_JSON)) });
    expect(records()[1]).toMatchObject({ assistant: 'Hello JSON' });
  });

  it('a truncated gzip stream keeps what was decodable', async () => {
    const { hook, records } = setup({ bytes });
    const full = gzipSync(Buffer.from(CHAT_STREAM));
    await exchange(hook, { body: CHAT_BODY, eventStream: true, encoding: 'gzip', response: full.subarray(0, full.length - 12), outcome: { kind: 'aborted' } });
    expect(records()[1]).toMatchObject({ aborted: true, assistant: 'Hi there' });
  });

  it('unsupported encoding: recorded as unparsed', async () => {
    const { hook, records } = setup({ bytes });
    await exchange(hook, { body: CHAT_BODY, encoding: 'zstd', response: Buffer.from('xxxx') });
    expect(records()[1]).toMatchObject({ unparsed: true, reason: 'content-encoding "zstd" is not decoded' });
  });

  it('non-JSON request body: request unparsed, response still recorded', async () => {
    const { hook, records } = setup({ bytes });
    await exchange(hook, { body: Buffer.from('not json'), status: 400, response: Buffer.from('{"error":{"message":"We could not parse the JSON body"}}') });
    const [request, response] = records();
    expect(request).toMatchObject({ unparsed: true, raw: 'not json', model: null });
    expect(response).toMatchObject({ status: 400, error: { message: 'We could not parse the JSON body' } });
  });

  it('a body member named __proto__ stays a member of the record', async () => {
    const { hook, lines } = setup({ bytes });
    await exchange(hook, { body: Buffer.from('{"model":"m","__proto__":{"polluted":1},"messages":[{"role":"user","content":"x"}],"n":1}'), response: Buffer.from('{}') });
    expect(lines[0]).toContain(',"__proto__":{"polluted":1},"n":1}');
    const request = JSON.parse(lines[0]) as Json;
    expect(Object.getOwnPropertyNames(request)).toContain('__proto__');
    expect(Object.getPrototypeOf(request)).toBe(Object.prototype);
  });

  it('a body that is not UTF-8 is not JSON: unparsed, whether or not its bytes above 0x7f are in a string', async () => {
    const { hook, records } = setup({ bytes });
    const broken = Buffer.concat([Buffer.from('{"model":"m","messages":[{"role":"user","content":"bad '), Buffer.from([0xff, 0xfe]), Buffer.from(' byte"}]}')]);
    await exchange(hook, { body: broken, response: Buffer.from('{}') });
    await exchange(hook, { body: Buffer.concat([Buffer.from('{"model":"m"}'), Buffer.from([0xc3])]), response: Buffer.from('{}') });
    const [first, , second] = records();
    expect(first).toMatchObject({ type: 'request', model: null, stream: null, unparsed: true });
    expect(second).toMatchObject({ type: 'request', model: null, unparsed: true });
    // A well-formed non-ASCII body is still parsed.
    await exchange(hook, { body: { model: 'm', messages: [{ role: 'user', content: 'héllo 你好' }] }, response: Buffer.from('{}') });
    expect(records()[4]).toMatchObject({ model: 'm', messages: [{ role: 'user', content: 'héllo 你好' }] });
  });

  it('an error reply that quotes a pool or forward key: masked in the record, JSON or not', async () => {
    const pool = 'sk-fake-pool-key-0123456789abcdef';
    const forward = 'fk-fake-forward-0123';
    const { hook, lines, records } = setup({ bytes, secrets: [pool, forward, 'short'] });
    const quoted = JSON.stringify({ error: { message: `Incorrect API key provided: ${pool} (sent for ${forward}); short`, type: 'invalid_request_error', code: 'invalid_api_key' } });
    await exchange(hook, { body: { model: 'm', messages: [] }, status: 401, response: Buffer.from(quoted) });
    await exchange(hook, { body: { model: 'm', messages: [] }, status: 502, response: Buffer.from(`<html>bad key ${pool}</html>`) });
    for (const line of lines) {
      expect(line).not.toContain(pool);
      expect(line).not.toContain(forward);
    }
    const [, first, , second] = records();
    expect(first).toMatchObject({ status: 401, error: { message: 'Incorrect API key provided: sk-fa…cdef (sent for fk…23); short', code: 'invalid_api_key' } });
    expect(second).toMatchObject({ status: 502, unparsed: true, raw: '<html>bad key sk-fa…cdef</html>' });
  });

  it('an error status whose body says nothing (not JSON, or empty) still gets an error', async () => {
    const { hook, records } = setup({ bytes });
    await exchange(hook, { body: { model: 'm', messages: [] }, status: 502, response: Buffer.from('<html>Bad Gateway</html>') });
    await exchange(hook, { body: { model: 'm', messages: [] }, status: 500, response: Buffer.alloc(0) });
    // A JSON error object is copied as it is; a 200 gets none.
    await exchange(hook, { body: { model: 'm', messages: [] }, status: 429, response: Buffer.from('{"error":{"message":"Slow down","code":"rate_limit_exceeded"}}') });
    await exchange(hook, { body: { model: 'm', messages: [] }, status: 200, response: Buffer.from('<html>ok</html>') });
    const responses = records().filter((r) => r.type === 'response');
    expect(responses[0]).toMatchObject({ status: 502, unparsed: true, error: { message: 'the upstream answered 502 with a body that is not a JSON error object (see raw)', code: 'upstream_error_status' } });
    expect(responses[1]).toMatchObject({ status: 500, error: { message: 'the upstream answered 500 with no error object', code: 'upstream_error_status' } });
    expect(responses[2].error).toEqual({ message: 'Slow down', code: 'rate_limit_exceeded' });
    expect(responses[3]).not.toHaveProperty('error');
  });

  it('non-JSON response body: unparsed with an excerpt', async () => {
    const { hook, records } = setup({ bytes });
    await exchange(hook, { body: CHAT_BODY, status: 502, response: Buffer.from('<html>Bad gateway</html>') });
    expect(records()[1]).toMatchObject({ status: 502, unparsed: true, raw: '<html>Bad gateway</html>' });
  });

  it('a body over the limit: truncated', async () => {
    const { hook, records } = setup({ maxBodyBytes: 64, bytes });
    await exchange(hook, { body: CHAT_BODY, response: Buffer.from(JSON.stringify({ ...CHAT_JSON, pad: 'x'.repeat(200) })), chunkSize: 50 });
    expect(records()[1]).toMatchObject({ truncated: true, unparsed: true, assistant: null });
  });

  it('a stream labelled as JSON is still read', async () => {
    const { hook, records } = setup({ bytes });
    await exchange(hook, { body: CHAT_BODY, eventStream: false, response: Buffer.from(CHAT_STREAM) });
    expect(records()[1]).toMatchObject({ assistant: 'Hi there' });
  });

  it('client abort mid-stream: aborted with the partial reply', async () => {
    const { hook, records } = setup({ bytes });
    await exchange(hook, { body: CHAT_BODY, eventStream: true, response: Buffer.from(CHAT_STREAM.slice(0, 90)), outcome: { kind: 'aborted' } });
    expect(records()[1]).toMatchObject({ aborted: true, assistant: 'Hi', status: 200 });
  });

  it('gateway error before the response: status and error', async () => {
    const { hook, records } = setup({ bytes });
    await exchange(hook, { body: CHAT_BODY, outcome: { kind: 'error', message: 'connect timeout', code: 'upstream_connect_timeout', status: 504 } });
    expect(records()[1]).toMatchObject({ status: 504, error: { code: 'upstream_connect_timeout' }, ttft_ms: null, assistant: null });
  });

  it('client gone before the body arrived: both records anyway', async () => {
    const { hook, records } = setup({ bytes });
    await exchange(hook, { outcome: { kind: 'aborted' } });
    const [request, response] = records();
    expect(request).toMatchObject({ type: 'request', unparsed: true, raw: '' });
    expect(response).toMatchObject({ type: 'response', aborted: true, status: null, uid: request.uid });
  });

  it('responses API stream', async () => {
    const { hook, records } = setup({ bytes });
    const stream = sse([
      { event: 'response.output_text.delta', data: { type: 'response.output_text.delta', delta: 'Yo' } },
      { event: 'response.completed', data: { type: 'response.completed', response: { status: 'completed', usage: { total_tokens: 2 } } } },
    ], false);
    await exchange(hook, { route: '/v1/responses', body: { model: 'o4-mini', input: 'hey', stream: true }, eventStream: true, response: Buffer.from(stream) });
    expect(records()).toMatchObject([{ input: 'hey' }, { assistant: 'Yo', finish_reason: 'completed', usage: { total_tokens: 2 } }]);
  });

  it('the request record is written before the response record even when deferred', async () => {
    const { hook, records } = setup({ bytes });
    const tap = hook.open(info())!;
    tap.requestBody(Buffer.from(JSON.stringify(CHAT_BODY)));
    tap.end({ kind: 'error', message: 'x', code: 'upstream_error', status: 502 });
    await hook.settled();
    expect(records().map((r) => r.type)).toEqual(['request', 'response']);
  });

  it('never throws, whatever order the calls come in', async () => {
    const { hook, records } = setup({ bytes });
    const tap = hook.open(info())!;
    expect(() => {
      tap.responseData(Buffer.from('data: x\n\n'));
      tap.end({ kind: 'complete' });
      tap.end({ kind: 'complete' });
      tap.responseData(Buffer.from('late'));
    }).not.toThrow();
    await hook.settled();
    expect(records()).toHaveLength(2);
    expect(hook.failures).toBe(0);
  });

  it('a failing sink is counted, not thrown', async () => {
    const hook = createChatLogHook({ append: () => { throw new Error('disk on fire'); } });
    const tap = hook.open(info())!;
    expect(() => {
      tap.requestBody(Buffer.from('{}'));
      tap.responseStart(200, head(false));
      tap.end({ kind: 'complete' });
    }).not.toThrow();
    await hook.settled();
    expect(hook.failures).toBeGreaterThan(0);
  });

  it('request records of exchanges without a response yet: one drain writes them all, once each', async () => {
    const { hook, records } = setup({ bytes });
    const taps = [1, 2, 3].map(() => hook.open(info())!);
    taps.forEach((tap, i) => tap.requestBody(Buffer.from(JSON.stringify({ model: `m${i}`, messages: [] }))));
    expect(records()).toHaveLength(0); // deferred: never before the request is forwarded
    await hook.settled();
    expect(records()).toMatchObject([{ type: 'request', model: 'm0' }, { model: 'm1' }, { model: 'm2' }]);
    taps[1].responseStart(200, head(false));
    taps[1].responseData(Buffer.from(JSON.stringify(CHAT_JSON)));
    taps[1].end({ kind: 'complete' });
    await hook.settled();
    expect(records().map((r) => `${r.type} ${r.uid}`)).toEqual(['request uid-1', 'request uid-2', 'request uid-3', 'response uid-2']);
  });

  it('a response that starts before the drain writes the request record first, and only once', async () => {
    const { hook, records } = setup({ bytes });
    await exchange(hook, { body: CHAT_BODY, response: Buffer.from(JSON.stringify(CHAT_JSON)), chunkSize: 1 << 20 });
    await new Promise((resolve) => setImmediate(resolve));
    expect(records().map((r) => r.type)).toEqual(['request', 'response']);
  });

  it('each recorded route, cut from a request line as the parser does, is recorded as its own text', async () => {
    const { hook, records } = setup({ bytes });
    for (const route of ['/v1/chat/completions', '/v1/completions', '/v1/responses']) {
      const line = `POST ${route}?x=1 HTTP/1.1`;
      const cut = line.slice(5, line.indexOf('?'));
      await exchange(hook, { route: cut, body: { model: 'm', messages: [] }, response: Buffer.from(JSON.stringify(CHAT_JSON)) });
    }
    expect(records().filter((r) => r.type === 'request').map((r) => r.route)).toEqual(['/v1/chat/completions', '/v1/completions', '/v1/responses']);
  });

  it('body fields named like the envelope do not replace it', async () => {
    const { hook, records } = setup({ bytes });
    await exchange(hook, { body: { model: 'm', messages: [], uid: 'theirs', type: 'x', route: '/evil' }, response: Buffer.from(JSON.stringify(CHAT_JSON)) });
    expect(records()).toMatchObject([{ type: 'request', uid: 'uid-1', route: '/v1/chat/completions' }, { type: 'response', uid: 'uid-1' }]);
  });

  it.each([
    ['one chunk (quick path)', CHAT_JSON, 1 << 20, { assistant: 'Hello JSON', finish_reason: 'stop', usage: { total_tokens: 4 } }],
    ['tool calls (general path)', { choices: [{ index: 0, message: { content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }] }, finish_reason: 'tool_calls' }] }, 1 << 20, { assistant: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }], finish_reason: 'tool_calls' }],
    ['two choices (general path)', { choices: [{ index: 0, message: { content: 'a' } }, { index: 1, message: { content: 'b' } }] }, 7, { assistant: 'a', choices: [{ index: 0, assistant: 'a' }, { index: 1, assistant: 'b' }] }],
  ])('JSON reply: %s', async (_name, reply, chunkSize, expected) => {
    const { hook, records } = setup({ bytes });
    await exchange(hook, { body: CHAT_BODY, response: Buffer.from(JSON.stringify(reply)), chunkSize });
    expect(records()[1]).toMatchObject(expected);
  });

  it('a stream nothing could be read from: unparsed, with the first 2 KiB', async () => {
    const { hook, records } = setup({ bytes });
    const garbage = 'data: not json\n\n'.repeat(300);
    await exchange(hook, { body: CHAT_BODY, eventStream: true, response: Buffer.from(garbage), chunkSize: 100 });
    const response = records()[1];
    expect(response).toMatchObject({ unparsed: true, reason: 'no event of the stream could be read' });
    expect(response.raw).toBe(garbage.slice(0, 2048));
  });

  it('a stream that was understood keeps no excerpt, even if later events are garbage', async () => {
    const { hook, records } = setup({ bytes });
    await exchange(hook, { body: CHAT_BODY, eventStream: true, response: Buffer.from(CHAT_STREAM + 'data: junk\n\n'.repeat(50)) });
    expect(records()[1]).toMatchObject({ assistant: 'Hi there' });
    expect(records()[1].unparsed).toBeUndefined();
  });

  it.each([false, true])('uids by default: UUID-shaped, one per exchange, the same in both records (bytes: %s)', async (bytes) => {
    const lines: string[] = [];
    const append = (line: string): number => lines.push(line);
    const appendLines = (block: Uint8Array): number => lines.push(...textLines(block));
    const hook = createChatLogHook({ append, ...(bytes ? { appendLines } : {}) });
    for (let i = 0; i < 3; i++) await exchange(hook, { body: { ...CHAT_BODY, stream: false }, response: Buffer.from(JSON.stringify(CHAT_JSON)) });
    // A reply JavaScript reads, in between.
    await exchange(hook, { body: CHAT_BODY, eventStream: true, response: Buffer.from(CHAT_STREAM) });
    const uids = lines.map((line) => (JSON.parse(line) as Json).uid as string);
    expect(uids).toHaveLength(8);
    for (const uid of uids) expect(uid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(uids).size).toBe(4);
    for (let k = 0; k < 8; k += 2) expect(uids[k + 1]).toBe(uids[k]);
    // Consecutive: the counter ends each uid.
    expect(uids.map((uid) => parseInt(uid.slice(-6), 16) - parseInt(uids[0].slice(-6), 16))).toEqual([0, 0, 1, 1, 2, 2, 3, 3]);
  });
});

describe('chat log hook: the WebAssembly builder', () => {
  it('the lines it builds in one turn reach appendLines together, in order with the lines JavaScript builds in between; the JSON replies\' in the turn\'s drain', async () => {
    const order: string[] = [];
    const handOffs: number[] = [];
    const hook = createChatLogHook({
      // Durations the module writes (it leaves those beyond int32 milliseconds to JavaScript).
      now: () => 2_000,
      append: (line) => order.push(`js ${(JSON.parse(line) as Json).type}`),
      appendLines: (block, count) => {
        const lines = textLines(block);
        expect(lines).toHaveLength(count);
        handOffs.push(count);
        for (const line of lines) order.push(`wasm ${(JSON.parse(line) as Json).type}`);
      },
    });
    const taps = [0, 1, 2].map(() => hook.open(info())!);
    for (const tap of taps) tap.requestBody(Buffer.from(JSON.stringify({ ...CHAT_BODY, stream: false })));
    taps.forEach((tap, i) => {
      // The second reply is a stream: JavaScript writes its line.
      tap.responseStart(200, head(i === 1));
      tap.responseData(Buffer.from(i === 1 ? CHAT_STREAM : JSON.stringify(CHAT_JSON)));
      tap.end({ kind: 'complete' });
    });
    // The JSON replies' lines wait for the turn's drain; the stream's goes at once, after the lines before it.
    expect(order).toEqual(['wasm request', 'wasm request', 'js response']);
    await hook.settled();
    expect(order).toEqual(['wasm request', 'wasm request', 'js response', 'wasm request', 'wasm response', 'wasm response']);
    expect(handOffs).toEqual([2, 3]);
  });

  /** A hook with the builder, its lines as records, and its clock and usage calls in the test's hands. */
  function builderHook(endOfTurn?: (task: () => void) => void): { hook: ChatLogHook; records: () => Json[]; clock: { now: number }; usage: string[] } {
    const lines: string[] = [];
    const clock = { now: 1_000 };
    const usage: string[] = [];
    let n = 0;
    const hook = createChatLogHook({
      append: (line) => lines.push(line),
      appendLines: (block) => lines.push(...textLines(block)),
      now: () => clock.now,
      newUid: () => `uid-${++n}`,
      onUsage: (model, tokens) => usage.push(`${model} ${JSON.stringify(tokens)}`),
      endOfTurn,
    });
    return { hook, records: () => lines.map((line) => JSON.parse(line) as Json), clock, usage };
  }
  const REPLY = Buffer.from(JSON.stringify({ ...CHAT_JSON, model: 'gpt-x', usage: { prompt_tokens: 3, completion_tokens: 2 } }));

  it('a JSON reply\'s record, built in the drain, keeps the times of its end', async () => {
    const { hook, records, clock } = builderHook();
    const tap = hook.open(info())!;
    tap.requestBody(Buffer.from(JSON.stringify({ ...CHAT_BODY, stream: false })));
    clock.now = 1_007;
    tap.responseStart(200, head(false));
    tap.responseData(REPLY);
    clock.now = 1_019;
    tap.end({ kind: 'complete' });
    clock.now = 5_000;
    await hook.settled();
    const response = records().find((r) => r.type === 'response');
    expect(response).toMatchObject({ time: new Date(1_019).toISOString(), status: 200, assistant: 'Hello JSON', ttft_ms: 7, duration_ms: 19 });
  });

  it('the common reply\'s record waits for the drain, also without a request body, and settled() waits for it', async () => {
    const { hook, records, usage } = builderHook();
    const tap = hook.open(info())!;
    tap.responseStart(200, head(false));
    tap.responseData(REPLY);
    tap.end({ kind: 'complete' });
    expect(records().map((r) => r.type)).toEqual(['request']);
    expect(usage).toEqual([]);
    await hook.settled();
    expect(records().map((r) => r.type)).toEqual(['request', 'response']);
    expect(usage).toEqual(['gpt-x {"prompt_tokens":3,"completion_tokens":2}']);
    expect(hook.failures).toBe(0);
  });

  it('a deferred reply: a second end and calls after the end change nothing', async () => {
    const { hook, records, usage } = builderHook();
    const tap = hook.open(info())!;
    tap.requestBody(Buffer.from(JSON.stringify({ ...CHAT_BODY, stream: false })));
    tap.responseStart(200, head(false));
    tap.responseData(REPLY);
    tap.end({ kind: 'complete' });
    tap.end({ kind: 'aborted' });
    tap.responseData(Buffer.from('late'));
    tap.responseStart(500, head(false));
    await hook.settled();
    await new Promise((resolve) => setImmediate(resolve));
    expect(records()).toHaveLength(2);
    expect(records()[1]).toMatchObject({ type: 'response', status: 200, assistant: 'Hello JSON', usage: { prompt_tokens: 3, completion_tokens: 2 } });
    expect(records()[1]).not.toHaveProperty('unparsed');
    expect(usage).toHaveLength(1);
  });

  it('the lines the drain builds go with its end: one task at the end of the turn, where endOfTurn runs it', async () => {
    const ends: (() => void)[] = [];
    const { hook, records } = builderHook((task) => ends.push(task));
    const taps = [0, 1, 2].map(() => hook.open(info())!);
    for (const tap of taps) tap.requestBody(Buffer.from(JSON.stringify({ ...CHAT_BODY, stream: false })));
    await new Promise((resolve) => setImmediate(resolve));
    expect(ends).toHaveLength(1);
    expect(records()).toEqual([]);
    ends[0]();
    await hook.settled();
    expect(ends).toHaveLength(1);
    expect(records().map((r) => r.type)).toEqual(['request', 'request', 'request']);
  });

  it('drainNow hands over at once what waits for the end of the turn: request records, common replies\' records, the outbox', () => {
    const ends: (() => void)[] = [];
    const { hook, records } = builderHook((task) => ends.push(task));
    const waiting = hook.open(info())!;
    waiting.requestBody(Buffer.from(JSON.stringify({ ...CHAT_BODY, stream: false })));
    const answered = hook.open(info())!;
    answered.requestBody(Buffer.from(JSON.stringify({ ...CHAT_BODY, stream: false })));
    answered.responseStart(200, head(false));
    answered.responseData(REPLY);
    answered.end({ kind: 'complete' });
    expect(records()).toEqual([]);
    // The process is exiting: the end of the turn will not come.
    hook.drainNow();
    // The response that started wrote its request record first, into the outbox the drain adds to.
    expect(records().map((r) => `${r.type} ${r.uid}`)).toEqual(['request uid-2', 'request uid-1', 'response uid-2']);
    // The tasks that were scheduled find nothing left to do.
    for (const end of ends) end();
    expect(records()).toHaveLength(3);
    hook.drainNow();
    expect(records()).toHaveLength(3);
  });

  it('by default the drain is one setImmediate per turn', async () => {
    const immediate = vi.spyOn(globalThis, 'setImmediate');
    try {
      const { hook, records } = builderHook();
      const taps = [0, 1, 2].map(() => hook.open(info())!);
      for (const tap of taps) tap.requestBody(Buffer.from(JSON.stringify({ ...CHAT_BODY, stream: false })));
      await hook.settled();
      expect(immediate).toHaveBeenCalledTimes(1);
      expect(records().map((r) => r.type)).toEqual(['request', 'request', 'request']);
    } finally {
      immediate.mockRestore();
    }
  });

  it('many large replies ending in one turn fill the outbox mid-drain: every record, each uid\'s request first', async () => {
    const { hook, records, usage } = builderHook();
    const content = 'x'.repeat(100 * 1024);
    const reply = Buffer.from(JSON.stringify({ choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1 } }));
    for (let i = 0; i < 200; i++) {
      const tap = hook.open(info())!;
      tap.requestBody(Buffer.from(JSON.stringify({ model: 'm', messages: [{ role: 'user', content: `q${i}` }] })));
      tap.responseStart(200, head(false));
      tap.responseData(reply);
      tap.end({ kind: 'complete' });
    }
    await hook.settled();
    const all = records();
    expect(all).toHaveLength(400);
    const seen = new Set<unknown>();
    for (const r of all) {
      if (r.type === 'request') seen.add(r.uid);
      else {
        expect(seen.has(r.uid)).toBe(true);
        expect((r.assistant as string).length).toBe(content.length);
      }
    }
    expect(usage).toHaveLength(200);
    expect(hook.failures).toBe(0);
  });

  it('an appendLines that throws loses the lines it was handed, counted as a failure; the next ones still come', async () => {
    const got: string[] = [];
    let throws = true;
    const hook = createChatLogHook({
      now: () => 2_000,
      append: (line) => got.push(line),
      appendLines: (block) => {
        if (throws) {
          throws = false;
          throw new Error('sink bug');
        }
        got.push(...textLines(block));
      },
    });
    await exchange(hook, { body: { ...CHAT_BODY, stream: false }, response: Buffer.from(JSON.stringify(CHAT_JSON)) });
    expect(hook.failures).toBe(1);
    expect(got).toEqual([]);
    await exchange(hook, { body: { ...CHAT_BODY, stream: false }, response: Buffer.from(JSON.stringify(CHAT_JSON)) });
    expect(hook.failures).toBe(1);
    expect(got.map((line) => (JSON.parse(line) as Json).type)).toEqual(['request', 'response']);
  });

  it('a builder that throws: counted as a failure, and JavaScript still writes both records', async () => {
    const trap = (): never => {
      throw new Error('unreachable');
    };
    const requestLine = vi.spyOn(ChatLineBuilder.prototype, 'requestLine').mockImplementation(trap);
    const responseLine = vi.spyOn(ChatLineBuilder.prototype, 'responseLine').mockImplementation(trap);
    try {
      const { hook, records, viaBytes } = setup({ bytes: true });
      await exchange(hook, { body: { ...CHAT_BODY, stream: false }, response: Buffer.from(JSON.stringify(CHAT_JSON)) });
      expect(records().map((record) => record.type)).toEqual(['request', 'response']);
      expect(records()[1]).toMatchObject({ assistant: 'Hello JSON' });
      expect(viaBytes()).toBe(0);
      expect(hook.failures).toBe(2);
    } finally {
      requestLine.mockRestore();
      responseLine.mockRestore();
    }
  });
});

describe.each([['strings', false], ['bytes', true]])('chat log hook: usage for the metrics (onUsage, %s)', (_mode, bytes) => {
  it('tells each reply usage with the model next to it: JSON, stream, gzip-decoded; nothing when there is none', async () => {
    const seen: [string | null, unknown][] = [];
    const keys: (string | null)[] = [];
    let viaBytes = 0;
    const hook = createChatLogHook({
      append: () => {},
      ...(bytes ? { appendLines: (_block: Uint8Array, count: number) => (viaBytes += count) } : {}),
      // Durations the module writes (it leaves those beyond int32 milliseconds to JavaScript).
      now: () => 2_000,
      onUsage: (model, usage, keyName) => {
        seen.push([model, usage]);
        keys.push(keyName);
      },
    });
    const usage = { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4, prompt_tokens_details: { cached_tokens: 0 } };
    await exchange(hook, { body: CHAT_BODY, response: Buffer.from(JSON.stringify({ ...CHAT_JSON, model: 'gpt-4o-mini-2024-07-18', usage })) });
    await exchange(hook, {
      body: CHAT_BODY,
      eventStream: true,
      response: Buffer.from(
        sse([
          { model: 'gpt-4o', choices: [{ index: 0, delta: { content: 'Hi' } }] },
          // The usage chunk names no model here: the one the stream named before counts.
          { choices: [], usage: { prompt_tokens: 5, completion_tokens: 1 } },
        ]),
      ),
    });
    await exchange(hook, { body: CHAT_BODY, encoding: 'gzip', keyName: 'alice', response: gzipSync(JSON.stringify({ ...CHAT_JSON, usage: { prompt_tokens: 2 } })) });
    await exchange(hook, { body: CHAT_BODY, eventStream: true, response: Buffer.from(sse([{ choices: [{ index: 0, delta: { content: 'no usage' } }] }])) });
    await exchange(hook, { body: CHAT_BODY, outcome: { kind: 'error', message: 'refused', code: 'upstream_unreachable', status: 502 } });
    expect(seen).toEqual([
      // A JSON reply read from its bytes tells the token counts the metrics read.
      ['gpt-4o-mini-2024-07-18', { prompt_tokens: 3, completion_tokens: 1 }],
      ['gpt-4o', { prompt_tokens: 5, completion_tokens: 1 }],
      [null, { prompt_tokens: 2 }],
    ]);
    // The forward key's policy name comes along, for the tokens by key.
    expect(keys).toEqual([null, null, 'alice']);
    // With appendLines: the five request lines and the plain JSON reply's line came as bytes.
    expect(viaBytes).toBe(bytes ? 6 : 0);
  });
});

describe('chat log: closing right after the last exchange', () => {
  it('close() in the same turn as the last end writes both records of the common reply to the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aifwd-tap-'));
    try {
      const log = createChatLog({ dir, rotateSize: 0, mode: 'file' });
      const tap = log.hook.open(info())!;
      tap.requestBody(Buffer.from(JSON.stringify({ ...CHAT_BODY, stream: false })));
      tap.responseStart(200, head(false));
      tap.responseData(Buffer.from(JSON.stringify(CHAT_JSON)));
      tap.end({ kind: 'complete' });
      await log.close();
      const records = readFileSync(join(dir, 'chat.log'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Json);
      expect(records).toMatchObject([{ type: 'request' }, { type: 'response', assistant: 'Hello JSON' }]);
      expect(log.stats).toMatchObject({ written: 2, dropped: 0, tapFailures: 0 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('builtInWasm', () => {
  it('is true when the hook is given appendLines (the module loads here), false without it', () => {
    expect(setup({ bytes: true }).hook.builtInWasm).toBe(true);
    expect(setup().hook.builtInWasm).toBe(false);
  });
});
