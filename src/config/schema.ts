/**
 * Every setting of `aifwd run`, in one table: its config-file key, flag, environment variables,
 * default and parser. The `Config` type, validation, the CLI options, the config-file check and the
 * README's table all come from here, so they cannot drift apart.
 *
 * Why not zod (DESIGN §1 suggests it): loading zod 4 costs ~80 ms of a 300 ms start-to-healthy
 * budget and ~13 MB of idle RSS on this machine, for a schema of flat scalar settings whose parsers
 * (values.ts) already carry all the checks and messages. The table is the single source of truth.
 */
import { forwardKeys } from './forward-keys.js';
import { bool, byteSize, corsOrigins, httpUrl, integer, ipList, list, optionalText, routePrefix, secondsAsMs, text, type Parser } from './values.js';

export interface SettingSpec {
  /** Flag without dashes (`base-url`); the seed's underscore spelling (`base_url`) is accepted too. */
  readonly flag: string;
  /** Environment variable names, first one documented. */
  readonly env: readonly string[];
  /** Flag value placeholder; `undefined` for a boolean switch. */
  readonly arg?: string;
  readonly description: string;
  /** Default as written by a user (parsed like any other input). */
  readonly default?: string;
  /** Turns a raw value (string from flags/env, any YAML/JSON value from a file) into the setting. */
  readonly parse: Parser<unknown>;
}

export const SETTINGS = {
  base_url: { flag: 'base-url', env: ['OPENAI_BASE_URL'], arg: 'url', default: 'https://api.openai.com', parse: httpUrl, description: 'upstream base URL (may carry a path)' },
  api_key: { flag: 'api-key', env: ['OPENAI_API_KEY'], arg: 'keys', parse: list, description: 'upstream key pool, used round-robin' },
  forward_key: { flag: 'forward-key', env: ['FORWARD_KEY'], arg: 'keys', parse: forwardKeys, description: 'keys clients may present instead of a real key; in a config file each may carry a policy (models, routes, rpm, expires)' },
  route_prefix: { flag: 'route-prefix', env: ['ROUTE_PREFIX'], arg: 'path', parse: routePrefix, description: 'path prefix the gateway serves under' },
  log_chat: { flag: 'log-chat', env: ['LOG_CHAT'], default: 'false', parse: bool, description: 'record conversations in the chat log' },
  log_dir: { flag: 'log-dir', env: ['LOG_DIR'], arg: 'dir', default: './Log', parse: text, description: 'directory of the chat log (chat.log)' },
  log_rotate_size: { flag: 'log-rotate-size', env: ['LOG_ROTATE_SIZE'], arg: 'size', default: '20mb', parse: byteSize, description: 'rotate the chat log at this size' },
  ip_whitelist: { flag: 'ip-whitelist', env: ['IP_WHITELIST'], arg: 'ips', parse: ipList, description: 'client IPs/CIDRs allowed (v4 and v6)' },
  ip_blacklist: { flag: 'ip-blacklist', env: ['IP_BLACKLIST'], arg: 'ips', parse: ipList, description: 'client IPs/CIDRs denied (v4 and v6)' },
  cors_origins: { flag: 'cors-origins', env: ['CORS_ORIGINS'], arg: 'origins', default: '*', parse: corsOrigins, description: 'browser origins allowed to call the gateway (CORS): * = any, or a list; off = leave CORS to the upstream' },
  trusted_proxies: { flag: 'trusted-proxies', env: ['TRUSTED_PROXIES'], arg: 'ips', parse: ipList, description: 'peers whose X-Forwarded-For is believed' },
  port: { flag: 'port', env: ['PORT'], arg: 'port', default: '8000', parse: integer(0, 65535), description: 'listen port' },
  host: { flag: 'host', env: ['HOST'], arg: 'host', default: '0.0.0.0', parse: text, description: 'listen address' },
  workers: { flag: 'workers', env: ['WORKERS'], arg: 'n', default: '1', parse: integer(1, 256), description: 'worker processes sharing the port' },
  ssl_keyfile: { flag: 'ssl-keyfile', env: ['ssl_keyfile', 'SSL_KEYFILE'], arg: 'file', parse: optionalText, description: 'TLS private key (serve HTTPS)' },
  ssl_certfile: { flag: 'ssl-certfile', env: ['ssl_certfile', 'SSL_CERTFILE'], arg: 'file', parse: optionalText, description: 'TLS certificate chain (serve HTTPS)' },
  connect_timeout: { flag: 'connect-timeout', env: ['CONNECT_TIMEOUT'], arg: 'seconds', default: '10', parse: secondsAsMs, description: 'upstream connect timeout' },
  response_timeout: { flag: 'response-timeout', env: ['RESPONSE_TIMEOUT'], arg: 'seconds', default: '600', parse: secondsAsMs, description: 'wait for upstream response headers (0 = none)' },
  idle_timeout: { flag: 'idle-timeout', env: ['IDLE_TIMEOUT'], arg: 'seconds', default: '600', parse: secondsAsMs, description: 'idle time between upstream body chunks (0 = none)' },
  total_timeout: { flag: 'total-timeout', env: ['TOTAL_TIMEOUT'], arg: 'seconds', default: '0', parse: secondsAsMs, description: 'longest a forwarded request may take, from its arrival to the last byte of the answer (0 = none)' },
  keep_alive_timeout: { flag: 'keep-alive-timeout', env: ['KEEP_ALIVE_TIMEOUT'], arg: 'seconds', default: '65', parse: secondsAsMs, description: 'how long an idle client connection is kept open (0 = until the client closes it)' },
  max_body_size: { flag: 'max-body-size', env: ['MAX_BODY_SIZE'], arg: 'size', default: '0', parse: byteSize, description: 'largest request body accepted, 413 above (0 = no limit)' },
  metrics_port: { flag: 'metrics-port', env: ['METRICS_PORT'], arg: 'port', default: '0', parse: integer(0, 65535), description: 'serve Prometheus metrics at /metrics on this port (0 = off)' },
  metrics_host: { flag: 'metrics-host', env: ['METRICS_HOST'], arg: 'host', default: '127.0.0.1', parse: text, description: 'listen address of the metrics port' },
  shutdown_timeout: { flag: 'shutdown-timeout', env: ['SHUTDOWN_TIMEOUT'], arg: 'seconds', default: '30', parse: secondsAsMs, description: 'on SIGTERM, time in-flight requests get to finish' },
} as const satisfies Record<string, SettingSpec>;

export type SettingKey = keyof typeof SETTINGS;

/** The validated configuration: each setting's parsed type. */
export type Config = { -readonly [K in SettingKey]: ReturnType<(typeof SETTINGS)[K]['parse']> };
