/**
 * Reads the copy of one response body the tap is given: an event stream goes through the
 * incremental SSE parser into the API's assembler as it arrives (memory stays at one partial line
 * plus the assembled text); any other body is collected up to `maxBodyBytes` and parsed once at the
 * end. Compressed bodies are decoded on the way in (decode.ts).
 *
 * A reader is made per exchange on the hot path, so it allocates only what the body turns out to
 * need: the common one-choice JSON reply costs the reader and a scan of its bytes (rawReply(),
 * which takes its fields as the JSON text they are); other JSON bodies one `JSON.parse`, and
 * quickReply() reads the simple ones without an assembler.
 */
import { Buffer } from 'node:buffer';
import type { ChatApi } from '../core/chat-api.js';
import { createAssembler } from '../core/chat-api.js';
import { quickReply } from '../core/chat-quick-reply.js';
import { type RawReply, rawReply } from '../core/chat-raw-reply.js';
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
  /** `null` when the body was empty, unreadable or over the limit, or read as {@link json}. */
  reply: AssembledReply | null;
  /** The common JSON reply, read as the JSON text of its fields (chat-raw-reply.ts). */
  json?: RawReply;
  unparsed?: { raw: string; reason: string };
  truncated?: boolean;
}

/** Enough of the body's start for a `raw` excerpt when nothing in it could be understood. */
const HEAD_BYTES = 2048;

/** Reads one response body copy into an {@link AssembledReply} (see the file comment). */
export class ResponseReader {
  readonly #api: ChatApi;
  readonly #maxBodyBytes: number;
  readonly #sse: SseParser | null = null;
  readonly #decoder: BodyDecoder | null = null;
  readonly #unsupported: string | undefined;
  /** Made when first needed: a stream needs it at once, a JSON body only when quickReply declines. */
  #assembler: ReplyAssembler | null = null;
  /**
   * Body bytes kept (decoded): all of a JSON body up to the limit, only the head of a stream until
   * an event is understood. A body of one read keeps that read as it is (`#first`, no copy: the
   * common reply); from a second read on, all of it is copied into memory of its own (`#owned`,
   * grown by doubling), as is a stream's head at once. Reads are often slices of a shared pool
   * block, which a view kept for long (a slow body, a stream) would pin whole.
   */
  #first: Buffer | null = null;
  #owned: Buffer | null = null;
  #kept = 0;
  #total = 0;

  constructor({ api, eventStream, contentEncoding, maxBodyBytes }: ResponseReaderOptions) {
    this.#api = api;
    this.#maxBodyBytes = maxBodyBytes;
    if (eventStream) this.#sse = this.#newSseParser();
    const coding = contentEncoding === undefined ? 'identity' : contentCoding(contentEncoding);
    this.#unsupported = coding === 'unsupported' ? contentEncoding : undefined;
    if (coding !== 'identity' && coding !== 'unsupported') this.#decoder = createBodyDecoder(coding, (chunk) => this.#consume(chunk));
  }

  /** True while decoded output may still be on its way: then {@link finish} answers asynchronously. */
  get decoding(): boolean {
    return this.#decoder !== null;
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

  /**
   * The whole body as it came, when it is a JSON body (not a stream) that needed no decoding and
   * was kept whole — what a reader of the common reply's bytes takes (chat-lines-wasm.ts) — else
   * `null`. Call once the body ended; {@link finishNow} still gives the result.
   */
  plainBody(): Buffer | null {
    if (this.#sse !== null || this.#decoder !== null || this.#unsupported !== undefined) return null;
    return this.#total === 0 || this.#total > this.#kept ? null : this.#body();
  }

  /** Ends a body that is not {@link decoding} and returns its result. */
  finishNow(): ReadResult {
    return this.#result(null);
  }

  #assemblerOf(): ReplyAssembler {
    return (this.#assembler ??= createAssembler(this.#api));
  }

  #newSseParser(): SseParser {
    const assembler = this.#assemblerOf();
    return new SseParser((type, data) => assembler.event(type, data));
  }

  #consume(chunk: Buffer): void {
    this.#total += chunk.length;
    const sse = this.#sse;
    if (sse === null) {
      // A JSON body is kept whole (as views: it is parsed at the end anyway), up to the limit.
      if (this.#kept < this.#maxBodyBytes) this.#keep(chunk, this.#maxBodyBytes);
      return;
    }
    sse.push(chunk);
    // A stream keeps its head only for the `raw` excerpt of a stream nothing could be read from:
    // once an event was understood, it is dropped.
    if (this.#assemblerOf().hasParsed()) this.#forget();
    else if (this.#kept < HEAD_BYTES) this.#keep(chunk, HEAD_BYTES, true);
  }

  /** Keeps `chunk` up to `limit` bytes in all; `own`: copied even when it is the first. */
  #keep(chunk: Buffer, limit: number, own = false): void {
    const keep = Math.min(chunk.length, limit - this.#kept);
    if (keep <= 0) return;
    if (this.#kept === 0 && !own) {
      this.#first = keep === chunk.length ? chunk : chunk.subarray(0, keep);
    } else {
      const kept = this.#kept;
      let owned = this.#owned;
      if (owned === null || owned.length < kept + keep) {
        const grown = Buffer.allocUnsafeSlow(Math.min(limit, Math.max(2 * (owned?.length ?? 0), kept + keep, 4096)));
        if (owned !== null) owned.copy(grown, 0, 0, kept);
        else if (this.#first !== null) this.#first.copy(grown, 0, 0, kept);
        this.#first = null;
        owned = this.#owned = grown;
      }
      chunk.copy(owned, kept, 0, keep);
    }
    this.#kept += keep;
  }

  #forget(): void {
    if (this.#kept === 0) return;
    this.#first = null;
    this.#owned = null;
    this.#kept = 0;
  }

  #body(): Buffer {
    if (this.#owned !== null) return this.#owned.subarray(0, this.#kept);
    return this.#first ?? Buffer.alloc(0);
  }

  #head(): string {
    return excerpt(this.#body(), HEAD_BYTES);
  }

  #result(decodeError: Error | null): ReadResult {
    if (this.#unsupported !== undefined) {
      return { reply: null, unparsed: { raw: '', reason: `content-encoding "${this.#unsupported}" is not decoded` } };
    }
    const why = decodeError === null ? '' : ` (decoding failed: ${decodeError.message})`;
    if (this.#sse !== null) {
      this.#sse.end();
      const reply = this.#assemblerOf().result();
      if (reply.parsed || this.#total === 0) return { reply };
      return { reply, unparsed: { raw: this.#head(), reason: `no event of the stream could be read${why}` } };
    }
    if (this.#total === 0) return decodeError === null ? { reply: null } : { reply: null, unparsed: { raw: '', reason: why.trim() } };
    if (this.#total > this.#kept) {
      return { reply: null, truncated: true, unparsed: { raw: this.#head(), reason: `body larger than ${this.#maxBodyBytes} bytes` } };
    }
    const json = rawReply(this.#api, this.#body());
    if (json !== undefined) return { reply: null, json };
    const text = this.#body().toString('utf8');
    const body = parseJson(text);
    if (body === undefined && /^\s*(?:data|event|:)/.test(text)) return this.#asStream(text);
    const quick = quickReply(this.#api, body);
    if (quick !== undefined) return { reply: quick };
    const assembler = this.#assemblerOf();
    if (body !== undefined) assembler.json(body);
    const reply = assembler.result();
    if (reply.parsed) return { reply };
    return { reply, unparsed: { raw: this.#head(), reason: `body is not a JSON object${why}` } };
  }

  /** An event stream the upstream did not label `text/event-stream`. */
  #asStream(text: string): ReadResult {
    const parser = this.#newSseParser();
    parser.push(Buffer.from(text));
    parser.end();
    const reply = this.#assemblerOf().result();
    return reply.parsed ? { reply } : { reply, unparsed: { raw: this.#head(), reason: 'body is not JSON' } };
  }
}
