/**
 * The upstream connection: a keep-alive HTTP/1.1 pool per upstream origin (h1/pool.ts), or, when
 * the standard `HTTPS_PROXY` / `HTTP_PROXY` variables are set, undici's `EnvHttpProxyAgent` (which
 * also honours `NO_PROXY`). The origin is fixed here, once, at start-up: requests only carry a path.
 */
import type { Dispatcher } from 'undici';
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
}

export interface Upstream {
  readonly dispatcher: UpstreamDispatcher;
  /** `https://api.openai.com` */
  readonly origin: string;
  /** Path of the base URL, normalised (`/v1` or `''`). */
  readonly basePath: string;
  /** The proxy in use, for the banner (credentials removed), or undefined. */
  readonly proxy: string | undefined;
  readonly headersTimeout: number;
  readonly bodyTimeout: number;
  close(): Promise<void>;
}

function proxyFromEnv(env: NodeJS.ProcessEnv, https: boolean): string | undefined {
  const value = https
    ? env.HTTPS_PROXY ?? env.https_proxy ?? env.HTTP_PROXY ?? env.http_proxy
    : env.HTTP_PROXY ?? env.http_proxy;
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

export function createUpstream({ baseUrl, connectTimeoutMs, responseTimeoutMs, idleTimeoutMs, env }: UpstreamOptions): Upstream {
  const origin = baseUrl.origin;
  const proxy = proxyFromEnv(env, baseUrl.protocol === 'https:');
  // Keep idle upstream sockets for a while: a chat burst after a pause should not pay TLS again.
  const dispatcher: UpstreamDispatcher =
    proxy === undefined
      ? new H1Pool({ origin: baseUrl, connectTimeoutMs, headersTimeoutMs: responseTimeoutMs, bodyTimeoutMs: idleTimeoutMs, keepAliveTimeoutMs: 30_000 })
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
    headersTimeout: responseTimeoutMs,
    bodyTimeout: idleTimeoutMs,
    close: () => dispatcher.close(),
  };
}
