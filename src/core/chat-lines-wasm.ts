/**
 * The request line built in WebAssembly (wasm/chat-lines.ts, built into
 * wasm/build/chat-lines.wasm by `npm run build:wasm`): the same bytes as requestRecordLine's copy
 * path (chat-record-line.ts) for half its CPU — the bench's request, line built and copied into the
 * log's buffer: 0.68 µs against 1.38 µs for the string built and encoded.
 *
 * JavaScript writes the envelope and copies the body into the module's memory; the module
 * validates the body, places its members and writes the line, which comes back as a view of its
 * memory (valid until the next call). Anything the module declines — see its file comment — takes
 * requestRecordLine, so the two can only differ in speed; the tests hold them to the same bytes.
 * The field memo of isOtherField is mirrored in the module: a key it does not know is classified
 * here once and remembered there.
 */
import { isUtf8 } from 'node:buffer';
import { readFileSync } from 'node:fs';
import { isOtherField } from './chat-record.js';

/** Where `npm run build:wasm` writes the module, the same from src/ and from dist/. */
export const CHAT_LINES_WASM = new URL('../../wasm/build/chat-lines.wasm', import.meta.url);

interface ChatLinesExports {
  readonly memory: WebAssembly.Memory;
  inputAt(): number;
  inputMax(): number;
  envelopeAt(): number;
  envelopeMax(): number;
  outputAt(): number;
  layoutEnd(): number;
  sawHighByte(): number;
  unknownKeysAt(): number;
  unknownKeyCount(): number;
  learnKey(at: number, length: number, other: number): void;
  requestLine(length: number, envelopeLength: number): number;
}

const UNKNOWN_KEY = -2;

/** One instance of the module: its memory, its field memo (see the file comment). */
export class RequestLineBuilder {
  readonly #wasm: ChatLinesExports;
  /** The module's memory as a Buffer; the module never grows it, so the view stays valid. */
  readonly #memory: Buffer;
  readonly #inputAt: number;
  readonly #inputMax: number;
  readonly #envelopeAt: number;
  /** Longest envelope, in UTF-16 units, that surely fits its region as UTF-8. */
  readonly #envelopeUnits: number;
  readonly #outputAt: number;

  constructor(module: WebAssembly.Module) {
    const wasm = new WebAssembly.Instance(module, { env: { abort: wasmAbort } }).exports as unknown as ChatLinesExports;
    this.#wasm = wasm;
    this.#memory = Buffer.from(wasm.memory.buffer);
    if (this.#memory.length < wasm.layoutEnd()) throw new Error(`chat-lines.wasm: memory ${this.#memory.length} bytes, layout needs ${wasm.layoutEnd()}`);
    this.#inputAt = wasm.inputAt();
    this.#inputMax = wasm.inputMax();
    this.#envelopeAt = wasm.envelopeAt();
    this.#envelopeUnits = Math.floor(wasm.envelopeMax() / 3);
    this.#outputAt = wasm.outputAt();
  }

  /**
   * The request line — `envelope` (the record up to the route, no closing brace) then the body's
   * fields — without a newline, as a view of the module's memory that the next call overwrites;
   * `undefined` when requestRecordLine must build it.
   */
  line(envelope: string, body: Buffer): Uint8Array | undefined {
    if (body.length > this.#inputMax || envelope.length > this.#envelopeUnits) return undefined;
    const memory = this.#memory;
    const wasm = this.#wasm;
    memory.set(body, this.#inputAt);
    const envelopeLength = memory.write(envelope, this.#envelopeAt);
    let length = wasm.requestLine(body.length, envelopeLength);
    if (length === UNKNOWN_KEY) {
      this.#learnKeys();
      length = wasm.requestLine(body.length, envelopeLength);
    }
    if (length < 0) return undefined;
    // Bytes above 0x7f must be well-formed UTF-8, as utf8ObjectMembers requires.
    if (wasm.sawHighByte() !== 0 && !isUtf8(body)) return undefined;
    return memory.subarray(this.#outputAt, this.#outputAt + length);
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
 * A new builder, or `null` when the module cannot be loaded (not built: `npm run build:wasm`) —
 * then the chat log builds every line in JavaScript, as before.
 */
export function createRequestLineBuilder(): RequestLineBuilder | null {
  if (compiled === undefined) {
    try {
      compiled = new WebAssembly.Module(readFileSync(CHAT_LINES_WASM));
    } catch {
      compiled = null;
    }
  }
  return compiled === null ? null : new RequestLineBuilder(compiled);
}
