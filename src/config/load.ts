/**
 * Builds the validated configuration from its sources, highest first:
 * flags > environment > `./.env` > config file (`--config`, YAML or JSON) > defaults.
 * Any bad value becomes a {@link ConfigError} whose one-line message names where the value came
 * from (flag, variable or file key) and the value itself, never a secret's full text.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { maskSecret, maskUrlCredentials, shownName } from '../core/mask.js';
import { SETTINGS, type Config, type SettingKey, type SettingSpec } from './schema.js';

const require = createRequire(import.meta.url);

/** YAML is parsed only when a YAML config file is given: the parser costs ~9 MB of RSS to load. */
function parseYaml(text: string): unknown {
  return (require('yaml') as typeof import('yaml')).parse(text);
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export interface LoadOptions {
  /** Values from the command line, by setting key (already parsed by the CLI, still raw strings). */
  flags: Partial<Record<SettingKey, string | boolean>>;
  /** Path given by `--config`, if any. */
  configFile?: string;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** The files' texts as read before (a cluster worker gets its primary's): the files are not read again. */
  sources?: ConfigSources;
}

/**
 * What a configuration is read from besides flags and the environment: the texts of `./.env` and
 * of the config file. The primary of `--workers N` hands its own to every worker it starts, so a
 * replacement started after the files changed still runs the configuration the others run.
 */
export interface ConfigSources {
  /** `./.env`, `null` when there is none. */
  readonly dotEnv: string | null;
  /** The config file, `null` when none is named. */
  readonly file: { readonly path: string; readonly text: string } | null;
}

interface RawValue {
  value: unknown;
  /** Where it came from, for messages: `--port`, `PORT`, `PORT (.env)`, `config.yaml: port`. */
  source: string;
}

const KEYS = Object.keys(SETTINGS) as SettingKey[];
const SECRET_KEYS = new Set<SettingKey>(['api_key', 'forward_key']);

/** Maps every accepted config-file spelling (key or env name, any case) to its setting key. */
const FILE_KEYS = new Map<string, SettingKey>();
for (const key of KEYS) {
  FILE_KEYS.set(key, key);
  for (const env of SETTINGS[key].env) FILE_KEYS.set(env.toLowerCase(), key);
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError(`cannot read ${what} ${path} (${reason})`);
  }
}

function parseConfigFile(path: string, body: string): Map<SettingKey, RawValue> {
  let data: unknown;
  try {
    data = path.endsWith('.json') ? JSON.parse(body) : parseYaml(body);
  } catch (err) {
    // V8 quotes the text around the fault ("...sk-abc",]}" is not valid JSON): it may hold a key.
    const first = (err instanceof Error ? err.message : String(err)).split('\n')[0].replace(/, (?:\.\.\.)?".*" is not valid JSON$/, '');
    throw new ConfigError(`config file ${path} is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${first}`);
  }
  const out = new Map<SettingKey, RawValue>();
  if (data === null || data === undefined) return out;
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError(`config file ${path} must hold a mapping of settings, such as "base_url: https://..."`);
  }
  for (const [name, value] of Object.entries(data)) {
    const key = FILE_KEYS.get(name.toLowerCase());
    if (key === undefined) {
      throw new ConfigError(`config file ${path}: unknown setting "${shownName(name)}" (known: ${KEYS.join(', ')})`);
    }
    out.set(key, { value, source: `${path}: ${name}` });
  }
  return out;
}

function readDotEnv(cwd: string): string | null {
  const path = resolve(cwd, '.env');
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new ConfigError(`cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`);
  }
}

/** Reads `./.env` and the config file it, the flags or the environment name. */
export function readConfigSources({ configFile, env, cwd }: Pick<LoadOptions, 'configFile' | 'env' | 'cwd'>): ConfigSources {
  const dotEnv = readDotEnv(cwd);
  const filePath = configFile ?? env.AIFWD_CONFIG ?? (dotEnv === null ? undefined : parseEnv(dotEnv).AIFWD_CONFIG);
  if (filePath === undefined || filePath === '') return { dotEnv, file: null };
  const path = resolve(cwd, filePath);
  return { dotEnv, file: { path, text: readText(path, 'config file') } };
}

function fromEnv(key: SettingKey, env: Record<string, string | undefined>, suffix: string): RawValue | undefined {
  for (const name of SETTINGS[key].env) {
    const value = env[name];
    if (value !== undefined) return { value, source: name + suffix };
  }
  return undefined;
}

function shown(key: SettingKey, value: unknown): string {
  const s = typeof value === 'string' ? value : JSON.stringify(value);
  if (SECRET_KEYS.has(key)) return maskSecret(s ?? '');
  if (s === undefined) return 'undefined';
  // A URL's password is a secret too (the base URL refuses one, and says so).
  const masked = maskUrlCredentials(s);
  return masked.length > 80 ? `${masked.slice(0, 80)}…` : masked;
}

/** Loads and validates the configuration; throws {@link ConfigError} with a one-line message. */
export function loadConfig({ flags, configFile, env, cwd, sources = readConfigSources({ configFile, env, cwd }) }: LoadOptions): Config {
  const dotEnv: Record<string, string | undefined> = sources.dotEnv === null ? {} : parseEnv(sources.dotEnv);
  const file = sources.file === null ? new Map<SettingKey, RawValue>() : parseConfigFile(sources.file.path, sources.file.text);

  const config: Record<string, unknown> = {};
  for (const key of KEYS) {
    const flag = flags[key];
    const spec: SettingSpec = SETTINGS[key];
    const chosen: RawValue =
      (flag !== undefined ? { value: flag, source: `--${spec.flag}` } : undefined) ??
      fromEnv(key, env, '') ??
      fromEnv(key, dotEnv, ' (.env)') ??
      file.get(key) ?? { value: spec.default, source: 'default' };
    try {
      config[key] = spec.parse(chosen.value);
    } catch (err) {
      throw new ConfigError(`${chosen.source} "${shown(key, chosen.value)}": ${(err as Error).message}`);
    }
  }
  return config as Config;
}
