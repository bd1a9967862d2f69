/**
 * A keep-alive pool of HTTP/1.1 connections to one upstream origin, written for the gateway's hot
 * path. Measured on this machine against undici 7's Pool with the same raw dispatch handler (a
 * closed loop of 50 concurrent POSTs to nginx, CPU time per request): undici ~24–28 µs, this ~14 µs,
 * which is most of the gap between aifwd and nginx (bench/, BENCHMARKS.md). undici stays in use for
 * outbound proxies (CONNECT tunnels), which this pool does not do.
 *
 * - Connections are unlimited and reused last-in-first-out (the warmest socket first); an idle one
 *   is closed after the server's `Keep-Alive: timeout` (less a second) or `keepAliveTimeoutMs`, and
 *   at most `maxIdle` (256) are kept.
 * - Timeouts (connect, response head, idle body) are deadlines checked by one coarse timer per pool
 *   (250 ms), not a timer per request or chunk.
 * - TLS sessions are resumed across connections.
 */
import { Buffer } from 'node:buffer';
import { connect as netConnect, isIP, type OnReadOpts, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { SlotSet } from '../../core/slot-set.js';
import { READ_BUFFER } from '../socket-reads.js';
import { H1Connection, type ConnectionOwner } from './connection.js';
import { UpstreamClientError, type UpstreamDispatcher, type UpstreamHandler, type UpstreamRequest } from './types.js';

export interface H1PoolOptions {
  /** `http://host:port` or `https://host:port`. */
  origin: URL;
  connectTimeoutMs: number;
  /** Waiting for the response head after the request was sent; 0 = none. */
  headersTimeoutMs: number;
  /** Idle time between response body bytes; 0 = none. */
  bodyTimeoutMs: number;
  /** How long an idle connection is kept when the server gives no hint. */
  keepAliveTimeoutMs?: number;
  /** Extra TLS options for https origins (e.g. `ca`); certificates are verified by default. */
  tls?: ConnectionOptions;
  /** Idle connections kept for reuse; more are closed as their exchanges end (nginx: `keepalive`). */
  maxIdle?: number;
  /** Called when a request goes again on a new connection after the keep-alive race (connection.ts). */
  onResend?: () => void;
  /**
   * The clock read as a request is dispatched, for its deadlines and the keep-alive of idle
   * connections (default `Date.now`; `aifwd run`: one read per event-loop turn, node/turn-clock.ts).
   */
  now?: () => number;
}

const TICK_MS = 250;

export class H1Pool implements UpstreamDispatcher, ConnectionOwner {
  now = Date.now();
  handshakeMs = -1;
  readonly hostHeader: string;
  readonly headersTimeoutMs: number;
  readonly bodyTimeoutMs: number;
  readonly #host: string;
  readonly #port: number;
  readonly #tls: boolean;
  readonly #servername: string | undefined;
  readonly #connectTimeoutMs: number;
  readonly #keepAliveTimeoutMs: number;
  readonly #tlsOptions: ConnectionOptions | undefined;
  readonly #maxIdle: number;
  readonly #onResend: (() => void) | undefined;
  readonly #clock: () => number;
  readonly #idle: H1Connection[] = [];
  /** Connections with an exchange: a SlotSet, not a Set, which would make old-generation garbage per request (core/slot-set.ts). */
  readonly #busy = new SlotSet<H1Connection>();
  #session: Buffer | undefined;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;
  #drained: (() => void) | null = null;
  #closing: Promise<void> | null = null;

  constructor({ origin, connectTimeoutMs, headersTimeoutMs, bodyTimeoutMs, keepAliveTimeoutMs = 30_000, tls, maxIdle = 256, onResend, now = () => Date.now() }: H1PoolOptions) {
    this.#clock = now;
    this.#tlsOptions = tls;
    this.#maxIdle = maxIdle;
    this.#onResend = onResend;
    this.#tls = origin.protocol === 'https:';
    this.#host = origin.hostname.startsWith('[') ? origin.hostname.slice(1, -1) : origin.hostname;
    this.#port = origin.port === '' ? (this.#tls ? 443 : 80) : Number(origin.port);
    this.hostHeader = origin.host;
    this.#servername = this.#tls && isIP(this.#host) === 0 ? this.#host : undefined;
    this.#connectTimeoutMs = connectTimeoutMs;
    this.headersTimeoutMs = headersTimeoutMs;
    this.bodyTimeoutMs = bodyTimeoutMs;
    this.#keepAliveTimeoutMs = keepAliveTimeoutMs;
  }

  dispatch(request: UpstreamRequest, handler: UpstreamHandler): void {
    if (this.#closed) {
      handler.onConnect(() => {});
      handler.onError(new UpstreamClientError('UPSTREAM_CLOSED', 'the upstream pool is closed'));
      return;
    }
    this.now = this.#clock();
    let connection = this.#idle.pop();
    // Skip sockets that closed, half-closed (the server's FIN arrived) or outlived their keep-alive.
    while (connection !== undefined && (!connection.socket.writable || this.now >= connection.idleUntil)) {
      connection.socket.destroy();
      connection = this.#idle.pop();
    }
    this.#start(connection ?? this.#open(), request, handler);
  }

  /** A request in flight goes again on a new connection, closing pool or not (it is not a new one). */
  resend(request: UpstreamRequest, handler: UpstreamHandler): void {
    this.now = this.#clock();
    this.#onResend?.();
    this.#start(this.#open(), request, handler);
  }

  #start(connection: H1Connection, request: UpstreamRequest, handler: UpstreamHandler): void {
    this.#busy.add(connection);
    this.#timer ??= setInterval(this.#tick, TICK_MS).unref();
    connection.start(request, handler);
  }

  release(connection: H1Connection, keepAliveHintMs: number): void {
    this.#busy.delete(connection);
    // After a burst (10,000 streams ending) keep a few warm sockets, not all of them.
    if (this.#closed || this.#idle.length >= this.#maxIdle) {
      connection.socket.destroy();
      this.#checkDrained();
      return;
    }
    // Close before the server would: a request sent on a socket it is closing fails.
    const keep = keepAliveHintMs > 0 ? Math.max(keepAliveHintMs - 1000, 0) : this.#keepAliveTimeoutMs;
    connection.idleUntil = this.now + keep;
    this.#idle.push(connection);
  }

  remove(connection: H1Connection): void {
    // A closed idle connection stays in #idle until dispatch or the timer drops it: removing it here
    // would cost O(idle) per close, O(n²) when thousands of streams' sockets close together.
    this.#busy.delete(connection);
    this.#checkDrained();
  }

  close(): Promise<void> {
    return (this.#closing ??= this.#close());
  }

  #close(): Promise<void> {
    this.#closed = true;
    for (const connection of this.#idle.splice(0)) connection.socket.destroy();
    if (this.#busy.size === 0) {
      this.#stopTimer();
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.#drained = resolve;
    });
  }

  #checkDrained(): void {
    if (this.#busy.size > 0) return;
    if (this.#idle.length === 0) this.#stopTimer();
    if (this.#drained !== null) {
      const resolve = this.#drained;
      this.#drained = null;
      resolve();
    }
  }

  #stopTimer(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  #open(): H1Connection {
    // Reads land in one shared buffer and are copied out at their size (H1Connection.onRead): a
    // socket without `onread` allocates (and later frees) a 64 KB buffer for every read.
    let socket: Socket;
    let connection: H1Connection;
    if (this.#tls) {
      // Node's TLS sockets take `onread` too (documented for tls.connect; missing from its types).
      const options: ConnectionOptions & { onread: OnReadOpts } = {
        ...this.#tlsOptions,
        host: this.#host,
        port: this.#port,
        servername: this.#servername,
        ALPNProtocols: ['http/1.1'],
        session: this.#session,
        onread: { buffer: READ_BUFFER, callback: (size, buffer) => connection.onRead(size, buffer) },
      };
      const tlsSocket: TLSSocket = tlsConnect(options);
      tlsSocket.on('session', (session: Buffer) => {
        this.#session = session;
      });
      socket = tlsSocket;
      connection = new H1Connection(socket, this, 'secureConnect');
    } else {
      socket = netConnect({ host: this.#host, port: this.#port, onread: { buffer: READ_BUFFER, callback: (size, buffer) => connection.onRead(size, buffer) } });
      connection = new H1Connection(socket, this, 'connect');
    }
    // The TCP handshake's time, from after the DNS lookup: a round trip, for the resend window.
    let from = Date.now();
    socket.once('lookup', () => {
      from = Date.now();
    });
    socket.once('connect', () => {
      const ms = Date.now() - from;
      if (this.handshakeMs === -1 || ms < this.handshakeMs) this.handshakeMs = ms;
    });
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 60_000);
    connection.deadlineKind = 'connect';
    connection.deadline = this.#connectTimeoutMs > 0 ? this.now + this.#connectTimeoutMs : 0;
    return connection;
  }

  readonly #tick = (): void => {
    const now = (this.now = Date.now());
    for (const connection of this.#busy.snapshot()) {
      if (connection.deadline !== 0 && now >= connection.deadline) connection.timeout();
    }
    // One pass keeps the live idle connections in order and closes the rest.
    let kept = 0;
    for (const connection of this.#idle) {
      if (connection.socket.destroyed || now >= connection.idleUntil) connection.socket.destroy();
      else this.#idle[kept++] = connection;
    }
    this.#idle.length = kept;
    if (this.#busy.size === 0 && this.#idle.length === 0) this.#stopTimer();
  };
}
