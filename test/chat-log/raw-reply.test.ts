/**
 * rawReply (the common JSON reply read as JSON text from its bytes) against the general path: the
 * response line it makes parses to the same record, keys in the same order, as
 * `JSON.stringify(buildResponseRecord(…))` of what `JSON.parse` and the assemblers make of the body
 * — byte for byte when the body is in `JSON.stringify` form — and it declines (undefined) whatever
 * the general path must handle.
 */
import { describe, expect, it } from 'vitest';
import type { ChatApi } from '../../src/core/chat-api.js';
import { rawReply } from '../../src/core/chat-raw-reply.js';
import { responseRecordLine } from '../../src/core/chat-record-line.js';
import { buildResponseRecord, type ResponseRecordInput } from '../../src/core/chat-record.js';
import { chatReply as chat, generalReply, ONE_CHOICE_REPLIES } from './helpers.js';

const T0 = Date.UTC(2025, 0, 31, 12, 0, 0, 123);
const input: ResponseRecordInput = { uid: 'u-1', endedAt: T0 + 500, status: 200, reply: null, ttftMs: 40, durationMs: 500, outcome: { kind: 'complete' } };

const reference = (api: ChatApi, text: string, extra: Partial<ResponseRecordInput> = {}): string =>
  JSON.stringify(buildResponseRecord({ ...input, ...extra, reply: generalReply(api, text) }));

function rawLine(api: ChatApi, text: string, extra: Partial<ResponseRecordInput> = {}): string | undefined {
  const json = rawReply(api, Buffer.from(text));
  return json === undefined ? undefined : responseRecordLine({ ...input, ...extra }, json);
}

const keysOf = (text: string): string[] => Object.keys(JSON.parse(text) as object);

describe('rawReply: the same line as the general path, byte for byte for JSON.stringify bodies', () => {
  const cases: [string, ChatApi, unknown][] = [
    ...ONE_CHOICE_REPLIES,
    ['text that needs escapes and non-ASCII', 'chat', chat({ role: 'assistant', content: 'a "b" \\ \n\t 你好 é 😀 \u2028' })],
    ['reasoning empty', 'chat', chat({ content: 'a', reasoning_content: '' })],
    ['tool_calls not a list', 'chat', chat({ content: 'a', tool_calls: {} })],
    ['message an array', 'chat', { choices: [{ index: 0, message: [{ content: 'x' }], finish_reason: 'stop' }] }],
    ['usage null', 'chat', { ...chat({ content: 'x' }), usage: null }],
    ['error false', 'chat', { ...chat({ content: 'x' }), error: false }],
    ['keys that only look like the ones read', 'chat', { Choices: [1, 2], choices: [{ message: { Content: 'no', content: 'yes' }, finish: 'x' }], usages: {} }],
    ['the keys read, nested deeper, are not read', 'chat', { data: { choices: [{ message: { content: 'no' } }] }, choices: [] }],
    ['a delta in a completions body (ignored there)', 'completions', { choices: [{ index: 0, text: 'a', delta: { content: 'x' } }] }],
    ['completions with a chat message (ignored there)', 'completions', { choices: [{ index: 0, text: 't', message: { content: [1] } }] }],
    ['empty object', 'chat', {}],
  ];
  it.each(cases)('%s', (_name, api, body) => {
    const text = JSON.stringify(body);
    expect(rawLine(api, text)).toBe(reference(api, text));
  });

  it('an error outcome, an abort and a missing status go in as the general line has them', () => {
    const text = JSON.stringify(chat({ content: 'x' }));
    const outcomes: Partial<ResponseRecordInput>[] = [
      { status: 502, outcome: { kind: 'error', message: 'Upstream "x" cut', code: 'upstream_unreachable', status: 502 } },
      { outcome: { kind: 'aborted' } },
      { status: null, ttftMs: null, outcome: { kind: 'aborted' } },
    ];
    for (const extra of outcomes) expect(rawLine('chat', text, extra)).toBe(reference('chat', text, extra));
  });

  it('tells the metrics the model next to an object usage and the token counts in it, as the general path has them', () => {
    const read = (body: unknown): ReturnType<typeof rawReply> => rawReply('chat', Buffer.from(JSON.stringify(body)));
    expect(read(chat({ content: 'x' }))).toMatchObject({ usageModel: 'gpt-4o-mini', usageTokens: { prompt_tokens: 9, completion_tokens: 9 } });
    expect(read({ model: 'gpt-"4"\\é', choices: [], usage: { input_tokens: 1.5, output_tokens: 7, prompt_tokens: null, completion_tokens: 'x' } })).toMatchObject({
      usageModel: 'gpt-"4"\\é',
      usageTokens: { input_tokens: 1.5, output_tokens: 7, prompt_tokens: null, completion_tokens: 'x' },
    });
    expect(read({ model: 'm', choices: [] })).toMatchObject({ usageModel: null, usageTokens: null });
    expect(read({ model: 5, choices: [], usage: {} })).toMatchObject({ usageModel: null, usageTokens: {} });
    expect(read({ model: 'm', choices: [], usage: [1] })).toMatchObject({ usageModel: null, usageTokens: null });
  });
});

describe('rawReply: other spellings parse to the same record, keys in the same order', () => {
  const texts: [string, string][] = [
    ['spaces everywhere (a Python upstream)', '{ "choices" : [ { "index" : 0 , "message" : { "role" : "assistant" , "content" : "Hi" } , "finish_reason" : "stop" } ] , "usage" : { "prompt_tokens" : 1 , "total_tokens" : 2 } }'],
    ['escapes as the upstream wrote them', '{"choices":[{"message":{"content":"\\u0048i \\/ \\u4f60"},"finish_reason":"st\\u006fp"}],"usage":{"a":1.50,"b":1e2}}'],
    ['tabs between tokens', '{"choices":\t[{"message":{"content":"x"}}],\t"usage":{}}'],
    ['a final newline', `${JSON.stringify(chat({ role: 'assistant', content: 'Hi\nthere' }))}\n`],
    ['a final CRLF and spaces', `${JSON.stringify(chat({ content: 'x' }))} \r\n`],
  ];
  it.each(texts)('%s', (_name, text) => {
    const got = rawLine('chat', text);
    expect(got).toBeDefined();
    expect(got).not.toMatch(/[\r\n]/);
    expect(JSON.parse(got ?? '')).toEqual(JSON.parse(reference('chat', text)));
    expect(keysOf(got ?? '')).toEqual(keysOf(reference('chat', text)));
  });

  it('really copies the text (spelling as sent), so this is the fast path', () => {
    expect(rawLine('chat', '{"choices":[{"message":{"content":"\\u0048i"}}],"usage":{"n":1.50}}')).toContain('"assistant":"\\u0048i"');
  });
});

describe('rawReply: declines what the general path must handle', () => {
  const cases: [string, ChatApi, string | Buffer][] = [
    ['n > 1', 'chat', JSON.stringify({ choices: [{ index: 0, message: { content: 'a' } }, { index: 1, message: { content: 'b' } }] })],
    ['n > 1, the first not an object', 'chat', JSON.stringify({ choices: [null, { message: { content: 'b' } }] })],
    ['content as parts', 'chat', JSON.stringify(chat({ content: [{ type: 'text', text: 'a' }] }))],
    ['tool calls', 'chat', JSON.stringify(chat({ content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }] }))],
    ['empty tool_calls list', 'chat', JSON.stringify(chat({ content: 'x', tool_calls: [] }))],
    ['function_call', 'chat', JSON.stringify(chat({ content: null, function_call: { name: 'f', arguments: '{}' } }))],
    ['a delta in a chat body', 'chat', JSON.stringify({ choices: [{ index: 0, delta: { content: 'x' } }] })],
    ['responses API', 'responses', JSON.stringify({ output: [], status: 'completed', usage: {} })],
    ['a key read written with an escape', 'chat', '{"choices":[{"message":{"cont\\u0065nt":"x"}}]}'],
    ['a top-level key with an escape', 'chat', '{"us\\u0061ge":{"a":1},"choices":[]}'],
    ['a key read written twice (JSON.parse keeps the last)', 'chat', '{"choices":[{"message":{"content":"a","content":"b"}}]}'],
    ['usage written twice', 'chat', '{"usage":{"a":1},"choices":[],"usage":null}'],
    ['not JSON', 'chat', '<html>502</html>'],
    ['a JSON array', 'chat', '[1,2]'],
    ['truncated', 'chat', '{"choices":[{"message":{"content":"x"'],
    ['trailing garbage', 'chat', '{"choices":[]}x'],
    ['invalid UTF-8', 'chat', Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d])],
    ['invalid JSON deep inside the choice', 'chat', '{"choices":[{"message":{"content":"x","x":[1,]}}]}'],
    ['invalid JSON after the choices', 'chat', '{"choices":[{"message":{"content":"x"}}],"usage":{"a":01}}'],
    ['a number beyond double range (the general path writes null)', 'chat', '{"choices":[],"usage":{"a":1e400}}'],
    ['an integer beyond double range', 'chat', `{"choices":[],"error":{"n":1${'0'.repeat(309)}}}`],
    ['digits and exponent together beyond double range', 'chat', `{"choices":[],"usage":{"x":2${'0'.repeat(209)}e99}}`],
    ['a fraction with an exponent beyond double range', 'chat', '{"choices":[],"usage":{"x":0.5e309}}'],
    ['pretty-printed, as OpenAI writes its replies (JSON.parse is quicker there)', 'chat', JSON.stringify(chat({ content: 'x' }), null, 2)],
    ['pretty-printed with CRLF', 'chat', JSON.stringify(chat({ content: 'x' }), null, 2).replace(/\n/g, '\r\n')],
    ['a line break inside a value copied (usage)', 'chat', '{"choices":[],"usage":{\n"a":1}}'],
  ];
  it.each(cases)('%s', (_name, api, body) => {
    expect(rawReply(api, typeof body === 'string' ? Buffer.from(body) : body)).toBeUndefined();
  });
});

describe('rawReply: random replies', () => {
  let seed = 5;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const pick = <T>(values: readonly T[]): T => values[rand(values.length)];
  const VALUES: unknown[] = ['x', '', 'é "q" \\ 你', null, 0, -1.5, true, [], [1, 'a'], {}, { content: 'in' }];
  const MESSAGE_KEYS = ['role', 'content', 'reasoning_content', 'reasoning', 'refusal', 'tool_calls', 'function_call', 'annotations'];
  const CHOICE_KEYS = ['index', 'message', 'finish_reason', 'logprobs', 'text', 'delta'];
  const TOP_KEYS = ['id', 'object', 'model', 'choices', 'usage', 'error', 'system_fingerprint'];

  function object(keys: readonly string[], value: (key: string) => unknown): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (let k = rand(keys.length + 1); k > 0; k--) {
      const key = pick(keys);
      out[key] = value(key);
    }
    return out;
  }
  const message = (): unknown => (rand(6) === 0 ? pick(VALUES) : object(MESSAGE_KEYS, () => pick(VALUES)));
  const choice = (): unknown => (rand(6) === 0 ? pick(VALUES) : object(CHOICE_KEYS, (key) => (key === 'message' ? message() : pick(VALUES))));
  const reply = (): unknown =>
    object(TOP_KEYS, (key) => {
      if (key === 'choices') return rand(5) === 0 ? pick(VALUES) : Array.from({ length: rand(4) === 0 ? 2 : 1 }, choice);
      if (key === 'usage') return rand(3) === 0 ? pick(VALUES) : { prompt_tokens: rand(100), completion_tokens: rand(100) };
      return pick(VALUES);
    });

  it('2,000 replies, a third with a final newline: when read, the same line as the general path', () => {
    let read = 0;
    for (let i = 0; i < 2000; i++) {
      const api: ChatApi = i % 4 === 0 ? 'completions' : 'chat';
      const text = `${JSON.stringify(reply())}${i % 3 === 0 ? '\n' : ''}`;
      const json = rawReply(api, Buffer.from(text));
      if (json === undefined) continue;
      read++;
      expect(responseRecordLine(input, json), text).toBe(reference(api, text));
      // What the metrics get: the model and the token counts of the general path's usage.
      const { usage, usageModel } = generalReply(api, text);
      const tokens = usage === null ? null : Object.fromEntries(['prompt_tokens', 'completion_tokens', 'input_tokens', 'output_tokens'].filter((k) => k in usage).map((k) => [k, usage[k]]));
      expect([json.usageModel, json.usageTokens], text).toEqual([usageModel, tokens]);
    }
    // Most random replies are within the case covered: the comparison is exercised.
    expect(read).toBeGreaterThan(1000);
  });
});
