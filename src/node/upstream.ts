/**
 * The upstream connection: one keep-alive undici `Pool` per upstream origin, or, when the standard
 * `HTTPS_PROXY` / `HTTP_PROXY` variables are set, an `EnvHttpProxyAgent` that also honours `NO_PROXY`.
 * The origin is fixed here, once, at start-up: requests only ever carry a path.
 */
import type { Dispatcher } from 'undici';
import { normaliseBasePath } from '../core/route.js';
import { createEnvProxyAgent, Pool } from './undici-parts.js';

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
  readonly dispatcher: Dispatcher;
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

export function createUpstream({ baseUrl, connectTimeoutMs, responseTimeoutMs, idleTimeoutMs, env }: UpstreamOptions): Upstream {
  const origin = baseUrl.origin;
  const common = {
    connect: { timeout: connectTimeoutMs },
    headersTimeout: responseTimeoutMs,
    bodyTimeout: idleTimeoutMs,
    // Keep idle upstream sockets for a while: a chat burst after a pause should not pay TLS again.
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 600_000,
  };
  const proxy = proxyFromEnv(env, baseUrl.protocol === 'https:');
  const dispatcher: Dispatcher = proxy === undefined ? new Pool(origin, common) : createEnvProxyAgent(common);
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
