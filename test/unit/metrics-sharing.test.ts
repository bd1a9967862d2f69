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

describe('isMetricsMessage', () => {
  it('takes only a list of well-formed samples', () => {
    expect(isMetricsMessage({ type: METRICS_MESSAGE_TYPE, samples: [{ name: 'a', labels: '', value: 1 }] })).toBe(true);
    expect(isMetricsMessage({ type: METRICS_MESSAGE_TYPE, samples: [{ name: 'a', labels: '', value: '1' }] })).toBe(false);
    expect(isMetricsMessage({ type: METRICS_MESSAGE_TYPE, samples: 'x' })).toBe(false);
    expect(isMetricsMessage({ type: 'aifwd:chat-log', samples: [] })).toBe(false);
    expect(isMetricsMessage(null)).toBe(false);
  });
});
