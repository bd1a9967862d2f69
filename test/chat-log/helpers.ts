/** Shared helpers of the chat-log tests. */
import { type ChatApi, createAssembler } from '../../src/core/chat-api.js';
import { type ChatLineBuilder, createChatLineBuilder } from '../../src/core/chat-lines-wasm.js';
import { quickReply } from '../../src/core/chat-quick-reply.js';
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

export const REPLY_USAGE = { prompt_tokens: 9, completion_tokens: 9, total_tokens: 18, prompt_tokens_details: { cached_tokens: 0 } };

/** A chat.completion body of one choice with `message` (and `extra` members of the choice). */
export function chatReply(message: unknown, extra: object = {}): object {
  return {
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 1,
    model: 'gpt-4o-mini',
    choices: [{ index: 0, message, logprobs: null, finish_reason: 'stop', ...extra }],
    usage: REPLY_USAGE,
    system_fingerprint: 'fp_1',
  };
}

/**
 * Non-stream replies of the common case the quick paths cover (quickReply, rawReply): one choice
 * with a plain message or a completions text, and the odd shapes around it.
 */
export const ONE_CHOICE_REPLIES: readonly [string, ChatApi, unknown][] = [
  ['plain chat reply', 'chat', chatReply({ role: 'assistant', content: 'Hello!', refusal: null, annotations: [] })],
  ['content null', 'chat', chatReply({ role: 'assistant', content: null })],
  ['content empty', 'chat', chatReply({ role: 'assistant', content: '' })],
  ['content a number (ignored)', 'chat', chatReply({ content: 5 })],
  ['reasoning_content (DeepSeek)', 'chat', chatReply({ content: 'a', reasoning_content: 'think' })],
  ['reasoning (OpenRouter)', 'chat', chatReply({ content: 'a', reasoning: 'think' })],
  ['reasoning_content wins over reasoning', 'chat', chatReply({ content: 'a', reasoning_content: 'rc', reasoning: 'r' })],
  ['reasoning_content not a string: reasoning is used', 'chat', chatReply({ content: 'a', reasoning_content: null, reasoning: 'r' })],
  ['tool_calls null / function_call null', 'chat', chatReply({ content: 'a', tool_calls: null, function_call: null })],
  ['message missing', 'chat', { choices: [{ index: 0, finish_reason: 'length' }] }],
  ['message not an object', 'chat', { choices: [{ index: 0, message: 'x', finish_reason: 'stop' }] }],
  ['choice not an object', 'chat', { choices: ['x'], usage: REPLY_USAGE }],
  ['choice index other than 0', 'chat', { choices: [{ index: 3, message: { content: 'x' }, finish_reason: 'stop' }] }],
  ['finish_reason not a string', 'chat', chatReply({ content: 'x' }, { finish_reason: 7 })],
  ['no choices: an error body', 'chat', { error: { message: 'bad key', type: 'invalid_request_error', code: null } }],
  ['choices empty, usage only', 'chat', { choices: [], usage: REPLY_USAGE }],
  ['choices not an array', 'chat', { choices: { 0: 'x' } }],
  ['usage not an object', 'chat', { choices: [], usage: 5 }],
  ['error null', 'chat', { ...chatReply({ content: 'x' }), error: null }],
  ['error a string', 'chat', { ...chatReply({ content: 'x' }), error: 'boom' }],
  ['completions text', 'completions', { choices: [{ index: 0, text: 'Once', logprobs: null, finish_reason: 'stop' }], usage: REPLY_USAGE }],
  ['completions text missing', 'completions', { choices: [{ index: 0, finish_reason: 'stop' }] }],
  ['completions text empty', 'completions', { choices: [{ index: 0, text: '' }] }],
];

/** A deterministic random integer source: `random(n)` is in [0, n). */
export function seededRandom(seed: number): (n: number) => number {
  let state = seed;
  return (n) => {
    state = (state * 1_103_515_245 + 12_345) & 0x7fffffff;
    return state % n;
  };
}

/** `text` after one to three random edits: a piece of `alphabet` inserted or written over, or a character deleted. */
export function mutated(text: string, random: (n: number) => number, alphabet: readonly string[]): string {
  let out = text;
  for (let m = 1 + random(3); m > 0; m--) {
    const at = random(out.length + 1);
    const piece = alphabet[random(alphabet.length)];
    const kind = random(3);
    if (kind === 0) out = out.slice(0, at) + piece + out.slice(at);
    else if (kind === 1) out = out.slice(0, at) + out.slice(at + 1);
    else out = out.slice(0, at) + piece + out.slice(at + piece.length);
  }
  return out;
}

/** What the general path makes of a body: JSON.parse, then quickReply or the assembler. */
export function generalReply(api: ChatApi, text: string): AssembledReply {
  const body: unknown = JSON.parse(text);
  const quick = quickReply(api, body);
  if (quick !== undefined) return quick;
  const assembler = createAssembler(api);
  assembler.json(body);
  return assembler.result();
}

/** A WebAssembly line builder whose hand-offs are kept: each as its lines, copied, without their newlines. */
export interface CollectingBuilder {
  readonly builder: ChatLineBuilder;
  readonly handOffs: Buffer[][];
}

export function collectingBuilder(): CollectingBuilder {
  const handOffs: Buffer[][] = [];
  const builder = createChatLineBuilder((view, count) => {
    const lines: Buffer[] = [];
    let from = 0;
    for (let k = 0; k < view.length; k++) {
      if (view[k] !== 0x0a) continue;
      lines.push(Buffer.from(view.subarray(from, k)));
      from = k + 1;
    }
    if (lines.length !== count || from !== view.length) throw new Error(`handed ${count} lines, got ${lines.length} and ${view.length - from} bytes after the last newline`);
    handOffs.push(lines);
  });
  // `npm test` builds the module first: without it every line would silently take JavaScript.
  if (builder === null) throw new Error('wasm/build/chat-lines.wasm is missing: run npm run build:wasm');
  return { builder, handOffs };
}

/** The line the builder just added to its outbox (`added`), alone: handed off at once; `undefined` when it declined. */
export function lineAdded({ builder, handOffs }: CollectingBuilder, added: boolean): Buffer | undefined {
  if (!added) return undefined;
  const before = handOffs.length;
  builder.flush();
  const lines = handOffs.length === before + 1 ? handOffs[before] : [];
  if (lines.length !== 1) throw new Error(`expected one line handed off, got ${lines.length}`);
  return lines[0];
}
