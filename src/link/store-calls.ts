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
 * - contents: unless its check is "off", a delivery asks the site for the digest of the
 *   arguments' contents (../values/digest.ts) on every call a store records or replays
 *   (record phases, a generator function's call included, and the override phases of a
 *   student-only replay), whatever its check; the store keeps it in the record's
 *   signature, and a replayed call whose contents differ fails with
 *   ERR_DELIVERY_DIVERGED, naming where. Its own queue keeps what its check compares (a
 *   check of shapes, no digest).
 * - recordOnly deliveries keep nothing for override phases, whose calls (and calls
 *   outside phases) run as usual: their outputs are for the store.
 */
import { debuglog } from 'node:util';
import { OVERRIDE, PASS, RECORD, type Frame, type Part } from '../runtime.js';
import { advanceDraws } from '../values/draws.js';
import { encodeItems, encodeOutput, encodeThrown, payloadDraws, restoreOutput, StoredOutput, ASYNC_ITEMS, ITEMS, RESOLVED, REJECTED, VALUE } from '../values/encode.js';
import { DONE, OPEN, STOPPED, THREW, type ItemLog, type ItemObserver, type ItemsEnd, type ItemsKind } from '../values/generator.js';
import { CHECK_OFF, CHECK_VALUES, differenceOf, hasDigest, renderSignature, withoutDigest, type Difference, type Signature } from '../values/signature.js';
import { NO_DIGESTS_WARNING, storeLinkErrors, warnings } from '../errors.js';
import { DistillDelivery, type DeliveryStep, type StepStore } from '../delivery/distill-delivery.js';
import type { StoreRecord } from '../store/store.js';
import type { Linked } from '../delivery/linked-store.js';

const debug = debuglog('delivery');

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

/** The signature a store keeps of a call: its text with the digest of its contents, or "" for a delivery that does not check. */
function storedSignature(delivery: DistillDelivery, signature: Signature): string {
  return delivery.check === 'off' ? '' : renderSignature(signature);
}

/** What the delivery's own queue keeps of a store's call: what its check compares (a check of shapes keeps no digest). */
function ownSignature(delivery: DistillDelivery, signature: Signature): Signature {
  return delivery.check === 'values' ? signature : withoutDigest(signature);
}

/** The site computes the digest of a store's call (`storeCall`), and `check`'s signature (`own`) of any other. */
function askDigest(delivery: DistillDelivery, own: number, storeCall: boolean): void {
  if (own !== CHECK_OFF) delivery.checkMode = storeCall ? CHECK_VALUES : own;
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
  const own = delivery.checkMode;
  let replaying: ReplayCalls | undefined;
  delivery.part = function (this: DistillDelivery, frame: Frame | undefined): Part {
    const part = proto.part.call(this, frame);
    // A record phase's call that the store replays is admitted as one that runs would be: a full queue stops it.
    if (part === RECORD) proto.admit.call(this);
    if (part !== RECORD) {
      // A student-only replay's override phases replay the store's steps: their calls are compared with it.
      askDigest(this, own, part === OVERRIDE && this.callStep()?.store instanceof FedCalls);
      return link.recordOnly ? PASS : part;
    }
    const calls = this.callStep()?.store;
    if (calls instanceof ReplayCalls) {
      askDigest(this, own, true);
      replaying = calls;
      return OVERRIDE;
    }
    askDigest(this, own, calls instanceof RecordCalls);
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
    if (!link.recordOnly || calls === undefined) proto.store.call(this, output, ownSignature(this, signature), draws);
  };
  delivery.storeItems = function (this: DistillDelivery, kind: ItemsKind, signature: Signature, draws: number): ItemObserver | undefined {
    const calls = this.callStep()?.store;
    const log = !link.recordOnly || calls === undefined ? (proto.storeItems.call(this, kind, ownSignature(this, signature), draws) as ItemLog | undefined) : undefined;
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
  const own = ownSignature(delivery, signature);
  if (kind === ITEMS || kind === ASYNC_ITEMS) proto.storeHeld.call(delivery, new StoredOutput(record.payload, delivery.advances), own, draws);
  else proto.store.call(delivery, output, own, draws);
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
  if (record.signature !== '' && delivery.check !== 'off') {
    const now = renderSignature(signature);
    if (now !== record.signature) {
      const difference = differenceOf(record.signature, now);
      if (difference !== undefined) {
        calls.failed = true;
        if (difference.kind === 'contents') delivery.countDivergence();
        throw differs(calls.subject, calls.step, link.who, call, difference, 'this one');
      }
      if (!hasDigest(record.signature)) noDigests(calls.subject);
    }
  }
  return record;
}

/** The error for a call that differs from the stored one it replays (`call` from 0): other contents are ERR_DELIVERY_DIVERGED. */
function differs(subject: string, step: number, who: string, call: number, difference: Difference, student: string): Error {
  if (difference.kind === 'contents') return storeLinkErrors.diverged(subject, step, who, call, difference.path, difference.shape);
  if (difference.kind === 'version') return storeLinkErrors.digestVersion(subject, step, who, call, difference.version);
  return storeLinkErrors.call(subject, step, who, call, `the recorded call was ${difference.teacher} and ${student} is ${difference.student}`);
}

/** The stores said to hold no digests, each once. */
const undigested = new Set<string>();

/** A store recorded before calls kept a digest of their contents: its replays compare shapes only, and the user hears so once. */
function noDigests(subject: string): void {
  if (undigested.has(subject)) return;
  undigested.add(subject);
  const message = warnings.noDigests(subject);
  debug('%s', message);
  process.emitWarning(message, { type: 'DistillDeliveryWarning', code: NO_DIGESTS_WARNING });
}

/** A step fed from the store to an override phase that has no record phase to replay (a student-only replay). */
export class FedCalls implements StepStore {
  constructor(
    readonly subject: string,
    readonly step: number,
  ) {}

  mismatch(who: string, call: number, difference: Difference): Error {
    return differs(this.subject, this.step, who, call, difference, "the student's");
  }
}

/** The step `step` of a student-only replay, for `delivery`, whose stored calls are `records`. */
export function fedStore(subject: string, step: number, delivery: DistillDelivery, records: readonly StoreRecord[]): StepStore {
  if (delivery.check !== 'off' && records.some((r) => r.signature !== '' && !hasDigest(r.signature))) noDigests(subject);
  return new FedCalls(subject, step);
}

export { type DeliveryStep };
