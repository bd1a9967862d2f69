/**
 * Incremental HTTP/1.1 request parser (RFC 9112) for the gateway's own server, pure: Buffers in,
 * callbacks out, no sockets. It parses one message and stops at its end, so the connection decides
 * when the next pipelined request may start (after the current response).
 *
 * Strict where a proxy in front of another server must be (request smuggling, RFC 9112 §6.3 and
 * §11.2): Content-Length is digits only and appears once; Transfer-Encoding with Content-Length,
 * on HTTP/1.0, or not ending in `chunked` is refused; HTTP/1.1 needs exactly one Host; header
 * names are tokens with the colon right after them; obsolete line folding and control characters
 * are refused. Up to 16 KB of head (Node's own limit), else 431.
 */
import { Buffer } from 'node:buffer';
import { decimalLength } from '../../core/headers.js';
import type { BodySink } from './body-framing.js';
import { MessageParser } from './message-parser.js';
import { fieldValue, hasControlChar, isToken, isValidTarget, trimOws } from './syntax.js';

export interface RequestHead {
  method: string;
  /** The request target as sent (the router decides what is acceptable). */
  target: string;
  http10: boolean;
  /** `[name, value, …]`, names lower-cased, values trimmed (latin1). */
  headers: string[];
  /** The client allows the connection to carry another request after this one. */
  keepAlive: boolean;
  /** Declared Content-Length, or -1. */
  contentLength: number;
  chunked: boolean;
  /** `Expect: 100-continue`. */
  expectContinue: boolean;
  /** A WebSocket upgrade was asked for (`Connection: upgrade` with `Upgrade: websocket`); other protocols offered are ignored. */
  upgrade: boolean;
}

/** `onHead`, then (only when the request has a body) `onBody`… and `onEnd`. */
export interface RequestSink extends BodySink {
  onHead(head: RequestHead): void;
}

/** What is wrong with a request, as the gateway's stable error codes (core/errors.ts). */
export type RequestParseErrorCode = 'malformed_request' | 'header_too_large' | 'transfer_coding_not_supported';

export class RequestParseError extends Error {
  override readonly name = 'RequestParseError';
  readonly code: RequestParseErrorCode;

  constructor(code: RequestParseErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

export const MAX_REQUEST_HEAD_BYTES = 16 * 1024;

const headTooLarge = (): RequestParseError =>
  new RequestParseError(
    'header_too_large',
    `Request line and headers are larger than ${MAX_REQUEST_HEAD_BYTES / 1024} KB; send fewer or smaller headers`,
  );

const failFraming = (reason: string): Error => new RequestParseError('malformed_request', `Malformed request body: ${reason}`);

function malformed(message: string): RequestParseError {
  return new RequestParseError('malformed_request', message);
}

/** A short, printable excerpt of client input for an error message. */
function excerpt(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}

/**
 * The message for a header line without a `name:` start. It names the line by what would be its
 * name, never by the rest: that may be a credential (`Authorization Bearer sk-…`).
 */
function malformedHeaderLine(line: string): string {
  const first = line.charCodeAt(0);
  if (first === 0x20 || first === 0x09) return 'Malformed header line: a line starting with a space (obsolete line folding) is not accepted';
  const nameEnd = line.search(/[\s:]/);
  const name = nameEnd === -1 ? line : line.slice(0, nameEnd);
  const shown = name.length > 0 && name.length <= 40 && /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name) ? ` starting ${JSON.stringify(name)}` : '';
  return `Malformed header line${shown}: expected "Name: value", with no space before the colon`;
}

export class RequestParser extends MessageParser {
  readonly #sink: RequestSink;

  constructor(sink: RequestSink) {
    super({ sink, fail: failFraming, strictFraming: true, maxHeadBytes: MAX_REQUEST_HEAD_BYTES, headTooLarge });
    this.#sink = sink;
  }

  /** Between messages with nothing of the next one seen yet. */
  get idle(): boolean {
    return this.inHead && !this.reader.pending;
  }

  /** Readies the parser for the next message on the connection. */
  reset(): void {
    this.inHead = true;
    this.reader.reset();
    this.body.stop();
  }

  protected override head(chunk: Buffer, at: number): number {
    if (!this.reader.pending) {
      // RFC 9112 §2.2: empty lines before a request line are ignored.
      while (at < chunk.length && (chunk[at] === 13 || chunk[at] === 10)) at++;
      if (at === chunk.length) return at;
    }
    return super.head(chunk, at);
  }

  protected override parseHead(text: string): void {
    let lineEnd = text.indexOf('\r\n');
    if (lineEnd === -1) lineEnd = text.length;
    const sp1 = text.indexOf(' ');
    const sp2 = sp1 === -1 ? -1 : text.indexOf(' ', sp1 + 1);
    if (sp1 === -1 || sp2 === -1 || sp2 > lineEnd || sp2 === sp1 + 1 || !isToken(text, 0, sp1)) {
      throw malformed(`Malformed request line ${excerpt(text.slice(0, lineEnd))}; expected "METHOD /path HTTP/1.1"`);
    }
    const target = text.slice(sp1 + 1, sp2);
    if (!isValidTarget(target)) throw malformed(`Malformed request target ${excerpt(target)}`);
    const version = text.slice(sp2 + 1, lineEnd);
    const http10 = version === 'HTTP/1.0';
    if (!http10 && version !== 'HTTP/1.1') {
      throw malformed(`Unsupported protocol version ${excerpt(version)}; send HTTP/1.1`);
    }

    const headers: string[] = [];
    let contentLength = -1;
    let transferEncoding: string | undefined;
    let hosts = 0;
    let connection = '';
    let expectContinue = false;
    let upgradeHeader = false;
    for (let at = lineEnd + 2; at < text.length; ) {
      let eol = text.indexOf('\r\n', at);
      if (eol === -1) eol = text.length;
      const colon = text.indexOf(':', at);
      if (colon === -1 || colon > eol || !isToken(text, at, colon)) {
        // Also catches obsolete line folding (a line starting with a space) and a space before the colon.
        throw malformed(malformedHeaderLine(text.slice(at, eol)));
      }
      const name = text.slice(at, colon).toLowerCase();
      const value = fieldValue(text, colon + 1, eol);
      if (hasControlChar(value)) throw malformed(`Header ${excerpt(name)} contains a control character`);
      at = eol + 2;
      headers.push(name, value);
      switch (name) {
        case 'host':
          hosts++;
          break;
        case 'content-length':
          if (contentLength !== -1) throw malformed('More than one Content-Length header; send exactly one');
          contentLength = decimalLength(value);
          if (contentLength === -1) throw malformed(`Invalid Content-Length ${excerpt(value)}; expected a number of bytes`);
          break;
        case 'transfer-encoding':
          transferEncoding = transferEncoding === undefined ? value : `${transferEncoding}, ${value}`;
          break;
        case 'connection':
          connection = connection === '' ? value.toLowerCase() : `${connection}, ${value.toLowerCase()}`;
          break;
        case 'expect':
          if (value.toLowerCase() === '100-continue') expectContinue = true;
          break;
        case 'upgrade':
          // Only WebSocket is switched to (server/connection.ts): any other protocol offered —
          // `h2c` from `curl --http2`, `TLS/1.2` — is ignored, as a server may (RFC 9110 §7.8), and
          // the request is answered in HTTP/1.1 (the Upgrade header is hop-by-hop: not forwarded).
          if (/(?:^|,)\s*websocket\s*(?:,|$)/i.test(value)) upgradeHeader = true;
          break;
      }
    }
    if (!http10 && hosts !== 1) {
      throw malformed(hosts === 0 ? 'Missing Host header (required by HTTP/1.1)' : 'More than one Host header; send exactly one');
    }
    let chunked = false;
    if (transferEncoding !== undefined) {
      if (http10) throw malformed('Transfer-Encoding is not allowed in an HTTP/1.0 request');
      if (contentLength !== -1) throw malformed('Both Transfer-Encoding and Content-Length were sent; send only one');
      const codings = transferEncoding.toLowerCase().split(',').map(trimOws);
      if (codings[codings.length - 1] !== 'chunked') {
        throw malformed(`Transfer-Encoding ${excerpt(transferEncoding)} does not end in "chunked", so the body has no length`);
      }
      if (codings.length > 1) {
        throw new RequestParseError(
          'transfer_coding_not_supported',
          `Transfer-Encoding ${excerpt(transferEncoding)} is not supported; send the body with "chunked" alone or with a Content-Length`,
        );
      }
      chunked = true;
    }
    const tokens = connection === '' ? [] : connection.split(',').map(trimOws);
    const close = tokens.includes('close');
    // The framing is set before the sink hears of the head, so `done` is already true for a request
    // without a body (the sink is told nothing more of it: no onEnd).
    this.inHead = false;
    if (chunked) this.body.startChunked();
    else if (contentLength > 0) this.body.startLength(contentLength);
    else this.body.stop();
    this.#sink.onHead({
      method: text.slice(0, sp1),
      target,
      http10,
      headers,
      keepAlive: !close && (!http10 || tokens.includes('keep-alive')),
      contentLength,
      chunked,
      expectContinue,
      // An upgrade is an HTTP/1.1 mechanism; an HTTP/1.0 request asking for one is ordinary (RFC 9110 §7.8).
      upgrade: !http10 && upgradeHeader && tokens.includes('upgrade'),
    });
  }
}
