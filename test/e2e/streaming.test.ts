/**
 * Streaming, aborts and upstream failures end to end. Timing is asserted by ordering (a chunk reached
 * the client before the upstream wrote the next one), never by absolute speed.
 */
import { once } from 'node:events';
import { request } from 'node:http';
import { mkdtempSync, readFileSync } from 'node:fs';
import { type AddressInfo, connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startGateway, stopAll } from '../helpers/gateway.js';
import { freePort } from '../helpers/ports.js';
import { sleep, upstreamsClosedAfterAll } from '../helpers/upstream.js';

const upstream = upstreamsClosedAfterAll(afterAll);
afterEach(stopAll);

const chunk = (i: number, content: string) =>
  `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;

/** An SSE upstream that writes `count` events `gapMs` apart and records when it wrote each. */
function sseUpstream(count: number, gapMs: number, sentAt: number[], options: { resetAfter?: number } = {}) {
  return upstream(async (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    for (let i = 0; i < count; i++) {
      if (res.destroyed) return;
      if (options.resetAfter === i) {
        res.socket?.destroy();
        return;
      }
      sentAt.push(Date.now());
      res.write(chunk(i, `tok${i} `));
      await sleep(gapMs);
    }
    res.end('data: [DONE]\n\n');
  });
}

describe('streaming', () => {
  it('delivers each SSE event while the upstream is still sending (SDK stream)', async () => {
    const sentAt: number[] = [];
    const up = await sseUpstream(6, 150, sentAt);
    const gw = await startGateway(['--base-url', up.url, '--api-key', 'sk-fake-a', '--forward-key', 'fk-fake']);
    const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'fk-fake', maxRetries: 0 });
    const stream = await openai.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }], stream: true });
    const arrivedAt: number[] = [];
    const text: string[] = [];
    for await (const part of stream) {
      arrivedAt.push(Date.now());
      text.push(part.choices[0]?.delta.content ?? '');
    }
    expect(text.join('')).toBe('tok0 tok1 tok2 tok3 tok4 tok5 ');
    // Event i reached the client before the upstream even wrote event i+1: nothing was held back.
    for (let i = 0; i < 5; i++) expect(arrivedAt[i]).toBeLessThan(sentAt[i + 1]);
    expect(up.requests[0].headers.authorization).toBe('Bearer sk-fake-a');
  });

  it('adds X-Accel-Buffering: no to event streams only', async () => {
    const up = await sseUpstream(1, 0, []);
    const gw = await startGateway(['--base-url', up.url]);
    const res = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', body: '{"stream":true}' });
    expect(res.headers.get('x-accel-buffering')).toBe('no');
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    await res.text();
    const json = await fetch(`${gw.url}/healthz`);
    expect(json.headers.get('x-accel-buffering')).toBeNull();
  });

  it('aborts the upstream request within a second of the client leaving', async () => {
    const up = await sseUpstream(100, 100, []);
    const gw = await startGateway(['--base-url', up.url]);
    const controller = new AbortController();
    const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'sk-fake', maxRetries: 0 });
    const stream = await openai.chat.completions.create({ model: 'm', messages: [], stream: true }, { signal: controller.signal });
    let abortedAt = 0;
    // The SDK ends the iteration quietly on its own abort; what matters is what the upstream saw.
    await (async () => {
      for await (const _part of stream) {
        abortedAt = Date.now();
        controller.abort();
      }
    })().catch(() => undefined);
    expect(abortedAt).toBeGreaterThan(0);
    for (let i = 0; i < 40 && !up.requests[0].aborted; i++) await sleep(25);
    expect(up.requests[0].aborted).toBe(true);
    expect(up.requests[0].abortedAt! - abortedAt).toBeLessThan(1000);
  });

  it('a client that closes its side (FIN, as curl ^C or a closed tab) while waiting for a non-stream reply cancels the upstream request', async () => {
    const up = await upstream(async (_req, res) => {
      await sleep(3000);
      if (!res.destroyed) res.end('{}');
    });
    const gw = await startGateway(['--base-url', up.url]);
    const client = connect(gw.port, '127.0.0.1');
    client.on('error', () => {});
    await once(client, 'connect');
    const body = '{"model":"m","messages":[]}';
    client.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    for (let i = 0; i < 40 && up.requests.length === 0; i++) await sleep(25);
    expect(up.requests).toHaveLength(1);
    const endedAt = Date.now();
    client.end();
    for (let i = 0; i < 40 && !up.requests[0].aborted; i++) await sleep(25);
    expect(up.requests[0].aborted).toBe(true);
    expect(up.requests[0].abortedAt! - endedAt).toBeLessThan(1000);
    client.destroy();
  });

  it('surfaces an upstream reset mid-stream as an error, never as a clean end', async () => {
    const up = await sseUpstream(10, 20, [], { resetAfter: 3 });
    const gw = await startGateway(['--base-url', up.url]);
    const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'sk-fake', maxRetries: 0 });
    const stream = await openai.chat.completions.create({ model: 'm', messages: [], stream: true });
    const got: string[] = [];
    await expect(
      (async () => {
        for await (const part of stream) got.push(part.choices[0]?.delta.content ?? '');
      })(),
    ).rejects.toThrow();
    expect(got).toEqual(['tok0 ', 'tok1 ', 'tok2 ']);
  });

  it('to an HTTP/1.0 client (or an nginx in front, which speaks 1.0 upstream), a stream cut midway ends in a reset, not a FIN that reads as complete', async () => {
    const up = await sseUpstream(10, 20, [], { resetAfter: 3 });
    const gw = await startGateway(['--base-url', up.url]);
    const client = connect(gw.port, '127.0.0.1');
    let received = '';
    let error = '';
    let ended = false;
    client.on('data', (c: Buffer) => (received += c.toString('latin1')));
    client.on('end', () => (ended = true));
    client.on('error', (err: NodeJS.ErrnoException) => (error = err.code ?? ''));
    const closed = new Promise((resolve) => client.once('close', resolve));
    client.write('POST /v1/chat/completions HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}');
    await closed;
    expect(received).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(received).not.toMatch(/transfer-encoding/i);
    expect(received).toContain('tok2 ');
    expect(error).toBe('ECONNRESET');
    expect(ended).toBe(false);
  });
});

describe('upstream failures before the response', () => {
  it.each([
    ['a Content-Length', 'content-length: 10'],
    ['chunked framing', 'transfer-encoding: chunked'],
  ])('502 when the upstream dies after its head (%s) but before any body byte: that head never reached the client, nor the log or the metrics', async (_framing, header) => {
    const server = createServer((socket) => {
      socket.on('error', () => {});
      socket.once('data', () => {
        socket.write(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n${header}\r\n\r\n`);
        setTimeout(() => socket.destroy(), 30);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const dir = mkdtempSync(join(tmpdir(), 'aifwd-retract-'));
    const metricsPort = await freePort();
    try {
      const gw = await startGateway(['--base-url', `http://127.0.0.1:${port}`, '--log-chat', '--log-dir', dir, '--metrics-port', String(metricsPort)]);
      const res = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', body: '{"model":"m"}' });
      expect(res.status).toBe(502);
      expect(res.headers.get('transfer-encoding')).toBeNull();
      // The whole body is the error, as JSON (no framing of the head taken back inside it).
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('upstream_unreachable');
      const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      expect(metrics).toMatch(/^aifwd_responses_total\{code="502"\} 1$/m);
      expect(metrics).not.toMatch(/^aifwd_responses_total\{code="200"\}/m);
      expect(await gw.stop()).toBe(0);
      const response = readFileSync(join(dir, 'chat.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; status: number })
        .find((r) => r.type === 'response');
      expect(response?.status).toBe(502);
    } finally {
      server.close();
    }
  });

  it('502 when the upstream refuses the connection', async () => {
    const up = await upstream();
    const port = up.port;
    await up.close();
    const gw = await startGateway(['--base-url', `http://127.0.0.1:${port}`, '--api-key', 'sk-fake-pool-secret', '--forward-key', 'fk-fake-secret']);
    const res = await fetch(`${gw.url}/v1/models`, { headers: { authorization: 'Bearer fk-fake-secret' } });
    expect(res.status).toBe(502);
    const text = await res.text();
    const body = JSON.parse(text) as { error: { code: string; message: string; type: string } };
    expect(body.error.code).toBe('upstream_unreachable');
    expect(body.error.message).toContain('refused');
    // The operator is told, in one line; nobody is told a key. (The line leaves the gateway before
    // the answer does, but its pipe may be read after the socket: wait for it.)
    for (let waited = 0; !/upstream failure: upstream_unreachable: /.test(gw.stderr()) && waited < 2000; waited += 20) await sleep(20);
    expect(gw.stderr()).toMatch(/upstream failure: upstream_unreachable: /);
    for (const secret of ['sk-fake-pool-secret', 'fk-fake-secret']) expect(gw.stderr() + gw.stdout() + text).not.toContain(secret);
  });

  it('504 when response headers do not come within the response timeout', async () => {
    const up = await upstream(async (_req, res) => {
      await sleep(1500);
      if (!res.destroyed) res.end('late');
    });
    const gw = await startGateway(['--base-url', up.url, '--response-timeout', '0.3']);
    const res = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(504);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('upstream_response_timeout');
  });

  it('cuts the client connection when the upstream goes idle mid-body', async () => {
    const up = await upstream(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(chunk(0, 'a'));
      await sleep(2000);
      if (!res.destroyed) res.end('data: [DONE]\n\n');
    });
    const gw = await startGateway(['--base-url', up.url, '--idle-timeout', '0.3']);
    const outcome = await new Promise<string>((resolve) => {
      const req = request(`${gw.url}/v1/chat/completions`, { method: 'POST' }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve(`clean end: ${body}`));
        res.on('error', () => resolve('error'));
        res.on('aborted', () => resolve('error'));
      });
      req.on('error', () => resolve('error'));
      req.end('{}');
    });
    expect(outcome).toBe('error');
  });
});
