/**
 * The request line built in WebAssembly (core/chat-lines-wasm.ts, wasm/chat-lines.ts) against
 * requestRecordLine: whenever the module gives a line, it is the same bytes; what it declines takes
 * requestRecordLine, so only the common bodies need to come from it, and they do.
 */
import { describe, expect, it } from 'vitest';
import { requestRecordLine } from '../../src/core/chat-record-line.js';
import type { RequestRecordInput } from '../../src/core/chat-record.js';
import { UidCounter, uidText } from '../../src/chat-log/uid.js';
import { type CollectingBuilder, collectingBuilder, lineAdded, mutated, seededRandom } from './helpers.js';

const T0 = Date.UTC(2025, 0, 31, 12, 0, 0, 123);
const base = { uid: 'u-1', startedAt: T0, ip: '203.0.113.9', route: '/v1/chat/completions' };

const builder = collectingBuilder;

/**
 * The module's line for `body` (as text), or `undefined` when it declines; the uid whole, or
 * given `uidLow`, as the start of the chat log's own uids (LineUid).
 */
function wasmLine(lines: CollectingBuilder, body: Buffer, input: Partial<RequestRecordInput> & { uidLow?: number } = {}): Buffer | undefined {
  const { uid, startedAt, ip, route } = { ...base, ...input };
  return lineAdded(lines, lines.builder.requestLine({ uid, uidLow: input.uidLow ?? -1, startedAt, ip, route }, body));
}

const jsLine = (body: Buffer, input: Partial<RequestRecordInput> = {}): Buffer => Buffer.from(requestRecordLine({ ...base, ...input, body }));

const BODIES: [string, string][] = [
  ['the bench body', '{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"What is the capital of France?"}],"temperature":0.2,"max_tokens":64,"stream":false,"user":"bench-user-0001"}'],
  ['messages before model, stream true', '{"messages":[{"role":"user","content":"x"}],"model":"m","stream":true,"n":1}'],
  ['prompt, input and messages in odd order', '{"input":"i","top_p":1,"prompt":"p","messages":["m"],"model":"x"}'],
  ['secrets in the middle and at the ends', '{"api_key":"k-1","model":"m","temperature":1,"Authorization":"Bearer k-2","top_p":0.5,"extra_headers":{"a":1},"seed":3,"client_secret":"c"}'],
  ['envelope names are left out', '{"type":"evil","uid":"not-ours","model":"m","time":"x","ip":"1.1.1.1","route":"/x","keep":true}'],
  ['only secrets', '{"password":"p","token":"t"}'],
  ['empty object', '{}'],
  ['empty key', '{"":1,"model":"m"}'],
  ['model not a string, stream not true', '{"model":42,"stream":"true","messages":[]}'],
  ['stream false and null', '{"model":null,"stream":null}'],
  ['spaces and tabs between tokens, a final newline', ' {\t"model" : "m" ,"messages":[ 1 , 2 ] , "temperature" :\t0.5 }\r\n'],
  ['UTF-8 and escapes in values', '{"model":"m","messages":[{"role":"user","content":"é \\"q\\" \\\\ \\n \\u00e9 世界 😀"}],"stop":["\\u2028"]}'],
  ['numbers beyond double range keep their digits on one line', '{"model":"m","a":1e999,"b":2' + '0'.repeat(209) + 'e99}'],
  ['numbers in every form', '{"a":-0,"b":1.5e+300,"c":1E-5,"d":0.0,"e":123456789012345678901234567890,"f":[true,false,null]}'],
  ['deep but allowed nesting', `{"model":"m","x":${'['.repeat(62)}${']'.repeat(62)}}`],
  ['a long string crossing many 16-byte blocks', `{"model":"m","messages":[{"role":"user","content":"${'abcdefghij'.repeat(500)}"}]}`],
  ['a UTF-8 key', '{"model":"m","clé":1,"键":[2]}'],
  ['keys that look like the leading ones', '{"models":1,"model_":2,"streams":3,"inputs":4,"prompt_x":5,"message":6,"model":"m"}'],
];

describe('request line in WebAssembly: the same bytes as requestRecordLine', () => {
  const lines = builder();
  it.each(BODIES)('%s', (_name, text) => {
    const body = Buffer.from(text);
    const line = wasmLine(lines, body);
    expect(line).toBeDefined();
    expect(line?.toString('utf8')).toBe(jsLine(body).toString('utf8'));
    expect(line?.equals(jsLine(body))).toBe(true);
  });

  it('the envelope as given: custom uids with escapes and UTF-8, ips and routes that change, any millisecond and second', () => {
    const body = Buffer.from(BODIES[0][1]);
    const inputs: Partial<RequestRecordInput>[] = [
      { uid: 'ü-"1"' },
      { uidJson: '"u-2"', uid: 'u-2' },
      { ip: '2001:db8::1', route: '/v1/completions' },
      { ip: 'ünïcode\n', route: '/v1/"x"' },
      {},
      { startedAt: T0 - 123 },
      { startedAt: T0 + 877 },
      { startedAt: T0 + 5 - 123 },
      { startedAt: T0 + 50 - 123 },
      { startedAt: 0 },
      { startedAt: Date.UTC(9999, 11, 31, 23, 59, 59, 999) },
      { startedAt: Date.UTC(2000, 1, 29, 1, 2, 3, 4) },
    ];
    for (const input of inputs) expect(wasmLine(lines, body, input)?.toString()).toBe(jsLine(body, input).toString());
  });

  it('times Date#toISOString writes otherwise, and a uid too long for its room, are left to JavaScript', () => {
    const body = Buffer.from(BODIES[0][1]);
    for (const input of [{ startedAt: -1 }, { startedAt: 1.5 }, { startedAt: Date.UTC(10000, 0, 1) }, { uid: 'u'.repeat(400) }]) {
      expect(wasmLine(lines, body, input)).toBeUndefined();
    }
  });

  it("the chat log's own uids: the module ends their shared start with the counter's low half, across a change of start", () => {
    const body = Buffer.from(BODIES[0][1]);
    // An empty start, first thing a builder writes: still a JSON string.
    expect(wasmLine(builder(), body, { uid: '', uidLow: 0xabcdef })?.toString()).toBe(jsLine(body, { uid: 'abcdef' }).toString());
    // Two starts: the counter's high half moves on after 2^24 uids.
    const uids = new UidCounter({ start: 0xffffff - 2 });
    for (let k = 0; k < 6; k++) {
      const uidLow = uids.next();
      const uid = uidText(uids.base, uidLow);
      expect(wasmLine(lines, body, { uid: uids.base, uidLow })?.toString()).toBe(jsLine(body, { uid }).toString());
      // A whole uid in between: the start is written again for the next.
      expect(wasmLine(lines, body, { uid })?.toString()).toBe(jsLine(body, { uid }).toString());
    }
    // A start that needs escapes is written as JSON too; the low half's bounds.
    for (const [start, uidLow] of [['é"\\', 0], ['s-', 0xffffff], ['s-', 0xabcdef]] as const) {
      expect(wasmLine(lines, body, { uid: start, uidLow })?.toString()).toBe(jsLine(body, { uid: uidText(start, uidLow) }).toString());
    }
    // Not a low half of 24 bits: left to JavaScript.
    for (const uidLow of [0x1000000, -2, 1.5, Number.NaN]) expect(wasmLine(lines, body, { uid: 's-', uidLow })).toBeUndefined();
  });

  it('keys it did not know are classified once, as isOtherField does, also after the memo starts over', () => {
    // More distinct keys than the memo keeps (512), some of them secrets.
    for (let k = 0; k < 1_500; k++) {
      const text = `{"model":"m","field_${k}":${k},"${k % 3 === 0 ? `x_api_key_${k}` : `opt_${k}`}":"v","temperature":1}`;
      const body = Buffer.from(text);
      expect(wasmLine(lines, body)?.toString()).toBe(jsLine(body).toString());
    }
  });
});

/** Checks a line the module gave for a body with line breaks: one line, requestRecordLine's values in its order. */
function expectSameValues(line: Buffer | undefined, body: Buffer): void {
  expect(line).toBeDefined();
  const text = line?.toString('utf8') ?? '';
  expect(text).not.toMatch(/[\n\r]/);
  const reference: unknown = JSON.parse(jsLine(body).toString('utf8'));
  expect(JSON.parse(text)).toEqual(reference);
  expect(Object.keys(JSON.parse(text) as object)).toEqual(Object.keys(reference as object));
}

describe('request line in WebAssembly: pretty-printed bodies', () => {
  const lines = builder();
  const pretty = BODIES.flatMap(([name, text]): [string, string][] => {
    const value: unknown = JSON.parse(text);
    return [
      [`${name}, indented`, JSON.stringify(value, null, 2)],
      [`${name}, tabs and CRLF`, `${JSON.stringify(value, null, '\t').replace(/\n/g, '\r\n')}\r\n`],
      // Runs of whitespace longer than the 16 bytes the module skips at a time.
      [`${name}, indented 10 deep`, ` \r\n${JSON.stringify(value, null, 10).replace(/\n/g, `\n${' '.repeat(37)}`)}\n\t`],
    ];
  });
  it.each(pretty)('%s: one line, the values of requestRecordLine', (_name, text) => {
    expectSameValues(wasmLine(lines, Buffer.from(text)), Buffer.from(text));
  });
});

describe('request line in WebAssembly: what it declines (requestRecordLine builds those)', () => {
  const lines = builder();
  const declined: [string, Buffer][] = [
    ['a duplicate key', Buffer.from('{"model":"a","model":"b"}')],
    ['a duplicate key among many', Buffer.from(`{${Array.from({ length: 40 }, (_, k) => `"k${k}":1`).join(',')},"k7":2}`)],
    ['a key with an escape', Buffer.from('{"mod\\u0065l":"m"}')],
    ['a key starting with a digit', Buffer.from('{"1":1,"model":"m"}')],
    ['__proto__', Buffer.from('{"__proto__":{},"model":"m"}')],
    ['a key longer than the memo takes', Buffer.from(`{"${'k'.repeat(65)}":1}`)],
    ['more members than it takes', Buffer.from(`{${Array.from({ length: 257 }, (_, k) => `"k${k}":1`).join(',')}}`)],
    ['nesting beyond 64', Buffer.from(`{"x":${'['.repeat(64)}${']'.repeat(64)}}`)],
    ['not an object', Buffer.from('[1,2]')],
    ['a trailing comma', Buffer.from('{"model":"m",}')],
    ['a leading zero', Buffer.from('{"n":01}')],
    ['a bare dot', Buffer.from('{"n":1.}')],
    ['an exponent without digits', Buffer.from('{"n":1e}')],
    ['a lone minus', Buffer.from('{"n":-}')],
    ['NaN', Buffer.from('{"n":NaN}')],
    ['a misspelt literal', Buffer.from('{"n":tru}')],
    ['a control character in a string', Buffer.from('{"s":"a\tb"}')],
    ['a bad escape', Buffer.from('{"s":"\\x"}')],
    ['a short unicode escape', Buffer.from('{"s":"\\u12"}')],
    ['an unterminated string', Buffer.from('{"s":"abc')],
    ['text after the object', Buffer.from('{"s":1} x')],
    ['two objects', Buffer.from('{}{}')],
    ['invalid UTF-8 in a string', Buffer.from([...Buffer.from('{"s":"'), 0xc3, 0x28, ...Buffer.from('"}')])],
    ['a number beyond double range in a pretty-printed body (written anew as null)', Buffer.from('{\n"x":1e999}')],
    ['a body over the module input size', Buffer.from(`{"s":"${'a'.repeat(1 << 20)}"}`)],
  ];
  it.each(declined)('%s', (_name, body) => {
    expect(wasmLine(lines, body)).toBeUndefined();
  });
});

describe('request line in WebAssembly: random bodies', () => {
  it('20,000 mutations of chat bodies: every line it gives equals requestRecordLine (with line breaks: its values), and valid ones mostly come from it', () => {
    const lines = builder();
    const seeds = BODIES.map(([, text]) => text).filter((text) => text.length < 2_000);
    const alphabet = ['{', '}', '[', ']', '"', ':', ',', '\\', ' ', '\t', '\n', '0', '9', '-', '+', '.', 'e', 't', 'n', 'f', 'é', '\u0000', 'model', 'stream', 'messages', 'api_key', 'uid', '__proto__'];
    const random = seededRandom(7);
    let given = 0;
    let validOneLine = 0;
    let validGiven = 0;
    for (let i = 0; i < 20_000; i++) {
      const text = mutated(seeds[i % seeds.length], random, alphabet);
      const body = Buffer.from(text);
      const line = wasmLine(lines, body);
      let valid = false;
      try {
        const parsed: unknown = JSON.parse(text);
        valid = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed);
      } catch {
        valid = false;
      }
      if (valid) validOneLine++;
      if (line === undefined) continue;
      given++;
      if (valid) validGiven++;
      expect(valid).toBe(true);
      // A line break before the end: requestRecordLine parses and writes anew; the module copies without whitespace.
      if (/[\n\r]/.test(text.replace(/[ \t\n\r]+$/, ''))) expectSameValues(line, body);
      else expect(line.equals(jsLine(body))).toBe(true);
    }
    expect(given).toBeGreaterThan(1_000);
    // Declined valid bodies: duplicate, escaped, digit or __proto__ keys the mutations made.
    expect(validGiven / validOneLine).toBeGreaterThan(0.8);
  });
});

describe('the builder’s outbox', () => {
  it('keeps lines in the order they were built until a flush hands them over at once; a declined body leaves nothing behind', () => {
    const lines = builder();
    const bodies = BODIES.slice(0, 5).map(([, text]) => Buffer.from(text));
    for (const body of bodies) {
      expect(lines.builder.requestLine({ ...base, uidLow: -1 }, body)).toBe(true);
      // Declined after the module began to write: not counted, overwritten by the next line.
      expect(lines.builder.requestLine({ ...base, uidLow: -1 }, Buffer.from('{"model":"m","a":1,"a":2}'))).toBe(false);
    }
    expect(lines.builder.waiting).toBe(5);
    expect(lines.handOffs).toHaveLength(0);
    lines.builder.flush();
    lines.builder.flush(); // nothing waits: no hand-off
    expect(lines.handOffs).toHaveLength(1);
    expect(lines.handOffs[0].map(String)).toEqual(bodies.map((body) => jsLine(body).toString()));
    expect(lines.builder.waiting).toBe(0);
  });

  it('hands over what waits before a line that might not fit, so the largest body always has room', () => {
    const lines = builder();
    const big = (n: number): Buffer => Buffer.from(`{"model":"m","messages":[{"role":"user","content":"${String(n).repeat(400_000)}"}]}`);
    for (let n = 1; n <= 3; n++) expect(lines.builder.requestLine({ ...base, uidLow: -1 }, big(n))).toBe(true);
    // Two lines of 400 kB and the margin fit in the outbox (about 1 MiB); the third did not.
    expect(lines.handOffs.map((handOff) => handOff.length)).toEqual([2]);
    expect(lines.builder.waiting).toBe(1);
    const largest = Buffer.from(`{"model":"m","x":"${'y'.repeat(1024 * 1024 - 20)}"}`);
    expect(largest.length).toBe(1024 * 1024);
    expect(lines.builder.requestLine({ ...base, uidLow: -1 }, largest)).toBe(true);
    lines.builder.flush();
    expect(lines.handOffs.map((handOff) => handOff.length)).toEqual([2, 1, 1]);
    expect(lines.handOffs.flat().map(String)).toEqual([big(1), big(2), big(3), largest].map((body) => jsLine(body).toString()));
  });
});
