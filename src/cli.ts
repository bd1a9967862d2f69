/**
 * The command line: turns argv into options and calls the command. Nothing else lives here.
 * Every failure of the user's input is one line on stderr and exit code 2.
 */
import process from 'node:process';
import { Command, CommanderError, Option } from 'commander';
import { ConvertError } from './chat-log/convert-error.js';
import { normaliseArgv } from './config/argv.js';
import { type ConfigSources, ConfigError, loadConfig, type LoadOptions, readConfigSources } from './config/load.js';
import { SETTINGS, type SettingKey } from './config/schema.js';
import { secondsAsMs } from './config/values.js';
import { sourcesFromPrimary } from './node/config-sharing.js';
import { AIFWD_WORKER, listenFailure, runGateway } from './node/run.js';
import { VERSION } from './version.js';

class UsageError extends Error {}

function fail(message: string): never {
  process.stderr.write(`aifwd: ${message}\n`);
  process.exit(2);
}

function buildProgram(): Command {
  const program = new Command('aifwd')
    .description('OpenAI API forwarding gateway: key pool, forward keys, instant streaming, chat logs')
    .version(VERSION, '-v, --version')
    .exitOverride()
    .configureOutput({ outputError: () => {} })
    .showHelpAfterError(false);

  withSettings(program.command('run').description('start the gateway')).action(async (options: Record<string, unknown>, command: Command) => {
    const load = loadOptionsOf(options, command);
    // A worker of `--workers N` runs the configuration its primary read (node/config-sharing.ts).
    let sources: ConfigSources | undefined;
    if (AIFWD_WORKER) {
      sources = await sourcesFromPrimary(process);
      if (sources === undefined) throw new ConfigError('the primary process did not hand over its configuration within 5 s; this worker stops');
    }
    sources ??= readConfigSources(load);
    await runGateway(loadConfig({ ...load, sources }), { env: process.env, stdout: process.stdout, stderr: process.stderr, sources });
  });

  withSettings(
    program
      .command('health')
      .description("ask the gateway that `run` with the same settings started whether it serves (/healthz): exit 0 if so, 1 if not")
      .option('--timeout <seconds>', 'how long to wait for the answer', '5'),
  ).action(async (options: Record<string, unknown>, command: Command) => {
    // A duration as the settings take them (10, 0.5, 1500ms), but never 0: a probe must end.
    const timeout = String(options.timeout);
    let timeoutMs: number;
    try {
      timeoutMs = secondsAsMs(timeout);
    } catch (err) {
      throw new UsageError(`--timeout "${timeout}": ${(err as Error).message}`);
    }
    if (timeoutMs === 0) throw new UsageError(`--timeout "${timeout}": expected a duration above 0`);
    const { healthTarget, probeHealth } = await import('./node/health-probe.js');
    const target = healthTarget(loadConfig(loadOptionsOf(options, command)));
    const result = await probeHealth(target, timeoutMs);
    if (result.healthy) {
      process.stdout.write(`aifwd: healthy (${target.url.href} answered ${result.status})\n`);
      return;
    }
    process.stderr.write(`aifwd: unhealthy: ${target.url.href} ${result.reason}\n`);
    process.exitCode = 1;
  });

  program
    .command('mock')
    .description('start a fake OpenAI-compatible upstream (for trying aifwd offline, tests and benchmarks)')
    .option('--port <port>', 'listen port', '9000')
    .option('--host <host>', 'listen address', '127.0.0.1')
    .action(async (options: { port: string; host: string }) => {
      const port = Number(options.port);
      if (!/^\d+$/.test(options.port) || port > 65535) throw new UsageError(`--port "${options.port}": expected an integer from 0 to 65535`);
      // Loaded on demand: `aifwd run` never pays for the mock's code.
      const { startMock } = await import('./mock/server.js');
      const mock = await startMock({ port, host: options.host }).catch((err: unknown) => {
        throw listenFailure(err, options.host, port);
      });
      process.stdout.write(`aifwd mock listening on ${mock.url}\n`);
      const stop = (): void => {
        mock.close().then(() => process.exit(0), () => process.exit(0));
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });

  program
    .command('convert')
    .description("turn the chat log into JSON Lines: OpenAI's fine-tuning chat format, or the seed's pairs")
    .option('--log-path <path>', 'chat log (its rotated siblings are read too)', './Log/chat.log')
    .option('--target-path <path>', 'output file', './Log/chat.jsonl')
    .option('--format <format>', 'openai or seed', 'openai')
    .action(async (options: { logPath: string; targetPath: string; format: string }) => {
      // Loaded on demand, like the mock.
      const { runConvert } = await import('./chat-log/convert-command.js');
      await runConvert({ ...options, stderr: process.stderr });
    });

  return program;
}

/** Adds `--config` and a flag for every setting (schema.ts) to `command`. */
function withSettings(command: Command): Command {
  command.option('--config <file>', 'YAML or JSON config file');
  for (const [key, spec] of Object.entries(SETTINGS) as [SettingKey, (typeof SETTINGS)[SettingKey]][]) {
    const flags = 'arg' in spec ? `--${spec.flag} <${spec.arg}>` : `--${spec.flag} [bool]`;
    const shownDefault = 'default' in spec ? `; default ${spec.default}` : '';
    command.addOption(new Option(flags, `${spec.description} (env ${spec.env.join(', ')}${shownDefault})`));
  }
  return command;
}

/** Where the configuration of a command given {@link withSettings} comes from (flags > env > .env > file). */
function loadOptionsOf(options: Record<string, unknown>, command: Command): LoadOptions {
  const flags: Partial<Record<SettingKey, string | boolean>> = {};
  for (const option of command.options) {
    const key = option.attributeName();
    const setting = (option.long ?? '').slice(2).replaceAll('-', '_') as SettingKey;
    const value = options[key];
    if (setting in SETTINGS && (typeof value === 'string' || typeof value === 'boolean')) flags[setting] = value;
  }
  if (options.config === '') throw new UsageError('--config "": expected the path of a YAML or JSON config file');
  const configFile = typeof options.config === 'string' ? options.config : undefined;
  return { flags, configFile, env: process.env, cwd: process.cwd() };
}

/**
 * Commander's message as one line (its suggestion, `(Did you mean --base-url?)`, is on a line of
 * its own), naming an argument as it was typed, not as normaliseArgv spelled it (`--base_ur`).
 */
function commanderMessage(message: string, typed: readonly string[], normalised: readonly string[]): string {
  let line = message.replace(/^error: /, '').replace(/\s*\n\s*\(Did you mean (.*)\?\)\s*$/, ' (did you mean $1?)').replace(/\s*\n\s*/g, ' ');
  for (let i = 0; i < typed.length; i++) {
    if (typed[i] !== normalised[i]) line = line.replaceAll(`'${normalised[i]}'`, `'${typed[i]}'`);
  }
  return line;
}

/** Entry point of the `aifwd` / `openai-forward` binaries. */
export async function main(argv: readonly string[]): Promise<void> {
  const program = buildProgram();
  if (argv.length === 0) {
    process.stderr.write(program.helpInformation());
    process.exit(2);
  }
  const normalised = normaliseArgv(argv);
  // Commander answers `help <unknown>` with the whole help on stderr: one line instead.
  const commands = program.commands.map((command) => command.name());
  if (normalised[0] === 'help' && normalised.length > 1 && !commands.includes(normalised[1])) {
    fail(`unknown command '${argv[1]}' (commands: ${commands.join(', ')}, help)`);
  }
  try {
    await program.parseAsync(normalised, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) process.exit(0);
      fail(commanderMessage(err.message, argv, normalised));
    }
    if (err instanceof ConfigError || err instanceof UsageError || err instanceof ConvertError) fail(err.message);
    throw err;
  }
}
