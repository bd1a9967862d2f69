/**
 * One upstream HTTP/1.1 connection carrying one exchange at a time (no pipelining). It writes the
 * request (head and a small body in one write; a streamed body with backpressure, chunked when its
 * length is unknown), feeds the socket's bytes to the response parser, relays what the parser finds
 * to the exchange's handler, and goes back to its pool when the response is complete and the
 * connection can be trusted with another request.
 */
import { Buffer } from 'node:buffer';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { copyRead } from '../socket-reads.js';
import { turnWrites } from '../turn-writes.js';
import { ResponseParser, type ResponseHead, type ResponseSink } from './response-parser.js';
import { UpstreamClientError, type UpstreamHandler, type UpstreamRequest } from './types.js';

/**
 * A request that fails on a kept-alive connection before any byte of its response came back is sent
 * again, once, on a new connection — if it failed so soon after being sent that the keep-alive race
 * explains it, not an upstream that worked on it. The race: the upstream closed the idle connection
 * (its idle timeout, with no `Keep-Alive` hint to tell us) while the request was on its way. Its
 * FIN, or the RST our request then meets, arrives within about one round trip. So the window is a few round
 * trips — {@link RESEND_RTTS} times the shortest TCP handshake the pool has seen to this upstream
 * (the shortest, as a handshake timed while the event loop was busy reads long) — but at least
 * {@link RESEND_MIN_MS} (event-loop lag when the close is read) and at most {@link RESEND_MAX_MS}.
 * A connection that dies later, with nothing received, is an upstream that read the request and
 * then failed: sending it again could run a generation twice, so that is the client's 502.
 */
const RESEND_RTTS = 3;
const RESEND_MIN_MS = 50;
const RESEND_MAX_MS = 1000;

/** What a connection needs of its pool. */
export interface ConnectionOwner {
  /** Coarse clock (ms), refreshed by the pool's timer. */
  readonly now: number;
  readonly hostHeader: string;
  readonly headersTimeoutMs: number;
  readonly bodyTimeoutMs: number;
  /** The exchange ended and the connection may carry another request. */
  release(connection: H1Connection, keepAliveHintMs: number): void;
  /** The connection is gone (closed, failed, or not reusable). */
  remove(connection: H1Connection): void;
  /** The shortest TCP handshake to this upstream so far (ms): about one round trip; -1 unknown. */
  readonly handshakeMs: number;
  /** Sends a request again on a new connection (see {@link RESEND_RTTS}). */
  resend(request: UpstreamRequest, handler: UpstreamHandler): void;
}

export type DeadlineKind = 'connect' | 'headers' | 'body';

const ABORTED = 'the request was aborted';
/** Bodies up to this size are copied next to the head into one buffer. */
const COPY_LIMIT = 16 * 1024;

export class H1Connection implements ResponseSink {
  readonly socket: Socket;
  readonly #owner: ConnectionOwner;
  readonly #parser: ResponseParser;
  #handler: UpstreamHandler | null = null;
  #request: UpstreamRequest | null = null;
  /** Exchanges this connection completed: a request on a used connection may meet the keep-alive race. */
  #exchanges = 0;
  /** When the current request was sent (owner's clock), and whether any byte came back since. */
  #sentAt = 0;
  #received = false;
  #body: Readable | null = null;
  #chunkedBody = false;
  #bodyDone = true;
  #ended = false;
  #reusable = true;
  #keepAliveHintMs = -1;
  #connected = false;
  /** The handler asked to pause; sink events wait in #queue (one socket read at most). */
  #paused = false;
  readonly #queue: (Buffer | null)[] = [];
  #extraBytes = false;
  /** Absolute time (ms, owner's clock) at which the current phase times out; 0 = none. */
  deadline = 0;
  deadlineKind: DeadlineKind = 'connect';
  /** When an idle connection is closed by the pool. */
  idleUntil = 0;
  /** Its place among the pool's busy connections (core/slot-set.ts), -1 when idle. */
  slot = -1;

  constructor(socket: Socket, owner: ConnectionOwner, connectEvent: 'connect' | 'secureConnect') {
    this.socket = socket;
    this.#owner = owner;
    this.#parser = new ResponseParser(this);
    // The pool's sockets deliver reads through onRead (`onread`) and emit no 'data'; the listener
    // still puts the socket in flowing mode, which starts reading.
    socket.on('data', this.#onSocketData);
    socket.on('end', this.#onSocketEnd);
    socket.on('error', this.#onSocketError);
    socket.on('close', this.#onSocketClose);
    socket.on('drain', this.#onSocketDrain);
    socket.once(connectEvent, this.#onConnected);
  }

  get busy(): boolean {
    return this.#handler !== null;
  }

  /** Starts an exchange on this (idle or connecting) connection. */
  start(request: UpstreamRequest, handler: UpstreamHandler): void {
    this.#handler = handler;
    this.#request = request;
    this.#sentAt = this.#owner.now;
    this.#received = false;
    this.#ended = false;
    this.#paused = false;
    this.#queue.length = 0;
    this.#extraBytes = false;
    if (this.#connected) this.deadlineKind = 'headers';
    this.#parser.reset(request.method);
    this.#resume = () => {
      if (this.#handler === handler) this.#doResume();
    };
    handler.onConnect((err?: Error) => {
      if (this.#handler === handler) this.#fail(err ?? new UpstreamClientError('UPSTREAM_ABORTED', ABORTED));
    });
    if (this.#handler !== handler) return; // aborted at once
    const socket = this.socket;
    const body = request.body;
    let head = `${request.method} ${request.path} HTTP/1.1\r\nhost: ${this.#owner.hostHeader}\r\n`;
    const headers = request.headers;
    for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
    if (body === null || Buffer.isBuffer(body)) {
      if (body !== null && body.length > 0 && !hasHeader(headers, 'content-length')) head += `content-length: ${body.length}\r\n`;
      this.#bodyDone = true;
      head += '\r\n';
      if (body === null || body.length === 0) {
        turnWrites.hold(socket);
        socket.write(head, 'latin1');
      } else if (body.length <= COPY_LIMIT) {
        // One buffer, one write(2): cheaper than a corked writev of head and body. It leaves with
        // the turn's other messages (turn-writes.ts).
        const out = Buffer.allocUnsafe(head.length + body.length);
        out.write(head, 0, 'latin1');
        body.copy(out, head.length);
        turnWrites.hold(socket);
        socket.write(out);
      } else {
        socket.cork();
        socket.write(head, 'latin1');
        socket.write(body);
        socket.uncork();
      }
      this.#awaitHeaders();
      return;
    }
    // A streamed body: framed by the client's Content-Length if it sent one, else chunked.
    this.#chunkedBody = !hasHeader(headers, 'content-length');
    socket.write(this.#chunkedBody ? `${head}transfer-encoding: chunked\r\n\r\n` : `${head}\r\n`, 'latin1');
    this.#bodyDone = false;
    this.#body = body;
    // While the body uploads no timeout runs (the client's pace); the connect timeout still does.
    if (this.#connected) this.deadline = 0;
    body.on('data', this.#onBodyData);
    body.once('end', this.#onBodyEnd);
    body.once('error', this.#onBodyError);
  }

  /** Fails the exchange with a timeout of the current phase (called by the pool's timer). */
  timeout(): void {
    const kind = this.deadlineKind;
    const code = kind === 'connect' ? 'UPSTREAM_CONNECT_TIMEOUT' : kind === 'headers' ? 'UPSTREAM_HEADERS_TIMEOUT' : 'UPSTREAM_BODY_TIMEOUT';
    this.#fail(new UpstreamClientError(code, `upstream ${kind} timeout`));
  }

  // ResponseSink ----------------------------------------------------------------------------------

  onHead(head: ResponseHead): void {
    const handler = this.#handler;
    if (handler === null) return;
    this.#keepAliveHintMs = head.keepAliveHint > 0 ? head.keepAliveHint * 1000 : -1;
    this.#setDeadline('body', this.#owner.bodyTimeoutMs);
    if (!handler.onHeaders(head.status, head.headers, this.#resume, head.statusText)) this.#pause();
  }

  onBody(chunk: Buffer): void {
    const handler = this.#handler;
    if (handler === null) return;
    if (this.#paused) {
      this.#queue.push(chunk);
      return;
    }
    if (this.deadline !== 0) this.deadline = this.#owner.now + this.#owner.bodyTimeoutMs;
    if (!handler.onData(chunk)) this.#pause();
  }

  onEnd(): void {
    if (this.#paused) this.#queue.push(null);
    else this.#ended = true;
  }

  #pause(): void {
    if (this.#handler === null) return;
    this.#paused = true;
    this.deadline = 0;
    this.socket.pause();
  }

  #doResume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    if (this.deadlineKind === 'body' && this.#owner.bodyTimeoutMs > 0) this.deadline = this.#owner.now + this.#owner.bodyTimeoutMs;
    while (this.#queue.length > 0 && !this.#paused && this.#handler !== null) {
      const item = this.#queue.shift() as Buffer | null;
      if (item === null) {
        this.#ended = true;
        if (this.#extraBytes) this.#reusable = false;
        this.#complete();
        return;
      }
      this.onBody(item);
    }
    if (!this.#paused && this.#handler !== null) this.socket.resume();
  }

  // Internals ---------------------------------------------------------------------------------------

  /** The request is written: wait for the head (once connected; until then the connect timeout runs). */
  #awaitHeaders(): void {
    if (this.#connected) this.#setDeadline('headers', this.#owner.headersTimeoutMs);
  }

  #setDeadline(kind: DeadlineKind, ms: number): void {
    this.deadlineKind = kind;
    this.deadline = ms > 0 ? this.#owner.now + ms : 0;
  }

  readonly #onConnected = (): void => {
    this.#connected = true;
    if (this.#handler === null) return;
    if (this.#bodyDone) this.#setDeadline('headers', this.#owner.headersTimeoutMs);
    else this.deadline = 0;
  };

  #resume: () => void = () => {};

  /**
   * A read into the pool's shared buffer (`onread`): copied out first, as the next read reuses the
   * buffer. A small read is copied into a slice of Buffer's shared 8 KB pool, so it costs no
   * ArrayBuffer of its own: each one is freed one by one in the young-generation collection, where
   * they made up most of the pause (BENCHMARKS.md, measure 2). A view pins its whole pool block, so
   * what keeps bytes beyond the exchange's own pace copies them (core/own-copy.ts: a head awaiting
   * its end, the chat log's partial SSE lines, stream heads and bodies of more than one read); what
   * waits for a slow client (this queue while paused, the client socket's write buffer) holds a
   * read or two per stream. Pausing is the socket's own (`#pause`), so this always answers true.
   */
  onRead(size: number, buffer: Uint8Array): boolean {
    this.#onSocketData(copyRead(size, buffer));
    return true;
  }

  readonly #onSocketData = (chunk: Buffer): void => {
    if (this.#handler === null) {
      // Bytes nobody asked for on an idle connection: it cannot be trusted any more.
      this.#discard();
      return;
    }
    this.#received = true;
    let used: number;
    try {
      used = this.#parser.execute(chunk);
    } catch (err) {
      this.#fail(err as Error);
      return;
    }
    if (used < chunk.length) this.#extraBytes = true;
    if (this.#ended && this.#handler !== null) {
      if (this.#extraBytes) this.#reusable = false;
      this.#complete();
    }
  };

  readonly #onSocketEnd = (): void => {
    if (this.#handler === null) {
      this.#discard();
      return;
    }
    if (this.#parser.endOfInput()) {
      this.#reusable = false;
      this.#complete();
    }
  };

  readonly #onSocketError = (err: Error): void => {
    if (this.#handler !== null) this.#lost(err);
    else this.#discard();
  };

  readonly #onSocketClose = (): void => {
    if (this.#handler !== null) {
      this.#lost(new UpstreamClientError('UPSTREAM_CLOSED', 'upstream closed the connection before the response ended'));
    } else {
      this.#owner.remove(this);
    }
  };

  readonly #onSocketDrain = (): void => {
    this.#body?.resume();
  };

  readonly #onBodyData = (data: Buffer | string): void => {
    const chunk = typeof data === 'string' ? Buffer.from(data) : data;
    if (chunk.length === 0) return;
    const socket = this.socket;
    let ok: boolean;
    if (this.#chunkedBody) {
      socket.cork();
      socket.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
      socket.write(chunk);
      ok = socket.write('\r\n', 'latin1');
      socket.uncork();
    } else {
      ok = socket.write(chunk);
    }
    if (!ok) this.#body?.pause();
  };

  readonly #onBodyEnd = (): void => {
    if (this.#chunkedBody) this.socket.write('0\r\n\r\n', 'latin1');
    this.#detachBody();
    this.#bodyDone = true;
    if (this.#handler !== null && this.deadlineKind !== 'body') this.#awaitHeaders();
  };

  readonly #onBodyError = (err: Error): void => {
    this.#detachBody();
    if (this.#handler !== null) this.#fail(err);
  };

  #detachBody(): void {
    const body = this.#body;
    if (body === null) return;
    this.#body = null;
    body.off('data', this.#onBodyData);
    body.off('end', this.#onBodyEnd);
    body.off('error', this.#onBodyError);
    if (!this.#bodyDone) {
      body.on('error', noop);
      body.resume();
    }
  }

  #complete(): void {
    const handler = this.#handler as UpstreamHandler;
    this.#handler = null;
    this.#request = null;
    this.#exchanges++;
    this.deadline = 0;
    if (!this.#bodyDone) {
      // The upstream answered before reading the whole body: the connection is mid-request.
      this.#detachBody();
      this.#reusable = false;
    }
    if (this.#reusable && this.#parser.keepAlive) {
      this.socket.resume();
      this.#owner.release(this, this.#keepAliveHintMs);
    } else {
      this.#discard();
    }
    handler.onComplete(null);
  }

  /**
   * The socket failed or closed under an exchange: the request goes again on a new connection when
   * the keep-alive race explains it ({@link RESEND_RTTS}), else the exchange fails with `err`.
   */
  #lost(err: Error): void {
    const handler = this.#handler;
    const request = this.#request;
    if (handler === null || request === null || !this.#mayResend(request)) {
      this.#fail(err);
      return;
    }
    this.#handler = null;
    this.#request = null;
    this.deadline = 0;
    // Resend first: the pool never sees no exchange in flight (a closing pool would finish).
    this.#owner.resend(request, handler);
    this.#discard();
  }

  #mayResend(request: UpstreamRequest): boolean {
    const body = request.body;
    return (
      this.#exchanges > 0 && !this.#received && (body === null || Buffer.isBuffer(body)) && Date.now() - this.#sentAt <= this.#resendWindowMs()
    );
  }

  #resendWindowMs(): number {
    return Math.min(RESEND_MAX_MS, Math.max(RESEND_MIN_MS, RESEND_RTTS * this.#owner.handshakeMs));
  }

  #fail(err: Error): void {
    const handler = this.#handler;
    this.#handler = null;
    this.#request = null;
    this.deadline = 0;
    this.#detachBody();
    this.#discard();
    handler?.onError(err);
  }

  #discard(): void {
    this.#reusable = false;
    this.socket.destroy();
    this.#owner.remove(this);
  }
}

function noop(): void {}

function hasHeader(flat: readonly string[], name: string): boolean {
  for (let i = 0; i < flat.length; i += 2) if (flat[i].toLowerCase() === name) return true;
  return false;
}
