/**
 * The bytes of a directory store: segment and index file headers, record frames, and
 * index entries. Little-endian; every frame and entry carries a CRC-32 of the rest of
 * its bytes, so a torn or flipped byte is found.
 *
 * Record frame: a 32-byte header, then the delivery name and the signature (UTF-8),
 * then the payload.
 *   0 u32 crc32 of bytes 4..end   4 u32 frame length (header included)
 *   8 u8 kind (1)  9 u8 0  10 u16 name length  12 u32 signature length
 *  16 u32 call  20 u32 0  24 f64 step
 * Index entry (32 bytes), one per committed step, in order:
 *   0 u32 crc32 of bytes 4..31  4 u32 records  8 f64 step  16 f64 offset  24 f64 length
 */
import { crc32 } from './checksum.js';
import type { NewRecord, StoreRecord } from './store.js';

export const FILE_HEADER = 16;
export const FRAME_HEADER = 32;
export const ENTRY = 32;
const KIND_RECORD = 1;
const MAX_FRAME = 2 ** 32 - 1;

const SEGMENT_MAGIC = 'DDSTSEG1';
const INDEX_MAGIC = 'DDSTIDX1';

export function fileHeader(kind: 'segment' | 'index', rank: number, seq: number): Buffer {
  const header = Buffer.alloc(FILE_HEADER);
  header.write(kind === 'segment' ? SEGMENT_MAGIC : INDEX_MAGIC, 0, 'latin1');
  header.writeUInt32LE(rank, 8);
  header.writeUInt32LE(seq, 12);
  return header;
}

/** Undefined when the header is right, else what is wrong with it. */
export function checkFileHeader(header: Buffer, kind: 'segment' | 'index', rank: number, seq: number): string | undefined {
  if (header.length < FILE_HEADER) return 'its header is cut short';
  if (header.toString('latin1', 0, 8) !== (kind === 'segment' ? SEGMENT_MAGIC : INDEX_MAGIC)) return `it does not start as a store ${kind} file`;
  if (header.readUInt32LE(8) !== rank || header.readUInt32LE(12) !== seq) return `its header names rank ${header.readUInt32LE(8)}, segment ${header.readUInt32LE(12)}`;
  return undefined;
}

/** The frame header (with the name and signature) of a record; the payload is written after it as is. */
export function frameHead(step: number, record: NewRecord): Buffer {
  const name = Buffer.from(record.delivery, 'utf8');
  const signature = Buffer.from(record.signature, 'utf8');
  const head = Buffer.allocUnsafe(FRAME_HEADER + name.length + signature.length);
  const length = head.length + record.payload.byteLength;
  if (name.length > 0xffff || length > MAX_FRAME) throw new RangeError('record too large');
  head.writeUInt32LE(length, 4);
  head.writeUInt8(KIND_RECORD, 8);
  head.writeUInt8(0, 9);
  head.writeUInt16LE(name.length, 10);
  head.writeUInt32LE(signature.length, 12);
  head.writeUInt32LE(record.call, 16);
  head.writeUInt32LE(0, 20);
  head.writeDoubleLE(step, 24);
  name.copy(head, FRAME_HEADER);
  signature.copy(head, FRAME_HEADER + name.length);
  head.writeUInt32LE(crc32(record.payload, crc32(head.subarray(4))), 0);
  return head;
}

/**
 * The records of one step from its bytes (payloads are views into `bytes`). Returns a
 * string saying what is wrong when a frame is torn, fails its checksum or does not
 * belong to `step`.
 */
export function parseFrames(bytes: Buffer, step: number, count: number): StoreRecord[] | string {
  const records: StoreRecord[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (bytes.length - at < FRAME_HEADER) return `record ${records.length} of step ${step} is cut short`;
    const length = bytes.readUInt32LE(at + 4);
    if (length < FRAME_HEADER || at + length > bytes.length) return `record ${records.length} of step ${step} is cut short`;
    const frame = bytes.subarray(at, at + length);
    if (crc32(frame.subarray(4)) !== frame.readUInt32LE(0)) return `record ${records.length} of step ${step} fails its checksum`;
    const nameLength = frame.readUInt16LE(10);
    const signatureLength = frame.readUInt32LE(12);
    const body = FRAME_HEADER + nameLength + signatureLength;
    if (frame.readUInt8(8) !== KIND_RECORD || body > length || frame.readDoubleLE(24) !== step) {
      return `record ${records.length} of step ${step} is not a record of that step`;
    }
    records.push({
      step,
      delivery: frame.toString('utf8', FRAME_HEADER, FRAME_HEADER + nameLength),
      call: frame.readUInt32LE(16),
      signature: frame.toString('utf8', FRAME_HEADER + nameLength, body),
      payload: frame.subarray(body),
    });
    at += length;
  }
  return records.length === count ? records : `step ${step} holds ${records.length} records where its index says ${count}`;
}

export interface IndexEntry {
  readonly step: number;
  readonly records: number;
  readonly offset: number;
  readonly length: number;
}

export function encodeEntry(entry: IndexEntry): Buffer {
  const bytes = Buffer.allocUnsafe(ENTRY);
  bytes.writeUInt32LE(entry.records, 4);
  bytes.writeDoubleLE(entry.step, 8);
  bytes.writeDoubleLE(entry.offset, 16);
  bytes.writeDoubleLE(entry.length, 24);
  bytes.writeUInt32LE(crc32(bytes.subarray(4)), 0);
  return bytes;
}

/** The entry, or undefined when its checksum fails. */
export function decodeEntry(bytes: Buffer, at: number): IndexEntry | undefined {
  const entry = bytes.subarray(at, at + ENTRY);
  if (entry.length < ENTRY || crc32(entry.subarray(4)) !== entry.readUInt32LE(0)) return undefined;
  return { records: entry.readUInt32LE(4), step: entry.readDoubleLE(8), offset: entry.readDoubleLE(16), length: entry.readDoubleLE(24) };
}
