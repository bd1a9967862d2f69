/**
 * Assembles one gateway process from a validated configuration: the pure core objects, the upstream
 * pool, the pipeline and the HTTP(S) server, plus a graceful `close`. Also the programmatic API
 * (`import { startGateway } from 'aifwd'`).
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { ConfigError } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { Authenticator } from '../core/auth.js';
import type { ExchangeHook } from '../core/exchange.js';
import { IpFilter, parseIpRanges } from '../core/ip-filter.js';
import { createRouter, normalisePrefix } from '../core/route.js';
import { createPipeline, type RequestListener } from './pipeline.js';
import { refuseUpgrade } from './respond.js';
import { createUpstream, type Upstream } from './upstream.js';

export interface GatewayParts {
  readonly auth: Authenticator;
  readonly ipFilter: IpFilter;
  readonly upstream: Upstream;
  readonly prefix: string;
  readonly listener: RequestListener;
}

/** Everything but the server; throws {@link ConfigError} for values only checkable here. */
export interface PartsOptions {
  env: NodeJS.ProcessEnv;
  hook?: ExchangeHook;
  log?: (line: string) => void;
}

export function createGatewayParts(config: Config, options: PartsOptions): GatewayParts {
  const ranges = (list: string[], what: string) => {
    try {
      return parseIpRanges(list, what);
    } catch (err) {
      throw new ConfigError((err as Error).message);
    }
  };
  const ipFilter = new IpFilter({
    whitelist: ranges(config.ip_whitelist, 'IP_WHITELIST'),
    blacklist: ranges(config.ip_blacklist, 'IP_BLACKLIST'),
    trustedProxies: ranges(config.trusted_proxies, 'TRUSTED_PROXIES'),
  });
  const auth = new Authenticator({ poolKeys: config.api_key, forwardKeys: config.forward_key });
  const upstream = createUpstream({
    baseUrl: config.base_url,
    connectTimeoutMs: config.connect_timeout,
    responseTimeoutMs: config.response_timeout,
    idleTimeoutMs: config.idle_timeout,
    env: options.env,
  });
  const prefix = normalisePrefix(config.route_prefix);
  const listener = createPipeline({
    router: createRouter({ prefix, basePath: upstream.basePath }),
    ipFilter,
    auth,
    upstream,
    maxBodySize: config.max_body_size,
    connectTimeoutMs: config.connect_timeout,
    hook: options.hook,
    log: options.log,
  });
  return { auth, ipFilter, upstream, prefix, listener };
}

function stderrLine(line: string): void {
  process.stderr.write(`${line}\n`);
}

function readTls(config: Config): { key: Buffer; cert: Buffer } | undefined {
  const { ssl_keyfile: keyFile, ssl_certfile: certFile } = config;
  if (keyFile === undefined && certFile === undefined) return undefined;
  if (keyFile === undefined || certFile === undefined) {
    throw new ConfigError('HTTPS needs both ssl_keyfile and ssl_certfile (one of them is missing)');
  }
  const read = (path: string, name: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new ConfigError(`cannot read ${name} ${path} (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`);
    }
  };
  return { key: read(keyFile, 'ssl_keyfile'), cert: read(certFile, 'ssl_certfile') };
}

export interface Gateway extends GatewayParts {
  readonly server: Server;
  readonly tls: boolean;
  listen(): Promise<AddressInfo>;
  /** Stops accepting, lets in-flight requests finish for up to `timeoutMs`, then cuts the rest. */
  close(timeoutMs: number): Promise<void>;
}

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  hook?: ExchangeHook;
  /** One line per operational event (upstream failures); default: standard error. */
  log?: (line: string) => void;
}

/** Builds a gateway (not yet listening). */
export function createGateway(config: Config, { env = process.env, hook, log = stderrLine }: StartOptions = {}): Gateway {
  const tlsFiles = readTls(config);
  const parts = createGatewayParts(config, { env, hook, log });
  const serverOptions = {
    noDelay: true,
    // Behind a load balancer the gateway must outlive the balancer's idle timeout (often 60 s).
    keepAliveTimeout: 65_000,
    // Uploads and long generations are limited by the upstream timeouts, not by a total here.
    requestTimeout: 0,
  };
  const server: Server =
    tlsFiles === undefined
      ? createHttpServer(serverOptions, parts.listener)
      : createHttpsServer({ ...serverOptions, ...tlsFiles }, parts.listener);
  server.headersTimeout = 60_000;
  server.on('upgrade', (_req, socket) => refuseUpgrade(socket));

  let closing: Promise<void> | undefined;
  return {
    ...parts,
    server,
    tls: tlsFiles !== undefined,
    listen: () =>
      new Promise<AddressInfo>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => {
          server.off('error', reject);
          resolve(server.address() as AddressInfo);
        });
      }),
    close(timeoutMs) {
      closing ??= new Promise<void>((resolve) => {
        // Idle keep-alive sockets would hold the server open; close them now and as requests finish.
        const sweep = setInterval(() => server.closeIdleConnections(), 50);
        const deadline = setTimeout(() => server.closeAllConnections(), timeoutMs);
        server.close(() => {
          clearInterval(sweep);
          clearTimeout(deadline);
          parts.upstream.close().then(resolve, resolve);
        });
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}
