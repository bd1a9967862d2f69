/**
 * The seam between forwarding and everything that observes an exchange (the chat log today; usage
 * accounting, metrics and caching later). A hook decides per request whether it wants to watch; a
 * tap then sees the request body and every response byte, in order, without being able to change,
 * delay or fail them: the proxy calls it synchronously and ignores what it does.
 */
import { Buffer } from 'node:buffer';
import type { UpstreamResponseHead } from './headers.js';

export interface ExchangeInfo {
  readonly method: string;
  /** Path after the route prefix, without the query: `/v1/chat/completions`. */
  readonly route: string;
  /** Client address as decided by the IP stage. */
  readonly ip: string;
  /** `Date.now()` when the request arrived. */
  readonly startedAt: number;
  /** The name of the forward key's policy (core/key-policy.ts) the request came with; `null` for any other credential. */
  readonly keyName: string | null;
}

/** How an exchange ended; exactly one of these reaches a tap. */
export type ExchangeEnd =
  | { readonly kind: 'complete' }
  /** The client went away before the response ended. */
  | { readonly kind: 'aborted' }
  /** The upstream failed; `status` is what the client got (the gateway's error or the upstream's). */
  | { readonly kind: 'error'; readonly message: string; readonly code: string; readonly status: number };

export interface ExchangeTap {
  /** The complete request body (the proxy buffers it only for taps, and forwards the same bytes). */
  requestBody(body: Buffer): void;
  responseStart(status: number, head: UpstreamResponseHead): void;
  /** Every response body chunk, as the client receives it. Must not keep a reference it mutates. */
  responseData(chunk: Buffer): void;
  end(outcome: ExchangeEnd): void;
}

export interface ExchangeHook {
  /** A tap for this exchange, or `undefined` to stay out of it (the common, zero-cost case). */
  open(info: ExchangeInfo): ExchangeTap | undefined;
}
