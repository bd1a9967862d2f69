/**
 * One client connection of the gateway's server: socket bytes → request parser → one exchange at a
 * time → next request. Pipelined requests wait (socket paused) until the response before them has
 * ended. Keep-alive follows the request (`Connection`, HTTP version) and the response; a response
 * that ends before its request body was read closes the connection rather than guess at framing.
 *
 * Timeouts are deadlines checked by the server's one coarse timer: the request head must arrive
 * within `headersTimeoutMs` of its first byte, and its body may not stall for longer than that
 * while the gateway is reading it (else 408); an idle keep-alive connection is closed after
 * `keepAliveTimeoutMs`. Once the request is read, the upstream's timeouts bound the exchange.
 */
import { Buffer } from 'node:buffer';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { GatewayCounters } from '../../core/counters.js';
import { GatewayError, toOpenAIErrorBody } from '../../core/errors.js';
import { RequestParseError, RequestParser, type RequestHead, type RequestSink } from '../h1/request-parser.js';
import { readIntoSharedBuffer } from '../socket-reads.js';
import { ClientGoneError, IncomingRequest, type BodySource, type DetachedSocket } from './incoming-request.js';
import { OutgoingResponse, type ResponseOwner } from './outgoing-response.js';

/** What a connection needs of its server. */
export interface ConnectionServer {
  readonly date: string;
  /** Responses counted by status (metrics). */
  readonly counters: GatewayCounters;
  readonly keepAliveLine: string;
  readonly headersTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  /** The server is shutting down: no connection is kept alive. */
  readonly closing: boolean;
  /** The deadline (server clock) `ms` from now, never early despite the coarse clock; 0 for `ms` 0. */
  deadline(ms: number): number;
  handle(req: IncomingRequest, res: OutgoingResponse): void;
  /**
   * The error a protocol upgrade request (WebSocket) is answered with, or `undefined` when the
   * handler takes upgrades (IncomingRequest.upgrade, detach()).
   */
  upgradeRefusal(): GatewayError | undefined;
  /** The request handler threw (a bug): reported, and the client gets a 500. */
  reportError(err: unknown): void;
  /** The connection closed. */
  remove(connection: ServerConnection): void;
  /** The connection handed its socket over after a protocol switch: the socket is still open. */
  detached(connection: ServerConnection): void;
}

const CONTINUE = 'HTTP/1.1 100 Continue\r\n\r\n';
const EMPTY = Buffer.alloc(0);
/**
 * What the current deadline guards: a request head's arrival, the next bytes of a request body, an
 * idle keep-alive, a closing goodbye.
 */
type DeadlineKind = 'none' | 'headers' | 'body' | 'idle' | 'linger';
/** Bytes of pipelined requests held while a response is in progress before the socket is paused. */
const HOLD_LIMIT = 64 * 1024;
/** How long a connection being closed may take to say goodbye (client still sending). */
const LINGER_MS = 5_000;

export class ServerConnection implements RequestSink, ResponseOwner, BodySource {
  readonly socket: Socket;
  readonly #server: ConnectionServer;
  readonly #parser: RequestParser;
  readonly #remoteAddress: string;
  #req: IncomingRequest | null = null;
  #res: OutgoingResponse | null = null;
  /** Bytes received after the current request, waiting for its response to end. */
  #held: Buffer | null = null;
  #bodyPaused = false;
  /** The current request waits on `Expect: 100-continue` and has not been told yet. */
  #continueDue = false;
  #closed = false;
  /** Handed over after a protocol switch (detach()): reads are the socket's stream's again. */
  #detached = false;
  /** An exchange ended while the client's socket was full: the next request waits for 'drain'. */
  #awaitingDrain = false;
  /** Absolute time (server clock, ms) of the current deadline; 0 = none. */
  deadline = 0;
  #deadlineKind: DeadlineKind = 'none';
  /** Its place among the server's connections (core/slot-set.ts). */
  slot = -1;

  /** `sharedReads`: the socket is plain TCP, whose reads may land in the shared buffer. */
  constructor(socket: Socket, server: ConnectionServer, sharedReads: boolean) {
    this.socket = socket;
    this.#server = server;
    this.#parser = new RequestParser(this);
    this.#remoteAddress = socket.remoteAddress ?? '';
    // A plain TCP socket reads into the process's shared buffer (socket-reads.ts); TLS, or a Node
    // whose sockets cannot, delivers 'data' events.
    if (!sharedReads || !readIntoSharedBuffer(socket, this.#onRead)) socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('error', noop);
    socket.on('close', this.#onClose);
    socket.on('drain', this.#onDrain);
    this.#setDeadline('headers', server.headersTimeoutMs);
  }

  get date(): string {
    return this.#server.date;
  }

  get keepAliveLine(): string {
    return this.#server.keepAliveLine;
  }

  get counters(): GatewayCounters {
    return this.#server.counters;
  }

  get closeAfterResponse(): boolean {
    return this.#server.closing || (this.#req !== null && !this.#req.complete);
  }

  /** No exchange in progress and nothing of the next request seen. */
  get idle(): boolean {
    return this.#req === null && this.#held === null && this.#parser.idle;
  }

  /** Called by the server's timer when `deadline` has passed. */
  timeout(): void {
    this.deadline = 0;
    const seconds = this.#server.headersTimeoutMs / 1000;
    if (this.#deadlineKind === 'headers' && !this.#parser.idle) {
      this.#refuse(new GatewayError('request_timeout', `Request headers did not arrive within ${seconds} s`));
      return;
    }
    if (this.#deadlineKind === 'body' && this.#req !== null) {
      const error = new GatewayError('request_timeout', `The request body stalled: no bytes of it for ${seconds} s`);
      this.#req.onAbort(error);
      if (this.#res !== null && !this.#res.headersSent) {
        this.#refuse(error);
        return;
      }
    }
    this.socket.destroy();
  }

  /** Closes the connection now if it is idle, else after the response in progress (shutdown). */
  closeIdle(): void {
    if (!this.idle) return;
    // The last response may still be held for the end of this turn (turn-writes.ts): end() sends it.
    this.socket.end();
    this.socket.destroy();
  }

  // Socket events -----------------------------------------------------------------------------

  #onData = (chunk: Buffer): void => {
    if (this.#closed) return;
    if ((this.#req !== null && this.#req.complete) || this.#awaitingDrain) {
      // A pipelined request while the response before it is in progress: hold it.
      this.#held = this.#held === null ? chunk : Buffer.concat([this.#held, chunk]);
      if (this.#held.length > HOLD_LIMIT) this.socket.pause();
      return;
    }
    this.#feed(chunk);
  };

  /** A read from the shared buffer (a copy of its own): after detach(), it goes to the socket's new reader. */
  #onRead = (chunk: Buffer): boolean => {
    if (this.#detached) return this.socket.push(chunk);
    this.#onData(chunk);
    return true;
  };

  #onEnd = (): void => {
    // The client will send nothing more. As with node:http, that ends the connection: an exchange
    // in progress is aborted (its upstream request cancelled: a client's ^C, an SDK timeout or a
    // closed tab usually arrive as a FIN, not a reset), and held pipelined requests are dropped.
    if (this.#req === null && this.#held === null && !this.#awaitingDrain) this.#close();
    else this.socket.destroy();
  };

  #onClose = (): void => {
    this.#closed = true;
    this.deadline = 0;
    const req = this.#req;
    const res = this.#res;
    this.#req = null;
    this.#res = null;
    this.#held = null;
    if (req !== null && !req.complete) req.onAbort(new ClientGoneError('client closed the connection'));
    if (res !== null && !res.finished) {
      const onClose = res.onClose;
      res.onClose = null;
      onClose?.();
    }
    this.#server.remove(this);
  };

  #onDrain = (): void => {
    if (this.#awaitingDrain) {
      this.#awaitingDrain = false;
      if (this.#server.closing) {
        this.#req = null;
        this.#close();
        return;
      }
      this.socket.resume();
      this.#next();
      return;
    }
    this.#res?.onDrain?.();
  };

  // Parsing -----------------------------------------------------------------------------------

  /** Parses `chunk`, and any pipelined requests in it whose turn comes while it is parsed. */
  #feed(chunk: Buffer): void {
    let at = 0;
    try {
      while (at < chunk.length && !this.#closed) {
        // The head's time starts with its first byte, once: bytes that do not advance the head
        // (empty lines) do not buy more time.
        if (this.#req === null && this.#deadlineKind !== 'headers') this.#setDeadline('headers', this.#server.headersTimeoutMs);
        at = this.#parser.execute(chunk, at);
        if (at < chunk.length && this.#req !== null) {
          // The request ended inside the chunk and its response is still in progress.
          this.#held = chunk.subarray(at);
          if (this.#held.length > HOLD_LIMIT) this.socket.pause();
          break;
        }
        if (this.#parser.done) this.#parser.reset();
      }
    } catch (err) {
      this.#protocolError(err);
    }
    // A request answered inside this feed may have left a partial next head behind the idle deadline.
    if (this.#req === null && !this.#closed && !this.#parser.idle && this.#deadlineKind !== 'headers') {
      this.#setDeadline('headers', this.#server.headersTimeoutMs);
    }
  }

  onHead(head: RequestHead): void {
    this.#setDeadline('none', 0);
    const server = this.#server;
    if (head.upgrade) {
      const refusal = server.upgradeRefusal();
      if (refusal !== undefined) {
        this.#refuse(refusal);
        return;
      }
    }
    const req = new IncomingRequest(head, this.#remoteAddress, this);
    const res = new OutgoingResponse(this, {
      // After an upgrade request that was not switched, the client may already have sent bytes of
      // the other protocol: the connection cannot carry another request.
      keepAlive: head.keepAlive && !server.closing && !head.upgrade,
      headRequest: head.method === 'HEAD',
      http10: head.http10,
    });
    this.#req = req;
    this.#res = res;
    // The body's bytes may not stall for longer than a head may take (slow-body clients).
    if (req.hasBody) this.#setDeadline('body', server.headersTimeoutMs);
    try {
      server.handle(req, res);
    } catch (err) {
      this.#handlerFailed(err);
      return;
    }
    // `Expect: 100-continue`: the client waits to send its body until told to. The pipeline decides
    // whether it refuses the request (404, 403, 413 …) before it returns, or holds the 100 until it
    // has (IncomingRequest.holdContinue); only a request it accepted gets the 100, so a refused
    // client never uploads a body for nothing.
    this.#continueDue = head.expectContinue && req.hasBody && !head.http10;
    if (!req.continueHeld) this.sendContinue();
  }

  sendContinue(): void {
    if (!this.#continueDue) return;
    this.#continueDue = false;
    if (this.#res !== null && !this.#res.headersSent && !this.socket.destroyed) this.socket.write(CONTINUE, 'latin1');
  }

  /** A bug in the handler, not the client's fault: report it, answer 500 (or cut a started response). */
  #handlerFailed(err: unknown): void {
    this.#server.reportError(err);
    if (this.#res !== null && this.#res.headersSent) this.socket.destroy();
    else this.#refuse(new GatewayError('internal_error', 'The gateway failed to handle this request; the failure is in its log'));
  }

  onBody(chunk: Buffer): void {
    if (this.#deadlineKind === 'body' && this.deadline !== 0) this.deadline = this.#server.deadline(this.#server.headersTimeoutMs);
    this.#req?.onBody(chunk);
  }

  onEnd(): void {
    const req = this.#req;
    if (req === null) return;
    if (this.#deadlineKind === 'body') this.#setDeadline('none', 0);
    // The body's consumer (the pipeline's readAll callback) runs here, inside the parser: what it
    // throws is the gateway's failure, not a malformed request.
    try {
      req.onEnd();
    } catch (err) {
      this.#handlerFailed(err);
    }
  }

  /** What the parser threw: a malformed request (the client's fault), or anything else (ours). */
  #protocolError(err: unknown): void {
    if (!(err instanceof RequestParseError)) {
      this.#handlerFailed(err);
      return;
    }
    const req = this.#req;
    if (req !== null) {
      // Broken framing inside a body: that request is lost, and so is the connection.
      req.onAbort(err);
      this.#held = null;
      if (this.#res !== null && this.#res.headersSent) {
        this.socket.destroy();
        return;
      }
    }
    this.#refuse(new GatewayError(err.code, err.message));
  }

  /** Answers `error` outside any exchange (malformed request, timeout) and closes the connection. */
  #refuse(error: GatewayError): void {
    // An exchange in progress loses its response to this error: whatever it started upstream is cancelled.
    const onClose = this.#res?.onClose;
    if (this.#res !== null) this.#res.onClose = null;
    this.#req = null;
    this.#res = null;
    this.#held = null;
    this.#closed = true;
    onClose?.();
    const body = toOpenAIErrorBody(error);
    this.#server.counters.countResponse(error.status);
    this.socket.end(
      `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? 'Error'}\r\ncontent-type: application/json; charset=utf-8\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\ndate: ${this.#server.date}\r\nconnection: close\r\n\r\n${body}`,
    );
    this.#linger();
  }

  /** Hands the socket over after a protocol switch (IncomingRequest.detach). */
  detach(): DetachedSocket {
    const socket = this.socket;
    socket.off('data', this.#onData);
    socket.off('end', this.#onEnd);
    socket.off('close', this.#onClose);
    socket.off('drain', this.#onDrain);
    this.#closed = true;
    this.#detached = true;
    this.deadline = 0;
    this.#deadlineKind = 'none';
    const head = this.#held ?? EMPTY;
    this.#held = null;
    this.#req = null;
    this.#res = null;
    this.#server.detached(this);
    return { socket, head };
  }

  // Exchange end ------------------------------------------------------------------------------

  responseEnded(res: OutgoingResponse): void {
    if (res !== this.#res) return;
    this.#res = null;
    const req = this.#req;
    // The head promised a close, or the body was not read to its end (its framing cannot be trusted
    // to find the next request).
    if (!res.keepAlive || this.#server.closing || (req !== null && !req.complete)) {
      this.#req = null;
      this.#close();
      return;
    }
    if (this.socket.writableNeedDrain) {
      // The client is not reading what it asked for: read no further requests until it does
      // (pipelined requests answered at once would otherwise buffer without bound).
      this.#awaitingDrain = true;
      this.socket.pause();
      // A client that never reads what it asked for is let go like an idle one.
      this.#setDeadline('idle', this.#server.keepAliveTimeoutMs);
      return;
    }
    this.#next();
  }

  /** The exchange is over and the connection stays: go on with held bytes, or wait idle. */
  #next(): void {
    this.#req = null;
    this.#parser.reset();
    // A streamed body the handler stopped reading may have left the socket paused.
    this.resumeBody();
    const held = this.#held;
    this.#held = null;
    if (held === null) {
      this.#setDeadline('idle', this.#server.keepAliveTimeoutMs);
      return;
    }
    // The next request has begun: its head's time runs from now. Held bytes exist only while a
    // response was in progress outside #feed, so this never nests more than one level: a response
    // ending inside the feed below finds #held empty.
    this.#setDeadline('headers', this.#server.headersTimeoutMs);
    this.socket.resume();
    this.#feed(held);
  }

  /** Ends the connection after what was written; a client still sending gets `LINGER_MS`. */
  #close(): void {
    this.#closed = true;
    this.socket.end();
    this.#linger();
  }

  #linger(): void {
    this.socket.resume();
    this.#setDeadline('linger', LINGER_MS);
  }

  #setDeadline(kind: DeadlineKind, ms: number): void {
    this.#deadlineKind = kind;
    this.deadline = this.#server.deadline(ms);
  }

  // BodySource --------------------------------------------------------------------------------

  pauseBody(): void {
    if (this.#bodyPaused) return;
    this.#bodyPaused = true;
    this.socket.pause();
    // The gateway stopped reading (its upstream is slower): the client is not stalling.
    if (this.#deadlineKind === 'body') this.deadline = 0;
  }

  resumeBody(): void {
    if (!this.#bodyPaused) return;
    this.#bodyPaused = false;
    this.socket.resume();
    if (this.#deadlineKind === 'body') this.deadline = this.#server.deadline(this.#server.headersTimeoutMs);
  }
}

function noop(): void {}
