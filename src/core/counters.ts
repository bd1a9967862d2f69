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
/** Where models beyond {@link MAX_USAGE_MODELS} are counted. */
export const OTHER_MODEL = 'other';
const MAX_MODEL_LENGTH = 100;
/** More tokens than this in one reply is not a count (an upstream's bug): it is left out. */
const MAX_TOKENS_PER_REPLY = 1_000_000_000;

/**
 * A model name fit for a label: at most {@link MAX_MODEL_LENGTH} UTF-16 units, lone surrogates (a
 * cut emoji, or an escape in the reply) and control characters as U+FFFD, so two names that would
 * read the same once encoded as UTF-8 are one series.
 */
function labelModel(model: string): string {
  const cut = model.length > MAX_MODEL_LENGTH ? model.slice(0, MAX_MODEL_LENGTH) : model;
  return cut.replace(/[\u0000-\u001f\u007f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}

/** Tokens of one model, as the upstream's `usage` reported them. */
export interface TokenCount {
  input: number;
  output: number;
}

/** A count of tokens from a `usage` member, when it is one (a whole number from 0 to a billion), else 0. */
function tokens(value: unknown): number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= MAX_TOKENS_PER_REPLY ? value : 0;
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
  /** The same tokens by the name of the forward key's policy, for requests that came with one. */
  readonly keyTokens = new Map<string, TokenCount>();
  /** Requests of forward keys with a policy that the policy admitted, by the key's name. */
  readonly keyRequests = new Map<string, number>();
  /** Requests a forward key's policy refused: by the key's name, then by error code. */
  readonly keyRefusals = new Map<string, Map<string, number>>();
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
  countUsage(model: string | null, usage: JsonObject, keyName: string | null = null): void {
    const input = tokens(usage.prompt_tokens ?? usage.input_tokens);
    const output = tokens(usage.completion_tokens ?? usage.output_tokens);
    if (keyName !== null) {
      // Names come from the configuration, so they are few and fit as labels.
      const byKey = this.keyTokens.get(keyName);
      if (byKey === undefined) this.keyTokens.set(keyName, { input, output });
      else {
        byKey.input += input;
        byKey.output += output;
      }
    }
    const raw = model === null || model === '' ? 'unknown' : model;
    // Most names are fit as they are: the lookup by the raw name finds them without the check.
    let count = this.tokens.get(raw);
    if (count === undefined) {
      let name = labelModel(raw);
      count = this.tokens.get(name);
      if (count === undefined) {
        if (this.tokens.size >= MAX_USAGE_MODELS) name = OTHER_MODEL;
        count = this.tokens.get(name) ?? { input: 0, output: 0 };
        this.tokens.set(name, count);
      }
    }
    count.input += input;
    count.output += output;
  }

  countKeyRequest(name: string): void {
    this.keyRequests.set(name, (this.keyRequests.get(name) ?? 0) + 1);
  }

  countKeyRefusal(name: string, code: string): void {
    let byCode = this.keyRefusals.get(name);
    if (byCode === undefined) {
      byCode = new Map();
      this.keyRefusals.set(name, byCode);
    }
    byCode.set(code, (byCode.get(code) ?? 0) + 1);
  }

  countUpstreamFailure(code: string): void {
    this.upstreamFailures.set(code, (this.upstreamFailures.get(code) ?? 0) + 1);
  }
}
