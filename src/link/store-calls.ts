/**
 * What a delivery does per call when its manager has a store. Deliveries without a store
 * never see any of this: a store gives each of its deliveries its own `part`, `take`,
 * `store`, `storeItems` and `threw` (own properties that call the class's methods), so
 * the call path of every other delivery is the class's own, with no check for a store.
 * What a call does depends on what the store gave its record phase's step:
 *
 * - RecordCalls (the store writes the step): each output the phase records is also
 *   encoded (src/values/encode.ts) into the step's writes, at the call, with the
 *   Math.random draws the call made (a value that cannot be stored fails the call); a
 *   promise is encoded when it settles, a generator's items as the teacher pulls them
 *   (sealed when the phase ends), and a call that threw as what it threw.
 * - ReplayCalls (the store holds the step): the call returns the stored output without
 *   running the original (or throws what the recorded call threw), after checking that
 *   it is the call that was recorded, and advances Math.random by the draws the recorded
 *   call made; the output is then kept for the override phase as if the original had
 *   returned it.
 * - recordOnly deliveries keep nothing for override phases, whose calls (and calls
 *   outside phases) run as usual: their outputs are for the store.
 */
import { OVERRIDE, PASS, RECORD, type Frame, type Part } from '../runtime.js';
import { advanceDraws } from '../values/draws.js';
import { encodeItems, encodeOutput, encodeThrown, payloadDraws, restoreOutput, StoredOutput, ASYNC_ITEMS, ITEMS, RESOLVED, REJECTED, VALUE } from '../values/encode.js';
import { DONE, OPEN, STOPPED, THREW, type ItemLog, type ItemObserver, type ItemsEnd, type ItemsKind } from '../values/generator.js';
import { CHECK_OFF, renderSignature, type Signature } from '../values/signature.js';
import { storeLinkErrors } from '../errors.js';
import { DistillDelivery, type DeliveryStep, type StepStore } from '../delivery/distill-delivery.js';
import type { StoreRecord } from '../store/store.js';
import type { Linked } from '../delivery/linked-store.js';

/** One output of a record phase, for the store: its bytes once known. */
export interface Write {
  readonly delivery: string;
  readonly call: number;
  readonly signature: string;
  payload: Uint8Array | undefined;
  /** A promise output: settles once `payload` (or `error`) is set. */
  settled: Promise<void> | undefined;
  error: unknown;
  /** A generator's items: sets `payload` from the items pulled so far, when the phase ends. */
  seal?: () => void;
}

/** A record phase's step of one delivery, in record mode: what it writes. */
export class RecordCalls implements StepStore {
  /** Emptied when the phase ends (the step's slot takes them). */
  readonly writes: Write[] = [];
  mismatch(): undefined {
    return undefined;
  }
}

/** A record phase's step of one delivery, in replay mode: the stored calls it returns, in order. */
export class ReplayCalls implements StepStore {
  next = 0;
  /** A call of this step did not match the recorded one (its error is the phase's). */
  failed = false;
  constructor(
    readonly step: number,
    readonly records: readonly StoreRecord[],
    readonly subject: string,
  ) {}

  mismatch(): undefined {
    return undefined;
  }
}

const proto = DistillDelivery.prototype;

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function';
}

/** The signature a store keeps of a call: its text, or "" for a delivery that does not check. */
function storedSignature(delivery: DistillDelivery, signature: Signature): string {
  return delivery.checkMode === CHECK_OFF ? '' : renderSignature(signature);
}

/** A new write of the step's next call. */
function writeOf(delivery: DistillDelivery, link: Linked, calls: RecordCalls, signature: Signature): Write {
  const write: Write = { delivery: link.name, call: calls.writes.length, signature: storedSignature(delivery, signature), payload: undefined, settled: undefined, error: undefined };
  calls.writes.push(write);
  return write;
}

/** Encodes a recorded output into its step's writes (a promise once it settles); throws where it cannot be stored. */
function capture(delivery: DistillDelivery, link: Linked, calls: RecordCalls, output: unknown, signature: Signature, draws: number): void {
  if (isThenable(output)) {
    const write = writeOf(delivery, link, calls, signature);
    write.settled = Promise.resolve(output)
      .then(
        (value) => void (write.payload = encodeOutput(value, RESOLVED, link.who, draws)),
        (reason: unknown) => void (write.payload = encodeOutput(reason, REJECTED, link.who, draws)),
      )
      .catch((error: unknown) => void (write.error = error));
  } else {
    // Encoded before the write is added: an output that cannot be stored fails the call and takes no call number.
    const payload = encodeOutput(output, VALUE, link.who, draws);
    writeOf(delivery, link, calls, signature).payload = payload;
  }
}

/**
 * A generator's items for the store, each encoded when the teacher pulls it (one that
 * cannot be stored fails that pull), with its step's draws; then how it ended. What the
 * teacher had not pulled when its phase ended is not written: the student then finds the
 * generator open, as without a store.
 */
class ItemsWrite implements ItemObserver {
  readonly advances: boolean;
  private readonly items: Uint8Array[] = [];
  private end: ItemsEnd = OPEN;
  private result: Uint8Array | undefined;

  constructor(
    private readonly write: Write,
    private readonly kind: ItemsKind,
    private readonly draws: number,
    private readonly who: string,
    advances: boolean,
    private readonly log: ItemLog | undefined,
  ) {
    this.advances = advances;
    write.seal = () => this.seal();
  }

  note(method: 'next' | 'throw' | 'return', result: IteratorResult<unknown>, draws: number): void {
    this.log?.note(method, result, draws);
    if (this.write.payload !== undefined) return;
    if (!result.done) {
      this.items.push(encodeOutput(result.value, VALUE, this.who, draws));
      return;
    }
    if (method === 'return') this.end = STOPPED;
    else {
      this.result = encodeOutput(result.value, VALUE, this.who, draws);
      this.end = DONE;
    }
    this.seal();
  }

  threw(error: unknown, draws: number): void {
    this.log?.threw(error, draws);
    if (this.write.payload !== undefined) return;
    this.result = encodeThrown(error, this.who, draws);
    this.end = THREW;
    this.seal();
  }

  private seal(): void {
    this.write.payload ??= encodeItems(this.kind, this.draws, this.items, this.end, this.result);
  }
}

/** The stored calls of a record phase's step are replayed, and written when it records: every delivery of a store gets these. */
export function linkCalls(delivery: DistillDelivery, link: Linked): void {
  let replaying: ReplayCalls | undefined;
  delivery.part = function (this: DistillDelivery, frame: Frame | undefined): Part {
    const part = proto.part.call(this, frame);
    if (part !== RECORD) return link.recordOnly ? PASS : part;
    const calls = this.callStep()?.store;
    if (calls instanceof ReplayCalls) {
      replaying = calls;
      return OVERRIDE;
    }
    return link.recordOnly && !(calls instanceof RecordCalls) ? PASS : RECORD;
  };
  delivery.take = function (this: DistillDelivery, signature: Signature): unknown {
    const calls = replaying;
    if (calls === undefined) return proto.take.call(this, signature);
    replaying = undefined;
    return replayCall(this, link, calls, signature);
  };
  delivery.store = function (this: DistillDelivery, output: unknown, signature: Signature, draws: number): void {
    const calls = this.callStep()?.store;
    if (calls instanceof RecordCalls) capture(this, link, calls, output, signature, draws);
    if (!link.recordOnly || calls === undefined) proto.store.call(this, output, signature, draws);
  };
  delivery.storeItems = function (this: DistillDelivery, kind: ItemsKind, signature: Signature, draws: number): ItemObserver | undefined {
    const calls = this.callStep()?.store;
    const log = !link.recordOnly || calls === undefined ? (proto.storeItems.call(this, kind, signature, draws) as ItemLog | undefined) : undefined;
    if (!(calls instanceof RecordCalls)) return log;
    return new ItemsWrite(writeOf(this, link, calls, signature), kind, draws, link.who, this.advances, log);
  };
  delivery.threw = function (this: DistillDelivery, error: unknown, signature: Signature, draws: number): void {
    const calls = this.callStep()?.store;
    if (calls instanceof RecordCalls) writeOf(this, link, calls, signature).payload = encodeThrown(error, link.who, draws);
  };
}

/**
 * A record phase's call in a replay: the stored output (or the stored error, thrown), with
 * Math.random advanced by the draws the recorded call made; kept for the override phase.
 */
function replayCall(delivery: DistillDelivery, link: Linked, calls: ReplayCalls, signature: Signature): unknown {
  const record = nextRecord(delivery, link, calls, signature);
  const draws = payloadDraws(record.payload);
  if (delivery.advances) advanceDraws(draws);
  const output = restoreOutput(record.payload, link.who, delivery.advances);
  if (link.recordOnly) return output;
  const kind = record.payload[0];
  // A generator's items: the student gets a generator of its own, decoded from the bytes again.
  if (kind === ITEMS || kind === ASYNC_ITEMS) proto.storeHeld.call(delivery, new StoredOutput(record.payload, delivery.advances), signature, draws);
  else proto.store.call(delivery, output, signature, draws);
  return output;
}

/** The record of a record phase's next call, once the call is found to be the one recorded. */
function nextRecord(delivery: DistillDelivery, link: Linked, calls: ReplayCalls, signature: Signature): StoreRecord {
  const call = calls.next++;
  const record = calls.records[call];
  if (record === undefined) {
    calls.failed = true;
    throw storeLinkErrors.call(calls.subject, calls.step, link.who, call, `this run makes a call the record run did not make (it made ${calls.records.length} in that step)`);
  }
  if (record.signature !== '' && delivery.checkMode !== CHECK_OFF) {
    const now = renderSignature(signature);
    if (now !== record.signature) {
      calls.failed = true;
      throw storeLinkErrors.call(calls.subject, calls.step, link.who, call, `the recorded call was ${record.signature} and this one is ${now}`);
    }
  }
  return record;
}

/** A step fed from the store to an override phase that has no record phase to replay (a student-only replay). */
export function fedStore(subject: string, step: number): StepStore {
  return { mismatch: (who, call, stored, replaying) => storeLinkErrors.call(subject, step, who, call, `the recorded call was ${stored} and the student's is ${replaying}`) };
}

export { type DeliveryStep };
