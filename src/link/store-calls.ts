/**
 * What a delivery does per call when its manager has a store. Deliveries without a store
 * never see any of this: a store gives each of its deliveries its own `part`, `take`,
 * `store` and `storeItems` (own properties that call the class's methods), so the call
 * path of every other delivery is the class's own, with no check for a store.
 *
 * - record: each output a record phase records is also encoded (src/values/encode.ts)
 *   into its step's writes, at the call (a value that cannot be stored fails the call);
 *   a promise is encoded when it settles. A generator function is refused.
 * - replay: a record phase's call returns the stored output without running the
 *   original, after checking that it is the call that was recorded; the output is then
 *   kept for the override phase as if the original had returned it.
 * - contents: unless its check is "off", a delivery asks the site for the digest of the
 *   arguments' contents (../values/digest.ts) on every call a store records or replays
 *   (record phases, and the override phases of a student-only replay), whatever its
 *   check; the store keeps it in the record's signature, and a replayed call whose
 *   contents differ fails with ERR_DELIVERY_DIVERGED, naming where. Its own queue keeps
 *   what its check compares (a check of shapes, no digest).
 * - recordOnly deliveries keep nothing for override phases, whose calls (and calls
 *   outside phases) run as usual: their outputs are for the store.
 */
import { debuglog } from 'node:util';
import { OVERRIDE, PASS, RECORD, type Frame, type Part } from '../runtime.js';
import { encodeOutput, restoreOutput, RESOLVED, REJECTED, VALUE } from '../values/encode.js';
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

/** Encodes a recorded output into its step's writes (a promise once it settles); throws where it cannot be stored. */
function capture(delivery: DistillDelivery, link: Linked, calls: RecordCalls, output: unknown, signature: Signature): void {
  const write: Write = { delivery: link.name, call: calls.writes.length, signature: storedSignature(delivery, signature), payload: undefined, settled: undefined, error: undefined };
  if (isThenable(output)) {
    write.settled = Promise.resolve(output)
      .then(
        (value) => void (write.payload = encodeOutput(value, RESOLVED, link.who)),
        (reason: unknown) => void (write.payload = encodeOutput(reason, REJECTED, link.who)),
      )
      .catch((error: unknown) => void (write.error = error));
  } else {
    write.payload = encodeOutput(output, VALUE, link.who);
  }
  calls.writes.push(write);
}

/** Record mode: outputs of record phases are written too, with the digest of their calls; recordOnly ones only written. */
export function recordInto(delivery: DistillDelivery, link: Linked): void {
  const own = delivery.checkMode;
  delivery.part = function (this: DistillDelivery, frame: Frame | undefined): Part {
    const part = proto.part.call(this, frame);
    const storing = part === RECORD && this.callStep()?.store instanceof RecordCalls;
    askDigest(this, own, storing);
    if (link.recordOnly) return storing ? RECORD : PASS;
    return part;
  };
  delivery.store = function (this: DistillDelivery, output: unknown, signature: Signature): void {
    const calls = this.callStep()?.store;
    if (calls instanceof RecordCalls) capture(this, link, calls, output, signature);
    if (!link.recordOnly || calls === undefined) proto.store.call(this, output, ownSignature(this, signature));
  };
  delivery.storeItems = function (this: DistillDelivery, kind, signature) {
    if (this.callStep()?.store instanceof RecordCalls) throw storeLinkErrors.generator(link.who);
    return proto.storeItems.call(this, kind, signature);
  };
}

/** Replay mode: a record phase's calls return what the store holds for them, without running, once found to be the calls recorded. */
export function replayFrom(delivery: DistillDelivery, link: Linked): void {
  const own = delivery.checkMode;
  let replaying: ReplayCalls | undefined;
  delivery.part = function (this: DistillDelivery, frame: Frame | undefined): Part {
    const part = proto.part.call(this, frame);
    const calls = part === RECORD ? this.callStep()?.store : undefined;
    if (calls instanceof ReplayCalls) {
      askDigest(this, own, true);
      replaying = calls;
      return OVERRIDE;
    }
    // A student-only replay's override phases replay the store's steps: their calls are compared with it.
    askDigest(this, own, part === OVERRIDE && this.callStep()?.store instanceof FedCalls);
    return link.recordOnly ? PASS : part;
  };
  delivery.take = function (this: DistillDelivery, signature: Signature): unknown {
    const calls = replaying;
    if (calls === undefined) return proto.take.call(this, signature);
    replaying = undefined;
    const output = nextStored(this, link, calls, signature);
    if (!link.recordOnly) proto.store.call(this, output, ownSignature(this, signature));
    return output;
  };
}

/** The stored output of a record phase's next call, once the call is found to be the one recorded. */
function nextStored(delivery: DistillDelivery, link: Linked, calls: ReplayCalls, signature: Signature): unknown {
  const call = calls.next++;
  const record = calls.records[call];
  if (record === undefined) {
    throw storeLinkErrors.call(calls.subject, calls.step, link.who, call, `this run makes a call the record run did not make (it made ${calls.records.length} in that step)`);
  }
  if (record.signature !== '' && delivery.check !== 'off') {
    const now = renderSignature(signature);
    if (now !== record.signature) {
      const difference = differenceOf(record.signature, now);
      if (difference !== undefined) {
        if (difference.kind === 'contents') delivery.countDivergence();
        throw differs(calls.subject, calls.step, link.who, call, difference, 'this one');
      }
      if (!hasDigest(record.signature)) noDigests(calls.subject);
    }
  }
  return restoreOutput(record.payload, link.who);
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
