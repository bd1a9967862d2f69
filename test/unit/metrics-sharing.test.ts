import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { collectWorkerMetrics, isMetricsMessage, METRICS_MESSAGE_TYPE } from '../../src/node/metrics-sharing.js';

describe('collectWorkerMetrics (the primary)', () => {
  it('adds the live workers to its own samples; an exited worker keeps its counters in the sum and drops its gauges', () => {
    const cluster = new EventEmitter();
    const sum = collectWorkerMetrics(cluster, () => [{ name: 'process_cpu_seconds_total', labels: '', value: 1 }]);
    const report = (id: number, responses: number, open: number) =>
      cluster.emit('message', { id }, {
        type: METRICS_MESSAGE_TYPE,
        samples: [
          { name: 'aifwd_responses_total', labels: 'code="200"', value: responses },
          { name: 'aifwd_client_connections', labels: '', value: open },
          { name: 'process_cpu_seconds_total', labels: '', value: 2 },
        ],
      });
    const value = (name: string, labels = '') => sum().find((s) => s.name === name && s.labels === labels)?.value;
    report(1, 10, 3);
    report(2, 20, 4);
    cluster.emit('message', { id: 2 }, { type: 'aifwd:chat-log' }); // not ours
    expect(value('aifwd_responses_total', 'code="200"')).toBe(30);
    expect(value('aifwd_client_connections')).toBe(7);
    expect(value('process_cpu_seconds_total')).toBe(5);

    cluster.emit('exit', { id: 1 });
    report(3, 0, 1); // its replacement starts from zero
    expect(value('aifwd_responses_total', 'code="200"')).toBe(30);
    expect(value('aifwd_client_connections')).toBe(5);
    expect(value('process_cpu_seconds_total')).toBe(7);
    report(3, 5, 1);
    expect(value('aifwd_responses_total', 'code="200"')).toBe(35);
  });
});

describe('collectWorkerMetrics: token models across workers', () => {
  it('admits the first 100 models it hears of for good; the rest, from any worker, are other (so no series moves or goes back)', () => {
    const cluster = new EventEmitter();
    const sum = collectWorkerMetrics(cluster, () => []);
    const tokens = (models: string[], value: number) =>
      models.flatMap((m) => [
        { name: 'aifwd_tokens_total', labels: `model="${m}",type="input"`, value },
        { name: 'aifwd_tokens_total', labels: `model="${m}",type="output"`, value: 1 },
      ]);
    const names = (from: number, count: number) => Array.from({ length: count }, (_, i) => `m${from + i}`);
    // Each worker keeps to its own 100 (counters.ts); together they name 160.
    cluster.emit('message', { id: 1 }, { type: METRICS_MESSAGE_TYPE, samples: [...tokens(names(0, 80), 10), ...tokens(['other'], 5)] });
    cluster.emit('message', { id: 2 }, { type: METRICS_MESSAGE_TYPE, samples: tokens(names(60, 80), 10) });
    const series = () => new Map(sum().filter((s) => s.name === 'aifwd_tokens_total').map((s) => [s.labels, s.value]));
    let now = series();
    const named = new Set([...now.keys()].map((l) => /model="([^"]*)"/.exec(l)?.[1]));
    expect(named.size).toBe(101);
    expect(named.has('other')).toBe(true);
    // m0..m79 from worker 1, m60..m79 shared, m80..m99 admitted from worker 2; m100..m139 are other.
    expect(now.get('model="m99",type="input"')).toBe(10);
    expect(now.get('model="m100",type="input"')).toBeUndefined();
    expect(now.get('model="m70",type="input"')).toBe(20);
    expect(now.get('model="other",type="input"')).toBe(5 + 40 * 10);
    expect(now.get('model="other",type="output"')).toBe(1 + 40);

    // A later report, and a worker's exit, keep every series where it was, never lower.
    cluster.emit('message', { id: 2 }, { type: METRICS_MESSAGE_TYPE, samples: tokens([...names(60, 80), 'm500'], 11) });
    cluster.emit('exit', { id: 1 });
    const before = now;
    now = series();
    for (const [labels, value] of before) expect([labels, (now.get(labels) ?? 0) >= value]).toEqual([labels, true]);
    expect(now.get('model="m500",type="input"')).toBeUndefined();
    expect(now.get('model="other",type="input"')).toBe(5 + 41 * 11);
  });
});

describe('isMetricsMessage', () => {
  it('takes only a list of well-formed samples', () => {
    expect(isMetricsMessage({ type: METRICS_MESSAGE_TYPE, samples: [{ name: 'a', labels: '', value: 1 }] })).toBe(true);
    expect(isMetricsMessage({ type: METRICS_MESSAGE_TYPE, samples: [{ name: 'a', labels: '', value: '1' }] })).toBe(false);
    expect(isMetricsMessage({ type: METRICS_MESSAGE_TYPE, samples: 'x' })).toBe(false);
    expect(isMetricsMessage({ type: 'aifwd:chat-log', samples: [] })).toBe(false);
    expect(isMetricsMessage(null)).toBe(false);
  });
});
