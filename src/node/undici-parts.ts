/**
 * undici's proxy agent, loaded only when an outbound proxy is configured: importing undici loads
 * all of it (fetch, WebSocket, caches), ~21 MB of RSS and ~120 ms at start-up on this machine
 * (measured with `process.memoryUsage()`), which a gateway without a proxy should not pay. The
 * package root is needed: the agent's CONNECT tunnels use API methods the root installs.
 */
import { createRequire } from 'node:module';
import type { Dispatcher, EnvHttpProxyAgent as EnvHttpProxyAgentType } from 'undici';

const require = createRequire(import.meta.url);

/** Loaded on first use. */
export function createEnvProxyAgent(options: EnvHttpProxyAgentType.Options): Dispatcher {
  const { EnvHttpProxyAgent } = require('undici') as { EnvHttpProxyAgent: typeof EnvHttpProxyAgentType };
  return new EnvHttpProxyAgent(options);
}
