/** What every scenario gets: where things are, how long to run, and the shared processes. */
import type { Infra } from './infra.js';
import type { Settings } from './settings.js';

export interface Context {
  /** The repository root (the gateway is built and run from here). */
  readonly root: string;
  /** This run's temp dir (configs, scripts, chat logs); deleted at the end. */
  readonly dir: string;
  readonly settings: Settings;
  readonly infra: Infra;
  /** wrk scripts: the non-stream and the stream chat request. */
  readonly scripts: { readonly json: string; readonly sse: string };
  /** Soft open-files limit given to processes that hold many sockets (= the hard limit). */
  readonly nofile: number;
  /** Progress on stderr. */
  log(message: string): void;
  /** Records a command line for BENCHMARKS.md (deduplicated). */
  command(what: string, command: string): void;
}
