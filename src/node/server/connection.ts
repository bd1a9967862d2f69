/**
 * One client connection of the gateway's server: socket bytes → request parser → one exchange at a
 * time → next request. Pipelined requests wait (socket paused) until the response before them has
 * ended. Keep-alive follows the request (`Connection`, HTTP version) and the response; a response
 * that ends before its request body was read closes the connection rather than guess at framing.
 *
 * Timeouts are deadlines checked by the server's one coarse timer: the request head must arrive
 * within `headersTimeoutMs` of its first byte (else 408), and an idle keep-alive connection is
 * closed after `keepAliveTimeoutMs`. A request in progress has no server-side timeout: the
 * upstream's timeouts bound it.
 */
import type { Socket } from 'node:net';
import { GatewayError, toOpenAIErrorBody, type ErrorCode } from '../../core/errors.js';
import { RequestParseError, RequestParser, type RequestHead, type RequestSink } from '../h1/request-parser.js';
import { IncomingRequest, type BodySource } from './incoming-request.js';
import { OutgoingResponse, type ResponseOwner } from './outgoing-response.js';

/** What a connection needs of its server. */
export interface ConnectionServer {
  /** Coarse clock (ms). */
  readonly now: number;
  readonly date: string;
  readonly keepAliveLine: string;
  readonly headersTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  /** The server is shutting down: no connection is kept alive. */
  readonly closing: boolean;
  handle(req: IncomingRequest, res: OutgoingResponse): void;
  /** A protocol upgrade (WebSocket) was asked for; the server answers it on the socket. */
  upgrade(socket: Socket): void;
  remove(connection: ServerConnection): void;
}

const CONTINUE = 'HTTP/1.1 100 Continue\r\n\r\n';
/** Bytes of pipelined requests held while a response is in progress before the socket is paused. */
const HOLD_LIMIT = 64 * 1024;
/** How long a connection being closed may take to say goodbye (client still sending). */
const LINGER_MS = 5_000;

class ClientGoneError extends Error {
  override readonly name = 'ClientGoneError';
  readonly code = 'AIFWD_CLIENT_GONE';
}

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
  #closed = false;
  /** Absolute time (server clock, ms) of the current deadline; 0 = none. */
  deadline = 0;
  #deadlineKind: 'headers' | 'idle' | 'linger' = 'idle';

  constructor(socket: Socket, server: ConnectionServer) {
    this.socket = socket;
    this.#server = server;
    this.#parser = new RequestParser(this);
    this.#remoteAddress = socket.remoteAddress ?? '';
    socket.on('data', this.#onData);
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

  /** No exchange in progress and nothing of the next request seen. */
  get idle(): boolean {
    return this.#req === null && this.#held === null && this.#parser.idle;
  }

  /** Called by the server's timer when `deadline` has passed. */
  timeout(): void {
    this.deadline = 0;
    if (this.#deadlineKind === 'headers' && !this.#parser.idle) {
      this.#refuse(new GatewayError('request_timeout', `Request headers did not arrive within ${this.#server.headersTimeoutMs / 1000} s`));
      return;
    }
    this.socket.destroy();
  }

  /** Closes the connection now if it is idle, else after the response in progress (shutdown). */
  closeIdle(): void {
    if (this.idle) this.socket.destroy();
  }

  // Socket events -----------------------------------------------------------------------------

  #onData = (chunk: Buffer): void => {
    if (this.#closed) return;
    if (this.#req !== null && this.#req.complete) {
      // A pipelined request while the response before it is in progress: hold it.
      this.#held = this.#held === null ? chunk : Buffer.concat([this.#held, chunk]);
      if (this.#held.length > HOLD_LIMIT) this.socket.pause();
      return;
    }
    this.#feed(chunk);
  };

  #onEnd = (): void => {
    // The client will send nothing more. A request still arriving is broken; one being answered
    // gets its response, then the connection closes; otherwise close now.
    const req = this.#req;
    if (req !== null && !req.complete) {
      this.#abortRequest(new ClientGoneError('client closed the connection before the request body ended'));
      this.socket.destroy();
    } else if (req === null) {
      this.socket.end();
    } else if (this.#res !== null) {
      this.#res.keepAlive = false;
    }
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
    this.#res?.onDrain?.();
  };

  // Parsing -----------------------------------------------------------------------------------

  /** Parses `chunk`, and any pipelined requests in it whose turn comes while it is parsed. */
  #feed(chunk: Buffer): void {
    let at = 0;
    try {
      while (at < chunk.length && !this.#closed) {
        if (this.#req === null && this.#parser.idle) this.#setDeadline('headers', this.#server.headersTimeoutMs);
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
  }

  onHead(head: RequestHead): void {
    this.deadline = 0;
    const server = this.#server;
    if (head.upgrade) {
      this.#closed = true;
      this.#detach();
      server.upgrade(this.socket);
      return;
    }
    const req = new IncomingRequest(head, this.#remoteAddress, this);
    const res = new OutgoingResponse(this, {
      keepAlive: head.keepAlive && !server.closing,
      headRequest: head.method === 'HEAD',
      http10: head.http10,
    });
    this.#req = req;
    this.#res = res;
    if (head.expectContinue && req.hasBody && !head.http10) this.socket.write(CONTINUE, 'latin1');
    server.handle(req, res);
  }

  onBody(chunk: Buffer): void {
    this.#req?.onBody(chunk);
  }

  onEnd(): void {
    this.#req?.onEnd();
  }

  #protocolError(err: unknown): void {
    const req = this.#req;
    if (req !== null) {
      // Broken framing inside a body: that request is lost, and so is the connection.
      req.onAbort(err instanceof Error ? err : new Error(String(err)));
      this.#held = null;
      if (this.#res !== null && this.#res.headersSent) {
        this.socket.destroy();
        return;
      }
    }
    const code: ErrorCode = err instanceof RequestParseError ? err.code : 'malformed_request';
    const message = err instanceof Error ? err.message : 'Malformed request';
    this.#refuse(new GatewayError(code, message));
  }

  /** Answers `error` outside any exchange (malformed request, timeout) and closes the connection. */
  #refuse(error: GatewayError): void {
    const res = this.#res;
    if (res !== null) res.onClose = null;
    this.#req = null;
    this.#res = null;
    this.#held = null;
    this.#closed = true;
    const body = toOpenAIErrorBody(error);
    this.socket.end(
      `HTTP/1.1 ${error.status} ${error.code}\r\ncontent-type: application/json; charset=utf-8\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\ndate: ${this.#server.date}\r\nconnection: close\r\n\r\n${body}`,
    );
    this.#linger();
  }

  // Exchange end ------------------------------------------------------------------------------

  responseEnded(res: OutgoingResponse): void {
    if (res !== this.#res) return;
    this.#res = null;
    const req = this.#req;
    if (!res.keepAlive || this.#server.closing) {
      this.#req = null;
      this.#close();
      return;
    }
    if (req !== null && !req.complete) {
      // Keep reading (and dropping) the body only when it is on its way; else close.
      this.#req = null;
      this.#close();
      return;
    }
    this.#next();
  }

  /** The exchange is over and the connection stays: go on with held bytes, or wait idle. */
  #next(): void {
    this.#req = null;
    this.#parser.reset();
    const held = this.#held;
    this.#held = null;
    if (held === null) {
      this.#setDeadline('idle', this.#server.keepAliveTimeoutMs);
      return;
    }
    // Held bytes exist only while a response was in progress outside #feed, so this never nests
    // more than one level: a response ending inside the feed below finds #held empty.
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

  #abortRequest(err: Error): void {
    this.#req?.onAbort(err);
  }

  #detach(): void {
    this.socket.off('data', this.#onData);
    this.socket.off('end', this.#onEnd);
    this.socket.off('close', this.#onClose);
    this.socket.off('drain', this.#onDrain);
    this.#server.remove(this);
  }

  #setDeadline(kind: 'headers' | 'idle' | 'linger', ms: number): void {
    this.#deadlineKind = kind;
    this.deadline = ms > 0 ? this.#server.now + ms : 0;
  }

  // BodySource --------------------------------------------------------------------------------

  pauseBody(): void {
    if (this.#bodyPaused) return;
    this.#bodyPaused = true;
    this.socket.pause();
  }

  resumeBody(): void {
    if (!this.#bodyPaused) return;
    this.#bodyPaused = false;
    this.socket.resume();
  }
}

function noop(): void {}
