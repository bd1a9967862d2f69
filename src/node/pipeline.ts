/**
 * The request pipeline: every stage a request passes, in order, in one place.
 *
 *   1. route      origin-form target only; health check; prefix → upstream path   (core/route)
 *   2. client ip  socket peer, X-Forwarded-For only from trusted proxies          (core/ip-filter)
 *   3. access     IP whitelist / blacklist → 403                                  (core/ip-filter)
 *      cors       a browser's request (Origin): its answer gets the CORS headers,
 *                 a preflight is answered here (204)                              (core/cors)
 *   4. headers    hop-by-hop and identifying headers dropped                      (core/headers)
 *   5. auth       forward key / open mode → next pool key in rotation; else
 *                 passthrough; a refused key rests, the request fails over        (core/auth, key-health)
 *                 (a WebSocket's key may come as a subprotocol)                   (core/ws-protocol-key)
 *   6. body size  declared Content-Length over the limit → 413                     (here)
 *   7. tap, body  an exchange hook (chat log) may watch; small bodies read whole  (core/exchange)
 *   8. forward    upstream dispatch, response streamed back with backpressure     (forward-handler)
 *                 or, for a WebSocket upgrade, a tunnel of its own                (upgrade-tunnel)
 */
import type { Authenticator } from '../core/auth.js';
import type { CorsPolicy } from '../core/cors.js';
import type { GatewayCounters } from '../core/counters.js';
import { GatewayError } from '../core/errors.js';
import type { ExchangeHook } from '../core/exchange.js';
import { headerValue, readClientHeaders } from '../core/headers.js';
import type { IpFilter } from '../core/ip-filter.js';
import type { Router } from '../core/route.js';
import { dropProtocolKeys, protocolKey } from '../core/ws-protocol-key.js';
import { type ForwardContext, type ForwardExchange, ForwardHandler } from './forward-handler.js';
import { MAX_RETRIES } from './key-failover.js';
import type { UpstreamRequest } from './h1/types.js';
import { sendError, sendHealth, sendPreflight, upgradeRefusal } from './respond.js';
import { bodyTooLarge, type IncomingRequest } from './server/incoming-request.js';
import type { OutgoingResponse } from './server/outgoing-response.js';
import type { RequestHandler } from './server/server.js';
import { tunnelTarget, tunnelUpgrade } from './upgrade-tunnel.js';
import type { Upstream } from './upstream.js';
import type { UpstreamErrorContext } from './upstream-error.js';

export interface PipelineOptions {
  router: Router;
  ipFilter: IpFilter;
  auth: Authenticator;
  upstream: Upstream;
  /** Largest request body in bytes; 0 = no limit. */
  maxBodySize: number;
  connectTimeoutMs: number;
  /** `total_timeout`: the longest a forwarded request may take, arrival to last byte; 0 (default) = none. WebSocket sessions are exempt. */
  totalTimeoutMs?: number;
  hook?: ExchangeHook;
  /** CORS for browser clients; `null` leaves it to the upstream (`cors_origins: off`). */
  cors: CorsPolicy | null;
  /** Receives one line per upstream failure (stderr in the CLI). */
  log?: (line: string) => void;
  /** What the metrics count: upstream failures and WebSocket sessions here. */
  counters: GatewayCounters;
}

/** What stage 8 needs of an upgrade request. */
interface UpgradeRequest {
  path: string;
  headers: string[];
  origin: string | undefined;
  corsHeaders: readonly string[] | null;
  /** The pool key in `headers`, -1 for none. */
  keyIndex: number;
}

/** A key offered as a WebSocket subprotocol (core/ws-protocol-key.ts), as an Authorization value. */
function protocolCredential(headers: readonly string[]): string | undefined {
  const key = protocolKey(headers);
  return key === undefined ? undefined : `Bearer ${key}`;
}

/** Bodies up to this size with a declared length are read whole before forwarding (see stage 7). */
const WHOLE_BODY_LIMIT = 64 * 1024;

export function createPipeline(options: PipelineOptions): RequestHandler {
  const { router, ipFilter, auth, upstream, maxBodySize, connectTimeoutMs, totalTimeoutMs = 0, hook, cors, log, counters } = options;
  const { dispatcher, origin } = upstream;
  const errorContext: UpstreamErrorContext = {
    origin,
    connectTimeoutMs,
    responseTimeoutMs: upstream.headersTimeout,
    totalTimeoutMs,
    report(error, mid) {
      counters.countUpstreamFailure(error.code);
      log?.(`aifwd: upstream failure${mid ? ' mid-response (client connection cut)' : ''}: ${error.code}: ${error.message}`);
    },
  };
  const checkIp = !ipFilter.allowsAll;
  const tunnelOptions = {
    target: tunnelTarget(new URL(origin), upstream.tunnelRoute.kind === 'proxy' ? upstream.tunnelRoute.url : undefined),
    connectTimeoutMs,
    responseTimeoutMs: upstream.headersTimeout,
    idleTimeoutMs: upstream.bodyTimeout,
    errorContext,
    failover: { pool: auth.pool, log },
    counters,
  };

  /**
   * Stage 8 for an upgrade request: WebSocket only (through an http:// outbound proxy too). Browsers
   * apply no CORS to WebSocket, so an origin list is enforced here (cross-site WebSocket hijacking).
   */
  function upgrade(req: IncomingRequest, res: OutgoingResponse, { path, headers, origin, corsHeaders, keyIndex }: UpgradeRequest): void {
    if (cors !== null && origin !== undefined && !cors.allows(origin)) {
      return sendError(res, new GatewayError('origin_forbidden', `Origin ${origin.slice(0, 100)} may not open WebSocket sessions here (not in CORS_ORIGINS)`), true, corsHeaders);
    }
    const protocol = headerValue(req.headers, 'upgrade') ?? '';
    if (req.method !== 'GET' || protocol.toLowerCase() !== 'websocket' || req.hasBody) {
      return sendError(res, upgradeRefusal(`Only WebSocket upgrades (GET without a body) are forwarded, not "${protocol.slice(0, 40)}" with ${req.method}`), true, corsHeaders);
    }
    const route = upstream.tunnelRoute;
    if (route.kind === 'unsupported') return sendError(res, upgradeRefusal(`WebSocket upgrades cannot be forwarded: ${route.reason}`), true, corsHeaders);
    headers.push('connection', 'upgrade', 'upgrade', protocol);
    tunnelUpgrade(tunnelOptions, { req, res, path, headers, cors: corsHeaders, keyIndex, retriesLeft: retries });
  }

  const forwardContext: ForwardContext = {
    errorContext,
    pool: auth.pool,
    dispatch: (request, handler) => dispatcher.dispatch(request, handler),
    log,
  };
  const retries = Math.min(MAX_RETRIES, Math.max(0, auth.pool.size - 1));

  /** Stage 8. */
  function forward(res: OutgoingResponse, exchange: ForwardExchange): void {
    dispatcher.dispatch(exchange.request, new ForwardHandler(res, forwardContext, exchange));
  }

  return function handleRequest(req: IncomingRequest, res: OutgoingResponse) {
    const method = req.method;

    // 1. route
    const routed = router.route(method, req.url);
    if (routed.kind !== 'forward') {
      // Answered before the headers are read: a browser's request still gets its CORS headers.
      const early = cors === null ? undefined : headerValue(req.headers, 'origin');
      const earlyCors = early === undefined || cors === null ? null : cors.responseHeaders(early);
      return routed.kind === 'health' ? sendHealth(res, earlyCors) : sendError(res, routed.error, true, earlyCors);
    }

    // 2–3. client ip and access
    const head = readClientHeaders(req.headers);
    const ip = ipFilter.clientIp(req.remoteAddress, head.forwardedFor);
    const { origin } = head;
    const corsHeaders = cors === null || origin === undefined ? null : cors.responseHeaders(origin);
    if (checkIp) {
      const denied = ipFilter.check(ip);
      if (denied !== null) return sendError(res, denied, true, corsHeaders);
    }
    // A preflight (Fetch standard: OPTIONS with Access-Control-Request-Method) never goes upstream.
    if (cors !== null && origin !== undefined && method === 'OPTIONS' && headerValue(req.headers, 'access-control-request-method') !== undefined) {
      return sendPreflight(res, cors.preflightHeaders(origin, headerValue(req.headers, 'access-control-request-headers')), head.hasBody);
    }

    // 4–5. headers and credentials; a browser's WebSocket offers its key as a subprotocol instead
    const headers = head.headers;
    const decision = auth.decide(head.authorization ?? (req.upgrade ? protocolCredential(headers) : undefined), auth.pool.restsSeen ? Date.now() : 0);
    const keyIndex = decision.kind === 'pool' ? decision.keyIndex : -1;
    // The pool key goes last: failover (forward-handler.ts) swaps it there.
    if (decision.kind === 'pool') headers.push('authorization', `Bearer ${decision.key}`);
    else if (head.authorization !== undefined) headers.push('authorization', head.authorization);

    // 6. body size
    if (maxBodySize > 0 && head.contentLength > maxBodySize) return sendError(res, bodyTooLarge(maxBodySize), true, corsHeaders);

    if (req.upgrade) {
      // The pool key went into Authorization: a key the client offered as a subprotocol stays here.
      if (decision.kind === 'pool') dropProtocolKeys(headers);
      return upgrade(req, res, { path: routed.path, headers, origin, corsHeaders, keyIndex });
    }

    const opts: UpstreamRequest = { path: routed.path, method, headers, body: null };
    const tap = hook?.open({ method, route: routed.route, ip, startedAt: Date.now() });
    // `keyIndex` is the pool key the request carries (its last header), -1 for none.
    const deadline = totalTimeoutMs > 0 ? Date.now() + totalTimeoutMs : 0;
    const exchange: ForwardExchange = { tap, cors: corsHeaders, request: opts, keyIndex, retriesLeft: retries, deadline };
    if (!head.hasBody) return forward(res, exchange);

    // 7. body: a body a tap watches, or a small one of known length, is read whole and goes out in
    //    one write with the request head (a chat request is a few KB that arrive with the headers);
    //    anything else streams through with backpressure.
    if (tap !== undefined || (head.contentLength > 0 && head.contentLength <= WHOLE_BODY_LIMIT)) {
      req.readAll(maxBodySize, (err, body) => {
        if (err !== null) {
          if (err instanceof GatewayError) sendError(res, err, true, corsHeaders);
          tap?.end(err instanceof GatewayError
            ? { kind: 'error', message: err.message, code: err.code, status: err.status }
            : { kind: 'aborted' });
          return;
        }
        tap?.requestBody(body);
        opts.body = body;
        forward(res, exchange);
      });
      return;
    }

    // 8. forward
    opts.body = req.stream(maxBodySize);
    forward(res, exchange);
  };
}
