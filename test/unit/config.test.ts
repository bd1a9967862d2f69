import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { normaliseArgv } from '../../src/config/argv.js';

const dir = (files: Record<string, string> = {}): string => {
  const d = mkdtempSync(join(tmpdir(), 'aifwd-config-'));
  for (const [name, body] of Object.entries(files)) writeFileSync(join(d, name), body);
  return d;
};

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({ flags: {}, env: {}, cwd: dir() });
    expect(c.base_url.href).toBe('https://api.openai.com/');
    expect(c.port).toBe(8000);
    expect(c.host).toBe('0.0.0.0');
    expect(c.workers).toBe(1);
    expect(c.log_chat).toBe(false);
    expect(c.log_dir).toBe('./Log');
    expect(c.log_rotate_size).toBe(20 * 1024 * 1024);
    expect(c.connect_timeout).toBe(10_000);
    expect(c.response_timeout).toBe(600_000);
    expect(c.idle_timeout).toBe(600_000);
    expect(c.total_timeout).toBe(0);
    // A limit above 0 stays a limit: 0.4 ms is 1 ms, not 0 (which would turn it off).
    expect(loadConfig({ flags: { connect_timeout: '0.0004' }, env: {}, cwd: dir() }).connect_timeout).toBe(1);
    expect(c.api_key).toEqual([]);
  });

  it('precedence: flags > environment > .env > config file > defaults', () => {
    const cwd = dir({
      '.env': 'PORT=8003\nROUTE_PREFIX=/dotenv\nLOG_CHAT=TRUE\nFORWARD_KEY=fk-dotenv\n',
      'aifwd.yaml': 'port: 8004\nroute_prefix: /file\nworkers: 3\nforward_key: [fk-file]\nOPENAI_API_KEY: "sk-fake-file1 sk-fake-file2"\n',
    });
    const c = loadConfig({
      flags: { port: '8001' },
      configFile: 'aifwd.yaml',
      env: { PORT: '8002', ROUTE_PREFIX: '/env' },
      cwd,
    });
    expect(c.port).toBe(8001);
    expect(c.route_prefix).toBe('/env');
    expect(c.log_chat).toBe(true);
    expect(c.forward_key).toEqual([{ key: 'fk-dotenv', policy: null }]);
    expect(c.workers).toBe(3);
    expect(c.api_key).toEqual(['sk-fake-file1', 'sk-fake-file2']);
  });

  it('splits lists on spaces and commas', () => {
    const c = loadConfig({ flags: { api_key: 'sk-fake-a, sk-fake-b,sk-fake-c  sk-fake-d' }, env: {}, cwd: dir() });
    expect(c.api_key).toEqual(['sk-fake-a', 'sk-fake-b', 'sk-fake-c', 'sk-fake-d']);
  });

  it('reads JSON config files and ssl variables in either case', () => {
    const cwd = dir({ 'c.json': JSON.stringify({ base_url: 'http://127.0.0.1:9/v1', log_chat: true }) });
    const c = loadConfig({ flags: {}, configFile: 'c.json', env: { SSL_KEYFILE: 'k.pem', ssl_certfile: 'c.pem' }, cwd });
    expect(c.base_url.pathname).toBe('/v1');
    expect(c.log_chat).toBe(true);
    expect(c.ssl_keyfile).toBe('k.pem');
    expect(c.ssl_certfile).toBe('c.pem');
  });

  it.each([
    [{ flags: { port: 'abc' } }, '--port "abc": expected an integer from 0 to 65535'],
    [{ env: { PORT: '70000' } }, 'PORT "70000": expected an integer from 0 to 65535'],
    [{ env: { LOG_CHAT: 'maybe' } }, 'LOG_CHAT "maybe": expected true or false'],
    [{ env: { OPENAI_BASE_URL: 'ftp://x' } }, 'OPENAI_BASE_URL "ftp://x": expected an http:// or https:// URL'],
    [{ flags: { workers: '0' } }, '--workers "0": expected an integer from 1 to 256'],
    [{ flags: { connect_timeout: 'soon' } }, '--connect-timeout "soon": expected a duration'],
    // Node's timers fire at once beyond 2^31-1 ms: a month of total_timeout would end every request at once.
    [{ env: { TOTAL_TIMEOUT: '2200000' } }, 'TOTAL_TIMEOUT "2200000": expected at most 2000000 seconds (about 23 days)'],
    [{ flags: { shutdown_timeout: '40000m' } }, '--shutdown-timeout "40000m": expected at most 2000000 seconds'],
  ])('rejects %j with a message naming the source', (input, message) => {
    expect(() => loadConfig({ flags: {}, env: {}, cwd: dir(), ...input })).toThrow(message);
  });

  it('rejects unknown config-file keys and unreadable files', () => {
    const cwd = dir({ 'bad.yaml': 'prot: 1\n', 'broken.yaml': 'a: [\n' });
    expect(() => loadConfig({ flags: {}, configFile: 'bad.yaml', env: {}, cwd })).toThrow('unknown setting "prot"');
    expect(() => loadConfig({ flags: {}, configFile: 'broken.yaml', env: {}, cwd })).toThrow('is not valid YAML');
    expect(() => loadConfig({ flags: {}, configFile: 'missing.yaml', env: {}, cwd })).toThrow(ConfigError);
  });

  it('never prints a key that a slip put where a setting name or a fault is quoted', () => {
    const key = 'fake-secret-cccccccccccccccccccccccc';
    const cwd = dir({
      'slip.yaml': `api_key:\n- sk-fake-pool-000000000000\n${key}: 1\n`,
      'comma.json': `{"api_key": ["${key}",]}`,
    });
    const messageOf = (configFile: string): string => {
      try {
        loadConfig({ flags: {}, configFile, env: {}, cwd });
      } catch (err) {
        return (err as Error).message;
      }
      throw new Error('no error');
    };
    const slip = messageOf('slip.yaml');
    expect(slip).toContain('unknown setting "fa…cccc"');
    const comma = messageOf('comma.json');
    expect(comma).toContain('is not valid JSON');
    for (const message of [slip, comma]) expect(message).not.toMatch(/c{5}/);
  });
});

describe('normaliseArgv', () => {
  it('accepts the seed underscore spellings', () => {
    expect(normaliseArgv(['run', '--base_url=http://a_b', '--route_prefix', '/x_y', '-v'])).toEqual([
      'run', '--base-url=http://a_b', '--route-prefix', '/x_y', '-v',
    ]);
  });
});

describe('route_prefix, IP lists and URLs in messages', () => {
  const load = (flags: Record<string, string>) => loadConfig({ flags, env: {}, cwd: dir() });
  const problem = (flags: Record<string, string>): string => {
    try {
      load(flags);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    }
    throw new Error('no error');
  };

  it('normalises the prefix as the router does, so the banner shows what is served', () => {
    expect(load({ route_prefix: 'openai/' }).route_prefix).toBe('/openai');
    expect(load({ route_prefix: ' /a/b/ ' }).route_prefix).toBe('/a/b');
    expect(load({ route_prefix: '/x%2Fy:z@v1' }).route_prefix).toBe('/x%2Fy:z@v1');
    expect(load({ route_prefix: '/' }).route_prefix).toBeUndefined();
  });

  it.each(['/a b', '/a?b', '/a#b', '//openai', '/a//b', '/a%zz', '/a/./b', '/a/%2E%2e/b'])('refuses the prefix %j, which no request could start with', (prefix) => {
    expect(problem({ route_prefix: prefix })).toMatch(/^--route-prefix ".*": (expected a path such as \/openai|a prefix cannot hold "\." or "\.\." segments)/);
  });

  it('checks each IP list entry where the list is read, naming its source', () => {
    expect(load({ ip_whitelist: '10.0.0.0/8, ::1 192.168.1.7' }).ip_whitelist).toEqual(['10.0.0.0/8', '::1', '192.168.1.7']);
    expect(problem({ ip_blacklist: '10.0.0.1 10.0.0.0/33' })).toBe('--ip-blacklist "10.0.0.1 10.0.0.0/33": "10.0.0.0/33" is not an IP address or CIDR range such as 10.0.0.0/8 or ::1');
    const fromEnv = (() => {
      try {
        loadConfig({ flags: {}, env: { TRUSTED_PROXIES: 'proxy.local' }, cwd: dir() });
      } catch (err) {
        return (err as Error).message;
      }
      return '';
    })();
    expect(fromEnv).toBe('TRUSTED_PROXIES "proxy.local": "proxy.local" is not an IP address or CIDR range such as 10.0.0.0/8 or ::1');
  });

  it('masks the credentials of a URL it quotes', () => {
    expect(problem({ base_url: 'http://u:sk-fake-pw-0123456789@127.0.0.1:1' })).toBe('--base-url "http://****@127.0.0.1:1": put credentials in OPENAI_API_KEY, not in the URL');
  });
});
