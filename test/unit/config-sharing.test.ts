/** Workers run the configuration their primary read: the sources cross the cluster's channel. */
import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ConfigSources } from '../../src/config/load.js';
import { loadConfig } from '../../src/config/load.js';
import { answerConfigSources, CONFIG_MESSAGE_TYPE, type SourcesWorker, sourcesFromPrimary } from '../../src/node/config-sharing.js';

afterEach(() => {
  vi.useRealTimers();
});

const SOURCES: ConfigSources = {
  dotEnv: 'PORT=8123\n',
  file: { path: '/etc/aifwd/aifwd.yaml', text: 'forward_key:\n  - key: fk-test-alice-000000\n    name: alice\n    rpm: 5\napi_key: sk-test-pool-0000000000\n' },
};

/** A primary and one worker joined by in-memory channels that deliver on the next tick. */
function joined() {
  const primary = new EventEmitter();
  const toWorker = new EventEmitter();
  const worker: SourcesWorker = {
    isConnected: () => true,
    send: (message) => setImmediate(() => toWorker.emit('message', message)),
  };
  answerConfigSources({ on: (event, listener) => primary.on(event, listener) }, SOURCES);
  const channel = {
    send: (message: { type: typeof CONFIG_MESSAGE_TYPE }, _h: undefined, _o: undefined, callback: (error: Error | null) => void) => {
      setImmediate(() => primary.emit('message', worker, message));
      callback(null);
    },
    on: (event: 'message', listener: (message: unknown) => void) => toWorker.on(event, listener),
    off: (event: 'message', listener: (message: unknown) => void) => toWorker.off(event, listener),
  };
  return { channel, toWorker };
}

describe('config sharing', () => {
  it('a worker gets the texts its primary read, and loads the same configuration from them without reading files', async () => {
    const { channel, toWorker } = joined();
    const sources = await sourcesFromPrimary(channel);
    expect(sources).toEqual(SOURCES);
    expect(toWorker.listenerCount('message')).toBe(0);
    const config = loadConfig({ flags: {}, env: {}, cwd: '/nonexistent', sources: sources! });
    expect(config.port).toBe(8123);
    expect(config.forward_key[0].policy?.rpm).toBe(5);
  });

  it('without an answer in time, or without a channel, the worker reads the files itself (undefined)', async () => {
    vi.useFakeTimers();
    const silent = new EventEmitter();
    const pending = sourcesFromPrimary({ send: () => true, on: (e, l) => silent.on(e, l), off: (e, l) => silent.off(e, l) }, 5000);
    vi.advanceTimersByTime(5000);
    await expect(pending).resolves.toBeUndefined();
    expect(silent.listenerCount('message')).toBe(0);
    await expect(sourcesFromPrimary({ on: (e, l) => silent.on(e, l), off: (e, l) => silent.off(e, l) })).resolves.toBeUndefined();
    const closed = sourcesFromPrimary({ send: (_m, _h, _o, callback) => callback(new Error('closed')), on: (e, l) => silent.on(e, l), off: (e, l) => silent.off(e, l) });
    await expect(closed).resolves.toBeUndefined();
  });

  it('ignores messages that are not a well-formed answer', async () => {
    vi.useFakeTimers();
    const channel = new EventEmitter();
    const pending = sourcesFromPrimary({ send: () => true, on: (e, l) => channel.on(e, l), off: (e, l) => channel.off(e, l) }, 1000);
    channel.emit('message', { type: 'aifwd:key-rest', index: 0, until: 1 });
    channel.emit('message', { type: CONFIG_MESSAGE_TYPE, sources: { dotEnv: 3, file: null } });
    channel.emit('message', { type: CONFIG_MESSAGE_TYPE, sources: { dotEnv: null, file: { path: 'x' } } });
    channel.emit('message', { type: CONFIG_MESSAGE_TYPE, sources: { dotEnv: null, file: null } });
    await expect(pending).resolves.toEqual({ dotEnv: null, file: null });
  });
});
