/**
 * The chat log's exchange hook (core/exchange.ts). It opens a tap only for `POST` to the three
 * recorded routes — every other request costs one comparison — and the tap turns what it sees into
 * the two records of chat-record.ts, handing each to the sink as one JSON line.
 *
 * The tap runs synchronously on the proxy's hot path, so it never throws (every entry point catches
 * and counts), never waits, and keeps per-chunk work to feeding the reader: no timers, no copies of
 * the client's bytes. The request record is built right after the proxy has dispatched the request
 * (one `setImmediate`), so parsing the body never delays forwarding it.
 */
import { randomUUID } from 'node:crypto';
import { type ChatApi, chatApiOf } from '../core/chat-api.js';
import { buildRequestRecord, buildResponseRecord } from '../core/chat-record.js';
import type { ExchangeEnd, ExchangeHook, ExchangeInfo, ExchangeTap } from '../core/exchange.js';
import type { UpstreamResponseHead } from '../core/headers.js';
import { type ReadResult, ResponseReader } from './response-reader.js';

export interface ChatLogHookOptions {
  /** Receives each record as one JSON line (no newline). Must not throw. */
  append: (line: string) => void;
  now?: () => number;
  newUid?: () => string;
  /** Largest non-stream response body parsed, decoded bytes (default 8 MiB). */
  maxBodyBytes?: number;
}

export interface ChatLogHook extends ExchangeHook {
  /** Tap calls that failed internally (each lost at most its record). */
  readonly failures: number;
  /** Resolves once every exchange ended so far has handed its records to `append`. */
  settled(): Promise<void>;
}

/** State shared by the hook and its taps. */
class HookState {
  failures = 0;
  #lastId = 0;
  readonly #pending = new Set<number>();
  #waiters: { upTo: number; resolve: () => void }[] = [];

  readonly append: (line: string) => void;
  readonly now: () => number;
  readonly newUid: () => string;
  readonly maxBodyBytes: number;

  constructor(options: Required<ChatLogHookOptions>) {
    this.append = options.append;
    this.now = options.now;
    this.newUid = options.newUid;
    this.maxBodyBytes = options.maxBodyBytes;
  }

  write(record: object): void {
    this.append(JSON.stringify(record));
  }

  /** Marks work that will still hand a record to `append`; pass the id to {@link done}. */
  begin(): number {
    const id = ++this.#lastId;
    this.#pending.add(id);
    return id;
  }

  done(id: number): void {
    this.#pending.delete(id);
    if (this.#waiters.length === 0) return;
    // Ids are added in increasing order and a Set keeps insertion order: the first is the oldest.
    const oldest = this.#pending.size === 0 ? Number.POSITIVE_INFINITY : (this.#pending.values().next().value as number);
    this.#waiters = this.#waiters.filter((waiter) => {
      if (waiter.upTo >= oldest) return true;
      waiter.resolve();
      return false;
    });
  }

  /** Resolves once the work begun so far is done (work begun later is not waited for). */
  settled(): Promise<void> {
    if (this.#pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ upTo: this.#lastId, resolve }));
  }
}

class ChatLogTap implements ExchangeTap {
  readonly #state: HookState;
  readonly #info: ExchangeInfo;
  readonly #api: ChatApi;
  readonly #uid: string;
  #body: Buffer | undefined;
  #requestWritten = false;
  #status: number | null = null;
  #reader: ResponseReader | null = null;
  #firstByteAt = -1;
  #ended = false;

  constructor(state: HookState, info: ExchangeInfo, api: ChatApi) {
    this.#state = state;
    this.#info = info;
    this.#api = api;
    this.#uid = state.newUid();
  }

  requestBody(body: Buffer): void {
    try {
      this.#body = body;
      setImmediate(this.#deferredRequest, this.#state.begin());
    } catch {
      this.#state.failures++;
    }
  }

  responseStart(status: number, head: UpstreamResponseHead): void {
    try {
      this.#writeRequest();
      this.#status = status;
      this.#reader = new ResponseReader({
        api: this.#api,
        eventStream: head.eventStream,
        contentEncoding: head.contentEncoding,
        maxBodyBytes: this.#state.maxBodyBytes,
      });
    } catch {
      this.#state.failures++;
    }
  }

  responseData(chunk: Buffer): void {
    try {
      if (this.#firstByteAt < 0) this.#firstByteAt = this.#state.now();
      this.#reader?.write(chunk);
    } catch {
      this.#state.failures++;
      this.#reader = null;
    }
  }

  end(outcome: ExchangeEnd): void {
    if (this.#ended) return;
    this.#ended = true;
    const state = this.#state;
    try {
      this.#writeRequest();
      const endedAt = state.now();
      const reader = this.#reader;
      if (reader === null) {
        this.#writeResponse(outcome, endedAt, { reply: null });
        return;
      }
      const pendingId = state.begin();
      reader.finish((result) => {
        try {
          this.#writeResponse(outcome, endedAt, result);
        } catch {
          state.failures++;
        } finally {
          state.done(pendingId);
        }
      });
    } catch {
      state.failures++;
    }
  }

  readonly #deferredRequest = (pendingId: number): void => {
    try {
      this.#writeRequest();
    } catch {
      this.#state.failures++;
    } finally {
      this.#state.done(pendingId);
    }
  };

  #writeRequest(): void {
    if (this.#requestWritten) return;
    this.#requestWritten = true;
    const { ip, route, startedAt } = this.#info;
    this.#state.write(buildRequestRecord({ uid: this.#uid, startedAt, ip, route, body: this.#body }));
    this.#body = undefined;
  }

  #writeResponse(outcome: ExchangeEnd, endedAt: number, result: ReadResult): void {
    const startedAt = this.#info.startedAt;
    this.#state.write(
      buildResponseRecord({
        uid: this.#uid,
        endedAt,
        // An error before any response: the status the gateway answered with.
        status: this.#status ?? (outcome.kind === 'error' ? outcome.status : null),
        reply: result.reply,
        ttftMs: this.#firstByteAt < 0 ? null : this.#firstByteAt - startedAt,
        durationMs: endedAt - startedAt,
        outcome,
        unparsed: result.unparsed,
        truncated: result.truncated,
      }),
    );
  }
}

/** The chat log's {@link ExchangeHook}. */
export function createChatLogHook({
  append,
  now = Date.now,
  newUid = randomUUID,
  maxBodyBytes = 8 * 1024 * 1024,
}: ChatLogHookOptions): ChatLogHook {
  const state = new HookState({ append, now, newUid, maxBodyBytes });
  return {
    open(info) {
      const api = chatApiOf(info.method, info.route);
      if (api === undefined) return undefined;
      try {
        return new ChatLogTap(state, info, api);
      } catch {
        state.failures++;
        return undefined;
      }
    },
    get failures() {
      return state.failures;
    },
    settled: () => state.settled(),
  };
}
