/**
 * One request received by the gateway's server: its head, and its body delivered one of two ways —
 * read whole (a chat request of a few KB; the reader is called back as the parser reaches the
 * body's end, usually within the same socket read as the head), or streamed as a Readable with
 * backpressure on the client's socket (uploads). Either way an optional
 * size limit turns an oversized body into the 413 {@link bodyTooLarge}.
 */
import { Buffer } from 'node:buffer';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { GatewayError } from '../../core/errors.js';
import type { RequestHead } from '../h1/request-parser.js';
import { noteRelayed } from '../transfer-relief.js';

/** What a request needs of its connection: flow control of the client's socket. */
export interface BodySource {
  pauseBody(): void;
  resumeBody(): void;
  /** Tells a client waiting on `Expect: 100-continue` to send its body (once; nothing if it need not wait). */
  sendContinue(): void;
  /** See {@link IncomingRequest.detach}. */
  detach(): DetachedSocket;
}

/** A connection handed over after a protocol switch (WebSocket): no longer HTTP. */
export interface DetachedSocket {
  readonly socket: Socket;
  /** Bytes the client sent after the request head, already read from the socket. */
  readonly head: Buffer;
}

/** The 413 for a body over the configured limit. */
export function bodyTooLarge(limit: number): GatewayError {
  return new GatewayError(
    'body_too_large',
    `Request body is larger than the gateway's limit of ${limit} bytes (MAX_BODY_SIZE)`,
  );
}

/** The client went away before its exchange ended (body unread, response unsent). */
export class ClientGoneError extends Error {
  override readonly name = 'ClientGoneError';
  readonly code = 'AIFWD_CLIENT_GONE';
}

export type BodyCallback = (err: Error | null, body: Buffer) => void;

/** Sees a streamed body's chunks as they go to the stream, and its end (not a failed body's). */
export interface BodyCopy {
  add(chunk: Buffer): void;
  end(): void;
}

const EMPTY = Buffer.alloc(0);

export class IncomingRequest {
  readonly method: string;
  /** The request target as sent. */
  readonly url: string;
  /** `[name, value, …]`, names lower-case. */
  readonly headers: string[];
  readonly http10: boolean;
  readonly remoteAddress: string;
  /** The request declared a body (Content-Length > 0 or chunked). */
  readonly hasBody: boolean;
  /** The client asks to switch protocols (`Connection: upgrade` with `Upgrade`, e.g. WebSocket). */
  readonly upgrade: boolean;
  /** Every byte of the body has arrived (true at once without a body). */
  complete: boolean;
  /** The handler decides later whether to accept the body: see {@link holdContinue}. */
  continueHeld = false;
  readonly #source: BodySource;
  #chunks: Buffer[] = [];
  #size = 0;
  #limit = 0;
  #reader: BodyCallback | null = null;
  #stream: Readable | null = null;
  #copy: BodyCopy | undefined;
  /** Why the body failed (too large, client gone, broken framing); further bytes are dropped. */
  #failure: Error | null = null;

  constructor(head: RequestHead, remoteAddress: string, source: BodySource) {
    this.method = head.method;
    this.url = head.target;
    this.headers = head.headers;
    this.http10 = head.http10;
    this.remoteAddress = remoteAddress;
    this.hasBody = head.chunked || head.contentLength > 0;
    this.upgrade = head.upgrade;
    this.complete = !this.hasBody;
    this.#source = source;
  }

  /**
   * Keeps the `100 Continue` of an `Expect: 100-continue` request back when the handler returns
   * without deciding (it waits on something, such as the cluster's rpm count): a request refused
   * then must not have had its client upload the body. {@link releaseContinue} sends it.
   */
  holdContinue(): void {
    this.continueHeld = true;
  }

  /** The handler accepted the request it held: the client may send its body now. */
  releaseContinue(): void {
    if (!this.continueHeld) return;
    this.continueHeld = false;
    this.#source.sendContinue();
  }

  /** Reads the whole body; `limit` 0 = none. Calls back once (at once if it is complete already). */
  readAll(limit: number, done: BodyCallback): void {
    this.#limit = limit;
    if (this.#failure === null && limit > 0 && this.#size > limit) this.#fail(bodyTooLarge(limit));
    if (this.#failure !== null) {
      done(this.#failure, EMPTY);
      return;
    }
    if (this.complete) {
      done(null, this.#take());
      return;
    }
    this.#reader = done;
  }

  /**
   * The body as a stream with backpressure; it errors with a 413 once it passes `limit` (0 = none).
   * `copy` sees every chunk as it goes to the stream, and the end.
   */
  stream(limit: number, copy?: BodyCopy): Readable {
    this.#limit = limit;
    this.#copy = copy;
    const stream = new Readable({ read: () => this.#source.resumeBody() });
    // Its consumer listens for errors; without one, an abort must not become an uncaught 'error'.
    stream.on('error', noop);
    this.#stream = stream;
    if (this.#failure === null && limit > 0 && this.#size > limit) this.#fail(bodyTooLarge(limit));
    if (this.#failure !== null) {
      stream.destroy(this.#failure);
      return stream;
    }
    for (const chunk of this.#chunks) this.#pushToStream(chunk);
    this.#chunks = [];
    if (this.complete) this.#endStream(stream);
    return stream;
  }

  /**
   * Takes the socket of an upgrade request away from the HTTP server, once the gateway switches
   * protocols (it has relayed the upstream's 101): from then on its bytes are the caller's, and
   * the response object must not be used. Idle and header timeouts no longer apply; shutdown still
   * cuts the socket after `shutdown_timeout`.
   */
  detach(): DetachedSocket {
    return this.#source.detach();
  }

  // Called by the connection -----------------------------------------------------------------

  onBody(chunk: Buffer): void {
    if (this.#failure !== null) return;
    noteRelayed(chunk.length);
    this.#size += chunk.length;
    if (this.#limit > 0 && this.#size > this.#limit) {
      this.#fail(bodyTooLarge(this.#limit));
      return;
    }
    if (this.#stream !== null) this.#pushToStream(chunk);
    else this.#chunks.push(chunk);
  }

  onEnd(): void {
    this.complete = true;
    if (this.#failure !== null) return;
    if (this.#stream !== null) {
      this.#endStream(this.#stream);
    } else if (this.#reader !== null) {
      const reader = this.#reader;
      this.#reader = null;
      reader(null, this.#take());
    }
  }

  /** The client went away (or broke the framing) before the body ended. */
  onAbort(err: Error): void {
    if (this.complete || this.#failure !== null) return;
    this.#fail(err);
  }

  #pushToStream(chunk: Buffer): void {
    this.#copy?.add(chunk);
    if (!this.#stream!.push(chunk)) this.#source.pauseBody();
  }

  #endStream(stream: Readable): void {
    this.#copy?.end();
    stream.push(null);
  }

  /** Fails the body: a waiting reader or the stream hears of it now, a later one at once. */
  #fail(err: Error): void {
    this.#failure = err;
    this.#chunks = [];
    const reader = this.#reader;
    this.#reader = null;
    reader?.(err, EMPTY);
    this.#stream?.destroy(err);
  }

  #take(): Buffer {
    const chunks = this.#chunks;
    this.#chunks = [];
    if (chunks.length === 0) return EMPTY;
    return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, this.#size);
  }
}

function noop(): void {}
