/**
 * The store's one small interface: a writer that appends steps of opaque records, and a
 * reader that gives them back, step by step. A step is complete or absent for a reader:
 * the records appended since the last commit() become visible together, when committed.
 * Both backends (a folder of segment files, Redis Streams) work behind it, synchronously,
 * so a delivery's synchronous record and replay paths can use it as they are.
 */
import { storeErrors, storeSubject } from '../errors.js';
import { storeRank, type IfExists } from './rank.js';
import { openDirectoryReader } from './directory-reader.js';
import { openDirectoryWriter } from './directory-writer.js';
import { openRedisReader } from './redis-reader.js';
import { openRedisWriter } from './redis-writer.js';
import { parseStoreUrl, type DirectoryLocation, type RedisLocation, type StoreLocation } from './url.js';

export { RANK_VARIABLE, storeRank, type IfExists } from './rank.js';

/** One record: opaque to the store, its bytes given back exactly. */
export interface StoreRecord {
  /** The step it belongs to, counted from 0 for each rank. */
  readonly step: number;
  /** The delivery's name. */
  readonly delivery: string;
  /** Which call of the delivery in its step, from 0. */
  readonly call: number;
  /** The call's signature, a string the store does not read. */
  readonly signature: string;
  readonly payload: Uint8Array;
}

export type NewRecord = Omit<StoreRecord, 'step'>;

export interface StoreWriter {
  /** `the store "./outputs" (rank 0)`, for messages. */
  readonly subject: string;
  readonly rank: number;
  /** The metadata the store holds (given at creation, by this writer or an earlier one). */
  readonly metadata: unknown;
  /** The number the next commit() gives its step: 0 for a new store, after the last complete step on resume. */
  readonly nextStep: number;
  /** Adds a record to the open step. Nothing is visible to a reader until commit(). */
  append(record: NewRecord): void;
  /** Makes the open step's records visible as step `nextStep` and returns that number. */
  commit(): number;
  /** Drops the open step's records (a record phase that failed). */
  discard(): void;
  /** Waits until every committed step is stored (Redis writes in the background). */
  flush(): void;
  /** Flushes, marks the rank finished, and releases files and connections. Idempotent. */
  close(): void;
}

export interface StoreReader {
  readonly subject: string;
  readonly rank: number;
  readonly metadata: unknown;
  /** The last complete step known now (-1: none); a live Redis store may grow. */
  readonly lastStep: number;
  /** What was found after the last complete step when the store was opened (a partial step, a torn tail), or undefined. */
  readonly tail: string | undefined;
  /** The records of `step`, in the order they were appended; waits for it where the backend can (Redis). */
  read(step: number): StoreRecord[];
  close(): void;
}

export interface StoreOptions {
  /** What a relative folder resolves against: a folder, a file, or a file: URL (default: the working directory). */
  base?: string | URL;
  /** This process's rank (default: DISTILL_DELIVERY_RANK, else 0). */
  rank?: number;
  /** Redis: how long to wait for a step, a reply or a connection, in ms (default 60000). */
  timeout?: number;
}

export interface WriterOptions extends StoreOptions {
  /** JSON the store keeps once for every rank; a writer that finds other metadata fails (ERR_DELIVERY_STORE_MISMATCH). */
  metadata: unknown;
  /** Default "error": ERR_DELIVERY_STORE_EXISTS. */
  ifExists?: IfExists;
  /** Directory: start a new segment file once one passes this many bytes (default 1 GiB). */
  segmentBytes?: number;
}

export const DEFAULT_TIMEOUT = 60_000;
function timeoutOf(value: unknown): number {
  if (value === undefined) return DEFAULT_TIMEOUT;
  if (!Number.isSafeInteger(value) || (value as number) <= 0) throw storeErrors.badOption('timeout', value, 'a positive whole number of milliseconds');
  return value as number;
}

function segmentBytesOf(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || (value as number) <= 0) throw storeErrors.badOption('segmentBytes', value, 'a positive whole number of bytes');
  return value as number;
}

/** Where the store is, its rank and timeout, and how messages name it. */
export interface Opened<L extends StoreLocation = StoreLocation> {
  readonly location: L;
  readonly rank: number;
  readonly timeout: number;
  readonly subject: string;
}

function prepare(url: unknown, options: StoreOptions): Opened {
  const location = parseStoreUrl(url, options.base);
  const rank = storeRank(options.rank);
  return { location, rank, timeout: timeoutOf(options.timeout), subject: storeSubject(location.display, rank) };
}

/** Opens a store to record into: creates it, or resumes or overwrites it as `ifExists` says. */
export function openStoreWriter(url: string | URL, options: WriterOptions): StoreWriter {
  const opened = prepare(url, options);
  const ifExists = options.ifExists ?? 'error';
  if (ifExists !== 'error' && ifExists !== 'overwrite' && ifExists !== 'resume') {
    throw storeErrors.badOption('ifExists', ifExists, '"error", "overwrite" or "resume"');
  }
  return opened.location.kind === 'directory'
    ? openDirectoryWriter(opened as Opened<DirectoryLocation>, options.metadata, ifExists, segmentBytesOf(options.segmentBytes))
    : openRedisWriter(opened as Opened<RedisLocation>, options.metadata, ifExists);
}

/** Opens a store to replay from. */
export function openStoreReader(url: string | URL, options: StoreOptions = {}): StoreReader {
  const opened = prepare(url, options);
  return opened.location.kind === 'directory' ? openDirectoryReader(opened as Opened<DirectoryLocation>) : openRedisReader(opened as Opened<RedisLocation>);
}
