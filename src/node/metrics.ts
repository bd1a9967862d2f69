/**
 * Prometheus metrics on a port of their own (`--metrics-port`, off by default; `--metrics-host`,
 * 127.0.0.1 by default, so they are not public by accident): `GET /metrics` in the text format.
 * Reading them takes a snapshot of what the gateway counts anyway (core/counters.ts, the key pool,
 * the chat log's counters); per request there is only the counting, an add per response.
 *
 * Under `--workers N` the primary serves them, the sum of what its workers send it
 * (metrics-sharing.ts).
 */
import { Buffer } from 'node:buffer';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import type { GatewayCounters } from '../core/counters.js';
import type { KeyPool } from '../core/key-pool.js';
import { labelValue, type MetricsSnapshot, renderMetrics, type Sample } from '../core/metrics-text.js';

/** What one serving process reads its metrics from. */
export interface MetricsSources {
  readonly counters: GatewayCounters;
  readonly pool: KeyPool;
  /**
   * Rests that took a key out of rotation; left out in a cluster worker, where the primary counts
   * them (two workers refused at once each start the same rest).
   */
  poolRests?(): number;
  /** Open client connections. */
  connections(): number;
  /** The chat log's counters, when it is on; `written` only where the file is written. */
  readonly chatLog?: { readonly written?: number; readonly dropped: number };
}

const START_SECONDS = Math.round((Date.now() - performance.now()) / 1000);

/** This process's memory, CPU time and start. */
export function processSamples(): Sample[] {
  const { user, system } = process.cpuUsage();
  return [
    { name: 'process_resident_memory_bytes', labels: '', value: process.memoryUsage.rss() },
    { name: 'process_cpu_seconds_total', labels: '', value: (user + system) / 1e6 },
    { name: 'process_start_time_seconds', labels: '', value: START_SECONDS },
  ];
}

/** What `sources` counted so far, and this process's own samples. */
export function gatewaySnapshot({ counters, pool, poolRests, connections, chatLog }: MetricsSources, now = Date.now()): MetricsSnapshot {
  const samples: Sample[] = [];
  const { responses } = counters;
  for (let status = 0; status < responses.length; status++) {
    if (responses[status] > 0) samples.push({ name: 'aifwd_responses_total', labels: `code="${status}"`, value: responses[status] });
  }
  for (const [code, value] of counters.upstreamFailures) samples.push({ name: 'aifwd_upstream_failures_total', labels: `code="${labelValue(code)}"`, value });
  samples.push({ name: 'aifwd_upstream_resends_total', labels: '', value: counters.upstreamResends });
  for (const [key, value] of counters.keyRequests) samples.push({ name: 'aifwd_forward_key_requests_total', labels: `key="${labelValue(key)}"`, value });
  for (const [key, count] of counters.keyTokens) {
    const label = labelValue(key);
    samples.push(
      { name: 'aifwd_forward_key_tokens_total', labels: `key="${label}",type="input"`, value: count.input },
      { name: 'aifwd_forward_key_tokens_total', labels: `key="${label}",type="output"`, value: count.output },
    );
  }
  for (const [key, byCode] of counters.keyRefusals) {
    for (const [code, value] of byCode) samples.push({ name: 'aifwd_forward_key_refusals_total', labels: `key="${labelValue(key)}",code="${code}"`, value });
  }
  if (poolRests !== undefined) samples.push({ name: 'aifwd_pool_key_rests_total', labels: '', value: poolRests() });
  samples.push(
    { name: 'aifwd_pool_keys_resting', labels: '', value: pool.resting(now) },
    { name: 'aifwd_pool_keys', labels: '', value: pool.size },
    { name: 'aifwd_client_connections', labels: '', value: connections() },
    { name: 'aifwd_websocket_sessions_open', labels: '', value: counters.websocketSessionsOpen },
    { name: 'aifwd_websocket_sessions_total', labels: '', value: counters.websocketSessions },
  );
  for (const [model, count] of counters.tokens) {
    const name = labelValue(model);
    samples.push(
      { name: 'aifwd_tokens_total', labels: `model="${name}",type="input"`, value: count.input },
      { name: 'aifwd_tokens_total', labels: `model="${name}",type="output"`, value: count.output },
    );
  }
  if (chatLog !== undefined) {
    if (chatLog.written !== undefined) samples.push({ name: 'aifwd_chat_log_lines_written_total', labels: '', value: chatLog.written });
    samples.push({ name: 'aifwd_chat_log_lines_dropped_total', labels: '', value: chatLog.dropped });
  }
  samples.push(...processSamples());
  return samples;
}

export interface MetricsServer {
  readonly address: AddressInfo;
  close(): Promise<void>;
}

/** Serves `GET /metrics` from `collect()` on `host:port`; rejects when it cannot listen. */
export function startMetricsServer({ host, port, collect }: { host: string; port: number; collect: () => MetricsSnapshot }): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found: metrics are at /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('Use GET\n');
      return;
    }
    const body = renderMetrics(collect());
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      // A scrape must never keep the process alive at shutdown.
      server.unref();
      resolve({
        address: server.address() as AddressInfo,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}
