/**
 * `posix_fadvise(POSIX_FADV_DONTNEED)` on an open file, which Node's fs does not offer: the chat
 * log's writer tells the kernel it will not read back the pages it has written (page-release.ts).
 *
 * It goes through node:wasi, whose `fd_advise` is uvwasi's, which calls `posix_fadvise`: a WASI
 * instance whose standard streams are the file's descriptor (WASI's fd 0 is then that file), and a
 * WebAssembly module of 103 bytes, built below, whose one function calls the import. Node marks
 * node:wasi experimental and says so on stderr when it is first loaded; that one warning is kept
 * out of the gateway's output (every other passes). Where any of it is missing — another runtime,
 * a Node without WASI, a descriptor WASI refuses — there is no advice, and nothing else changes.
 */
import { createRequire } from 'node:module';
import process from 'node:process';

/** Drops the cached pages of `length` bytes from `offset` (0: to the end); false if the kernel refused. */
export type DropPages = (offset: number, length: number) => boolean;

/** WASI's `advice` for "will not access in the near future" (`posix_fadvise`'s DONTNEED). */
const ADVICE_DONTNEED = 4;

/** The bytes of a section: its id and its content's size (every size here is below 128: one LEB128 byte). */
function section(id: number, content: number[]): number[] {
  return [id, content.length, ...content];
}

function name(text: string): number[] {
  return [text.length, ...Array.from(text, (c) => c.charCodeAt(0))];
}

/**
 * The module: imports `fd_advise(fd: i32, offset: i64, len: i64, advice: i32) -> errno` and exports
 * `advise`, which calls it with its own four arguments, and an empty memory (node:wasi needs one).
 */
function adviceModuleBytes(): Uint8Array {
  const I32 = 0x7f;
  const I64 = 0x7e;
  const signature = [0x60, 4, I32, I64, I64, I32, 1, I32];
  const body = [0x00, 0x20, 0, 0x20, 1, 0x20, 2, 0x20, 3, 0x10, 0, 0x0b]; // no locals; local.get 0–3; call 0; end
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, [1, ...signature]),
    ...section(2, [1, ...name('wasi_snapshot_preview1'), ...name('fd_advise'), 0x00, 0]),
    ...section(3, [1, 0]),
    ...section(5, [1, 0x00, 0]),
    ...section(7, [2, ...name('memory'), 0x02, 0, ...name('advise'), 0x00, 1]),
    ...section(10, [1, body.length, ...body]),
  ]);
}

interface WasiInstance {
  getImportObject(): ConstructorParameters<typeof WebAssembly.Instance>[1];
  initialize(instance: WebAssembly.Instance): void;
}
type WasiConstructor = new (options: { version: 'preview1'; stdin: number; stdout: number; stderr: number }) => WasiInstance;
type Advise = (fd: number, offset: bigint, length: bigint, advice: number) => number;

let loaded: { WASI: WasiConstructor; module: WebAssembly.Module } | null | undefined;

/** node:wasi without its experimental warning, and the compiled module; null where either is missing. */
function load(): { WASI: WasiConstructor; module: WebAssembly.Module } | null {
  if (loaded !== undefined) return loaded;
  const emitWarning = process.emitWarning;
  // Node emits it synchronously from the module's first load: only then is the filter in place.
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]): void => {
    const text = typeof warning === 'string' ? warning : warning.message;
    if (text.startsWith('WASI is an experimental feature')) return;
    Reflect.apply(emitWarning, process, [warning, ...rest]);
  }) as typeof process.emitWarning;
  try {
    const wasi = createRequire(import.meta.url)('node:wasi') as { WASI?: WasiConstructor };
    loaded = wasi.WASI === undefined ? null : { WASI: wasi.WASI, module: new WebAssembly.Module(adviceModuleBytes()) };
  } catch {
    loaded = null;
  } finally {
    process.emitWarning = emitWarning;
  }
  return loaded;
}

/**
 * DONTNEED advice for the file open as `fd`, or null where it cannot be given. The descriptor must
 * stay open as long as the result is used: WASI neither duplicates nor closes it.
 */
export function pageDropper(fd: number): DropPages | null {
  const wasi = load();
  if (wasi === null) return null;
  try {
    const host = new wasi.WASI({ version: 'preview1', stdin: fd, stdout: fd, stderr: fd });
    const instance = new WebAssembly.Instance(wasi.module, host.getImportObject());
    host.initialize(instance);
    const advise = instance.exports.advise as Advise;
    return (offset, length) => advise(0, BigInt(offset), BigInt(length), ADVICE_DONTNEED) === 0;
  } catch {
    return null;
  }
}
