/**
 * What the queue keeps for a recorded output, and what the student is handed.
 *
 * - `copy: false` (by reference, as MMRazor): the output itself; except that tensors,
 *   alone or in arrays, plain objects, Maps and Sets, are kept as kept clones (see
 *   tensor.ts) in a rebuilt container, since the teacher's scope frees the originals.
 * - `copy: true`: a deep copy taken when the teacher's call returns (walk.ts); a promise
 *   is copied when it settles. The student gets that copy: no one else holds it.
 *
 * Whatever holds kept tensors is a `Held`: handing it out gives the student fresh tensors
 * in the student's scope; releasing it (an output never replayed) disposes them.
 */
import { errors } from '../errors.js';
import { adoptTensor, handOutTensor, isTensor, keepTensor, releaseTensor, type TensorLike } from './tensor.js';
import { holdsTensor, walkValue, type Slots } from './walk.js';

/** A recorded output that is not handed out as it is. */
export abstract class Held {
  /** The student's value; called once, when it is replayed. */
  abstract handOut(who: string): unknown;
  /** Frees what it keeps: the output will never be replayed. */
  abstract release(): void;
}

const ROOT: Slots = [undefined, undefined];

function read(container: unknown, key: unknown, root: unknown): unknown {
  if (container === undefined) return root;
  if (container instanceof Map) return container.get(key);
  if (container instanceof Set) return key;
  return (container as Record<PropertyKey, unknown>)[key as PropertyKey];
}

function write(container: unknown, key: unknown, value: unknown): void {
  if (container instanceof Map) container.set(key, value);
  else if (container instanceof Set) {
    container.delete(key);
    container.add(value);
  } else Object.defineProperty(container, key as PropertyKey, { value });
}

/** A value whose tensors are kept clones, at `slots`. */
class Kept extends Held {
  constructor(
    private readonly value: unknown,
    private readonly slots: Slots,
  ) {
    super();
  }

  handOut(who: string): unknown {
    const { slots, value } = this;
    for (let i = 0; i < slots.length; i += 2) {
      if ((read(slots[i], slots[i + 1], value) as TensorLike).isDisposed) {
        this.release();
        throw errors.outputDisposed(who);
      }
    }
    let root = value;
    // A tensor found twice in the output is one kept clone: hand it out once.
    const given = new Map<TensorLike, TensorLike>();
    for (let i = 0; i < slots.length; i += 2) {
      const kept = read(slots[i], slots[i + 1], value) as TensorLike;
      let out = given.get(kept);
      if (out === undefined) given.set(kept, (out = handOutTensor(kept)!));
      if (slots[i] === undefined) root = out;
      else write(slots[i], slots[i + 1], out);
    }
    return root;
  }

  release(): void {
    for (let i = 0; i < this.slots.length; i += 2) releaseTensor(read(this.slots[i], this.slots[i + 1], this.value) as TensorLike);
  }
}

/** `copy: true` of a promise: the copy of its value, taken when it settles. */
class KeptPromise extends Held {
  constructor(private readonly promise: Promise<unknown>) {
    super();
    // Never replayed and rejected is not an unhandled rejection of ours: the student's own chain reports it.
    promise.catch(() => {});
  }

  handOut(who: string): unknown {
    return this.promise.then((value) => handOut(value, who));
  }

  release(): void {
    this.promise.then(release, () => {});
  }
}

function isThenable(value: object): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown }).then === 'function';
}

/** A deep copy of `output`, kept; fails with ERR_DELIVERY_NOT_SERIALIZABLE where it cannot be copied. */
function keepCopy(output: unknown, who: string): unknown {
  if (typeof output === 'object' && output !== null && isThenable(output)) {
    return new KeptPromise(Promise.resolve(output).then((value) => keepCopy(value, who)));
  }
  const slots: Slots = [];
  const value = walkValue(output, { deep: true, onTensor: keepTensor, who, purpose: 'copy' }, slots);
  return slots.length === 0 ? value : new Kept(value, slots);
}

/** What the queue keeps for `output` (the output itself, or a Held). */
export function keepOutput(output: unknown, copy: boolean, who: string): unknown {
  if (copy) {
    const type = typeof output;
    if (type !== 'object' && type !== 'function' && type !== 'symbol') return output;
    return keepCopy(output, who);
  }
  if (typeof output !== 'object' || output === null) return output;
  if (isTensor(output)) return new Kept(keepTensor(output), ROOT);
  if (!holdsTensor(output)) return output;
  const slots: Slots = [];
  const value = walkValue(output, { deep: false, onTensor: keepTensor, who, purpose: 'copy' }, slots);
  return new Kept(value, slots);
}

/** The student's value for what the queue kept. */
export function handOut(stored: unknown, who: string): unknown {
  return stored instanceof Held ? stored.handOut(who) : stored;
}

/** Frees what the queue kept for an output that will not be replayed. */
export function release(stored: unknown): void {
  if (stored instanceof Held) stored.release();
}

/**
 * What a recorder keeps of a value: the value itself (by reference, as MMRazor), except
 * that tensors, alone or in arrays, plain objects, Maps and Sets, are replaced by kept
 * clones in a rebuilt container, so that they outlive the tf.tidy that made them. Each kept
 * tensor is pushed to `kept`, which the recorder releases when it clears its data.
 * `adopt`: the tensors are fresh and the recorder's alone (decoded from a store): kept as they are.
 */
export function keepRecord(value: unknown, who: string, kept: TensorLike[], adopt = false): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value) && !holdsObject(value)) return value; // the common inputs record: primitive arguments
  const keep = (tensor: TensorLike): TensorLike => {
    const held = adopt ? adoptTensor(tensor) : keepTensor(tensor);
    kept.push(held);
    return held;
  };
  if (isTensor(value)) return keep(value);
  if (!holdsTensor(value)) return value;
  return walkValue(value, { deep: false, onTensor: keep, who, purpose: 'copy' });
}

function holdsObject(values: readonly unknown[]): boolean {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v === 'object' && v !== null) return true;
  }
  return false;
}

/** Frees the tensors keepRecord() kept. */
export function releaseKept(kept: readonly TensorLike[]): void {
  for (const tensor of kept) releaseTensor(tensor);
}
