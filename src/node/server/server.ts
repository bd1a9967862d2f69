/**
 * The gateway's HTTP/1.1 server, on `net` (or `tls`) sockets directly. node:http costs about twice
 * the CPU of a plain socket server per request on this machine (a keep-alive POST answered with
 * 354 bytes: 19.7 µs against 9.7 µs, wrk at 50 connections, both pinned to one core), which
 * alone put the gateway over its CPU budget (DESIGN §7). This server does what the gateway needs
 * and no more: strict request parsing (h1/request-parser.ts), keep-alive and pipelining, `Expect:
 * 100-continue`, body backpressure, one write per small response, and shutdown. Protocol upgrades
 * (WebSocket) are refused with an error.
 *
 * One coarse timer (1 s) keeps the clock, the cached `Date` header and every connection's
 * deadline; there is no timer per request or socket.
 */
import { Buffer } from 'node:buffer';
import { GatewayCounters } from '../../core/counters.js';
import { SlotSet } from '../../core/slot-set.js';
import { Server as NetServer, type AddressInfo, type Socket } from 'node:net';
import { Server as TlsServer, type TLSSocket } from 'node:tls';
import type { GatewayError } from '../../core/errors.js';
import { ServerConnection, type ConnectionServer } from './connection.js';
import type { IncomingRequest } from './incoming-request.js';
import type { OutgoingResponse } from './outgoing-response.js';

export type RequestHandler = (req: IncomingRequest, res: OutgoingResponse) => void;

export interface H1ServerOptions {
  handler: RequestHandler;
  /**
   * The error protocol upgrade requests (WebSocket) are answered with (the connection then
   * closes); without it they reach the handler (IncomingRequest.upgrade, detach()).
   */
  upgradeRefusal?: () => GatewayError;
  /** Receives what a handler threw (the client got a 500). */
  onError: (err: unknown) => void;
  /** From the first byte of a request head to its end; 0 = none. */
  headersTimeoutMs: number;
  /** An idle keep-alive connection is closed after this; 0 = never. */
  keepAliveTimeoutMs: number;
  /** Key and certificate for HTTPS. */
  tls?: { key: Buffer; cert: Buffer };
  /** Called by the server's once-a-second timer with the number of open connections. */
  onTick?: (connections: number) => void;
  /** Where responses are counted by status (metrics); default: counters of its own. */
  counters?: GatewayCounters;
}

const TICK_MS = 1000;

export class H1Server implements ConnectionServer {
  now = Date.now();
  date = new Date(this.now).toUTCString();
  closing = false;
  readonly counters: GatewayCounters;
  readonly keepAliveLine: string;
  readonly headersTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  /** The listening socket server (plain or TLS). */
  readonly net: NetServer;
  readonly #handler: RequestHandler;
  readonly #upgradeRefusal: (() => GatewayError) | undefined;
  readonly #onError: (err: unknown) => void;
  readonly #onTick: ((connections: number) => void) | undefined;
  /** A SlotSet, not a Set: a client that opens a connection per request makes no old-generation garbage (core/slot-set.ts). */
  readonly #connections = new SlotSet<ServerConnection>();
  /**
   * Open sockets that are not a connection, so shutdown can cut them too: with TLS every TCP socket,
   * also one still in its handshake; and a socket handed over after a protocol switch (WebSocket).
   * A plain socket is a connection at once, so it costs this Set nothing.
   */
  readonly #sockets = new Set<Socket>();
  #timer: NodeJS.Timeout | null = null;
  readonly #tls: boolean;

  constructor(options: H1ServerOptions) {
    this.#handler = options.handler;
    this.#upgradeRefusal = options.upgradeRefusal;
    this.#onError = options.onError;
    this.#onTick = options.onTick;
    this.headersTimeoutMs = options.headersTimeoutMs;
    this.keepAliveTimeoutMs = options.keepAliveTimeoutMs;
    this.counters = options.counters ?? new GatewayCounters();
    this.#tls = options.tls !== undefined;
    this.keepAliveLine = options.keepAliveTimeoutMs > 0 ? `keep-alive: timeout=${Math.floor(options.keepAliveTimeoutMs / 1000)}\r\n` : '';
    if (options.tls === undefined) {
      // Half-open: a client's FIN is the connection's business (connection.ts), not an automatic end.
      this.net = new NetServer({ noDelay: true, allowHalfOpen: true }, this.#onConnection);
    } else {
      // Not half-open (as node:https): a socket that closes before its handshake ends at once.
      this.net = new TlsServer({ noDelay: true, ...options.tls });
      this.net.on('secureConnection', (socket: TLSSocket) => {
        socket.setNoDelay(true);
        this.#onConnection(socket);
      });
      // A failed handshake only concerns that client; the socket is destroyed by Node.
      this.net.on('tlsClientError', () => {});
      // Every TCP socket, also one still in its handshake, so shutdown can cut them all.
      this.net.on('connection', (socket: Socket) => this.#track(socket));
    }
  }

  /** Open client connections. */
  get connections(): number {
    return this.#connections.size;
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise<AddressInfo>((resolve, reject) => {
      this.net.once('error', reject);
      this.net.listen(port, host, () => {
        this.net.off('error', reject);
        this.#timer = setInterval(this.#tick, TICK_MS);
        this.#timer.unref();
        resolve(this.net.address() as AddressInfo);
      });
    });
  }

  /** Stops accepting; idle connections close now, busy ones after their response. Resolves when all are gone. */
  close(): Promise<void> {
    this.closing = true;
    return new Promise<void>((resolve) => {
      this.net.close(() => {
        if (this.#timer !== null) clearInterval(this.#timer);
        this.#timer = null;
        resolve();
      });
      this.closeIdleConnections();
    });
  }

  closeIdleConnections(): void {
    for (const connection of this.#connections.snapshot()) connection.closeIdle();
  }

  closeAllConnections(): void {
    for (const connection of this.#connections.snapshot()) connection.socket.destroy();
    for (const socket of this.#sockets) socket.destroy();
  }

  // ConnectionServer ----------------------------------------------------------------------------

  handle(req: IncomingRequest, res: OutgoingResponse): void {
    this.#handler(req, res);
  }

  upgradeRefusal(): GatewayError | undefined {
    return this.#upgradeRefusal?.();
  }

  reportError(err: unknown): void {
    this.#onError(err);
  }

  deadline(ms: number): number {
    // `now` lags the real time by up to a tick: without the extra tick a deadline could pass early
    // (an idle connection closed before the keep-alive timeout its responses announced).
    return ms > 0 ? this.now + ms + TICK_MS : 0;
  }

  remove(connection: ServerConnection): void {
    this.#connections.delete(connection);
  }

  detached(connection: ServerConnection): void {
    this.#connections.delete(connection);
    if (!this.#tls) this.#track(connection.socket);
  }

  #track(socket: Socket): void {
    if (socket.destroyed) return;
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
  }

  #onConnection = (socket: Socket): void => {
    if (this.closing) {
      socket.destroy();
      return;
    }
    this.#connections.add(new ServerConnection(socket, this, !this.#tls));
  };

  #tick = (): void => {
    const now = Date.now();
    this.now = now;
    this.date = new Date(now).toUTCString();
    for (const connection of this.#connections.snapshot()) {
      if (connection.deadline !== 0 && connection.deadline <= now) connection.timeout();
    }
    this.#onTick?.(this.#connections.size);
  };
}
