/**
 * The store's shared types: records, the writer and reader every backend implements, and
 * their options. A leaf: the backends and the dispatcher (store.ts) import it, it imports
 * nothing of theirs.
 */
import type { IfExists } from './rank.js';
import type { RunRecord } from './runs.js';
import type { StoreLocation } from './url.js';

export type { IfExists, RunRecord };

/** One record: opaque to the store, its bytes given back exactly. */
export interface StoreRecord {
  /** The step it belongs to, counted from 0 for each rank. */
  readonly step: number;
  /** The delivery's name ("": the record the link marks a failed record phase's step with). */
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
  /**
   * The last step the store is known to hold (-1: none): every committed step for a
   * folder; for Redis, the last step the server acknowledged, so after a failure it says
   * what the server holds, not what was committed.
   */
  readonly lastStored: number;
  /** Adds a record to the open step. Nothing is visible to a reader until commit(). */
  append(record: NewRecord): void;
  /** Makes the open step's records visible as step `nextStep` and returns that number. */
  commit(): number;
  /** Drops the open step's records (a record phase that failed). */
  discard(): void;
  /** Waits until every committed step is stored (Redis writes in the background). */
  flush(): void;
  /**
   * Flushes, and releases files and connections; an open step is dropped. With
   * `complete: true`, marks this rank complete once every step is stored (its run's end
   * time and step count); a rank a writer opened stays incomplete until such a close.
   * Idempotent: only the first call counts.
   */
  close(options?: CloseOptions): void;
}

export interface CloseOptions {
  /** The record run ended as it should: mark the rank complete (default false). */
  complete?: boolean;
}

export interface StoreReader {
  readonly subject: string;
  readonly rank: number;
  readonly metadata: unknown;
  /** The last complete step known now (-1: none); a live Redis store may grow. */
  readonly lastStep: number;
  /** What was found after the last complete step when the store was opened (a partial step, a torn tail), or undefined. */
  readonly tail: string | undefined;
  /** Whether the rank's last record run ended complete, as found at open (a run killed, failed or still writing: false). */
  readonly complete: boolean;
  /** The rank's record runs, oldest first, as found at open (store info shows them). */
  readonly runs: readonly RunRecord[];
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
  /** @internal Read what the store holds now and never wait for more steps (the store's tools): a step past them is ERR_DELIVERY_STORE_END. */
  snapshot?: boolean;
  /** Reader: fail at once (ERR_DELIVERY_STORE_END) when the store does not exist, instead of waiting for it to appear (Redis). */
  existing?: boolean;
}

export interface WriterOptions extends StoreOptions {
  /** JSON the store keeps once for every rank; a writer that finds other metadata fails (ERR_DELIVERY_STORE_MISMATCH). */
  metadata: unknown;
  /** Default "error": ERR_DELIVERY_STORE_EXISTS. */
  ifExists?: IfExists;
  /** Directory: start a new segment file once one passes this many bytes (default 1 GiB). */
  segmentBytes?: number;
  /** Kept with this writer's run of the rank (store info shows it): the link gives Node's and the package's versions, the script, the host, the pid and the config's hash. */
  provenance?: Record<string, unknown>;
  /** @internal A copy: the source rank's runs, written instead of a run of this writer's own; a complete close ends them as they ended. */
  runs?: readonly RunRecord[];
}

/** What a writer adds to its rank's runs (runs.ts): its own run with this provenance, or a copy's runs. */
export interface RunStart {
  readonly provenance: Record<string, unknown> | undefined;
  readonly runs: readonly RunRecord[] | undefined;
}

/** Where the store is, its rank and timeout, and how messages name it. */
export interface Opened<L extends StoreLocation = StoreLocation> {
  readonly location: L;
  readonly rank: number;
  readonly timeout: number;
  readonly subject: string;
  readonly snapshot: boolean;
}
