/**
 * The directory backend's writer: appends a rank's steps to segment files and their
 * index (directory-layout.ts) with synchronous file calls, never changing bytes it
 * wrote. Durable against the writer's process dying (SIGKILL included); data the
 * operating system had not flushed when the machine itself stopped is found as a torn
 * tail. Frames are built in a stage, the memory of the writer's lane sum (checksum.ts):
 * each payload is copied in once, summed there while it is in the cache, and written
 * from there with one write per STAGE_BYTES (ending on a page boundary of the file), or per
 * step when smaller.
 */
import { closeSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { debuglog } from 'node:util';
import { storeErrors } from '../errors.js';
import { laneSum } from './checksum.js';
import { ENTRY, FILE_HEADER, FRAME_TRAILER, encodeEntry, fileHeader, headRoom, writeHead, writeTrailer } from './frames.js';
import { RUNS, checkLastStep, ioError, loadRank, rankFolder, readWhole, segmentFile, type RankState } from './directory-layout.js';
import { lockRank, temporaryBeside, writeNewFile, type RankLock } from './directory-lock.js';
import { prepareRoot, settleMetadata } from './directory-root.js';
import { checkRecord } from './records.js';
import { endRun, parseRuns, serializeRuns, startRun, unended, type RunRecord } from './runs.js';
import type { CloseOptions, IfExists, NewRecord, Opened, RunStart, StoreWriter } from './types.js';
import type { DirectoryLocation } from './url.js';

const debug = debuglog('delivery');

/** A segment is closed and the next one started once it passes this many bytes. */
export const SEGMENT_BYTES = 1 << 30;
/** The stage's size: a write each time it fills; small enough to stay in the cache between the copy, the sum and the write. */
const STAGE_BYTES = 256 << 10;
/**
 * A stage that fills mid-step is written up to the last multiple of this in the file, the
 * rest moved to its start: a write that starts or ends inside a page of the page cache costs
 * the kernel about a third more than one that covers whole pages (32 MB of 256 KB writes).
 */
const PAGE = 4096;

/** Writes all of bytes[0, length) at `position`, going on after a short write. */
function writeAll(fd: number, bytes: Buffer, length: number, position: number): void {
  for (let done = 0; done < length; ) done += writeSync(fd, bytes, done, length - done, position + done);
}

class DirectoryWriter implements StoreWriter {
  readonly subject: string;
  readonly rank: number;
  readonly metadata: unknown;
  nextStep: number;
  readonly #folder: string;
  #seq: number;
  #segment = -1;
  #index = -1;
  #segmentSize = 0;
  #indexSize = 0;
  #stepStart = 0;
  /** The open step's frames not yet written: #sum.bytes[0, #staged). */
  readonly #sum = laneSum();
  #staged = 0;
  #records = 0;
  #closed = false;
  /** The rank's runs, this writer's last (or a copy's). */
  #runs: RunRecord[] = [];
  #copied: readonly RunRecord[] | undefined;

  readonly #segmentBytes: number;
  readonly #lock: RankLock;

  constructor(opened: Opened<DirectoryLocation>, metadata: unknown, state: RankState, resume: boolean, segmentBytes: number, lock: RankLock) {
    this.#segmentBytes = segmentBytes;
    this.#lock = lock;
    this.subject = opened.subject;
    this.rank = opened.rank;
    this.metadata = metadata;
    this.#folder = rankFolder(opened.location.path, opened.rank);
    this.nextStep = resume ? state.entries.length : 0;
    this.#seq = resume ? state.lastSeq + 1 : 0;
    this.#openSegment();
  }

  /** Steps are written before commit() returns: every committed step is stored. */
  get lastStored(): number {
    return this.nextStep - 1;
  }

  /** Adds this writer's run to the rank's runs (after its segment is open: a second writer was refused there). */
  startRun(run: RunStart, ifExists: IfExists): void {
    const kept = ifExists === 'resume' ? parseRuns(this.subject, readWhole(join(this.#folder, RUNS))?.toString('utf8'), `rank-${this.rank}/${RUNS}`, this.nextStep - 1) : [];
    this.#copied = run.runs;
    this.#runs = run.runs !== undefined ? unended(run.runs) : startRun(kept, run.provenance, this.nextStep, ifExists === 'error' ? 'new' : ifExists);
    this.#writeRuns();
  }

  /** Replaces runs.json whole: a reader finds the old file or the new one. */
  #writeRuns(): void {
    const temp = temporaryBeside(this.#folder, RUNS);
    this.#guard(() => {
      writeNewFile(temp, serializeRuns(this.#runs));
      renameSync(temp, join(this.#folder, RUNS));
    });
  }

  #openSegment(): void {
    try {
      this.#segment = openSync(segmentFile(this.#folder, this.#seq, 'seg'), 'wx');
      this.#index = openSync(segmentFile(this.#folder, this.#seq, 'idx'), 'wx');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
        this.#closeFiles();
        throw storeErrors.otherWriter(this.subject, `segment ${this.#seq} was created by another process`);
      }
      throw error;
    }
    writeSync(this.#segment, fileHeader('segment', this.rank, this.#seq), 0, FILE_HEADER, 0);
    writeSync(this.#index, fileHeader('index', this.rank, this.#seq), 0, FILE_HEADER, 0);
    this.#segmentSize = this.#stepStart = this.#indexSize = FILE_HEADER;
  }

  #closeFiles(): void {
    for (const fd of [this.#segment, this.#index]) if (fd >= 0) closeSync(fd);
    this.#segment = this.#index = -1;
  }

  /** Writes the stage out (commit: all of it). */
  #writeStage(): void {
    this.#guard(() => writeAll(this.#segment, this.#sum.bytes, this.#staged, this.#segmentSize));
    this.#segmentSize += this.#staged;
    this.#staged = 0;
  }

  /**
   * Makes room in a stage that filled mid-step: writes it up to a page boundary of the
   * file (see PAGE) and moves the rest, less than a page, to its start; the whole stage when
   * no boundary falls inside it. Bytes already summed keep their sum: only their place moves.
   */
  #writeFullStage(): void {
    const end = this.#segmentSize + this.#staged;
    const cut = end - (end % PAGE) - this.#segmentSize;
    if (cut <= 0) return this.#writeStage();
    const bytes = this.#sum.bytes;
    this.#guard(() => writeAll(this.#segment, bytes, cut, this.#segmentSize));
    bytes.copyWithin(0, cut, this.#staged);
    this.#segmentSize += cut;
    this.#staged -= cut;
  }

  append(record: NewRecord): void {
    if (this.#closed) throw storeErrors.closed(this.subject);
    checkRecord(this.subject, record);
    const sum = this.#sum;
    const room = headRoom(record);
    sum.reserve(Math.max(STAGE_BYTES, room) + FRAME_TRAILER);
    if (this.#staged + room > STAGE_BYTES) this.#writeFullStage();
    // A head of more than STAGE_BYTES - PAGE (a signature of hundreds of KB) goes after an empty stage.
    if (this.#staged + room > Math.max(STAGE_BYTES, room)) this.#writeStage();
    const head = writeHead(sum.bytes, this.#staged, this.nextStep, record);
    sum.reset();
    sum.add(this.#staged, head);
    this.#staged += head;
    // The payload, a piece at a time: copied into the stage, padded to 16 bytes at its end, summed.
    const payload = record.payload;
    const size = payload.byteLength;
    for (let done = 0; done < size; ) {
      if (STAGE_BYTES - this.#staged < 16) this.#writeFullStage();
      let piece = Math.min(size - done, STAGE_BYTES - this.#staged);
      if (done + piece < size) piece &= ~15;
      const padded = (piece + 15) & ~15;
      sum.bytes.set(piece === size ? payload : payload.subarray(done, done + piece), this.#staged);
      sum.bytes.fill(0, this.#staged + piece, this.#staged + padded);
      sum.add(this.#staged, padded);
      this.#staged += padded;
      done += piece;
    }
    if (this.#staged + FRAME_TRAILER > STAGE_BYTES) this.#writeFullStage();
    writeTrailer(sum, this.#staged, head + ((size + 15) & ~15) + FRAME_TRAILER);
    this.#staged += FRAME_TRAILER;
    this.#records++;
  }

  commit(): number {
    if (this.#closed) throw storeErrors.closed(this.subject);
    const step = this.nextStep;
    this.#writeStage();
    this.#guard(() => {
      const entry = encodeEntry({ step, records: this.#records, offset: this.#stepStart, length: this.#segmentSize - this.#stepStart });
      writeAll(this.#index, entry, ENTRY, this.#indexSize);
      this.#indexSize += ENTRY;
    });
    this.nextStep++;
    this.#records = 0;
    this.#stepStart = this.#segmentSize;
    if (this.#segmentSize >= this.#segmentBytes) {
      this.#closeFiles();
      this.#seq++;
      this.#guard(() => this.#openSegment());
    }
    return step;
  }

  discard(): void {
    this.#staged = 0;
    this.#records = 0;
    // Frames of the step already written out stay, unreferenced by the index.
    this.#stepStart = this.#segmentSize;
  }

  flush(): void {}

  close(options: CloseOptions = {}): void {
    if (this.#closed) return;
    this.#closed = true;
    this.discard();
    this.#closeFiles();
    try {
      if (options.complete !== true) return;
      this.#runs = this.#copied !== undefined ? [...this.#copied] : endRun(this.#runs, this.nextStep);
      this.#writeRuns();
      debug('store %s: complete at step %d', this.subject, this.nextStep - 1);
    } finally {
      // The runs are written while this writer still holds the rank.
      this.#guard(() => this.#lock.release());
    }
  }

  #guard(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      throw ioError(this.subject, error, this.nextStep - 1, 'written');
    }
  }
}

export function openDirectoryWriter(opened: Opened<DirectoryLocation>, metadata: unknown, ifExists: IfExists, segmentBytes = SEGMENT_BYTES, run: RunStart = { provenance: undefined, runs: undefined }): StoreWriter {
  const root = opened.location.path;
  const subject = opened.subject;
  let lock: RankLock | undefined;
  try {
    prepareRoot(subject, root);
    // The rank's lock first: what the rank holds is then this writer's to judge and change.
    lock = lockRank(subject, rankFolder(root, opened.rank));
    let state = checkLastStep(loadRank(subject, root, opened.rank), root, opened.rank);
    // Existing data is a complete step: the files of a record run that failed before its first commit are not.
    const holds = state.entries.length > 0;
    if (holds && ifExists === 'error') throw storeErrors.exists(subject, state.entries.length - 1);
    const stored = settleMetadata(subject, root, metadata, ifExists === 'overwrite');
    if (state.files.length > 0 && ifExists !== 'resume') {
      for (const file of state.files) unlinkSync(file);
      state = loadRank(subject, root, opened.rank);
    }
    if (ifExists === 'resume') debug('store %s: resuming at step %d%s', subject, state.entries.length, state.tail ? ` (${state.tail})` : '');
    const writer = new DirectoryWriter(opened, stored, state, ifExists === 'resume', segmentBytes, lock);
    try {
      writer.startRun(run, holds ? ifExists : 'error');
    } catch (error) {
      writer.close();
      throw error;
    }
    return writer;
  } catch (error) {
    try {
      lock?.release();
    } catch {
      // the error that stopped the opening says more
    }
    throw ioError(subject, error, -1, 'written');
  }
}
