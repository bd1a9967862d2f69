import { describe, expect, it } from 'vitest';
import { ResponseReader } from '../../src/chat-log/response-reader.js';

/** `bytes` cut into reads of `size`, each a slice of one larger shared block, as pooled upstream reads are. */
function pooledReads(bytes: Buffer, size: number): Buffer[] {
  const block = Buffer.alloc(bytes.length + 64);
  bytes.copy(block, 32);
  const reads: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) reads.push(block.subarray(32 + at, 32 + Math.min(bytes.length, at + size)));
  return reads;
}

function read(reads: Buffer[], o: { eventStream?: boolean; maxBodyBytes?: number } = {}): ReturnType<ResponseReader['finishNow']> {
  const reader = new ResponseReader({ api: 'chat', eventStream: o.eventStream ?? false, contentEncoding: undefined, maxBodyBytes: o.maxBodyBytes ?? 8 * 1024 * 1024 });
  for (const r of reads) reader.write(r);
  return reader.finishNow();
}

/** The assistant text of a result, however it was read (the common JSON reply comes as JSON text). */
function assistantOf(result: ReturnType<ResponseReader['finishNow']>): unknown {
  return result.json === undefined ? result.reply?.assistant : JSON.parse(result.json.assistant);
}

const longText = 'Paris, on the Seine. '.repeat(500);
const jsonReply = Buffer.from(JSON.stringify({ object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: longText }, finish_reason: 'stop' }] }));

describe('ResponseReader: the bytes it keeps', () => {
  it('reads a JSON reply that came in one read', () => {
    const result = read([jsonReply]);
    expect(result.json?.finishReason).toBe('"stop"');
    expect(assistantOf(result)).toBe(longText);
  });

  it.each([1, 7, 100, 4095, 4096, 5000])('reads a JSON reply of %i-byte reads (kept bytes copied and grown)', (size) => {
    const result = read(pooledReads(jsonReply, size));
    expect(assistantOf(result)).toBe(longText);
    expect(result.unparsed).toBeUndefined();
  });

  it('a body over the limit is truncated, and its raw excerpt is its first bytes', () => {
    const body = Buffer.from(`not json ${'x'.repeat(9000)}`);
    const result = read(pooledReads(body, 300), { maxBodyBytes: 5000 });
    expect(result.truncated).toBe(true);
    expect(result.unparsed?.raw).toBe(body.subarray(0, 2048).toString());
  });

  it('a non-JSON body gets a raw excerpt of its first 2,048 bytes, however it was cut', () => {
    const body = Buffer.from(`<html>${'y'.repeat(6000)}</html>`);
    for (const size of [10, 2047, 2048, 2049, 6100]) {
      expect(read(pooledReads(body, size)).unparsed?.raw).toBe(body.subarray(0, 2048).toString());
    }
  });

  it('an event stream the upstream did not label is read whole, in small reads', () => {
    const events = ['Hel', 'lo', '!'].map((t) => `data: ${JSON.stringify({ object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: t } }] })}\n\n`);
    const body = Buffer.from(`: keep-alive\n\n${events.join('')}data: [DONE]\n\n`);
    expect(read(pooledReads(body, 5)).reply?.assistant).toBe('Hello!');
  });

  it("a stream nothing could be read from keeps its first 2,048 bytes for the record's raw excerpt", () => {
    const body = Buffer.from(`: ping\n\n${'data: not json\n\n'.repeat(400)}`);
    const result = read(pooledReads(body, 9), { eventStream: true });
    expect(result.reply?.parsed).toBe(false);
    expect(result.unparsed?.raw).toBe(body.subarray(0, 2048).toString());
  });

  it('a stream whose first reads hold only comments is still read once events come', () => {
    const event = `data: ${JSON.stringify({ object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: 'ok' } }] })}\n\n`;
    const body = Buffer.from(`${': ping\n\n'.repeat(50)}${event}${event}`);
    const result = read(pooledReads(body, 16), { eventStream: true });
    expect(result.reply?.assistant).toBe('okok');
    expect(result.unparsed).toBeUndefined();
  });

  it('keeps no view of a body that came in two reads or more: the shared block may be released', () => {
    // Pool blocks are never rewritten while referenced; overwriting stands in for "no longer referenced".
    const reads = pooledReads(jsonReply, 1000);
    const reader = new ResponseReader({ api: 'chat', eventStream: false, contentEncoding: undefined, maxBodyBytes: 1 << 20 });
    for (const r of reads) reader.write(r);
    Buffer.from(reads[0].buffer).fill(0x20);
    expect(assistantOf(reader.finishNow())).toBe(longText);
  });

  it("keeps no view of a stream's head, even of its first read", () => {
    const body = Buffer.from('data: not json\n\n'.repeat(10));
    const reads = pooledReads(body, 40);
    const reader = new ResponseReader({ api: 'chat', eventStream: true, contentEncoding: undefined, maxBodyBytes: 1 << 20 });
    reader.write(reads[0]);
    Buffer.from(reads[0].buffer).fill(0x21);
    for (const r of reads.slice(1)) reader.write(r);
    expect(reader.finishNow().unparsed?.raw.slice(0, 40)).toBe(body.subarray(0, 40).toString());
  });
});
