/**
 * Zstandard for message bodies. Node 20's zlib has no zstd (it came in Node 22.15), so:
 * decoding uses fzstd (pure JS, synchronous, handles concatenated frames and frames without
 * a content size), encoding uses libzstd compiled to WebAssembly (@bokuweb/zstd-wasm).
 *
 * The WebAssembly module is loaded on the first encode, synchronously, because `content`
 * is a synchronous setter. That package only offers an async `init()`; its Emscripten glue
 * honours the standard `instantiateWasm` hook, through which we instantiate the module
 * ourselves with the synchronous WebAssembly API (fine in Node for any module size). The
 * dependency is pinned to an exact version because this reaches into its dist layout.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

type Decompress = (data: Uint8Array) => Uint8Array;
let decompress: Decompress | undefined;

/** fzstd's streaming decoder: each piece decoded is handed to `ondata`. */
interface StreamDecoder {
  ondata: (piece: Uint8Array, final: boolean) => void;
  push(chunk: Uint8Array, final?: boolean): void;
}
let StreamDecoderClass: (new () => StreamDecoder) | undefined;

/** Thrown by zstdDecompress when the decoded bytes would pass its limit. */
export class ZstdTooLarge extends Error {}

/**
 * Decodes one or more zstd frames. The decoder is loaded on first use: few commands meet a
 * zstd body, and loading it cost every command's start-up ~2 ms.
 */
export function zstdDecompress(data: Uint8Array, limit = Infinity): Buffer {
  if (limit !== Infinity) return zstdDecompressAtMost(data, limit);
  decompress ??= (createRequire(import.meta.url)("fzstd") as { decompress: Decompress }).decompress;
  const out = decompress(data);
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

/** Decodes a piece at a time, stopping (ZstdTooLarge) once more than `limit` bytes came out. */
function zstdDecompressAtMost(data: Uint8Array, limit: number): Buffer {
  StreamDecoderClass ??= (createRequire(import.meta.url)("fzstd") as { Decompress: new () => StreamDecoder }).Decompress;
  const decoder = new StreamDecoderClass();
  const pieces: Buffer[] = [];
  let size = 0;
  decoder.ondata = (piece) => {
    size += piece.length;
    if (size > limit) throw new ZstdTooLarge();
    pieces.push(Buffer.from(piece));
  };
  decoder.push(data, true);
  return Buffer.concat(pieces, size);
}

interface ZstdWasm {
  compress(buf: Uint8Array, level?: number): Uint8Array;
}

/** The slice of the WebAssembly API used here (the project's lib settings do not declare it). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: object };
}
const WebAssembly = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface EmscriptenModule {
  instantiateWasm?: (imports: object, receive: (instance: { exports: object }) => unknown) => unknown;
  init(buf: Uint8Array): unknown;
  calledRun?: boolean;
}

let wasm: ZstdWasm | undefined;

/** Loads the WebAssembly encoder once, synchronously. */
function encoder(): ZstdWasm {
  if (wasm) return wasm;
  const require = createRequire(import.meta.url);
  const main = require.resolve("@bokuweb/zstd-wasm"); // …/dist/common/index.node.js
  const dir = dirname(main);
  // Same module instance the package's compress() uses (CommonJS cache, keyed by path).
  const glue = require(join(dir, "module.js")) as { Module: EmscriptenModule };
  const api = require(main) as ZstdWasm;
  const mod = glue.Module;
  if (!mod.calledRun) {
    const bytes = readFileSync(join(dir, "zstd.wasm"));
    mod.instantiateWasm = (imports, receive) => {
      const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), imports);
      receive(instance);
      return instance.exports;
    };
    mod.init(bytes);
    if (!mod.calledRun) throw new Error("zstd encoder failed to initialise");
  }
  wasm = api;
  return wasm;
}

/** Encodes one zstd frame at `level` (mitmproxy uses 1). */
export function zstdCompress(data: Uint8Array, level = 1): Buffer {
  const out = encoder().compress(data, level);
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}
