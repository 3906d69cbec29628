// WebAssembly is a global in Node, but TypeScript types it only in the DOM lib, which this
// project does not load. The few members the sandbox uses (quickjs-instance.ts), no more.
declare namespace WebAssembly {
  interface Memory {
    readonly buffer: ArrayBuffer;
    grow(deltaPages: number): number;
  }
  var Memory: {
    prototype: Memory;
    new (descriptor: { initial: number; maximum?: number }): Memory;
  };
  interface Module {}
  var Module: {
    prototype: Module;
    new (bytes: ArrayBufferView | ArrayBuffer): Module;
  };
  function compile(bytes: ArrayBufferView | ArrayBuffer): Promise<Module>;
}
