/**
 * undici's proxy agent, loaded from its own module and only when an outbound proxy is configured.
 * Importing the package root loads all of undici (fetch, WebSocket, caches): ~21 MB of RSS and
 * ~120 ms at start-up on this machine (measured with `process.memoryUsage()`). Types come from the
 * package's own declarations; undici is pinned to 7.x (`~7.30`), whose file layout this path follows.
 */
import { createRequire } from 'node:module';
import type { Dispatcher, EnvHttpProxyAgent as EnvHttpProxyAgentType } from 'undici';

const require = createRequire(import.meta.url);

/** Loaded on first use. */
export function createEnvProxyAgent(options: EnvHttpProxyAgentType.Options): Dispatcher {
  const EnvHttpProxyAgent = require('undici/lib/dispatcher/env-http-proxy-agent.js') as typeof EnvHttpProxyAgentType;
  return new EnvHttpProxyAgent(options);
}
