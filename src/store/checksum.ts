/**
 * CRC-32 (the zlib/PNG polynomial) of byte ranges, chained: crc32(b, crc32(a)) is the
 * CRC of a followed by b. zlib.crc32 where Node has it, else a table in JavaScript.
 */
import * as zlib from 'node:zlib';

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
