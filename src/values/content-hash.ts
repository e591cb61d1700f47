/**
 * The content hash of divergence checks (digest.ts): 64 bits of a run of bytes, fast and
 * not cryptographic (collisions improbable, not impossible). Four 64-bit lanes take the
 * bytes' 8-byte little-endian words in turn (word i to lane i % 4, the last block padded
 * with zeros), each by the round
 *   x = (h ^ w) * K1;  x ^= x >>> 32;  h = x * K2
 * a bijection of h for a given w, so two runs that differ in one word of a lane always
 * differ in that lane, and other differences cancel only by chance (about 2^-64); the
 * lanes then fold with the length: r = length; r = fmix64(r ^ h) for each lane
 * (fmix64: MurmurHash3's finalizer, also a bijection). Unlike the store's lane sum
 * (../store/checksum.ts), which is linear and misses a permutation that keeps its sums
 * (labels [0, 1, 1, 0] against [1, 0, 0, 1] in one lane), the round mixes positions.
 *
 * WebAssembly runs the lanes (content-hash-module.ts) for runs of WASM_FROM bytes and
 * more, copied a piece at a time into its memory; JavaScript runs them, with the same
 * results, for shorter runs and where WebAssembly does not run (node --jitless).
 * 64-bit numbers are two 32-bit halves here; each helper leaves its result in `hash`
 * (or, inside this file, `r`), read at once.
 */
import { contentHashModule, K1, K2 } from './content-hash-module.js';

const low = (n: bigint): number => Number(n & 0xffffffffn);
const high = (n: bigint): number => Number((n >> 32n) & 0xffffffffn);
const [K1L, K1H, K2L, K2H] = [low(K1) | 0, high(K1) | 0, low(K2) | 0, high(K2) | 0];
const C1 = 0xff51afd7ed558ccdn;
const C2 = 0xc4ceb9fe1a85ec53n;
const [C1L, C1H, C2L, C2H] = [low(C1) | 0, high(C1) | 0, low(C2) | 0, high(C2) | 0];
/** The lanes' first values (the fractional parts of the square roots of the first four primes). */
const SEEDS = [0x6a09e667f3bcc908n, 0xbb67ae8584caa73bn, 0x3c6ef372fe94f82bn, 0xa54ff53a5f1d36f1n];
const SEED_WORDS = SEEDS.flatMap((s) => [low(s) | 0, high(s) | 0]);
/** The Mixer's first value. */
const MIX_SEED = 0x510e527fade682d1n;
const [ML, MH] = [low(MIX_SEED) | 0, high(MIX_SEED) | 0];

/**
 * Where the 64-bit helpers leave their result, as signed 32-bit words: a typed array,
 * because a module variable holding a number outside V8's small integers is a new heap
 * number at every write (45 ns a multiply against 7).
 */
const r = new Int32Array(2);

/** The last hash, low word then high word (signed 32-bit: `>>> 0` for unsigned); read both at once. */
export const hash = new Int32Array(2);

/** (aHi:aLo) * (bHi:bLo) mod 2^64 into r; the high word of aLo * bLo from 16-bit pieces, so every step is exact. */
function mul64(aLo: number, aHi: number, bLo: number, bHi: number): void {
  const a0 = aLo & 0xffff;
  const a1 = aLo >>> 16;
  const b0 = bLo & 0xffff;
  const b1 = bLo >>> 16;
  const p00 = a0 * b0;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const carry = ((p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)) >>> 16;
  r[1] = a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + carry + Math.imul(aLo, bHi) + Math.imul(aHi, bLo);
  r[0] = Math.imul(aLo, bLo);
}

/** One round of a lane into r: h = ((h ^ w) * K1, x ^= x >>> 32) * K2. */
function round(hLo: number, hHi: number, wLo: number, wHi: number): void {
  mul64(hLo ^ wLo, hHi ^ wHi, K1L, K1H);
  mul64(r[0]! ^ r[1]!, r[1]!, K2L, K2H);
}

/** MurmurHash3's fmix64 into r: k ^= k >>> 33; k *= C1; k ^= k >>> 33; k *= C2; k ^= k >>> 33. */
function fmix(lo: number, hi: number): void {
  mul64(lo ^ (hi >>> 1), hi, C1L, C1H);
  mul64(r[0]! ^ (r[1]! >>> 1), r[1]!, C2L, C2H);
  r[0] = r[0]! ^ (r[1]! >>> 1);
}

// --- JavaScript lanes ---

/** The lanes while JavaScript runs them: lo and hi of lane 0, then of lane 1, ... */
const jsState = new Int32Array(8);
const tail = new Uint8Array(32);

const word = (b: Uint8Array, p: number): number => b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24);

/** The rounds of the 32-byte blocks of bytes[start, end) (end - start a multiple of 32) on jsState. */
function jsLanes(bytes: Uint8Array, start: number, end: number): void {
  const s = jsState;
  let h0l = s[0]!, h0h = s[1]!, h1l = s[2]!, h1h = s[3]!, h2l = s[4]!, h2h = s[5]!, h3l = s[6]!, h3h = s[7]!;
  for (let p = start; p < end; p += 32) {
    round(h0l, h0h, word(bytes, p), word(bytes, p + 4));
    h0l = r[0]!;
    h0h = r[1]!;
    round(h1l, h1h, word(bytes, p + 8), word(bytes, p + 12));
    h1l = r[0]!;
    h1h = r[1]!;
    round(h2l, h2h, word(bytes, p + 16), word(bytes, p + 20));
    h2l = r[0]!;
    h2h = r[1]!;
    round(h3l, h3h, word(bytes, p + 24), word(bytes, p + 28));
    h3l = r[0]!;
    h3h = r[1]!;
  }
  s[0] = h0l; s[1] = h0h; s[2] = h1l; s[3] = h1h; s[4] = h2l; s[5] = h2h; s[6] = h3l; s[7] = h3h;
}

function jsHash(bytes: Uint8Array): void {
  jsState.set(SEED_WORDS);
  const whole = bytes.length - (bytes.length % 32);
  jsLanes(bytes, 0, whole);
  if (whole < bytes.length) {
    for (let i = 0; i < 32; i++) tail[i] = whole + i < bytes.length ? bytes[whole + i]! : 0;
    jsLanes(tail, 0, 32);
  }
  fold(bytes.length, jsState);
}

/** r = length; r = fmix64(r ^ h) for each lane; into `hash`. */
function fold(length: number, lanes: Int32Array): void {
  let lo = length | 0;
  let hi = Math.floor(length / 2 ** 32) | 0;
  for (let i = 0; i < 8; i += 2) {
    fmix(lo ^ lanes[i]!, hi ^ lanes[i + 1]!);
    lo = r[0]!;
    hi = r[1]!;
  }
  hash[0] = lo;
  hash[1] = hi;
}

// --- WebAssembly lanes ---

/** Runs of this many bytes and more go to WebAssembly (below it, copying in costs more than it saves). */
export const WASM_FROM = 128;
/** Bytes copied into WebAssembly's memory at a time (they stay in the cache), after the state's 64 bytes. */
const PIECE = 1 << 18;
const DATA = 64;

interface Lanes {
  readonly memory: Uint8Array;
  readonly state: Int32Array;
  lanes(at: number, end: number, state: number): void;
}
/** What is used of WebAssembly (TypeScript declares it only in its DOM library); absent under node --jitless. */
interface Wasm {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: { m: { buffer: ArrayBuffer; grow(pages: number): number }; lanes(at: number, end: number, state: number): void } };
}
let wasmLanes: Lanes | null | undefined;

function instantiate(): Lanes | null {
  const wasm = (globalThis as { WebAssembly?: Wasm }).WebAssembly;
  if (wasm === undefined) return null;
  try {
    const { exports } = new wasm.Instance(new wasm.Module(contentHashModule()));
    exports.m.grow(Math.ceil((DATA + PIECE) / 65536));
    const buffer = exports.m.buffer;
    // The state is read and written as little-endian words, as WebAssembly stores them.
    if (new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1) return null;
    return { memory: new Uint8Array(buffer), state: new Int32Array(buffer, 0, 8), lanes: exports.lanes };
  } catch {
    return null; // a runtime that refuses to compile it
  }
}

function wasmHash(w: Lanes, bytes: Uint8Array): void {
  w.state.set(SEED_WORDS);
  const length = bytes.length;
  for (let at = 0; at < length; at += PIECE) {
    const n = Math.min(PIECE, length - at);
    w.memory.set(at === 0 && n === length ? bytes : bytes.subarray(at, at + n), DATA);
    const padded = (n + 31) & ~31;
    if (padded > n) w.memory.fill(0, DATA + n, DATA + padded);
    w.lanes(DATA, DATA + padded, 0);
  }
  fold(length, w.state);
}

/** The content hash of `bytes`, into `hash`. */
export function hashBytes(bytes: Uint8Array): void {
  if (bytes.length >= WASM_FROM) {
    if (wasmLanes === undefined) wasmLanes = instantiate();
    if (wasmLanes !== null) return wasmHash(wasmLanes, bytes);
  }
  jsHash(bytes);
}

/** The content hash of `bytes` in JavaScript, whatever the runtime has: the reference the tests compare WebAssembly's with. */
export function jsHashBytes(bytes: Uint8Array): void {
  jsHash(bytes);
}

/** Whether hashBytes() runs WebAssembly for long runs here. */
export function usesWebAssembly(): boolean {
  if (wasmLanes === undefined) wasmLanes = instantiate();
  return wasmLanes !== null;
}

// --- Short sequences of words ---

/**
 * A hash of a short sequence of 64-bit words (a node of a digest: its tag, its sizes, its
 * children's hashes), one lane: the same round from MIX_SEED, then fmix64 of the state
 * xor the count of words. finish() leaves it in `hash`.
 */
export class Mixer {
  lo = ML;
  hi = MH;
  n = 0;

  constructor(tag: number) {
    this.add(tag, 0);
  }

  add(lo: number, hi: number): void {
    round(this.lo, this.hi, lo, hi);
    this.lo = r[0]!;
    this.hi = r[1]!;
    this.n++;
  }

  /** Adds the last hash. */
  addHash(): void {
    this.add(hash[0]!, hash[1]!);
  }

  finish(): void {
    fmix(this.lo ^ this.n, this.hi);
    hash[0] = r[0]!;
    hash[1] = r[1]!;
  }
}

/** new Mixer(tag), add(lo, hi), finish(), without the object: a leaf's hash. */
export function mixLeaf(tag: number, lo: number, hi: number): void {
  round(ML, MH, tag, 0);
  round(r[0]!, r[1]!, lo, hi);
  fmix(r[0]! ^ 2, r[1]!);
  hash[0] = r[0]!;
  hash[1] = r[1]!;
}

/** new Mixer(tag), add(lo1, hi1), add(lo2, hi2), finish(), without the object: a pair's hash (a key and its value). */
export function mixPair(tag: number, lo1: number, hi1: number, lo2: number, hi2: number): void {
  round(ML, MH, tag, 0);
  round(r[0]!, r[1]!, lo1, hi1);
  round(r[0]!, r[1]!, lo2, hi2);
  fmix(r[0]! ^ 3, r[1]!);
  hash[0] = r[0]!;
  hash[1] = r[1]!;
}
