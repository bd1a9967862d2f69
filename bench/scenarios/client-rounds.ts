/**
 * A client helper (bench/clients) run against direct, nginx and aifwd by turns, once per round,
 * each run after the machine is quiet: the single-connection measures that wrk cannot make.
 */
import type { Context } from '../context.js';
import { runClientHelper } from '../helpers.js';
import { waitForQuiet } from '../quiet.js';

export type Targets<T> = { readonly direct: T; readonly nginx: T; readonly aifwd: T };

export const TARGETS = ['direct', 'nginx', 'aifwd'] as const;

export interface ClientRounds<T> {
  /** The helper, e.g. `clients/ttfb.js`, and its arguments after `--port P`. */
  readonly helper: string;
  readonly args: readonly string[];
  /** How BENCHMARKS.md names aifwd's command line. */
  readonly commandName: string;
  /** One progress line's text for a result. */
  readonly describe: (result: T) => string;
}

/** Runs `o.helper` `ctx.settings.runs` times per target and returns each target's first `RESULT` per run. */
export async function runClientRounds<T>(ctx: Context, ports: Targets<number>, o: ClientRounds<T>): Promise<Targets<T[]>> {
  const out: Targets<T[]> = { direct: [], nginx: [], aifwd: [] };
  const runs = ctx.settings.runs;
  for (let run = 1; run <= runs; run++) {
    for (const label of TARGETS) {
      await waitForQuiet();
      const { results, command } = await runClientHelper<T>(o.helper, ['--port', String(ports[label]), ...o.args]);
      if (label === 'aifwd') ctx.command(o.commandName, command);
      const r = results[0];
      if (r === undefined) throw new Error(`${o.helper} printed no result`);
      out[label].push(r);
      ctx.log(`  ${o.helper} run ${run}/${runs} ${label.padEnd(8)} ${o.describe(r)}`);
    }
  }
  return out;
}
