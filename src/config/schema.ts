/**
 * Every setting of `aifwd run`, in one table: its config-file key, flag, environment variables,
 * default and parser. The zod schema, the CLI options, the config-file check and the README's
 * table all come from here, so they cannot drift apart.
 */
import { z } from 'zod';
import { bool, byteSize, httpUrl, integer, list, optionalText, secondsAsMs, setting, text } from './values.js';

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
}

export const SETTINGS = {
  base_url: { flag: 'base-url', env: ['OPENAI_BASE_URL'], arg: 'url', default: 'https://api.openai.com', description: 'upstream base URL (may carry a path)' },
  api_key: { flag: 'api-key', env: ['OPENAI_API_KEY'], arg: 'keys', description: 'upstream key pool, used round-robin' },
  forward_key: { flag: 'forward-key', env: ['FORWARD_KEY'], arg: 'keys', description: 'keys clients may present instead of a real key' },
  route_prefix: { flag: 'route-prefix', env: ['ROUTE_PREFIX'], arg: 'path', description: 'path prefix the gateway serves under' },
  log_chat: { flag: 'log-chat', env: ['LOG_CHAT'], default: 'false', description: 'record conversations in the chat log' },
  log_dir: { flag: 'log-dir', env: ['LOG_DIR'], arg: 'dir', default: './Log', description: 'directory of the chat log (chat.log)' },
  log_rotate_size: { flag: 'log-rotate-size', env: ['LOG_ROTATE_SIZE'], arg: 'size', default: '20mb', description: 'rotate the chat log at this size' },
  ip_whitelist: { flag: 'ip-whitelist', env: ['IP_WHITELIST'], arg: 'ips', description: 'client IPs/CIDRs allowed (v4 and v6)' },
  ip_blacklist: { flag: 'ip-blacklist', env: ['IP_BLACKLIST'], arg: 'ips', description: 'client IPs/CIDRs denied (v4 and v6)' },
  trusted_proxies: { flag: 'trusted-proxies', env: ['TRUSTED_PROXIES'], arg: 'ips', description: 'peers whose X-Forwarded-For is believed' },
  port: { flag: 'port', env: ['PORT'], arg: 'port', default: '8000', description: 'listen port' },
  host: { flag: 'host', env: ['HOST'], arg: 'host', default: '0.0.0.0', description: 'listen address' },
  workers: { flag: 'workers', env: ['WORKERS'], arg: 'n', default: '1', description: 'worker processes sharing the port' },
  ssl_keyfile: { flag: 'ssl-keyfile', env: ['ssl_keyfile', 'SSL_KEYFILE'], arg: 'file', description: 'TLS private key (serve HTTPS)' },
  ssl_certfile: { flag: 'ssl-certfile', env: ['ssl_certfile', 'SSL_CERTFILE'], arg: 'file', description: 'TLS certificate chain (serve HTTPS)' },
  connect_timeout: { flag: 'connect-timeout', env: ['CONNECT_TIMEOUT'], arg: 'seconds', default: '10', description: 'upstream connect timeout' },
  response_timeout: { flag: 'response-timeout', env: ['RESPONSE_TIMEOUT'], arg: 'seconds', default: '600', description: 'wait for upstream response headers (0 = none)' },
  idle_timeout: { flag: 'idle-timeout', env: ['IDLE_TIMEOUT'], arg: 'seconds', default: '600', description: 'idle time between upstream body chunks (0 = none)' },
  max_body_size: { flag: 'max-body-size', env: ['MAX_BODY_SIZE'], arg: 'size', default: '0', description: 'largest request body accepted, 413 above (0 = no limit)' },
  shutdown_timeout: { flag: 'shutdown-timeout', env: ['SHUTDOWN_TIMEOUT'], arg: 'seconds', default: '30', description: 'on SIGTERM, time in-flight requests get to finish' },
} as const satisfies Record<string, SettingSpec>;

export type SettingKey = keyof typeof SETTINGS;

export const configSchema = z.object({
  base_url: setting(httpUrl),
  api_key: setting(list),
  forward_key: setting(list),
  route_prefix: setting(optionalText),
  log_chat: setting(bool),
  log_dir: setting(text),
  log_rotate_size: setting(byteSize),
  ip_whitelist: setting(list),
  ip_blacklist: setting(list),
  trusted_proxies: setting(list),
  port: setting(integer(0, 65535)),
  host: setting(text),
  workers: setting(integer(1, 256)),
  ssl_keyfile: setting(optionalText),
  ssl_certfile: setting(optionalText),
  connect_timeout: setting(secondsAsMs),
  response_timeout: setting(secondsAsMs),
  idle_timeout: setting(secondsAsMs),
  max_body_size: setting(byteSize),
  shutdown_timeout: setting(secondsAsMs),
} satisfies Record<SettingKey, z.ZodType>);

export type Config = z.infer<typeof configSchema>;
