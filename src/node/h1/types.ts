/**
 * What the gateway needs of an upstream client: undici's dispatch contract, the raw-header variant
 * undici's own client implements. Both the hand-written HTTP/1.1 pool (h1/pool.ts) and undici's
 * proxy agent satisfy it, so the forwarding code does not care which one carries a request.
 */
import { Buffer } from 'node:buffer';
import type { Readable } from 'node:stream';

export interface UpstreamRequest {
  /** Request target: origin-form path and query. */
  path: string;
  method: string;
  /** `[name, value, …]`, without `host` (the client adds the upstream's). */
  headers: string[];
  body: Buffer | Readable | null;
}

/**
 * Callbacks of one upstream exchange. `onConnect` comes first and hands over `abort`; then either
 * `onHeaders`, `onData`…, `onComplete`, or `onError` at any point; never both of the last two.
 * `onConnect` comes again, with the `abort` to use from then on, when the request is sent again on
 * a new connection (the keep-alive race, h1/connection.ts): always before any `onHeaders`.
 */
export interface UpstreamHandler {
  onConnect(abort: (err?: Error) => void): void;
  /** Return false to pause the body until `resume` is called. Names are lower-case strings, or (undici) latin1 Buffers as sent. */
  onHeaders(statusCode: number, rawHeaders: readonly (Buffer | string)[], resume: () => void, statusText: string): boolean;
  /** Return false to pause until `resume`. */
  onData(chunk: Buffer): boolean;
  onComplete(trailers: unknown): void;
  onError(err: Error): void;
}

export interface UpstreamDispatcher {
  dispatch(request: UpstreamRequest, handler: UpstreamHandler): void;
  /** Stops taking requests, waits for those in flight, closes connections. */
  close(): Promise<void>;
}

/** Stable codes of the upstream client's own failures (undici's codes are mapped alongside). */
export type UpstreamErrorCode =
  | 'UPSTREAM_CONNECT_TIMEOUT'
  | 'UPSTREAM_HEADERS_TIMEOUT'
  | 'UPSTREAM_BODY_TIMEOUT'
  | 'UPSTREAM_CLOSED'
  | 'UPSTREAM_ABORTED'
  /** The forward handler's `total_timeout` (forward-handler.ts): the same on undici's path. */
  | 'UPSTREAM_TOTAL_TIMEOUT';

export class UpstreamClientError extends Error {
  override readonly name = 'UpstreamClientError';
  readonly code: UpstreamErrorCode;

  constructor(code: UpstreamErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}
