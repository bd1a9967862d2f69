/**
 * The response to one request, written straight to the client's socket. The head is built once
 * from a flat header list and goes out together with the first body bytes in a single write (a
 * non-stream reply is one system call; under load, made when the event-loop turn ends, with the
 * turn's other messages: turn-writes.ts); chunked framing, when the body's length is unknown, is
 * added in the same buffer. Framing follows RFC 9112 §6: no body for HEAD, 1xx, 204 and 304; a
 * Content-Length from the headers is kept; otherwise chunked for HTTP/1.1 clients and
 * close-delimited for HTTP/1.0.
 */
import { Buffer } from 'node:buffer';
import process from 'node:process';
import type { GatewayCounters } from '../../core/counters.js';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { isSafeFieldValue, isTokenString } from '../h1/syntax.js';
import { turnWrites } from '../turn-writes.js';

/** What a response needs of its connection. */
export interface ResponseOwner {
  readonly socket: Socket;
  /** The cached `Date` value (IMF-fixdate), refreshed by the server's clock. */
  readonly date: string;
  /** `keep-alive: timeout=N` line for responses that keep the connection. */
  readonly keepAliveLine: string;
  /** Responses counted by status (metrics). */
  readonly counters: GatewayCounters;
  /**
   * The connection closes after this response whatever it says: the server is shutting down, the
   * client sent its last request, or the request body has not been read to its end.
   */
  readonly closeAfterResponse: boolean;
  /** The response has ended (every byte handed to the socket). */
  responseEnded(res: OutgoingResponse): void;
}

/** Bodies up to this size are copied next to the head or chunk framing into one buffer, one write. */
const COPY_LIMIT = 16 * 1024;
const CRLF = '\r\n';
const LAST_CHUNK = '0\r\n\r\n';

function uncork(socket: Socket): void {
  socket.uncork();
}

function bodyless(status: number, head: boolean): boolean {
  return head || status === 204 || status === 304 || (status >= 100 && status < 200);
}

/** A header value with a control character (CR, LF, NUL…) that would break the head: Node refuses these too. */
export class InvalidHeaderError extends Error {
  override readonly name = 'InvalidHeaderError';
  readonly code = 'ERR_INVALID_CHAR';
}


export class OutgoingResponse {
  statusCode = 200;
  /** The head has been built (and is on the wire or goes out with the first body bytes). */
  headersSent = false;
  /** `end()` was called. */
  finished = false;
  /** Whether the connection carries another request after this one; may be cleared before `writeHead`. */
  keepAlive: boolean;
  /** Called once when the client goes away before the response ended. */
  onClose: (() => void) | null = null;
  /** Called when the socket drained after `write` returned false. */
  onDrain: (() => void) | null = null;
  readonly #owner: ResponseOwner;
  readonly #socket: Socket;
  readonly #headRequest: boolean;
  readonly #http10: boolean;
  #pendingHead: string | null = null;
  #bodyless = false;
  #chunked = false;
  /** The body ends where the connection does (an HTTP/1.0 client, no Content-Length). */
  #closeDelimited = false;
  /** `flushHeaders()` was called: a stream, whose writes are coalesced per event-loop turn. */
  #streaming = false;

  constructor(owner: ResponseOwner, options: { keepAlive: boolean; headRequest: boolean; http10: boolean }) {
    this.#owner = owner;
    this.#socket = owner.socket;
    this.keepAlive = options.keepAlive;
    this.#headRequest = options.headRequest;
    this.#http10 = options.http10;
  }

  get destroyed(): boolean {
    return this.#socket.destroyed;
  }

  /**
   * Builds the head from `headers` (`[name, value, …]`, names lower-case). Nothing is written yet:
   * the head goes out with the first body bytes, at `flushHeaders()`, or at `end()` (and is counted
   * for the metrics then).
   * Throws {@link InvalidHeaderError} for a name that is not a token, or a value with a control
   * character (CR, LF, NUL…) or a character beyond latin1 (its low byte could be CR or LF).
   */
  writeHead(status: number, headers: readonly string[]): void {
    let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
    let hasLength = false;
    let hasDate = false;
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i];
      const value = headers[i + 1];
      if (!isTokenString(name)) throw new InvalidHeaderError(`invalid header name ${JSON.stringify(name.slice(0, 40))}`);
      if (!isSafeFieldValue(value)) throw new InvalidHeaderError(`invalid character in the value of header "${name}"`);
      if (name === 'content-length') hasLength = true;
      else if (name === 'date') hasDate = true;
      head += `${name}: ${value}\r\n`;
    }
    if (!hasDate) head += `date: ${this.#owner.date}\r\n`;
    if (this.#owner.closeAfterResponse) this.keepAlive = false;
    this.#bodyless = bodyless(status, this.#headRequest);
    // Framing is this head's own (a head taken back, retractHead, may have chosen another).
    this.#chunked = false;
    this.#closeDelimited = false;
    if (!this.#bodyless && !hasLength) {
      if (this.#http10) {
        this.keepAlive = false;
        this.#closeDelimited = true;
      } else {
        this.#chunked = true;
        head += 'transfer-encoding: chunked\r\n';
      }
    }
    if (!this.keepAlive) head += 'connection: close\r\n\r\n';
    else head += `connection: keep-alive\r\n${this.#owner.keepAliveLine}\r\n`;
    this.statusCode = status;
    this.headersSent = true;
    this.#pendingHead = head;
  }

  /**
   * Puts the head on the wire in this event-loop turn, with whatever body bytes the turn writes (an
   * event stream: the client sees the status at once, not when the first event comes).
   */
  flushHeaders(): void {
    this.#streaming = true;
    if (!this.headersSent) this.writeHead(this.statusCode, []);
    if (this.#pendingHead !== null) this.#out(null, false);
  }

  /** Writes body bytes; false means the client's socket is full: wait for `onDrain`. */
  write(chunk: Buffer): boolean {
    if (this.finished) return true;
    if (!this.headersSent) this.writeHead(this.statusCode, []);
    if (this.#bodyless || chunk.length === 0) return true;
    return this.#out(chunk, false);
  }

  /** Ends the response, optionally with a last piece of body. */
  end(chunk?: Buffer | string): void {
    if (this.finished) return;
    if (!this.headersSent) this.writeHead(this.statusCode, []);
    this.finished = true;
    const data = chunk === undefined || this.#bodyless ? null : typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (this.#pendingHead !== null || this.#chunked || (data !== null && data.length > 0)) this.#out(data, true);
    this.#owner.responseEnded(this);
  }

  /**
   * Cuts the connection (a response that failed after it started must not look complete). A body
   * that the connection's end delimits would read as whole after a FIN — to an HTTP/1.0 client, and
   * to an nginx in front, whose `proxy_http_version` is 1.0 by default — so that connection is reset
   * instead. (Over TLS, where Node cannot reset, the missing close_notify is what tells.)
   */
  destroy(): void {
    this.finished = true;
    const socket = this.#socket;
    if (this.#closeDelimited && this.#pendingHead === null && !socket.destroyed) {
      try {
        socket.resetAndDestroy();
        return;
      } catch {
        // A TLS socket (ERR_INVALID_HANDLE_TYPE): a plain destroy below.
      }
    }
    socket.destroy();
  }

  /**
   * Takes back a head that has not reached the wire (it waits for the first body bytes, see
   * {@link writeHead}), so the request can still be answered with an error: true when it did,
   * false once the head was written (then only {@link destroy} is left).
   */
  retractHead(): boolean {
    if (this.#pendingHead === null || this.finished) return false;
    this.#pendingHead = null;
    this.headersSent = false;
    this.statusCode = 200;
    return true;
  }

  /** One write of head (if pending), chunk framing and `data`; a large `data` goes as a corked writev instead of a copy. */
  #out(data: Buffer | null, last: boolean): boolean {
    const socket = this.#socket;
    const head = this.#pendingHead;
    this.#pendingHead = null;
    if (socket.destroyed || socket.writableEnded) return true;
    // Counted as it goes on the wire, so a head taken back is never counted (counters only grow).
    if (head !== null) this.#owner.counters.countResponse(this.statusCode);
    if (head !== null && !this.#streaming) {
      // A reply's head, mostly with all of its body: in a busy turn it leaves with the turn's other
      // messages (turn-writes.ts).
      turnWrites.hold(socket);
    } else if (!socket.writableCorked) {
      // A stream, or body bytes after the head: the writes of one callback — often many SSE events
      // from one upstream read — leave in one writev when it is done, as node:http does. Not held
      // for the end of the turn: measured by hand, that gained nothing clear for streams (two
      // builds loaded at once: 0.88–1.14x the responses, the wrk and upstream on the other core
      // being the limit), and each event would wait for the turn's other work.
      socket.cork();
      process.nextTick(uncork, socket);
    }
    const dataLength = data === null ? 0 : data.length;
    const framed = this.#chunked && dataLength > 0;
    const sizeLine = framed ? `${dataLength.toString(16)}\r\n` : '';
    const tail = (framed ? CRLF : '') + (last && this.#chunked ? LAST_CHUNK : '');
    if (head === null && sizeLine === '' && tail === '') return socket.write(data!);
    if (dataLength === 0 && sizeLine === '' && tail === '') return socket.write(head!, 'latin1');
    if (dataLength > COPY_LIMIT) {
      socket.cork();
      if (head !== null) socket.write(head, 'latin1');
      if (sizeLine !== '') socket.write(sizeLine, 'latin1');
      let ok = socket.write(data!);
      if (tail !== '') ok = socket.write(tail, 'latin1');
      socket.uncork();
      return ok;
    }
    const headLength = head === null ? 0 : head.length;
    const buf = Buffer.allocUnsafe(headLength + sizeLine.length + dataLength + tail.length);
    let at = 0;
    if (head !== null) at += buf.write(head, 0, 'latin1');
    if (sizeLine !== '') at += buf.write(sizeLine, at, 'latin1');
    if (data !== null) at += data.copy(buf, at);
    if (tail !== '') buf.write(tail, at, 'latin1');
    return socket.write(buf);
  }
}
