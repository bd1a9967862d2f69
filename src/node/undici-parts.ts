/**
 * The two undici dispatchers the gateway uses, loaded from their own modules. Importing the package
 * root loads all of undici (fetch, WebSocket, caches): ~21 MB of RSS and ~120 ms at start-up on this
 * machine, against ~12 MB and ~35 ms for the Pool alone (measured with `process.memoryUsage()`), and
 * the proxy agent is only needed when HTTPS_PROXY/HTTP_PROXY is set. Types come from the package's
 * own declarations. undici is pinned to 7.x (`~7.30`), whose file layout these paths follow.
 */
import { createRequire } from 'node:module';
import type { Dispatcher, EnvHttpProxyAgent as EnvHttpProxyAgentType, Pool as PoolType } from 'undici';

const require = createRequire(import.meta.url);

export const Pool = require('undici/lib/dispatcher/pool.js') as typeof PoolType;

/** Loaded on first use. */
export function createEnvProxyAgent(options: EnvHttpProxyAgentType.Options): Dispatcher {
  const EnvHttpProxyAgent = require('undici/lib/dispatcher/env-http-proxy-agent.js') as typeof EnvHttpProxyAgentType;
  return new EnvHttpProxyAgent(options);
}
