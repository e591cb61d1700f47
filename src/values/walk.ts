/**
 * Walks a value deeply: to find the tensors it holds, and to copy it (`copy: true`, and
 * the store's encoding) or rebuild the containers around its tensors (`copy: false`).
 *
 * A copy follows structured clone (what `structuredClone` and `v8.serialize` keep): plain
 * objects and arrays, Maps and Sets, typed arrays, ArrayBuffers and DataViews, Buffers,
 * Dates, RegExps, wrapper objects and the built-in errors; shared references and cycles
 * stay shared. Tensors become what `onTensor` returns. Anything else (functions, symbols,
 * promises, class instances whose class a copy would lose, shared memory) fails with
 * ERR_DELIVERY_NOT_SERIALIZABLE, naming the path inside the value (`[1].fn`).
 */
import { errors, describe } from '../errors.js';
import { isTensor, type TensorLike } from './tensor.js';

export interface WalkOptions {
  /** true: copy everything, fail on what cannot be copied; false: rebuild only arrays, plain objects, Maps and Sets, and keep every other value by reference. */
  readonly deep: boolean;
  /** What a tensor becomes; `path()` renders where it sits (`[1].logits`), for messages. */
  readonly onTensor: (tensor: TensorLike, path: () => string) => unknown;
  /** For messages: the delivery, and what the copy is for. */
  readonly who: string;
  readonly purpose: 'copy' | 'store';
}

/** Where a tensor's replacement was put: `[container, key]` pairs; container undefined for the value itself. */
export type Slots = unknown[];

const TYPED_ARRAY = Object.getPrototypeOf(Uint8Array.prototype) as object;
const CLONED_AS_IS = new Set<object>([
  Date.prototype,
  RegExp.prototype,
  Boolean.prototype,
  Number.prototype,
  String.prototype,
  BigInt.prototype,
  Error.prototype,
  EvalError.prototype,
  RangeError.prototype,
  ReferenceError.prototype,
  SyntaxError.prototype,
  TypeError.prototype,
  URIError.prototype,
]);

type Key = { readonly in: 'index' | 'key' | 'mapKey' | 'mapValue' | 'set'; readonly key: unknown };

/** `[1].fn`, `.get("k")`: where a value sits inside the output. */
function render(keys: readonly Key[]): string {
  let path = '';
  for (const { in: where, key } of keys) {
    if (where === 'index') path += `[${key as number}]`;
    else if (where === 'key') path += typeof key === 'symbol' ? `[${String(key)}]` : /^[A-Za-z_$][\w$]*$/.test(key as string) ? `.${key as string}` : `[${JSON.stringify(key)}]`;
    else if (where === 'mapValue') path += `.get(${typeof key === 'string' ? JSON.stringify(key) : typeof key === 'number' ? key : `<${describe(key)}>`})`;
    else if (where === 'mapKey') path += `.keys()[${key as number}]`;
    else path += `.values()[${key as number}]`;
  }
  return path;
}

class Walker {
  readonly seen = new Map<object, unknown>();
  readonly keys: Key[] = [];
  /** Set when the value just walked was a tensor, so its container records a slot. */
  hit = false;

  constructor(readonly options: WalkOptions, readonly slots: Slots | undefined) {}

  value(v: unknown): unknown {
    switch (typeof v) {
      case 'object':
        return v === null ? v : this.object(v);
      case 'function':
      case 'symbol':
        return this.options.deep ? this.fail(v) : v;
      default:
        return v;
    }
  }

  /** Walks a child of `container`, recording a slot where a tensor lands. */
  child(container: unknown, where: Key['in'], key: unknown, v: unknown, slotKey: unknown = key): unknown {
    this.keys.push({ in: where, key });
    const out = this.value(v);
    this.keys.pop();
    if (this.hit) {
      this.hit = false;
      if (container !== undefined) this.slots?.push(container, slotKey);
    }
    return out;
  }

  object(v: object): unknown {
    if (this.seen.has(v)) {
      this.hit = isTensor(v);
      return this.seen.get(v);
    }
    if (isTensor(v)) {
      const out = this.options.onTensor(v, () => render(this.keys));
      this.seen.set(v, out);
      this.hit = true;
      return out;
    }
    const proto = Object.getPrototypeOf(v) as object | null;
    if (Array.isArray(v) && proto === Array.prototype) return this.array(v);
    if (proto === Object.prototype || proto === null) return this.plain(v as Record<string, unknown>, proto);
    if (proto === Map.prototype) return this.map(v as Map<unknown, unknown>);
    if (proto === Set.prototype) return this.set(v as Set<unknown>);
    if (!this.options.deep) return v;
    return this.leaf(v, proto);
  }

  array(v: unknown[]): unknown[] {
    const out = new Array<unknown>(v.length);
    this.seen.set(v, out);
    for (let i = 0; i < v.length; i++) if (i in v) out[i] = this.child(out, 'index', i, v[i]);
    return out;
  }

  plain(v: Record<string, unknown>, proto: object | null): Record<string, unknown> {
    const out = (proto === null ? Object.create(null) : {}) as Record<string, unknown>;
    this.seen.set(v, out);
    if (this.options.deep) {
      // As structured clone: own enumerable string keys, getters read.
      for (const key of Object.keys(v)) out[key] = this.child(out, 'key', key, v[key]);
      return out;
    }
    // A rebuild keeps every own property as it is (getters are not called), walking data values only.
    const descriptors = Object.getOwnPropertyDescriptors(v);
    for (const key of Reflect.ownKeys(descriptors)) {
      const descriptor = descriptors[key as string]!;
      if ('value' in descriptor) {
        const slots = this.slots?.length;
        descriptor.value = this.child(out, 'key', key, descriptor.value);
        // A tensor's place is written again when it is handed out, even in a frozen object.
        if (this.slots?.length !== slots) descriptor.configurable = true;
      }
      Object.defineProperty(out, key, descriptor);
    }
    return out;
  }

  map(v: Map<unknown, unknown>): Map<unknown, unknown> {
    const out = new Map<unknown, unknown>();
    this.seen.set(v, out);
    let i = 0;
    for (const [key, value] of v) {
      // Keys are identities: a deep copy copies them, a rebuild keeps them; a tensor key is never handed out.
      if (this.options.deep && typeof key === 'object' && key !== null && isTensor(key)) {
        this.keys.push({ in: 'mapKey', key: i });
        this.fail(key, 'a tensor used as a Map key');
      }
      const k = this.options.deep ? this.child(undefined, 'mapKey', i, key) : key;
      i++;
      out.set(k, this.child(out, 'mapValue', key, value, k));
    }
    return out;
  }

  set(v: Set<unknown>): Set<unknown> {
    const out = new Set<unknown>();
    this.seen.set(v, out);
    let i = 0;
    for (const item of v) {
      this.keys.push({ in: 'set', key: i++ });
      const copy = this.value(item);
      this.keys.pop();
      out.add(copy);
      if (this.hit) {
        this.hit = false;
        this.slots?.push(out, copy);
      }
    }
    return out;
  }

  /** A value structured clone copies as a whole (deep copies only). */
  leaf(v: object, proto: object | null): unknown {
    let out: unknown;
    if (ArrayBuffer.isView(v)) {
      if (v.buffer instanceof SharedArrayBuffer) return this.fail(v, 'shared memory, which a copy would no longer share');
      // One copy of each buffer, so that views of one buffer still share it.
      const buffer = (this.seen.get(v.buffer) as ArrayBuffer | undefined) ?? v.buffer.slice(0);
      this.seen.set(v.buffer, buffer);
      if (Buffer.isBuffer(v)) out = Buffer.from(buffer, v.byteOffset, v.byteLength);
      else if (proto === DataView.prototype) out = new DataView(buffer, v.byteOffset, v.byteLength);
      else if (proto !== null && Object.getPrototypeOf(proto) === TYPED_ARRAY) {
        const View = (v as unknown as { constructor: new (b: ArrayBuffer, o: number, n: number) => unknown }).constructor;
        out = new View(buffer, v.byteOffset, (v as unknown as { length: number }).length);
      } else return this.fail(v);
    } else if (v instanceof ArrayBuffer && proto === ArrayBuffer.prototype) {
      out = v.slice(0);
    } else if (proto !== null && CLONED_AS_IS.has(proto)) {
      out = structuredClone(v);
    } else {
      return this.fail(v);
    }
    this.seen.set(v, out);
    return out;
  }

  fail(v: unknown, why?: string): never {
    throw errors.notSerializable(this.options.who, render(this.keys), why ?? describe(v), this.options.purpose);
  }
}

/**
 * Walks `value` as `options` say and returns the result. `slots`, if given, receives a
 * `[container, key]` pair for each place a tensor's replacement was put.
 */
export function walkValue(value: unknown, options: WalkOptions, slots?: Slots): unknown {
  const walker = new Walker(options, slots);
  const out = walker.value(value);
  if (walker.hit) slots?.push(undefined, undefined);
  return out;
}

/** Whether `value` holds a tensor in its arrays, plain objects, Maps or Sets (or is one). */
export function holdsTensor(value: object): boolean {
  // Most outputs are small: walk them without remembering what was seen, on a budget;
  // past it (a large or cyclic value) walk again, remembering.
  budget = 64;
  const found = scan(value, undefined);
  return found !== undefined ? found : scan(value, new Set()) === true;
}

let budget = 0;

/** The values of an object's own data properties (getters are not called). */
function dataValues(v: object): unknown[] {
  const values: unknown[] = [];
  for (const descriptor of Object.values(Object.getOwnPropertyDescriptors(v))) if ('value' in descriptor) values.push(descriptor.value);
  return values;
}

/** true: a tensor; false: none; undefined: out of budget. */
function scan(v: object, seen: Set<object> | undefined): boolean | undefined {
  if (seen === undefined) {
    if (--budget < 0) return undefined;
  } else {
    if (seen.has(v)) return false;
    seen.add(v);
  }
  if (isTensor(v)) return true;
  const proto = Object.getPrototypeOf(v) as object | null;
  let children: Iterable<unknown>;
  if (Array.isArray(v) && proto === Array.prototype) children = v;
  else if (proto === Object.prototype || proto === null) children = dataValues(v);
  else if (proto === Map.prototype) children = (v as Map<unknown, unknown>).values();
  else if (proto === Set.prototype) children = v as Set<unknown>;
  else return false;
  for (const child of children) {
    if (typeof child !== 'object' || child === null) continue;
    const found = scan(child, seen);
    if (found !== false) return found;
  }
  return false;
}
