/**
 * A recorded output as bytes for the store, and back. What structured clone keeps (plain
 * objects and arrays, Maps and Sets, typed arrays, ArrayBuffers, DataViews, Dates,
 * RegExps, wrapper objects, the built-in errors, BigInts; shared references and cycles)
 * goes through V8's serializer, the one `structuredClone` uses, so it comes back exactly
 * as `structuredClone` would give it (a Buffer comes back as a Uint8Array). Tensors are
 * kept as their dtype, shape and data, and come back as tensors of the TensorFlow.js the
 * app loaded (through tfjs's global engine: no dependency on tfjs). Anything else fails
 * with ERR_DELIVERY_NOT_SERIALIZABLE, naming the path inside the output (walk.ts).
 *
 * Bytes: one byte saying what the output was (a value, a promise that resolved, or one
 * that rejected), then V8's serialization of `[value, holes, tensors]`: each tensor in
 * the value was replaced by a hole, an empty object of `holes` (the serializer keeps
 * identity, so the same object is found in the value when it is read back), and
 * `tensors[i]` is what fills `holes[i]`.
 */
import { Deserializer, Serializer } from 'node:v8';
import { errors, storeLinkErrors } from '../errors.js';
import { Held } from './keep.js';
import type { TensorLike } from './tensor.js';
import { walkValue } from './walk.js';

export const VALUE = 0;
export const RESOLVED = 1;
export const REJECTED = 2;
export type OutputKind = typeof VALUE | typeof RESOLVED | typeof REJECTED;

interface TensorData {
  readonly dtype: string;
  readonly shape: number[];
  readonly data: unknown;
}

/** A tensor's data as tfjs reads it (a typed array; an array of strings for a string tensor). */
function tensorData(tensor: TensorLike, who: string, path: () => string): TensorData {
  const read = (tensor as { dataSync?: () => unknown }).dataSync;
  if (tensor.dtype === 'complex64' || typeof read !== 'function' || tensor.isDisposed) {
    const what = tensor.isDisposed ? 'a disposed tensor' : tensor.dtype === 'complex64' ? 'a complex64 tensor' : 'a tensor without dataSync()';
    throw errors.notSerializable(who, path(), what, 'store');
  }
  return { dtype: tensor.dtype, shape: [...tensor.shape], data: read.call(tensor) };
}

/** The bytes of `output` (`kind`: what it was); throws ERR_DELIVERY_NOT_SERIALIZABLE. */
export function encodeOutput(output: unknown, kind: OutputKind, who: string): Uint8Array {
  const holes: object[] = [];
  const tensors: TensorData[] = [];
  const value = walkValue(output, {
    deep: true,
    who,
    purpose: 'store',
    onTensor: (tensor, path) => {
      const hole = {};
      tensors.push(tensorData(tensor, who, path));
      holes.push(hole);
      return hole;
    },
  });
  const serializer = new Serializer();
  serializer.writeHeader();
  serializer.writeValue(holes.length === 0 ? [value] : [value, holes, tensors]);
  const body = serializer.releaseBuffer();
  const bytes = new Uint8Array(body.byteLength + 1);
  bytes[0] = kind;
  bytes.set(body, 1);
  return bytes;
}

/** tfjs's engine (tfjs-core's getOrMakeEngine keeps it on the global), if the app loaded tfjs. */
function engine(): { makeTensor?: (values: unknown, shape: number[], dtype: string) => unknown } | undefined {
  return (globalThis as { _tfengine?: { makeTensor?: (values: unknown, shape: number[], dtype: string) => unknown } })._tfengine;
}

/** Puts `fill(i)` where `holes[i]` is inside `value` (arrays, plain objects, Maps, Sets), and returns the value. */
function fillHoles(value: unknown, holes: readonly object[], fill: (i: number) => unknown): unknown {
  const index = new Map(holes.map((hole, i) => [hole, i]));
  const made = new Map<number, unknown>();
  const of = (v: unknown): unknown => {
    const i = typeof v === 'object' && v !== null ? index.get(v) : undefined;
    if (i === undefined) return v;
    if (!made.has(i)) made.set(i, fill(i));
    return made.get(i);
  };
  const replace = (record: Record<string, unknown>, key: string): void => {
    const item = record[key];
    visit(item);
    const out = of(item);
    if (out !== item) Object.defineProperty(record, key, { value: out });
  };
  const seen = new Set<object>();
  const visit = (v: unknown): void => {
    if (typeof v !== 'object' || v === null || seen.has(v) || index.has(v)) return;
    seen.add(v);
    if (v instanceof Map) {
      for (const [k, item] of v) (visit(item), v.set(k, of(item)));
    } else if (v instanceof Set) {
      for (const item of [...v]) {
        visit(item);
        const out = of(item);
        if (out !== item) (v.delete(item), v.add(out));
      }
    } else if (!ArrayBuffer.isView(v)) {
      // Arrays too: their elements and named properties are own keys (a sparse array's are few).
      const record = v as Record<string, unknown>;
      for (const key of Object.keys(record)) replace(record, key);
      if (v instanceof Error && Object.hasOwn(v, 'cause')) replace(record, 'cause');
    }
  };
  visit(value);
  return of(value);
}

/** The output `bytes` hold, with fresh tensors made in the caller's tfjs scope; and what it was. */
export function decodeOutput(bytes: Uint8Array, who: string): { kind: OutputKind; value: unknown } {
  const deserializer = new Deserializer(bytes.subarray(1));
  deserializer.readHeader();
  const [value, holes, tensors] = deserializer.readValue() as [unknown, object[]?, TensorData[]?];
  const kind = bytes[0] as OutputKind;
  if (holes === undefined || holes.length === 0) return { kind, value };
  const tf = engine();
  if (typeof tf?.makeTensor !== 'function') throw storeLinkErrors.noTensorFlow(who, holes.length);
  return { kind, value: fillHoles(value, holes, (i) => tf.makeTensor!(tensors![i]!.data, tensors![i]!.shape, tensors![i]!.dtype)) };
}

/** What the delivered function returns for a stored output: the value, or a promise of it. */
export function restoreOutput(bytes: Uint8Array, who: string): unknown {
  const { kind, value } = decodeOutput(bytes, who);
  if (kind === RESOLVED) return Promise.resolve(value);
  if (kind === REJECTED) return Promise.reject(value);
  return value;
}

/** A stored output waiting in a queue: its bytes, decoded when the student is handed it (its tensors made in the student's scope). */
export class StoredOutput extends Held {
  constructor(private readonly bytes: Uint8Array) {
    super();
  }

  handOut(who: string): unknown {
    return restoreOutput(this.bytes, who);
  }

  release(): void {}
}
