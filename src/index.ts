/**
 * aifwd as a library: build and start a gateway from code (USERS.md #13: "running it from code").
 *
 * ```ts
 * import { loadConfig, createGateway } from 'aifwd';
 * const config = loadConfig({ flags: { port: '8080' }, env: process.env, cwd: process.cwd() });
 * const gateway = createGateway(config);
 * await gateway.listen();
 * ```
 */
export { ConfigError, loadConfig, type LoadOptions } from './config/load.js';
export { SETTINGS, type Config } from './config/schema.js';
export { GatewayError, ERROR_CODES, type ErrorCode } from './core/errors.js';
export type { ExchangeEnd, ExchangeHook, ExchangeInfo, ExchangeTap } from './core/exchange.js';
export { createGateway, type Gateway, type StartOptions } from './node/gateway.js';
export { startMock, type MockOptions, type MockServer } from './mock/server.js';
export { tuneV8ForServing } from './node/v8-tuning.js';
