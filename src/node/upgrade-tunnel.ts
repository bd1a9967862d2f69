/**
 * WebSocket pass-through (the Realtime API, `wss://…/v1/realtime`): an upgrade request goes to
 * the upstream on a connection of its own, with the same header and credential rules as any other
 * request, and once the upstream switches protocols (101) the gateway relays its answer and then
 * joins the two sockets, bytes both ways with backpressure, until either side closes. Frames are
 * not parsed: the gateway adds no latency per message and needs no WebSocket library.
 *
 * Before the switch the exchange is ordinary HTTP: an upstream that refuses (401 for a bad key,
 * 404, …) is answered through as a normal response, and connect, response-header and transport
 * failures become the gateway's 502/504, as for any request. A refused pool key fails over as on
 * the plain path (key-failover.ts): a 429, or a 401 whose body blames the key, rests the key and
 * the upgrade goes again with another, on a new connection, before the client saw anything. After
 * the switch, a failure on either side closes both: WebSocket has its own close handshake, and a
 * cut TCP connection is what a client sees when a session dies.
 */
import { Buffer } from 'node:buffer';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { withCorsHeaders } from '../core/cors.js';
import type { GatewayCounters } from '../core/counters.js';
import { readUpstreamHeaders } from '../core/headers.js';
import { isKeyFault, isKeyRefusal } from '../core/key-health.js';
import { ResponseParser, type ResponseHead, type ResponseSink } from './h1/response-parser.js';
import { isSafeFieldValue } from './h1/syntax.js';
import { type FailoverContext, HOLD_LIMIT, restRefusedKey } from './key-failover.js';
import { sendError } from './respond.js';
import type { IncomingRequest } from './server/incoming-request.js';
import type { OutgoingResponse } from './server/outgoing-response.js';
import { toGatewayError, type UpstreamErrorContext } from './upstream-error.js';

export interface TunnelOptions {
  /** Where the upstream is (tunnelTarget of the base URL). */
  target: TunnelTarget;
  /** Connecting (TLS handshake included); 0 = no limit. */
  connectTimeoutMs: number;
  /** Waiting for the upstream's answer to the upgrade; 0 = no limit. */
  responseTimeoutMs: number;
  /** Idle time between chunks of a refusal's body; 0 = no limit. */
  idleTimeoutMs: number;
  errorContext: UpstreamErrorContext;
  /** The key pool, for failover when the upstream refuses a pool key. */
  failover: FailoverContext;
  /** Open and joined sessions are counted here (metrics). */
  counters: GatewayCounters;
}

/** One upgrade exchange: the client's side and what goes upstream. */
export interface TunnelExchange {
  req: IncomingRequest;
  res: OutgoingResponse;
  /** Upstream path and query. */
  path: string;
  /** Headers to send, flat, `connection` and `upgrade` included. */
  headers: readonly string[];
  /** CORS headers for a browser's request (on a refusal relayed as a response), or null. */
  cors: readonly string[] | null;
  /** The pool key in `headers` (as `authorization`), -1 for none. */
  keyIndex: number;
  /** Other pool keys this exchange may still try. */
  retriesLeft: number;
}

/** A 401 held back until its body says whether the key is at fault. */
interface HeldRefusal {
  readonly head: ResponseHead;
  readonly chunks: Buffer[];
  bytes: number;
}

/** An HTTP proxy the session is tunnelled through (CONNECT). */
export interface TunnelProxy {
  /** An `https://` proxy: TLS to the proxy, then (for an https upstream) TLS inside that. */
  readonly tls: boolean;
  readonly host: string;
  readonly port: number;
  /** `Proxy-Authorization` from the proxy URL's credentials, or undefined. */
  readonly authorization: string | undefined;
}

/** Where the upstream is, resolved once from the base URL (and the outbound proxy, if any). */
export interface TunnelTarget {
  readonly tls: boolean;
  readonly host: string;
  readonly port: number;
  readonly hostHeader: string;
  readonly servername: string | undefined;
  readonly proxy: TunnelProxy | undefined;
}

const bare = (hostname: string): string => (hostname.startsWith('[') ? hostname.slice(1, -1) : hostname);

/** A URL's percent-encoded user or password, decoded; as written when it is not valid percent-encoding. */
function decoded(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

export function tunnelTarget(baseUrl: URL, proxyUrl?: URL): TunnelTarget {
  const tls = baseUrl.protocol === 'https:';
  const host = bare(baseUrl.hostname);
  let proxy: TunnelProxy | undefined;
  if (proxyUrl !== undefined) {
    const credentials = proxyUrl.username === '' ? undefined : `${decoded(proxyUrl.username)}:${decoded(proxyUrl.password)}`;
    const proxyTls = proxyUrl.protocol === 'https:';
    proxy = {
      tls: proxyTls,
      host: bare(proxyUrl.hostname),
      port: proxyUrl.port === '' ? (proxyTls ? 443 : 80) : Number(proxyUrl.port),
      authorization: credentials === undefined ? undefined : `Basic ${Buffer.from(credentials).toString('base64')}`,
    };
  }
  return {
    tls,
    host,
    port: baseUrl.port === '' ? (tls ? 443 : 80) : Number(baseUrl.port),
    hostHeader: baseUrl.host,
    servername: tls && isIP(host) === 0 ? host : undefined,
    proxy,
  };
}

/** Largest answer head of a proxy to CONNECT. */
const MAX_PROXY_HEAD = 16 * 1024;

/** Idle time before TCP keep-alive probes start on a joined session's sockets. */
const KEEP_ALIVE_PROBE_MS = 60_000;

type TimeoutCode = 'UPSTREAM_CONNECT_TIMEOUT' | 'UPSTREAM_HEADERS_TIMEOUT' | 'UPSTREAM_BODY_TIMEOUT';

function timeoutError(code: TimeoutCode): Error {
  return Object.assign(new Error(`${code.slice(9).toLowerCase().replace('_', ' ')}`), { code });
}

/** One upgrade exchange (see the file comment). */
class Tunnel implements ResponseSink {
  readonly #req: IncomingRequest;
  readonly #res: OutgoingResponse;
  readonly #options: TunnelOptions;
  readonly #exchange: TunnelExchange;
  readonly #cors: readonly string[] | null;
  /** The upstream socket (the proxy's until a TLS session over its tunnel replaces it). */
  #upstream: Socket;
  readonly #parser: ResponseParser;
  #timer: NodeJS.Timeout | null = null;
  /** The upstream answered 101: from the end of its head on, bytes are relayed raw. */
  #switched = false;
  #switchHead: ResponseHead | null = null;
  /** The upstream's answer was not a switch and is being relayed as a response. */
  #answering = false;
  #held: HeldRefusal | null = null;
  #done = false;

  constructor(options: TunnelOptions, exchange: TunnelExchange) {
    const { req, res, path, headers, cors } = exchange;
    this.#req = req;
    this.#res = res;
    this.#options = options;
    this.#exchange = exchange;
    this.#cors = cors;
    const { target } = options;
    this.#parser = new ResponseParser(this);
    this.#parser.reset('GET', true);
    const sendHead = (upstream: Socket): void => {
      this.#clearTimer();
      let head = `GET ${path} HTTP/1.1\r\nhost: ${target.hostHeader}\r\n`;
      for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
      upstream.write(`${head}\r\n`, 'latin1');
      if (options.responseTimeoutMs > 0) this.#startTimer(options.responseTimeoutMs, 'UPSTREAM_HEADERS_TIMEOUT');
    };
    if (target.proxy === undefined) {
      // Half-open on plain TCP, so a FIN from either side is passed on (pipe) rather than ending both.
      const upstream = target.tls
        ? tlsConnect({ host: target.host, port: target.port, servername: target.servername, ALPNProtocols: ['http/1.1'] })
        : netConnect({ host: target.host, port: target.port, allowHalfOpen: true });
      this.#upstream = upstream;
      this.#listen(upstream);
      upstream.once(target.tls ? 'secureConnect' : 'connect', () => sendHead(upstream));
    } else {
      this.#upstream = this.#viaProxy(target, target.proxy, sendHead);
    }
    if (options.connectTimeoutMs > 0) this.#startTimer(options.connectTimeoutMs, 'UPSTREAM_CONNECT_TIMEOUT');
    // The client leaving before the switch cancels the upstream attempt.
    res.onClose = () => {
      if (!this.#switched) this.#finish();
    };
  }

  /** Listens to the socket the upstream's answer comes from. */
  #listen(upstream: Socket): void {
    upstream.setNoDelay(true);
    upstream.on('error', this.#fail);
    // A half-open socket reports the upstream's FIN as 'end' only: before the switch it ends the answer.
    upstream.on('end', this.#onUpstreamClose);
    upstream.on('close', this.#onUpstreamClose);
    upstream.on('data', this.#onUpstreamData);
  }

  /**
   * Opens a CONNECT tunnel through the HTTP proxy (RFC 9110 §9.3.6; over TLS to an https:// proxy),
   * then TLS inside it for an https upstream, and calls `ready` with the socket to send the upgrade on. Answers the proxy's
   * own socket (what to destroy until then).
   */
  #viaProxy(target: TunnelTarget, proxy: TunnelProxy, ready: (upstream: Socket) => void): Socket {
    const raw = proxy.tls
      ? tlsConnect({ host: proxy.host, port: proxy.port, servername: isIP(proxy.host) === 0 ? proxy.host : undefined, ALPNProtocols: ['http/1.1'] })
      : netConnect({ host: proxy.host, port: proxy.port, allowHalfOpen: !target.tls });
    raw.setNoDelay(true);
    const authority = `${isIP(target.host) === 6 ? `[${target.host}]` : target.host}:${target.port}`;
    let answer = Buffer.alloc(0);
    const failed = (message: string): void => this.#fail(Object.assign(new Error(`outbound proxy ${proxy.host}:${proxy.port}: ${message}`), { code: 'UPSTREAM_PROXY_ERROR' }));
    const onData = (chunk: Buffer): void => {
      answer = Buffer.concat([answer, chunk]);
      const end = answer.indexOf('\r\n\r\n');
      if (end === -1 ? answer.length > MAX_PROXY_HEAD : end > MAX_PROXY_HEAD) {
        failed('answer head too large');
        return;
      }
      if (end === -1) return;
      raw.off('data', onData);
      raw.off('error', onError);
      raw.off('end', onClose);
      raw.off('close', onClose);
      const statusLine = answer.toString('latin1', 0, answer.indexOf('\r\n'));
      if (!/^HTTP\/1\.[01] 2\d\d /.test(`${statusLine} `)) {
        failed(`refused the tunnel (${statusLine.slice(0, 60)})`);
        return;
      }
      // Nobody speaks first in a fresh tunnel (not HTTP, not TLS): bytes here mean a confused proxy.
      if (answer.length > end + 4) {
        failed('sent bytes into the tunnel before it was used');
        return;
      }
      if (!target.tls) {
        this.#listen(raw);
        ready(raw);
        return;
      }
      // `host` is the name the certificate must carry (an IP upstream has no servername for SNI).
      raw.on('error', this.#fail);
      const secure = tlsConnect({ socket: raw, host: target.host, servername: target.servername, ALPNProtocols: ['http/1.1'] });
      this.#upstream = secure;
      this.#listen(secure);
      secure.once('secureConnect', () => ready(secure));
    };
    const onClose = (): void => failed('closed the connection');
    // Until the tunnel is up, a failure is the proxy's (refused, reset, a TLS handshake to it).
    const onError = (err: NodeJS.ErrnoException): void => failed(`${err.code ?? 'error'}: ${err.message}`);
    raw.on('error', onError);
    raw.on('end', onClose);
    raw.on('close', onClose);
    raw.on('data', onData);
    raw.once(proxy.tls ? 'secureConnect' : 'connect', () => {
      const auth = proxy.authorization === undefined ? '' : `proxy-authorization: ${proxy.authorization}\r\n`;
      raw.write(`CONNECT ${authority} HTTP/1.1\r\nhost: ${authority}\r\n${auth}\r\n`, 'latin1');
    });
    return raw;
  }

  #startTimer(ms: number, code: TimeoutCode): void {
    this.#clearTimer();
    this.#timer = setTimeout(() => this.#fail(timeoutError(code)), ms);
  }

  #clearTimer(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #onUpstreamData = (chunk: Buffer): void => {
    if (this.#done) return;
    try {
      const at = this.#parser.execute(chunk);
      if (this.#switched) this.#join(chunk.subarray(at));
    } catch (err) {
      this.#fail(err);
    }
  };

  // ResponseSink: the upstream's answer to the upgrade request.

  onHead(head: ResponseHead): void {
    this.#clearTimer();
    if (head.status === 101) {
      const unsafe = [head.statusText, ...head.headers.filter((_, i) => i % 2 === 1)].some((value) => !isSafeFieldValue(value));
      if (unsafe) throw Object.assign(new Error('invalid header value in the 101 answer'), { code: 'UPSTREAM_PROTOCOL_ERROR' });
      this.#switched = true;
      this.#switchHead = head;
      return;
    }
    if (this.#exchange.keyIndex !== -1 && isKeyRefusal(head.status)) {
      if (head.status === 401) {
        this.#held = { head, chunks: [], bytes: 0 };
        this.#bodyIdle();
        return;
      }
      // A 429's body does not matter: this attempt ends here.
      if (this.#failedOver(head)) return;
    }
    this.#answer(head);
  }

  /** Relays a refusal's head to the client; its body follows. */
  #answer(head: ResponseHead): void {
    const { headers } = readUpstreamHeaders(head.headers);
    // Throws on a header value that may not be written: #fail answers 502 (nothing was sent yet).
    this.#res.writeHead(head.status, this.#cors === null ? headers : withCorsHeaders(headers, this.#cors));
    this.#answering = true;
    this.#bodyIdle();
  }

  /** Rests the refused key; true when the upgrade went again with another key (this attempt is over). */
  #failedOver(head: ResponseHead): boolean {
    const exchange = this.#exchange;
    const mayRetry = exchange.retriesLeft > 0 && !this.#res.destroyed;
    const next = restRefusedKey(this.#options.failover, exchange.keyIndex, head.status, readUpstreamHeaders(head.headers).headers, mayRetry);
    if (next === -1) return false;
    this.#finish();
    const headers = exchange.headers.slice();
    for (let i = 0; i < headers.length; i += 2) {
      if (headers[i] === 'authorization') headers[i + 1] = `Bearer ${this.#options.failover.pool.key(next)}`;
    }
    new Tunnel(this.#options, { ...exchange, headers, keyIndex: next, retriesLeft: exchange.retriesLeft - 1 });
    return true;
  }

  onBody(chunk: Buffer): void {
    const held = this.#held;
    if (held !== null) {
      this.#bodyIdle();
      held.chunks.push(chunk);
      held.bytes += chunk.length;
      // Too large to be an error about the key: it is the answer.
      if (held.bytes > HOLD_LIMIT) this.#release(held);
      return;
    }
    if (!this.#answering) return;
    this.#relayBody(chunk);
  }

  /** Relays a held refusal's head and what came of its body so far. */
  #release(held: HeldRefusal): void {
    this.#held = null;
    this.#answer(held.head);
    for (const chunk of held.chunks) this.#relayBody(chunk);
  }

  #relayBody(chunk: Buffer): void {
    this.#bodyIdle();
    if (this.#res.write(chunk)) return;
    // The client reads slower than the upstream sends: pause the upstream until it drains.
    this.#upstream.pause();
    this.#res.onDrain = () => {
      this.#res.onDrain = null;
      this.#upstream.resume();
    };
  }

  /** (Re)starts the idle limit of a refusal's body. */
  #bodyIdle(): void {
    if (this.#options.idleTimeoutMs > 0) this.#startTimer(this.#options.idleTimeoutMs, 'UPSTREAM_BODY_TIMEOUT');
  }

  onEnd(): void {
    const held = this.#held;
    if (held !== null) {
      this.#held = null;
      const body = Buffer.concat(held.chunks, held.bytes);
      if (isKeyFault(body.toString('utf8')) && this.#failedOver(held.head)) return;
      this.#release(held);
    }
    if (!this.#answering) return;
    this.#res.end();
    this.#finish();
  }

  /** Relays the 101 and joins the sockets; `rest` is what the upstream sent after its head. */
  #join(rest: Buffer): void {
    const head = this.#switchHead;
    if (head === null) return;
    this.#upstream.off('data', this.#onUpstreamData);
    this.#upstream.off('error', this.#fail);
    this.#upstream.off('end', this.#onUpstreamClose);
    this.#upstream.off('close', this.#onUpstreamClose);
    this.#res.onClose = null;
    const { socket: client, head: early } = this.#req.detach();
    // The 101 goes out as the upstream wrote it, `Connection` and `Upgrade` included: they are
    // what the client's WebSocket checks (with `Sec-WebSocket-Accept`).
    let text = `HTTP/1.1 101 ${head.statusText === '' ? 'Switching Protocols' : head.statusText}\r\n`;
    for (let i = 0; i < head.headers.length; i += 2) text += `${head.headers[i]}: ${head.headers[i + 1]}\r\n`;
    client.write(`${text}\r\n`, 'latin1');
    if (rest.length > 0) client.write(rest);
    const upstream = this.#upstream;
    if (early.length > 0) upstream.write(early);
    // A session may stay quiet for long: TCP keep-alive finds a peer that vanished without a FIN.
    client.setKeepAlive(true, KEEP_ALIVE_PROBE_MS);
    upstream.setKeepAlive(true, KEEP_ALIVE_PROBE_MS);
    const counters = this.#options.counters;
    counters.countResponse(101);
    counters.websocketSessions++;
    counters.websocketSessionsOpen++;
    let open = true;
    const closeBoth = (): void => {
      if (open) {
        open = false;
        counters.websocketSessionsOpen--;
      }
      client.destroy();
      upstream.destroy();
    };
    client.on('error', closeBoth);
    upstream.on('error', closeBoth);
    client.on('close', closeBoth);
    upstream.on('close', closeBoth);
    // A FIN from one side is passed on; the socket closes once both directions ended.
    client.pipe(upstream);
    upstream.pipe(client);
    client.resume();
  }

  #onUpstreamClose = (): void => {
    if (this.#done || this.#switched) return;
    // Closed before a complete answer: a response delimited by the close ends here (the parser
    // calls onEnd, which may fail over or relay a held refusal), else it failed.
    if (this.#answering || this.#held !== null) {
      try {
        if (this.#parser.endOfInput()) return;
      } catch (err) {
        // Outside parser.execute's catch: a held refusal's head the client may not get.
        this.#fail(err);
        return;
      }
    }
    this.#fail(Object.assign(new Error('the upstream closed the connection'), { code: 'UPSTREAM_CLOSED' }));
  };

  #fail = (err: unknown): void => {
    if (this.#done) return;
    this.#finish();
    const res = this.#res;
    const error = toGatewayError(err, this.#options.errorContext);
    if (this.#answering || res.headersSent) {
      // A refusal cut mid-body: the client must not take it for a whole answer.
      this.#options.errorContext.report(error, true);
      res.destroy();
      return;
    }
    this.#options.errorContext.report(error, false);
    sendError(res, error, true, this.#cors);
  };

  #finish(): void {
    this.#done = true;
    this.#clearTimer();
    this.#upstream.destroy();
  }
}

/**
 * Forwards an upgrade request (already routed, checked and authorised: `exchange` holds what goes
 * upstream) and, when the upstream switches protocols, joins the client to it.
 */
export function tunnelUpgrade(options: TunnelOptions, exchange: TunnelExchange): void {
  new Tunnel(options, exchange);
}
