/** The whole outcome of one bench run, as saved to bench/out/*.json and rendered into BENCHMARKS.md. */
import type { BuildResult } from './gateway.js';
import type { Machine } from './machine.js';
import type { ChatLogResult } from './scenarios/chat-log.js';
import type { LatencyResult } from './scenarios/latency.js';
import type { ProfileResult } from './scenarios/profile.js';
import type { SseResult } from './scenarios/sse.js';
import type { StartupResult } from './scenarios/startup.js';
import type { StreamsResult } from './scenarios/streams.js';
import type { ThroughputResult } from './scenarios/throughput.js';
import type { TransferResult } from './scenarios/transfers.js';
import type { Settings } from './settings.js';

/** A scenario's result, or why it has none. */
export type Outcome<T> = { readonly ok: true; readonly value: T; readonly seconds: number } | { readonly ok: false; readonly error: string };

export interface BenchResults {
  readonly startedAt: string;
  readonly seconds: number;
  readonly settings: Settings;
  readonly machine: Machine;
  /** Gateway version and the commit of the working tree it was built from. */
  readonly gateway: { readonly version: string; readonly commit: string; readonly dirtyFiles: number; readonly build: BuildResult };
  /** The open-files hard limit (caps the open-streams scenario). */
  readonly fileLimit: number;
  /** Seconds spent waiting for a quiet machine and repeating disturbed runs. */
  readonly noiseSeconds: number;
  /** Command lines as run, by purpose. */
  readonly commands: Readonly<Record<string, string>>;
  /** Generated files worth showing: the proxy's nginx config, the upstream's, the wrk script. */
  readonly files: Readonly<Record<string, string>>;
  readonly throughput: Outcome<ThroughputResult>;
  readonly latency: Outcome<LatencyResult>;
  readonly sse: Outcome<SseResult>;
  readonly chatLog: Outcome<ChatLogResult>;
  readonly streams: Outcome<StreamsResult>;
  readonly transfers: Outcome<TransferResult>;
  readonly startup: Outcome<StartupResult>;
  /** Where aifwd's CPU goes under the non-stream and the SSE load (not used for the measures). */
  readonly profile: Outcome<ProfileResult>;
  readonly profileSse: Outcome<ProfileResult>;
}
