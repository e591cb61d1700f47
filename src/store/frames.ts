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

/** The most bytes a frame's header, name and signature can take (UTF-8 takes at most 3 bytes per UTF-16 unit). */
export function headRoom(record: NewRecord): number {
  return FRAME_HEADER + 3 * (record.delivery.length + record.signature.length);
}

/**
 * Writes a record's frame header, name and signature into `target` at `at` (which has
 * headRoom() bytes free) and returns their length; the payload goes right after them,
 * and the checksum into the first 4 bytes once it is known (sealFrame, or the caller).
 */
export function writeHead(target: Buffer, at: number, step: number, record: NewRecord): number {
  const nameLength = target.write(record.delivery, at + FRAME_HEADER, 'utf8');
  const signatureLength = target.write(record.signature, at + FRAME_HEADER + nameLength, 'utf8');
  const head = FRAME_HEADER + nameLength + signatureLength;
  if (nameLength > 0xffff || head + record.payload.byteLength > MAX_FRAME) throw new RangeError('record too large');
  target.writeUInt32LE(head + record.payload.byteLength, at + 4);
  target.writeUInt32LE(KIND_RECORD + nameLength * 0x10000, at + 8);
  target.writeUInt32LE(signatureLength, at + 12);
  target.writeUInt32LE(record.call, at + 16);
  target.writeUInt32LE(0, at + 20);
  target.writeDoubleLE(step, at + 24);
  return head;
}

/** The frame (header, name, signature, payload) at `at` of `target`, length `length`, gets its checksum. */
export function sealFrame(target: Buffer, at: number, length: number): void {
  target.writeUInt32LE(crc32(target.subarray(at + 4, at + length)), at);
}

/** A frame's header, name and signature in a buffer of their own, sealed with the payload's checksum. */
export function frameHead(step: number, record: NewRecord): Buffer {
  const room = Buffer.allocUnsafe(headRoom(record));
  const head = room.subarray(0, writeHead(room, 0, step, record));
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
