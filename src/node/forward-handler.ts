/**
 * The upstream dispatch handler of one forwarded request: relays the upstream response to the client
 * chunk by chunk with backpressure both ways, feeds the exchange tap, and turns failures into the
 * right ending. It implements undici's raw-header handler interface (h1/types.ts), which both the
 * gateway's HTTP/1.1 pool and undici's proxy agent call, so no header object is built per response.
 *
 * Endings (DESIGN §5):
 * - upstream fails before the response started → the gateway's JSON error (502/504);
 * - upstream fails after it started → the client connection is destroyed (never a clean end);
 * - the client goes away → the upstream request is aborted at once.
 */
import { withCorsHeaders } from '../core/cors.js';
import { GatewayError } from '../core/errors.js';
import type { ExchangeEnd, ExchangeTap } from '../core/exchange.js';
import { readUpstreamHeaders } from '../core/headers.js';
import type { UpstreamHandler } from './h1/types.js';
import { sendError } from './respond.js';
import { ClientGoneError } from './server/incoming-request.js';
import type { OutgoingResponse } from './server/outgoing-response.js';
import { toGatewayError, type UpstreamErrorContext } from './upstream-error.js';

export class ForwardHandler implements UpstreamHandler {
  readonly #res: OutgoingResponse;
  readonly #tap: ExchangeTap | undefined;
  readonly #errorContext: UpstreamErrorContext;
  /** CORS headers for a browser's request (replacing the upstream's), or null. */
  readonly #cors: readonly string[] | null;
  #abort: ((err?: Error) => void) | null = null;
  #resume: (() => void) | null = null;
  #started = false;
  #done = false;
  #clientGone = false;
  #waitingForDrain = false;

  constructor(res: OutgoingResponse, tap: ExchangeTap | undefined, errorContext: UpstreamErrorContext, cors: readonly string[] | null) {
    this.#res = res;
    this.#tap = tap;
    this.#errorContext = errorContext;
    this.#cors = cors;
    res.onClose = this.#onClientClose;
  }

  #onClientClose = (): void => {
    if (this.#done) return;
    this.#clientGone = true;
    this.#abort?.(new ClientGoneError('client closed the connection'));
  };

  #onDrain = (): void => {
    if (!this.#waitingForDrain) return;
    this.#waitingForDrain = false;
    this.#res.onDrain = null;
    this.#resume?.();
  };

  onConnect(abort: (err?: Error) => void): void {
    this.#abort = abort;
    if (this.#clientGone) abort(new ClientGoneError('client closed the connection'));
  }

  onHeaders(statusCode: number, rawHeaders: readonly (Buffer | string)[], resume: () => void): boolean {
    if (statusCode < 200) return true; // 1xx: informational, not relayed
    const head = readUpstreamHeaders(rawHeaders);
    const res = this.#res;
    try {
      res.writeHead(statusCode, this.#cors === null ? head.headers : withCorsHeaders(head.headers, this.#cors));
    } catch (err) {
      // A header value Node will not write: nothing reached the client yet, so answer 502.
      this.#abort?.(new GatewayError('upstream_error', `Upstream ${this.#errorContext.origin} sent an invalid response header`, { cause: err }));
      return false;
    }
    this.#started = true;
    this.#resume = resume;
    // Event streams: put the headers on the wire now, so the client sees the 200 before the first event.
    if (head.eventStream) res.flushHeaders();
    if (this.#tap !== undefined) {
      try {
        this.#tap.responseStart(statusCode, head);
      } catch {
        // A tap never fails a request (core/exchange.ts).
      }
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.#tap !== undefined) {
      try {
        this.#tap.responseData(chunk);
      } catch {
        // A tap never fails a request.
      }
    }
    if (this.#res.write(chunk)) return true;
    // The client reads slower than the upstream sends: pause the upstream until the socket drains.
    if (!this.#waitingForDrain) {
      this.#waitingForDrain = true;
      this.#res.onDrain = this.#onDrain;
    }
    return false;
  }

  onComplete(): void {
    this.#done = true;
    this.#res.end();
    this.#end({ kind: 'complete' });
  }

  #end(outcome: ExchangeEnd): void {
    if (this.#tap === undefined) return;
    try {
      this.#tap.end(outcome);
    } catch {
      // A tap never fails a request.
    }
  }

  onError(err: Error): void {
    this.#done = true;
    const res = this.#res;
    if (this.#clientGone || res.destroyed) {
      this.#end({ kind: 'aborted' });
      return;
    }
    if (!this.#started) {
      const error = toGatewayError(err, this.#errorContext);
      this.#errorContext.report(error, false);
      sendError(res, error, true, this.#cors);
      this.#end({ kind: 'error', message: error.message, code: error.code, status: error.status });
      return;
    }
    // Mid-response failure: cut the connection so the client cannot mistake it for a full answer.
    res.destroy();
    this.#errorContext.report(toGatewayError(err, this.#errorContext), true);
    const code = (err as { code?: unknown }).code;
    this.#end({
      kind: 'error',
      message: `upstream response failed after it started: ${err.message}`,
      code: typeof code === 'string' ? code : 'upstream_error',
      status: res.statusCode,
    });
  }
}
