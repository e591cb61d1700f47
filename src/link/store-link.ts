/**
 * A manager's store: record runs write each record phase as one step of the store, replay
 * runs read step n for the n-th record phase (or, in a student-only run, for the n-th
 * override phase that has no record phase to replay).
 *
 * Record: a step is committed when its record phase has ended without throwing and the
 * promises it recorded have settled, in the order the record phases started; one that
 * threw is not written. A step that cannot be written (its I/O, a promise's value that
 * cannot be stored) stops the writing: the error fails the phase that ends then, or the
 * next record phase, and the run's end; the store holds the steps before it.
 * Replay: the store must have been recorded with the same deliveries (names, types,
 * targets, check), compared when it is opened, and each replayed call must be the one
 * recorded (store-calls.ts).
 */
import { createHash } from 'node:crypto';
import { debuglog } from 'node:util';
import { errors, storeLinkErrors, storeSubject } from '../errors.js';
import { openStoreReader, openStoreWriter, type StoreReader, type StoreRecord, type StoreWriter } from '../store/store.js';
import { firstDifference, normalize } from '../store/metadata.js';
import { parseStoreUrl } from '../store/url.js';
import { StoredOutput } from '../values/encode.js';
import type { DeliveryStep } from '../delivery/distill-delivery.js';
import type { LinkedStore, StoredDelivery, StorePhase, StoreSummary } from '../delivery/linked-store.js';
import { fedStore, recordInto, RecordCalls, replayFrom, ReplayCalls, type Write } from './store-calls.js';
import type { NormalizedStore, StoreMode } from '../store/options.js';
import { closeAtExit } from './store-exit.js';
import { Progress } from './progress.js';

const debug = debuglog('delivery');

/** A record phase's place in the order steps are written. */
interface Slot {
  ended: boolean;
  writes: Write[] | undefined;
  waiting: boolean;
}

export class StoreLink implements LinkedStore {
  readonly mode: StoreMode;
  readonly metadata: { deliveries: Record<string, { type: string; target: string; check: string }>; hash: string };
  #subject: string;
  #writer: StoreWriter | undefined;
  #reader: StoreReader | undefined;
  #closed = false;
  #failure: unknown;
  readonly #slots: Slot[] = [];
  #steps = 0;
  readonly #records: Record<string, number> = {};
  #nextRead = 0;
  #progress: Progress | undefined;

  constructor(
    private readonly options: NormalizedStore,
    private readonly members: readonly StoredDelivery[],
  ) {
    this.mode = options.mode;
    const deliveries = Object.fromEntries(members.map((m) => [m.name, { type: m.type, target: m.target, check: m.delivery.check }]));
    this.metadata = { deliveries, hash: createHash('sha256').update(JSON.stringify(deliveries)).digest('hex') };
    this.#subject = storeSubject(parseStoreUrl(options.url, options.base).display, options.rank);
    for (const m of members) {
      this.#records[m.name] = 0;
      if (this.mode === 'record') recordInto(m.delivery, m);
      else replayFrom(m.delivery, m);
    }
  }

  /** Opens the store (once): creates it or checks it was recorded with these deliveries. */
  open(): void {
    if (this.#writer !== undefined || this.#reader !== undefined) return;
    if (this.#closed) throw errors.config(this.#subject, 'was closed; a manager opens its store once.');
    const { url, base, rank, timeout, ifExists } = this.options;
    if (this.mode === 'record') {
      this.#writer = openStoreWriter(url, { metadata: this.metadata, ifExists, rank, base, timeout });
      this.#subject = this.#writer.subject;
    } else {
      const reader = openStoreReader(url, { rank, base, timeout });
      this.#subject = reader.subject;
      const found = firstDifference(reader.metadata, normalize(this.metadata));
      if (found !== undefined) {
        reader.close();
        throw storeLinkErrors.otherDeliveries(this.#subject, found.path, found.stored, found.given);
      }
      this.#reader = reader;
    }
    closeAtExit(this);
    this.#progress = Progress.start(this.mode, this.#subject, this.options.progress, this.options.rank);
    debug('store %s: opened to %s', this.#subject, this.mode);
  }

  /** A record phase starts (before its steps open, so a step the store cannot give fails the phase before anything runs). */
  recordPhase(): StorePhase {
    this.open();
    if (this.mode === 'replay') return this.replayPhase();
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
        slot.writes = failed ? undefined : calls.flatMap((c) => c.writes.splice(0));
        // A phase that threw keeps its own error; a step that cannot be written is kept in #failure.
        if (failed) this.drainLater();
        else this.drain();
      },
    };
  }

  private replayPhase(): StorePhase {
    const step = this.#nextRead;
    const byDelivery = this.read(step);
    return {
      opened: (steps) => {
        steps.forEach((s, i) => (s.store = new ReplayCalls(step, byDelivery.get(this.members[i]!.name) ?? [], this.#subject)));
        this.releaseRecordOnly(steps);
      },
      closed: (steps, failed) => {
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
   * replays the store's next step (a student-only run). Only deliveries that override
   * phases replay count: with recordOnly ones alone, override phases read nothing.
   */
  overridePhase(): void {
    const replayed = this.members.filter((m) => !m.recordOnly);
    if (this.mode !== 'replay' || replayed.length === 0 || replayed.some((m) => m.delivery.hasWaitingStep())) return;
    this.open();
    const step = this.#nextRead;
    const byDelivery = this.read(step);
    for (const m of replayed) {
      const records = byDelivery.get(m.name) ?? [];
      const outputs = records.map((r) => new StoredOutput(r.payload));
      m.delivery.feedStep(step + 1, `step ${step} of ${this.#subject}`, outputs, records.map((r) => r.signature), fedStore(this.#subject, step));
    }
  }

  /** Reads `step`, grouped by delivery; a record of a delivery this run does not have is a mismatch. */
  private read(step: number): Map<string, StoreRecord[]> {
    const records = this.#reader!.read(step);
    this.#nextRead = step + 1;
    this.#steps++;
    this.#progress?.step(records, this.#reader!.lastStep);
    const byDelivery = new Map<string, StoreRecord[]>();
    for (const record of records) {
      if (!Object.hasOwn(this.#records, record.delivery)) {
        throw storeLinkErrors.otherDeliveries(this.#subject, `step ${step}`, record.delivery, Object.keys(this.#records).join(', '));
      }
      this.#records[record.delivery]!++;
      let list = byDelivery.get(record.delivery);
      if (list === undefined) byDelivery.set(record.delivery, (list = []));
      list.push(record);
    }
    return byDelivery;
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
    this.#steps++;
    for (const w of writes) this.#records[w.delivery]!++;
    this.#progress?.step(writes);
  }

  /** Flushes and closes the store (idempotent); returns what went wrong, if anything. */
  close(): unknown {
    if (this.#closed) return this.#failure;
    this.#closed = true;
    this.#progress?.end();
    try {
      this.#writer?.close();
      this.#reader?.close();
    } catch (error) {
      this.#failure ??= error;
    }
    debug('store %s: closed after %d step(s)', this.#subject, this.#steps);
    return this.#failure;
  }

  summary(): StoreSummary {
    const failure = this.#failure as { code?: string; message?: string } | undefined;
    return {
      url: parseStoreUrl(this.options.url, this.options.base).display,
      rank: this.options.rank,
      mode: this.mode,
      steps: this.#steps,
      lastStep: this.#reader?.lastStep,
      records: { ...this.#records },
      unwritten: this.#slots.length,
      error: failure === undefined ? undefined : `${failure.code ?? 'Error'}: ${failure.message ?? String(failure)}`,
    };
  }
}
