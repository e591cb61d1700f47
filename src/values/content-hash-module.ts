/**
 * The lanes of the content hash (content-hash.ts) as a WebAssembly module, assembled from
 * named instructions (../wasm/assemble.ts). It has a memory "m" (one 64 KB page, grown
 * from JavaScript) and one function:
 *   lanes(at, end, state)   loads the four 64-bit lanes h0..h3 from m[state, state + 32),
 *                           and for each 32-byte block of m[at, end), its 8-byte words
 *                           w0..w3 (little-endian) going to lanes 0..3:
 *                             x = (h ^ w) * K1;  x ^= x >>> 32;  h = x * K2
 *                           then stores the lanes back.
 * Its lanes equal the JavaScript twin's (content-hash.ts), which the tests compare them with.
 */
import { body, HEADER, name, s64, section, u32, vec } from '../wasm/assemble.js';

/** The two odd multipliers of a round (the golden ratio's and SplitMix64's second). */
export const K1 = 0x9e3779b97f4a7c15n;
export const K2 = 0xbf58476d1ce4e5b9n;

const I32 = 0x7f;
const I64 = 0x7e;
const END = 0x0b;
const localGet = (i: number): number[] => [0x20, i];
const localSet = (i: number): number[] => [0x21, i];
const localTee = (i: number): number[] => [0x22, i];
const i32Const = (n: number): number[] => [0x41, ...s64(BigInt(n))];
const i64Const = (n: bigint): number[] => [0x42, ...s64(BigInt.asIntN(64, n))];
const i64Load = (offset: number): number[] => [0x29, 3, ...u32(offset)];
const i64Store = (offset: number): number[] => [0x37, 3, ...u32(offset)];
const [i32Add, i32GeU, i64Xor, i64Mul, i64ShrU] = [[0x6a], [0x4f], [0x85], [0x7e], [0x88]];

// Locals: 0 at, 1 end, 2 state (parameters); 3..6 the lanes h0..h3; 7 x.
const AT = 0;
const STATE = 2;
const LANE = 3;
const X = 7;

/** h = ((h ^ w) * K1, folded) * K2 for lane `j`, w the block's word j. */
function round(j: number): number[] {
  return [
    ...localGet(LANE + j), ...localGet(AT), ...i64Load(8 * j), ...i64Xor,
    ...i64Const(K1), ...i64Mul, ...localTee(X), ...localGet(X), ...i64Const(32n), ...i64ShrU, ...i64Xor,
    ...i64Const(K2), ...i64Mul, ...localSet(LANE + j),
  ];
}

function lanesBody(): number[] {
  const lanes = [0, 1, 2, 3];
  return [
    ...vec([[5, I64]]),
    ...lanes.flatMap((j) => [...localGet(STATE), ...i64Load(8 * j), ...localSet(LANE + j)]),
    // block { loop { if (at >= end) break; rounds; at += 32; continue } }
    0x02, 0x40, 0x03, 0x40,
    ...localGet(AT), ...localGet(1), ...i32GeU, 0x0d, 1,
    ...lanes.flatMap(round),
    ...localGet(AT), ...i32Const(32), ...i32Add, ...localSet(AT), 0x0c, 0,
    END, END,
    ...lanes.flatMap((j) => [...localGet(STATE), ...localGet(LANE + j), ...i64Store(8 * j)]),
    END,
  ];
}

export function contentHashModule(): Uint8Array {
  return new Uint8Array([
    ...HEADER,
    ...section(1, vec([[0x60, 3, I32, I32, I32, 0]])), // type: (i32, i32, i32) -> ()
    ...section(3, vec([[0]])), // lanes
    ...section(5, vec([[0, 1]])), // memory, 1 page
    ...section(7, vec([[...name('m'), 2, 0], [...name('lanes'), 0, 0]])),
    ...section(10, vec([body(lanesBody())])),
  ]);
}
