/**
 * What a gateway process counts for its metrics (node/metrics.ts): plain numbers, so counting on
 * the hot path costs an add. Snapshots are taken when the metrics are read, never per request.
 */

import type { JsonObject } from './chat-reply.js';

/** Statuses counted one by one; anything else (never written by the gateway) counts as 0. */
const STATUS_SLOTS = 600;
/**
 * Models counted by name; further ones count as `other`. The name comes from the upstream's reply,
 * which may echo what a client sent: the bound keeps a scrape (and this map) small whatever comes.
 */
export const MAX_USAGE_MODELS = 100;
const MAX_MODEL_LENGTH = 100;

/** Tokens of one model, as the upstream's `usage` reported them. */
export interface TokenCount {
  input: number;
  output: number;
}

/** A count of tokens from a `usage` member, when it is one (a finite number ≥ 0). */
function tokens(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : 0;
}

export class GatewayCounters {
  /** Responses whose head the gateway wrote, by status code. */
  readonly responses = new Float64Array(STATUS_SLOTS);
  /** Upstream failures (the gateway's 502/504, or a response cut midway) by error code. */
  readonly upstreamFailures = new Map<string, number>();
  /** Requests sent again on a new connection after a kept-alive one turned out closed (h1/connection.ts). */
  upstreamResends = 0;
  /** Tokens by model, from the `usage` of replies the chat log read (counted only with the log on). */
  readonly tokens = new Map<string, TokenCount>();
  /** WebSocket sessions joined to the upstream: now open, and ever. */
  websocketSessionsOpen = 0;
  websocketSessions = 0;

  countResponse(status: number): void {
    this.responses[status > 0 && status < STATUS_SLOTS ? status : 0]++;
  }

  /**
   * Adds a reply's `usage`: `prompt_tokens` / `completion_tokens` (chat, completions) or
   * `input_tokens` / `output_tokens` (responses), under the model the reply named.
   */
  countUsage(model: string | null, usage: JsonObject): void {
    const input = tokens(usage.prompt_tokens ?? usage.input_tokens);
    const output = tokens(usage.completion_tokens ?? usage.output_tokens);
    let name = model === null || model === '' ? 'unknown' : model.slice(0, MAX_MODEL_LENGTH);
    let count = this.tokens.get(name);
    if (count === undefined) {
      if (this.tokens.size >= MAX_USAGE_MODELS) name = 'other';
      count = this.tokens.get(name) ?? { input: 0, output: 0 };
      this.tokens.set(name, count);
    }
    count.input += input;
    count.output += output;
  }

  countUpstreamFailure(code: string): void {
    this.upstreamFailures.set(code, (this.upstreamFailures.get(code) ?? 0) + 1);
  }
}
