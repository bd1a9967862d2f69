/**
 * Incremental HTTP/1.1 response parser (RFC 9112), pure: Buffers in, callbacks out, no sockets.
 * Body bytes are handed on as zero-copy slices of the input; the head is parsed once it is
 * complete (it almost always arrives in one read). Framing follows RFC 9112 §6.3: no body for HEAD,
 * 1xx, 204 and 304; `Transfer-Encoding: chunked` wins over `Content-Length`; a response with
 * neither ends when the connection closes. Strict where it matters for a proxy: one consistent
 * Content-Length of digits only, hex chunk sizes within 2^53, bounded head and trailer sizes.
 */

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

const enum State {
  Head,
  Length,
  ChunkSize,
  ChunkExt,
  ChunkData,
  ChunkDataCr,
  ChunkDataLf,
  Trailers,
  UntilClose,
  Done,
}

const MAX_HEAD_BYTES = 64 * 1024;
const MAX_TRAILER_BYTES = 16 * 1024;
/** RFC 9110 §5.6.2 token characters, by char code (a table beats a regex per header line). */
const TOKEN_CHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TOKEN_CHAR[c.charCodeAt(0)] = 1;

function isToken(text: string, start: number, end: number): boolean {
  if (end <= start) return false;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c >= 128 || TOKEN_CHAR[c] === 0) return false;
  }
  return true;
}
const CR = 13;
const LF = 10;

function hexValue(byte: number): number {
  if (byte >= 48 && byte <= 57) return byte - 48;
  if (byte >= 97 && byte <= 102) return byte - 87;
  if (byte >= 65 && byte <= 70) return byte - 55;
  return -1;
}

export class ResponseParser {
  readonly #sink: ResponseSink;
  #state = State.Done;
  #noBody = false;
  /** Head bytes of an incomplete head (rare: a head split across reads). */
  #pending: Buffer | null = null;
  #remaining = 0;
  #chunkDigits = 0;
  #trailerBytes = 0;
  #trailerLineEmpty = true;
  #keepAlive = true;

  constructor(sink: ResponseSink) {
    this.#sink = sink;
  }

  /** Starts a new response; `method` tells whether a body may follow. */
  reset(method: string): void {
    this.#state = State.Head;
    this.#noBody = method === 'HEAD';
    this.#pending = null;
    this.#keepAlive = true;
  }

  get done(): boolean {
    return this.#state === State.Done;
  }

  /** The response has begun (a byte of it was seen). */
  get started(): boolean {
    return this.#state !== State.Head || this.#pending !== null;
  }

  get keepAlive(): boolean {
    return this.#keepAlive;
  }

  /** For a body delimited by the connection's end: true when that end completes the response. */
  endOfInput(): boolean {
    if (this.#state !== State.UntilClose) return false;
    this.#state = State.Done;
    this.#sink.onEnd();
    return true;
  }

  /**
   * Feeds bytes; returns how many were consumed (fewer than given only when the response ended
   * inside the chunk). Throws {@link ResponseParseError} on a malformed response.
   */
  execute(chunk: Buffer): number {
    let at = 0;
    const length = chunk.length;
    while (at < length) {
      switch (this.#state) {
        case State.Head: {
          at = this.#head(chunk, at);
          break;
        }
        case State.Length: {
          at = this.#body(chunk, at, State.Done);
          if (this.#remaining === 0) this.#sink.onEnd();
          break;
        }
        case State.ChunkSize: {
          const byte = chunk[at++];
          const value = hexValue(byte);
          if (value !== -1) {
            if (++this.#chunkDigits > 13) throw new ResponseParseError('chunk size too large');
            this.#remaining = this.#remaining * 16 + value;
          } else if (this.#chunkDigits === 0) {
            throw new ResponseParseError('invalid chunk size');
          } else if (byte === CR || byte === 59 /* ; */ || byte === 32 || byte === 9) {
            this.#state = State.ChunkExt;
          } else if (byte === LF) {
            this.#chunkLineEnd();
          } else {
            throw new ResponseParseError('invalid chunk size');
          }
          break;
        }
        case State.ChunkExt: {
          // Chunk extensions are ignored; the size line ends at LF.
          const lf = chunk.indexOf(LF, at);
          if (lf === -1) {
            at = length;
          } else {
            at = lf + 1;
            this.#chunkLineEnd();
          }
          break;
        }
        case State.ChunkData: {
          at = this.#body(chunk, at, State.ChunkDataCr);
          break;
        }
        case State.ChunkDataCr: {
          const byte = chunk[at++];
          if (byte === CR) this.#state = State.ChunkDataLf;
          else if (byte === LF) this.#nextChunk();
          else throw new ResponseParseError('missing CRLF after chunk data');
          break;
        }
        case State.ChunkDataLf: {
          if (chunk[at++] !== LF) throw new ResponseParseError('missing CRLF after chunk data');
          this.#nextChunk();
          break;
        }
        case State.Trailers: {
          at = this.#trailers(chunk, at);
          break;
        }
        case State.UntilClose: {
          const slice = at === 0 ? chunk : chunk.subarray(at);
          at = length;
          this.#sink.onBody(slice);
          break;
        }
        case State.Done:
          return at;
      }
    }
    return at;
  }

  /** Hands on up to `#remaining` body bytes (a zero-copy slice); moves to `next` when they are done. */
  #body(chunk: Buffer, at: number, next: State): number {
    const take = Math.min(this.#remaining, chunk.length - at);
    this.#remaining -= take;
    if (this.#remaining === 0) this.#state = next;
    this.#sink.onBody(at === 0 && take === chunk.length ? chunk : chunk.subarray(at, at + take));
    return at + take;
  }

  #nextChunk(): void {
    this.#state = State.ChunkSize;
    this.#remaining = 0;
    this.#chunkDigits = 0;
  }

  #chunkLineEnd(): void {
    if (this.#remaining === 0) {
      this.#state = State.Trailers;
      this.#trailerBytes = 0;
      this.#trailerLineEmpty = true;
    } else {
      this.#state = State.ChunkData;
    }
  }

  /** Skips trailer fields up to the empty line that ends the message. */
  #trailers(chunk: Buffer, at: number): number {
    while (at < chunk.length) {
      const byte = chunk[at++];
      if (++this.#trailerBytes > MAX_TRAILER_BYTES) throw new ResponseParseError('trailers too large');
      if (byte === LF) {
        if (this.#trailerLineEmpty) {
          this.#state = State.Done;
          this.#sink.onEnd();
          return at;
        }
        this.#trailerLineEmpty = true;
      } else if (byte !== CR) {
        this.#trailerLineEmpty = false;
      }
    }
    return at;
  }

  #head(chunk: Buffer, at: number): number {
    let buf = chunk;
    let from = at;
    if (this.#pending !== null) {
      buf = Buffer.concat([this.#pending, chunk.subarray(at)]);
      from = 0;
    }
    const end = buf.indexOf('\r\n\r\n', from, 'latin1');
    if (end === -1) {
      if (buf.length - from >= MAX_HEAD_BYTES) throw new ResponseParseError('response head too large');
      this.#pending = from === 0 ? buf : buf.subarray(from);
      return chunk.length;
    }
    if (end + 4 - from > MAX_HEAD_BYTES) throw new ResponseParseError('response head too large');
    const consumedOfBuf = end + 4;
    const consumed = this.#pending === null ? consumedOfBuf : at + (consumedOfBuf - this.#pending.length);
    this.#pending = null;
    this.#parseHead(buf.toString('latin1', from, end));
    return consumed;
  }

  #parseHead(text: string): void {
    const statusEnd = text.indexOf('\r\n');
    const statusLine = statusEnd === -1 ? text : text.slice(0, statusEnd);
    const http10 = statusLine.startsWith('HTTP/1.0 ');
    if (!(statusLine.startsWith('HTTP/1.1 ') || http10) || statusLine.length < 12) {
      throw new ResponseParseError(`invalid status line "${statusLine.slice(0, 40)}"`);
    }
    const status = Number(statusLine.slice(9, 12));
    if (!/^\d{3}$/.test(statusLine.slice(9, 12)) || status < 100 || status > 999 || (statusLine.length > 12 && statusLine[12] !== ' ')) {
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
      const value = text.slice(colon + 1, eol).trim();
      at = eol + 2;
      headers.push(name, value);
      switch (name) {
        case 'content-length': {
          if (!/^\d{1,15}$/.test(value)) throw new ResponseParseError(`invalid content-length "${value.slice(0, 20)}"`);
          const n = Number(value);
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
    if (status < 200) {
      // Interim response (100 Continue, 103 Early Hints): skipped; the real head follows.
      if (status === 101) throw new ResponseParseError('protocol upgrades are not supported');
      this.#state = State.Head;
      return;
    }
    // Both framing headers: chunked wins, and the connection is not trusted again (RFC 9112 §6.3).
    if (chunked && contentLength !== -1) keepAlive = false;
    this.#keepAlive = keepAlive;
    this.#sink.onHead({ status, statusText: statusLine.slice(13), headers, keepAlive, keepAliveHint });
    if (this.#noBody || status === 204 || status === 304) {
      this.#state = State.Done;
    } else if (chunked) {
      this.#nextChunk();
      return;
    } else if (otherEncoding || contentLength === -1) {
      this.#keepAlive = false;
      this.#state = State.UntilClose;
      return;
    } else if (contentLength === 0) {
      this.#state = State.Done;
    } else {
      this.#remaining = contentLength;
      this.#state = State.Length;
      return;
    }
    this.#sink.onEnd();
  }
}
