/**
 * The encoding of a WebAssembly module's bytes, for modules assembled in TypeScript from
 * named instructions (no .wat file, no build step): LEB128 numbers, vectors, sections and
 * names. The modules themselves live beside what uses them (../store/lane-sum-module.ts,
 * ../values/content-hash-module.ts), each with its JavaScript twin for `node --jitless`.
 */

/** Unsigned LEB128 (sizes, indices, memory offsets). */
export function u32(n: number): number[] {
  const out: number[] = [];
  do {
    const byte = n & 0x7f;
    n >>>= 7;
    out.push(n ? byte | 0x80 : byte);
  } while (n);
  return out;
}

/** Signed LEB128 (i32.const and i64.const immediates). */
export function s64(n: bigint): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = Number(n & 0x7fn);
    n >>= 7n;
    if ((n === 0n && !(byte & 0x40)) || (n === -1n && byte & 0x40)) return [...out, byte];
    out.push(byte | 0x80);
  }
}

/** A vector: its length, then its items. */
export const vec = (items: number[][]): number[] => [...u32(items.length), ...items.flat()];
/** A section: its id, its size, its body. */
export const section = (id: number, body: number[]): number[] => [id, ...u32(body.length), ...body];
/** A name (an export's), in Latin-1. */
export const name = (text: string): number[] => [text.length, ...Buffer.from(text, 'latin1')];
/** A function body: its size, then its code (locals, instructions, end). */
export const body = (code: number[]): number[] => [...u32(code.length), ...code];

/** The magic number and version every module starts with. */
export const HEADER = [0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0];
