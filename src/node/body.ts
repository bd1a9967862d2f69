/** Request-body helpers for the two cases where the pipeline does more than stream `req` through. */
import type { IncomingMessage } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';
import { GatewayError } from '../core/errors.js';

/** The 413 for a body over the configured limit. */
export function bodyTooLarge(limit: number): GatewayError {
  return new GatewayError(
    'body_too_large',
    `Request body is larger than the gateway's limit of ${limit} bytes (MAX_BODY_SIZE)`,
  );
}

/**
 * Reads the whole body (for an exchange tap, which needs the request JSON). `limit` 0 = none.
 * Calls back once: with the body, with a 413 {@link GatewayError}, or with the stream's error.
 */
export function readBody(
  req: IncomingMessage,
  limit: number,
  done: (err: Error | null, body: Buffer) => void,
): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let finished = false;
  const finish = (err: Error | null): void => {
    if (finished) return;
    finished = true;
    done(err, err === null ? Buffer.concat(chunks, size) : Buffer.alloc(0));
  };
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (limit > 0 && size > limit) {
      req.pause();
      finish(bodyTooLarge(limit));
      return;
    }
    chunks.push(chunk);
  });
  req.once('end', () => finish(null));
  req.once('error', (err) => finish(err));
  req.once('close', () => {
    if (!req.complete) finish(new Error('client closed the connection before the request body ended'));
  });
}

/** Counts a body of unknown length as it streams and fails it once it passes `limit`. */
export function limitBody(req: IncomingMessage, limit: number): Transform {
  let size = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      size += chunk.length;
      if (size > limit) callback(bodyTooLarge(limit));
      else callback(null, chunk);
    },
  });
  req.once('error', (err) => counter.destroy(err));
  return req.pipe(counter);
}
