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
 * - recordOnly deliveries keep nothing for override phases, whose calls (and calls
 *   outside phases) run as usual: their outputs are for the store.
 */
import { OVERRIDE, PASS, RECORD, type Frame, type Part } from '../runtime.js';
import { encodeOutput, restoreOutput, RESOLVED, REJECTED, VALUE } from '../values/encode.js';
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

/** The signature a store keeps of a call: its text, or "" for a delivery that does not check. */
function storedSignature(delivery: DistillDelivery, signature: Signature): string {
  return delivery.checkMode === CHECK_OFF ? '' : renderSignature(signature);
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

/** Record mode: outputs of record phases are written too; recordOnly ones only written. */
export function recordInto(delivery: DistillDelivery, link: Linked): void {
  delivery.store = function (this: DistillDelivery, output: unknown, signature: Signature): void {
    const calls = this.callStep()?.store;
    if (calls instanceof RecordCalls) capture(this, link, calls, output, signature);
    if (!link.recordOnly || calls === undefined) proto.store.call(this, output, signature);
  };
  delivery.storeItems = function (this: DistillDelivery, kind, signature) {
    if (this.callStep()?.store instanceof RecordCalls) throw storeLinkErrors.generator(link.who);
    return proto.storeItems.call(this, kind, signature);
  };
  if (link.recordOnly) {
    delivery.part = function (this: DistillDelivery, frame: Frame | undefined): Part {
      const part = proto.part.call(this, frame);
      return part === RECORD && this.callStep()?.store instanceof RecordCalls ? RECORD : PASS;
    };
  }
}

/** Replay mode: a record phase's calls return what the store holds for them, without running. */
export function replayFrom(delivery: DistillDelivery, link: Linked): void {
  let replaying: ReplayCalls | undefined;
  delivery.part = function (this: DistillDelivery, frame: Frame | undefined): Part {
    const part = proto.part.call(this, frame);
    const calls = part === RECORD ? this.callStep()?.store : undefined;
    if (calls instanceof ReplayCalls) {
      replaying = calls;
      return OVERRIDE;
    }
    return link.recordOnly ? PASS : part;
  };
  delivery.take = function (this: DistillDelivery, signature: Signature): unknown {
    const calls = replaying;
    if (calls === undefined) return proto.take.call(this, signature);
    replaying = undefined;
    const output = nextStored(this, link, calls, signature);
    if (!link.recordOnly) proto.store.call(this, output, signature);
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
  if (record.signature !== '' && delivery.checkMode !== CHECK_OFF) {
    const now = renderSignature(signature);
    if (now !== record.signature) throw storeLinkErrors.call(calls.subject, calls.step, link.who, call, `the recorded call was ${record.signature} and this one is ${now}`);
  }
  return restoreOutput(record.payload, link.who);
}

/** A step fed from the store to an override phase that has no record phase to replay (a student-only replay). */
export function fedStore(subject: string, step: number): StepStore {
  return { mismatch: (who, call, stored, replaying) => storeLinkErrors.call(subject, step, who, call, `the recorded call was ${stored} and the student's is ${replaying}`) };
}

export { type DeliveryStep };
