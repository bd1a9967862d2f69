/**
 * The gateway's metrics as values and as Prometheus' text format (0.0.4), pure. A process takes a
 * {@link MetricsSnapshot} of what it counted (node/metrics.ts); a cluster primary adds up its
 * workers' snapshots ({@link sumSnapshots}) before rendering, so a scrape sees one gateway.
 */

/** One series: a metric name, its labels (already escaped as `k="v",…`, or ''), its value. */
export interface Sample {
  readonly name: string;
  readonly labels: string;
  readonly value: number;
}

/** Everything a process counted at one moment. */
export type MetricsSnapshot = readonly Sample[];

export interface MetricFamily {
  readonly type: 'counter' | 'gauge';
  readonly help: string;
}

/** Every metric the gateway exposes, in the order they are rendered. */
export const METRIC_FAMILIES: Readonly<Record<string, MetricFamily>> = {
  aifwd_responses_total: { type: 'counter', help: 'Responses the gateway began, by status code: its own errors and WebSocket switches (101) included, 100 Continue not.' },
  aifwd_upstream_failures_total: { type: 'counter', help: "Upstream failures (the gateway's 502/504, or a response cut midway), by error code." },
  aifwd_upstream_resends_total: { type: 'counter', help: 'Requests sent again on a new upstream connection because the kept-alive one they went on was closed by the upstream before it answered.' },
  aifwd_forward_key_requests_total: { type: 'counter', help: "Requests of forward keys with a policy that the policy admitted, by the key's name." },
  aifwd_forward_key_tokens_total: { type: 'counter', help: "Tokens the upstream's replies reported in usage, by the name of the forward key's policy and type (input, output); read by the chat log, so counted only with it on." },
  aifwd_forward_key_refusals_total: { type: 'counter', help: "Requests a forward key's policy refused, by the key's name and the error code (expired, route, model, rate limit)." },
  aifwd_pool_key_rests_total: { type: 'counter', help: 'Times a pool key left the rotation after the upstream refused it (429, or a 401 blaming the key).' },
  aifwd_pool_keys_resting: { type: 'gauge', help: 'Pool keys out of rotation now.' },
  aifwd_pool_keys: { type: 'gauge', help: 'Keys in the pool.' },
  aifwd_client_connections: { type: 'gauge', help: 'Open client connections.' },
  aifwd_websocket_sessions_open: { type: 'gauge', help: 'WebSocket sessions joined to the upstream and still open.' },
  aifwd_websocket_sessions_total: { type: 'counter', help: 'WebSocket sessions joined to the upstream.' },
  aifwd_tokens_total: { type: 'counter', help: "Tokens the upstream's replies reported in usage, by model and type (input, output); read by the chat log, so counted only with it on." },
  aifwd_chat_log_lines_written_total: { type: 'counter', help: 'Chat-log lines written to the file (by a cluster worker: handed to the primary).' },
  aifwd_chat_log_lines_dropped_total: { type: 'counter', help: 'Chat-log lines lost: write errors, a full queue, or after close.' },
  process_resident_memory_bytes: { type: 'gauge', help: 'Resident memory (all processes of the gateway).' },
  process_cpu_seconds_total: { type: 'counter', help: 'User and system CPU time (all processes of the gateway).' },
  process_start_time_seconds: { type: 'gauge', help: 'When the gateway started, in seconds since the epoch.' },
};

/**
 * Families whose samples are not added up across processes: the start time is the earliest; the
 * pool is the same in every worker (they share its rests), so its gauges are the largest view.
 */
const MERGE: Readonly<Record<string, (a: number, b: number) => number>> = {
  process_start_time_seconds: Math.min,
  aifwd_pool_keys: Math.max,
  aifwd_pool_keys_resting: Math.max,
};

/** `value` as a label value: backslash, quote and newline escaped. */
export function labelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

const add = (a: number, b: number): number => a + b;

/** Adds up snapshots of several processes (a cluster), series by series. */
export function sumSnapshots(snapshots: readonly MetricsSnapshot[]): MetricsSnapshot {
  const sums = new Map<string, Sample>();
  for (const snapshot of snapshots) {
    for (const sample of snapshot) {
      const key = `${sample.name}{${sample.labels}}`;
      const seen = sums.get(key);
      if (seen === undefined) sums.set(key, sample);
      else sums.set(key, { ...seen, value: (MERGE[sample.name] ?? add)(seen.value, sample.value) });
    }
  }
  return [...sums.values()];
}

/** A number as Prometheus writes it. */
function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}

/** The text exposition: `# HELP` and `# TYPE` per family, then its samples (families without any are left out). */
export function renderMetrics(snapshot: MetricsSnapshot): string {
  const byName = new Map<string, Sample[]>();
  for (const sample of snapshot) {
    const list = byName.get(sample.name);
    if (list === undefined) byName.set(sample.name, [sample]);
    else list.push(sample);
  }
  let text = '';
  for (const [name, family] of Object.entries(METRIC_FAMILIES)) {
    const samples = byName.get(name);
    if (samples === undefined) continue;
    text += `# HELP ${name} ${family.help}\n# TYPE ${name} ${family.type}\n`;
    for (const { labels, value } of samples) text += `${name}${labels === '' ? '' : `{${labels}}`} ${formatValue(value)}\n`;
  }
  return text;
}
