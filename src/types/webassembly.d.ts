/**
 * The part of the WebAssembly JavaScript API that aifwd uses (core/chat-lines-wasm.ts). Node has
 * it as a global, but its types live in TypeScript's DOM library, which a server must not include.
 */
declare namespace WebAssembly {
  class Module {
    constructor(bytes: Uint8Array);
  }
  class Instance {
    constructor(module: Module, imports?: Record<string, Record<string, unknown>>);
    readonly exports: Record<string, unknown>;
  }
  class Memory {
    readonly buffer: ArrayBuffer;
  }
}
