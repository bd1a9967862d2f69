/**
 * One process's chat log: the exchange hook plus the sink its lines go to — the file itself
 * (`mode: 'file'`, a single process) or the cluster primary (`mode: 'worker'`).
 */
import { resolve } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { CHAT_LINES_WASM } from '../core/chat-lines-wasm.js';
import type { JsonObject } from '../core/chat-reply.js';
import { processSend, type SendMessage, WorkerSink } from './ipc.js';
import { ACTIVE_LOG_NAME } from './log-files.js';
import type { LineSink } from './sink.js';
import { type ChatLogHook, createChatLogHook } from './tap.js';
import { ChatLogWriter } from './writer.js';

export interface ChatLogStats {
  /** Lines written (file mode) or delivered to the primary (worker mode). */
  readonly written: number;
  /** Lines lost to write/IPC errors, a full queue, or arriving after close. */
  readonly dropped: number;
  /** Tap calls that failed internally (a bug, never a failed request). */
  readonly tapFailures: number;
}

export interface ChatLog {
  /** Pass to the gateway (`createGateway(config, { hook })`). */
  readonly hook: ChatLogHook;
  /** Absolute path of the active log file (for the banner). */
  readonly path: string;
  readonly stats: ChatLogStats;
  /** Resolves once every ended exchange's records are written (or handed to the primary). */
  flush(): Promise<void>;
  /**
   * Writes now, synchronously, what the log holds: the records waiting for the end of the turn and
   * for their batch (up to ~100 ms of them). For a process that exits without a shutdown — an
   * uncaught exception — from its `exit` event. In worker mode the lines cannot reach the primary
   * synchronously: they are lost (counted).
   */
  flushSync(): void;
  /** Flushes and releases the file or channel. Call after the server stopped serving. */
  close(): Promise<void>;
}

export interface ChatLogOptions {
  /** Log directory (`log_dir`); the file is `{dir}/chat.log`. */
  dir: string;
  /** `log_rotate_size` in bytes; 0 = never rotate. Unused in worker mode (the primary rotates). */
  rotateSize: number;
  /** `file`: this process owns the file. `worker`: a cluster worker; lines go to the primary. */
  mode: 'file' | 'worker';
  stderr?: NodeJS.WritableStream;
  /** Worker mode: how to reach the primary (default `process.send`). */
  send?: SendMessage;
  /** Told of every reply's `usage` (chat-log/tap.ts): the metrics' token counts. */
  onUsage?: (model: string | null, usage: JsonObject, keyName: string | null) => void;
  /** Runs the log's work of a turn at its end (chat-log/tap.ts; default `setImmediate`). */
  endOfTurn?: (task: () => void) => void;
  /** The clock of the records' times (chat-log/tap.ts; default `Date.now`). */
  now?: () => number;
  /** The pool's keys and the forward keys: masked where an error reply quotes one (chat-log/tap.ts). */
  secrets?: readonly string[];
}

/** Creates the chat log of this process. Throws if `worker` mode has no IPC channel. */
export function createChatLog({ dir, rotateSize, mode, stderr = process.stderr, send, onUsage, endOfTurn, now, secrets }: ChatLogOptions): ChatLog {
  const path = resolve(dir, ACTIVE_LOG_NAME);
  let sink: LineSink;
  if (mode === 'file') {
    sink = new ChatLogWriter({ path, rotateSize, stderr });
  } else {
    const channel = send ?? processSend();
    if (channel === undefined) throw new Error('chat log: worker mode needs an IPC channel (run as a cluster worker)');
    sink = new WorkerSink({ send: channel, stderr });
  }
  const hook = createChatLogHook({ append: (line) => sink.append(line), appendLines: (lines, count) => sink.appendLines(lines, count), onUsage, endOfTurn, now, secrets });
  if (!hook.builtInWasm) {
    // Every record is still written, at about 2.5 times the log's CPU per exchange (chat-log/tap.ts).
    stderr.write(`aifwd: chat log: ${fileURLToPath(CHAT_LINES_WASM)} could not be loaded (build it with \`npm run build\`); the log's lines are built in JavaScript instead, at about 2.5 times the CPU\n`);
  }
  let closing: Promise<void> | undefined;
  return {
    hook,
    path,
    stats: {
      get written() {
        return sink.written;
      },
      get dropped() {
        return sink.dropped;
      },
      get tapFailures() {
        return hook.failures;
      },
    },
    async flush() {
      await hook.settled();
      await sink.flush();
    },
    flushSync() {
      // The waiting batch first, which also stops the sink from starting a write the exit would
      // cut short; then what the turn's drain adds (a batch it fills would start one).
      sink.writeWaitingSync();
      hook.drainNow();
      sink.writeWaitingSync();
    },
    close() {
      closing ??= (async () => {
        await hook.settled();
        await sink.close();
      })();
      return closing;
    },
  };
}
