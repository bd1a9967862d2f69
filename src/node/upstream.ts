/**
 * The upstream connection: a keep-alive HTTP/1.1 pool per upstream origin (h1/pool.ts), or, when
 * the standard `HTTPS_PROXY` / `HTTP_PROXY` variables are set, undici's `EnvHttpProxyAgent` (which
 * also honours `NO_PROXY`). The origin is fixed here, once, at start-up: requests only carry a path.
 */
import type { Dispatcher } from 'undici';
import { bypassesProxy } from '../core/no-proxy.js';
import { normaliseBasePath } from '../core/route.js';
import { H1Pool } from './h1/pool.js';
import type { UpstreamDispatcher, UpstreamHandler, UpstreamRequest } from './h1/types.js';
import { createEnvProxyAgent } from './undici-parts.js';

export interface UpstreamOptions {
  baseUrl: URL;
  connectTimeoutMs: number;
  /** Waiting for response headers; 0 disables. */
  responseTimeoutMs: number;
  /** Idle time between body chunks; 0 disables. */
  idleTimeoutMs: number;
  env: NodeJS.ProcessEnv;
  /** Called when a request is sent again after a kept-alive connection turned out closed (direct connections only). */
  onResend?: () => void;
  /** The clock of direct connections' deadlines and keep-alive (default `Date.now`). */
  now?: () => number;
}

export interface Upstream {
  readonly dispatcher: UpstreamDispatcher;
  /** `https://api.openai.com` */
  readonly origin: string;
  /** Path of the base URL, normalised (`/v1` or `''`). */
  readonly basePath: string;
  /** The proxy in use, for the banner (credentials removed), or undefined. */
  readonly proxy: string | undefined;
  /** How WebSocket sessions reach the base URL's origin (`NO_PROXY` applied). */
  readonly tunnelRoute: TunnelRoute;
  readonly headersTimeout: number;
  readonly bodyTimeout: number;
  close(): Promise<void>;
}

function proxyFromEnv(env: NodeJS.ProcessEnv, https: boolean): string | undefined {
  // Lower case first, as undici's EnvHttpProxyAgent reads them (it carries the requests).
  const value = https
    ? env.https_proxy ?? env.HTTPS_PROXY ?? env.http_proxy ?? env.HTTP_PROXY
    : env.http_proxy ?? env.HTTP_PROXY;
  return value === undefined || value === '' ? undefined : value;
}

function withoutCredentials(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return '(invalid proxy URL)';
  }
}

/** undici's agents as an {@link UpstreamDispatcher}: they need the origin on every request. */
function viaUndici(agent: Dispatcher, origin: string): UpstreamDispatcher {
  return {
    dispatch(request: UpstreamRequest, handler: UpstreamHandler) {
      // undici calls the same raw-header handler interface; its declared types are narrower.
      agent.dispatch({ ...request, origin }, handler as unknown as Dispatcher.DispatchHandler);
    },
    close: () => agent.close(),
  };
}

/** Direct, through an HTTP(S) proxy (CONNECT, credentials in the URL), or not possible (and why). */
export type TunnelRoute =
  | { readonly kind: 'direct' }
  | { readonly kind: 'proxy'; readonly url: URL }
  | { readonly kind: 'unsupported'; readonly reason: string };

/** The way upgrades take to `baseUrl`, given the proxy from the environment and `NO_PROXY`. */
function tunnelRouteOf(baseUrl: URL, proxy: string | undefined, noProxy: string | undefined): TunnelRoute {
  if (proxy === undefined) return { kind: 'direct' };
  const port = baseUrl.port === '' ? (baseUrl.protocol === 'https:' ? 443 : 80) : Number(baseUrl.port);
  if (bypassesProxy(baseUrl.hostname, port, noProxy)) return { kind: 'direct' };
  let url: URL;
  try {
    url = new URL(proxy.includes('://') ? proxy : `http://${proxy}`);
  } catch {
    return { kind: 'unsupported', reason: 'the outbound proxy URL (HTTPS_PROXY / HTTP_PROXY) is not a valid URL' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { kind: 'unsupported', reason: `WebSocket sessions go through http:// and https:// proxies only, not ${url.protocol}//` };
  }
  return { kind: 'proxy', url };
}

export function createUpstream({ baseUrl, connectTimeoutMs, responseTimeoutMs, idleTimeoutMs, env, onResend, now }: UpstreamOptions): Upstream {
  const origin = baseUrl.origin;
  const proxy = proxyFromEnv(env, baseUrl.protocol === 'https:');
  // Keep idle upstream sockets for a while: a chat burst after a pause should not pay TLS again.
  const dispatcher: UpstreamDispatcher =
    proxy === undefined
      ? new H1Pool({ origin: baseUrl, connectTimeoutMs, headersTimeoutMs: responseTimeoutMs, bodyTimeoutMs: idleTimeoutMs, keepAliveTimeoutMs: 30_000, onResend, now })
      : viaUndici(
          createEnvProxyAgent({
            connect: { timeout: connectTimeoutMs },
            headersTimeout: responseTimeoutMs,
            bodyTimeout: idleTimeoutMs,
            keepAliveTimeout: 30_000,
            keepAliveMaxTimeout: 600_000,
          }),
          origin,
        );
  return {
    dispatcher,
    origin,
    basePath: normaliseBasePath(baseUrl.pathname),
    proxy: proxy === undefined ? undefined : withoutCredentials(proxy),
    tunnelRoute: tunnelRouteOf(baseUrl, proxy, env.no_proxy ?? env.NO_PROXY),
    headersTimeout: responseTimeoutMs,
    bodyTimeout: idleTimeoutMs,
    close: () => dispatcher.close(),
  };
}
