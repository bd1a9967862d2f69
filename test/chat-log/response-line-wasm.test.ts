/**
 * The response line built in WebAssembly (core/chat-lines-wasm.ts, wasm/chat-lines.ts) against
 * rawReply + responseRecordLine: whenever the module gives a line, rawReply read the reply too and
 * the line is the same bytes, and the metrics get the same usage; whatever it declines takes that
 * path (or the general one). The common replies come from it.
 */
import { describe, expect, it } from 'vitest';
import type { ChatApi } from '../../src/core/chat-api.js';
import { rawReply } from '../../src/core/chat-raw-reply.js';
import { responseRecordLine } from '../../src/core/chat-record-line.js';
import type { ResponseRecordInput } from '../../src/core/chat-record.js';
import type { JsonObject } from '../../src/core/chat-reply.js';
import { chatReply as chat, type CollectingBuilder, collectingBuilder, generalReply, lineAdded, mutated, ONE_CHOICE_REPLIES, REPLY_USAGE, seededRandom } from './helpers.js';

const T0 = Date.UTC(2025, 0, 31, 12, 0, 0, 123);
const input: ResponseRecordInput = { uid: 'u-1', endedAt: T0 + 500, status: 200, reply: null, ttftMs: 40, durationMs: 500, outcome: { kind: 'complete' } };

const builder = collectingBuilder;

/** The module's line; the uid whole, or given `uidLow`, as the start of the chat log's own uids (LineUid). */
function wasmLine(lines: CollectingBuilder, api: ChatApi, body: Buffer, extra: Partial<ResponseRecordInput> & { uidLow?: number } = {}): Buffer | undefined {
  const { uid, endedAt, status, ttftMs, durationMs } = { ...input, ...extra };
  return lineAdded(lines, lines.builder.responseLine({ uid, uidLow: extra.uidLow ?? -1, endedAt, status, ttftMs, durationMs }, api, body));
}

/** rawReply's line, `undefined` when it declines. */
function jsLine(api: ChatApi, body: Buffer, extra: Partial<ResponseRecordInput> = {}): Buffer | undefined {
  const json = rawReply(api, body);
  return json === undefined ? undefined : Buffer.from(responseRecordLine({ ...input, ...extra }, json));
}

/** The usage the metrics get from rawReply, in the module's shape. */
function jsUsage(api: ChatApi, body: Buffer): { model: string | null; tokens: unknown } | null {
  const json = rawReply(api, body);
  return json === undefined || json.usageTokens === null ? null : { model: json.usageModel, tokens: json.usageTokens };
}

/** The general path's line, parsed: what a pretty-printed reply's line must parse to. */
const generalRecord = (api: ChatApi, text: string): unknown => JSON.parse(responseRecordLine({ ...input, reply: generalReply(api, text) }));

/** The metrics' usage from the general path: the token counts it reads and the model. */
function generalUsage(api: ChatApi, text: string): { model: string | null; tokens: JsonObject } | null {
  const reply = generalReply(api, text);
  if (reply.usage === null || reply.usage === undefined) return null;
  const tokens: JsonObject = {};
  for (const name of ['prompt_tokens', 'completion_tokens', 'input_tokens', 'output_tokens']) if (name in reply.usage) tokens[name] = reply.usage[name];
  return { model: reply.usageModel, tokens };
}

/** Checks a line the module gave for a reply with line breaks: one line, the general path's values. */
function expectSameValues(line: Buffer | undefined, api: ChatApi, text: string): void {
  expect(line).toBeDefined();
  const textOfLine = line?.toString('utf8') ?? '';
  expect(textOfLine).not.toMatch(/[\n\r]/);
  expect(JSON.parse(textOfLine)).toEqual(generalRecord(api, text));
  expect(Object.keys(JSON.parse(textOfLine) as object)).toEqual(Object.keys(generalRecord(api, text) as object));
}

const CASES: [string, ChatApi, string][] = [
  ...ONE_CHOICE_REPLIES.map(([name, api, body]): [string, ChatApi, string] => [name, api, JSON.stringify(body)]),
  ['the bench reply', 'chat', `{"id":"chatcmpl-x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"${'x'.repeat(200)}"},"finish_reason":"stop"}]}`],
  ['spaces, tabs and a final newline', 'chat', ' { "choices" : [ { "message" :\t{ "content" : "hi" } , "finish_reason" : "stop" } ] , "usage" : { "prompt_tokens" : 1 } }\n'],
  ['escapes and UTF-8 in the text', 'chat', JSON.stringify(chat({ role: 'assistant', content: 'a "b" \\ \n\t 你好 é 😀 \u2028' }))],
  ['a model with an escape, usage with every count', 'chat', JSON.stringify({ model: 'gpt-\u00e9"x"', choices: [], usage: { prompt_tokens: 3, completion_tokens: 4, input_tokens: 5, output_tokens: 6, total_tokens: 7 } })],
  ['token counts in other forms', 'chat', '{"choices":[],"usage":{"prompt_tokens":1.5e2,"completion_tokens":-0,"input_tokens":"7","output_tokens":null}}'],
  ['large numbers still within double range', 'chat', `{"choices":[],"usage":{"a":1e100,"b":9e307,"c":${'9'.repeat(307)},"d":1e-400}}`],
  ['an error object next to choices', 'chat', JSON.stringify({ ...chat({ content: 'x' }), error: { message: 'partial' } })],
  ['error false, error 0, error []', 'chat', '{"choices":[],"error":false}'],
  ['keys that only look like the ones read', 'chat', JSON.stringify({ Choices: [1, 2], choices: [{ message: { Content: 'no', content: 'yes' }, finish: 'x' }], usages: {} })],
  ['the keys read, nested deeper, are not read', 'chat', JSON.stringify({ data: { choices: [{ message: { content: 'no' } }] }, choices: [] })],
  ['escapes in keys deeper than the levels read', 'chat', JSON.stringify({ choices: [{ message: { content: 'x', extra: { 'k\u0001': 1 } } }], meta: { '"q"': 2 } })],
  ['a delta in a completions body (ignored there)', 'completions', JSON.stringify({ choices: [{ index: 0, text: 'a', delta: { content: 'x' } }] })],
  ['completions with a chat message (ignored there)', 'completions', JSON.stringify({ choices: [{ index: 0, text: 't', message: { content: [1] } }] })],
  ['a long text crossing many 16-byte blocks', 'chat', JSON.stringify(chat({ content: 'abcdefghijklmnopq'.repeat(300) }))],
  ['empty object', 'chat', '{}'],
];

describe('response line in WebAssembly: the same bytes as rawReply + responseRecordLine', () => {
  const lines = builder();
  it.each(CASES)('%s', (_name, api, text) => {
    const body = Buffer.from(text);
    const line = wasmLine(lines, api, body);
    expect(line).toBeDefined();
    expect(line?.toString()).toBe(jsLine(api, body)?.toString());
    expect(lines.builder.responseUsage()).toEqual(jsUsage(api, body));
  });

  it('the head and the times as given: a custom uid, no status, no first byte, a clock that stepped back, any second', () => {
    const body = Buffer.from(JSON.stringify(chat({ content: 'x' })));
    const extras: Partial<ResponseRecordInput>[] = [
      { uid: 'ü-"1"' },
      { uidJson: '"u-2"', uid: 'u-2' },
      { status: null },
      { ttftMs: null, durationMs: 0 },
      { status: 503 },
      { ttftMs: -3, durationMs: -1 },
      { durationMs: 2_147_483_647 },
      { endedAt: T0 + 377 },
      { endedAt: T0 - 500 },
      { endedAt: Date.UTC(2031, 5, 7, 8, 9, 10, 7) },
    ];
    for (const extra of extras) expect(wasmLine(lines, 'chat', body, extra)?.toString()).toBe(jsLine('chat', body, extra)?.toString());
    // The chat log's own uids: a shared start the module ends with six hex digits of `uidLow`.
    for (const uidLow of [0, 0xa1b2, 0xffffff]) {
      const uid = `8f0e5a31-7c2d-4b9e-a1f3-${uidLow.toString(16).padStart(12, '0')}`;
      expect(wasmLine(lines, 'chat', body, { uid: uid.slice(0, 30), uidLow })?.toString()).toBe(jsLine('chat', body, { uid })?.toString());
    }
  });

  it('numbers and times it cannot write as JavaScript does are left to JavaScript', () => {
    const body = Buffer.from(JSON.stringify(chat({ content: 'x' })));
    for (const extra of [{ durationMs: 2 ** 31 }, { ttftMs: 0.5 }, { status: -0 }, { endedAt: -1 }, { endedAt: Date.UTC(10000, 0, 1) }]) {
      expect(wasmLine(lines, 'chat', body, extra)).toBeUndefined();
    }
  });
});

describe('response line in WebAssembly: pretty-printed replies, as OpenAI writes them', () => {
  const lines = builder();
  const pretty = CASES.flatMap(([name, api, text]): [string, ChatApi, string][] => {
    const value: unknown = JSON.parse(text);
    return [
      [`${name}, indented`, api, `${JSON.stringify(value, null, 2)}\n`],
      [`${name}, tabs and CRLF`, api, JSON.stringify(value, null, '\t').replace(/\n/g, '\r\n')],
      // Runs of whitespace longer than the 16 bytes the module skips at a time.
      [`${name}, indented 10 deep`, api, ` \r\n${JSON.stringify(value, null, 10).replace(/\n/g, `\n${' '.repeat(37)}`)}\n\t`],
    ];
  });
  it.each(pretty)('%s: one line, the values of the general path', (_name, api, text) => {
    expectSameValues(wasmLine(lines, api, Buffer.from(text)), api, text);
    expect(lines.builder.responseUsage()).toEqual(generalUsage(api, text));
  });
});

describe('response line in WebAssembly: the usage for the metrics', () => {
  it('the model is decoded again whenever its text changed, also between replies whose usage nobody read', () => {
    const lines = builder();
    const reply = (model: string, read: boolean): void => {
      const body = Buffer.from(JSON.stringify({ model, choices: [], usage: { prompt_tokens: 1, completion_tokens: 2 } }));
      expect(wasmLine(lines, 'chat', body)).toBeDefined();
      if (read) expect(lines.builder.responseUsage()).toEqual({ model, tokens: { prompt_tokens: 1, completion_tokens: 2 } });
    };
    const long = `m-${'x'.repeat(300)}`;
    for (const [model, read] of [['a', true], ['b', false], ['b', true], ['a', false], ['a', true], ['é"\\', true], ['a', true], [long, true], [long, true], ['a', true]] as const) reply(model, read);
  });

  it('a reply without usage or without a model', () => {
    const lines = builder();
    expect(wasmLine(lines, 'chat', Buffer.from('{"model":"a","choices":[]}'))).toBeDefined();
    expect(lines.builder.responseUsage()).toBeNull();
    expect(wasmLine(lines, 'chat', Buffer.from('{"model":7,"choices":[],"usage":{"output_tokens":123456789012345}}'))).toBeDefined();
    expect(lines.builder.responseUsage()).toEqual({ model: null, tokens: { output_tokens: 123456789012345 } });
  });
});

describe('response line in WebAssembly: what it declines', () => {
  const lines = builder();
  const declined: [string, ChatApi, Buffer][] = [
    ['a responses API body', 'responses', Buffer.from('{"output":[]}')],
    ['several choices', 'chat', Buffer.from(JSON.stringify({ choices: [{ message: { content: 'a' } }, { message: { content: 'b' } }] }))],
    ['a delta object', 'chat', Buffer.from('{"choices":[{"delta":{"content":"x"}}]}')],
    ['content as parts', 'chat', Buffer.from('{"choices":[{"message":{"content":[{"type":"text","text":"x"}]}}]}')],
    ['tool calls', 'chat', Buffer.from('{"choices":[{"message":{"content":null,"tool_calls":[{"id":"c"}]}}]}')],
    ['a function call', 'chat', Buffer.from('{"choices":[{"message":{"function_call":{"name":"f"}}}]}')],
    ['a key read written twice', 'chat', Buffer.from('{"usage":{},"usage":{}}')],
    ['a key written twice in the message', 'chat', Buffer.from('{"choices":[{"message":{"content":"a","content":"b"}}]}')],
    ['an escaped key at a level read', 'chat', Buffer.from('{"choices":[{"message":{"cont\\u0065nt":"x"}}]}')],
    ['a number beyond double range', 'chat', Buffer.from('{"choices":[],"usage":{"prompt_tokens":1e400}}')],
    ['a long integer beyond double range', 'chat', Buffer.from(`{"n":${'9'.repeat(309)}}`)],
    ['digits and exponent together beyond double range', 'chat', Buffer.from(`{"usage":{"x":2${'0'.repeat(209)}e99}}`)],
    ['the same, pretty-printed', 'chat', Buffer.from(`{\n  "error": [2${'0'.repeat(209)}e99]\n}`)],
    ['invalid UTF-8', 'chat', Buffer.from([...Buffer.from('{"choices":[{"message":{"content":"'), 0xff, ...Buffer.from('"}}]}')])],
    ['not JSON', 'chat', Buffer.from('upstream error')],
    ['a trailing comma', 'chat', Buffer.from('{"choices":[],}')],
    ['an array', 'chat', Buffer.from('[]')],
    ['nesting beyond 64', 'chat', Buffer.from(`{"x":${'['.repeat(64)}${']'.repeat(64)}}`)],
  ];
  it.each(declined)('%s', (_name, api, body) => {
    expect(wasmLine(lines, api, body)).toBeUndefined();
  });
});

describe('response line in WebAssembly: random replies', () => {
  it('20,000 mutations of replies: every line it gives equals rawReply’s (with line breaks: the general path’s values), with the same usage; it gives most of rawReply’s', () => {
    const lines = builder();
    const seeds: [ChatApi, string][] = [
      ['chat', JSON.stringify({ ...chat({ role: 'assistant', content: 'Hi é 😀 "q"', reasoning_content: 'r' }), error: null })],
      ['chat', JSON.stringify({ model: 'm', choices: [{ index: 0, message: { content: 'x', tool_calls: null }, finish_reason: 'length' }], usage: REPLY_USAGE })],
      ['completions', JSON.stringify({ model: 'm', choices: [{ index: 0, text: 'Once', finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 2e1 } })],
    ];
    const alphabet = ['{', '}', '[', ']', '"', ':', ',', '\\', ' ', '\n', '0', '-', 'e', '.', 'n', 't', 'é', 'choices', 'message', 'content', 'usage', 'delta', 'error', '1e999', 'null'];
    const random = seededRandom(11);
    let given = 0;
    let rawGiven = 0;
    for (let i = 0; i < 20_000; i++) {
      const [api, original] = seeds[i % seeds.length];
      const text = mutated(original, random, alphabet);
      const body = Buffer.from(text);
      const expected = jsLine(api, body);
      if (expected !== undefined) rawGiven++;
      const line = wasmLine(lines, api, body);
      if (line === undefined) continue;
      given++;
      if (/[\n\r]/.test(text.trimEnd())) {
        // rawReply refuses line breaks; the module writes the values without them.
        expectSameValues(line, api, text);
        expect(lines.builder.responseUsage()).toEqual(generalUsage(api, text));
        continue;
      }
      expect(line.equals(expected ?? Buffer.alloc(0))).toBe(true);
      expect(lines.builder.responseUsage()).toEqual(jsUsage(api, body));
    }
    expect(given).toBeGreaterThan(1_000);
    expect(given / rawGiven).toBeGreaterThan(0.95);
  });
});
