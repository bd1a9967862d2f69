/**
 * The cluster primary's side of the chat log: it owns the file and its rotation, and appends the
 * encoded line batches its workers send (ipc.ts) as they are, in the order they arrive.
 */
import { Buffer } from 'node:buffer';
import cluster from 'node:cluster';
import { resolve } from 'node:path';
import process from 'node:process';
import { CHAT_LOG_MESSAGE_TYPE, isChatLogMessage } from './ipc.js';
import { ACTIVE_LOG_NAME } from './log-files.js';
import type { SinkStats } from './sink.js';
import { ChatLogWriter } from './writer.js';

/** What delivers worker messages: `node:cluster` itself, or a stand-in in tests. */
export interface WorkerMessageSource {
  on(event: 'message', listener: (worker: unknown, message: unknown) => void): unknown;
  off(event: 'message', listener: (worker: unknown, message: unknown) => void): unknown;
}

export interface ChatLogPrimaryOptions {
  /** Log directory (`log_dir`); the file is `{dir}/chat.log`. */
  dir: string;
  /** `log_rotate_size` in bytes; 0 = never rotate. */
  rotateSize: number;
  stderr?: NodeJS.WritableStream;
  /** Defaults to `node:cluster`. */
  source?: WorkerMessageSource;
}

export interface ChatLogPrimary {
  /** Absolute path of the active log file (for the banner). */
  readonly path: string;
  readonly stats: SinkStats;
  /** Resolves once everything received so far is written. */
  flush(): Promise<void>;
  /** Writes what waits for its batch now, synchronously (ChatLog.flushSync: an exiting primary). */
  flushSync(): void;
  /**
   * Stops listening and writes everything received. Call it after every worker has disconnected
   * (cluster `disconnect`): a worker's messages are all delivered before its channel closes.
   */
  close(): Promise<void>;
}

/** Starts receiving and writing worker lines in the cluster primary. */
export function attachChatLogPrimary({ dir, rotateSize, stderr = process.stderr, source = cluster }: ChatLogPrimaryOptions): ChatLogPrimary {
  const writer = new ChatLogWriter({ path: resolve(dir, ACTIVE_LOG_NAME), rotateSize, stderr });
  let warned = false;
  const onMessage = (_worker: unknown, message: unknown): void => {
    if (!isChatLogMessage(message)) {
      // Ours but not whole lines of bytes: a channel that is not `advanced` turns bytes into JSON.
      if (!warned && (message as { type?: unknown } | null)?.type === CHAT_LOG_MESSAGE_TYPE) {
        warned = true;
        stderr.write(`aifwd: chat log: a worker's records arrived malformed and were dropped (the cluster's IPC serialization must be 'advanced')\n`);
      }
      return;
    }
    const { bytes, lines } = message;
    writer.appendEncoded(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), lines);
  };
  source.on('message', onMessage);
  let closing: Promise<void> | undefined;
  return {
    path: writer.path,
    stats: writer,
    flush: () => writer.flush(),
    flushSync: () => writer.writeWaitingSync(),
    close() {
      closing ??= (async () => {
        source.off('message', onMessage);
        await writer.close();
      })();
      return closing;
    },
  };
}
