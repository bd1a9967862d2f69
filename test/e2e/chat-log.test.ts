/**
 * The chat log end to end: the real CLI with --log-chat, the official openai SDK as the client and
 * `aifwd mock` (in process) as the upstream. Asserts the client's bytes and the records on disk.
 */
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startMock, type MockServer } from '../../src/mock/server.js';
import { ROOT, runCli, startGateway, stopAll, type RunningGateway } from '../helpers/gateway.js';
import { cachedPages, hasFincore } from '../helpers/page-cache.js';
import { sleep, startUpstream } from '../helpers/upstream.js';

const POOL = 'sk-fake-chatlog-pool-0123456789';
const FORWARD = 'fk-fake-chatlog-forward-987654';

type LogRecord = Record<string, unknown> & { type: string; uid: string };

let mock: MockServer;
beforeAll(async () => {
  mock = await startMock();
});
afterAll(async () => mock.close());
afterEach(stopAll);

function logDir(): string {
  return mkdtempSync(join(tmpdir(), 'aifwd-chatlog-'));
}

/** Every record in the log directory, rotated siblings first (chat.1.log … chat.log). */
function readLog(dir: string): LogRecord[] {
  const files = readdirSync(dir)
    .filter((f) => /^chat(\.\d+)?\.log$/.test(f))
    .sort((a, b) => (/\d+/.exec(a)?.[0] ? Number(/\d+/.exec(a)![0]) : Infinity) - (/\d+/.exec(b)?.[0] ? Number(/\d+/.exec(b)![0]) : Infinity));
  const lines = files.flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter((l) => l !== ''));
  return lines.map((l) => JSON.parse(l) as LogRecord);
}

/** Waits until `count` records are on disk (the writer batches asynchronously). */
async function records(dir: string, count: number): Promise<LogRecord[]> {
  for (let i = 0; i < 100; i++) {
    const got = readLog(dir);
    if (got.length >= count) return got;
    await sleep(50);
  }
  return readLog(dir);
}

function pair(all: LogRecord[], uid: string): { request: LogRecord; response: LogRecord } {
  return {
    request: all.find((r) => r.type === 'request' && r.uid === uid)!,
    response: all.find((r) => r.type === 'response' && r.uid === uid)!,
  };
}

async function gatewayWithLog(dir: string, extra: string[] = []): Promise<{ gw: RunningGateway; openai: OpenAI }> {
  const gw = await startGateway(['--base-url', mock.url, '--api-key', POOL, '--forward-key', FORWARD, '--log-chat', '--log-dir', dir, ...extra]);
  return { gw, openai: new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: FORWARD, maxRetries: 0 }) };
}

describe('chat log', () => {
  it('records a non-stream and a stream exchange, and the banner says where', async () => {
    const dir = logDir();
    const { gw, openai } = await gatewayWithLog(dir);
    expect(gw.stdout()).toContain(`chat log     on → ${join(dir, 'chat.log')}`);
    // The CLI is a bundle (bin/aifwd.js): it found the WebAssembly line builder next to it.
    expect(gw.stderr()).not.toContain('could not be loaded');
    const reply = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], temperature: 0.3 });
    const stream = await openai.chat.completions.create(
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'stream please' }], stream: true, stream_options: { include_usage: true } },
      { headers: { 'x-mock-chunks': '5' } },
    );
    let streamed = '';
    for await (const part of stream) streamed += part.choices[0]?.delta.content ?? '';
    expect(streamed).toBe('tok0 tok1 tok2 tok3 tok4 ');

    const all = await records(dir, 4);
    const requests = all.filter((r) => r.type === 'request');
    expect(requests).toHaveLength(2);
    const first = pair(all, requests[0].uid);
    expect(first.request).toMatchObject({ route: '/v1/chat/completions', model: 'gpt-4o-mini', stream: false, ip: '127.0.0.1', temperature: 0.3, messages: [{ role: 'user', content: 'hi' }] });
    expect(first.response).toMatchObject({ status: 200, assistant: reply.choices[0].message.content, finish_reason: 'stop' });
    expect(first.response.usage).toMatchObject({ total_tokens: expect.any(Number) });
    expect(typeof first.response.ttft_ms).toBe('number');
    expect(typeof first.response.duration_ms).toBe('number');
    const second = pair(all, requests[1].uid);
    expect(second.request).toMatchObject({ stream: true, messages: [{ role: 'user', content: 'stream please' }] });
    expect(second.response).toMatchObject({ status: 200, assistant: streamed, finish_reason: 'stop' });
    expect(second.response.usage).toMatchObject({ total_tokens: expect.any(Number) });
  });

  it('a crash (an uncaught exception) still writes the records of the exchanges answered before it', async () => {
    const dir = logDir();
    const crash = pathToFileURL(join(ROOT, 'test/fixtures/crash-on-sigusr2.mjs')).href;
    const gw = await startGateway(['--base-url', mock.url, '--api-key', POOL, '--forward-key', FORWARD, '--log-chat', '--log-dir', dir], { env: { NODE_OPTIONS: `--import=${crash}` } });
    const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: FORWARD, maxRetries: 0 });
    const replies = [];
    for (let i = 0; i < 3; i++) replies.push(await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `crash ${i}` }] }));
    // At once: the records still wait for their batch (up to 100 ms) when the process dies.
    gw.proc.kill('SIGUSR2');
    expect(await gw.exited).toBe(1);
    expect(gw.stderr()).toContain('crash on SIGUSR2');
    const all = readLog(dir);
    const requests = all.filter((r) => r.type === 'request');
    expect(requests.map((r) => (r.messages as { content: string }[])[0].content)).toEqual(['crash 0', 'crash 1', 'crash 2']);
    for (const [i, request] of requests.entries()) expect(pair(all, request.uid).response).toMatchObject({ status: 200, assistant: replies[i].choices[0].message.content });
  });

  it('an upstream 401 that quotes the pool key it got: the client gets it unchanged, the log never has the key', async () => {
    const quoting = await startUpstream((req, res) => {
      const key = (req.headers.authorization ?? '').replace('Bearer ', '');
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `Incorrect API key provided: ${key}.`, type: 'invalid_request_error', code: 'invalid_api_key', param: null } }));
    });
    try {
      const dir = logDir();
      const gw = await startGateway(['--base-url', quoting.url, '--api-key', POOL, '--forward-key', FORWARD, '--log-chat', '--log-dir', dir]);
      const res = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'm', messages: [] }), headers: { authorization: `Bearer ${FORWARD}`, 'content-type': 'application/json' } });
      expect(res.status).toBe(401);
      // Upstream errors pass through unchanged (DESIGN §5).
      expect(await res.text()).toContain(POOL);
      const all = await records(dir, 2);
      expect(pair(all, all[0].uid).response).toMatchObject({ status: 401, error: { code: 'invalid_api_key', message: expect.stringMatching(/^Incorrect API key provided: sk-fa…6789\.$/) } });
      for (const file of readdirSync(dir)) expect(readFileSync(join(dir, file), 'utf8')).not.toContain(POOL);
    } finally {
      await quoting.close();
    }
  });

  it('a chat body still coming when the request arrives streams to the upstream; the log gets its copy whole', async () => {
    let headAt = 0;
    let received = '';
    const up = await startUpstream(
      (req, res) => {
        headAt = Date.now();
        req.setEncoding('utf8');
        req.on('data', (c: string) => (received += c));
        req.on('end', () => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ id: 'c', object: 'chat.completion', model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'seen' }, finish_reason: 'stop' }] }));
        });
      },
      { bufferBody: false },
    );
    try {
      const dir = logDir();
      const gw = await startGateway(['--base-url', up.url, '--api-key', POOL, '--forward-key', FORWARD, '--log-chat', '--log-dir', dir]);
      const body = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'a picture: ' + 'x'.repeat(100_000) }] });
      const socket = connect(gw.port, '127.0.0.1');
      await new Promise((resolve) => socket.once('connect', resolve));
      let text = '';
      socket.on('data', (c: Buffer) => (text += c.toString()));
      const closed = new Promise((resolve) => socket.once('close', resolve));
      const chunk = (s: string): string => `${Buffer.byteLength(s).toString(16)}\r\n${s}\r\n`;
      socket.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${FORWARD}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunk(body.slice(0, 1000))}`);
      await sleep(400);
      const restAt = Date.now();
      socket.write(`${chunk(body.slice(1000))}0\r\n\r\n`);
      await closed;
      expect(text).toMatch(/^HTTP\/1\.1 200 /);
      // The upstream had the request before the rest of the body was sent, and then all of it.
      expect(headAt).toBeGreaterThan(0);
      expect(headAt).toBeLessThan(restAt);
      expect(received).toBe(body);
      const all = await records(dir, 2);
      const { request, response } = pair(all, all[0].uid);
      expect(request).toMatchObject({ model: 'm', messages: [{ role: 'user', content: JSON.parse(body).messages[0].content }] });
      expect(response).toMatchObject({ status: 200, assistant: 'seen' });
    } finally {
      await up.close();
    }
  });

  it('a body over --max-body-size is recorded the same way whether its length was declared or it came chunked', async () => {
    const dir = logDir();
    const { gw } = await gatewayWithLog(dir, ['--max-body-size', '100']);
    const body = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x'.repeat(200) }] });
    const headers = { authorization: `Bearer ${FORWARD}`, 'content-type': 'application/json' };
    const declared = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', body, headers });
    const chunked = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers,
      body: new ReadableStream({ start: (c) => { c.enqueue(new TextEncoder().encode(body)); c.close(); } }),
      duplex: 'half',
    } as RequestInit);
    expect([declared.status, chunked.status]).toEqual([413, 413]);
    const all = await records(dir, 4);
    expect(all).toHaveLength(4);
    for (const request of all.filter((r) => r.type === 'request')) {
      const { response } = pair(all, request.uid);
      expect(request).toMatchObject({ route: '/v1/chat/completions', unparsed: true, raw: '' });
      expect(response).toMatchObject({ status: 413, error: { code: 'body_too_large' } });
    }
  });

  it('stamps arrival, first byte and end as they happened, in different event-loop turns (one clock read per turn)', async () => {
    const dir = logDir();
    const { gw } = await gatewayWithLog(dir);
    const body = JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'slowly' }] });
    const sentAt = Date.now();
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      body,
      headers: { authorization: `Bearer ${FORWARD}`, 'content-type': 'application/json', 'x-mock-first-byte-ms': '120', 'x-mock-chunks': '3', 'x-mock-delay-ms': '60' },
    });
    await res.text();
    const doneAt = Date.now();
    const all = await records(dir, 2);
    const { request, response } = pair(all, all[0].uid);
    const requestTime = Date.parse(request.time as string);
    const responseTime = Date.parse(response.time as string);
    expect(requestTime).toBeGreaterThanOrEqual(sentAt);
    expect(responseTime).toBeLessThanOrEqual(doneAt);
    // The head came after 120 ms, the first delta with it or after; 3 deltas 60 ms apart follow.
    expect(response.ttft_ms as number).toBeGreaterThanOrEqual(115);
    expect(response.duration_ms as number).toBeGreaterThanOrEqual((response.ttft_ms as number) + 115);
    expect(responseTime - requestTime).toBe(response.duration_ms);
  });

  it('decodes a gzip stream on a copy, records tool calls and reasoning, and passes the client the original bytes', async () => {
    const dir = logDir();
    const { gw } = await gatewayWithLog(dir);
    const body = JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'weather?' }] });
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      body,
      headers: { authorization: `Bearer ${FORWARD}`, 'content-type': 'application/json', 'x-mock-encoding': 'gzip', 'x-mock-tool-calls': 'get_weather', 'x-mock-reasoning': 'true', 'accept-encoding': 'gzip' },
    });
    expect(res.headers.get('content-encoding')).toBe('gzip');
    const text = await res.text(); // fetch decodes gzip for us: the client got the gzip bytes
    expect(text).toContain('data: [DONE]');
    const all = await records(dir, 2);
    const { response } = pair(all, all[0].uid);
    expect(response.finish_reason).toBe('tool_calls');
    expect(response.tool_calls).toEqual([expect.objectContaining({ type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } })]);
    expect(typeof response.reasoning).toBe('string');
    expect((response.reasoning as string).length).toBeGreaterThan(0);
  });

  it('records the Responses API and completions', async () => {
    const dir = logDir();
    const { openai } = await gatewayWithLog(dir);
    const stream = await openai.responses.create({ model: 'gpt-4o-mini', input: 'Say hi', stream: true });
    let text = '';
    for await (const event of stream) if (event.type === 'response.output_text.delta') text += event.delta;
    const completion = await openai.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'Once upon' });
    const all = await records(dir, 4);
    const [r1, r2] = all.filter((r) => r.type === 'request');
    expect(r1).toMatchObject({ route: '/v1/responses', input: 'Say hi', stream: true });
    expect(pair(all, r1.uid).response).toMatchObject({ assistant: text, status: 200 });
    expect(r2).toMatchObject({ route: '/v1/completions', prompt: 'Once upon' });
    expect(pair(all, r2.uid).response).toMatchObject({ assistant: completion.choices[0].text });
  });

  it('forwards an invalid JSON body untouched and records it as unparsed; records upstream errors', async () => {
    const dir = logDir();
    const { gw, openai } = await gatewayWithLog(dir);
    const res = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', body: '{not json', headers: { authorization: `Bearer ${FORWARD}` } });
    expect(res.status).toBe(400); // the mock's own answer to bad JSON, relayed
    const failure = await openai.chat.completions
      .create({ model: 'm', messages: [{ role: 'user', content: 'x' }] }, { headers: { 'x-mock-status': '500' } })
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(OpenAI.InternalServerError);
    const all = await records(dir, 4);
    const [bad, errored] = all.filter((r) => r.type === 'request');
    expect(bad).toMatchObject({ unparsed: true, raw: '{not json' });
    expect(pair(all, bad.uid).response).toMatchObject({ status: 400 });
    expect(pair(all, errored.uid).response).toMatchObject({ status: 500 });
  });

  it('records a client abort', async () => {
    const dir = logDir();
    const { openai } = await gatewayWithLog(dir);
    const controller = new AbortController();
    const stream = await openai.chat.completions.create(
      { model: 'm', messages: [{ role: 'user', content: 'long' }], stream: true },
      { signal: controller.signal, headers: { 'x-mock-chunks': '50', 'x-mock-delay-ms': '50' } },
    );
    await (async () => {
      for await (const _part of stream) controller.abort();
    })().catch(() => undefined);
    const all = await records(dir, 2);
    expect(pair(all, all[0].uid).response).toMatchObject({ aborted: true });
  });

  it('50 concurrent requests then SIGTERM: every answered request is in the log, and no key is', async () => {
    const dir = logDir();
    const { gw, openai } = await gatewayWithLog(dir);
    const answered = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        openai.chat.completions.create(
          { model: 'm', messages: [{ role: 'user', content: `question ${i}` }], stream: i % 2 === 0 },
          { headers: { 'x-mock-delay-ms': '5', 'x-mock-chunks': '4' } },
        ).then(async (r) => {
          if (Symbol.asyncIterator in r) for await (const _ of r);
          return i;
        }),
      ),
    );
    expect(answered).toHaveLength(50);
    expect(await gw.stop('SIGTERM')).toBe(0);
    const all = readLog(dir);
    const questions = all.filter((r) => r.type === 'request').map((r) => (r.messages as { content: string }[])[0].content);
    expect(new Set(questions).size).toBe(50);
    expect(all.filter((r) => r.type === 'response' && r.status === 200)).toHaveLength(50);
    const raw = readdirSync(dir).map((f) => readFileSync(join(dir, f), 'utf8')).join('');
    expect(raw).not.toContain(POOL);
    expect(raw).not.toContain(FORWARD);
    expect(raw.toLowerCase()).not.toContain('authorization');
  });

  it('rotates into numbered files, and convert reads all of them in both formats', async () => {
    const dir = logDir();
    const { gw, openai } = await gatewayWithLog(dir, ['--log-rotate-size', '4kb']);
    for (let i = 0; i < 30; i++) {
      await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `q${i} ${'x'.repeat(200)}` }] });
    }
    expect(await gw.stop('SIGTERM')).toBe(0);
    const files = readdirSync(dir).filter((f) => f.endsWith('.log'));
    expect(files.length).toBeGreaterThan(2);
    for (const f of files) expect(readFileSync(join(dir, f)).length).toBeLessThanOrEqual(4096);
    expect(readLog(dir)).toHaveLength(60);

    const target = join(dir, 'out.jsonl');
    const convert = runCli(['convert', '--log-path', join(dir, 'chat.log'), '--target-path', target]);
    expect(await convert.exited).toBe(0);
    const lines = readFileSync(target, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { messages: { role: string; content: string }[] });
    expect(lines).toHaveLength(30);
    expect(lines[0].messages[0]).toEqual({ role: 'user', content: `q0 ${'x'.repeat(200)}` });
    expect(lines[29].messages.at(-1)).toEqual({ role: 'assistant', content: 'Hello from the aifwd mock upstream!' });

    const seedTarget = join(dir, 'seed.jsonl');
    const seed = runCli(['convert', '--log-path', join(dir, 'chat.log'), '--target-path', seedTarget, '--format', 'seed']);
    expect(await seed.exited).toBe(0);
    const seedLines = readFileSync(seedTarget, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as unknown[]);
    expect(seedLines).toHaveLength(30);
    expect(seedLines[0]).toEqual([{ messages: [{ user: `q0 ${'x'.repeat(200)}` }], model: 'gpt-4o-mini' }, { assistant: 'Hello from the aifwd mock upstream!' }]);
  });

  it('convert: a missing log is one line and exit 2', async () => {
    const run = runCli(['convert', '--log-path', join(logDir(), 'nope.log')]);
    expect(await run.exited).toBe(2);
    expect(run.stderr().trim().split('\n')).toHaveLength(1);
    expect(run.stderr()).toMatch(/^aifwd: /);
  });

  it('--workers 2: lines from both workers, none corrupt, all flushed on SIGTERM', async () => {
    const dir = logDir();
    const { gw } = await gatewayWithLog(dir, ['--workers', '2', '--log-rotate-size', '16kb']);
    await Promise.all(
      Array.from({ length: 80 }, (_, i) =>
        fetch(`${gw.url}/v1/chat/completions`, {
          method: 'POST',
          // New connections so both workers get requests.
          headers: { authorization: `Bearer ${FORWARD}`, 'content-type': 'application/json', connection: 'close' },
          body: JSON.stringify({ model: 'm', stream: i % 2 === 0, messages: [{ role: 'user', content: `w${i} ${'y'.repeat(300)}` }] }),
        }).then((r) => r.text()),
      ),
    );
    expect(await gw.stop('SIGTERM')).toBe(0);
    const files = readdirSync(dir).filter((f) => f.endsWith('.log'));
    expect(files.length).toBeGreaterThan(1);
    const all = readLog(dir); // JSON.parse of every line: throws on a corrupt one
    expect(all.filter((r) => r.type === 'request')).toHaveLength(80);
    expect(all.filter((r) => r.type === 'response')).toHaveLength(80);
  });

  it('hands the log’s written pages back to the kernel as it grows and on SIGTERM, saying nothing about it', async () => {
    const dir = logDir();
    const { gw } = await gatewayWithLog(dir);
    // 60 exchanges of ~100 KB requests: past RELEASE_BYTES (4 MiB) of log, so it is released while the gateway runs.
    const replies: { status: number; content: unknown }[] = [];
    for (let round = 0; round < 6; round++) {
      const got = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          fetch(`${gw.url}/v1/chat/completions`, {
            method: 'POST',
            headers: { authorization: `Bearer ${FORWARD}`, 'content-type': 'application/json' },
            body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: `p${round * 10 + i} ${'z'.repeat(100_000)}` }] }),
          }).then(async (r) => ({ status: r.status, content: ((await r.json()) as { choices: { message: { content: unknown } }[] }).choices[0].message.content })),
        ),
      );
      replies.push(...got);
    }
    expect(replies.every((r) => r.status === 200 && r.content === 'Hello from the aifwd mock upstream!')).toBe(true);
    const path = join(dir, 'chat.log');
    // Not read until the end: reading the file would bring its pages back into the cache.
    const sizeNow = (): number => statSync(path, { throwIfNoEntry: false })?.size ?? 0;
    for (let i = 0; i < 100 && sizeNow() < 6_000_000; i++) await sleep(50);
    const size = sizeNow();
    expect(size).toBeGreaterThan(6_000_000);
    if (hasFincore) {
      let cached = cachedPages(path);
      for (let i = 0; i < 40 && cached * 4096 > size - 4_000_000; i++) {
        await sleep(50);
        cached = cachedPages(path);
      }
      // At least the first 4 MiB were synced and dropped while the gateway served.
      expect(cached * 4096).toBeLessThanOrEqual(size - 4_000_000);
    }
    expect(await gw.stop('SIGTERM')).toBe(0);
    if (hasFincore) expect(cachedPages(path)).toBeLessThan(10);
    const all = readLog(dir);
    expect(all.filter((r) => r.type === 'request')).toHaveLength(60);
    expect(all.filter((r) => r.type === 'response')).toHaveLength(60);
    // node:wasi's experimental warning, which the release's first use would print, is kept off stderr.
    expect(gw.stderr()).not.toMatch(/WASI|ExperimentalWarning/);
  });

  it('a full or unwritable log is reported once and the gateway keeps serving', async () => {
    const dir = logDir();
    const blocked = join(dir, 'not-a-dir');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(blocked, 'a file where the log directory should be');
    const { gw, openai } = await gatewayWithLog(blocked);
    for (let i = 0; i < 5; i++) {
      const reply = await openai.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'still serving?' }] });
      expect(reply.choices[0].message.content).toBeTruthy();
    }
    await sleep(300);
    const complaints = gw.stderr().split('\n').filter((l) => l.includes('chat log'));
    expect(complaints).toHaveLength(1);
  });
});
