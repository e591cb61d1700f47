/**
 * The bytes of a directory store: segment and index file headers, record frames, and
 * index entries. Little-endian. Every frame carries a lane sum of its bytes and every
 * entry a CRC-32 (checksum.ts), so a torn or flipped byte is found.
 *
 * Record frame, a multiple of 16 bytes long (frames, and so payloads, start 16-byte
 * aligned in the segment: a reader's payloads are views a Float64Array can use):
 *   0 u32 frame length   4 u8 kind (1)   5 u8 0   6 u16 name length
 *   8 u32 signature length   12 u32 call   16 f64 step   24 u32 payload length   28 u32 0
 *  32 the delivery name and the signature (UTF-8), zeros up to a multiple of 16: P
 *   P the payload, zeros up to a multiple of 16
 *  L-16 u64 lane sum of bytes 0..L-16   L-8 u32 frame length   L-4 u32 FRAME_END
 * Index entry (32 bytes), one per committed step, in order:
 *   0 u32 crc32 of bytes 4..31  4 u32 records  8 f64 step  16 f64 offset  24 f64 length
 */
import { crc32, type LaneSum } from './checksum.js';
import type { NewRecord, StoreRecord } from './types.js';

export const FILE_HEADER = 16;
export const FRAME_HEADER = 32;
export const FRAME_TRAILER = 16;
export const ENTRY = 32;
const KIND_RECORD = 1;
const MAX_FRAME = 2 ** 32 - 16;
/** 'DDFE': the last 4 bytes of every frame. */
const FRAME_END = 0x45464444;

const SEGMENT_MAGIC = 'DDSTSEG2';
const INDEX_MAGIC = 'DDSTIDX2';

export const align16 = (n: number): number => (n + 15) & ~15;

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
  if (header.toString('latin1', 0, 8) !== (kind === 'segment' ? SEGMENT_MAGIC : INDEX_MAGIC)) return `it does not start as a store ${kind} file (of this version)`;
  if (header.readUInt32LE(8) !== rank || header.readUInt32LE(12) !== seq) return `its header names rank ${header.readUInt32LE(8)}, segment ${header.readUInt32LE(12)}`;
  return undefined;
}

/** The most bytes a frame's header, name, signature and padding can take (UTF-8 takes at most 3 bytes per UTF-16 unit). */
export function headRoom(record: NewRecord): number {
  return FRAME_HEADER + 3 * (record.delivery.length + record.signature.length) + 15;
}

/**
 * Writes a record's frame header, name, signature and padding into `target` at `at`
 * (which has headRoom() bytes free); returns their length P, where the payload goes.
 */
export function writeHead(target: Buffer, at: number, step: number, record: NewRecord): number {
  const { delivery, signature } = record;
  // One encoding call for both strings; as many bytes as characters means both are ASCII, so the name's bytes are its characters.
  let written = target.write(delivery + signature, at + FRAME_HEADER, 'utf8');
  let nameLength = delivery.length;
  if (written !== delivery.length + signature.length) {
    nameLength = target.write(delivery, at + FRAME_HEADER, 'utf8');
    written = nameLength + target.write(signature, at + FRAME_HEADER + nameLength, 'utf8');
  }
  const signatureLength = written - nameLength;
  const head = align16(FRAME_HEADER + written);
  const length = head + align16(record.payload.byteLength) + FRAME_TRAILER;
  if (nameLength > 0xffff || length > MAX_FRAME) throw new RangeError('record too large');
  for (let i = at + FRAME_HEADER + written; i < at + head; i++) target[i] = 0;
  target.writeUInt32LE(length, at);
  target.writeUInt32LE(KIND_RECORD + nameLength * 0x10000, at + 4);
  target.writeUInt32LE(signatureLength, at + 8);
  target.writeUInt32LE(record.call, at + 12);
  target.writeDoubleLE(step, at + 16);
  target.writeUInt32LE(record.payload.byteLength, at + 24);
  target.writeUInt32LE(0, at + 28);
  return head;
}

/** Writes the trailer of a frame of `length` bytes at sum.bytes[at]: the sum of its bytes so far, then the length and the end mark. */
export function writeTrailer(sum: LaneSum, at: number, length: number): void {
  sum.finish(at);
  sum.bytes.writeUInt32LE(length, at + 8);
  sum.bytes.writeUInt32LE(FRAME_END, at + 12);
}

/** A step's bytes as they are read: ensure(end) reads them up to `end` (as far as the file goes) and returns how many are in `bytes`. */
export interface StepBytes {
  readonly bytes: Buffer;
  ensure(end: number): number;
}

/** Bytes a reader copies into its sum's memory at a time: they have just been read, so they come from the cache. */
export const SUM_PIECE = 256 << 10;

/** The frame's sum (the 8 bytes at sum.bytes[at]) and trailer hold. */
function trailerHolds(frame: Buffer, end: number, length: number, sum: LaneSum, at: number): boolean {
  const own = sum.bytes;
  return own.readUInt32LE(at) === frame.readUInt32LE(end) && own.readUInt32LE(at + 4) === frame.readUInt32LE(end + 4) && frame.readUInt32LE(end + 8) === length && frame.readUInt32LE(end + 12) === FRAME_END;
}

/**
 * Checks the frame of `length` bytes at `at`, reading it as it goes: undefined when it
 * holds, else what is wrong. `whole`: the whole step is already in the sum's memory.
 */
function checkFrame(input: StepBytes, at: number, length: number, sum: LaneSum, whole: boolean): string | undefined {
  const end = at + length - FRAME_TRAILER;
  sum.reset();
  if (whole) {
    sum.add(at, end - at);
    sum.finish(input.bytes.length);
    return trailerHolds(input.bytes, end, length, sum, input.bytes.length) ? undefined : 'fails its checksum';
  }
  for (let from = at; from < end; from += SUM_PIECE) {
    const to = Math.min(end, from + SUM_PIECE);
    if (input.ensure(to) < to) return 'is cut short';
    sum.bytes.set(input.bytes.subarray(from, to), 0);
    sum.add(0, to - from);
  }
  if (input.ensure(at + length) < at + length) return 'is cut short';
  sum.finish(SUM_PIECE);
  return trailerHolds(input.bytes, end, length, sum, SUM_PIECE) ? undefined : 'fails its checksum';
}

/**
 * The records of one step from its bytes (payloads are views into them), each frame's
 * sum checked. Returns a string saying what is wrong when a frame is torn, fails its
 * checksum or does not belong to `step`.
 */
export function parseFrames(input: StepBytes, step: number, count: number, sum: LaneSum): StoreRecord[] | string {
  const records: StoreRecord[] = [];
  const total = input.bytes.length;
  // A small step is read at once and copied into the sum's memory whole; a larger one a piece at a time, frame by frame.
  const whole = total <= SUM_PIECE;
  sum.reserve((whole ? total : SUM_PIECE) + FRAME_TRAILER);
  if (whole) sum.bytes.set(input.bytes.subarray(0, input.ensure(total)), 0);
  for (let at = 0; at < total; ) {
    if (input.ensure(at + FRAME_HEADER) < at + FRAME_HEADER) return `record ${records.length} of step ${step} is cut short`;
    const frame = input.bytes;
    const length = frame.readUInt32LE(at);
    const wrong = length < FRAME_HEADER + FRAME_TRAILER || length % 16 !== 0 || at + length > total ? 'is cut short' : checkFrame(input, at, length, sum, whole);
    if (wrong !== undefined) return `record ${records.length} of step ${step} ${wrong}`;
    const nameLength = frame.readUInt16LE(at + 6);
    const signatureLength = frame.readUInt32LE(at + 8);
    const size = frame.readUInt32LE(at + 24);
    const head = align16(FRAME_HEADER + nameLength + signatureLength);
    if (frame[at + 4] !== KIND_RECORD || head + align16(size) + FRAME_TRAILER !== length || frame.readDoubleLE(at + 16) !== step) {
      return `record ${records.length} of step ${step} is not a record of that step`;
    }
    // One decoding call for both strings when they are ASCII (as many characters as bytes), as writeHead() encodes them.
    const names = frame.toString('utf8', at + FRAME_HEADER, at + FRAME_HEADER + nameLength + signatureLength);
    const ascii = names.length === nameLength + signatureLength;
    records.push({
      step,
      delivery: ascii ? names.slice(0, nameLength) : frame.toString('utf8', at + FRAME_HEADER, at + FRAME_HEADER + nameLength),
      call: frame.readUInt32LE(at + 12),
      signature: ascii ? names.slice(nameLength) : frame.toString('utf8', at + FRAME_HEADER + nameLength, at + FRAME_HEADER + nameLength + signatureLength),
      payload: frame.subarray(at + head, at + head + size),
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
