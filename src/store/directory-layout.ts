/**
 * A directory store's files, and reading back what a rank holds:
 *
 *   <store>/meta.json            the metadata, written once for every rank
 *   <store>/rank-<r>/000000.seg  record frames, appended by one writer
 *   <store>/rank-<r>/000000.idx  one entry per committed step of that segment
 *   <store>/rank-<r>/runs.json   the rank's record runs (runs.ts)
 *
 * A writer that resumes a rank starts the next segment (000001.seg/.idx) and never
 * changes bytes already written. A step is committed once its index entry is whole;
 * the entries of a later segment replace those of an earlier one from the step they
 * start at (a resume after a torn or corrupted tail).
 */
import { closeSync, fstatSync, openSync, readdirSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { storeErrors } from '../errors.js';
import { laneSum, type LaneSum } from './checksum.js';
import { ENTRY, FILE_HEADER, align16, checkFileHeader, decodeEntry, parseFrames, type IndexEntry, type StepBytes } from './frames.js';

export const META = 'meta.json';
/** A rank's record runs (runs.ts), replaced whole when a writer opens or completes the rank. */
export const RUNS = 'runs.json';
const SEGMENT_FILE = /^(\d{6})\.(seg|idx)$/;

export const rankFolder = (root: string, rank: number): string => join(root, `rank-${rank}`);
export const segmentFile = (folder: string, seq: number, ext: 'seg' | 'idx'): string => join(folder, `${String(seq).padStart(6, '0')}.${ext}`);

export interface Located extends IndexEntry {
  readonly seq: number;
}

export interface RankState {
  /** Committed steps, entries[i].step === i. */
  readonly entries: Located[];
  /** Segment numbers found, ascending; -1 when the rank has none. */
  readonly lastSeq: number;
  /** The store's files of this rank (for overwrite). */
  readonly files: string[];
  /** What follows the last committed step, when something does. */
  readonly tail: string | undefined;
  /** A step found corrupted at the tail (not counted in entries), or -1. */
  readonly corruptStep: number;
  readonly corruptDetail: string;
  /** A lenient load's damage in the index (entries hold the steps before it), else undefined. */
  readonly damage?: string | undefined;
}

/** A folder's entries; none when it does not exist. */
export function folderEntries(root: string): string[] {
  try {
    return readdirSync(root);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
    throw error;
  }
}

const RANK_FOLDER = /^rank-(\d+)$/;

/** The ranks of a store (its rank folders), ascending. */
export function directoryRanks(root: string): number[] {
  return folderEntries(root).flatMap((name) => RANK_FOLDER.exec(name)?.[1] ?? []).map(Number).sort((a, b) => a - b);
}

/** The store's own files in a rank folder (segments, their indexes, its runs); an absent folder has none. */
export function rankFiles(folder: string): string[] {
  try {
    return readdirSync(folder).filter((name) => SEGMENT_FILE.test(name) || name === RUNS).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

export function readWhole(path: string): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const size = fstatSync(fd).size;
    const bytes = Buffer.allocUnsafe(size);
    let done = 0;
    while (done < size) {
      const n = readSync(fd, bytes, done, size - done, done);
      if (n === 0) break;
      done += n;
    }
    return bytes.subarray(0, done);
  } finally {
    closeSync(fd);
  }
}

/** Bytes a step is read in at a time, each checked while it is still in the cache (frames.ts). */
const READ_PIECE = 256 << 10;

/** Steps shorter than this are read into a shared 128 KB buffer, as Node's pool does for small Buffers (a new one costs more than the read). */
const POOLED = 16 << 10;
const POOL = 128 << 10;
let pool = Buffer.alloc(0);
let pooled = 0;

/** Room for a step: its own buffer, or a part of the pool; 16-byte aligned either way, so payloads are too (frames.ts). */
function allocate(length: number): Buffer {
  if (length >= POOLED) return Buffer.allocUnsafe(length);
  if (pooled + length > pool.length) (pool = Buffer.allocUnsafeSlow(POOL)), (pooled = 0);
  const bytes = pool.subarray(pooled, pooled + length);
  pooled = align16(pooled + length);
  return bytes;
}

/** The step at `offset`, `length` bytes long, read into memory of its own as far as it is asked for. */
export function stepBytes(fd: number, offset: number, length: number): StepBytes {
  const bytes = allocate(length);
  let done = 0;
  return {
    bytes,
    ensure(end: number): number {
      while (done < end) {
        const n = readSync(fd, bytes, done, Math.min(length - done, Math.max(READ_PIECE, end - done)), offset + done);
        if (n === 0) break;
        done += n;
      }
      return done;
    },
  };
}

/** Size of a file, or -1 when it is absent. */
function sizeOf(path: string): number {
  try {
    const fd = openSync(path, 'r');
    try {
      return fstatSync(fd).size;
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return -1;
    throw error;
  }
}

interface SegmentScan {
  entries: Located[];
  /** A note on bytes after the last whole entry or the last committed frame. */
  tail: string | undefined;
  /** What is wrong with the segment's index, when something is: its entries up to there are kept. */
  damage: string | undefined;
}

/** The whole, in-range entries of one segment; a bad entry with good ones after it is corruption. */
function scanSegment(folder: string, rank: number, seq: number, lastGood: () => number): SegmentScan {
  const index = readWhole(segmentFile(folder, seq, 'idx')) ?? Buffer.alloc(0);
  const segmentSize = sizeOf(segmentFile(folder, seq, 'seg'));
  const name = `rank-${rank}/${String(seq).padStart(6, '0')}`;
  // A writer killed while creating the pair leaves a short or missing header: an empty segment.
  if (index.length < FILE_HEADER || segmentSize < FILE_HEADER) return { entries: [], tail: index.length + Math.max(segmentSize, 0) > 0 ? `${name} was cut short as it was created` : undefined, damage: undefined };
  const wrong = checkFileHeader(index.subarray(0, FILE_HEADER), 'index', rank, seq);
  if (wrong) return { entries: [], tail: undefined, damage: `${name}.idx: ${wrong}` };
  const entries: Located[] = [];
  let bad: string | undefined;
  for (let at = FILE_HEADER; at + ENTRY <= index.length; at += ENTRY) {
    const entry = decodeEntry(index, at);
    const problem = entry === undefined ? 'fails its checksum' : entry.offset + entry.length > segmentSize ? 'points past the end of its segment' : undefined;
    if (problem !== undefined) {
      bad ??= `the index entry after step ${entries.at(-1)?.step ?? lastGood()} in ${name}.idx ${problem}`;
      continue;
    }
    if (bad !== undefined) return { entries, tail: undefined, damage: bad };
    entries.push({ ...entry!, seq });
  }
  const end = entries.length > 0 ? entries.at(-1)!.offset + entries.at(-1)!.length : FILE_HEADER;
  const loose = (index.length - FILE_HEADER) % ENTRY;
  const tail = bad ?? (loose > 0 ? `${name}.idx ends in ${loose} bytes of a torn entry` : segmentSize > end ? `${segmentSize - end} bytes of a step that was not committed follow in ${name}.seg` : undefined);
  return { entries, tail, damage: undefined };
}

/**
 * What a rank of a directory store holds, checked as far as the index goes. Damage in the
 * index is ERR_DELIVERY_STORE_CORRUPT, or with `lenient` (a verify) kept in `damage`, the
 * entries before it kept.
 */
export function loadRank(subject: string, root: string, rank: number, lenient = false): RankState {
  const folder = rankFolder(root, rank);
  const files = rankFiles(folder);
  const seqs = [...new Set(files.filter((name) => name !== RUNS).map((name) => Number(SEGMENT_FILE.exec(name)![1])))];
  const entries: Located[] = [];
  let tail: string | undefined;
  let damage: string | undefined;
  for (const seq of seqs) {
    const scan = scanSegment(folder, rank, seq, () => entries.length - 1);
    const first = scan.entries[0];
    if (first !== undefined) {
      if (first.step > entries.length) {
        damage = `rank-${rank} segment ${seq} starts at step ${first.step}, after a gap`;
        break;
      }
      entries.length = first.step;
    }
    for (const entry of scan.entries) {
      if (entry.step !== entries.length) {
        damage = `rank-${rank} segment ${seq} holds step ${entry.step} out of order`;
        break;
      }
      entries.push(entry);
    }
    damage ??= scan.damage;
    if (damage !== undefined) break;
    tail = scan.tail;
  }
  if (damage !== undefined && !lenient) throw storeErrors.corrupt(subject, damage, entries.length - 1);
  return { entries, lastSeq: seqs.at(-1) ?? -1, files: files.map((name) => join(folder, name)), tail, corruptStep: -1, corruptDetail: '', damage };
}

/** Checks the last committed step's frames; a corrupted one leaves the entries and is reported. */
export function checkLastStep(state: RankState, root: string, rank: number, sum: LaneSum = laneSum()): RankState {
  const last = state.entries.at(-1);
  if (last === undefined) return state;
  const fd = openSync(segmentFile(rankFolder(root, rank), last.seq, 'seg'), 'r');
  try {
    const parsed = parseFrames(stepBytes(fd, last.offset, last.length), last.step, last.records, sum);
    if (typeof parsed !== 'string') return state;
    const entries = state.entries.slice(0, -1);
    return { ...state, entries, corruptStep: last.step, corruptDetail: parsed, tail: `step ${last.step} is corrupted: ${parsed}` };
  } finally {
    closeSync(fd);
  }
}

/** A system call's error as ERR_DELIVERY_STORE_UNAVAILABLE, with the last step written or read; others pass as they are. */
export function ioError(subject: string, error: unknown, last: number, role: 'written' | 'read'): unknown {
  const code = (error as NodeJS.ErrnoException)?.code;
  return typeof code === 'string' && typeof (error as NodeJS.ErrnoException).syscall === 'string' ? storeErrors.unavailable(subject, `${code} (${(error as Error).message})`, last, role, { cause: error }) : error;
}
