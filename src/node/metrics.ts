/**
 * Prometheus metrics on a port of their own (`--metrics-port`, off by default; `--metrics-host`,
 * 127.0.0.1 by default, so they are not public by accident): `GET /metrics` in the text format.
 * Reading them takes a snapshot of what the gateway counts anyway (core/counters.ts, the key pool,
 * the chat log's counters); nothing is computed per request.
 *
 * Under `--workers N` the primary serves them: each worker sends it a snapshot every second over
 * the cluster channel, and a scrape gets the sum (core/metrics-text.ts), so counters never go back
 * when the cluster hands a request to another worker, nor when a worker is replaced (its last
 * counts stay in the sum).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { GatewayCounters } from '../core/counters.js';
import type { KeyPool } from '../core/key-pool.js';
import { labelValue, METRIC_FAMILIES, type MetricsSnapshot, renderMetrics, type Sample, sumSnapshots } from '../core/metrics-text.js';

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
  if (poolRests !== undefined) samples.push({ name: 'aifwd_pool_key_rests_total', labels: '', value: poolRests() });
  samples.push(
    { name: 'aifwd_pool_keys_resting', labels: '', value: pool.resting(now) },
    { name: 'aifwd_pool_keys', labels: '', value: pool.size },
    { name: 'aifwd_client_connections', labels: '', value: connections() },
    { name: 'aifwd_websocket_sessions_open', labels: '', value: counters.websocketSessionsOpen },
    { name: 'aifwd_websocket_sessions_total', labels: '', value: counters.websocketSessions },
  );
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

/** The message a cluster worker sends the primary with its snapshot. */
export const METRICS_MESSAGE_TYPE = 'aifwd:metrics';

export interface MetricsMessage {
  readonly type: typeof METRICS_MESSAGE_TYPE;
  readonly samples: MetricsSnapshot;
}

export function isMetricsMessage(message: unknown): message is MetricsMessage {
  if (typeof message !== 'object' || message === null) return false;
  const { type, samples } = message as { type?: unknown; samples?: unknown };
  return (
    type === METRICS_MESSAGE_TYPE &&
    Array.isArray(samples) &&
    samples.every((s: unknown) => {
      const { name, labels, value } = (s ?? {}) as { name?: unknown; labels?: unknown; value?: unknown };
      return typeof name === 'string' && typeof labels === 'string' && typeof value === 'number';
    })
  );
}

/** How often a worker sends its snapshot. */
export const WORKER_REPORT_MS = 1000;

/** In a worker: sends `snapshot()` to the primary every second (the timer never keeps the process alive). */
export function reportMetricsToPrimary(snapshot: () => MetricsSnapshot, send: (message: MetricsMessage) => void): () => void {
  const report = (): void => {
    try {
      send({ type: METRICS_MESSAGE_TYPE, samples: snapshot() });
    } catch {
      // The channel is gone (shutdown): nothing to report to.
    }
  };
  report();
  const timer = setInterval(report, WORKER_REPORT_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/** What the primary hears from its workers (node:cluster, or a stand-in in tests). */
export interface WorkerEvents {
  on(event: 'message', listener: (worker: { id: number }, message: unknown) => void): unknown;
  on(event: 'exit', listener: (worker: { id: number }) => void): unknown;
}

/**
 * In the primary: the latest snapshot of each live worker, added to `own()`. The counters of a
 * worker that exited stay in the sum (its gauges leave it), so a replaced worker never makes a
 * counter go back; what it counted in its last second is lost.
 */
export function collectWorkerMetrics(cluster: WorkerEvents, own: () => MetricsSnapshot): () => MetricsSnapshot {
  const latest = new Map<number, MetricsSnapshot>();
  let retired: MetricsSnapshot = [];
  cluster.on('message', (worker, message) => {
    if (isMetricsMessage(message)) latest.set(worker.id, message.samples);
  });
  cluster.on('exit', (worker) => {
    const last = latest.get(worker.id);
    latest.delete(worker.id);
    if (last !== undefined) retired = sumSnapshots([retired, last.filter((sample) => METRIC_FAMILIES[sample.name]?.type === 'counter')]);
  });
  return () => sumSnapshots([own(), retired, ...latest.values()]);
}

