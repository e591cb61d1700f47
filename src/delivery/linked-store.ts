/**
 * What a manager asks of its store, and what it gives it: the contract between the
 * delivery core and the store's wiring (../link/store-link.ts implements it). Types only,
 * so the core never loads the link; the link is handed to the manager at run time
 * (provideStoreLink) by the entry that may need it.
 */
import type { NormalizedStore, StoreMode } from '../store/options.js';
import type { DeliveryStep, DistillDelivery } from './distill-delivery.js';
import type { StoredRecorder } from './phase-recorders.js';

/** What a store needs of each of its deliveries: its name in the manager and how messages name it. */
export interface Linked {
  readonly name: string;
  readonly who: string;
  readonly recordOnly: boolean;
}

/** A delivery of the store, as the metadata names it. */
export interface StoredDelivery extends Linked {
  readonly delivery: DistillDelivery;
  readonly type: 'FunctionOutputs' | 'MethodOutputs';
  readonly target: string;
}

/** What a record phase tells its store: its steps, once opened, and its end (`error`: what it threw or rejected with). */
export interface StorePhase {
  opened(steps: readonly DeliveryStep[]): void;
  closed(steps: readonly DeliveryStep[], failed: boolean, error?: unknown): void;
}

/** What the report says of a store. */
export interface StoreSummary {
  readonly url: string;
  readonly rank: number;
  readonly mode: StoreMode;
  /** Steps written (record: those the store holds; for Redis, those the server acknowledged), read (replay), or both (auto). */
  readonly steps: number;
  /** Steps read: replayed in record phases, or fed to override phases. */
  readonly read: number;
  /** Steps written: those the store holds (for Redis, those the server acknowledged). */
  readonly written: number;
  /** Replay: the last complete step the store held when last looked at (-1: none). */
  readonly lastStep: number | undefined;
  /** Records written or read, by delivery name. */
  readonly records: Readonly<Record<string, number>>;
  /** Record: records in steps committed that the store does not hold (see `unstored`), by delivery name: calls that fired though nothing of them was stored. */
  readonly unstoredRecords: Readonly<Record<string, number>>;
  /** Record: record phases that ended after the store was closed, or whose promises never settled: not written. */
  readonly unwritten: number;
  /** Record: steps committed that the store does not hold (a Redis server that died or stopped before acknowledging them). */
  readonly unstored: number;
  /** What stopped the store, if anything ("CODE: message"). */
  readonly error: string | undefined;
  /** Record: this run marked its rank complete when it closed the store; replay: the rank was complete when opened; undefined before the store opened. */
  readonly complete: boolean | undefined;
}

/** What the manager knows of where it came from, for the runs a record run adds to its store. */
export interface LinkContext {
  /** A hash of the agent's whole config text (the manager's deliveries' hash otherwise). */
  readonly configHash?: string;
  /** Where the config came from: `DISTILL_DELIVERY (file /abs/config.json)`. */
  readonly configSource?: string;
}

/** How a store is closed: `complete` marks a record run's rank complete (the run ended as it should). */
export interface LinkCloseOptions {
  readonly complete?: boolean;
}

/** A manager's store, linked to its deliveries. */
export interface LinkedStore {
  readonly mode: StoreMode;
  /** Opens the store (once): creates it or checks it was recorded with these deliveries. */
  open(): void;
  /** A record phase starts. */
  recordPhase(): StorePhase;
  /** An override phase starts. */
  overridePhase(): void;
  /** Flushes and closes the store (idempotent); returns what went wrong, if anything. */
  close(options?: LinkCloseOptions): unknown;
  summary(): StoreSummary;
}

export type LinkedStoreClass = new (options: NormalizedStore, members: readonly StoredDelivery[], recorders?: readonly StoredRecorder[], context?: LinkContext) => LinkedStore;
