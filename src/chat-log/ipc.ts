/**
 * Chat log under `--workers N` (node:cluster): workers never touch the file. Each worker batches
 * its complete lines (sink.ts; messages capped in size) and sends them to the primary
 * over the cluster IPC channel as `{type: 'aifwd:chat-log', lines}`; the primary alone appends and
 * rotates (primary.ts). Lines from one worker keep their order, so a request record always precedes
 * its response record; lines are whole JSON strings, so processes can never interleave inside one.
 */
import { StringLines } from './line-batch.js';
import { BatchedSink } from './sink.js';

export const CHAT_LOG_MESSAGE_TYPE = 'aifwd:chat-log';

/** The one message a worker sends its primary. */
export interface ChatLogMessage {
  readonly type: typeof CHAT_LOG_MESSAGE_TYPE;
  readonly lines: readonly string[];
}

/** True for a well-formed {@link ChatLogMessage} (anything else on the channel is not ours). */
export function isChatLogMessage(message: unknown): message is ChatLogMessage {
  if (typeof message !== 'object' || message === null) return false;
  const { type, lines } = message as { type?: unknown; lines?: unknown };
  return type === CHAT_LOG_MESSAGE_TYPE && Array.isArray(lines);
}

/** `process.send` reduced to what the sink needs; the callback runs once the message left. */
export type SendMessage = (message: ChatLogMessage, done: (error: Error | null) => void) => void;

/** `process.send` of a cluster worker, or `undefined` when this process has no IPC channel. */
export function processSend(): SendMessage | undefined {
  if (typeof process.send !== 'function') return undefined;
  return (message, done) => {
    process.send?.(message, undefined, undefined, done);
  };
}

export interface WorkerSinkOptions {
  send: SendMessage;
  stderr: NodeJS.WritableStream;
  /** Largest message, in characters (default 1 Mi): big backlogs go as several messages. */
  maxMessageChars?: number;
}

/** The worker side: a {@link LineSink} that delivers lines to the primary. */
export class WorkerSink extends BatchedSink<string[]> {
  readonly #send: SendMessage;
  readonly #maxMessageChars: number;

  constructor({ send, stderr, maxMessageChars = 1024 * 1024 }: WorkerSinkOptions) {
    super(stderr, new StringLines());
    this.#send = send;
    this.#maxMessageChars = maxMessageChars;
  }

  protected override async writeBatch(lines: string[]): Promise<void> {
    const sends: Promise<void>[] = [];
    let start = 0;
    let chars = 0;
    for (let i = 0; i < lines.length; i++) {
      if (i > start && chars + lines[i].length > this.#maxMessageChars) {
        sends.push(this.#sendOne(lines.slice(start, i)));
        start = i;
        chars = 0;
      }
      chars += lines[i].length;
    }
    sends.push(this.#sendOne(start === 0 ? lines : lines.slice(start)));
    await Promise.all(sends);
  }

  #sendOne(lines: string[]): Promise<void> {
    return new Promise((resolve) => {
      const done = (error: Error | null): void => {
        if (error === null) {
          this.writtenLines += lines.length;
          this.reporter.ok();
        } else {
          this.droppedLines += lines.length;
          this.reporter.fail('cannot send records to the cluster primary', error);
        }
        resolve();
      };
      try {
        this.#send({ type: CHAT_LOG_MESSAGE_TYPE, lines }, done);
      } catch (err) {
        done(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }
}
