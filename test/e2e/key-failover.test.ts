/**
 * Key health and failover end to end: a pool key the upstream refuses (429 / 401) rests for as long
 * as the upstream says, the request goes again with another key before the client sees anything,
 * the operator gets one masked line per key, and what cannot fail over (every key refused, a
 * streamed body, passthrough) reaches the client unchanged.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startGateway, stopAll } from '../helpers/gateway.js';
import { sleep, upstreamsClosedAfterAll, type UpstreamHandler } from '../helpers/upstream.js';

// Long enough to be masked as real keys are (`sk-fa…1111`).
const KEY_A = 'sk-fake-key-aaaa-aaaa-aaaa-1111';
const KEY_B = 'sk-fake-key-bbbb-bbbb-bbbb-2222';
const FORWARD = 'fk-fake-failover';
const upstream = upstreamsClosedAfterAll(afterAll);
afterEach(stopAll);

const chat = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
const reply = JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'hello' }, finish_reason: 'stop' }] });

/** Answers 200 for the keys in `good`, and `refusal` for the others (a 401 says `code`, default invalid_api_key). */
function keyedUpstream(good: readonly string[], refusal: { status: number; headers?: Record<string, string>; code?: string; slowBody?: boolean }): UpstreamHandler {
  return (req, res) => {
    if (good.includes((req.headers.authorization ?? '').replace(/^Bearer /, ''))) {
      res.writeHead(200, { 'content-type': 'application/json', 'x-served-by': 'good-key' });
      res.end(reply);
      return;
    }
    const body = JSON.stringify({ error: { message: 'Refused', type: 'requests', code: refusal.code ?? (refusal.status === 429 ? 'rate_limit_exceeded' : 'invalid_api_key') } });
    res.writeHead(refusal.status, { 'content-type': 'application/json', ...refusal.headers });
    if (!refusal.slowBody) {
      res.end(body);
      return;
    }
    // A refusal whose body never ends: a 429 must not make the client wait for it.
    res.write(body.slice(0, 10));
    req.socket.on('close', () => res.destroy());
  };
}

const keyOf = (auth: string | undefined): string => (auth ?? '').replace(/^Bearer /, '');

async function post(url: string, body = chat): Promise<{ status: number; text: string; servedBy: string | null }> {
  const res = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${FORWARD}`, 'content-type': 'application/json' }, body });
  return { status: res.status, text: await res.text(), servedBy: res.headers.get('x-served-by') };
}

describe('key failover', () => {
  it('a 429 key rests for Retry-After; the request goes again with the next key, the client sees only the 200', async () => {
    const up = await upstream(keyedUpstream([KEY_B], { status: 429, headers: { 'retry-after': '30' } }));
    const gw = await startGateway(['--base-url', up.url, '--api-key', `${KEY_A},${KEY_B}`, '--forward-key', FORWARD]);
    const first = await post(gw.url);
    expect(first.status).toBe(200);
    expect(JSON.parse(first.text)).toEqual(JSON.parse(reply));
    expect(up.requests.map((r) => keyOf(r.headers.authorization))).toEqual([KEY_A, KEY_B]);
    // Both attempts carried the same body.
    expect(up.requests.map((r) => r.body.toString())).toEqual([chat, chat]);

    // Key A rests: the next requests use key B only.
    for (let i = 0; i < 3; i++) expect((await post(gw.url)).status).toBe(200);
    expect(up.requests.slice(2).map((r) => keyOf(r.headers.authorization))).toEqual([KEY_B, KEY_B, KEY_B]);

    // One line for the operator, naming the key masked, the status and the rest; never the key itself.
    await sleep(50);
    const lines = gw.stderr().split('\n').filter((l) => l.includes('pool key'));
    expect(lines).toEqual(['aifwd: pool key sk-fa…1111 got 429 from the upstream; out of rotation for 30 s (retry-after)']);
    expect(gw.stderr() + gw.stdout()).not.toContain(KEY_A);
    expect(gw.stderr() + gw.stdout()).not.toContain(KEY_B);
  });

  it('a 429 is cut off at once: the client does not wait for its body', async () => {
    const up = await upstream(keyedUpstream([KEY_B], { status: 429, slowBody: true }));
    const gw = await startGateway(['--base-url', up.url, '--api-key', `${KEY_A},${KEY_B}`, '--forward-key', FORWARD]);
    const started = Date.now();
    expect((await post(gw.url)).status).toBe(200);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(up.requests.map((r) => keyOf(r.headers.authorization))).toEqual([KEY_A, KEY_B]);
  });

  it('a 401 about the request (a wrong organization header) passes through; no key rests', async () => {
    const up = await upstream(keyedUpstream([], { status: 401, code: 'mismatched_organization' }));
    const gw = await startGateway(['--base-url', up.url, '--api-key', `${KEY_A},${KEY_B}`, '--forward-key', FORWARD]);
    const res = await post(gw.url);
    expect(res.status).toBe(401);
    expect(JSON.parse(res.text).error.code).toBe('mismatched_organization');
    expect(up.requests).toHaveLength(1);
    await post(gw.url);
    // Round-robin goes on: the first key was not taken out of rotation.
    expect(up.requests.map((r) => keyOf(r.headers.authorization))).toEqual([KEY_A, KEY_B]);
    await sleep(50);
    expect(gw.stderr()).not.toContain('pool key');
  });

  it('a 401 key rests five minutes, and a request without a body fails over too', async () => {
    const up = await upstream(keyedUpstream([KEY_A], { status: 401 }));
    const gw = await startGateway(['--base-url', up.url, '--api-key', `${KEY_B},${KEY_A}`, '--forward-key', FORWARD]);
    const res = await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${FORWARD}` } });
    expect(res.status).toBe(200);
    expect(up.requests.map((r) => keyOf(r.headers.authorization))).toEqual([KEY_B, KEY_A]);
    await sleep(50);
    expect(gw.stderr()).toContain('pool key sk-fa…2222 got 401 from the upstream; out of rotation for 300 s (invalid key)');
  });

  it('--workers 2: a key one worker rests rests in the other too, and in a replacement worker: the upstream refuses it once', async () => {
    const up = await upstream(keyedUpstream([KEY_B], { status: 429, headers: { 'retry-after': '60' } }));
    const gw = await startGateway(['--base-url', up.url, '--api-key', `${KEY_A},${KEY_B}`, '--forward-key', FORWARD, '--workers', '2']);
    const postFresh = async (): Promise<void> => {
      // A new connection each time, so the cluster primary spreads them over both workers, each of
      // which would start its rotation with KEY_A.
      const res = await fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${FORWARD}`, 'content-type': 'application/json', connection: 'close' },
        body: chat,
      });
      expect(res.status).toBe(200);
      await res.text();
      await sleep(50);
    };
    for (let i = 0; i < 8; i++) await postFresh();
    const keys = (): string[] => up.requests.map((r) => keyOf(r.headers.authorization));
    expect(keys().filter((key) => key === KEY_A)).toHaveLength(1);
    expect(keys().filter((key) => key === KEY_B)).toHaveLength(8);
    expect(gw.stderr().match(/out of rotation/g)).toHaveLength(1);

    // A worker crashes and is replaced: the new one starts with the rest still running.
    const children = (): string[] => {
      try {
        return execFileSync('pgrep', ['-P', String(gw.pid)]).toString().trim().split('\n');
      } catch {
        return []; // pgrep exits 1 when there are none
      }
    };
    const workers = children();
    expect(workers).toHaveLength(2);
    process.kill(Number(workers[0]), 'SIGKILL');
    let replaced: string[] = [];
    for (let i = 0; i < 50; i++) {
      replaced = children();
      if (replaced.length === 2 && !replaced.includes(workers[0])) break;
      await sleep(100);
    }
    expect(replaced).toHaveLength(2);
    expect(replaced).not.toContain(workers[0]);
    await sleep(600); // the replacement listening
    for (let i = 0; i < 8; i++) await postFresh();
    expect(keys().filter((key) => key === KEY_A)).toHaveLength(1);
    expect(keys().filter((key) => key === KEY_B)).toHaveLength(16);
  });

  it('when every key is refused, the last refusal reaches the client unchanged', async () => {
    const up = await upstream(keyedUpstream([], { status: 429, headers: { 'retry-after': '7', 'x-request-id': 'req_fake' } }));
    const gw = await startGateway(['--base-url', up.url, '--api-key', `${KEY_A},${KEY_B}`, '--forward-key', FORWARD]);
    const res = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${FORWARD}` }, body: chat });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('7');
    expect(res.headers.get('x-request-id')).toBe('req_fake');
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('rate_limit_exceeded');
    expect(up.requests).toHaveLength(2);

    // Both keys rest now: the next request still goes out (with the key whose rest ends first) and gets the upstream's answer.
    expect((await post(gw.url)).status).toBe(429);
    expect(up.requests).toHaveLength(3);
  });

  it('a streamed body cannot be sent twice: no failover, the refusal passes through, the key still rests', async () => {
    const up = await upstream(keyedUpstream([KEY_B], { status: 429, headers: { 'retry-after': '30' } }));
    const gw = await startGateway(['--base-url', up.url, '--api-key', `${KEY_A},${KEY_B}`, '--forward-key', FORWARD]);
    // Chunked (no Content-Length): the gateway streams it upstream instead of reading it whole.
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(chat));
        controller.close();
      },
    });
    const res = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${FORWARD}` }, body, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(429);
    expect(up.requests).toHaveLength(1);
    expect((await post(gw.url)).status).toBe(200);
    expect(keyOf(up.requests[1].headers.authorization)).toBe(KEY_B);
  });

  it('passthrough (no pool) never retries: the client key is not the gateway’s to rest', async () => {
    const up = await upstream(keyedUpstream([], { status: 401 }));
    const gw = await startGateway(['--base-url', up.url]);
    const res = await fetch(`${gw.url}/v1/models`, { headers: { authorization: 'Bearer sk-fake-client-own' } });
    expect(res.status).toBe(401);
    expect(up.requests).toHaveLength(1);
    await sleep(50);
    expect(gw.stderr()).not.toContain('pool key');
  });

  it('the chat log records the exchange once, with the answer the client got', async () => {
    const up = await upstream(keyedUpstream([KEY_B], { status: 429 }));
    const dir = mkdtempSync(join(tmpdir(), 'aifwd-failover-'));
    const gw = await startGateway(['--base-url', up.url, '--api-key', `${KEY_A},${KEY_B}`, '--forward-key', FORWARD, '--log-chat', '--log-dir', dir]);
    expect((await post(gw.url)).status).toBe(200);
    expect(await gw.stop('SIGTERM')).toBe(0);
    const records = readFileSync(join(dir, 'chat.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records.map((r) => r.type)).toEqual(['request', 'response']);
    expect(records[1]).toMatchObject({ status: 200, assistant: 'hello', finish_reason: 'stop' });
  });
});
