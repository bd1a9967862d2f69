/**
 * Streaming decompression of a COPY of a compressed response body, for the chat log only: the
 * client always gets the upstream's bytes untouched (USERS.md #11). zlib runs on the thread pool, so
 * decoding never blocks the event loop; output arrives asynchronously and {@link BodyDecoder.end}
 * says when all of it has. Truncated input (a stream cut off) yields what was decodable, not an
 * error (`finishFlush`, per the Node zlib docs on decompressing truncated input).
 */
import { Buffer } from 'node:buffer';
import type { Transform } from 'node:stream';
import zlib from 'node:zlib';

export type ContentCoding = 'gzip' | 'br' | 'deflate';

/** The coding of a Content-Encoding value: `identity`, one we decode, or `unsupported`. */
export function contentCoding(header: string | undefined): ContentCoding | 'identity' | 'unsupported' {
  if (header === undefined) return 'identity';
  const value = header.trim().toLowerCase();
  if (value === '' || value === 'identity') return 'identity';
  if (value === 'gzip' || value === 'x-gzip') return 'gzip';
  if (value === 'br' || value === 'deflate') return value;
  return 'unsupported';
}

export interface BodyDecoder {
  write(chunk: Buffer): void;
  /** Ends the input; `done` runs once, after the last output (with the error if decoding failed). */
  end(done: (error: Error | null) => void): void;
}

/**
 * HTTP `deflate` should be zlib-wrapped (RFC 9110 §8.4.1.2) but some servers send raw deflate; the
 * first byte tells: a zlib header has compression method 8 and a window of at most 32 KiB.
 */
function isZlibHeader(firstByte: number): boolean {
  return (firstByte & 0x0f) === 8 && firstByte >> 4 <= 7;
}

function createStream(coding: ContentCoding, firstByte: number): Transform {
  if (coding === 'br') return zlib.createBrotliDecompress({ finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH });
  const options = { finishFlush: zlib.constants.Z_SYNC_FLUSH };
  if (coding === 'gzip') return zlib.createGunzip(options);
  return isZlibHeader(firstByte) ? zlib.createInflate(options) : zlib.createInflateRaw(options);
}

/** A decoder for `coding` that passes each decoded piece to `onData`. */
export function createBodyDecoder(coding: ContentCoding, onData: (chunk: Buffer) => void): BodyDecoder {
  let stream: Transform | null = null;
  let error: Error | null = null;
  let finished = false;
  let onDone: ((error: Error | null) => void) | null = null;

  const settle = (): void => {
    if (onDone === null || !(finished || error !== null)) return;
    const done = onDone;
    onDone = null;
    try {
      done(error);
    } catch {
      // The consumer's own failure; it runs inside a stream event and must not become uncaught.
    }
  };

  const forward = (chunk: Buffer): void => {
    if (error !== null) return;
    try {
      onData(chunk);
    } catch (err) {
      error = err instanceof Error ? err : new Error(String(err));
    }
  };

  return {
    write(chunk) {
      if (error !== null || chunk.length === 0) return;
      if (stream === null) {
        stream = createStream(coding, chunk[0]);
        stream.on('data', forward);
        stream.once('end', () => {
          finished = true;
          settle();
        });
        stream.once('error', (err: Error) => {
          error = err;
          settle();
        });
      }
      stream.write(chunk);
    },
    end(done) {
      onDone = done;
      if (stream === null) finished = true;
      else if (error === null) stream.end();
      else stream.destroy();
      settle();
    },
  };
}
