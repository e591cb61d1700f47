/**
 * The lane sum of checksum.ts as a WebAssembly module, assembled here from named
 * instructions so it can be read and changed (no .wat file, no build step). It has a
 * memory "m" (one 64 KB page, grown from JavaScript), the eight sums in globals as four
 * i64x2 (globals 0 and 1: lanes 0-1 and 2-3 of a; 2 and 3: those of b), and three
 * functions:
 *   sum(at, end)   for each 16-byte block v of m[at, end): a0 += v's words 0-1 and a1 +=
 *                  its words 2-3, zero-extended to 64 bits as they are loaded
 *                  (v128.load32x2_u: one instruction, not a load and two extends), then
 *                  b0 += a0, b1 += a1; four blocks a turn while four remain
 *   reset()        every sum to 0
 *   fold(at)       h = fmix64(h ^ x) for x in a0, a1, a2, a3, b0, b1, b2, b3; m[at] = h
 * Its results equal the JavaScript lane sum's, which the tests compare them with.
 */
import { body, HEADER, name, s64, section, u32, vec } from '../wasm/assemble.js';

// Instructions.
const I32 = 0x7f;
const I64 = 0x7e;
const V128 = 0x7b;
const simd = (op: number): number[] => [0xfd, ...u32(op)];
const localGet = (i: number): number[] => [0x20, i];
const localSet = (i: number): number[] => [0x21, i];
const localTee = (i: number): number[] => [0x22, i];
const globalGet = (i: number): number[] => [0x23, i];
const globalSet = (i: number): number[] => [0x24, i];
const i32Const = (n: number): number[] => [0x41, ...s64(BigInt(n))];
const i64Const = (n: bigint): number[] => [0x42, ...s64(BigInt.asIntN(64, n))];
const [i32Add, i32GtU, i64Xor, i64Mul, i64ShrU] = [[0x6a], [0x4b], [0x85], [0x7e], [0x88]];
const i64Store = (offset: number): number[] => [0x37, 3, ...u32(offset)];
/** Two u32 at m[at + offset], zero-extended into an i64x2. */
const load32x2 = (offset: number): number[] => [...simd(6), 0, ...u32(offset)];
const v128Zero = [...simd(12), ...new Array<number>(16).fill(0)];
const i64x2Add = simd(206);
const extractLane = (i: number): number[] => [...simd(29), i];
const END = 0x0b;

/** sum(at = local 0, end = local 1); locals 2-5 hold a0, a1, b0, b1 while it runs. */
function sumBody(): number[] {
  const block = (offset: number): number[] => [
    ...localGet(0), ...load32x2(offset), ...localGet(2), ...i64x2Add, ...localTee(2), ...localGet(4), ...i64x2Add, ...localSet(4),
    ...localGet(0), ...load32x2(offset + 8), ...localGet(3), ...i64x2Add, ...localTee(3), ...localGet(5), ...i64x2Add, ...localSet(5),
  ];
  // while (at + step <= end) { body; at += step }
  const loop = (step: number, body: number[]): number[] => [
    0x02, 0x40, 0x03, 0x40, ...localGet(0), ...i32Const(step), ...i32Add, ...localGet(1), ...i32GtU, 0x0d, 1,
    ...body, ...localGet(0), ...i32Const(step), ...i32Add, ...localSet(0), 0x0c, 0, END, END,
  ];
  return [
    ...vec([[4, V128]]),
    ...[0, 1, 2, 3].flatMap((g) => [...globalGet(g), ...localSet(2 + g)]),
    ...loop(64, [...block(0), ...block(16), ...block(32), ...block(48)]),
    ...loop(16, block(0)),
    ...[0, 1, 2, 3].flatMap((g) => [...localGet(2 + g), ...globalSet(g)]),
    END,
  ];
}

function resetBody(): number[] {
  return [...vec([]), ...[0, 1, 2, 3].flatMap((g) => [...v128Zero, ...globalSet(g)]), END];
}

/** fold(at = local 0); local 1 = h. fmix64(k): k ^= k >> 33; k *= C1; k ^= k >> 33; k *= C2; k ^= k >> 33. */
function foldBody(): number[] {
  const xorShift = [...localTee(1), ...localGet(1), ...i64Const(33n), ...i64ShrU, ...i64Xor]; // k on the stack: k ^ (k >> 33)
  const fmix = [...xorShift, ...i64Const(0xff51afd7ed558ccdn), ...i64Mul, ...xorShift, ...i64Const(0xc4ceb9fe1a85ec53n), ...i64Mul, ...xorShift, ...localSet(1)];
  const mix = (g: number, lane: number): number[] => [...localGet(1), ...globalGet(g), ...extractLane(lane), ...i64Xor, ...fmix];
  return [...vec([[1, I64]]), ...[0, 1, 2, 3].flatMap((g) => [...mix(g, 0), ...mix(g, 1)]), ...localGet(0), ...localGet(1), ...i64Store(0), END];
}

export function laneSumModule(): Uint8Array {
  const global = [V128, 1, ...v128Zero, END];
  return new Uint8Array([
    ...HEADER,
    ...section(1, vec([[0x60, 2, I32, I32, 0], [0x60, 0, 0], [0x60, 1, I32, 0]])), // types: (i32, i32), (), (i32)
    ...section(3, vec([[0], [1], [2]])), // sum, reset, fold
    ...section(5, vec([[0, 1]])), // memory, 1 page
    ...section(6, vec([global, global, global, global])),
    ...section(7, vec([[...name('m'), 2, 0], [...name('sum'), 0, 0], [...name('reset'), 0, 1], [...name('fold'), 0, 2]])),
    ...section(10, vec([body(sumBody()), body(resetBody()), body(foldBody())])),
  ]);
}
