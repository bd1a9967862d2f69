/**
 * Reads the copy of one response body the tap is given: an event stream goes through the
 * incremental SSE parser into the API's assembler as it arrives (memory stays at one partial line
 * plus the assembled text); any other body is collected up to `maxBodyBytes` and parsed once at the
 * end. Compressed bodies are decoded on the way in (decode.ts).
 */
import type { ChatApi } from '../core/chat-api.js';
import { createAssembler } from '../core/chat-api.js';
import { excerpt } from '../core/chat-record.js';
import { type AssembledReply, parseJson, type ReplyAssembler } from '../core/chat-reply.js';
import { SseParser } from '../core/sse-parser.js';
import { type BodyDecoder, contentCoding, createBodyDecoder } from './decode.js';

export interface ResponseReaderOptions {
  api: ChatApi;
  eventStream: boolean;
  contentEncoding: string | undefined;
  /** Largest non-stream body kept for parsing (decoded bytes). */
  maxBodyBytes: number;
}

export interface ReadResult {
  /** `null` when the body was empty, unreadable or over the limit. */
  reply: AssembledReply | null;
  unparsed?: { raw: string; reason: string };
  truncated?: boolean;
}

/** Enough of the body's start for a `raw` excerpt when nothing in it could be understood. */
const HEAD_BYTES = 2048;

/** Reads one response body copy into an {@link AssembledReply} (see the file comment). */
export class ResponseReader {
  readonly #assembler: ReplyAssembler;
  readonly #sse: SseParser | null;
  readonly #maxBodyBytes: number;
  readonly #decoder: BodyDecoder | null;
  readonly #unsupported: string | undefined;
  /** Body bytes (decoded): all of a JSON body up to the limit, only the head of a stream. */
  #chunks: Buffer[] = [];
  #kept = 0;
  #total = 0;

  constructor({ api, eventStream, contentEncoding, maxBodyBytes }: ResponseReaderOptions) {
    this.#assembler = createAssembler(api);
    this.#maxBodyBytes = maxBodyBytes;
    this.#sse = eventStream ? new SseParser((type, data) => this.#assembler.event(type, data)) : null;
    const coding = contentCoding(contentEncoding);
    this.#unsupported = coding === 'unsupported' ? contentEncoding : undefined;
    this.#decoder = coding === 'identity' || coding === 'unsupported' ? null : createBodyDecoder(coding, this.#consume);
  }

  /** One body chunk as the client got it. */
  write(chunk: Buffer): void {
    if (this.#decoder !== null) this.#decoder.write(chunk);
    else if (this.#unsupported === undefined) this.#consume(chunk);
    else this.#total += chunk.length;
  }

  /** Ends the body; `done` gets the result (synchronously unless a decoder still has output). */
  finish(done: (result: ReadResult) => void): void {
    if (this.#decoder === null) {
      done(this.#result(null));
      return;
    }
    this.#decoder.end((error) => done(this.#result(error)));
  }

  readonly #consume = (chunk: Buffer): void => {
    this.#total += chunk.length;
    const limit = this.#sse === null ? this.#maxBodyBytes : HEAD_BYTES;
    if (this.#kept < limit) {
      const keep = Math.min(chunk.length, limit - this.#kept);
      const part = keep === chunk.length ? chunk : chunk.subarray(0, keep);
      // A stream keeps only a small copy of its head: a view would pin the chunk's whole buffer
      // for the stream's lifetime. A JSON body is kept whole until the end anyway.
      this.#chunks.push(this.#sse === null ? part : Buffer.from(part));
      this.#kept += keep;
    }
    this.#sse?.push(chunk);
  };

  #head(): string {
    return excerpt(Buffer.concat(this.#chunks, Math.min(this.#kept, HEAD_BYTES)));
  }

  #result(decodeError: Error | null): ReadResult {
    if (this.#unsupported !== undefined) {
      return { reply: null, unparsed: { raw: '', reason: `content-encoding "${this.#unsupported}" is not decoded` } };
    }
    const why = decodeError === null ? '' : ` (decoding failed: ${decodeError.message})`;
    if (this.#sse !== null) {
      this.#sse.end();
      const reply = this.#assembler.result();
      if (reply.parsed || this.#total === 0) return { reply };
      return { reply, unparsed: { raw: this.#head(), reason: `no event of the stream could be read${why}` } };
    }
    if (this.#total === 0) return decodeError === null ? { reply: null } : { reply: null, unparsed: { raw: '', reason: why.trim() } };
    if (this.#total > this.#kept) {
      return { reply: null, truncated: true, unparsed: { raw: this.#head(), reason: `body larger than ${this.#maxBodyBytes} bytes` } };
    }
    const text = Buffer.concat(this.#chunks, this.#kept).toString('utf8');
    const body = parseJson(text);
    if (body === undefined && /^\s*(?:data|event|:)/.test(text)) return this.#asStream(text);
    if (body !== undefined) this.#assembler.json(body);
    const reply = this.#assembler.result();
    if (reply.parsed) return { reply };
    return { reply, unparsed: { raw: this.#head(), reason: `body is not a JSON object${why}` } };
  }

  /** An event stream the upstream did not label `text/event-stream`. */
  #asStream(text: string): ReadResult {
    const parser = new SseParser((type, data) => this.#assembler.event(type, data));
    parser.push(Buffer.from(text));
    parser.end();
    const reply = this.#assembler.result();
    return reply.parsed ? { reply } : { reply, unparsed: { raw: this.#head(), reason: 'body is not JSON' } };
  }
}
