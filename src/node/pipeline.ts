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
 *      policy     a forward key's expiry and routes → 401/403; the models its
 *                 target and body (read whole) name → 403; its rpm → 429         (core/key-policy, request-model, rate-gate)
 *   6. body size  declared Content-Length over the limit → 413                     (here)
 *   7. tap, body  an exchange hook (chat log) may watch; small bodies read whole  (core/exchange)
 *   8. forward    upstream dispatch, response streamed back with backpressure     (forward-handler)
 *                 or, for a WebSocket upgrade, a tunnel of its own                (upgrade-tunnel)
 */
import { Buffer } from 'node:buffer';
import type { Authenticator } from '../core/auth.js';
import type { CorsPolicy } from '../core/cors.js';
import type { GatewayCounters } from '../core/counters.js';
import { GatewayError } from '../core/errors.js';
import type { ExchangeEnd, ExchangeHook, ExchangeTap } from '../core/exchange.js';
import { headerValue, readClientHeaders } from '../core/headers.js';
import type { IpFilter } from '../core/ip-filter.js';
import { accessRefusal, type KeyPolicy, modelRefusal, rateRefusal, type RequestModels } from '../core/key-policy.js';
import { bothModels, modelsOfBody, modelsOfTarget } from '../core/request-model.js';
import type { Router } from '../core/route.js';
import { dropProtocolKeys, protocolKey } from '../core/ws-protocol-key.js';
import { type ForwardContext, type ForwardExchange, ForwardHandler } from './forward-handler.js';
import { MAX_RETRIES } from './key-failover.js';
import type { UpstreamRequest } from './h1/types.js';
import { sendError, sendHealth, sendPreflight, upgradeRefusal } from './respond.js';
import { type BodyCopy, bodyTooLarge, type IncomingRequest } from './server/incoming-request.js';
import type { OutgoingResponse } from './server/outgoing-response.js';
import type { RequestHandler } from './server/server.js';
import type { RateGate } from './rate-gate.js';
import { tunnelTarget, tunnelUpgrade } from './upgrade-tunnel.js';
import type { Upstream } from './upstream.js';
import type { UpstreamErrorContext } from './upstream-error.js';

export interface PipelineOptions {
  router: Router;
  ipFilter: IpFilter;
  auth: Authenticator;
  /** Per forward key (by index): what it may do, `null` for anything. */
  policies: readonly (KeyPolicy | null)[];
  /** Counts the requests of forward keys with an `rpm` (in the primary under `--workers`). */
  rateGate: RateGate;
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
  /** The clock that stamps a request's arrival, in `Date.now()` milliseconds (default `Date.now`; `aifwd run`: node/turn-clock.ts). */
  now?: () => number;
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

/** A streamed body's copy for the chat log (stage 7): handed over whole once it has ended. */
class TapCopy implements BodyCopy {
  readonly #tap: ExchangeTap;
  #chunks: Buffer[] = [];
  #size = 0;

  constructor(tap: ExchangeTap) {
    this.#tap = tap;
  }

  add(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#size += chunk.length;
  }

  end(): void {
    const chunks = this.#chunks;
    this.#chunks = [];
    this.#tap.requestBody(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, this.#size));
  }
}

/** Bodies up to this size with a declared length are read whole before forwarding (see stage 7). */
const WHOLE_BODY_LIMIT = 64 * 1024;
/** The largest body read whole to check its model, for a forward key limited to some models. */
export const POLICY_BODY_LIMIT = 64 * 1024 * 1024;
const NO_MODEL: RequestModels = { kind: 'none' };
const SESSION_WITHOUT_MODEL: RequestModels = { kind: 'unreadable', why: 'a WebSocket session must name its model in the target (?model=...)' };

export function createPipeline(options: PipelineOptions): RequestHandler {
  const { router, ipFilter, auth, policies, rateGate, upstream, maxBodySize, connectTimeoutMs, totalTimeoutMs = 0, hook, cors, log, counters, now = () => Date.now() } = options;
  const policyBodyLimit = maxBodySize > 0 ? Math.min(maxBodySize, POLICY_BODY_LIMIT) : POLICY_BODY_LIMIT;
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

  /** Answers a request a forward key's policy refuses. */
  function refuse(res: OutgoingResponse, policy: KeyPolicy, error: GatewayError, close: boolean, corsHeaders: readonly string[] | null): void {
    counters.countKeyRefusal(policy.name, error.code);
    sendError(res, error, close, corsHeaders);
  }

  /** Counts a request its policy admitted, then sends it on. */
  function admitted(policy: KeyPolicy, go: () => void): void {
    counters.countKeyRequest(policy.name);
    go();
  }

  /**
   * The policy's last checks — the models the request names, then its rpm (so a refused request
   * takes no place in the minute) — then `go`. `close`: the body is still unread.
   */
  function admit(req: IncomingRequest, res: OutgoingResponse, index: number, policy: KeyPolicy, models: RequestModels, close: boolean, corsHeaders: readonly string[] | null, go: () => void): void {
    const refused = modelRefusal(policy, models);
    if (refused !== null) return refuse(res, policy, refused, close, corsHeaders);
    if (policy.rpm === 0) return admitted(policy, go);
    let answered = false;
    rateGate.admit(index, (waitMs) => {
      answered = true;
      if (waitMs > 0) return refuse(res, policy, rateRefusal(policy, waitMs), close, corsHeaders);
      // Answered later (the primary counts under --workers): a client waiting on 100-continue may send its body now.
      req.releaseContinue();
      admitted(policy, go);
    });
    if (!answered) req.holdContinue();
  }

  /** The tap's outcome for a body that could not be read (too large, stalled, the client gone). */
  function unread(err: Error): ExchangeEnd {
    return err instanceof GatewayError ? { kind: 'error', message: err.message, code: err.code, status: err.status } : { kind: 'aborted' };
  }

  /**
   * Stages 7–8 for a request whose body, if any, is still unread. `startedAt`: its arrival;
   * `keyName`: its forward key's policy name.
   */
  function send(req: IncomingRequest, res: OutgoingResponse, route: string, ip: string, startedAt: number, keyName: string | null, exchange: ForwardExchange, contentLength: number, corsHeaders: readonly string[] | null): void {
    const method = req.method;
    const opts = exchange.request;
    const tap = hook?.open({ method, route, ip, startedAt, keyName });
    exchange.tap = tap;
    if (!req.hasBody) return forward(res, exchange);

    // 7. body: a small one of known length is read whole and goes out in one write with the request
    //    head (a chat request is a few KB that arrive with the headers), and so does any body a tap
    //    watches that is all here already; anything else streams through with backpressure — a
    //    tap's copy taken on the way (a chat request with images, an upload still coming).
    const small = contentLength > 0 && contentLength <= WHOLE_BODY_LIMIT;
    if (tap !== undefined && !small && !req.complete) {
      opts.body = req.stream(maxBodySize, new TapCopy(tap));
      forward(res, exchange);
      return;
    }
    if (tap !== undefined || small) {
      req.readAll(maxBodySize, (err, body) => {
        if (err !== null) {
          if (err instanceof GatewayError) sendError(res, err, true, corsHeaders);
          tap?.end(unread(err));
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
  }

  /**
   * Stages 7–8 for a forward key limited to some models: the body is read whole, and the models it
   * and the target name (`targetModels`) are checked before anything goes upstream.
   */
  function sendChecked(req: IncomingRequest, res: OutgoingResponse, route: string, ip: string, startedAt: number, exchange: ForwardExchange, index: number, policy: KeyPolicy, targetModels: RequestModels, corsHeaders: readonly string[] | null): void {
    req.readAll(policyBodyLimit, (err, body) => {
      if (err !== null) {
        // As in send(): the chat log records an exchange whose body could not be read.
        hook?.open({ method: req.method, route, ip, startedAt, keyName: policy.name })?.end(unread(err));
        if (!(err instanceof GatewayError)) return;
        // Only the policy's own limit is a refusal; max_body_size, a stalled or broken body are not.
        if (err.code === 'body_too_large' && policyBodyLimit === POLICY_BODY_LIMIT) return refuse(res, policy, policyBodyTooLarge(policy), true, corsHeaders);
        return sendError(res, err, true, corsHeaders);
      }
      const models = bothModels(modelsOfBody(headerValue(req.headers, 'content-type'), body), targetModels);
      admit(req, res, index, policy, models, false, corsHeaders, () => {
        const tap = hook?.open({ method: req.method, route, ip, startedAt, keyName: policy.name });
        exchange.tap = tap;
        tap?.requestBody(body);
        exchange.request.body = body;
        forward(res, exchange);
      });
    });
  }

  /** The 413 of a body too large to check its model. */
  function policyBodyTooLarge(policy: KeyPolicy): GatewayError {
    return new GatewayError(
      'body_too_large',
      `Forward key ${policy.name} is limited to some models, so its request bodies are read whole to check the model, up to ${POLICY_BODY_LIMIT / 1024 / 1024} MiB; this one is larger (a key without "models" may send larger bodies)`,
    );
  }

  return function handleRequest(req: IncomingRequest, res: OutgoingResponse) {
    const method = req.method;
    const startedAt = now();

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

    //    policy: what the head tells (expiry, route, a model in the target) is checked now, the
    //    body's model and the rpm below
    const forwardKeyIndex = decision.kind === 'pool' ? decision.forwardKeyIndex : -1;
    const policy = forwardKeyIndex >= 0 ? policies[forwardKeyIndex] : null;
    let targetModels = NO_MODEL;
    if (policy !== null) {
      const refused = accessRefusal(policy, method, routed.route, startedAt);
      if (refused !== null) return refuse(res, policy, refused, head.hasBody, corsHeaders);
      if (policy.models !== null) {
        targetModels = modelsOfTarget(req.url);
        if (head.contentLength > POLICY_BODY_LIMIT) return refuse(res, policy, policyBodyTooLarge(policy), true, corsHeaders);
      }
    }

    // 6. body size
    if (maxBodySize > 0 && head.contentLength > maxBodySize) {
      const tooLarge = bodyTooLarge(maxBodySize);
      sendError(res, tooLarge, true, corsHeaders);
      // Recorded as when a chunked body passes the limit as it is read (send): unread, and the 413.
      hook?.open({ method, route: routed.route, ip, startedAt, keyName: policy === null ? null : policy.name })?.end(unread(tooLarge));
      return;
    }

    if (req.upgrade) {
      // The pool key went into Authorization: a key the client offered as a subprotocol stays here.
      if (decision.kind === 'pool') dropProtocolKeys(headers);
      const session: UpgradeRequest = { path: routed.path, headers, origin, corsHeaders, keyIndex };
      if (policy === null) return upgrade(req, res, session);
      // A Realtime session names its model in the target: one that names none cannot be checked.
      if (policy.models !== null && targetModels.kind === 'none') targetModels = SESSION_WITHOUT_MODEL;
      return admit(req, res, forwardKeyIndex, policy, targetModels, true, corsHeaders, () => upgrade(req, res, session));
    }

    // `keyIndex` is the pool key the request carries (its last header), -1 for none.
    const deadline = totalTimeoutMs > 0 ? startedAt + totalTimeoutMs : 0;
    const request: UpstreamRequest = { path: routed.path, method, headers, body: null };
    const exchange: ForwardExchange = { tap: undefined, cors: corsHeaders, request, keyIndex, retriesLeft: retries, deadline };
    if (policy === null) return send(req, res, routed.route, ip, startedAt, null, exchange, head.contentLength, corsHeaders);
    if (policy.models !== null && head.hasBody) return sendChecked(req, res, routed.route, ip, startedAt, exchange, forwardKeyIndex, policy, targetModels, corsHeaders);
    admit(req, res, forwardKeyIndex, policy, targetModels, head.hasBody, corsHeaders, () => send(req, res, routed.route, ip, startedAt, policy.name, exchange, head.contentLength, corsHeaders));
  };
}
