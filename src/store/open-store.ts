/**
 * A store as a whole, for the tools (`distill-delivery store ...`, src/cli/) and for
 * scripts: what it holds and where it came from (info), every byte checked (verify), its
 * steps (steps), a copy to another url checked as it goes (copyTo), and deleting it.
 * Synchronous, as the rest of the store; a Redis url loads node-redis in the process's
 * worker thread only when it is used.
 */
import { createHash } from 'node:crypto';
import { DeliveryError, storeErrors, storeSubject, storeToolErrors } from '../errors.js';
import { deleteDirectory, directoryMetadata, directoryRanks, inspectDirectoryRank, verifyDirectoryRank, type RankCheck } from './directory-admin.js';
import { deleteRedis, inspectRedis } from './redis-admin.js';
import { isComplete, type RunRecord } from './runs.js';
import { DEFAULT_TIMEOUT, openStoreReader, openStoreWriter } from './store.js';
import type { Opened, StoreReader, StoreRecord } from './types.js';
import { parseStoreUrl, type DirectoryLocation, type RedisLocation, type StoreLocation } from './url.js';
import type { CopyReport, DeliveryInfo, ErrorInfo, OpenStoreOptions, Progress, RankInfo, StepInfo, StoreInfo, VerifyReport } from './store-reports.js';

export type { CopyReport, DeliveryInfo, ErrorInfo, OpenStoreOptions, Progress, RankInfo, RankVerdict, StepInfo, StoreInfo, VerifyReport } from './store-reports.js';

const errorInfo = (error: DeliveryError): ErrorInfo => ({ code: error.code, message: error.message });

/** Opens the store at `url` (a folder or redis://host:port/key) as a whole; nothing is read until asked. */
export function openStore(url: string | URL, options: OpenStoreOptions = {}): Store {
  return new Store(url, options);
}

export class Store {
  /** The url as given (a Redis url without its password). */
  readonly url: string;
  readonly kind: 'folder' | 'redis';
  readonly #given: string | URL;
  readonly #location: StoreLocation;
  readonly #options: OpenStoreOptions;

  constructor(url: string | URL, options: OpenStoreOptions) {
    this.#given = url;
    this.#options = options;
    this.#location = parseStoreUrl(url, options.base);
    this.url = this.#location.display;
    this.kind = this.#location.kind === 'directory' ? 'folder' : 'redis';
    if (options.timeout !== undefined && (!Number.isSafeInteger(options.timeout) || options.timeout <= 0)) throw storeErrors.badOption('timeout', options.timeout, 'a positive whole number of milliseconds');
  }

  /** A rank's place; without a rank, the store as a whole (rank 0's place, named without a rank). */
  #opened(rank?: number): Opened {
    const subject = rank === undefined ? `the store "${this.url}"` : storeSubject(this.url, rank);
    return { location: this.#location, rank: rank ?? 0, timeout: this.#options.timeout ?? DEFAULT_TIMEOUT, subject, snapshot: true };
  }

  #reader(rank: number): StoreReader {
    return openStoreReader(this.#given, { base: this.#options.base, timeout: this.#options.timeout, rank, snapshot: true });
  }

  /** The metadata and what each rank holds now; ERR_DELIVERY_STORE_END when there is no store at the url. */
  #inspect(): { exists: boolean; metadata: unknown; ranks: RankInfo[] } {
    if (this.#location.kind === 'redis') {
      const found = inspectRedis(this.#opened() as Opened<RedisLocation>);
      const ranks = found.ranks.map((r): RankInfo => {
        let runs: RunRecord[] = [];
        let error: ErrorInfo | undefined;
        try {
          runs = r.runs === null ? [] : (JSON.parse(r.runs) as RunRecord[]);
        } catch {
          error = errorInfo(storeErrors.corrupt(storeSubject(this.url, r.rank), 'its runs are not JSON', r.lastStep));
        }
        return { rank: r.rank, steps: r.lastStep + 1, lastStep: r.lastStep, bytes: r.bytes, complete: error === undefined && isComplete(runs), runs, ...(error && { error }) };
      });
      return { exists: found.exists, metadata: found.metadata, ranks };
    }
    const found = directoryMetadata(this.#opened() as Opened<DirectoryLocation>);
    const ranks = directoryRanks(this.#location.path).map((rank): RankInfo => {
      const r = inspectDirectoryRank(this.#opened(rank) as Opened<DirectoryLocation>);
      return { rank, steps: r.lastStep + 1, lastStep: r.lastStep, bytes: r.bytes, complete: r.complete, runs: r.runs, ...(r.tail !== undefined && { tail: r.tail }), ...(r.error && { error: errorInfo(r.error) }) };
    });
    return { ...found, ranks };
  }

  #existing(): { metadata: unknown; ranks: RankInfo[] } {
    const found = this.#inspect();
    if (!found.exists) throw storeToolErrors.missing(this.url, this.kind === 'folder' ? 'no meta.json' : `no key "${(this.#location as RedisLocation).key}:meta"`);
    return found;
  }

  /** Whether a store is at the url. */
  exists(): boolean {
    return this.#inspect().exists;
  }

  /** What the store holds and where it came from. */
  info(): StoreInfo {
    const { metadata, ranks } = this.#existing();
    let bytes: number | null = 0;
    for (const r of ranks) bytes = r.bytes === null || bytes === null ? null : bytes + r.bytes;
    return {
      url: this.url,
      kind: this.kind,
      deliveries: named((metadata as { deliveries?: unknown } | null)?.deliveries),
      recorders: named((metadata as { recorders?: unknown } | null)?.recorders),
      complete: ranks.length > 0 && ranks.every((r) => r.complete),
      steps: ranks.reduce((sum, r) => sum + r.steps, 0),
      bytes,
      ranks,
      metadata,
    };
  }

  /** Reads every byte of every rank (or of `rank`) and checks it. Never throws for damage: the report says it. */
  verify(options: { rank?: number; onProgress?: (progress: Progress) => void } = {}): VerifyReport {
    const { ranks } = this.#existing();
    const chosen = options.rank === undefined ? ranks.map((r) => r.rank) : [this.#rankOf(ranks, options.rank)];
    let done = 0;
    const verdicts = chosen.map((rank) => {
      const before = done;
      const check = this.#verifyRank(rank, (step, lastStep, bytes) => {
        done = before + bytes;
        options.onProgress?.({ rank, step, lastStep, bytes: done });
      });
      done = before + check.bytes;
      const error = check.error ?? shortOfRuns(this.url, rank, check);
      return { rank, intact: error === undefined, lastIntactStep: check.lastIntact, lastStep: check.lastStep, bytes: check.bytes, complete: check.complete, ...(check.tail !== undefined && { tail: check.tail }), ...(error && { error: errorInfo(error) }) };
    });
    return { url: this.url, intact: verdicts.every((v) => v.intact), complete: verdicts.length > 0 && verdicts.every((v) => v.complete), ranks: verdicts };
  }

  #verifyRank(rank: number, onStep: (step: number, lastStep: number, bytes: number) => void): RankCheck {
    if (this.#location.kind === 'directory') return verifyDirectoryRank(this.#opened(rank) as Opened<DirectoryLocation>, onStep);
    // Redis keeps a stream entry's bytes as they were added: what can break is its entries (one deleted, a stray one), which reading every step finds.
    let reader: StoreReader;
    try {
      reader = this.#reader(rank);
    } catch (error) {
      if (error instanceof DeliveryError) return { lastIntact: -1, lastStep: -1, bytes: 0, complete: false, runs: [], tail: undefined, error };
      throw error;
    }
    let lastIntact = -1;
    let bytes = 0;
    try {
      for (let step = 0; ; step++) {
        const records = reader.read(step);
        for (const r of records) bytes += r.payload.byteLength;
        lastIntact = step;
        onStep(step, reader.lastStep, bytes);
      }
    } catch (error) {
      if (!(error instanceof DeliveryError)) throw error;
      const missing = error.code === 'ERR_DELIVERY_STORE_END' && lastIntact < reader.lastStep ? storeErrors.corrupt(reader.subject, `step ${lastIntact + 1} is missing from its stream, which ends at step ${reader.lastStep}`, lastIntact) : undefined;
      return { lastIntact, lastStep: reader.lastStep, bytes, complete: reader.complete, runs: reader.runs, tail: undefined, error: error.code === 'ERR_DELIVERY_STORE_END' ? missing : error };
    } finally {
      reader.close();
    }
  }

  /** The steps of `rank` with their sizes and calls per delivery, read (and checked) one at a time. */
  *steps(rank = 0): Generator<StepInfo, void, undefined> {
    this.#rankOf(this.#existing().ranks, rank);
    const reader = this.#reader(rank);
    try {
      for (let step = 0; step <= reader.lastStep; step++) yield stepInfo(step, reader.read(step));
    } finally {
      reader.close();
    }
  }

  /** `rank`, when the store has it; ERR_DELIVERY_STORE_END otherwise. */
  #rankOf(ranks: readonly RankInfo[], rank: number): number {
    if (!ranks.some((r) => r.rank === rank)) throw storeToolErrors.noRank(this.url, rank, ranks.map((r) => r.rank));
    return rank;
  }

  /** The store's ranks. */
  ranks(): number[] {
    return this.#existing().ranks.map((r) => r.rank);
  }

  /**
   * Copies every rank to `url`, where no store may be (a folder to Redis and back: the
   * layout differs, the steps and runs do not). Each step is checked as it is read, and
   * the copy is read back and compared step by step; a rank is complete in the copy when
   * it is in the store.
   */
  copyTo(url: string | URL, options: OpenStoreOptions & { onProgress?: (progress: Progress) => void } = {}): CopyReport {
    const { metadata, ranks } = this.#existing();
    const target = openStore(url, { timeout: this.#options.timeout, ...options });
    if (target.exists()) throw storeToolErrors.destinationExists(this.url, target.url);
    const report: CopyReport = { from: this.url, to: target.url, steps: 0, bytes: 0, ranks: [] };
    let bytes = 0;
    for (const { rank } of ranks) {
      const source = this.#reader(rank);
      const digests: string[] = [];
      try {
        // A complete rank missing steps its run wrote (a damaged last step) is not copied as complete.
        const short = shortOfRuns(this.url, rank, { lastIntact: source.lastStep, lastStep: source.lastStep, bytes: 0, complete: source.complete, runs: source.runs, tail: undefined, error: undefined });
        if (short !== undefined) throw short;
        const writer = openStoreWriter(url, { metadata, rank, base: options.base, timeout: options.timeout ?? this.#options.timeout, runs: source.runs });
        try {
          for (let step = 0; step <= source.lastStep; step++) {
            const records = source.read(step);
            digests.push(digest(records));
            for (const { delivery, call, signature, payload } of records) {
              writer.append({ delivery, call, signature, payload });
              bytes += payload.byteLength;
            }
            writer.commit();
            options.onProgress?.({ rank, step, lastStep: source.lastStep, bytes });
          }
          writer.close({ complete: true });
        } finally {
          writer.close();
        }
        target.#checkCopy(rank, digests, source.complete);
        report.ranks.push({ rank, steps: digests.length, complete: source.complete });
      } finally {
        source.close();
      }
    }
    return { ...report, steps: totalSteps(report), bytes };
  }

  /** The copy's rank reads back as the digests of the source's steps, and is complete as it was. */
  #checkCopy(rank: number, digests: readonly string[], complete: boolean): void {
    const reader = this.#reader(rank);
    try {
      if (reader.lastStep !== digests.length - 1) throw storeToolErrors.copyDiffers(this.url, rank, `it holds ${reader.lastStep + 1} step(s) where ${digests.length} were written`);
      if (reader.complete !== complete) throw storeToolErrors.copyDiffers(this.url, rank, `it is ${reader.complete ? '' : 'in'}complete where the store copied is ${complete ? '' : 'in'}complete`);
      digests.forEach((expected, step) => {
        if (digest(reader.read(step)) !== expected) throw storeToolErrors.copyDiffers(this.url, rank, `step ${step} differs from the step copied`);
      });
    } finally {
      reader.close();
    }
  }

  /** Deletes the store: its own files or keys (a folder's other files stay). Returns how many it deleted. */
  delete(): { url: string; deleted: number } {
    this.#existing();
    const deleted = this.#location.kind === 'directory' ? deleteDirectory(this.#opened() as Opened<DirectoryLocation>) : deleteRedis(this.#opened() as Opened<RedisLocation>);
    return { url: this.url, deleted };
  }
}

const totalSteps = (report: CopyReport): number => report.ranks.reduce((sum, r) => sum + r.steps, 0);

/** A complete rank holds every step its last run wrote: fewer is damage (a step's index entry or stream entry lost). */
function shortOfRuns(url: string, rank: number, check: RankCheck): DeliveryError | undefined {
  const last = check.runs.at(-1);
  if (!check.complete || last === undefined || typeof last.steps !== 'number') return undefined;
  const written = last.firstStep + last.steps;
  return check.lastIntact + 1 < written ? storeToolErrors.shortOfRuns(storeSubject(url, rank), written, check.lastIntact) : undefined;
}

function named(entries: unknown): DeliveryInfo[] {
  if (entries === null || typeof entries !== 'object') return [];
  return Object.entries(entries as Record<string, unknown>).map(([name, spec]) => ({ name, ...(spec !== null && typeof spec === 'object' ? spec : { value: spec }) }));
}

function stepInfo(step: number, records: readonly StoreRecord[]): StepInfo {
  const calls: Record<string, number> = {};
  let bytes = 0;
  let failed = false;
  for (const r of records) {
    bytes += r.payload.byteLength;
    // A record named "" marks a step whose record phase threw (../link/store-link.ts).
    if (r.delivery === '') failed = true;
    else calls[r.delivery] = (calls[r.delivery] ?? 0) + 1;
  }
  return { step, records: records.length, bytes, calls, failed };
}

/** A step's records, as a hash of everything they hold. */
function digest(records: readonly StoreRecord[]): string {
  const hash = createHash('sha256');
  for (const r of records) {
    hash.update(JSON.stringify([r.delivery, r.call, r.signature, r.payload.byteLength]));
    hash.update(r.payload);
  }
  return hash.digest('hex');
}
