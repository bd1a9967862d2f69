/**
 * What a gateway process counts for its metrics (node/metrics.ts): plain numbers, so counting on
 * the hot path costs an add. Snapshots are taken when the metrics are read, never per request.
 */

/** Statuses counted one by one; anything else (never written by the gateway) counts as 0. */
const STATUS_SLOTS = 600;

export class GatewayCounters {
  /** Responses whose head the gateway wrote, by status code. */
  readonly responses = new Float64Array(STATUS_SLOTS);
  /** Upstream failures (the gateway's 502/504, or a response cut midway) by error code. */
  readonly upstreamFailures = new Map<string, number>();
  /** Requests sent again on a new connection after a kept-alive one turned out closed (h1/connection.ts). */
  upstreamResends = 0;
  /** WebSocket sessions joined to the upstream: now open, and ever. */
  websocketSessionsOpen = 0;
  websocketSessions = 0;

  countResponse(status: number): void {
    this.responses[status > 0 && status < STATUS_SLOTS ? status : 0]++;
  }

  countUpstreamFailure(code: string): void {
    this.upstreamFailures.set(code, (this.upstreamFailures.get(code) ?? 0) + 1);
  }
}
