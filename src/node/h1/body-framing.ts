/**
 * HTTP/1.1 message-body framing (RFC 9112 §6–7), shared by the request parser (the gateway's
 * server) and the response parser (its upstream client): a body of known length, a chunked body
 * (chunk extensions ignored, trailers skipped), or one that ends when the connection closes.
 * Pure: Buffers in, zero-copy slices out. Strict where a proxy must be: hex chunk sizes within
 * 2^52, CRLF after every chunk, bounded trailers.
 */
import { Buffer } from 'node:buffer';

export interface BodySink {
  onBody(chunk: Buffer): void;
  /** The body is complete. */
  onEnd(): void;
}

const enum State {
  Length,
  ChunkSize,
  /** Strict: whitespace after the size, before `;` or the line end. */
  ChunkSizeWs,
  ChunkExt,
  /** Strict: CR of the size line seen, LF must follow. */
  ChunkSizeLf,
  ChunkData,
  ChunkDataCr,
  ChunkDataLf,
  Trailers,
  UntilClose,
  Done,
}

const MAX_TRAILER_BYTES = 16 * 1024;
/** Bytes of extensions one chunk-size line may carry (Node's limit since CVE-2024-22019). */
const MAX_EXTENSION_BYTES = 16 * 1024;
const CR = 13;
const LF = 10;

function hexValue(byte: number): number {
  if (byte >= 48 && byte <= 57) return byte - 48;
  if (byte >= 97 && byte <= 102) return byte - 87;
  if (byte >= 65 && byte <= 70) return byte - 55;
  return -1;
}

export class BodyFraming {
  readonly #sink: BodySink;
  readonly #fail: (reason: string) => Error;
  readonly #strict: boolean;
  #state = State.Done;
  #remaining = 0;
  #chunkDigits = 0;
  #extensionBytes = 0;
  #trailerBytes = 0;
  #trailerLineEmpty = true;
  #trailerCr = false;

  /**
   * `fail` makes the error thrown for malformed framing (each parser has its own class). `strict`
   * (requests: a proxy must not read framing differently from the server behind it) accepts only
   * CRLF line ends and nothing but whitespace and `;extensions` after a chunk size; lenient
   * (responses) also takes bare LF line ends and skips anything after the size.
   */
  constructor(sink: BodySink, fail: (reason: string) => Error, strict = false) {
    this.#sink = sink;
    this.#fail = fail;
    this.#strict = strict;
  }

  get done(): boolean {
    return this.#state === State.Done;
  }

  /** A body of `length` bytes (0 ends it at once). */
  startLength(length: number): void {
    if (length === 0) {
      this.#state = State.Done;
      this.#sink.onEnd();
      return;
    }
    this.#remaining = length;
    this.#state = State.Length;
  }

  startChunked(): void {
    this.#nextChunk();
  }

  /** A body delimited by the end of the connection (responses only). */
  startUntilClose(): void {
    this.#state = State.UntilClose;
  }

  /** No body (or none left); nothing is called. */
  stop(): void {
    this.#state = State.Done;
  }

  /** The connection ended: true when that completes a close-delimited body. */
  endOfInput(): boolean {
    if (this.#state !== State.UntilClose) return false;
    this.#state = State.Done;
    this.#sink.onEnd();
    return true;
  }

  /** Consumes body bytes from `at`; returns where it stopped (before `chunk.length` only when the body ended). */
  execute(chunk: Buffer, at: number): number {
    const length = chunk.length;
    while (at < length) {
      switch (this.#state) {
        case State.Length: {
          at = this.#data(chunk, at, State.Done);
          if (this.#remaining === 0) this.#sink.onEnd();
          break;
        }
        case State.ChunkSize: {
          const byte = chunk[at++];
          const value = hexValue(byte);
          if (value !== -1) {
            if (++this.#chunkDigits > 13) throw this.#fail('chunk size too large');
            this.#remaining = this.#remaining * 16 + value;
          } else if (this.#chunkDigits === 0) {
            throw this.#fail('invalid chunk size');
          } else if (this.#strict) {
            this.#afterSize(byte);
          } else if (byte === CR || byte === 59 /* ; */ || byte === 32 || byte === 9) {
            this.#state = State.ChunkExt;
          } else if (byte === LF) {
            this.#chunkLineEnd();
          } else {
            throw this.#fail('invalid chunk size');
          }
          break;
        }
        case State.ChunkSizeWs: {
          const byte = chunk[at++];
          if (byte !== 32 && byte !== 9) this.#afterSize(byte);
          break;
        }
        case State.ChunkExt: {
          if (this.#strict) {
            at = this.#strictExtension(chunk, at);
            break;
          }
          // Chunk extensions are ignored; the size line ends at LF.
          const lf = chunk.indexOf(LF, at);
          this.#extensionBytes += (lf === -1 ? length : lf) - at;
          if (this.#extensionBytes > MAX_EXTENSION_BYTES) throw this.#fail('chunk extension too long');
          if (lf === -1) {
            at = length;
          } else {
            at = lf + 1;
            this.#chunkLineEnd();
          }
          break;
        }
        case State.ChunkSizeLf: {
          if (chunk[at++] !== LF) throw this.#fail('chunk size line not ended by CRLF');
          this.#chunkLineEnd();
          break;
        }
        case State.ChunkData: {
          at = this.#data(chunk, at, State.ChunkDataCr);
          break;
        }
        case State.ChunkDataCr: {
          const byte = chunk[at++];
          if (byte === CR) this.#state = State.ChunkDataLf;
          else if (byte === LF && !this.#strict) this.#nextChunk();
          else throw this.#fail('missing CRLF after chunk data');
          break;
        }
        case State.ChunkDataLf: {
          if (chunk[at++] !== LF) throw this.#fail('missing CRLF after chunk data');
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
  #data(chunk: Buffer, at: number, next: State): number {
    const take = Math.min(this.#remaining, chunk.length - at);
    this.#remaining -= take;
    if (this.#remaining === 0) this.#state = next;
    this.#sink.onBody(at === 0 && take === chunk.length ? chunk : chunk.subarray(at, at + take));
    return at + take;
  }

  /** Strict: the byte after a chunk size's digits. */
  #afterSize(byte: number): void {
    if (byte === CR) this.#state = State.ChunkSizeLf;
    else if (byte === 59 /* ; */) this.#state = State.ChunkExt;
    else if (byte === 32 || byte === 9) this.#state = State.ChunkSizeWs;
    else throw this.#fail('invalid chunk size line');
  }

  /** Strict: skips a chunk extension up to its CR; no other control character may appear. */
  #strictExtension(chunk: Buffer, at: number): number {
    while (at < chunk.length) {
      const byte = chunk[at++];
      if (++this.#extensionBytes > MAX_EXTENSION_BYTES) throw this.#fail('chunk extension too long');
      if (byte === CR) {
        this.#state = State.ChunkSizeLf;
        return at;
      }
      if ((byte < 32 && byte !== 9) || byte === 127) throw this.#fail('control character in a chunk extension');
    }
    return at;
  }

  #nextChunk(): void {
    this.#state = State.ChunkSize;
    this.#remaining = 0;
    this.#chunkDigits = 0;
    this.#extensionBytes = 0;
  }

  #chunkLineEnd(): void {
    if (this.#remaining === 0) {
      this.#state = State.Trailers;
      this.#trailerBytes = 0;
      this.#trailerLineEmpty = true;
      this.#trailerCr = false;
    } else {
      this.#state = State.ChunkData;
    }
  }

  /** Skips trailer fields up to the empty line that ends the message. */
  #trailers(chunk: Buffer, at: number): number {
    while (at < chunk.length) {
      const byte = chunk[at++];
      if (++this.#trailerBytes > MAX_TRAILER_BYTES) throw this.#fail('trailers too large');
      if (this.#strict) {
        // CRLF line ends only: a CR must be followed by LF, and a LF preceded by CR.
        if (this.#trailerCr !== (byte === LF)) throw this.#fail('trailer line not ended by CRLF');
        this.#trailerCr = byte === CR;
      }
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
}
