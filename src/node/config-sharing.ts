/**
 * Under `--workers N`, every worker runs the configuration its primary read at start: a worker
 * asks `{type: 'aifwd:config-sources'}` before it loads its configuration, and the primary answers
 * with the texts of `.env` and the config file it read (config/load.ts, ConfigSources). A worker
 * started to replace a crashed one after those files changed would otherwise run another
 * configuration than its peers: other keys at the positions the cluster's messages name (key
 * rests, forward keys' rpm), other policies. Changing the configuration takes a restart.
 */
import type { ConfigSources } from '../config/load.js';

export const CONFIG_MESSAGE_TYPE = 'aifwd:config-sources';

interface SourcesAnswer {
  readonly type: typeof CONFIG_MESSAGE_TYPE;
  readonly sources: ConfigSources;
}

function isSources(value: unknown): value is ConfigSources {
  if (typeof value !== 'object' || value === null) return false;
  const { dotEnv, file } = value as { dotEnv?: unknown; file?: unknown };
  if (dotEnv !== null && typeof dotEnv !== 'string') return false;
  if (file === null) return true;
  if (typeof file !== 'object' || file === undefined) return false;
  const { path, text } = file as { path?: unknown; text?: unknown };
  return typeof path === 'string' && typeof text === 'string';
}

/** A worker's channel to the primary: `process` in a cluster worker. */
export interface SourcesChannel {
  send?: (message: { type: typeof CONFIG_MESSAGE_TYPE }, sendHandle: undefined, options: undefined, callback: (error: Error | null) => void) => unknown;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  off(event: 'message', listener: (message: unknown) => void): unknown;
}

/**
 * The worker side: the primary's sources, or `undefined` when it does not answer within
 * `timeoutMs` (then the worker reads the files itself, as a single process does).
 */
export function sourcesFromPrimary(channel: SourcesChannel, timeoutMs = 5000): Promise<ConfigSources | undefined> {
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const done = (sources: ConfigSources | undefined): void => {
      clearTimeout(timer);
      channel.off('message', onMessage);
      resolve(sources);
    };
    const onMessage = (message: unknown): void => {
      if (typeof message !== 'object' || message === null) return;
      const { type, sources } = message as { type?: unknown; sources?: unknown };
      if (type === CONFIG_MESSAGE_TYPE && isSources(sources)) done(sources);
    };
    channel.on('message', onMessage);
    if (channel.send === undefined) return done(undefined);
    timer = setTimeout(() => done(undefined), timeoutMs);
    try {
      channel.send({ type: CONFIG_MESSAGE_TYPE }, undefined, undefined, (error) => {
        if (error !== null) done(undefined);
      });
    } catch {
      done(undefined);
    }
  });
}

/** A worker as the primary sees it (node:cluster's `Worker`). */
export interface SourcesWorker {
  isConnected(): boolean;
  send(message: SourcesAnswer, sendHandle: undefined, options: undefined, callback: (error: Error | null) => void): unknown;
}

/** The primary's view of its workers: `node:cluster`, or a stand-in in tests. */
export interface SourcesWorkerSource {
  on(event: 'message', listener: (worker: SourcesWorker, message: unknown) => void): unknown;
}

/** The primary side: answers every worker's question with the sources the primary read. */
export function answerConfigSources(source: SourcesWorkerSource, sources: ConfigSources): void {
  source.on('message', (worker, message) => {
    if (typeof message !== 'object' || message === null || (message as { type?: unknown }).type !== CONFIG_MESSAGE_TYPE) return;
    if (!worker.isConnected()) return;
    try {
      worker.send({ type: CONFIG_MESSAGE_TYPE, sources }, undefined, undefined, () => {});
    } catch {
      // The worker is going away.
    }
  });
}
