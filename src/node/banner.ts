/**
 * The start-up banner: what the gateway forwards to and how it decides credentials. Keys appear only
 * as counts (never even masked here: the banner often ends up in shared terminals and CI logs).
 * Colour only on a TTY and never with NO_COLOR (https://no-color.org).
 */
import type { Config } from '../config/schema.js';
import type { AuthMode } from '../core/auth.js';

export interface BannerInfo {
  config: Config;
  version: string;
  prefix: string;
  authMode: AuthMode;
  listenUrl: string;
  proxy: string | undefined;
  chatLogPath: string | undefined;
  /** Where Prometheus metrics are served, when they are. */
  metricsUrl?: string;
}

export function useColour(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv): boolean {
  return stream.isTTY === true && (env.NO_COLOR === undefined || env.NO_COLOR === '') && env.TERM !== 'dumb';
}

const AUTH_TEXT: Record<AuthMode, string> = {
  open: 'OPEN: every request is sent with a pool key, whatever the client presents',
  'forward-key': 'forward keys: clients presenting a forward key get a pool key; other tokens pass through',
  passthrough: "passthrough: clients' own Authorization is forwarded unchanged",
};

/** The `cors_origins` setting in words (core/cors.ts). */
function corsText(origins: readonly string[]): string {
  if (origins.length === 0 || origins[0] === 'off') return 'off (left to the upstream)';
  if (origins.includes('*')) return 'any origin';
  return origins.join(', ');
}

export function renderBanner(info: BannerInfo, colour: boolean): string {
  const bold = (s: string) => (colour ? `\x1b[1m${s}\x1b[22m` : s);
  const red = (s: string) => (colour ? `\x1b[1;31m${s}\x1b[0m` : s);
  const dim = (s: string) => (colour ? `\x1b[2m${s}\x1b[22m` : s);
  const { config } = info;
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  const withPolicies = (n: number) => (n === 0 ? '' : ` (${n} with a policy)`);
  const rows: [string, string][] = [
    ['upstream', config.base_url.href.replace(/\/$/, '') + (info.proxy ? dim(` via proxy ${info.proxy}`) : '')],
    ['route prefix', info.prefix === '' ? '/' : info.prefix],
    ['key pool', plural(config.api_key.length, 'key')],
    ['forward keys', plural(config.forward_key.length, 'key') + withPolicies(config.forward_key.filter((spec) => spec.policy !== null).length)],
    ['auth mode', info.authMode === 'open' ? red(AUTH_TEXT.open) : AUTH_TEXT[info.authMode]],
    ['chat log', info.chatLogPath === undefined ? 'off' : `on → ${info.chatLogPath}`],
    ['ip access', `whitelist ${plural(config.ip_whitelist.length, 'rule')}, blacklist ${plural(config.ip_blacklist.length, 'rule')}`],
    ['cors', corsText(config.cors_origins)],
    ['workers', String(config.workers)],
    ['metrics', info.metricsUrl ?? 'off'],
    ['listening', bold(info.listenUrl)],
  ];
  const lines = [`${bold('aifwd')} ${info.version} ${dim('— OpenAI API forwarding gateway')}`];
  for (const [label, value] of rows) lines.push(`  ${label.padEnd(13)}${value}`);
  if (info.authMode === 'open') {
    lines.push(red('  WARNING: open mode. Anyone who reaches this port spends your pool keys. Set FORWARD_KEY.'));
  }
  return `${lines.join('\n')}\n`;
}
