/**
 * What the request and response parsers share: a head read whole (head-reader.ts), then a body
 * through the shared framing (body-framing.ts). A subclass parses the head text and starts the
 * framing; `execute` feeds bytes to whichever part is current and stops at the message's end.
 */
import { Buffer } from 'node:buffer';
import { BodyFraming, type BodySink } from './body-framing.js';
import { HeadReader } from './head-reader.js';

export interface MessageParserOptions {
  sink: BodySink;
  /** The error thrown for malformed framing or an oversized head. */
  fail: (reason: string) => Error;
  /** Strict body framing (requests), see body-framing.ts. */
  strictFraming: boolean;
  maxHeadBytes: number;
  headTooLarge: () => Error;
}

export abstract class MessageParser {
  protected readonly body: BodyFraming;
  protected readonly reader = new HeadReader();
  /** Waiting for (the rest of) a head; otherwise the body framing owns the bytes. */
  protected inHead = true;
  readonly #maxHeadBytes: number;
  readonly #headTooLarge: () => Error;

  constructor({ sink, fail, strictFraming, maxHeadBytes, headTooLarge }: MessageParserOptions) {
    this.body = new BodyFraming(sink, fail, strictFraming);
    this.#maxHeadBytes = maxHeadBytes;
    this.#headTooLarge = headTooLarge;
  }

  /** The current message (head and body) has been parsed completely. */
  get done(): boolean {
    return !this.inHead && this.body.done;
  }

  /**
   * Feeds bytes from `at`; returns where it stopped: at the end of `chunk`, or right after the
   * message ended (the rest belongs to the next message). Throws on a malformed message.
   */
  execute(chunk: Buffer, at = 0): number {
    const length = chunk.length;
    while (at < length) {
      if (this.inHead) {
        at = this.head(chunk, at);
      } else {
        if (this.body.done) return at;
        at = this.body.execute(chunk, at);
      }
    }
    return at;
  }

  /** Reads the head from `at`; returns where it stopped. */
  protected head(chunk: Buffer, at: number): number {
    const text = this.reader.read(chunk, at, this.#maxHeadBytes, this.#headTooLarge);
    if (text === null) return chunk.length;
    this.parseHead(text);
    return this.reader.end;
  }

  /** Parses a complete head (without the final empty line), tells the sink, starts the body framing. */
  protected abstract parseHead(text: string): void;
}
