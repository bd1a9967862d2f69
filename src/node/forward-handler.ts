/**
 * The upstream dispatch handler of one forwarded request: relays the upstream response to the client
 * chunk by chunk with backpressure both ways, feeds the exchange tap, and turns failures into the
 * right ending. It implements undici's raw-header handler interface (h1/types.ts), which both the
 * gateway's HTTP/1.1 pool and undici's proxy agent call, so no header object is built per response.
 *
 * Failover (DESIGN §8, USERS.md #5): when the upstream refuses a pool key — a 429, or a 401 whose
 * body blames the key (core/key-health.ts) — the key rests for as long as the upstream says, and
 * while nothing has reached the client and the body can be sent again (it was read whole), the
 * request goes again with another key in rotation, at most {@link MAX_RETRIES} times. A 429 is cut
 * off at once (its body does not matter); a 401 is held back (up to {@link HOLD_LIMIT} bytes) until
 * its body says whether the key is at fault. When no other key is in rotation the refusal passes
 * through unchanged.
 *
 * Endings (DESIGN §5):
 * - upstream fails before the response started → the gateway's JSON error (502/504);
 * - upstream fails after it started → the client connection is destroyed (never a clean end);
 * - the client goes away → the upstream request is aborted at once.
 */
import { Buffer } from 'node:buffer';
import { withCorsHeaders } from '../core/cors.js';
import { GatewayError } from '../core/errors.js';
import type { ExchangeEnd, ExchangeTap } from '../core/exchange.js';
import { readUpstreamHeaders, type UpstreamResponseHead } from '../core/headers.js';
import { isKeyFault, isKeyRefusal } from '../core/key-health.js';
import { UpstreamClientError, type UpstreamHandler, type UpstreamRequest } from './h1/types.js';
import { type FailoverContext, HOLD_LIMIT, MAX_RETRIES, restRefusedKey } from './key-failover.js';
import { sendError } from './respond.js';
import { noteRelayed } from './transfer-relief.js';
import { ClientGoneError } from './server/incoming-request.js';
import type { OutgoingResponse } from './server/outgoing-response.js';
import { toGatewayError, type UpstreamErrorContext } from './upstream-error.js';

/** The abort that cuts a refused attempt short before the request goes again with another key. */
class RetryAbort extends Error {
  override readonly name = 'RetryAbort';
}

/** A 401 held back until its body is read (see the file comment). */
interface HeldRefusal {
  readonly status: number;
  readonly head: UpstreamResponseHead;
  readonly resume: () => void;
  readonly chunks: Buffer[];
  bytes: number;
}

/** What every handler of a pipeline shares. */
export interface ForwardContext extends FailoverContext {
  readonly errorContext: UpstreamErrorContext;
  dispatch(request: UpstreamRequest, handler: ForwardHandler): void;
}

/** One attempt of one exchange. */
export interface ForwardExchange {
  /** Set once the request is admitted (node/pipeline.ts opens it then), before the dispatch. */
  tap: ExchangeTap | undefined;
  /** CORS headers for a browser's request (replacing the upstream's), or null. */
  readonly cors: readonly string[] | null;
  /** What was dispatched; with a pool key, its `authorization` value is the last header value. */
  readonly request: UpstreamRequest;
  /** When the exchange must be over (`Date.now()` ms, `total_timeout`; failover attempts share it), 0 = never. */
  readonly deadline: number;
  /** The pool key the request carries, -1 for none (passthrough). */
  readonly keyIndex: number;
  /** Other pool keys this exchange may still try. */
  readonly retriesLeft: number;
}

export class ForwardHandler implements UpstreamHandler {
  readonly #res: OutgoingResponse;
  readonly #context: ForwardContext;
  readonly #exchange: ForwardExchange;
  readonly #tap: ExchangeTap | undefined;
  readonly #errorContext: UpstreamErrorContext;
  readonly #cors: readonly string[] | null;
  /** The key was refused and this pool key is tried next, once this attempt is over; -1 for none. */
  #retryWith = -1;
  #held: HeldRefusal | null = null;
  #abort: ((err?: Error) => void) | null = null;
  #resume: (() => void) | null = null;
  #started = false;
  #done = false;
  #clientGone = false;
  #waitingForDrain = false;
  #deadlineTimer: NodeJS.Timeout | null = null;

  constructor(res: OutgoingResponse, context: ForwardContext, exchange: ForwardExchange) {
    this.#res = res;
    this.#context = context;
    this.#exchange = exchange;
    this.#tap = exchange.tap;
    this.#errorContext = context.errorContext;
    this.#cors = exchange.cors;
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
    if (this.#clientGone) {
      abort(new ClientGoneError('client closed the connection'));
      return;
    }
    // onConnect comes again when the pool sends the request anew (h1/connection.ts): one timer per
    // handler, which is one per key-failover attempt, all ending at the exchange's deadline.
    const deadline = this.#exchange.deadline;
    if (deadline !== 0 && this.#deadlineTimer === null && !this.#done) {
      this.#deadlineTimer = setTimeout(this.#onDeadline, Math.max(deadline - Date.now(), 0));
    }
  }

  readonly #onDeadline = (): void => {
    this.#deadlineTimer = null;
    if (this.#done) return;
    this.#abort?.(new UpstreamClientError('UPSTREAM_TOTAL_TIMEOUT', 'the upstream exchange outlasted total_timeout'));
  };

  #clearDeadline(): void {
    if (this.#deadlineTimer === null) return;
    clearTimeout(this.#deadlineTimer);
    this.#deadlineTimer = null;
  }

  onHeaders(statusCode: number, rawHeaders: readonly (Buffer | string)[], resume: () => void): boolean {
    if (statusCode < 200) return true; // 1xx: informational, not relayed
    const head = readUpstreamHeaders(rawHeaders);
    if (this.#exchange.keyIndex !== -1 && isKeyRefusal(statusCode)) {
      if (statusCode === 401) {
        this.#held = { status: statusCode, head, resume, chunks: [], bytes: 0 };
        return true;
      }
      if (this.#keyRefused(statusCode, head.headers)) {
        // Its body does not matter: cut this attempt; onError sends the request again.
        this.#abort?.(new RetryAbort('retrying with another pool key'));
        return false;
      }
    }
    return this.#relayHead(statusCode, head, resume);
  }

  /** Writes the response head to the client; false (and the exchange is failed) when it cannot be written. */
  #relayHead(statusCode: number, head: UpstreamResponseHead, resume: () => void): boolean {
    const failure = this.#writeHead(statusCode, head);
    if (failure !== null) {
      // Nothing reached the client yet: the upstream request is aborted and onError answers 502.
      this.#abort?.(failure);
      return false;
    }
    this.#resume = resume;
    // From here the request cannot go again: no other key once the client has the head, and the
    // connection resends only what got no response. So its body is let go now, not when a stream
    // ends hours later: a body read from the client's socket is a slice of one of Node's 8 KB
    // buffer-pool blocks, which malloc'd memory stays while any slice of it lives. With 9,968 open
    // streams (bench measure 5, by hand) glibc's heap held 19.2 MB instead of 29.2–31.5 MB, and
    // RSS after they ended was 73.8 MB instead of 85.5–87.8 MB.
    const request = this.#exchange.request;
    if (Buffer.isBuffer(request.body)) request.body = null;
    // Event streams: put the headers on the wire now, so the client sees the 200 before the first event.
    if (head.eventStream) this.#res.flushHeaders();
    return true;
  }

  /** Writes the head and tells the tap; the error to answer with when a header value cannot be written. */
  #writeHead(statusCode: number, head: UpstreamResponseHead): GatewayError | null {
    try {
      this.#res.writeHead(statusCode, this.#cors === null ? head.headers : withCorsHeaders(head.headers, this.#cors));
    } catch (err) {
      return new GatewayError('upstream_error', `Upstream ${this.#errorContext.origin} sent an invalid response header`, { cause: err });
    }
    this.#started = true;
    if (this.#tap !== undefined) {
      try {
        this.#tap.responseStart(statusCode, head);
      } catch {
        // A tap never fails a request (core/exchange.ts).
      }
    }
    return null;
  }

  onData(chunk: Buffer): boolean {
    const held = this.#held;
    if (held === null) return this.#relayData(chunk);
    held.chunks.push(chunk);
    held.bytes += chunk.length;
    if (held.bytes <= HOLD_LIMIT) return true;
    // Too large for a key refusal: relay it as it is.
    this.#held = null;
    if (!this.#relayHead(held.status, held.head, held.resume)) return false;
    let more = true;
    for (const part of held.chunks) more = this.#relayData(part);
    return more;
  }

  #relayData(chunk: Buffer): boolean {
    noteRelayed(chunk.length);
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
    this.#clearDeadline();
    const held = this.#held;
    if (held !== null) {
      this.#held = null;
      const body = Buffer.concat(held.chunks, held.bytes);
      if (isKeyFault(body.toString('utf8')) && this.#keyRefused(held.status, held.head.headers)) {
        // The connection that carried the refusal was just released to the pool, and an upstream
        // may close it after an error: let a FIN that came with the refusal arrive first.
        const next = this.#retryWith;
        setImmediate(() => {
          if (this.#res.destroyed) this.#end({ kind: 'aborted' });
          else this.#retry(next);
        });
        return;
      }
      if (!this.#relayWhole(held, body)) return;
    }
    this.#res.end();
    this.#end({ kind: 'complete' });
  }

  /** Relays a held response that is already complete; false when its head could not be written (answered 502). */
  #relayWhole(held: HeldRefusal, body: Buffer): boolean {
    const failure = this.#writeHead(held.status, held.head);
    if (failure !== null) {
      // The upstream exchange is over, so there is nothing to abort: answer here.
      sendError(this.#res, failure, true, this.#cors);
      this.#end({ kind: 'error', message: failure.message, code: failure.code, status: failure.status });
      return false;
    }
    if (body.length > 0) this.#relayData(body);
    return true;
  }

  /**
   * Rests the refused key; true when the request will go again with another key (then
   * {@link #retryWith} names it), false when the refusal is the answer.
   */
  #keyRefused(status: number, headers: readonly string[]): boolean {
    const { keyIndex, request, retriesLeft } = this.#exchange;
    const body = request.body;
    const mayRetry = retriesLeft > 0 && !this.#clientGone && (body === null || Buffer.isBuffer(body));
    this.#retryWith = restRefusedKey(this.#context, keyIndex, status, headers, mayRetry);
    return this.#retryWith !== -1;
  }

  /** Sends the request again with pool key `keyIndex` (the client has seen nothing yet). */
  #retry(keyIndex: number): void {
    const { pool, dispatch } = this.#context;
    const exchange = this.#exchange;
    const headers = exchange.request.headers.slice();
    headers[headers.length - 1] = `Bearer ${pool.key(keyIndex)}`;
    const request = { ...exchange.request, headers };
    dispatch(request, new ForwardHandler(this.#res, this.#context, { ...exchange, request, keyIndex, retriesLeft: exchange.retriesLeft - 1 }));
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
    this.#clearDeadline();
    this.#held = null;
    const res = this.#res;
    if (err instanceof RetryAbort && !this.#clientGone && !res.destroyed) {
      this.#retry(this.#retryWith);
      return;
    }
    if (this.#clientGone || res.destroyed) {
      this.#end({ kind: 'aborted' });
      return;
    }
    // A head still waiting for the first body bytes has not reached the client: it is taken back,
    // and the client gets the error as if nothing had started.
    if (!this.#started || res.retractHead()) {
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
