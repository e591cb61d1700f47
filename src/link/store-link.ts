/**
 * A manager's store: record runs write each record phase as one step of the store, replay
 * runs read step n for the n-th record phase (or, in a student-only run, for the n-th
 * override phase that has no record phase to replay), and "auto" runs replay the steps
 * the store holds for their rank, then record what follows into it.
 *
 * Record: a step is committed when its record phase has ended and the promises it
 * recorded have settled, in the order the record phases started. A phase that threw is
 * written too, marked failed, with what its calls recorded before it threw (a call that
 * threw as what it threw), so a replay's phases read the steps in their turn. A step
 * that cannot be written (its I/O, a promise's value that cannot be stored) stops the
 * writing: the error fails the phase that ends then, or the next record phase, and the
 * run's end; the store holds the steps before it.
 * Replay: the store must have been recorded with the same deliveries (names, types,
 * targets, check, random), compared when it is opened, each replayed call must be the one
 * recorded (store-calls.ts), and each phase must end as the recorded one did (returned,
 * or threw).
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import { debuglog } from 'node:util';
import { DeliveryError, errors, INCOMPLETE_STORE_WARNING, storeErrors, storeLinkErrors, storeSubject, warnings } from '../errors.js';
import { openStoreReader, openStoreWriter, type CloseOptions, type StoreReader, type StoreRecord, type StoreWriter } from '../store/store.js';
import { firstDifference, normalize } from '../store/metadata.js';
import { parseStoreUrl } from '../store/url.js';
import { encodeOutput, payloadDraws, StoredOutput, THREW } from '../values/encode.js';
import type { DeliveryStep } from '../delivery/distill-delivery.js';
import type { LinkContext, LinkedStore, StoredDelivery, StorePhase, StoreSummary } from '../delivery/linked-store.js';
import { fedStore, linkCalls, RecordCalls, ReplayCalls, type Write } from './store-calls.js';
import type { IfExists } from '../store/rank.js';
import type { NormalizedStore, StoreMode } from '../store/options.js';
import { closeAtExit } from './store-exit.js';
import type { StoredRecorder } from '../delivery/phase-recorders.js';
import { feedRecorders, recorderMetadata, recorderWrites } from './store-recorders.js';
import { Progress } from './progress.js';

const debug = debuglog('delivery');

/** This package's version, for the runs a record run adds to its store. */
const VERSION = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

/**
 * The record of a step whose record phase threw: its delivery is "", which no delivery
 * can be named. A step without it is one whose phase returned.
 */
const FAILED_PHASE = '';

/** A record phase's place in the order steps are written. */
interface Slot {
  ended: boolean;
  writes: Write[] | undefined;
  waiting: boolean;
}

/** Metadata without its hash. */
function withoutHash(metadata: unknown): unknown {
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) return metadata;
  const { hash: _hash, ...rest } = metadata as Record<string, unknown>;
  return rest;
}

/** A step as read: its records by delivery, and whether its record phase threw. */
interface ReadStep {
  readonly byDelivery: Map<string, StoreRecord[]>;
  readonly failed: boolean;
}

export class StoreLink implements LinkedStore {
  readonly mode: StoreMode;
  readonly metadata: { deliveries: Record<string, { type: string; target: string; check: string; random: string }>; recorders?: Record<string, { type: string; target: string }>; hash: string };
  #subject: string;
  #writer: StoreWriter | undefined;
  #reader: StoreReader | undefined;
  /** Record phases replay from the reader (replay, and auto while the store holds their step). */
  #reading = false;
  /** Auto: the steps the store held for this rank when it was opened. */
  #held = 0;
  #closed = false;
  #failure: unknown;
  readonly #slots: Slot[] = [];
  /** Steps read (replay, auto), and written (record, auto: those the store holds, as far as it knows). */
  #read = 0;
  #written = 0;
  readonly #records: Record<string, number> = {};
  /** Record: steps committed that the store has not yet said it holds (Redis stores them in the background), with their records by delivery. */
  readonly #unstored: { step: number; records: Record<string, number> }[] = [];
  #nextRead = 0;
  #progress: Progress | undefined;
  /** Record (and auto once it records): this run marked its rank complete at close; replay: the rank was complete when opened. */
  #complete: boolean | undefined;

  constructor(
    private readonly options: NormalizedStore,
    private readonly members: readonly StoredDelivery[],
    /** The recorders of record phases, whose records are stored with each step (store-recorders.ts). */
    private readonly recorders: readonly StoredRecorder[] = [],
    /** Where the manager's config came from, for the runs a record run adds (provenance()). */
    private readonly context: LinkContext = {},
  ) {
    this.mode = options.mode;
    const deliveries = Object.fromEntries(members.map((m) => [m.name, { type: m.type, target: m.target, check: m.delivery.check, random: m.delivery.random }]));
    // Without recorders the metadata is what it was before they existed, so older stores still replay.
    const recorded = recorders.length === 0 ? undefined : recorderMetadata(recorders);
    const hashed = recorded === undefined ? deliveries : { deliveries, recorders: recorded };
    this.metadata = { deliveries, ...(recorded && { recorders: recorded }), hash: createHash('sha256').update(JSON.stringify(hashed)).digest('hex') };
    this.#subject = storeSubject(parseStoreUrl(options.url, options.base).display, options.rank);
    for (const r of recorders) this.#records[r.name] = 0;
    for (const m of members) {
      this.#records[m.name] = 0;
      linkCalls(m.delivery, m);
    }
  }

  /** Opens the store (once): creates it or checks it was recorded with these deliveries. */
  open(): void {
    if (this.#writer !== undefined || this.#reader !== undefined || this.#failure !== undefined) return;
    if (this.#closed) throw errors.config(this.#subject, 'was closed; a manager opens its store once.');
    if (this.mode === 'record') this.openWriter(this.options.ifExists);
    else if (this.mode === 'replay') this.openReader(false);
    else this.openAuto();
    closeAtExit(this);
    this.#progress = Progress.start(this.#subject, this.options.progress, this.options.rank);
    debug('store %s: opened to %s%s', this.#subject, this.mode, this.mode === 'auto' ? ` (${this.#held} step(s) to replay)` : '');
  }

  private openWriter(ifExists: IfExists | undefined): void {
    const { url, base, rank, timeout } = this.options;
    this.#writer = openStoreWriter(url, { metadata: this.metadata, ifExists, rank, base, timeout, provenance: this.provenance() });
    this.#subject = this.#writer.subject;
    this.#complete = false;
  }

  /** Where this record run came from, kept with its run of the store (store info shows it). */
  private provenance(): Record<string, unknown> {
    return {
      node: process.versions.node,
      package: VERSION,
      script: process.argv[1] ?? null,
      host: hostname(),
      pid: process.pid,
      // The agent's whole config text, else (a manager built in code) the deliveries' hash.
      configHash: this.context.configHash ?? this.metadata.hash,
      config: this.context.configSource ?? 'DistillDeliveryManager',
    };
  }

  private openReader(existing: boolean): void {
    const { url, base, rank, timeout } = this.options;
    const reader = openStoreReader(url, { rank, base, timeout, existing });
    this.#subject = reader.subject;
    // The hash is derived from the rest: a difference there is named where it is.
    const found = firstDifference(withoutHash(reader.metadata), withoutHash(normalize(this.metadata))) ?? firstDifference(reader.metadata, normalize(this.metadata));
    if (found !== undefined) {
      reader.close();
      throw storeLinkErrors.otherDeliveries(this.#subject, found.path, found.stored, found.given);
    }
    this.#reader = reader;
    this.#reading = true;
    // A replay of an incomplete rank still replays: its record run may have been killed, or may still be writing (Redis).
    // (Auto finishes such a rank: replaying it is its purpose.)
    if (this.mode !== 'replay') return;
    this.#complete = reader.complete;
    if (!reader.complete) process.emitWarning(warnings.incompleteStore(this.#subject, reader.lastStep + 1), { type: 'DistillDeliveryWarning', code: INCOMPLETE_STORE_WARNING });
  }

  /** Auto: a store that does not exist is recorded; one that does is replayed up to the steps it holds now. */
  private openAuto(): void {
    try {
      this.openReader(true);
    } catch (error) {
      // Before a step is read, the only ERR_DELIVERY_STORE_END is a store that does not exist.
      if ((error as { code?: unknown }).code !== 'ERR_DELIVERY_STORE_END') throw error;
      this.openWriter(undefined);
      return;
    }
    this.#held = this.#reader!.lastStep + 1;
    if (this.#held === 0) this.recordFromHere();
  }

  /** Auto: the store holds no more steps; record the rest, appending after them. What fails here stops the store for good. */
  private recordFromHere(): void {
    this.#reader!.close();
    this.#reader = undefined;
    this.#reading = false;
    try {
      this.openWriter('resume');
      const next = this.#writer!.nextStep;
      debug('store %s: replayed %d step(s), recording from step %d', this.#subject, this.#held, next);
      if (next !== this.#held) throw storeErrors.otherWriter(this.#subject, `it held ${this.#held} step(s) when this run opened it and ${next} when this run began to record`);
    } catch (error) {
      this.#failure = error;
      throw error;
    }
  }

  /** A record phase starts (before its steps open, so a step the store cannot give fails the phase before anything runs). */
  recordPhase(): StorePhase {
    this.open();
    if (this.#reading && this.mode === 'auto' && this.#nextRead >= this.#held) this.recordFromHere();
    if (this.#reading) return this.replayPhase();
    if (this.#failure !== undefined) throw this.#failure;
    const slot: Slot = { ended: false, writes: undefined, waiting: false };
    this.#slots.push(slot);
    let calls: RecordCalls[] = [];
    return {
      opened: (steps) => {
        calls = steps.map((s) => (s.store = new RecordCalls()));
        this.releaseRecordOnly(steps);
      },
      closed: (_steps, failed) => {
        slot.ended = true;
        // The step keeps its RecordCalls until an override phase drops it: the bytes go with the slot.
        const writes = [...calls.flatMap((c) => c.writes.splice(0)), ...recorderWrites(this.recorders)];
        for (const w of writes) w.seal?.();
        if (failed) writes.push(failedPhase());
        slot.writes = writes;
        // A phase that threw keeps its own error; a step that cannot be written is kept in #failure.
        if (failed) this.drainLater();
        else this.drain();
      },
    };
  }

  private replayPhase(): StorePhase {
    const step = this.#nextRead;
    const { byDelivery, failed: recordedFailed } = this.read(step);
    return {
      opened: (steps) => {
        steps.forEach((s, i) => (s.store = new ReplayCalls(step, byDelivery.get(this.members[i]!.name) ?? [], this.#subject)));
        this.releaseRecordOnly(steps);
        feedRecorders(this.recorders, byDelivery);
      },
      closed: (steps, failed, error) => {
        if (failed !== recordedFailed) {
          // A call that did not match the recorded one, or another error of the replay itself, already says why the phase threw.
          if (failed && (error instanceof DeliveryError || steps.some((s) => (s.store as ReplayCalls).failed))) return;
          const ended = (threw: boolean): 'threw' | 'returned' => (threw ? 'threw' : 'returned');
          throw storeLinkErrors.phaseEnded(this.#subject, step, ended(recordedFailed), ended(failed), failed ? { cause: error } : undefined);
        }
        if (failed) return;
        steps.forEach((s, i) => {
          const calls = s.store as ReplayCalls;
          if (calls.next < calls.records.length) {
            throw storeLinkErrors.call(this.#subject, step, this.members[i]!.who, calls.next, `this run made ${calls.next} call(s) in that step and the record run made ${calls.records.length}`);
          }
        });
      },
    };
  }

  /** A recordOnly delivery's step is for the store only: no override phase claims it, nor any step in its place. */
  private releaseRecordOnly(steps: readonly DeliveryStep[]): void {
    this.members.forEach((m, i) => m.recordOnly && m.delivery.releaseStep(steps[i]!));
  }

  /**
   * Replay: an override phase starts; with no record phase waiting to be replayed, it
   * replays the store's next step whose record phase returned (a student-only run: the
   * record run's override phases never replayed a failed one). Only deliveries that
   * override phases replay count: with recordOnly ones alone, override phases read nothing.
   */
  overridePhase(): void {
    if (this.mode === 'record') return;
    const replayed = this.members.filter((m) => !m.recordOnly);
    if (replayed.length === 0 || replayed.some((m) => m.delivery.hasWaitingStep())) return;
    this.open();
    if (!this.#reading) return;
    let step: number;
    let read: ReadStep;
    do {
      step = this.#nextRead;
      // Auto reads only the steps the store held (a Redis reader would wait for more).
      if (this.mode === 'auto' && step >= this.#held) throw storeErrors.end(this.#subject, step, this.#held - 1, 'a student-only run in mode "auto" has no record phase to record the rest');
      read = this.read(step);
    } while (read.failed);
    for (const m of replayed) {
      const records = read.byDelivery.get(m.name) ?? [];
      const outputs = records.map((r) => new StoredOutput(r.payload, m.delivery.advances));
      const draws = records.map((r) => payloadDraws(r.payload));
      m.delivery.feedStep(step + 1, `step ${step} of ${this.#subject}`, outputs, records.map((r) => r.signature), draws, fedStore(this.#subject, step, m.delivery, records));
    }
  }

  /** Reads `step`, grouped by delivery; a record of a delivery this run does not have is a mismatch. */
  private read(step: number): ReadStep {
    const records = this.#reader!.read(step);
    this.#nextRead = step + 1;
    this.#read++;
    this.#progress?.read(records, this.#reader!.lastStep);
    const byDelivery = new Map<string, StoreRecord[]>();
    let failed = false;
    for (const record of records) {
      if (record.delivery === FAILED_PHASE) {
        failed = true;
        continue;
      }
      if (!Object.hasOwn(this.#records, record.delivery)) {
        throw storeLinkErrors.otherDeliveries(this.#subject, `step ${step}`, record.delivery, Object.keys(this.#records).join(', '));
      }
      this.#records[record.delivery]!++;
      let list = byDelivery.get(record.delivery);
      if (list === undefined) byDelivery.set(record.delivery, (list = []));
      list.push(record);
    }
    return { byDelivery, failed };
  }

  /** Writes every step whose record phase has ended, in the order the phases started. */
  private drain(): void {
    while (this.#slots.length > 0) {
      const slot = this.#slots[0]!;
      if (!slot.ended) return;
      const writes = slot.writes;
      if (writes !== undefined && writes.some((w) => w.payload === undefined && w.error === undefined)) {
        if (!slot.waiting) {
          slot.waiting = true;
          void Promise.allSettled(writes.map((w) => w.settled)).then(() => this.drainLater());
        }
        return;
      }
      this.#slots.shift();
      if (writes !== undefined && this.#failure === undefined && !this.#closed) this.write(writes);
    }
  }

  /** A drain once promises settled: a failure then waits for the next record phase, or the end. */
  private drainLater(): void {
    try {
      this.drain();
    } catch {
      // kept in #failure
    }
  }

  private write(writes: readonly Write[]): void {
    const writer = this.#writer!;
    const step = writer.nextStep;
    try {
      for (const w of writes) {
        if (w.error !== undefined) throw w.error;
        writer.append({ delivery: w.delivery, call: w.call, signature: w.signature, payload: w.payload! });
      }
      writer.commit();
    } catch (error) {
      writer.discard();
      this.#failure = storeLinkErrors.failed(this.#subject, step, error);
      throw this.#failure;
    }
    this.#progress?.wrote(writes);
    const records: Record<string, number> = {};
    for (const w of writes) if (w.delivery !== FAILED_PHASE) records[w.delivery] = (records[w.delivery] ?? 0) + 1;
    this.#unstored.push({ step, records });
    this.countStored();
  }

  /** The records of steps committed and not (yet) stored, by delivery. */
  private unstoredRecords(): Record<string, number> {
    const sum: Record<string, number> = {};
    for (const { records } of this.#unstored) for (const [name, n] of Object.entries(records)) sum[name] = (sum[name] ?? 0) + n;
    return sum;
  }

  /** Counts the committed steps the store now holds: a step counts once stored, so a server that died leaves the count at what it holds. */
  private countStored(): void {
    const stored = this.#writer?.lastStored ?? -1;
    while (this.#unstored.length > 0 && this.#unstored[0]!.step <= stored) {
      const { records } = this.#unstored.shift()!;
      this.#written++;
      for (const [name, n] of Object.entries(records)) this.#records[name]! += n;
    }
  }

  /**
   * Flushes and closes the store (idempotent); returns what went wrong, if anything. A
   * record run's rank is marked complete with `complete: true`, unless a step could not be
   * written or a record phase had not been written yet.
   */
  close(options: CloseOptions = {}): unknown {
    if (this.#closed) return this.#failure;
    this.#closed = true;
    this.#progress?.end();
    const complete = options.complete === true && this.#failure === undefined && this.#slots.length === 0;
    try {
      this.#writer?.close({ complete });
      if (this.#writer !== undefined) this.#complete = complete;
      this.#reader?.close();
    } catch (error) {
      this.#failure ??= error;
    }
    this.countStored();
    debug('store %s: closed after %d step(s) read and %d written%s', this.#subject, this.#read, this.#written, this.#writer !== undefined && complete ? ', complete' : '');
    return this.#failure;
  }

  summary(): StoreSummary {
    this.countStored();
    const failure = this.#failure as { code?: string; message?: string } | undefined;
    return {
      url: parseStoreUrl(this.options.url, this.options.base).display,
      rank: this.options.rank,
      mode: this.mode,
      steps: this.#read + this.#written,
      read: this.#read,
      written: this.#written,
      lastStep: this.mode === 'auto' ? this.#held - 1 : this.#reader?.lastStep,
      records: { ...this.#records },
      unstoredRecords: this.unstoredRecords(),
      unwritten: this.#slots.length,
      complete: this.#complete,
      unstored: this.#unstored.length,
      error: failure === undefined ? undefined : `${failure.code ?? 'Error'}: ${failure.message ?? String(failure)}`,
    };
  }
}

/** The record that marks a step whose record phase threw. */
function failedPhase(): Write {
  return { delivery: FAILED_PHASE, call: 0, signature: '', payload: encodeOutput(null, THREW, 'a record phase'), settled: undefined, error: undefined };
}
