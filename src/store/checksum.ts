/**
 * The directory store's checksums. Index entries (32 bytes) carry a CRC-32 (the zlib/PNG
 * polynomial; zlib.crc32 where Node has it, else a table in JavaScript). Record frames,
 * which hold every byte of every payload, carry a lane sum: zlib's CRC-32 runs at about
 * 2.8 GB/s, as slow as the page-cache write it guards; the lane sum at about 17 GB/s.
 *
 * Lane sum: the bytes, a whole number of 16-byte blocks, are read as four lanes of
 * little-endian 32-bit words (word i in lane i % 4); each lane keeps a = the sum of its
 * words and b = the sum of a after each block (Fletcher's pair; ZFS's fletcher4 keeps
 * four), exact, as no frame is long enough for them to wrap at 2^64. The eight sums
 * then fold into 64 bits: h = fmix64(h ^ x) over a0..a3, b0..b3 (fmix64: MurmurHash3's
 * finalizer). Every change confined to two words of each lane changes the sums: a
 * flipped bit or byte, two anywhere, a run of up to 32 bytes, two words swapped. Any
 * other corruption passes only if its 64 folded bits happen to match: about one chance
 * in 2^64, against 2^32 for CRC-32 (which also finds every burst of up to 32 bits and,
 * in frames of up to about 11 KB, every error of up to 3 bits).
 *
 * WebAssembly SIMD computes it (lane-sum-module.ts) where WebAssembly runs; JavaScript
 * gives the same sums where it does not (node --jitless), slowly. Sums are computed over
 * their own memory: the caller copies bytes into `bytes` (a writer's stage, a reader's
 * piece of a step), where they are still in the cache.
 */
import * as zlib from 'node:zlib';
import { laneSumModule } from './lane-sum-module.js';

let table: Int32Array | undefined;

function crc32Js(data: Uint8Array, value = 0): number {
  if (table === undefined) {
    table = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c;
    }
  }
  let crc = ~value;
  for (let i = 0; i < data.length; i++) crc = table[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}

// zlib.crc32: Added in v22.2.0 and v20.15.0.
const native = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

export const crc32: (data: Uint8Array, value?: number) => number = typeof native === 'function' ? native : crc32Js;

/** A lane sum over a memory of its own (see above). */
export interface LaneSum {
  /** The memory to copy bytes into; replaced when reserve() grows it. */
  readonly bytes: Buffer;
  /** Makes `bytes` at least `size` long. */
  reserve(size: number): void;
  /** Starts a new sum. */
  reset(): void;
  /** Adds bytes[at, at + length) to the sum; `length` is a multiple of 16. */
  add(at: number, length: number): void;
  /** Writes the 64-bit sum, little-endian, at bytes[at, at + 8). */
  finish(at: number): void;
}

const MASK = (1n << 64n) - 1n;
function fmix64(k: bigint): bigint {
  k ^= k >> 33n;
  k = (k * 0xff51afd7ed558ccdn) & MASK;
  k ^= k >> 33n;
  k = (k * 0xc4ceb9fe1a85ec53n) & MASK;
  return k ^ (k >> 33n);
}

/** The lane sum in JavaScript, 64-bit sums kept as two 32-bit halves. */
class JsLaneSum implements LaneSum {
  bytes = Buffer.alloc(1 << 16);
  readonly #lo = new Float64Array(8);
  readonly #hi = new Float64Array(8);

  reserve(size: number): void {
    if (size > this.bytes.length) this.bytes = Buffer.concat([this.bytes], size);
  }

  reset(): void {
    this.#lo.fill(0);
    this.#hi.fill(0);
  }

  add(at: number, length: number): void {
    const lo = this.#lo;
    const hi = this.#hi;
    for (let p = at; p < at + length; p += 16) {
      for (let lane = 0; lane < 4; lane++) {
        // a += word; b += a; carries go to the high halves.
        const a = lo[lane]! + this.bytes.readUInt32LE(p + 4 * lane);
        lo[lane] = a % 2 ** 32;
        hi[lane] = (hi[lane]! + Math.floor(a / 2 ** 32)) % 2 ** 32;
        const b = lo[lane + 4]! + lo[lane]!;
        lo[lane + 4] = b % 2 ** 32;
        hi[lane + 4] = (hi[lane + 4]! + hi[lane]! + Math.floor(b / 2 ** 32)) % 2 ** 32;
      }
    }
  }

  finish(at: number): void {
    let h = 0n;
    for (let i = 0; i < 8; i++) h = fmix64(h ^ ((BigInt(this.#hi[i]!) << 32n) | BigInt(this.#lo[i]!)));
    this.bytes.writeBigUInt64LE(h, at);
  }
}

/** What is used of WebAssembly (TypeScript declares it only in its DOM library); absent under node --jitless. */
interface Wasm {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: LaneSumExports };
}
interface LaneSumExports {
  m: { buffer: ArrayBuffer; grow(pages: number): number };
  sum(at: number, end: number): void;
  reset(): void;
  fold(at: number): void;
}
const wasm = (globalThis as { WebAssembly?: Wasm }).WebAssembly;

/** The lane sum in WebAssembly SIMD: one instance, with its own memory, per writer or reader. */
class WasmLaneSum implements LaneSum {
  readonly #exports: LaneSumExports;
  bytes: Buffer;

  constructor(wasm: Wasm, module: object) {
    this.#exports = new wasm.Instance(module).exports;
    this.bytes = Buffer.from(this.#exports.m.buffer);
  }

  reserve(size: number): void {
    if (size <= this.bytes.length) return;
    const memory = this.#exports.m;
    const pages = Math.ceil((size - memory.buffer.byteLength) / 65536);
    if (pages <= 0) return;
    memory.grow(pages);
    this.bytes = Buffer.from(memory.buffer);
  }

  reset(): void {
    this.#exports.reset();
  }

  add(at: number, length: number): void {
    this.#exports.sum(at, at + length);
  }

  finish(at: number): void {
    this.#exports.fold(at);
  }
}

let compiled: object | null | undefined;

/** A new lane sum: WebAssembly SIMD where it runs, else JavaScript. */
export function laneSum(): LaneSum {
  if (compiled === undefined) {
    try {
      compiled = wasm ? new wasm.Module(laneSumModule()) : null;
    } catch {
      compiled = null; // a runtime without WebAssembly SIMD
    }
  }
  return compiled === null ? new JsLaneSum() : new WasmLaneSum(wasm!, compiled);
}

/** A lane sum in JavaScript, whatever the runtime has: the reference the tests compare WebAssembly's with. */
export function jsLaneSum(): LaneSum {
  return new JsLaneSum();
}
