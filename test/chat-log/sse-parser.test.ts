import { describe, expect, it } from 'vitest';
import { SseParser } from '../../src/core/sse-parser.js';

type Event = [event: string, data: string];

function parse(chunks: Buffer[], end = true): Event[] {
  const events: Event[] = [];
  const parser = new SseParser((event, data) => events.push([event, data]));
  for (const chunk of chunks) parser.push(chunk);
  if (end) parser.end();
  return events;
}

/** Every way of cutting `bytes` in two, plus one byte at a time. */
function splits(bytes: Buffer): Buffer[][] {
  const ways: Buffer[][] = [[bytes]];
  for (let i = 1; i < bytes.length; i++) ways.push([bytes.subarray(0, i), bytes.subarray(i)]);
  ways.push([...bytes].map((byte) => Buffer.from([byte])));
  return ways;
}

const CASES: { name: string; input: string; events: Event[] }[] = [
  { name: 'one event', input: 'data: hello\n\n', events: [['message', 'hello']] },
  { name: 'no space after colon', input: 'data:hello\n\n', events: [['message', 'hello']] },
  { name: 'only one leading space is stripped', input: 'data:  two\n\n', events: [['message', ' two']] },
  { name: 'multi-line data joined with LF', input: 'data: a\ndata: b\ndata:\n\n', events: [['message', 'a\nb\n']] },
  { name: 'event type', input: 'event: response.output_text.delta\ndata: {"x":1}\n\n', events: [['response.output_text.delta', '{"x":1}']] },
  { name: 'event type resets after dispatch', input: 'event: a\ndata: 1\n\ndata: 2\n\n', events: [['a', '1'], ['message', '2']] },
  { name: 'comments and pings ignored', input: ': ping\n\n:\ndata: x\n: mid\n\n', events: [['message', 'x']] },
  { name: 'CRLF line endings', input: 'data: a\r\ndata: b\r\n\r\ndata: c\r\n\r\n', events: [['message', 'a\nb'], ['message', 'c']] },
  { name: 'CR line endings', input: 'data: a\r\rdata: b\r\r', events: [['message', 'a'], ['message', 'b']] },
  { name: 'mixed endings', input: 'data: a\r\n\ndata: b\n\r', events: [['message', 'a'], ['message', 'b']] },
  { name: 'BOM at the start', input: '\uFEFFdata: bom\n\n', events: [['message', 'bom']] },
  { name: 'BOM only at the start', input: 'data: a\n\n\uFEFFdata: b\n\n', events: [['message', 'a']] },
  { name: 'multi-byte UTF-8', input: 'data: 你好, мир 👋🏽\n\n', events: [['message', '你好, мир 👋🏽']] },
  { name: 'empty data dispatches an empty string', input: 'data\n\n', events: [['message', '']] },
  { name: 'no data: nothing dispatched', input: 'event: x\n\nid: 3\nretry: 10\n\n', events: [] },
  { name: 'unknown fields ignored', input: 'foo: bar\ndata: y\n\n', events: [['message', 'y']] },
  { name: 'field without colon', input: 'data\ndata\n\n', events: [['message', '\n']] },
  { name: 'colon inside value kept', input: 'data: {"a":"b:c"}\n\n', events: [['message', '{"a":"b:c"}']] },
  { name: 'last event without blank line is kept at end', input: 'data: 1\n\ndata: [DONE]\n', events: [['message', '1'], ['message', '[DONE]']] },
  { name: 'unterminated last line is kept at end', input: 'data: 1\n\ndata: tail', events: [['message', '1'], ['message', 'tail']] },
  {
    name: 'OpenAI chat stream',
    input:
      'data: {"choices":[{"delta":{"content":"Hi"}}]}\n\n' +
      ': keep-alive\n\n' +
      'data: {"choices":[{"delta":{"content":" there"}}]}\n\n' +
      'data: [DONE]\n\n',
    events: [
      ['message', '{"choices":[{"delta":{"content":"Hi"}}]}'],
      ['message', '{"choices":[{"delta":{"content":" there"}}]}'],
      ['message', '[DONE]'],
    ],
  },
];

describe('SseParser', () => {
  for (const { name, input, events } of CASES) {
    it(`${name} (split at every byte)`, () => {
      const bytes = Buffer.from(input, 'utf8');
      for (const chunks of splits(bytes)) expect(parse(chunks)).toEqual(events);
    });
  }

  it('dispatches events as soon as their blank line arrives', () => {
    const events: Event[] = [];
    const parser = new SseParser((event, data) => events.push([event, data]));
    parser.push(Buffer.from('data: a\n'));
    expect(events).toEqual([]);
    parser.push(Buffer.from('\ndata: b'));
    expect(events).toEqual([['message', 'a']]);
  });

  it('a CR at the end of a chunk and a LF opening the next are one line end', () => {
    expect(parse([Buffer.from('data: a\r'), Buffer.from('\n\r'), Buffer.from('\n')])).toEqual([['message', 'a']]);
  });

  it('ignores empty chunks', () => {
    expect(parse([Buffer.alloc(0), Buffer.from('data: a\r'), Buffer.alloc(0), Buffer.from('\n\n')])).toEqual([['message', 'a']]);
  });

  it('keeps no view of a chunk: the memory a partial line arrived in may be reused at once', () => {
    // Upstream reads are slices of a shared pool block; overwriting stands in for the block being released.
    const shared = Buffer.from('data: hel');
    const events: Event[] = [];
    const parser = new SseParser((event, data) => events.push([event, data]));
    parser.push(shared);
    shared.write('XXXXXXXXX');
    parser.push(Buffer.from('lo\n\n'));
    expect(events).toEqual([['message', 'hello']]);
  });

  it('drops a line longer than maxLineBytes and keeps going', () => {
    const events: Event[] = [];
    const parser = new SseParser((event, data) => events.push([event, data]), { maxLineBytes: 16 });
    parser.push(Buffer.from('data: 0123456789'));
    parser.push(Buffer.from('0123456789\n\n'));
    parser.push(Buffer.from(`data: ${'x'.repeat(40)}\n\ndata: ok\n\n`));
    parser.end();
    expect(events).toEqual([['message', 'ok']]);
  });

  it('handles a long stream in many small chunks', () => {
    const lines: string[] = [];
    for (let i = 0; i < 2000; i++) lines.push(`data: {"i":${i},"t":"ü"}\n\n`);
    const bytes = Buffer.from(lines.join(''));
    const chunks: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += 7) chunks.push(bytes.subarray(i, i + 7));
    const events = parse(chunks);
    expect(events).toHaveLength(2000);
    expect(events[1999]).toEqual(['message', '{"i":1999,"t":"ü"}']);
  });

  it('invalid UTF-8 at line ends decodes as it would line by line, however the bytes are cut', () => {
    const lines = [Buffer.from('data: a\xe4', 'latin1'), Buffer.from('data: \xf0\x9f', 'latin1'), Buffer.from('data: ok\xff\xfe', 'latin1')];
    const bytes = Buffer.concat(lines.flatMap((line) => [line, Buffer.from('\n\n')]));
    const expected: Event[] = lines.map((line) => ['message', line.toString('utf8').slice('data: '.length)]);
    for (const chunks of splits(bytes)) expect(parse(chunks)).toEqual(expected);
  });

  it('maxLineBytes counts bytes, not characters, in whole and in split lines', () => {
    const input = Buffer.from(`data:${'é'.repeat(7)}\n\ndata:${'é'.repeat(8)}\n\ndata: ok\n\n`);
    const expected: Event[] = [['message', 'é'.repeat(7)], ['message', 'ok']];
    for (const chunks of splits(input)) {
      const events: Event[] = [];
      const parser = new SseParser((event, data) => events.push([event, data]), { maxLineBytes: 20 });
      for (const chunk of chunks) parser.push(chunk);
      parser.end();
      expect(events).toEqual(expected);
    }
  });
});
