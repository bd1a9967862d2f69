import { describe, expect, it } from 'vitest';
import { GatewayCounters, MAX_USAGE_MODELS } from '../../src/core/counters.js';
import { renderMetrics } from '../../src/core/metrics-text.js';
import { gatewaySnapshot } from '../../src/node/metrics.js';
import { KeyPool } from '../../src/core/key-pool.js';

describe('GatewayCounters.countUsage (tokens by model, from the chat log)', () => {
  it('adds chat / completions usage and responses usage under the model the reply named', () => {
    const c = new GatewayCounters();
    c.countUsage('gpt-4o-mini', { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12 });
    c.countUsage('gpt-4o-mini', { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 });
    c.countUsage('gpt-4.1', { input_tokens: 7, output_tokens: 5, total_tokens: 12 });
    expect(Object.fromEntries(c.tokens)).toEqual({
      'gpt-4o-mini': { input: 10, output: 5 },
      'gpt-4.1': { input: 7, output: 5 },
    });
  });

  it('a reply without a model counts as unknown; members that are not counts count nothing', () => {
    const c = new GatewayCounters();
    c.countUsage(null, { prompt_tokens: 4, completion_tokens: 'many' });
    c.countUsage('', { prompt_tokens: -3, completion_tokens: Number.NaN, input_tokens: 2 });
    c.countUsage(null, { prompt_tokens: 1.5, completion_tokens: Number.POSITIVE_INFINITY });
    // prompt_tokens wins over input_tokens when both are there, even when it is not a count.
    expect(Object.fromEntries(c.tokens)).toEqual({ unknown: { input: 4, output: 0 } });
  });

  it(`counts at most ${MAX_USAGE_MODELS} models by name; the rest (an upstream echoing whatever clients send) as other`, () => {
    const c = new GatewayCounters();
    for (let i = 0; i < MAX_USAGE_MODELS + 50; i++) c.countUsage(`model-${i}`, { prompt_tokens: 1, completion_tokens: 1 });
    c.countUsage('model-0', { prompt_tokens: 1, completion_tokens: 0 });
    expect(c.tokens.size).toBe(MAX_USAGE_MODELS + 1);
    expect(c.tokens.get('other')).toEqual({ input: 50, output: 50 });
    expect(c.tokens.get('model-0')).toEqual({ input: 2, output: 1 });
  });

  it('a name is cut at 100 UTF-16 units and made well-formed, so no two series read the same once encoded', () => {
    const c = new GatewayCounters();
    c.countUsage(`x${'y'.repeat(500)}`, { prompt_tokens: 1 });
    // An emoji cut in half, two different ones: the same name once encoded as UTF-8.
    c.countUsage(`${'b'.repeat(99)}😀`, { prompt_tokens: 1 });
    c.countUsage(`${'b'.repeat(99)}🤖`, { prompt_tokens: 2 });
    c.countUsage('lone\ud800', { prompt_tokens: 1 });
    c.countUsage('lone\udbff', { prompt_tokens: 1 });
    c.countUsage('a\r\nb', { prompt_tokens: 1 });
    c.countUsage('whole😀', { prompt_tokens: 1 });
    expect(Object.fromEntries(c.tokens)).toEqual({
      [`x${'y'.repeat(99)}`]: { input: 1, output: 0 },
      [`${'b'.repeat(99)}\ufffd`]: { input: 3, output: 0 },
      'lone\ufffd': { input: 2, output: 0 },
      'a\ufffd\ufffdb': { input: 1, output: 0 },
      'whole😀': { input: 1, output: 0 },
    });
  });

  it('only whole numbers up to a billion count: one absurd reply must not pin the series at +Inf', () => {
    const c = new GatewayCounters();
    c.countUsage('m', { prompt_tokens: 1e308, completion_tokens: 0.5 });
    c.countUsage('m', { prompt_tokens: 1e308, completion_tokens: 2 });
    c.countUsage('m', { prompt_tokens: 1_000_000_000, completion_tokens: 1_000_000_001 });
    expect(c.tokens.get('m')).toEqual({ input: 1_000_000_000, output: 2 });
  });

  it('renders as aifwd_tokens_total{model,type} with the model escaped', () => {
    const c = new GatewayCounters();
    c.countUsage('we"ird\\model', { prompt_tokens: 2, completion_tokens: 1 });
    const text = renderMetrics(gatewaySnapshot({ counters: c, pool: new KeyPool([]), connections: () => 0 }));
    expect(text).toContain('# TYPE aifwd_tokens_total counter\n');
    expect(text).toContain('aifwd_tokens_total{model="we\\"ird\\\\model",type="input"} 2\n');
    expect(text).toContain('aifwd_tokens_total{model="we\\"ird\\\\model",type="output"} 1\n');
  });
});

describe('GatewayCounters.countUsage by forward key', () => {
  it('adds a reply usage under the key policy name too, and nothing by key without one', () => {
    const c = new GatewayCounters();
    c.countUsage('gpt-4o-mini', { prompt_tokens: 9, completion_tokens: 3 }, 'alice');
    c.countUsage('gpt-4o', { input_tokens: 1, output_tokens: 2 }, 'alice');
    c.countUsage('gpt-4o', { prompt_tokens: 5, completion_tokens: 5 }, null);
    c.countUsage('gpt-4o', { prompt_tokens: 7, completion_tokens: 1 }, 'bob');
    expect([...c.keyTokens]).toEqual([
      ['alice', { input: 10, output: 5 }],
      ['bob', { input: 7, output: 1 }],
    ]);
    expect(c.tokens.get('gpt-4o')).toEqual({ input: 13, output: 8 });
  });
});
