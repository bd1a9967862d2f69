import { describe, expect, it } from 'vitest';
import { buildRequestRecord, buildResponseRecord, isSecretField } from '../../src/core/chat-record.js';
import type { AssembledReply } from '../../src/core/chat-reply.js';

const T0 = Date.UTC(2025, 0, 31, 12, 0, 0, 123);
const base = { uid: 'u1', startedAt: T0, ip: '203.0.113.9', route: '/v1/chat/completions' };

describe('request record', () => {
  it('envelope, model, stream and conversation first, then the sampling fields in body order', () => {
    const body = { temperature: 0.2, messages: [{ role: 'user', content: 'hi' }], model: 'gpt-4o', stream: true, top_p: 1, max_tokens: 64 };
    const record = buildRequestRecord({ ...base, body: Buffer.from(JSON.stringify(body)) });
    expect(Object.keys(record)).toEqual(['type', 'uid', 'time', 'ip', 'route', 'model', 'stream', 'messages', 'temperature', 'top_p', 'max_tokens']);
    expect(record).toMatchObject({ type: 'request', uid: 'u1', time: '2025-01-31T12:00:00.123Z', ip: '203.0.113.9', model: 'gpt-4o', stream: true, max_tokens: 64 });
  });

  it('stream defaults to false, model to null; prompt and input are kept', () => {
    expect(buildRequestRecord({ ...base, route: '/v1/completions', body: Buffer.from('{"prompt":"p"}') })).toMatchObject({ model: null, stream: false, prompt: 'p' });
    expect(buildRequestRecord({ ...base, route: '/v1/responses', body: Buffer.from('{"model":"m","input":[{"role":"user","content":"x"}]}') })).toMatchObject({ input: [{ role: 'user', content: 'x' }] });
  });

  it('leaves out credentials some clients put in bodies', () => {
    const body = { model: 'm', messages: [], api_key: 'sk-secret-1', openai_api_key: 'sk-secret-2', Authorization: 'Bearer sk-secret-3', extra_headers: { authorization: 'x' }, client_secret: 's', max_tokens: 5, max_completion_tokens: 6, user: 'u-42' };
    const line = JSON.stringify(buildRequestRecord({ ...base, body: Buffer.from(JSON.stringify(body)) }));
    expect(line).not.toMatch(/secret|authorization|Bearer|api_key/i);
    expect(JSON.parse(line)).toMatchObject({ max_tokens: 5, max_completion_tokens: 6, user: 'u-42' });
  });

  it.each([
    ['api_key', true], ['apiKey', true], ['x-api-key', true], ['authorization', true], ['password', true], ['token', true], ['access_token', true],
    ['max_tokens', false], ['max_output_tokens', false], ['top_logprobs', false], ['messages', false], ['prompt_cache_key', false], ['user', false],
  ])('isSecretField(%s) = %s', (name, secret) => {
    expect(isSecretField(name)).toBe(secret);
  });

  it.each([
    ['not JSON', Buffer.from('model=gpt&x=1'), 'model=gpt&x=1'],
    ['a JSON array', Buffer.from('[1,2]'), '[1,2]'],
    ['no body', undefined, ''],
  ])('%s: unparsed with a raw excerpt', (_name, body, raw) => {
    expect(buildRequestRecord({ ...base, body })).toEqual({ ...envelope(), model: null, stream: null, unparsed: true, raw });
  });

  it('keeps only the first 2 KiB of an unparsed body', () => {
    const record = buildRequestRecord({ ...base, body: Buffer.from('x'.repeat(10_000)) });
    expect((record.raw as string).length).toBe(2048);
  });
});

function envelope() {
  return { type: 'request', uid: 'u1', time: '2025-01-31T12:00:00.123Z', ip: '203.0.113.9', route: '/v1/chat/completions' };
}

const reply: AssembledReply = {
  assistant: 'Hello',
  reasoning: null,
  toolCalls: null,
  finishReason: 'stop',
  usage: { total_tokens: 3 },
  usageModel: null,
  choices: null,
  error: null,
  parsed: true,
};

describe('response record', () => {
  const input = { uid: 'u1', endedAt: T0 + 500, status: 200, reply, ttftMs: 40, durationMs: 500, outcome: { kind: 'complete' } as const };

  it('every contract field, in order', () => {
    const record = buildResponseRecord(input);
    expect(record).toEqual({
      type: 'response', uid: 'u1', time: '2025-01-31T12:00:00.623Z', status: 200, assistant: 'Hello', tool_calls: null, reasoning: null,
      finish_reason: 'stop', usage: { total_tokens: 3 }, ttft_ms: 40, duration_ms: 500,
    });
    expect(Object.keys(record)).toEqual(['type', 'uid', 'time', 'status', 'assistant', 'tool_calls', 'reasoning', 'finish_reason', 'usage', 'ttft_ms', 'duration_ms']);
  });

  it('aborted', () => {
    expect(buildResponseRecord({ ...input, outcome: { kind: 'aborted' } })).toMatchObject({ aborted: true, assistant: 'Hello' });
  });

  it('gateway error before any response', () => {
    const record = buildResponseRecord({ ...input, status: 502, reply: null, ttftMs: null, outcome: { kind: 'error', message: 'Upstream refused', code: 'upstream_unreachable', status: 502 } });
    expect(record).toMatchObject({ status: 502, assistant: null, ttft_ms: null, error: { message: 'Upstream refused', code: 'upstream_unreachable' } });
  });

  it('an upstream error body becomes `error`', () => {
    const record = buildResponseRecord({ ...input, status: 401, reply: { ...reply, assistant: null, error: { message: 'bad key' } } });
    expect(record).toMatchObject({ status: 401, error: { message: 'bad key' } });
  });

  it('unparsed and truncated bodies', () => {
    const record = buildResponseRecord({ ...input, reply: null, unparsed: { raw: '<html>', reason: 'body is not a JSON object' }, truncated: true });
    expect(record).toMatchObject({ unparsed: true, raw: '<html>', reason: 'body is not a JSON object', truncated: true, assistant: null });
  });

  it('lists choices when n > 1', () => {
    const choices = [{ index: 0, assistant: 'a', reasoning: null, tool_calls: null, finish_reason: 'stop' }, { index: 1, assistant: 'b', reasoning: null, tool_calls: null, finish_reason: 'stop' }];
    expect(buildResponseRecord({ ...input, reply: { ...reply, choices } }).choices).toEqual(choices);
  });
});
