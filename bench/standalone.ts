/**
 * The shared part of a tool that measures outside the full run (profile.ts, ab.ts): the bench's
 * processes cleaned up on exit, this process on CPU 0, a temp dir, the upstreams and the wrk
 * scripts, as a {@link Context} whose log is stderr and which records no commands.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Context } from './context.js';
import { startInfra } from './infra.js';
import { chatRequestBody } from './payloads.js';
import { hardFileLimit } from './proc-stats.js';
import { installCleanup, registerTempDir } from './procs.js';
import type { Settings } from './settings.js';
import { writeWrkScript } from './wrk.js';

/** Starts what a standalone tool needs; `name` prefixes its temp dir. */
export async function standaloneContext(name: string, root: string, settings: Settings): Promise<Context> {
  installCleanup();
  spawnSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });
  const dir = mkdtempSync(join(tmpdir(), `aifwd-${name}-`));
  registerTempDir(dir);
  const nofile = Math.min(hardFileLimit(), 65_536);
  return {
    root,
    dir,
    settings,
    infra: await startInfra(dir, nofile),
    scripts: { json: writeWrkScript(dir, 'chat', chatRequestBody(false)), sse: writeWrkScript(dir, 'chat-stream', chatRequestBody(true)) },
    nofile,
    log: (m) => process.stderr.write(`${m}\n`),
    command: () => undefined,
  };
}
