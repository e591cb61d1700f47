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
import { normalize } from './metadata.js';
import { parseStoreUrl, type DirectoryLocation, type RedisLocation } from './url.js';
import type { Opened, RunStart, StoreOptions, StoreReader, StoreWriter, WriterOptions } from './types.js';

export { RANK_VARIABLE, storeRank, type IfExists } from './rank.js';
export type { CloseOptions, NewRecord, Opened, RunRecord, StoreOptions, StoreReader, StoreRecord, StoreWriter, WriterOptions } from './types.js';

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

function prepare(url: unknown, options: StoreOptions): Opened {
  const location = parseStoreUrl(url, options.base);
  const rank = storeRank(options.rank);
  return { location, rank, timeout: timeoutOf(options.timeout), subject: storeSubject(location.display, rank), snapshot: options.snapshot === true };
}

function runOf(options: WriterOptions): RunStart {
  const { provenance, runs } = options;
  if (provenance !== undefined && (provenance === null || typeof provenance !== 'object' || Array.isArray(provenance))) {
    throw storeErrors.badOption('provenance', provenance, 'an object of JSON values');
  }
  return { provenance: provenance === undefined ? undefined : (normalize(provenance) as Record<string, unknown>), runs };
}

/** Opens a store to record into: creates it, or resumes or overwrites it as `ifExists` says. */
export function openStoreWriter(url: string | URL, options: WriterOptions): StoreWriter {
  const opened = prepare(url, options);
  const ifExists = options.ifExists ?? 'error';
  if (ifExists !== 'error' && ifExists !== 'overwrite' && ifExists !== 'resume') {
    throw storeErrors.badOption('ifExists', ifExists, '"error", "overwrite" or "resume"');
  }
  const run = runOf(options);
  return opened.location.kind === 'directory'
    ? openDirectoryWriter(opened as Opened<DirectoryLocation>, options.metadata, ifExists, segmentBytesOf(options.segmentBytes), run)
    : openRedisWriter(opened as Opened<RedisLocation>, options.metadata, ifExists, run);
}

/** Opens a store to replay from. */
export function openStoreReader(url: string | URL, options: StoreOptions = {}): StoreReader {
  const opened = prepare(url, options);
  return opened.location.kind === 'directory' ? openDirectoryReader(opened as Opened<DirectoryLocation>, options.existing !== true && options.snapshot !== true) : openRedisReader(opened as Opened<RedisLocation>, options.existing === true);
}
