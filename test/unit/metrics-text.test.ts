import { describe, expect, it } from 'vitest';
import { labelValue, renderMetrics, sumSnapshots } from '../../src/core/metrics-text.js';
import { KeyPool } from '../../src/core/key-pool.js';

describe('renderMetrics', () => {
  it('writes HELP and TYPE once per family, in a fixed order, and leaves out families without samples', () => {
    const text = renderMetrics([
      { name: 'process_cpu_seconds_total', labels: '', value: 1.5 },
      { name: 'aifwd_responses_total', labels: 'code="200"', value: 3 },
      { name: 'aifwd_responses_total', labels: 'code="502"', value: 1 },
    ]);
    expect(text).toBe(
      '# HELP aifwd_responses_total Responses the gateway began, by status code: its own errors and WebSocket switches (101) included, 100 Continue not.\n' +
        '# TYPE aifwd_responses_total counter\n' +
        'aifwd_responses_total{code="200"} 3\n' +
        'aifwd_responses_total{code="502"} 1\n' +
        '# HELP process_cpu_seconds_total User and system CPU time (all processes of the gateway).\n' +
        '# TYPE process_cpu_seconds_total counter\n' +
        'process_cpu_seconds_total 1.5\n',
    );
  });

  it('escapes label values as the format requires', () => {
    expect(labelValue('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
  });
});

describe('sumSnapshots', () => {
  it('adds counters and gauges series by series; the start time is the earliest, the pool gauges the largest', () => {
    const worker = (responses: number, resting: number, start: number) => [
      { name: 'aifwd_responses_total', labels: 'code="200"', value: responses },
      { name: 'aifwd_pool_keys_resting', labels: '', value: resting },
      { name: 'aifwd_pool_keys', labels: '', value: 3 },
      { name: 'process_start_time_seconds', labels: '', value: start },
      { name: 'process_resident_memory_bytes', labels: '', value: 100 },
    ];
    const sum = sumSnapshots([worker(5, 1, 2000), worker(7, 1, 1990), [{ name: 'aifwd_responses_total', labels: 'code="404"', value: 2 }]]);
    const value = (name: string, labels = '') => sum.find((s) => s.name === name && s.labels === labels)?.value;
    expect(value('aifwd_responses_total', 'code="200"')).toBe(12);
    expect(value('aifwd_responses_total', 'code="404"')).toBe(2);
    expect(value('aifwd_pool_keys_resting')).toBe(1);
    expect(value('aifwd_pool_keys')).toBe(3);
    expect(value('process_start_time_seconds')).toBe(1990);
    expect(value('process_resident_memory_bytes')).toBe(200);
  });
});

describe('KeyPool counts for metrics', () => {
  it('counts rests this process started (not longer rests of a resting key, nor rests another process decided) and keys resting now', () => {
    const pool = new KeyPool(['a', 'b', 'c']);
    pool.rest(0, 1000, 0);
    pool.rest(0, 2000, 0); // already resting: longer, not a new rest
    pool.rest(1, 1000, 0, false); // decided by another worker
    expect(pool.restsStarted).toBe(1);
    expect(pool.resting(500)).toBe(2);
    expect(pool.resting(1500)).toBe(1);
    expect(pool.resting(2000)).toBe(0);
  });
});
