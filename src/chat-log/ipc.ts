/**
 * Chat log under `--workers N` (node:cluster): workers never touch the file. Each worker encodes
 * its complete lines as it gets them (line-batch.ts), batches them (sink.ts) and sends the bytes to
 * the primary over the cluster IPC channel as `{type: 'aifwd:chat-log', bytes, lines}`; the
 * primary alone appends them as they are and rotates (primary.ts). With the log on, the channel
 * uses Node's `advanced` serialization (run.ts), so the bytes cross as one copy: as JSON, every
 * record's quotes were escaped in the worker and parsed again in the primary, which then encoded
 * the lines anew.
 * Lines from one worker keep their order, so a request record always precedes its response record;
 * a message holds whole lines only, so processes can never interleave inside one.
 */
import { Buffer } from 'node:buffer';
import process from 'node:process';
import { type ByteBatch, linesPerBuffer } from './line-batch.js';
import { BatchedSink } from './sink.js';

export const CHAT_LOG_MESSAGE_TYPE = 'aifwd:chat-log';

/** The one message a worker sends its primary: `lines` whole lines, each ending in `\n`. */
export interface ChatLogMessage {
  readonly type: typeof CHAT_LOG_MESSAGE_TYPE;
  readonly bytes: Uint8Array;
  readonly lines: number;
}

/** True for a well-formed {@link ChatLogMessage} (anything else on the channel is not ours). */
export function isChatLogMessage(message: unknown): message is ChatLogMessage {
  if (typeof message !== 'object' || message === null) return false;
  const { type, bytes, lines } = message as { type?: unknown; bytes?: unknown; lines?: unknown };
  return (
    type === CHAT_LOG_MESSAGE_TYPE &&
    bytes instanceof Uint8Array &&
    bytes.length > 0 &&
    bytes[bytes.length - 1] === 0x0a &&
    typeof lines === 'number' &&
    Number.isSafeInteger(lines) &&
    lines > 0
  );
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
  /** Size of the chunks lines are encoded into, and so of most messages (default 1 MiB). */
  chunkBytes?: number;
}

/** The worker side: a {@link LineSink} that delivers lines to the primary. */
export class WorkerSink extends BatchedSink {
  readonly #send: SendMessage;

  constructor({ send, stderr, chunkBytes }: WorkerSinkOptions) {
    super(stderr, chunkBytes);
    this.#send = send;
  }

  protected override async writeBatch(batch: ByteBatch): Promise<void> {
    const counts = linesPerBuffer(batch);
    // Once sent, the messages are serialised: their chunks may take new lines (sink.ts reuses them).
    await Promise.all(batch.buffers.map((bytes, i) => this.#sendOne(bytes, counts[i])));
  }

  #sendOne(bytes: Buffer, lines: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (error: Error | null): void => {
        if (error === null) {
          this.writtenLines += lines;
          this.reporter.ok();
        } else {
          this.droppedLines += lines;
          this.reporter.fail('cannot send records to the cluster primary', error);
        }
        resolve();
      };
      try {
        this.#send({ type: CHAT_LOG_MESSAGE_TYPE, bytes, lines }, done);
      } catch (err) {
        done(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }
}
