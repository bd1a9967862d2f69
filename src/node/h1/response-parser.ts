/**
 * Incremental HTTP/1.1 response parser (RFC 9112), pure: Buffers in, callbacks out, no sockets.
 * The head is parsed once it is complete (it almost always arrives in one read); the body goes
 * through the shared framing (body-framing.ts). Framing follows RFC 9112 §6.3: no body for HEAD,
 * 1xx, 204 and 304; `Transfer-Encoding: chunked` wins over `Content-Length`; a response with
 * neither ends when the connection closes. Strict where it matters for a proxy: one consistent
 * Content-Length of digits only, no control characters in header values (they would reach the
 * client), bounded head size.
 */

import { Buffer } from 'node:buffer';
import { decimalLength } from '../../core/headers.js';
import { MessageParser } from './message-parser.js';
import { fieldValue, isToken } from './syntax.js';

export interface ResponseHead {
  status: number;
  statusText: string;
  /** `[name, value, …]`, names lower-cased, values as sent (latin1). */
  headers: string[];
  /** The connection may carry another request after this response. */
  keepAlive: boolean;
  /** Seconds from `Keep-Alive: timeout=N`, or -1. */
  keepAliveHint: number;
}

export interface ResponseSink {
  onHead(head: ResponseHead): void;
  onBody(chunk: Buffer): void;
  onEnd(): void;
}

export class ResponseParseError extends Error {
  override readonly name = 'ResponseParseError';
  readonly code = 'UPSTREAM_PROTOCOL_ERROR';
}

const MAX_HEAD_BYTES = 64 * 1024;
/** The decimal digit at `index`, or NaN. */
function digit(text: string, index: number): number {
  const c = text.charCodeAt(index) - 48;
  return c >= 0 && c <= 9 ? c : Number.NaN;
}

const headTooLarge = (): Error => new ResponseParseError('response head too large');
const failFraming = (reason: string): Error => new ResponseParseError(reason);

export class ResponseParser extends MessageParser {
  readonly #sink: ResponseSink;
  #noBody = false;
  #keepAlive = true;
  /** The request asked to switch protocols: a 101 ends the HTTP exchange instead of being refused. */
  #upgrade = false;

  constructor(sink: ResponseSink) {
    super({ sink, fail: failFraming, strictFraming: false, maxHeadBytes: MAX_HEAD_BYTES, headTooLarge });
    this.#sink = sink;
    this.inHead = false;
  }

  /**
   * Starts a new response; `method` tells whether a body may follow, `upgrade` that the request
   * asked to switch protocols (then a 101 is the final head and `execute` stops right after it).
   */
  reset(method: string, upgrade = false): void {
    this.inHead = true;
    this.body.stop();
    this.#noBody = method === 'HEAD';
    this.#upgrade = upgrade;
    this.reader.reset();
    this.#keepAlive = true;
  }

  /** The response has begun (a byte of it was seen). */
  get started(): boolean {
    return !this.inHead || this.reader.pending;
  }

  get keepAlive(): boolean {
    return this.#keepAlive;
  }

  /** For a body delimited by the connection's end: true when that end completes the response. */
  endOfInput(): boolean {
    return !this.inHead && this.body.endOfInput();
  }

  protected override parseHead(text: string): void {
    // Control characters in header values are refused where they would matter, when the head is
    // written to the client (server/outgoing-response.ts): one check, not two.
    const statusEnd = text.indexOf('\r\n');
    const statusLine = statusEnd === -1 ? text : text.slice(0, statusEnd);
    const http10 = statusLine.startsWith('HTTP/1.0 ');
    const status = digit(statusLine, 9) * 100 + digit(statusLine, 10) * 10 + digit(statusLine, 11);
    if (!(http10 || statusLine.startsWith('HTTP/1.1 ')) || !(status >= 100) || (statusLine.length > 12 && statusLine.charCodeAt(12) !== 32)) {
      throw new ResponseParseError(`invalid status line "${statusLine.slice(0, 40)}"`);
    }
    const headers: string[] = [];
    let contentLength = -1;
    let chunked = false;
    let otherEncoding = false;
    let keepAlive = !http10;
    let keepAliveHint = -1;
    let closeSeen = false;
    for (let at = statusEnd === -1 ? text.length : statusEnd + 2; at < text.length; ) {
      let eol = text.indexOf('\r\n', at);
      if (eol === -1) eol = text.length;
      const colon = text.indexOf(':', at);
      if (colon === -1 || colon > eol || !isToken(text, at, colon)) {
        throw new ResponseParseError(`invalid header line "${text.slice(at, Math.min(eol, at + 40))}"`);
      }
      const name = text.slice(at, colon).toLowerCase();
      const value = fieldValue(text, colon + 1, eol);
      at = eol + 2;
      headers.push(name, value);
      switch (name) {
        case 'content-length': {
          const n = decimalLength(value);
          if (n === -1) throw new ResponseParseError(`invalid content-length "${value.slice(0, 20)}"`);
          if (contentLength !== -1 && contentLength !== n) throw new ResponseParseError('conflicting content-length headers');
          contentLength = n;
          break;
        }
        case 'transfer-encoding': {
          // Only a final `chunked` coding frames the body; anything else is read until close.
          const codings = value.toLowerCase();
          chunked = codings.slice(codings.lastIndexOf(',') + 1).trim() === 'chunked';
          otherEncoding = !chunked;
          break;
        }
        case 'connection': {
          const tokens = value.toLowerCase();
          if (tokens.includes('close')) {
            keepAlive = false;
            closeSeen = true;
          } else if (tokens.includes('keep-alive') && !closeSeen) keepAlive = true;
          break;
        }
        case 'keep-alive': {
          const match = /timeout=\s*(\d+)/i.exec(value);
          if (match !== null) keepAliveHint = Number(match[1]);
          break;
        }
      }
    }
    if (status === 101 && this.#upgrade) {
      // Switching protocols: the head ends the HTTP exchange; the bytes after it are the new protocol's.
      this.#keepAlive = false;
      this.inHead = false;
      this.body.stop();
      this.#sink.onHead({ status, statusText: statusLine.slice(13), headers, keepAlive: false, keepAliveHint: -1 });
      this.#sink.onEnd();
      return;
    }
    if (status < 200) {
      // Interim response (100 Continue, 103 Early Hints): skipped; the real head follows.
      if (status === 101) throw new ResponseParseError('protocol upgrades are not supported');
      return; // still in the head
    }
    // Both framing headers: chunked wins, and the connection is not trusted again (RFC 9112 §6.3).
    if (chunked && contentLength !== -1) keepAlive = false;
    this.#keepAlive = keepAlive;
    this.inHead = false;
    this.#sink.onHead({ status, statusText: statusLine.slice(13), headers, keepAlive, keepAliveHint });
    const body = this.body;
    if (this.#noBody || status === 204 || status === 304) {
      body.stop();
      this.#sink.onEnd();
    } else if (chunked) {
      body.startChunked();
    } else if (otherEncoding || contentLength === -1) {
      this.#keepAlive = false;
      body.startUntilClose();
    } else {
      body.startLength(contentLength);
    }
  }
}
