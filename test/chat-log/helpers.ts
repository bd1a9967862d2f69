/** Shared helpers of the chat-log tests. */
import type { AssembledReply, ReplyAssembler } from '../../src/core/chat-reply.js';
import { SseParser } from '../../src/core/sse-parser.js';

/** SSE text for `data` payloads (objects are JSON-encoded), optional `event:` names. */
export function sse(events: (unknown | { event: string; data: unknown })[], done = true): string {
  const out: string[] = [];
  for (const item of events) {
    if (typeof item === 'object' && item !== null && 'event' in item && 'data' in item) {
      const { event, data } = item as { event: string; data: unknown };
      out.push(`event: ${event}\ndata: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
    } else {
      out.push(`data: ${typeof item === 'string' ? item : JSON.stringify(item)}\n\n`);
    }
  }
  if (done) out.push('data: [DONE]\n\n');
  return out.join('');
}

/** Runs `text` through a fresh parser into a fresh assembler, in the given chunks. */
export function assembleStream(make: () => ReplyAssembler, chunks: Buffer[]): AssembledReply {
  const assembler = make();
  const parser = new SseParser((event, data) => assembler.event(event, data));
  for (const chunk of chunks) parser.push(chunk);
  parser.end();
  return assembler.result();
}

/** Every way of cutting `text` (as UTF-8) in two. */
export function everySplit(text: string): Buffer[][] {
  const bytes = Buffer.from(text);
  const ways: Buffer[][] = [[bytes]];
  for (let i = 1; i < bytes.length; i++) ways.push([bytes.subarray(0, i), bytes.subarray(i)]);
  return ways;
}

export function assembleJson(make: () => ReplyAssembler, body: unknown): AssembledReply {
  const assembler = make();
  assembler.json(body);
  return assembler.result();
}
