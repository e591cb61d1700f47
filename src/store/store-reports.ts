/**
 * What the store's tools (open-store.ts) report: the objects `distill-delivery store ...
 * --json` prints, documented in docs/store.md. Types only.
 */
import type { RunRecord } from './runs.js';

export interface OpenStoreOptions {
  /** What a relative folder resolves against (default: the working directory). */
  base?: string | URL;
  /** Redis: how long to wait for a reply or a connection, in ms (default 60000). */
  timeout?: number;
}

/** An error as the tools report it. */
export interface ErrorInfo {
  readonly code: string;
  readonly message: string;
}

export interface RankInfo {
  readonly rank: number;
  /** Complete steps (lastStep + 1). */
  readonly steps: number;
  readonly lastStep: number;
  /** What the rank takes in the store: its files' bytes, or Redis's MEMORY USAGE of its stream (null where it does not say). */
  readonly bytes: number | null;
  /** Its last record run ended complete. */
  readonly complete: boolean;
  /** Its record runs, oldest first (several when it was resumed). */
  readonly runs: readonly RunRecord[];
  /** What follows the last complete step, when something does (a run killed mid-step). */
  readonly tail?: string;
  /** What keeps the rank from being read, when something does. */
  readonly error?: ErrorInfo;
}

export interface DeliveryInfo {
  readonly name: string;
  readonly [key: string]: unknown;
}

export interface StoreInfo {
  readonly url: string;
  readonly kind: 'folder' | 'redis';
  /** The deliveries it was recorded with (name, type, target, check). */
  readonly deliveries: DeliveryInfo[];
  /** Its recorders, when it has any. */
  readonly recorders: DeliveryInfo[];
  /** Every rank is complete (and there is one). */
  readonly complete: boolean;
  readonly steps: number;
  readonly bytes: number | null;
  readonly ranks: RankInfo[];
  /** The metadata as stored. */
  readonly metadata: unknown;
}

export interface RankVerdict {
  readonly rank: number;
  readonly intact: boolean;
  /** The last step read whole and found intact (-1: none). */
  readonly lastIntactStep: number;
  /** The last complete step the rank holds, as a replay would see it. */
  readonly lastStep: number;
  /** Bytes of steps read. */
  readonly bytes: number;
  readonly complete: boolean;
  readonly tail?: string;
  /** ERR_DELIVERY_STORE_CORRUPT, or what else stopped the read, when the rank is not intact. */
  readonly error?: ErrorInfo;
}

export interface VerifyReport {
  readonly url: string;
  /** Every rank read whole and intact. */
  readonly intact: boolean;
  readonly complete: boolean;
  readonly ranks: RankVerdict[];
}

/** Where a long operation is: called after each step. */
export interface Progress {
  readonly rank: number;
  readonly step: number;
  /** The rank's last step (-1: none). */
  readonly lastStep: number;
  /** Bytes of steps done so far, all ranks. */
  readonly bytes: number;
}

export interface StepInfo {
  readonly step: number;
  /** Records in the step, and the bytes of their payloads. */
  readonly records: number;
  readonly bytes: number;
  /** Calls per delivery. */
  readonly calls: Record<string, number>;
  /** Its record phase threw (the step holds what its calls recorded before). */
  readonly failed: boolean;
}

export interface CopyReport {
  readonly from: string;
  readonly to: string;
  readonly steps: number;
  readonly bytes: number;
  readonly ranks: { readonly rank: number; readonly steps: number; readonly complete: boolean }[];
}
