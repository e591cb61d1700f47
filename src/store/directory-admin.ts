/**
 * The store's tools on a directory store as a whole: what it holds, rank by rank; every
 * byte of a rank checked (a verify); deleting it, its own files only.
 */
import { closeSync, openSync, rmdirSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { DeliveryError, storeErrors } from '../errors.js';
import { laneSum } from './checksum.js';
export { directoryRanks } from './directory-layout.js';
import { META, RUNS, checkLastStep, directoryRanks, folderEntries, loadRank, rankFiles, rankFolder, readWhole, segmentFile, stepBytes } from './directory-layout.js';
import { LOCK } from './directory-lock.js';
import { readRuns } from './directory-reader.js';
import { FILE_HEADER, checkFileHeader, parseFrames } from './frames.js';
import { openEnvelope } from './metadata.js';
import { isComplete, type RunRecord } from './runs.js';
import type { Opened } from './types.js';
import type { DirectoryLocation } from './url.js';


/** One rank as its files hold it now. */
export interface DirectoryRank {
  readonly rank: number;
  readonly lastStep: number;
  /** Bytes of the rank's files. */
  readonly bytes: number;
  readonly runs: readonly RunRecord[];
  readonly complete: boolean;
  readonly tail: string | undefined;
  /** What keeps the rank from being read (its index or runs damaged), if anything. */
  readonly error: DeliveryError | undefined;
}

/** The store's metadata, or exists: false when there is nothing at the url; a folder of other files is not a store. */
export function directoryMetadata(opened: Opened<DirectoryLocation>): { exists: boolean; metadata: unknown } {
  const root = opened.location.path;
  const meta = readWhole(join(root, META));
  if (meta !== undefined) return { exists: true, metadata: openEnvelope(opened.subject, meta.toString('utf8'), META) };
  const names = folderEntries(root);
  if (names.length > 0) throw storeErrors.notAStore(opened.subject, `the folder holds ${names.length} entries and no ${META}`);
  return { exists: false, metadata: undefined };
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

export function inspectDirectoryRank(opened: Opened<DirectoryLocation>): DirectoryRank {
  const root = opened.location.path;
  const folder = rankFolder(root, opened.rank);
  const bytes = rankFiles(folder).reduce((sum, name) => sum + sizeOf(join(folder, name)), 0);
  let runs: RunRecord[] = [];
  try {
    runs = readRuns(opened.subject, root, opened.rank);
    const state = checkLastStep(loadRank(opened.subject, root, opened.rank), root, opened.rank);
    return { rank: opened.rank, lastStep: state.entries.length - 1, bytes, runs, complete: isComplete(runs), tail: state.tail, error: undefined };
  } catch (error) {
    if (!(error instanceof DeliveryError)) throw error;
    return { rank: opened.rank, lastStep: -1, bytes, runs, complete: false, tail: undefined, error };
  }
}

/** What verifying a rank found: the steps read and checked whole, and the first damage. */
export interface RankCheck {
  /** The last step found intact (-1: none). */
  readonly lastIntact: number;
  /** The last step the rank's index holds (what a replay would read up to). */
  readonly lastStep: number;
  /** Bytes of steps read. */
  readonly bytes: number;
  readonly complete: boolean;
  readonly runs: readonly RunRecord[];
  readonly tail: string | undefined;
  /** ERR_DELIVERY_STORE_CORRUPT (or a read's error) for the first damage found, else undefined. */
  readonly error: DeliveryError | undefined;
}

/** Reads every step of a rank and checks every frame, the files' headers and the runs; `onStep` after each step. */
export function verifyDirectoryRank(opened: Opened<DirectoryLocation>, onStep: (step: number, lastStep: number, bytes: number) => void): RankCheck {
  const { subject, rank } = opened;
  const root = opened.location.path;
  const folder = rankFolder(root, rank);
  const state = loadRank(subject, root, rank, true);
  const lastStep = state.entries.length - 1;
  let runs: RunRecord[] = [];
  let bytes = 0;
  let lastIntact = -1;
  const result = (error: DeliveryError | undefined): RankCheck => ({ lastIntact, lastStep, bytes, complete: isComplete(runs), runs, tail: state.tail, error });
  try {
    runs = readRuns(subject, root, rank);
  } catch (error) {
    if (error instanceof DeliveryError) return result(error);
    throw error;
  }
  const files = new Map<number, number>();
  const sum = laneSum();
  try {
    for (const entry of state.entries) {
      let fd = files.get(entry.seq);
      if (fd === undefined) {
        files.set(entry.seq, (fd = openSync(segmentFile(folder, entry.seq, 'seg'), 'r')));
        const header = stepBytes(fd, 0, FILE_HEADER);
        header.ensure(FILE_HEADER);
        const wrong = checkFileHeader(header.bytes, 'segment', rank, entry.seq);
        if (wrong !== undefined) return result(storeErrors.corrupt(subject, `rank-${rank}/${String(entry.seq).padStart(6, '0')}.seg: ${wrong}`, lastIntact));
      }
      const parsed = parseFrames(stepBytes(fd, entry.offset, entry.length), entry.step, entry.records, sum);
      if (typeof parsed === 'string') return result(storeErrors.corrupt(subject, parsed, lastIntact));
      bytes += entry.length;
      lastIntact = entry.step;
      onStep(entry.step, lastStep, bytes);
    }
  } finally {
    for (const fd of files.values()) closeSync(fd);
  }
  return result(state.damage === undefined ? undefined : storeErrors.corrupt(subject, state.damage, lastIntact));
}

/** Deletes the store's own files (meta.json, each rank's segments, indexes and runs), then its folders where they are left empty; returns how many files. */
export function deleteDirectory(opened: Opened<DirectoryLocation>): number {
  const root = opened.location.path;
  let deleted = 0;
  for (const rank of directoryRanks(root)) {
    const folder = rankFolder(root, rank);
    // The store's files, its writer's lock (directory-lock.ts), and the temporary files a writer killed at the wrong moment leaves.
    const extra = folderEntries(folder).filter((n) => n === LOCK || n.startsWith(`.${RUNS}.`) || n.startsWith(`.${LOCK}.`));
    for (const name of [...rankFiles(folder), ...extra]) {
      unlinkSync(join(folder, name));
      deleted++;
    }
    removeIfEmpty(folder);
  }
  unlinkSync(join(root, META));
  deleted++;
  removeIfEmpty(root);
  return deleted;
}

function removeIfEmpty(folder: string): void {
  try {
    rmdirSync(folder);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOTEMPTY' && (error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}
