/**
 * `npm run bench:ab -- --a DIR --b DIR [--log a|b|both] [--pairs 8] [--seconds 7]`: two builds of
 * aifwd loaded at once on CPU 1, one wrk each on CPU 0, as measure 4 measures the log in pairs —
 * the way to tell whether a change to the hot path shows in place on a machine whose speed drifts
 * from minute to minute (rounds one after the other cannot). Prints B's throughput ÷ A's per pair,
 * which wrk starts first alternating, and their median and range.
 *
 * `--a` and `--b` are package roots that hold a build (`bin/`, `dist/`, `wasm/build/`: `npm run build`
 * there; a `git worktree` of an older commit with `node_modules` linked will do). `--log` turns the
 * chat log on for one gateway or both, each in a directory of its own. Needs what `npm run bench`
 * needs; builds nothing.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { arg, numArg } from './child.js';
import { startGateway } from './gateway.js';
import { INSTALL_LINE, missingTools } from './machine.js';
import { freePort } from './ports.js';
import { stopAll } from './procs.js';
import { pairedRatios } from './scenarios/chat-log.js';
import { loadSettings, type Settings } from './settings.js';
import { standaloneContext } from './standalone.js';
import { summarise } from './stats.js';

function built(root: string): string {
  const dir = resolve(root);
  for (const part of ['bin/aifwd.js', 'dist/cli.js', 'wasm/build/chat-lines.wasm']) {
    if (!existsSync(join(dir, part))) throw new Error(`${dir} has no ${part}: run \`npm run build\` there first`);
  }
  return dir;
}

async function main(): Promise<void> {
  const missing = missingTools();
  if (missing.length > 0) {
    process.stderr.write(`ab: ${missing.join(', ')} not found. Install with:\n  ${INSTALL_LINE}\n`);
    process.exit(2);
  }
  let a: string;
  let b: string;
  let settings: Settings;
  const log = arg('log', 'none');
  try {
    a = built(arg('a', '.'));
    b = built(arg('b', '.'));
    if (!['none', 'a', 'b', 'both'].includes(log)) throw new Error(`--log: expected a, b or both, not "${log}"`);
    settings = { ...loadSettings(process.env), runs: numArg('pairs', 8), seconds: numArg('seconds', 7) };
  } catch (err) {
    process.stderr.write(`ab: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  }
  const ctx = await standaloneContext('ab', a, settings);
  const logDir = (name: string): string | undefined => {
    if (log !== 'both' && log !== name) return undefined;
    const path = join(ctx.dir, `log-${name}`);
    mkdirSync(path, { recursive: true });
    return path;
  };
  const upstreamPort = ctx.infra.jsonPort;
  const ga = await startGateway({ root: a, port: await freePort(), upstreamPort, logDir: logDir('a'), nofile: ctx.nofile });
  const gb = await startGateway({ root: b, port: await freePort(), upstreamPort, logDir: logDir('b'), nofile: ctx.nofile });
  ctx.log(`A ${a}${log === 'a' || log === 'both' ? ' (chat log on)' : ''}\nB ${b}${log === 'b' || log === 'both' ? ' (chat log on)' : ''}`);
  const ratios = await pairedRatios(ctx, ga, gb, 'B ÷ A');
  await stopAll();
  const s = summarise(ratios);
  process.stdout.write(`B ÷ A: median ${s.median.toFixed(3)} (${s.min.toFixed(3)}–${s.max.toFixed(3)}) over ${ratios.length} pairs of ${settings.seconds} s: ${ratios.map((r) => r.toFixed(3)).join(' ')}\n`);
}

main().catch(async (err: unknown) => {
  process.stderr.write(`ab: ${err instanceof Error ? err.message : String(err)}\n`);
  await stopAll();
  process.exit(1);
});
