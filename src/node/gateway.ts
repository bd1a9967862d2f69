/**
 * Assembles one gateway process from a validated configuration: the pure core objects, the upstream
 * pool, the pipeline and the HTTP(S) server, plus a graceful `close`. Also the programmatic API
 * (`import { startGateway } from 'aifwd'`).
 */
import { Buffer } from 'node:buffer';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import process from 'node:process';
import { createSecureContext } from 'node:tls';
import { ConfigError } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { Authenticator } from '../core/auth.js';
import { GatewayCounters } from '../core/counters.js';
import { createCorsPolicy } from '../core/cors.js';
import type { ExchangeHook } from '../core/exchange.js';
import { IpFilter, parseIpRanges } from '../core/ip-filter.js';
import { createRouter, normalisePrefix } from '../core/route.js';
import { exposeGc, MemoryRelief } from './memory-relief.js';
import { startTransferRelief, TransferRelief } from './transfer-relief.js';
import { createPipeline } from './pipeline.js';
import { localRateGate, type RateGate } from './rate-gate.js';
import { H1Server, type RequestHandler } from './server/server.js';
import { createUpstream, type Upstream } from './upstream.js';

export interface GatewayParts {
  /** What the metrics read (node/metrics.ts). */
  readonly counters: GatewayCounters;
  readonly auth: Authenticator;
  readonly ipFilter: IpFilter;
  readonly upstream: Upstream;
  readonly prefix: string;
  readonly handler: RequestHandler;
}

/** Everything but the server; throws {@link ConfigError} for values only checkable here. */
export interface PartsOptions {
  env: NodeJS.ProcessEnv;
  hook?: ExchangeHook;
  log?: (line: string) => void;
  /** Where to count (default: new ones); given when the chat log counts tokens into them too. */
  counters?: GatewayCounters;
  /** Where forward keys' requests per minute are counted (default: in this process). */
  rateGate?: RateGate;
  /** The clock that stamps requests' arrival (default `Date.now`; `aifwd run`: node/turn-clock.ts). */
  now?: () => number;
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
  const auth = new Authenticator({ poolKeys: config.api_key, forwardKeys: config.forward_key.map((spec) => spec.key) });
  const policies = config.forward_key.map((spec) => spec.policy);
  // Without a pool, forward keys are not recognised (every Authorization passes through): a policy
  // would silently never apply.
  const named = config.forward_key.find((spec) => spec.policy !== null)?.policy;
  if (named !== undefined && named !== null && config.api_key.length === 0) {
    throw new ConfigError(`forward key ${named.name} has a policy, but there is no key pool (OPENAI_API_KEY): forward keys only work with one`);
  }
  const counters = options.counters ?? new GatewayCounters();
  const upstream = createUpstream({
    baseUrl: config.base_url,
    connectTimeoutMs: config.connect_timeout,
    responseTimeoutMs: config.response_timeout,
    idleTimeoutMs: config.idle_timeout,
    env: options.env,
    onResend: () => {
      counters.upstreamResends++;
    },
    now: options.now,
  });
  const prefix = normalisePrefix(config.route_prefix);
  const handler = createPipeline({
    router: createRouter({ prefix, basePath: upstream.basePath }),
    ipFilter,
    auth,
    policies,
    rateGate: options.rateGate ?? localRateGate(policies.map((policy) => policy?.rpm ?? 0)),
    upstream,
    maxBodySize: config.max_body_size,
    connectTimeoutMs: config.connect_timeout,
    totalTimeoutMs: config.total_timeout,
    hook: options.hook,
    cors: createCorsPolicy(config.cors_origins),
    log: options.log,
    counters,
    now: options.now,
  });
  return { counters, auth, ipFilter, upstream, prefix, handler };
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
  const files = { key: read(keyFile, 'ssl_keyfile'), cert: read(certFile, 'ssl_certfile') };
  // What the TLS server will do with them, now: a file that is not PEM, the two swapped or a key
  // that does not match the certificate fails here, in one line, not in the server's constructor.
  try {
    createSecureContext(files);
  } catch (err) {
    const reason = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    throw new ConfigError(`cannot serve HTTPS with ssl_keyfile ${keyFile} and ssl_certfile ${certFile} (${reason}): expected a PEM private key and the PEM certificate chain it belongs to`);
  }
  return files;
}

export interface Gateway extends GatewayParts {
  readonly server: H1Server;
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
  /**
   * Run full garbage collections after a crowd of 1,000+ connections has left, so RSS returns near
   * idle (memory-relief.ts). Exposes `gc()` process-wide; `aifwd run` turns it on. Default false.
   */
  memoryRelief?: boolean;
  /** Where to count for the metrics (default: new ones). */
  counters?: GatewayCounters;
  /** Where forward keys' requests per minute are counted (default: in this process; a cluster worker's primary). */
  rateGate?: RateGate;
  /** The clock that stamps requests' arrival (default `Date.now`; `aifwd run`: one read per event-loop turn, turn-clock.ts). */
  now?: () => number;
}

/** Builds a gateway (not yet listening). */
export function createGateway(config: Config, { env = process.env, hook, log = stderrLine, memoryRelief = false, counters, rateGate, now }: StartOptions = {}): Gateway {
  const tlsFiles = readTls(config);
  const parts = createGatewayParts(config, { env, hook, log, counters, rateGate, now });
  // After a crowd of connections leaves, give its memory back (memory-relief.ts): only when asked
  // (the CLI does), since exposing gc() changes V8's flags for the whole process.
  const gc = memoryRelief ? exposeGc() : undefined;
  const relief = gc === undefined ? undefined : new MemoryRelief(() => gc());
  // Large uploads and downloads: their reads freed as they go (transfer-relief.ts).
  const stopTransferRelief = gc === undefined ? undefined : startTransferRelief(new TransferRelief(() => gc({ type: 'minor' })));
  const server = new H1Server({
    handler: parts.handler,
    onError: (err) => log(`aifwd: internal error while handling a request: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`),
    // Slow or stuck clients get 60 s to send a request head (Node's default).
    headersTimeoutMs: 60_000,
    // Behind a load balancer the gateway must outlive the balancer's idle timeout (README).
    keepAliveTimeoutMs: config.keep_alive_timeout,
    tls: tlsFiles,
    onTick: relief === undefined ? undefined : (connections) => relief.tick(connections),
    counters: parts.counters,
  });
  const net = server.net;
  // After listening, a server error (e.g. EMFILE when accepting) is reported, not fatal.
  let lastServerError = '';
  const onServerError = (err: NodeJS.ErrnoException): void => {
    const line = `aifwd: server error: ${err.code ?? err.message}`;
    if (line !== lastServerError) log(line);
    lastServerError = line;
  };

  let closing: Promise<void> | undefined;
  return {
    ...parts,
    server,
    tls: tlsFiles !== undefined,
    listen: async () => {
      const address = await server.listen(config.port, config.host);
      net.on('error', onServerError);
      return address;
    },
    close(timeoutMs) {
      closing ??= new Promise<void>((resolve) => {
        // Idle keep-alive connections close at once, busy ones after their response; the rest are cut
        // at the deadline.
        const deadline = setTimeout(() => server.closeAllConnections(), timeoutMs);
        void server.close().then(() => {
          clearTimeout(deadline);
          stopTransferRelief?.();
          parts.upstream.close().then(resolve, resolve);
        });
      });
      return closing;
    },
  };
}
