/**
 * Metrics under `--workers N` (node:cluster): each worker sends the primary a snapshot of its
 * metrics (metrics.ts) every second over the cluster channel, and the primary serves the sum
 * (core/metrics-text.ts), so a counter never goes back when the cluster hands a request to another
 * worker, nor when a worker is replaced (its last counts stay in the sum).
 */
import { MAX_USAGE_MODELS, OTHER_MODEL } from '../core/counters.js';
import { METRIC_FAMILIES, type MetricsSnapshot, type Sample, sumSnapshots } from '../core/metrics-text.js';

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
 * Each worker names at most {@link MAX_USAGE_MODELS} models in `aifwd_tokens_total`; N workers could
 * name N times as many. The primary admits the first that many models it hears of, for good, and
 * counts any other as `other` (so a series never moves between names, and never goes back).
 */
function foldTokenModels(samples: MetricsSnapshot, admitted: Set<string>): MetricsSnapshot {
  let folded: Sample[] | null = null;
  for (let i = 0; i < samples.length; i++) {
    const sample = samples[i];
    if (sample.name !== 'aifwd_tokens_total' || !sample.labels.startsWith('model="')) continue;
    const end = sample.labels.indexOf('",type="');
    if (end === -1) continue;
    const model = sample.labels.slice('model="'.length, end);
    if (model === OTHER_MODEL || admitted.has(model)) continue;
    if (admitted.size < MAX_USAGE_MODELS) {
      admitted.add(model);
      continue;
    }
    folded ??= samples.slice();
    folded[i] = { ...sample, labels: `model="${OTHER_MODEL}"${sample.labels.slice(end + 1)}` };
  }
  return folded ?? samples;
}

/**
 * In the primary: the latest snapshot of each live worker, added to `own()`. The counters of a
 * worker that exited stay in the sum (its gauges leave it), so a replaced worker never makes a
 * counter go back; what it counted in its last second is lost.
 */
export function collectWorkerMetrics(cluster: WorkerEvents, own: () => MetricsSnapshot): () => MetricsSnapshot {
  const latest = new Map<number, MetricsSnapshot>();
  const admittedModels = new Set<string>();
  let retired: MetricsSnapshot = [];
  cluster.on('message', (worker, message) => {
    if (isMetricsMessage(message)) latest.set(worker.id, foldTokenModels(message.samples, admittedModels));
  });
  cluster.on('exit', (worker) => {
    const last = latest.get(worker.id);
    latest.delete(worker.id);
    if (last !== undefined) retired = sumSnapshots([retired, last.filter((sample) => METRIC_FAMILIES[sample.name]?.type === 'counter')]);
  });
  return () => sumSnapshots([own(), retired, ...latest.values()]);
}

