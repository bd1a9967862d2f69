/**
 * The chat log inside a real gateway process (in-process: createGateway + its hook) against a fake
 * upstream: what the client gets is untouched, and the log holds both records of every exchange.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChatLog } from '../../src/chat-log/index.js';
import { loadConfig } from '../../src/config/load.js';
import { createGateway, type Gateway } from '../../src/node/gateway.js';
import { sse } from './helpers.js';

const POOL_KEY = 'sk-pool-0123456789abcdef';
const FORWARD_KEY = 'fk-forward-0123456789';
const STREAM = sse([
  { choices: [{ index: 0, delta: { role: 'assistant', content: 'Str' } }] },
  { choices: [{ index: 0, delta: { content: 'eamed' }, finish_reason: 'stop' }] },
  { choices: [], usage: { total_tokens: 3 } },
]);
const JSON_REPLY = JSON.stringify({ choices: [{ index: 0, message: { role: 'assistant', content: 'Plain' }, finish_reason: 'stop' }] });
/** A reply as OpenAI writes one: pretty-printed, usage across lines; here in Chinese. */
const USAGE = { prompt_tokens: 12, completion_tokens: 7, total_tokens: 19, prompt_tokens_details: { cached_tokens: 0 } };
const PRETTY_REPLY = `${JSON.stringify(
  { id: 'chatcmpl-1', object: 'chat.completion', model: 'gpt-4o-mini', choices: [{ index: 0, message: { role: 'assistant', content: '巴黎，塞纳河畔。', refusal: null }, logprobs: null, finish_reason: 'stop' }], usage: USAGE },
  null,
  2,
)}\n`;

let upstream: Server;
let gateway: Gateway;
let base: string;
let dir: string;
let chatLog: ReturnType<typeof createChatLog>;

beforeAll(async () => {
  upstream = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString() || '{}') as { stream?: boolean; user?: string };
      if (body.stream) {
        const gzip = body.user === 'gzip';
        res.writeHead(200, { 'content-type': 'text/event-stream', ...(gzip ? { 'content-encoding': 'gzip' } : {}) });
        const bytes = gzip ? gzipSync(STREAM) : Buffer.from(STREAM);
        // Several writes: events split across chunks.
        for (let i = 0; i < bytes.length; i += 17) res.write(bytes.subarray(i, i + 17));
        res.end();
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(body.user === 'pretty' ? PRETTY_REPLY : JSON_REPLY);
      }
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  dir = mkdtempSync(join(tmpdir(), 'aifwd-gw-log-'));
  chatLog = createChatLog({ dir: join(dir, 'Log'), rotateSize: 20 * 1024 * 1024, mode: 'file' });
  const config = loadConfig({
    flags: { base_url: upstreamUrl, host: '127.0.0.1', port: '0', api_key: POOL_KEY, forward_key: FORWARD_KEY, log_chat: 'true' },
    env: {},
    cwd: dir,
  });
  gateway = createGateway(config, { env: {}, hook: chatLog.hook });
  base = `http://127.0.0.1:${(await gateway.listen()).port}`;
});

afterAll(async () => {
  await gateway?.close(1000);
  await chatLog?.close();
  await new Promise((resolve) => upstream?.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

async function post(route: string, body: object): Promise<string> {
  const res = await fetch(`${base}${route}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${FORWARD_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return res.text();
}

describe('chat log in the gateway', () => {
  it('records stream, gzip stream and JSON exchanges; the client bytes are untouched', async () => {
    const messages = [{ role: 'user', content: 'hello' }];
    expect(await post('/v1/chat/completions', { model: 'm', stream: true, messages })).toBe(STREAM);
    expect(await post('/v1/chat/completions', { model: 'm', stream: true, messages, user: 'gzip' })).toBe(STREAM);
    expect(await post('/v1/chat/completions', { model: 'm', messages })).toBe(JSON_REPLY);
    // Not recorded: another route.
    await post('/v1/embeddings', { model: 'e', input: 'x' });

    await chatLog.flush();
    const text = readFileSync(chatLog.path, 'utf8');
    expect(text).not.toContain(POOL_KEY);
    expect(text).not.toContain(FORWARD_KEY);
    const records = text.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    const requests = records.filter((r) => r.type === 'request');
    const responses = records.filter((r) => r.type === 'response');
    expect(requests).toHaveLength(3);
    expect(responses).toHaveLength(3);
    const responseOf = (request: Record<string, unknown>): Record<string, unknown> | undefined => responses.find((r) => r.uid === request.uid);
    // Each response record after its request's. Not always right after it: the gzip stream's waits
    // for its copy to be decoded (zlib, on libuv's pool), and under load the next exchange's request
    // record can come first (seen once in a full run).
    for (const request of requests) expect(records.indexOf(responseOf(request) ?? {})).toBeGreaterThan(records.indexOf(request));
    expect(requests.map((r) => responseOf(r)?.assistant)).toEqual(['Streamed', 'Streamed', 'Plain']);
    expect(responseOf(requests[0])).toMatchObject({ status: 200, usage: { total_tokens: 3 } });
    expect(requests[0]).toMatchObject({ ip: '127.0.0.1', route: '/v1/chat/completions', model: 'm', stream: true, messages });
  });

  it('a reply as OpenAI writes it (pretty-printed) and a conversation in Chinese: one line per record, the client bytes untouched', async () => {
    const before = readFileSync(chatLog.path, 'utf8').trimEnd().split('\n').length;
    const messages = [{ role: 'user', content: '法国的首都是哪里？' }];
    expect(await post('/v1/chat/completions', { model: 'gpt-4o-mini', messages, temperature: 1.5, user: 'pretty' })).toBe(PRETTY_REPLY);

    await chatLog.flush();
    const lines = readFileSync(chatLog.path, 'utf8').trimEnd().split('\n').slice(before);
    expect(lines).toHaveLength(2);
    const [request, response] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(request).toMatchObject({ type: 'request', model: 'gpt-4o-mini', stream: false, messages, temperature: 1.5 });
    expect(response).toMatchObject({ type: 'response', uid: request.uid, status: 200, assistant: '巴黎，塞纳河畔。', finish_reason: 'stop', usage: USAGE, tool_calls: null, reasoning: null });
  });
});
