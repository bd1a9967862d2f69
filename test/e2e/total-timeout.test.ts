/**
 * `total_timeout` end to end: the longest a forwarded request may take, from its arrival to the last
 * byte of the answer. Before the answer starts it is the gateway's 504 `upstream_total_timeout`;
 * after, the client connection is cut (never a clean end). Either way the upstream request is
 * aborted, the operator is told, the chat log records it, and the metrics count it. Off by default:
 * a stream slower than any per-phase timeout still completes.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { runCli, startGateway, stopAll } from '../helpers/gateway.js';
import { freePort } from '../helpers/ports.js';
import { actAsConnectProxy, sleep, upstreamsClosedAfterAll } from '../helpers/upstream.js';

const upstream = upstreamsClosedAfterAll(afterAll);
afterEach(stopAll);

const event = (i: number): string =>
  `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content: `t${i} ` }, finish_reason: null }] })}\n\n`;

/** An SSE upstream writing an event every `gapMs`, `count` of them; records whether the gateway went away first. */
function sseUpstream(count: number, gapMs: number, seen: { aborted: boolean; events: number }) {
  return upstream(async (_req, res) => {
    res.on('close', () => {
      if (!res.writableFinished) seen.aborted = true;
    });
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    for (let i = 0; i < count; i++) {
      if (res.destroyed) return;
      res.write(event(i));
      seen.events++;
      await sleep(gapMs);
    }
    res.end('data: [DONE]\n\n');
  });
}

/** POSTs `body` and reports how the response ended: its status, body, and whether it ended cleanly. */
function post(url: string, body: string): Promise<{ status: number; text: string; clean: boolean; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    let status = 0;
    let text = '';
    const done = (clean: boolean): void => resolve({ status, text, clean, ms: Date.now() - started });
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      status = res.statusCode ?? 0;
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => done(true));
      res.on('error', () => done(false));
      res.on('aborted', () => done(false));
    });
    req.on('error', () => done(false));
    req.end(body);
  });
}

const CHAT = JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'hi' }] });

describe('total_timeout', () => {
  it('no answer yet when it runs out: 504 upstream_total_timeout, the upstream request aborted', async () => {
    let aborted = false;
    const up = await upstream(async (_req, res) => {
      res.on('close', () => {
        if (!res.headersSent) aborted = true;
      });
      await sleep(3000);
      if (!res.destroyed) res.end('{}');
    });
    const gw = await startGateway(['--base-url', up.url, '--total-timeout', '0.4']);
    const got = await post(`${gw.url}/v1/chat/completions`, '{"model":"m"}');
    expect(got.status).toBe(504);
    const body = JSON.parse(got.text) as { error: { code: string; type: string; message: string } };
    expect(body.error.code).toBe('upstream_total_timeout');
    expect(body.error.type).toBe('gateway_error');
    expect(body.error.message).toContain('within 400 ms (TOTAL_TIMEOUT)');
    expect(got.ms).toBeLessThan(2500);
    for (let waited = 0; !aborted && waited < 2000; waited += 20) await sleep(20);
    expect(aborted).toBe(true);
  });

  it('through an outbound proxy (undici carries the request) as well', async () => {
    const up = await upstream(async (_req, res) => {
      await sleep(3000);
      if (!res.destroyed) res.end('{}');
    });
    const proxy = await upstream();
    const tunnels = actAsConnectProxy(proxy);
    const gw = await startGateway(['--base-url', up.url, '--total-timeout', '0.4'], { env: { HTTP_PROXY: proxy.url } });
    const got = await post(`${gw.url}/v1/chat/completions`, '{"model":"m"}');
    expect(got.status).toBe(504);
    expect((JSON.parse(got.text) as { error: { code: string } }).error.code).toBe('upstream_total_timeout');
    expect(tunnels).toEqual([`127.0.0.1:${up.port}`]);
  });

  it('mid-stream: the events so far reach the client, then its connection is cut; logged and counted', async () => {
    const seen = { aborted: false, events: 0 };
    const up = await sseUpstream(100, 50, seen);
    const dir = mkdtempSync(join(tmpdir(), 'aifwd-total-'));
    const metricsPort = await freePort();
    const gw = await startGateway(['--base-url', up.url, '--total-timeout', '0.6', '--log-chat', '--log-dir', dir, '--metrics-port', String(metricsPort)]);
    const got = await post(`${gw.url}/v1/chat/completions`, CHAT);
    expect(got.status).toBe(200);
    expect(got.clean).toBe(false);
    expect(got.text).toContain('data: {');
    expect(got.text).not.toContain('[DONE]');
    for (let waited = 0; !seen.aborted && waited < 2000; waited += 20) await sleep(20);
    expect(seen.aborted).toBe(true);
    expect(seen.events).toBeLessThan(100);

    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/^aifwd_upstream_failures_total\{code="upstream_total_timeout"\} 1$/m);
    expect(await gw.stop()).toBe(0);
    expect(gw.stderr()).toMatch(/upstream failure mid-response \(client connection cut\): upstream_total_timeout: /);
    const records = readFileSync(join(dir, 'chat.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const response = records.find((r) => r.type === 'response') as { error?: { code?: string }; assistant?: string };
    expect(response.error?.code).toBe('UPSTREAM_TOTAL_TIMEOUT');
    expect(response.assistant).toMatch(/^t0 t1 /);
  });

  it('an answer that ends in time is untouched, and off by default a slow stream completes', async () => {
    const fast = { aborted: false, events: 0 };
    const upFast = await sseUpstream(5, 20, fast);
    const gw = await startGateway(['--base-url', upFast.url, '--total-timeout', '5']);
    const got = await post(`${gw.url}/v1/chat/completions`, CHAT);
    expect(got).toMatchObject({ status: 200, clean: true });
    expect(got.text.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(fast.aborted).toBe(false);

    // Longer than the per-phase timeouts given, event by event within them: no total limit by default.
    const slow = { aborted: false, events: 0 };
    const upSlow = await sseUpstream(8, 150, slow);
    const gwDefault = await startGateway(['--base-url', upSlow.url, '--idle-timeout', '0.5', '--response-timeout', '0.5']);
    const slowGot = await post(`${gwDefault.url}/v1/chat/completions`, CHAT);
    expect(slowGot).toMatchObject({ status: 200, clean: true });
    expect(slowGot.ms).toBeGreaterThan(1000);
    expect(slow.events).toBe(8);
  });

  it('a bad value stops the start with one line and exit code 2', async () => {
    const run = runCli(['run', '--total-timeout', 'soon']);
    expect(await run.exited).toBe(2);
    expect(run.stderr().trim().split('\n')).toHaveLength(1);
    expect(run.stderr()).toContain('--total-timeout "soon"');
  });
});
