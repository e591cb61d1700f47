/**
 * The directory backend's reader: a rank's committed steps, found through the index
 * (directory-layout.ts) and checked frame by frame (lane sums, checksum.ts) as they are
 * read, a piece at a time while it is in the cache. Readers
 * only read, so many machines can replay one store on a shared filesystem.
 */
import { closeSync, existsSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { storeErrors } from '../errors.js';
import { laneSum } from './checksum.js';
import { parseFrames } from './frames.js';
import { META, RUNS, checkLastStep, directoryRanks, ioError, loadRank, rankFolder, readWhole, segmentFile, stepBytes, type Located, type RankState } from './directory-layout.js';
import { openEnvelope } from './metadata.js';
import { isComplete, parseRuns, type RunRecord } from './runs.js';
import type { Opened, StoreReader, StoreRecord } from './types.js';
import type { DirectoryLocation } from './url.js';

class DirectoryReader implements StoreReader {
  readonly subject: string;
  readonly rank: number;
  readonly metadata: unknown;
  readonly runs: readonly RunRecord[];
  readonly complete: boolean;
  readonly #root: string;
  #state: RankState;
  readonly #files = new Map<number, number>();
  readonly #sum = laneSum();
  #closed = false;

  constructor(opened: Opened<DirectoryLocation>, metadata: unknown, state: RankState, runs: RunRecord[]) {
    this.subject = opened.subject;
    this.rank = opened.rank;
    this.metadata = metadata;
    this.runs = runs;
    this.complete = isComplete(runs);
    this.#root = opened.location.path;
    this.#state = state;
  }

  get lastStep(): number {
    return this.#state.entries.length - 1;
  }

  get tail(): string | undefined {
    return this.#state.tail;
  }

  read(step: number): StoreRecord[] {
    if (this.#closed) throw storeErrors.closed(this.subject);
    if (!Number.isSafeInteger(step) || step < 0) throw storeErrors.badOption('step', step, 'an integer from 0');
    // A store still being written may have grown since it was opened: look once more.
    if (step > this.lastStep) this.#state = checkLastStep(loadRank(this.subject, this.#root, this.rank), this.#root, this.rank, this.#sum);
    if (step === this.#state.corruptStep) throw storeErrors.corrupt(this.subject, this.#state.corruptDetail, step - 1);
    const entry = this.#state.entries[step];
    if (entry === undefined) throw storeErrors.end(this.subject, step, this.lastStep, this.tail ?? '');
    const parsed = this.#parse(entry);
    if (typeof parsed === 'string') throw storeErrors.corrupt(this.subject, parsed, step - 1);
    return parsed;
  }

  /** The step's records, read and checked (frames.ts), or what is wrong with them. */
  #parse(entry: Located): StoreRecord[] | string {
    try {
      let fd = this.#files.get(entry.seq);
      if (fd === undefined) {
        fd = openSync(segmentFile(rankFolder(this.#root, this.rank), entry.seq, 'seg'), 'r');
        this.#files.set(entry.seq, fd);
      }
      return parseFrames(stepBytes(fd, entry.offset, entry.length), entry.step, entry.records, this.#sum);
    } catch (error) {
      throw ioError(this.subject, error, entry.step - 1, 'read');
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const fd of this.#files.values()) closeSync(fd);
    this.#files.clear();
  }
}

/**
 * Opens a rank to replay. A replay (`rankRequired`) of a rank no record run ever opened
 * fails at once, naming the ranks there are: a folder replay reads what the store holds
 * and never waits for more, so it would only fail at its first step (auto records such a
 * rank; the store's tools list ranks themselves).
 */
export function openDirectoryReader(opened: Opened<DirectoryLocation>, rankRequired = false): StoreReader {
  const root = opened.location.path;
  try {
    const meta = readWhole(join(root, META));
    if (meta === undefined) throw storeErrors.missing(opened.subject, `${join(root, META)} does not exist`);
    const metadata = openEnvelope(opened.subject, meta.toString('utf8'), META);
    if (rankRequired && !existsSync(rankFolder(root, opened.rank))) throw storeErrors.noRank(opened.subject, opened.rank, directoryRanks(root));
    // The runs first: a writer replaces them after its last step, so steps found after them are all there when they say complete.
    const runs = readRuns(opened.subject, root, opened.rank);
    const state = checkLastStep(loadRank(opened.subject, root, opened.rank), root, opened.rank);
    return new DirectoryReader(opened, metadata, state, runs);
  } catch (error) {
    throw ioError(opened.subject, error, -1, 'read');
  }
}

/** A rank's runs (none for a rank no writer opened). */
export function readRuns(subject: string, root: string, rank: number): RunRecord[] {
  return parseRuns(subject, readWhole(join(rankFolder(root, rank), RUNS))?.toString('utf8'), `rank-${rank}/${RUNS}`, -1);
}
