/**
 * The chat log's exchange hook (core/exchange.ts). It opens a tap only for `POST` to the three
 * recorded routes — every other request costs one comparison — and the tap turns what it sees into
 * the two records of chat-record.ts, handing each to the sink as one JSON line.
 *
 * The tap runs synchronously on the proxy's hot path, so it never throws (every entry point catches
 * and counts), never waits, and keeps per-chunk work to feeding the reader: no timers, no copies of
 * the client's bytes. The request record is built right after the proxy has dispatched the request,
 * so parsing the body never delays forwarding it: taps with a body queue up, and one task at the end
 * of the event-loop turn (`endOfTurn`: in `aifwd run` after the turn's answers went out) — not one
 * per request — writes all their request records (or the tap writes its own first, when the
 * response starts or ends sooner). The response records of the common
 * reply, which the WebAssembly builder builds, are written in that drain too, after the request
 * records.
 *
 * Given `appendLines`, as `aifwd run` gives it, the lines of the common exchange — a JSON request,
 * a one-choice JSON reply — are built in WebAssembly from the bodies' bytes (core/chat-lines-wasm.ts)
 * into the builder's outbox, which is handed over once per event-loop turn (and before any line
 * built in JavaScript, so the order holds); the rest go as strings. Per exchange the tap costs
 * about 1.25–1.31 µs of CPU (`bench/micro/chat-log-tap.mjs --sink lines`, a JSON reply,
 * 2026-11-28; 2.35 µs with a view and a copy per line and the uid as text, 3.4 µs with every line
 * built in JavaScript), against the gateway's own ~21–27 µs per request; BENCHMARKS.md (measure
 * 4) says where the log's cost goes.
 */
import { Buffer } from 'node:buffer';
import { CHAT_ROUTES, type ChatApi, chatApiOf } from '../core/chat-api.js';
import { type ChatLineBuilder, createChatLineBuilder, type RequestEnvelope, type ResponseEnvelope } from '../core/chat-lines-wasm.js';
import { jsonString, requestRecordLine, responseRecordLine } from '../core/chat-record-line.js';
import type { ExchangeEnd, ExchangeHook, ExchangeInfo, ExchangeTap } from '../core/exchange.js';
import type { JsonObject } from '../core/chat-reply.js';
import type { UpstreamResponseHead } from '../core/headers.js';
import { maskSecretsIn } from '../core/mask.js';
import { PendingWork } from './pending-work.js';
import { type ReadResult, ResponseReader } from './response-reader.js';
import { UidCounter, uidText } from './uid.js';

export interface ChatLogHookOptions {
  /** Receives each record as one JSON line (no newline). Must not throw. */
  append: (line: string) => void;
  /**
   * Receives `count` records as JSON lines in UTF-8 bytes, each ending in `\n`, that it copies at
   * once: the bytes are a view that later records overwrite. Must not throw. When given, the lines
   * of the common exchange — a JSON request, a one-choice JSON reply — are built in WebAssembly
   * (core/chat-lines-wasm.ts), gathered, and handed over once per event-loop turn, before any line
   * that comes after them; the others still go to `append`.
   */
  appendLines?: (lines: Uint8Array, count: number) => void;
  now?: () => number;
  /**
   * Runs a task at the end of this event-loop turn — the drain of the turn's records and the
   * hand-off of the builder's lines. Default `setImmediate`; `aifwd run` gives `afterWrites` of
   * node/turn-writes.ts, which runs it once the turn's answers went out.
   */
  endOfTurn?: (task: () => void) => void;
  /** Default: UUID-shaped uids from a per-process random prefix and a counter (uid.ts). */
  newUid?: () => string;
  /** Largest non-stream response body parsed, decoded bytes (default 8 MiB). */
  maxBodyBytes?: number;
  /**
   * Told of every reply's `usage` — of the common JSON reply read from its bytes, only the token
   * counts in it (`prompt_tokens`, `completion_tokens`, `input_tokens`, `output_tokens`) — the model
   * it names and the forward key's policy name (ExchangeInfo.keyName): the metrics' token counts.
   * Called once the record is built (handed to `append`, or waiting for `appendLines`): for the
   * common JSON reply, whose record the drain builds, at the end of the event-loop turn its
   * exchange ended in. Should it throw, {@link ChatLogHook.failures} counts it. Must not throw.
   */
  onUsage?: (model: string | null, usage: JsonObject, keyName: string | null) => void;
  /**
   * Keys that must never reach the log: the pool's and the forward keys. An error reply's body may
   * quote one (`Incorrect API key provided: sk-…`); its record has them masked (core/mask.ts).
   */
  secrets?: readonly string[];
}

export interface ChatLogHook extends ExchangeHook {
  /** Tap calls that failed internally (each lost at most its record). */
  readonly failures: number;
  /**
   * Whether the common lines are built in WebAssembly: false without `appendLines`, or when the
   * module could not be loaded (not built, or not where core/chat-lines-wasm.ts looks for it).
   */
  readonly builtInWasm: boolean;
  /** Resolves once every exchange ended so far has handed its records to `append`. */
  settled(): Promise<void>;
  /**
   * Hands over now, synchronously, the records waiting for the end of this event-loop turn: for a
   * process that is exiting, whose turn will not end. (A compressed reply still being decoded is
   * not waited for.)
   */
  drainNow(): void;
}

/** The result of an exchange that had no response body to read. */
const NO_BODY: ReadResult = { reply: null };
const COMPLETE: ExchangeEnd = { kind: 'complete' };

/** State shared by the hook and its taps. */
class HookState {
  failures = 0;
  readonly append: (line: string) => void;
  readonly now: () => number;
  readonly endOfTurn: (task: () => void) => void;
  /** The uids' source: the default's parts (uid.ts), or the `newUid` option's whole uids. */
  readonly uids: UidCounter | (() => string);
  readonly maxBodyBytes: number;
  readonly onUsage: ChatLogHookOptions['onUsage'];
  readonly secrets: readonly string[];
  /** The WebAssembly line builder, which hands its lines to `appendLines`; `null` without that or the module. */
  readonly builder: ChatLineBuilder | null;
  /** Drains to come (deferred request records, the common replies' response records), hand-offs and decoders still finishing: what {@link settled} waits for. */
  readonly pending = new PendingWork();
  /** Taps whose request record waits for the next drain. */
  #queued: ChatLogTap[] = [];
  /** Taps whose response record waits for it (see {@link ChatLogTap.end}). */
  #replies: ChatLogTap[] = [];
  /** The {@link PendingWork} id of the scheduled drain, 0 when none is. */
  #drainId = 0;
  /** The same for the hand-off of the builder's lines. */
  #handOffId = 0;
  /** Whether the drain runs. */
  #draining = false;

  constructor(options: Required<Omit<ChatLogHookOptions, 'onUsage' | 'appendLines' | 'newUid'>> & Pick<ChatLogHookOptions, 'onUsage' | 'appendLines' | 'newUid'>) {
    this.secrets = options.secrets;
    this.append = options.append;
    this.now = options.now;
    this.endOfTurn = options.endOfTurn;
    this.uids = options.newUid ?? new UidCounter();
    this.maxBodyBytes = options.maxBodyBytes;
    this.onUsage = options.onUsage;
    this.builder = options.appendLines === undefined ? null : createChatLineBuilder(options.appendLines);
  }

  /** Hands over a line built in JavaScript, after the builder's lines that came before it. */
  appendLine(line: string): void {
    if (this.builder !== null && this.builder.waiting > 0) this.#handOff();
    this.append(line);
  }

  /**
   * Adds the request line built in WebAssembly to the builder's; false when JavaScript must build
   * it — also when the builder threw (a bug: counted).
   */
  requestLineBytes(input: RequestEnvelope, body: Buffer): boolean {
    if (this.builder === null) return false;
    try {
      return this.builder.requestLine(input, body) && this.#built();
    } catch {
      this.failures++;
      return false;
    }
  }

  /** The same for the response line of a whole JSON reply. */
  responseLineBytes(input: ResponseEnvelope, api: ChatApi, body: Buffer): boolean {
    if (this.builder === null) return false;
    try {
      return this.builder.responseLine(input, api, body) && this.#built();
    } catch {
      this.failures++;
      return false;
    }
  }

  /** After the builder took a line: its lines are handed over at the end of this turn (one task for all). */
  #built(): true {
    // The drain hands its lines off as it ends.
    if (this.#handOffId === 0 && !this.#draining) {
      this.#handOffId = this.pending.begin();
      this.endOfTurn(this.#handOffLater);
    }
    return true;
  }

  readonly #handOffLater = (): void => {
    const id = this.#handOffId;
    this.#handOffId = 0;
    this.#handOff();
    this.pending.done(id);
  };

  /** Hands the builder's lines to `appendLines` now. */
  #handOff(): void {
    try {
      this.builder?.flush();
    } catch {
      this.failures++;
    }
  }

  /** Runs the drain and the hand-off that wait for the end of the turn, now (ChatLogHook.drainNow). */
  drainNow(): void {
    if (this.#drainId !== 0) this.#drain();
    if (this.#handOffId !== 0) this.#handOffLater();
  }

  /** Has `tap` write its request record in the next drain (one end-of-turn task for all taps). */
  defer(tap: ChatLogTap): void {
    this.#queued.push(tap);
    this.#scheduleDrain();
  }

  /** Has `tap` write its response record, which the builder builds, in the next drain, after the request records. */
  deferResponse(tap: ChatLogTap): void {
    this.#replies.push(tap);
    this.#scheduleDrain();
  }

  #scheduleDrain(): void {
    if (this.#drainId !== 0) return;
    this.#drainId = this.pending.begin();
    this.endOfTurn(this.#drain);
  }

  readonly #drain = (): void => {
    const taps = this.#queued;
    const replies = this.#replies;
    const id = this.#drainId;
    this.#queued = [];
    this.#replies = [];
    this.#drainId = 0;
    this.#draining = true;
    try {
      for (const tap of taps) tap.writeRequest();
      for (const tap of replies) tap.writeDeferredResponse();
    } finally {
      this.#draining = false;
      // Before the drain counts as done: a flush waiting for it expects its lines in the sink.
      this.#handOff();
      this.pending.done(id);
    }
  };
}

class ChatLogTap implements ExchangeTap {
  readonly #state: HookState;
  readonly #info: ExchangeInfo;
  readonly #api: ChatApi;
  /** The record's uid as the WebAssembly builder takes it (core/chat-lines-wasm.ts, LineUid). */
  readonly #uid: string;
  readonly #uidLow: number;
  #body: Buffer | undefined;
  /** The request record: `queued` for the drain, `written` (or failed: never tried twice). */
  #request: 'pending' | 'queued' | 'written' = 'pending';
  #status: number | null = null;
  #reader: ResponseReader | null = null;
  #firstByteAt = -1;
  #ended = false;
  /** When the exchange ended, for a response record the drain writes. */
  #endedAt = 0;

  constructor(state: HookState, info: ExchangeInfo, api: ChatApi) {
    this.#state = state;
    this.#info = info;
    this.#api = api;
    const uids = state.uids;
    if (typeof uids === 'function') {
      this.#uid = uids();
      this.#uidLow = -1;
    } else {
      this.#uidLow = uids.next();
      this.#uid = uids.base;
    }
  }

  /** The record's uid and its JSON text, for a line built in JavaScript. */
  #recordUid(): { uid: string; uidJson: string } {
    if (this.#uidLow === -1) return { uid: this.#uid, uidJson: jsonString(this.#uid) };
    // The default uids are hex digits and dashes: quoted as they are, with no check for escapes.
    const uid = uidText(this.#uid, this.#uidLow);
    return { uid, uidJson: `"${uid}"` };
  }

  requestBody(body: Buffer): void {
    try {
      if (this.#request === 'written') return;
      this.#body = body;
      if (this.#request === 'queued') return;
      this.#request = 'queued';
      this.#state.defer(this);
    } catch {
      this.#state.failures++;
    }
  }

  responseStart(status: number, head: UpstreamResponseHead): void {
    // Nothing after the end changes the record (the common reply's is built later, in the drain).
    if (this.#ended) return;
    try {
      this.writeRequest();
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
    if (this.#ended) return;
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
      const endedAt = state.now();
      const reader = this.#reader;
      // An error reply takes the path below, which masks the keys its body may quote.
      const error = this.#status !== null && this.#status >= 400;
      if (reader !== null && outcome.kind === 'complete' && !error && state.builder !== null && !reader.decoding && reader.plainBody() !== null) {
        // The common reply: its line is built in the drain, with the other lines of this turn, one
        // after the other while the module's code and tables are in the caches (a response line
        // built alone, between the forwarding of other requests, cost it twice as long).
        this.#endedAt = endedAt;
        state.deferResponse(this);
        return;
      }
      this.writeRequest();
      if (reader === null) {
        this.#writeResponse(outcome, endedAt, NO_BODY);
      } else if (!reader.decoding) {
        this.#writeResponse(outcome, endedAt, reader.finishNow());
      } else {
        const pendingId = state.pending.begin();
        reader.finish((result) => {
          try {
            this.#writeResponse(outcome, endedAt, result);
          } catch {
            state.failures++;
          } finally {
            state.pending.done(pendingId);
          }
        });
      }
    } catch {
      state.failures++;
    }
  }

  /** The drain's part of {@link end} for the common reply: both records, unless written. Never throws. */
  writeDeferredResponse(): void {
    const state = this.#state;
    try {
      this.writeRequest();
      const reader = this.#reader;
      if (reader === null) this.#writeResponse(COMPLETE, this.#endedAt, NO_BODY);
      else if (!this.#writeResponseBytes(this.#endedAt, reader)) this.#writeResponse(COMPLETE, this.#endedAt, reader.finishNow());
    } catch {
      state.failures++;
    }
  }

  /** Writes the request record unless it was already; never throws (the drain calls it too). */
  writeRequest(): void {
    if (this.#request === 'written') return;
    this.#request = 'written';
    const state = this.#state;
    try {
      const { ip, startedAt } = this.#info;
      // The same text as the exchange's route, as one string for every record: the builder
      // compares it with the last route by identity, not character by character.
      const route = CHAT_ROUTES[this.#api];
      const body = this.#body;
      if (body === undefined || body.length === 0 || !state.requestLineBytes({ uid: this.#uid, uidLow: this.#uidLow, startedAt, ip, route }, body)) {
        const { uid, uidJson } = this.#recordUid();
        state.appendLine(requestRecordLine({ uid, uidJson, startedAt, ip, route, body }));
      }
    } catch {
      state.failures++;
    }
    this.#body = undefined;
  }

  /**
   * The common JSON reply's line of a complete exchange, built in WebAssembly from the body's
   * bytes; false when the exchange must take {@link #writeResponse} (no builder, not a whole plain
   * JSON body, or a reply the module declines).
   */
  #writeResponseBytes(endedAt: number, reader: ResponseReader): boolean {
    const state = this.#state;
    const builder = state.builder;
    if (builder === null) return false;
    const body = reader.plainBody();
    if (body === null) return false;
    const startedAt = this.#info.startedAt;
    const ttftMs = this.#firstByteAt < 0 ? null : this.#firstByteAt - startedAt;
    if (!state.responseLineBytes({ uid: this.#uid, uidLow: this.#uidLow, endedAt, status: this.#status, ttftMs, durationMs: endedAt - startedAt }, this.#api, body)) return false;
    // After the record, as in #writeResponse.
    const onUsage = state.onUsage;
    if (onUsage === undefined) return true;
    const usage = builder.responseUsage();
    if (usage !== null) onUsage(usage.model, usage.tokens, this.#info.keyName);
    return true;
  }

  #writeResponse(outcome: ExchangeEnd, endedAt: number, result: ReadResult): void {
    const state = this.#state;
    const startedAt = this.#info.startedAt;
    const { reply, json } = result;
    const { uid, uidJson } = this.#recordUid();
    // Named members, not a spread of #recordUid()'s object: with the spread, V8 made new hidden
    // classes (Maps, in the old generation) for every record it built — perf on SSE replies with
    // the log on, 2026-11-28: ~1,900 old-space refills in 4 s from here, none with named members.
    const input = {
      uid,
      uidJson,
      endedAt,
      // An error: the status the client got (the gateway's own error, even after the upstream's
      // head, when that head never reached the client; or the upstream's, cut midway).
      status: outcome.kind === 'error' ? outcome.status : this.#status,
      reply,
      ttftMs: this.#firstByteAt < 0 ? null : this.#firstByteAt - startedAt,
      durationMs: endedAt - startedAt,
      outcome,
      unparsed: result.unparsed,
      truncated: result.truncated,
    };
    const line = json === undefined ? responseRecordLine(input) : responseRecordLine(input, json);
    // An upstream's error may quote the key it was sent (or a forward key): never into the log.
    const status = input.status;
    state.appendLine(status !== null && status >= 400 && state.secrets.length > 0 ? maskSecretsIn(line, state.secrets) : line);
    // After the record: counting tokens for the metrics must not be able to cost it.
    const onUsage = state.onUsage;
    if (onUsage === undefined) return;
    const keyName = this.#info.keyName;
    if (reply !== null && reply.usage !== null) onUsage(reply.usageModel, reply.usage, keyName);
    else if (json !== undefined && json.usageTokens !== null) onUsage(json.usageModel, json.usageTokens, keyName);
  }
}

/** The chat log's {@link ExchangeHook}. */
export function createChatLogHook({ append, appendLines, now = Date.now, endOfTurn = setImmediate, newUid, maxBodyBytes = 8 * 1024 * 1024, onUsage, secrets = [] }: ChatLogHookOptions): ChatLogHook {
  const state = new HookState({ append, appendLines, now, endOfTurn, newUid, maxBodyBytes, onUsage, secrets });
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
    builtInWasm: state.builder !== null,
    settled: () => state.pending.settled(),
    drainNow: () => state.drainNow(),
  };
}
