/**
 * The keep-alive race end to end: an upstream that closes idle connections without announcing its
 * timeout (uvicorn, gunicorn: no `Keep-Alive` header) closes one just as the gateway sends a request
 * on it. The gateway sends the request again on a new connection, so the client gets its answer,
 * not a 502 — which is what nginx answers in the same case (measured by hand; see the commit) —
 * and the chat log and the metrics see one exchange. When a request is not sent again (the
 * upstream may have worked on it) is pinned down in test/h1/pool-resend.test.ts.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startGateway, stopAll } from '../helpers/gateway.js';
import { freePort } from '../helpers/ports.js';

const POOL_KEY = 'sk-fake-race-pool-0001';
const FORWARD = 'fk-fake-race';
const REPLY = '{"id":"chatcmpl-1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"hello"},"finish_reason":"stop"}]}';

afterEach(stopAll);

interface RacingUpstream {
  url: string;
  /** Every request as received: connection number and its bytes. */
  readonly seen: { conn: number; bytes: string }[];
  close(): Promise<void>;
}

/**
 * A raw HTTP/1.1 upstream: the first request on each connection is answered; a second request on
 * connection 0 finds the connection closing instead (its FIN, or an RST with `reset`).
 */
async function racingUpstream(reset: boolean): Promise<RacingUpstream> {
  const seen: { conn: number; bytes: string }[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  const server: Server = createServer((socket) => {
    const conn = connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buffered = '';
    let served = 0;
    socket.on('data', (data: Buffer) => {
      buffered += data.toString('latin1');
      for (;;) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end === -1) return;
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(buffered.slice(0, end))?.[1] ?? 0);
        if (buffered.length < end + 4 + length) return;
        seen.push({ conn, bytes: buffered.slice(0, end + 4 + length) });
        buffered = buffered.slice(end + 4 + length);
        if (conn === 0 && served > 0) {
          if (reset) socket.resetAndDestroy();
          else socket.end();
          return;
        }
        served++;
        socket.write(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${REPLY.length}\r\n\r\n${REPLY}`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const chat = (url: string, content: string): Promise<Response> =>
  fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${FORWARD}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] }),
  });

describe.each([
  ['closes (FIN)', false],
  ['resets (RST)', true],
])('the upstream %s a kept-alive connection as a request arrives on it', (_name, reset) => {
  it('the client gets the answer; the request went again, whole, on a new connection; logged and counted once', async ({ onTestFinished }) => {
    const up = await racingUpstream(reset);
    onTestFinished(() => up.close());
    const dir = mkdtempSync(join(tmpdir(), 'aifwd-race-'));
    const metricsPort = await freePort();
    const gw = await startGateway([
      '--base-url', up.url, '--api-key', POOL_KEY, '--forward-key', FORWARD,
      '--log-chat', '--log-dir', dir, '--metrics-port', String(metricsPort),
    ]);

    const first = await chat(gw.url, 'one');
    expect(first.status).toBe(200);
    expect(await first.text()).toBe(REPLY);
    const second = await chat(gw.url, 'two');
    expect(second.status).toBe(200);
    expect(await second.text()).toBe(REPLY);

    // The upstream saw the second request twice: on the connection it closed, then on a new one,
    // byte for byte the same (the pool key included).
    expect(up.seen.map((s) => s.conn)).toEqual([0, 0, 1]);
    expect(up.seen[2].bytes).toBe(up.seen[1].bytes);
    expect(up.seen[1].bytes).toContain('"content":"two"');
    expect(up.seen[1].bytes).toContain(`authorization: Bearer ${POOL_KEY}`);

    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/^aifwd_upstream_resends_total 1$/m);
    expect(metrics).toMatch(/^aifwd_responses_total\{code="200"\} 2$/m);
    expect(metrics).not.toMatch(/^aifwd_upstream_failures_total/m);

    expect(await gw.stop()).toBe(0);
    const records = readFileSync(join(dir, 'chat.log'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records.filter((r) => r.type === 'request')).toHaveLength(2);
    expect(records.filter((r) => r.type === 'response').map((r) => [r.status, r.assistant])).toEqual([
      [200, 'hello'],
      [200, 'hello'],
    ]);
    // Nothing went wrong as far as the operator is concerned, and no key was written anywhere.
    expect(gw.stderr()).not.toContain('upstream failure');
    for (const secret of [POOL_KEY, FORWARD]) expect(gw.stderr() + gw.stdout() + metrics).not.toContain(secret);
  });
});
