/**
 * Prometheus metrics end to end: the real CLI with `--metrics-port`, requests through it (a
 * failover, an upstream timeout, the gateway's own error), then `GET /metrics` on the metrics port:
 * the counts, the key pool, the text format; under `--workers 2` the primary's sum.
 */
import { connect, createServer, type AddressInfo } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startMock } from '../../src/mock/server.js';
import { runCli, startGateway, stopAll } from '../helpers/gateway.js';
import { freePort } from '../helpers/ports.js';
import { sleep, upstreamsClosedAfterAll, type UpstreamHandler } from '../helpers/upstream.js';

const KEY_A = 'sk-fake-metrics-aaaa-1111';
const KEY_B = 'sk-fake-metrics-bbbb-2222';
const FORWARD = 'fk-fake-metrics';
const upstream = upstreamsClosedAfterAll(afterAll);
afterEach(stopAll);

/** 200 for key B, 429 for key A; `/slow` never answers. */
const handler: UpstreamHandler = (req, res) => {
  if (req.url?.startsWith('/v1/slow')) return;
  if ((req.headers.authorization ?? '') !== `Bearer ${KEY_B}`) {
    res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '60' });
    res.end('{"error":{"message":"Rate limited","type":"requests","code":"rate_limit_exceeded"}}');
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end('{"object":"list","data":[]}');
};

/** The value of one series in a scrape, or undefined. */
function valueOf(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const get = (url: string): Promise<Response> => fetch(url, { headers: { authorization: `Bearer ${FORWARD}` } });

describe('metrics', () => {
  it('counts responses, upstream failures, key rests and connections, and serves them in the text format', async () => {
    const up = await upstream(handler);
    const metricsPort = await freePort();
    const gw = await startGateway(['--base-url', up.url, '--api-key', `${KEY_A},${KEY_B}`, '--forward-key', FORWARD, '--metrics-port', String(metricsPort), '--response-timeout', '0.3', '--max-body-size', '50']);
    expect(gw.stdout()).toContain(`metrics      http://127.0.0.1:${metricsPort}/metrics`);

    // Key A is refused (429) and rests; the request fails over to key B.
    expect((await get(`${gw.url}/v1/models`)).status).toBe(200);
    expect((await get(`${gw.url}/v1/models`)).status).toBe(200);
    expect((await get(`${gw.url}/v1/slow`)).status).toBe(504);
    // The gateway's own error: a body over max_body_size.
    expect((await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${FORWARD}` }, body: 'x'.repeat(100) })).status).toBe(413);

    // One client connection held open while the metrics are read.
    const held = connect(gw.port, '127.0.0.1');
    await new Promise((resolve) => held.once('connect', resolve));
    const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    expect(valueOf(text, 'aifwd_responses_total{code="200"}')).toBe(2);
    expect(valueOf(text, 'aifwd_responses_total{code="504"}')).toBe(1);
    expect(valueOf(text, 'aifwd_responses_total{code="413"}')).toBe(1);
    expect(valueOf(text, 'aifwd_upstream_failures_total{code="upstream_response_timeout"}')).toBe(1);
    expect(valueOf(text, 'aifwd_pool_key_rests_total')).toBe(1);
    expect(valueOf(text, 'aifwd_pool_keys_resting')).toBe(1);
    expect(valueOf(text, 'aifwd_pool_keys')).toBe(2);
    expect(valueOf(text, 'aifwd_client_connections')).toBeGreaterThanOrEqual(1);
    held.destroy();
    expect(valueOf(text, 'process_resident_memory_bytes')).toBeGreaterThan(10_000_000);
    expect(valueOf(text, 'process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(Math.abs(valueOf(text, 'process_start_time_seconds')! - Date.now() / 1000)).toBeLessThan(60);
    expect(text).toContain('# TYPE aifwd_responses_total counter\n');
    expect(text).toContain('# TYPE aifwd_pool_keys_resting gauge\n');
    // Every sample line is `name{labels} value` or `name value`.
    for (const line of text.trimEnd().split('\n')) expect(line).toMatch(/^(# (HELP|TYPE) \w+ .+|\w+(\{\w+="[^"]*"\})? [0-9.e+-]+)$/);
    expect(text).not.toContain(KEY_A);
    expect(text).not.toContain(KEY_B);

    expect((await fetch(`http://127.0.0.1:${metricsPort}/`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('is off by default, and a metrics port that is taken stops the start with one clear line (exit 2)', async () => {
    const up = await upstream(handler);
    const gw = await startGateway(['--base-url', up.url]);
    expect(gw.stdout()).toContain('metrics      off');

    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as AddressInfo;
    try {
      const run = runCli(['run', '--host', '127.0.0.1', '--port', '0', '--base-url', up.url, '--metrics-port', String(port)]);
      expect(await run.exited).toBe(2);
      expect(run.stderr()).toContain(`cannot listen on 127.0.0.1:${port} for metrics: address already in use`);
    } finally {
      taken.close();
    }
  });

  it('--workers 2 without the chat log (the cluster channel stays JSON): the sum still arrives', async () => {
    const up = await upstream(handler);
    const metricsPort = await freePort();
    const gw = await startGateway(['--base-url', up.url, '--api-key', KEY_B, '--forward-key', FORWARD, '--workers', '2', '--metrics-port', String(metricsPort)]);
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${FORWARD}`, connection: 'close' } });
      expect(res.status).toBe(200);
      await res.text();
    }
    let text = '';
    for (let tries = 0; tries < 30 && valueOf(text, 'aifwd_responses_total{code="200"}') !== 4; tries++) {
      await sleep(200);
      text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    }
    expect(valueOf(text, 'aifwd_responses_total{code="200"}')).toBe(4);
    expect(text).not.toContain('aifwd_chat_log');
  });

  it('--workers 2: the primary serves the sum of its workers, and the chat log it writes', async () => {
    const up = await upstream(handler);
    const metricsPort = await freePort();
    const gw = await startGateway(['--base-url', up.url, '--api-key', KEY_B, '--forward-key', FORWARD, '--workers', '2', '--metrics-port', String(metricsPort), '--log-chat']);
    const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    for (let i = 0; i < 12; i++) {
      // A new connection each time: the cluster hands them to the workers in turn (6 each), so a
      // sum that missed a worker would read 6.
      const res = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${FORWARD}`, 'content-type': 'application/json', connection: 'close' }, body });
      expect(res.status).toBe(200);
      await res.text();
    }
    // Workers report once a second; the chat log batches for 100 ms.
    let text = '';
    for (let tries = 0; tries < 30; tries++) {
      await sleep(200);
      text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      if (valueOf(text, 'aifwd_responses_total{code="200"}') === 12 && valueOf(text, 'aifwd_chat_log_lines_written_total') === 24) break;
    }
    expect(valueOf(text, 'aifwd_responses_total{code="200"}')).toBe(12);
    expect(valueOf(text, 'aifwd_chat_log_lines_written_total')).toBe(24);
    expect(valueOf(text, 'aifwd_pool_keys')).toBe(1);
  });

  it('with the chat log on, tokens by model from the usage of replies and streams, summed over --workers 2', async () => {
    const mock = await startMock();
    try {
      const metricsPort = await freePort();
      const gw = await startGateway(['--base-url', mock.url, '--workers', '2', '--metrics-port', String(metricsPort), '--log-chat']);
      const post = async (path: string, body: unknown): Promise<string> => {
        const res = await fetch(`${gw.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', connection: 'close' }, body: JSON.stringify(body) });
        expect(res.status).toBe(200);
        return res.text();
      };
      // What the client saw: the expected counts come from the replies themselves.
      const expected = new Map<string, { input: number; output: number }>();
      const add = (model: string, input: number, output: number): void => {
        const seen = expected.get(model) ?? { input: 0, output: 0 };
        expected.set(model, { input: seen.input + input, output: seen.output + output });
      };
      const messages = [{ role: 'user', content: 'count me' }];
      for (let i = 0; i < 4; i++) {
        const reply = JSON.parse(await post('/v1/chat/completions', { model: 'gpt-4o-mini', messages })) as { model: string; usage: { prompt_tokens: number; completion_tokens: number } };
        add(reply.model, reply.usage.prompt_tokens, reply.usage.completion_tokens);
      }
      for (let i = 0; i < 2; i++) {
        const stream = await post('/v1/chat/completions', { model: 'gpt-4o', messages, stream: true, stream_options: { include_usage: true } });
        const last = stream.split('\n\n').map((e) => e.replace(/^data: /, '')).filter((d) => d.startsWith('{')).map((d) => JSON.parse(d) as { model: string; usage: { prompt_tokens: number; completion_tokens: number } | null }).find((c) => c.usage !== null);
        add(last!.model, last!.usage!.prompt_tokens, last!.usage!.completion_tokens);
      }
      // A stream without include_usage reports none: nothing to count.
      await post('/v1/chat/completions', { model: 'gpt-4o', messages, stream: true });
      const response = JSON.parse(await post('/v1/responses', { model: 'gpt-4.1', input: 'count me' })) as { model: string; usage: { input_tokens: number; output_tokens: number } };
      add(response.model, response.usage.input_tokens, response.usage.output_tokens);
      expect(expected.size).toBe(3);

      const series = [...expected].flatMap(([model, n]) => [[`aifwd_tokens_total{model="${model}",type="input"}`, n.input], [`aifwd_tokens_total{model="${model}",type="output"}`, n.output]] as const);
      let text = '';
      for (let tries = 0; tries < 30; tries++) {
        await sleep(200);
        text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
        if (series.every(([name, value]) => valueOf(text, name) === value)) break;
      }
      for (const [name, value] of series) expect([name, valueOf(text, name)]).toEqual([name, value]);
      expect(text.match(/^aifwd_tokens_total\{/gm)).toHaveLength(6);
    } finally {
      await mock.close();
    }
  });
});
