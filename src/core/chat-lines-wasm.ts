/**
 * The chat log's two common lines built in WebAssembly (wasm/chat-lines.ts, built into
 * wasm/build/chat-lines.wasm by `npm run build:wasm`):
 * - the request line: the same bytes as requestRecordLine's copy path (chat-record-line.ts);
 * - the response line of the common one-choice JSON reply: the same bytes as responseRecordLine
 *   of what rawReply (chat-raw-reply.ts) reads;
 * and of a pretty-printed body, which JavaScript parses and writes anew, a line with the same values.
 * They took the tap from 3.4 to 1.3–1.4 µs per JSON exchange, and a reply as OpenAI writes it from
 * 6.3 to 2.2–2.3 µs (`bench/micro/chat-log-tap.mjs --sink lines`).
 *
 * JavaScript copies the body into the module's memory and writes there what it has of the
 * envelope as text when it changes — the uid's start (uid.ts: the same for 2^24 uids in a row), the
 * time up to the second, ip and route — and passes the rest as numbers, the uid's end included.
 * The module validates the body, finds what the record needs and writes the line and its newline
 * into its outbox, after the lines before it; {@link ChatLineBuilder.flush} hands those over as one
 * view (the chat log does once per event-loop turn), and a line that might not fit hands them over
 * first. Anything the module declines — see its file comment — takes the JavaScript path, so the
 * two can only differ in speed; the tests hold them to the same bytes (to the same values for
 * pretty-printed bodies). The field memo of isOtherField is mirrored in the module: a key it does
 * not know is classified here once and remembered there.
 */
import { Buffer, isUtf8 } from 'node:buffer';
import { readFileSync } from 'node:fs';
import type { ChatApi } from './chat-api.js';
import { COMPLETION_SLOT, INPUT_SLOT, MODEL_SLOT, OUTPUT_SLOT, PROMPT_SLOT, SLOT_COUNT, stringOf, TOKEN_SLOTS, USAGE_SLOT, valueOf } from './chat-raw-reply.js';
import { ipAndRoute, jsonString } from './chat-record-line.js';
import { isOtherField, type RequestRecordInput, type ResponseRecordInput } from './chat-record.js';
import type { JsonObject } from './chat-reply.js';
import { isoSecond } from './chat-time.js';
import { OPEN_BRACE, QUOTE } from './json-scan.js';
import { PACKAGE_ROOT } from '../package-root.js';

/** Where `npm run build:wasm` writes the module. */
export const CHAT_LINES_WASM = new URL('wasm/build/chat-lines.wasm', PACKAGE_ROOT);

interface ChatLinesExports {
  readonly memory: WebAssembly.Memory;
  inputAt(): number;
  inputMax(): number;
  envelopeAt(): number;
  outputAt(): number;
  outputEnd(): number;
  lineMargin(): number;
  layoutEnd(): number;
  dataEnd(): number;
  tablesAt(): number;
  tablesEnd(): number;
  notedAt(): number;
  slotCount(): number;
  countsAt(): number;
  lastModelKey(): number;
  sawHighByte(): number;
  unknownKeysAt(): number;
  unknownKeyCount(): number;
  learnKey(at: number, length: number, other: number): void;
  uidAt(): number;
  uidMax(): number;
  secondAt(): number;
  placeAt(): number;
  placeMax(): number;
  setPlace(length: number): void;
  setUid(length: number): void;
  requestLine(length: number, uidLow: number, millis: number, lineAt: number): number;
  responseLine(length: number, completions: number, uidLow: number, millis: number, status: number, ttft: number, duration: number, lineAt: number): number;
}

/** What the metrics read of a reply whose line the module built (see ChatLogHookOptions.onUsage). */
export interface LineUsage {
  /** The reply's `model` when it is a string, else `null`. */
  model: string | null;
  /** The token counts in `usage` the metrics read, those present. */
  tokens: JsonObject;
}

const UNKNOWN_KEY = -2;
/** How the module is told a record field is `null` (i32's lowest value). */
const NULL = -0x80000000;
/** `Date#toISOString` has four-digit years up to here (the year 10000). */
const YEAR_10000 = 253_402_300_800_000;


/** The largest low half of a uid's counter (24 bits, uid.ts). */
const UID_LOW_MAX = 0xffffff;

/**
 * A record's uid as the module takes it. The chat log's own uids come in two parts (uid.ts,
 * UidCounter): `uid` is their start, the same for 2^24 uids in a row, and the module writes the
 * end, six hex digits of `uidLow`. Any other uid is whole in `uid`, with `uidLow` -1.
 */
export interface LineUid {
  readonly uid: string;
  readonly uidLow: number;
}
/** The record fields of a request line the module writes besides the body's. */
export type RequestEnvelope = LineUid & Pick<RequestRecordInput, 'startedAt' | 'ip' | 'route'>;
/** Those of a response line besides the reply's. */
export type ResponseEnvelope = LineUid & Pick<ResponseRecordInput, 'endedAt' | 'status' | 'ttftMs' | 'durationMs'>;

/** A record's number as the module takes it: NULL for `null`, `undefined` when it cannot take it. */
function int32(value: number | null): number | undefined {
  if (value === null) return NULL;
  return Number.isInteger(value) && value > NULL && value <= 0x7fffffff && !Object.is(value, -0) ? value : undefined;
}

/** One instance of the module: its memory, its field memo (see the file comment). */
export class ChatLineBuilder {
  readonly #wasm: ChatLinesExports;
  /** The module's memory as a Buffer; the module never grows it, so the view stays valid. */
  readonly #memory: Buffer;
  /** The same memory as a plain Uint8Array: its views are cheaper to make than a Buffer's. */
  readonly #bytes: Uint8Array;
  readonly #inputAt: number;
  readonly #inputMax: number;
  readonly #uidAt: number;
  /** Longest uid text, in UTF-16 units, that surely fits its region as UTF-8. */
  readonly #uidUnits: number;
  readonly #secondAt: number;
  readonly #placeAt: number;
  readonly #placeUnits: number;
  /** The outbox: lines wait in [outputAt, cursor) until handed off; a line may need lineMargin beyond its body. */
  readonly #outputAt: number;
  readonly #outputEnd: number;
  readonly #lineMargin: number;
  #cursor: number;
  #waiting = 0;
  readonly #handOff: (lines: Uint8Array, count: number) => void;
  /** Where the response walk noted each value: start and end by slot, -1 when absent. */
  readonly #noted: Int32Array;
  /** The usage's token counts the module read, by slot (NaN: read the text). */
  readonly #counts: Float64Array;
  /** The last model decoded, and the module's key for its text (-1: none). */
  #lastModel: string | null = null;
  #modelKey = -1;
  /** The first millisecond of the second whose text is at secondAt (-Infinity: none yet). */
  #secondFrom = Number.NEGATIVE_INFINITY;
  /** The text at placeAt (`,"ip":…,"route":…`). */
  #place = '';
  /** The uid (or its start) written at uidAt, and whether whole (see {@link LineUid}); `null`: none yet. */
  #uid = '';
  #uidWhole: boolean | null = null;

  /** `handOff` receives the outbox's lines (see {@link flush}). */
  constructor(module: WebAssembly.Module, handOff: (lines: Uint8Array, count: number) => void) {
    this.#handOff = handOff;
    const wasm = new WebAssembly.Instance(module, { env: { abort: wasmAbort } }).exports as unknown as ChatLinesExports;
    this.#wasm = wasm;
    this.#memory = Buffer.from(wasm.memory.buffer);
    this.#bytes = new Uint8Array(wasm.memory.buffer);
    if (wasm.slotCount() !== SLOT_COUNT) throw new Error(`chat-lines.wasm: ${wasm.slotCount()} slots, chat-raw-reply.ts has ${SLOT_COUNT}`);
    if (this.#memory.length < wasm.layoutEnd() || wasm.dataEnd() > wasm.tablesAt() || wasm.tablesEnd() > wasm.envelopeAt()) {
      throw new Error(`chat-lines.wasm: memory ${this.#memory.length} bytes, data to ${wasm.dataEnd()}, tables ${wasm.tablesAt()}–${wasm.tablesEnd()}, envelope at ${wasm.envelopeAt()}, end ${wasm.layoutEnd()}`);
    }
    this.#inputAt = wasm.inputAt();
    this.#inputMax = wasm.inputMax();
    this.#uidAt = wasm.uidAt();
    this.#uidUnits = Math.floor(wasm.uidMax() / 3);
    this.#secondAt = wasm.secondAt();
    this.#placeAt = wasm.placeAt();
    this.#placeUnits = Math.floor(wasm.placeMax() / 3);
    this.#outputAt = this.#cursor = wasm.outputAt();
    this.#outputEnd = wasm.outputEnd();
    this.#lineMargin = wasm.lineMargin();
    this.#noted = new Int32Array(wasm.memory.buffer, wasm.notedAt(), 2 * SLOT_COUNT);
    this.#counts = new Float64Array(wasm.memory.buffer, wasm.countsAt(), SLOT_COUNT);
  }

  /** Lines waiting in the outbox. */
  get waiting(): number {
    return this.#waiting;
  }

  /**
   * Hands the lines waiting in the outbox to `handOff`, in the order they were built, each ending
   * in `\n`: a view of the module's memory, which it must copy before it returns.
   */
  flush(): void {
    const count = this.#waiting;
    if (count === 0) return;
    const end = this.#cursor;
    this.#cursor = this.#outputAt;
    this.#waiting = 0;
    this.#handOff(this.#bytes.subarray(this.#outputAt, end), count);
  }

  /**
   * Adds the request line of `input` (requestRecordLine's) to the outbox; false when
   * requestRecordLine must build it.
   */
  requestLine(input: RequestEnvelope, body: Buffer): boolean {
    if (body.length > this.#inputMax || !this.#stamp(input, input.startedAt) || !this.#writePlace(input.ip, input.route)) return false;
    const wasm = this.#wasm;
    this.#bytes.set(body, this.#inputAt);
    const millis = input.startedAt % 1000;
    const at = this.#lineAt(body.length);
    let length = wasm.requestLine(body.length, input.uidLow, millis, at);
    if (length === UNKNOWN_KEY) {
      this.#learnKeys();
      length = wasm.requestLine(body.length, input.uidLow, millis, at);
    }
    // Bytes above 0x7f must be well-formed UTF-8, as utf8ObjectMembers requires.
    return length >= 0 && (wasm.sawHighByte() === 0 || isUtf8(body)) && this.#added(at + length);
  }

  /**
   * Adds the response line (responseRecordLine's) of `input` with the non-stream reply `body` of
   * `api`, read as rawReply reads it, to the outbox; false when the reply must take the JavaScript
   * path (rawReply and responseRecordLine).
   */
  responseLine(input: ResponseEnvelope, api: ChatApi, body: Buffer): boolean {
    const status = int32(input.status);
    const ttft = int32(input.ttftMs);
    const duration = int32(input.durationMs);
    if (api === 'responses' || status === undefined || ttft === undefined || duration === undefined || body.length > this.#inputMax) return false;
    if (!this.#stamp(input, input.endedAt)) return false;
    const wasm = this.#wasm;
    this.#bytes.set(body, this.#inputAt);
    const at = this.#lineAt(body.length);
    const length = wasm.responseLine(body.length, api === 'completions' ? 1 : 0, input.uidLow, input.endedAt % 1000, status, ttft, duration, at);
    return length >= 0 && (wasm.sawHighByte() === 0 || isUtf8(body)) && this.#added(at + length);
  }

  /** Where the line of a body of `length` bytes goes: the outbox is handed off first when it might not fit. */
  #lineAt(length: number): number {
    if (this.#cursor + this.#lineMargin + length > this.#outputEnd) this.flush();
    return this.#cursor;
  }

  /** Counts the line the module just wrote, which ends at `end`. */
  #added(end: number): true {
    this.#cursor = end;
    this.#waiting++;
    return true;
  }

  /**
   * Writes for the module what changed of the record's uid (as JSON text: all of it, or its start)
   * and of the second of `ms`; false when it cannot take them (then JavaScript builds the line).
   */
  #stamp({ uid, uidLow }: LineUid, ms: number): boolean {
    if (!Number.isSafeInteger(ms) || ms < 0 || ms >= YEAR_10000) return false;
    const whole = uidLow === -1;
    if (!whole && !(Number.isInteger(uidLow) && uidLow >= 0 && uidLow <= UID_LOW_MAX)) return false;
    // The chat log's uids share their start: one comparison of the same string, no write.
    if (uid !== this.#uid || whole !== this.#uidWhole) {
      // The JSON text of the uid, or of its start: without the closing quote.
      const quoted = jsonString(uid);
      const text = whole ? quoted : quoted.slice(0, -1);
      if (text.length > this.#uidUnits) return false;
      this.#wasm.setUid(this.#memory.write(text, this.#uidAt));
      this.#uid = uid;
      this.#uidWhole = whole;
    }
    // `2025-01-31T12:00:00.` (isoTime's, cached per second): the module appends the milliseconds
    // and the Z. Within the second last written, nothing to do: one comparison, no division; any
    // other second has other text.
    if (ms - this.#secondFrom >= 1000 || ms < this.#secondFrom) {
      this.#memory.write(isoSecond(ms), this.#secondAt, 'latin1');
      this.#secondFrom = ms - (ms % 1000);
    }
    return true;
  }

  /**
   * Writes `,"ip":…,"route":…` (the request line's, ipAndRoute) for the module when it changed;
   * false when it cannot take it.
   */
  #writePlace(ip: string, route: string): boolean {
    const place = ipAndRoute(ip, route);
    if (place === this.#place) return true;
    if (place.length > this.#placeUnits) return false;
    this.#wasm.setPlace(this.#memory.write(place, this.#placeAt));
    this.#place = place;
    return true;
  }

  /**
   * After {@link responseLine} gave a line: the reply's usage as the metrics read it (rawReply's
   * `usageModel` / `usageTokens`), `null` when `usage` is not an object.
   */
  responseUsage(): LineUsage | null {
    const memory = this.#memory;
    const noted = this.#noted;
    if (noted[2 * USAGE_SLOT] === -1 || memory[noted[2 * USAGE_SLOT]] !== OPEN_BRACE) return null;
    const counts = this.#counts;
    const prompt = counts[PROMPT_SLOT];
    const completion = counts[COMPLETION_SLOT];
    // The chat and completions APIs' usage, both plain integers: an object of one shape.
    if (noted[2 * PROMPT_SLOT] !== -1 && noted[2 * COMPLETION_SLOT] !== -1 && noted[2 * INPUT_SLOT] === -1 && noted[2 * OUTPUT_SLOT] === -1 && !Number.isNaN(prompt) && !Number.isNaN(completion)) {
      return { model: this.#model(), tokens: { prompt_tokens: prompt, completion_tokens: completion } };
    }
    const tokens: JsonObject = {};
    for (const [name, slot] of TOKEN_SLOTS) {
      if (noted[2 * slot] === -1) continue;
      // A plain integer the module read; anything else from its text, as rawReply reads it.
      const count = this.#counts[slot];
      tokens[name] = Number.isNaN(count) ? valueOf(memory.toString('utf8', noted[2 * slot], noted[2 * slot + 1])) : count;
    }
    return { model: this.#model(), tokens };
  }

  /** The reply's model, decoded once for as long as replies name the same one. */
  #model(): string | null {
    const noted = this.#noted;
    const at = noted[2 * MODEL_SLOT];
    if (at === -1 || this.#memory[at] !== QUOTE) return null;
    const key = this.#wasm.lastModelKey();
    if (key !== -1 && key === this.#modelKey) return this.#lastModel;
    const model = stringOf(this.#memory.toString('utf8', at, noted[2 * MODEL_SLOT + 1]));
    this.#modelKey = key;
    this.#lastModel = model;
    return model;
  }

  /** Classifies the keys the module listed as unknown and tells it. */
  #learnKeys(): void {
    const wasm = this.#wasm;
    const memory = this.#memory;
    const count = wasm.unknownKeyCount();
    const table = wasm.unknownKeysAt();
    for (let k = 0; k < count; k++) {
      const at = memory.readInt32LE(table + k * 8);
      const length = memory.readInt32LE(table + k * 8 + 4);
      wasm.learnKey(at, length, isOtherField(memory.toString('utf8', at, at + length)) ? 1 : 0);
    }
  }
}

function wasmAbort(): never {
  throw new Error('chat-lines.wasm aborted');
}

let compiled: WebAssembly.Module | null | undefined;

/**
 * A new builder, or `null` when the module cannot be loaded — not built (`npm run build:wasm`), or
 * built from another layout than this file expects — and then the chat log builds every line in
 * JavaScript, as before. The tests require a builder, so a broken build fails them.
 */
export function createChatLineBuilder(handOff: (lines: Uint8Array, count: number) => void): ChatLineBuilder | null {
  if (compiled === undefined) {
    try {
      compiled = new WebAssembly.Module(readFileSync(CHAT_LINES_WASM));
    } catch {
      compiled = null;
    }
  }
  if (compiled === null) return null;
  try {
    return new ChatLineBuilder(compiled, handOff);
  } catch {
    return null;
  }
}
