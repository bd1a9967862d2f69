/**
 * The JSON lines of chat-record-line.ts against the reference: `JSON.stringify` of the record objects
 * of chat-record.ts. The request line's fast path copies body members as written, so for a body in
 * `JSON.stringify` form the line is byte-identical; for any other spelling it parses to the same
 * record with the same key order. Bodies the copy cannot render exactly take the general path.
 */
import { describe, expect, it } from 'vitest';
import { requestRecordLine, responseRecordLine } from '../../src/core/chat-record-line.js';
import { buildRequestRecord, buildResponseRecord, type ResponseRecordInput } from '../../src/core/chat-record.js';
import type { AssembledReply } from '../../src/core/chat-reply.js';

const T0 = Date.UTC(2025, 0, 31, 12, 0, 0, 123);
const base = { uid: 'u-1', startedAt: T0, ip: '203.0.113.9', route: '/v1/chat/completions' };

const reference = (body: Buffer | undefined): string => JSON.stringify(buildRequestRecord({ ...base, body }));
const line = (body: Buffer | undefined): string => requestRecordLine({ ...base, body });
const keysOf = (text: string): string[] => Object.keys(JSON.parse(text) as object);

describe('request line: byte-identical to the reference for JSON.stringify bodies', () => {
  const bodies: [string, object][] = [
    ['model, messages, rest', { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], temperature: 0.7, max_tokens: 64 }],
    ['stream after messages, user last (the bench body)', { model: 'm', messages: [], temperature: 0.2, max_tokens: 64, stream: true, user: 'u' }],
    ['messages before model (openai-python order)', { messages: [{ role: 'user', content: 'x' }], model: 'm', stream: false, n: 1 }],
    ['no model, no stream', { messages: [] }],
    ['model not a string', { model: 42, messages: [] }],
    ['stream not a boolean', { model: 'm', stream: 'yes', prompt: 'p' }],
    ['prompt and input and messages, in odd order', { input: 'i', top_p: 1, prompt: 'p', messages: ['m'], model: 'x' }],
    ['secrets in the middle and at the ends', { api_key: 'sk-1', model: 'm', temperature: 1, Authorization: 'Bearer sk-2', top_p: 0.5, extra_headers: { a: 1 }, seed: 3, client_secret: 'c' }],
    ['only secrets', { password: 'p', token: 't' }],
    ['envelope names in the body are left out', { type: 'evil', uid: 'not-ours', model: 'm', time: 'x', ip: '1.1.1.1', route: '/x', keep: true }],
    ['empty object', {}],
    ['unicode, escapes and nesting', { model: 'm', messages: [{ role: 'user', content: 'é "quoted" \\ \n tab\t 世界 😀' }], metadata: { a: [1, { b: null }] }, stop: ['\u2028'] }],
    ['empty key', { '': 1, model: 'm' }],
  ];
  it.each(bodies)('%s', (_name, body) => {
    const bytes = Buffer.from(JSON.stringify(body));
    expect(line(bytes)).toBe(reference(bytes));
  });
});

describe('request line: other spellings parse to the same record, keys in the same order', () => {
  const texts: [string, string][] = [
    ['spaces around everything', ' { "model" : "m" , "messages" : [ { "role" : "user" } ] , "temperature" : 1.0 , "stream" : true } '],
    ['escapes kept as sent', '{"model":"\\u0067pt","messages":[{"content":"\\/\\u00e9"}],"stop":"\\n"}'],
    ['number forms', '{"model":"m","temperature":1.50,"max_tokens":1e2,"seed":-1E-2,"big":12345678901234567890}'],
    ['tabs between members', '{"model":"m",\t"n":1}'],
  ];
  it.each(texts)('%s', (_name, text) => {
    const bytes = Buffer.from(text);
    const got = line(bytes);
    expect(JSON.parse(got)).toEqual(JSON.parse(reference(bytes)));
    expect(keysOf(got)).toEqual(keysOf(reference(bytes)));
    expect(got).not.toContain('\n');
  });

  it('really copies (spelling as sent), so this is the fast path', () => {
    expect(line(Buffer.from('{"model":"m","temperature":1.50}'))).toContain('"temperature":1.50');
  });

  it('copies a body in UTF-8 as well (non-ASCII text), the same record as the reference', () => {
    const bytes = Buffer.from('{"model":"通义千问","messages":[{"role":"user","content":"你好，世界 é 😀 \\u4e16"}],"temperature":1.50,"user":"用户"}');
    const got = line(bytes);
    expect(got).toContain('"temperature":1.50');
    expect(got).toContain('你好，世界 é 😀 \\u4e16');
    expect(JSON.parse(got)).toEqual(JSON.parse(reference(bytes)));
    expect(keysOf(got)).toEqual(keysOf(reference(bytes)));
  });

  it('a body with a final newline (curl -d @file) is copied too', () => {
    const bytes = Buffer.from('{"model":"m","temperature":1.50}\n');
    const got = line(bytes);
    expect(got).toContain('"temperature":1.50}');
    expect(got).not.toContain('\n');
    expect(JSON.parse(got)).toEqual(JSON.parse(reference(bytes)));
  });

  it('a UTF-8 body with a non-ASCII key is copied too', () => {
    const bytes = Buffer.from('{"model":"m","模型":1,"n":2.0}');
    const got = line(bytes);
    expect(got).toContain('"模型":1,"n":2.0}');
    expect(JSON.parse(got)).toEqual(JSON.parse(reference(bytes)));
    expect(keysOf(got)).toEqual(keysOf(reference(bytes)));
  });
});

describe('request line: bodies that take the general path are byte-identical to the reference', () => {
  const texts: [string, string][] = [
    ['pretty-printed (line breaks)', JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x' }], api_key: 'sk-x' }, null, 2)],
    ['CRLF between members', '{"model":"m",\r\n"n":1}'],
    ['duplicate key: the last value counts', '{"model":"a","temperature":1,"temperature":2,"model":"b"}'],
    ['escaped key spelling a secret', '{"model":"m","api\\u005fkey":"sk-hidden","n":1}'],
    ['escaped key spelling model', '{"mod\\u0065l":"m","n":1}'],
    ['integer-like keys (JavaScript orders them first)', '{"model":"m","b":1,"10":2,"2":3}'],
    ['__proto__ key', '{"model":"m","__proto__":{"x":1},"n":1}'],
    ['not JSON', 'model=gpt&x=1'],
    ['a JSON array', '[1,2]'],
    ['a JSON string', '"hello"'],
    ['truncated JSON', '{"model":"m","messages":[{"role"'],
    ['invalid UTF-8 is not JSON: unparsed', '{"model":"m","x":"\xff"}'],
  ];
  it.each(texts)('%s', (_name, text) => {
    const bytes = Buffer.from(text, text.includes('\xff') ? 'latin1' : 'utf8');
    expect(line(bytes)).toBe(reference(bytes));
  });

  it.each([['no body', undefined], ['empty body', Buffer.alloc(0)]])('%s', (_name, body) => {
    expect(line(body)).toBe(reference(body));
  });

  it('never lets an escaped secret name through', () => {
    expect(line(Buffer.from('{"model":"m","api\\u005fkey":"sk-hidden"}'))).not.toContain('sk-hidden');
  });

  it('quotes an ip or uid that needs escaping', () => {
    const got = requestRecordLine({ ...base, uid: 'a"b', ip: 'fe80::1%eth0\\x', body: Buffer.from('{"model":"m"}') });
    expect(got).toBe(JSON.stringify(buildRequestRecord({ ...base, uid: 'a"b', ip: 'fe80::1%eth0\\x', body: Buffer.from('{"model":"m"}') })));
  });
});

describe('request line: random bodies', () => {
  const NAMES = ['model', 'stream', 'messages', 'prompt', 'input', 'temperature', 'api_key', 'uid', 'type', 'user', 'n', 'headers', 'tools'];
  const VALUES: unknown[] = ['gpt', true, false, null, 0, 1.5, -3, 'x"y', [1, 'a'], { k: [null] }, '', 'é\\'];
  // A small deterministic PRNG, so a failure reproduces.
  let seed = 42;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const SPACES = ['', ' ', '\t', '  '];

  it('600 bodies, some with spaces: same record as the reference, same key order', () => {
    for (let i = 0; i < 600; i++) {
      const parts: string[] = [];
      const used = new Set<string>();
      for (let k = rand(8); k > 0; k--) {
        const name = NAMES[rand(NAMES.length)];
        if (used.has(name)) continue;
        used.add(name);
        const s = i % 2 === 0 ? () => '' : () => SPACES[rand(SPACES.length)];
        parts.push(`${s()}${JSON.stringify(name)}${s()}:${s()}${JSON.stringify(VALUES[rand(VALUES.length)])}${s()}`);
      }
      const text = `{${parts.join(',')}}`;
      const bytes = Buffer.from(text);
      const got = line(bytes);
      if (i % 2 === 0) expect(got).toBe(reference(bytes));
      expect(JSON.parse(got)).toEqual(JSON.parse(reference(bytes)));
      expect(keysOf(got)).toEqual(keysOf(reference(bytes)));
    }
  });
});

const reply: AssembledReply = {
  assistant: 'Hello',
  reasoning: null,
  toolCalls: null,
  finishReason: 'stop',
  usage: { prompt_tokens: 1, total_tokens: 3 },
  usageModel: null,
  choices: null,
  error: null,
  parsed: true,
};

describe('response line: byte-identical to JSON.stringify(buildResponseRecord(…))', () => {
  const input: ResponseRecordInput = { uid: 'u-1', endedAt: T0 + 500, status: 200, reply, ttftMs: 40, durationMs: 500, outcome: { kind: 'complete' } };
  const cases: [string, ResponseRecordInput][] = [
    ['a plain reply', input],
    ['text that needs escapes, lone surrogate', { ...input, reply: { ...reply, assistant: 'a "b" \\ \n\u0001 \ud800 😀', reasoning: 'r\u2028' } }],
    ['tool calls and choices', {
      ...input,
      reply: {
        ...reply,
        toolCalls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }],
        choices: [
          { index: 0, assistant: 'a', reasoning: null, tool_calls: null, finish_reason: 'stop' },
          { index: 1, assistant: null, reasoning: 'r', tool_calls: null, finish_reason: null },
        ],
      },
    }],
    ['no reply, gateway error', { ...input, status: 502, reply: null, ttftMs: null, outcome: { kind: 'error', message: 'Upstream "x" refused', code: 'upstream_unreachable', status: 502 } }],
    ['an error in the body', { ...input, status: 400, reply: { ...reply, assistant: null, error: { message: 'bad', code: null } } }],
    ['a string error in the body', { ...input, reply: { ...reply, error: 'oops' } }],
    ['aborted', { ...input, outcome: { kind: 'aborted' } }],
    ['aborted before any status', { ...input, status: null, reply: null, ttftMs: null, outcome: { kind: 'aborted' } }],
    ['unparsed and truncated', { ...input, reply: null, unparsed: { raw: '<html>"x"\n', reason: 'body is not a JSON object' }, truncated: true }],
    ['empty choices list is not written', { ...input, reply: { ...reply, choices: null } }],
    ['non-finite numbers become null', { ...input, ttftMs: Number.NaN, durationMs: Number.POSITIVE_INFINITY }],
    ['negative zero and fractions', { ...input, ttftMs: -0, durationMs: 1.5 }],
    ['uid that needs escaping', { ...input, uid: 'a"b' }],
  ];
  it.each(cases)('%s', (_name, x) => {
    expect(responseRecordLine(x)).toBe(JSON.stringify(buildResponseRecord(x)));
  });
});
