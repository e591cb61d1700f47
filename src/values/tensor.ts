/**
 * TensorFlow.js tensors, recognised by their shape (no dependency on tfjs): an object with
 * `dataId`, `shape`, `dtype`, `clone`, `dispose` and `isDisposed`.
 *
 * tfjs frees a tensor when the `tf.tidy` that made it ends, unless it is "kept"; and
 * `clone()` makes a new tensor over the same data (the backend counts references), so a
 * clone costs no copy. A recorded tensor is therefore kept as a clone marked kept (what
 * `tf.keep` does), which outlives the teacher's tidy and the teacher's own `dispose()`;
 * the student gets a fresh clone made in its own scope (its tidy frees it, as it would
 * free the original function's output), and the kept clone is disposed at once.
 */

/** The part of a tfjs `Tensor` this package uses. */
export interface TensorLike {
  readonly dataId: unknown;
  readonly shape: readonly number[];
  readonly dtype: string;
  readonly isDisposed: boolean;
  clone(): TensorLike;
  dispose(): void;
  kept?: boolean;
}

export function isTensor(value: object): value is TensorLike {
  const t = value as Partial<TensorLike>;
  return (
    t.dataId !== undefined &&
    typeof t.dtype === 'string' &&
    Array.isArray(t.shape) &&
    typeof t.clone === 'function' &&
    typeof t.dispose === 'function' &&
    typeof t.isDisposed === 'boolean'
  );
}

/** tfjs's engine, shared by every copy of tfjs in the process (tfjs-core's getOrMakeEngine). */
function engine(): { keep?: (t: TensorLike) => TensorLike } | undefined {
  return (globalThis as { _tfengine?: { keep?: (t: TensorLike) => TensorLike } })._tfengine;
}

/**
 * A clone of `tensor` that no tidy frees: the engine's `keep` (what `tf.keep` calls), or
 * the flag it sets. A tensor already disposed is kept as it is: replaying it fails then
 * with ERR_DELIVERY_OUTPUT_DISPOSED, which says what happened.
 */
export function keepTensor(tensor: TensorLike): TensorLike {
  if (tensor.isDisposed) return tensor;
  const clone = tensor.clone();
  const tf = engine();
  if (typeof tf?.keep === 'function') tf.keep(clone);
  else if ('kept' in clone) clone.kept = true;
  return clone;
}

/** `tensor` itself, made safe from every tidy (a fresh tensor no one else holds, such as one decoded from a store). */
export function adoptTensor(tensor: TensorLike): TensorLike {
  const tf = engine();
  if (typeof tf?.keep === 'function') tf.keep(tensor);
  else if ('kept' in tensor) tensor.kept = true;
  return tensor;
}

/** The student's tensor: a clone in the caller's scope; the kept one is released. Undefined if it was disposed. */
export function handOutTensor(kept: TensorLike): TensorLike | undefined {
  if (kept.isDisposed) return undefined;
  const out = kept.clone();
  kept.dispose();
  return out;
}

export function releaseTensor(kept: TensorLike): void {
  if (!kept.isDisposed) kept.dispose();
}
