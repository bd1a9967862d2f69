/**
 * HTTP/1.1 message-body framing (RFC 9112 §6–7), shared by the request parser (the gateway's
 * server) and the response parser (its upstream client): a body of known length, a chunked body
 * (chunk extensions ignored, trailers skipped), or one that ends when the connection closes.
 * Pure: Buffers in, zero-copy slices out. Strict where a proxy must be: hex chunk sizes within
 * 2^52, CRLF after every chunk, bounded trailers.
 */

export interface BodySink {
  onBody(chunk: Buffer): void;
  /** The body is complete. */
  onEnd(): void;
}

const enum State {
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

const MAX_TRAILER_BYTES = 16 * 1024;
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
  #state = State.Done;
  #remaining = 0;
  #chunkDigits = 0;
  #trailerBytes = 0;
  #trailerLineEmpty = true;

  /** `fail` makes the error thrown for malformed framing (each parser has its own class). */
  constructor(sink: BodySink, fail: (reason: string) => Error) {
    this.#sink = sink;
    this.#fail = fail;
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
          } else if (byte === CR || byte === 59 /* ; */ || byte === 32 || byte === 9) {
            this.#state = State.ChunkExt;
          } else if (byte === LF) {
            this.#chunkLineEnd();
          } else {
            throw this.#fail('invalid chunk size');
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
          at = this.#data(chunk, at, State.ChunkDataCr);
          break;
        }
        case State.ChunkDataCr: {
          const byte = chunk[at++];
          if (byte === CR) this.#state = State.ChunkDataLf;
          else if (byte === LF) this.#nextChunk();
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
      if (++this.#trailerBytes > MAX_TRAILER_BYTES) throw this.#fail('trailers too large');
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
