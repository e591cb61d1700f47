/**
 * The directory backend's writer: appends a rank's steps to segment files and their
 * index (directory-layout.ts) with synchronous file calls, never changing bytes it
 * wrote. Durable against the writer's process dying (SIGKILL included); data the
 * operating system had not flushed when the machine itself stopped is found as a torn
 * tail. Small frames are built in a staging buffer and written with one writev a step.
 */
import { closeSync, mkdirSync, openSync, unlinkSync, writeSync, writevSync } from 'node:fs';
import { debuglog } from 'node:util';
import { storeErrors } from '../errors.js';
import { ENTRY, FILE_HEADER, encodeEntry, fileHeader, frameHead, headRoom, sealFrame, writeHead } from './frames.js';
import { checkLastStep, ioError, loadRank, rankFolder, segmentFile, type RankState } from './directory-layout.js';
import { prepareRoot, settleMetadata } from './directory-root.js';
import { checkRecord } from './records.js';
import type { IfExists, NewRecord, Opened, StoreWriter } from './store.js';
import type { DirectoryLocation } from './url.js';

const debug = debuglog('delivery');

/** A segment is closed and the next one started once it passes this many bytes. */
export const SEGMENT_BYTES = 1 << 30;
/** Payloads under this size are copied into the stage with their frame; larger ones are written from where they are. */
const SMALL = 64 << 10;
const STAGE_BYTES = 1 << 20;
/** writev takes at most IOV_MAX (1024 on Linux) buffers a call. */
const IOV_MAX = 1024;

function writeAll(fd: number, buffers: Uint8Array[], position: number): void {
  let at = position;
  for (let i = 0; i < buffers.length; i += IOV_MAX) {
    const batch = buffers.slice(i, i + IOV_MAX).filter((b) => b.byteLength > 0);
    let total = batch.reduce((sum, b) => sum + b.byteLength, 0);
    while (total > 0) {
      const n = writevSync(fd, batch, at);
      at += n;
      total -= n;
      if (total === 0) break;
      // A short write: drop what was written and go on with the rest.
      let skip = n;
      while (skip > 0 && skip >= batch[0]!.byteLength) skip -= batch.shift()!.byteLength;
      if (skip > 0) batch[0] = batch[0]!.subarray(skip);
    }
  }
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
  #pending: Uint8Array[] = [];
  /** Small frames of the open step, built in place; #stagedFrom..#staged not yet in #pending. */
  #stage = Buffer.allocUnsafe(STAGE_BYTES);
  #staged = 0;
  #stagedFrom = 0;
  #pendingBytes = 0;
  #records = 0;
  #closed = false;

  readonly #segmentBytes: number;

  constructor(opened: Opened<DirectoryLocation>, metadata: unknown, state: RankState, resume: boolean, segmentBytes: number) {
    this.#segmentBytes = segmentBytes;
    this.subject = opened.subject;
    this.rank = opened.rank;
    this.metadata = metadata;
    this.#folder = rankFolder(opened.location.path, opened.rank);
    this.nextStep = resume ? state.entries.length : 0;
    this.#seq = resume ? state.lastSeq + 1 : 0;
    mkdirSync(this.#folder, { recursive: true });
    this.#openSegment();
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

  #writePending(): void {
    this.#unstage();
    writeAll(this.#segment, this.#pending, this.#segmentSize);
    this.#segmentSize += this.#pendingBytes;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#staged = this.#stagedFrom = 0;
  }

  append(record: NewRecord): void {
    if (this.#closed) throw storeErrors.closed(this.subject);
    checkRecord(this.subject, record);
    const size = record.payload.byteLength;
    if (size < SMALL) {
      // Small frames are built whole in the stage: one allocation-free copy and one checksum call each.
      const room = headRoom(record) + size;
      if (this.#staged + room > this.#stage.length) {
        this.#guard(() => this.#writePending());
        if (room > this.#stage.length) this.#stage = Buffer.allocUnsafe(Math.max(room, 2 * this.#stage.length));
      }
      const at = this.#staged;
      const head = writeHead(this.#stage, at, this.nextStep, record);
      this.#stage.set(record.payload, at + head);
      sealFrame(this.#stage, at, head + size);
      this.#staged += head + size;
    } else {
      // A large payload is written out at once, from where it is: nothing of the caller's is kept.
      const head = frameHead(this.nextStep, record);
      this.#unstage();
      this.#pending.push(head, record.payload);
      this.#pendingBytes += head.length + size;
      this.#guard(() => this.#writePending());
    }
    this.#records++;
  }

  /** Moves the staged frames to the pending list (the stage is reused once they are written). */
  #unstage(): void {
    if (this.#staged === this.#stagedFrom) return;
    this.#pending.push(this.#stage.subarray(this.#stagedFrom, this.#staged));
    this.#pendingBytes += this.#staged - this.#stagedFrom;
    this.#stagedFrom = this.#staged;
  }

  commit(): number {
    if (this.#closed) throw storeErrors.closed(this.subject);
    const step = this.nextStep;
    this.#guard(() => {
      this.#writePending();
      const entry = encodeEntry({ step, records: this.#records, offset: this.#stepStart, length: this.#segmentSize - this.#stepStart });
      writeAll(this.#index, [entry], this.#indexSize);
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
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#staged = this.#stagedFrom = 0;
    this.#records = 0;
    // Frames of the step already written out stay, unreferenced by the index.
    this.#stepStart = this.#segmentSize;
  }

  flush(): void {}

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.discard();
    this.#closeFiles();
  }

  #guard(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      throw ioError(this.subject, error, this.nextStep - 1, 'written');
    }
  }
}

export function openDirectoryWriter(opened: Opened<DirectoryLocation>, metadata: unknown, ifExists: IfExists, segmentBytes = SEGMENT_BYTES): StoreWriter {
  const root = opened.location.path;
  const subject = opened.subject;
  try {
    prepareRoot(subject, root);
    let state = checkLastStep(loadRank(subject, root, opened.rank), root, opened.rank);
    const holds = state.lastSeq >= 0;
    if (holds && ifExists === 'error') throw storeErrors.exists(subject, state.entries.length - 1);
    const stored = settleMetadata(subject, root, metadata, ifExists === 'overwrite');
    if (holds && ifExists === 'overwrite') {
      for (const file of state.files) unlinkSync(file);
      state = loadRank(subject, root, opened.rank);
    }
    if (ifExists === 'resume') debug('store %s: resuming at step %d%s', subject, state.entries.length, state.tail ? ` (${state.tail})` : '');
    return new DirectoryWriter(opened, stored, state, ifExists === 'resume', segmentBytes);
  } catch (error) {
    throw ioError(subject, error, -1, 'written');
  }
}

