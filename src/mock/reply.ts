/**
 * Non-stream answers: JSON bodies with `content-length`, optionally compressed, after the steered
 * first-byte delay, or a cut connection for `x-mock-reset-after`. Also defines the per-request
 * {@link MockExchange} every endpoint handler receives.
 */
import { Buffer } from 'node:buffer';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { brotliCompressSync, constants as zlibConstants, deflateSync, gzipSync } from 'node:zlib';
import type { MockError } from './errors.js';
import { mockId } from './ids.js';
import type { MockEncoding, MockSteering } from './steering.js';

/** One request being answered: the node:http pair, its steering and its buffered body. */
export interface MockExchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly steering: MockSteering;
  /** Path without the query string, as received (not decoded). */
  readonly path: string;
  /** The request body; empty for requests without one. */
  readonly body: Buffer;
}

/** Brotli at its default quality 11 costs milliseconds per reply; 4 is what servers use on the fly. */
export const BROTLI_QUALITY = 4;

/** Headers OpenAI sends on every answer, fresh per response. */
export function baseHeaders(contentType: string): OutgoingHttpHeaders {
  return {
    'content-type': contentType,
    'x-request-id': mockId('req_'),
    'openai-version': '2020-10-01',
    'openai-processing-ms': '1',
  };
}

/**
 * Runs `start` after the steered `x-mock-first-byte-ms` delay (synchronously when it is 0). The
 * timer is cleared if the client goes away first.
 */
export function afterFirstByte(ex: MockExchange, start: () => void): void {
  const ms = ex.steering.firstByteMs;
  if (ms === 0) {
    start();
    return;
  }
  const timer = setTimeout(() => {
    ex.res.off('close', cancel);
    if (!ex.res.destroyed) start();
  }, ms);
  function cancel(): void {
    clearTimeout(timer);
  }
  ex.res.once('close', cancel);
}

/** Compresses a whole body with the steered content-encoding. */
export function compressSync(encoding: MockEncoding, body: string | Buffer): Buffer {
  switch (encoding) {
    case 'gzip': return gzipSync(body);
    case 'deflate': return deflateSync(body);
    case 'br': return brotliCompressSync(body, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY } });
  }
}

/** Cuts the connection without an answer (`x-mock-reset-after` on a non-stream request). */
export function cutNow(ex: MockExchange): void {
  const socket = ex.res.socket ?? ex.req.socket;
  socket.destroy();
}

/** Writes a complete JSON answer (already serialised) with `content-length`. */
export function writeJson(ex: MockExchange, status: number, json: string, extra?: Readonly<Record<string, string>>): void {
  const headers = baseHeaders('application/json');
  if (extra !== undefined) Object.assign(headers, extra);
  const encoding = ex.steering.encoding;
  let body: string | Buffer = json;
  if (encoding !== undefined) {
    body = compressSync(encoding, json);
    headers['content-encoding'] = encoding;
    headers['vary'] = 'Accept-Encoding';
  }
  headers['content-length'] = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
  ex.res.writeHead(status, headers);
  ex.res.end(body);
}

/**
 * Answers a JSON value (or an already serialised string) honouring the steering: cut for
 * `x-mock-reset-after`, otherwise after the first-byte delay, compressed if asked.
 */
export function sendJson(ex: MockExchange, status: number, value: unknown, extra?: Readonly<Record<string, string>>): void {
  if (ex.steering.resetAfter !== undefined) {
    cutNow(ex);
    return;
  }
  const json = typeof value === 'string' ? value : JSON.stringify(value);
  afterFirstByte(ex, () => writeJson(ex, status, json, extra));
}

/** Answers an OpenAI-shaped error. */
export function sendError(ex: MockExchange, err: MockError): void {
  sendJson(ex, err.status, { error: err.error }, err.headers);
}
