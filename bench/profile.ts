/**
 * `node bench/dist/profile.js [json|sse] [--seconds 10] [--top 25] [--log-chat]`: a CPU profile of aifwd under
 * load, for working on the hot path. Same setup as the bench (gateway on CPU 1 with every core
 * feature on, wrk and the upstreams on CPU 0); writes bench/out/profile-<kind>.cpuprofile (open it
 * in Chrome DevTools or speedscope) and bench/out/profile-<kind>.md (top functions by self time,
 * mapped to src/*.ts, and self time by area), and prints the latter. `--log-chat` turns the chat log
 * on (measure 4's setting).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { numArg } from './child.js';
import { renderSummary } from './cpuprofile-summary.js';
import { buildGateway } from './gateway.js';
import { INSTALL_LINE, missingTools } from './machine.js';
import { stopAll } from './procs.js';
import { runProfile } from './scenarios/profile.js';
import { loadSettings } from './settings.js';
import { standaloneContext } from './standalone.js';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

async function main(): Promise<void> {
  const missing = missingTools();
  if (missing.length > 0) {
    process.stderr.write(`profile: ${missing.join(', ')} not found. Install with:\n  ${INSTALL_LINE}\n`);
    process.exit(1);
  }
  const kind = process.argv[2] === 'sse' ? 'sse' : 'json';
  buildGateway(ROOT);
  const ctx = await standaloneContext('profile', ROOT, loadSettings(process.env));
  const seconds = numArg('seconds', 10);
  ctx.log(`profiling aifwd (${kind} load): warm-up ${ctx.settings.warmupSeconds} s, then ${seconds} s of wrk -c50…`);
  const logChat = process.argv.includes('--log-chat');
  const r = await runProfile(ctx, kind, seconds, numArg('top', 25), logChat);
  await stopAll();
  const title = `aifwd CPU profile, ${kind === 'json' ? 'non-stream' : 'SSE'} load${logChat ? ', chat log on' : ''}: ${Math.round(r.rps)} req/s, ${r.cpuPerRequestUs.toFixed(1)} µs CPU per request with the profiler on (summary: the ${r.seconds} s under load only)`;
  const text = renderSummary(r.summary, title);
  mkdirSync(join(ROOT, 'bench', 'out'), { recursive: true });
  writeFileSync(join(ROOT, 'bench', 'out', `profile-${kind}${logChat ? '-log' : ''}.md`), text);
  process.stdout.write(`${text}\nsaved ${r.file} and bench/out/profile-${kind}${logChat ? '-log' : ''}.md\n`);
}

main().catch(async (err: unknown) => {
  process.stderr.write(`profile: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  await stopAll();
  process.exit(1);
});
