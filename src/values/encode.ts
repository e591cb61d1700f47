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
 * Bytes: a header, one byte saying what the output was (a value, a promise that resolved,
 * one that rejected, a call that threw, a generator's items) then the Math.random draws
 * the call made (draws.ts) as an unsigned LEB128 number; then V8's serialization of
 * `[value, holes, tensors]`: each tensor in the value was replaced by a hole, an empty
 * object of `holes` (the serializer keeps identity, so the same object is found in the
 * value when it is read back), and `tensors[i]` is what fills `holes[i]`. A generator's
 * value is `[items, end, result]`: each item's bytes and those of its result (a return
 * value, or a step that threw), each with its own header, and how it ended.
 */
import { Deserializer, Serializer } from 'node:v8';
import { DeliveryError, errors, storeLinkErrors } from '../errors.js';
import { advanceDraws } from './draws.js';
import { DONE, OPEN, replayItems, THREW as ITEMS_THREW, type ItemsEnd, type ItemsKind } from './generator.js';
import { Held } from './keep.js';
import type { TensorLike } from './tensor.js';
import { walkValue } from './walk.js';

export const VALUE = 0;
export const RESOLVED = 1;
export const REJECTED = 2;
/** The call threw (the value is what it threw). */
export const THREW = 3;
/** A generator function's items (sync, async). */
export const ITEMS = 4;
export const ASYNC_ITEMS = 5;
export type OutputKind = typeof VALUE | typeof RESOLVED | typeof REJECTED | typeof THREW | typeof ITEMS | typeof ASYNC_ITEMS;

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

/** The header's length: the kind byte and the draws (7 bits a byte, the high bit set on all but the last). */
function headerLength(draws: number): number {
  let length = 2;
  for (let rest = draws; rest >= 0x80; rest = Math.floor(rest / 0x80)) length++;
  return length;
}

/** Bytes of `bodyLength` after a header of `kind` and `draws`, the header written. */
function withHeader(kind: OutputKind, draws: number, bodyLength: number): { bytes: Uint8Array; at: number } {
  const at = headerLength(draws);
  const bytes = new Uint8Array(at + bodyLength);
  bytes[0] = kind;
  let rest = draws;
  for (let i = 1; i < at; i++, rest = Math.floor(rest / 0x80)) bytes[i] = (rest % 0x80) | (i < at - 1 ? 0x80 : 0);
  return { bytes, at };
}

/** The Math.random draws a payload's call made, and where its body starts. */
function readHeader(bytes: Uint8Array): { draws: number; at: number } {
  let draws = 0;
  let scale = 1;
  let at = 1;
  for (;;) {
    const byte = bytes[at++];
    if (byte === undefined) throw new DeliveryError('ERR_DELIVERY_STORE_CORRUPT', 'A stored output ends inside its header.');
    draws += (byte & 0x7f) * scale;
    if (byte < 0x80) return { draws, at };
    scale *= 0x80;
  }
}

/** The Math.random draws the call that made a payload drew (its header). */
export function payloadDraws(bytes: Uint8Array): number {
  return readHeader(bytes).draws;
}

/** The bytes of V8's serialization of `value`, after a header. */
function serialized(kind: OutputKind, draws: number, value: unknown): Uint8Array {
  const serializer = new Serializer();
  serializer.writeHeader();
  serializer.writeValue(value);
  const body = serializer.releaseBuffer();
  const { bytes, at } = withHeader(kind, draws, body.byteLength);
  bytes.set(body, at);
  return bytes;
}

/** The bytes of `output` (`kind`: what it was; `draws`: the Math.random draws its call made); throws ERR_DELIVERY_NOT_SERIALIZABLE. */
export function encodeOutput(output: unknown, kind: OutputKind, who: string, draws = 0): Uint8Array {
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
  return serialized(kind, draws, holes.length === 0 ? [value] : [value, holes, tensors]);
}

/** The bytes of what a call threw; what a store cannot keep is kept as an Error that says so. */
export function encodeThrown(error: unknown, who: string, draws: number): Uint8Array {
  try {
    return encodeOutput(error, THREW, who, draws);
  } catch (failure) {
    if (!(failure instanceof DeliveryError) || failure.code !== 'ERR_DELIVERY_NOT_SERIALIZABLE') throw failure;
    return encodeOutput(new Error(storeLinkErrors.thrownNotStored(who, failure.message)), THREW, who, draws);
  }
}

/** The bytes of a generator function's call: its items' bytes, how it ended, and its result's bytes (DONE: returned; THREW: threw). */
export function encodeItems(kind: ItemsKind, draws: number, items: readonly Uint8Array[], end: ItemsEnd, result: Uint8Array | undefined): Uint8Array {
  return serialized(kind === 'sync' ? ITEMS : ASYNC_ITEMS, draws, [items, end, result ?? null]);
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

/** The output `bytes` hold, with fresh tensors made in the caller's tfjs scope; what it was, and its call's draws. */
export function decodeOutput(bytes: Uint8Array, who: string): { kind: OutputKind; draws: number; value: unknown } {
  const { draws, at } = readHeader(bytes);
  const deserializer = new Deserializer(bytes.subarray(at));
  deserializer.readHeader();
  const kind = bytes[0] as OutputKind;
  if (kind === ITEMS || kind === ASYNC_ITEMS) return { kind, draws, value: deserializer.readValue() };
  const [value, holes, tensors] = deserializer.readValue() as [unknown, object[]?, TensorData[]?];
  if (holes === undefined || holes.length === 0) return { kind, draws, value };
  const tf = engine();
  if (typeof tf?.makeTensor !== 'function') throw storeLinkErrors.noTensorFlow(who, holes.length);
  return { kind, draws, value: fillHoles(value, holes, (i) => tf.makeTensor!(tensors![i]!.data, tensors![i]!.shape, tensors![i]!.dtype)) };
}

/**
 * What the delivered function returns for a stored output: the value, a promise of it, a
 * generator of the stored items; or it throws what the recorded call threw. Math.random
 * is not advanced for the call itself (the caller does that, with payloadDraws()); a
 * generator's items advance it as they are pulled, when `advance` is true.
 */
export function restoreOutput(bytes: Uint8Array, who: string, advance: boolean): unknown {
  const { kind, value } = decodeOutput(bytes, who);
  if (kind === RESOLVED) return Promise.resolve(value);
  if (kind === REJECTED) return Promise.reject(value);
  if (kind === THREW) throw value;
  if (kind === ITEMS || kind === ASYNC_ITEMS) return storedItems(kind === ITEMS ? 'sync' : 'async', value as [Uint8Array[], ItemsEnd, Uint8Array | null], who, advance);
  return value;
}

/** A stored generator's items, each decoded (and its draws advanced) as it is pulled, then its end. */
function storedItems(kind: ItemsKind, [items, end, result]: [Uint8Array[], ItemsEnd, Uint8Array | null], who: string, advance: boolean): object {
  const restore = (bytes: Uint8Array): unknown => {
    if (advance) advanceDraws(payloadDraws(bytes));
    return restoreOutput(bytes, who, advance);
  };
  return replayItems(kind, {
    count: items.length,
    item: (i) => restore(items[i]!),
    finish: () => {
      if ((end === DONE || end === ITEMS_THREW) && result !== null) return restore(result);
      throw errors.itemsExhausted(who, items.length, end === OPEN);
    },
  });
}

/**
 * A stored output waiting in a queue: its bytes, decoded when the student is handed it
 * (its tensors made in the student's scope). The queue advances its call's draws.
 */
export class StoredOutput extends Held {
  constructor(
    private readonly bytes: Uint8Array,
    private readonly advance: boolean,
  ) {
    super();
  }

  handOut(who: string): unknown {
    return restoreOutput(this.bytes, who, this.advance);
  }

  release(): void {}
}
