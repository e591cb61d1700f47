/**
 * Walks a value deeply: to find the tensors it holds, and to copy it (`copy: true`, and
 * the store's encoding) or rebuild the containers around its tensors (`copy: false`).
 *
 * A copy follows structured clone (what `structuredClone` and `v8.serialize` keep): plain
 * objects and arrays (an own `__proto__` key stays a key; an array's holes stay holes and
 * its named properties are kept), Maps and Sets, typed arrays, ArrayBuffers and DataViews,
 * Buffers, Dates, RegExps, wrapper objects and the built-in errors (a `cause` walked as any
 * value); shared references and cycles stay shared. Views (typed arrays, DataViews, Buffers)
 * keep only the bytes they view, not their whole backing buffer (views.ts). Tensors become
 * what `onTensor` returns. Anything else (functions, symbols, promises, class instances
 * whose class a copy would lose, shared memory) fails with ERR_DELIVERY_NOT_SERIALIZABLE,
 * naming the path inside the value (`[1].fn`).
 *
 * Arrays are walked by their own keys, not from 0 to length: a sparse array of length
 * 2^27 with three elements takes three steps.
 */
import { errors, describe } from '../errors.js';
import { isTensor, type TensorLike } from './tensor.js';
import { isCopiedView, ViewCopies } from './views.js';

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

/** The built-in errors' prototypes, and their constructors (not read from the prototype, which a program may change). */
const ERRORS = new Map<object, ErrorConstructor>([Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError].map((E) => [E.prototype, E]));
const CLONED_AS_IS = new Set<object>([Date.prototype, RegExp.prototype, Boolean.prototype, Number.prototype, String.prototype, BigInt.prototype, ...ERRORS.keys()]);

/** The element `key` names in an array, or -1 when it names another property. */
function indexOf(key: string | symbol): number {
  if (typeof key !== 'string') return -1;
  const i = Number(key);
  return i >>> 0 === i && i !== 0xffffffff && String(i) === key ? i : -1;
}

/** `out[key] = value` as a data property: an own `__proto__` key stays a key, it does not become the prototype. */
function put(out: object, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(out, key, { value, writable: true, enumerable: true, configurable: true });
  else (out as Record<string, unknown>)[key] = value;
}

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
  /** Set when the value just walked became a view's copy, which may move when the walk ends (views.ts). */
  viewHit = false;
  views: ViewCopies | undefined;
  /** The errors whose cause is being walked. */
  causes: Set<object> | undefined;

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
    if (this.viewHit) {
      this.viewHit = false;
      if (container !== undefined) this.views!.placed(container as object, slotKey);
    }
    return out;
  }

  object(v: object): unknown {
    if (this.seen.has(v)) {
      // V8 cannot read back an error met again inside its own cause (structuredClone fails on it too).
      if (this.causes?.has(v)) this.fail(v, 'an error inside its own cause');
      this.hit = isTensor(v);
      this.viewHit = this.options.deep && ArrayBuffer.isView(v);
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

  /**
   * An array: the elements it has, holes left as holes, then its other own properties
   * (own enumerable string keys in a copy, as structured clone; in a rebuild, every own
   * property but `length`, when it has enumerable or symbol ones).
   */
  array(v: unknown[]): unknown[] {
    const n = v.length;
    const out = new Array<unknown>(n);
    this.seen.set(v, out);
    let present = 0;
    for (let i = 0, holes = 0; i < n; i++) {
      if (i in v) {
        out[i] = this.child(out, 'index', i, v[i]);
        present++;
      } else if (++holes > 64) {
        // Sparse: the rest by own keys, which are few (2^27 holes are not walked one by one).
        for (const key of this.options.deep ? Object.keys(v) : Reflect.ownKeys(v)) {
          const index = indexOf(key);
          if (index > i) out[index] = this.child(out, 'index', index, v[index]);
          else if (index < 0) this.property(out, v, key);
        }
        return out;
      }
    }
    // Object.values costs little more than the elements; the keys of a large array cost far more, so only when needed.
    if (Object.values(v).length !== present || (!this.options.deep && Object.getOwnPropertySymbols(v).length !== 0)) {
      for (const key of this.options.deep ? Object.keys(v) : Reflect.ownKeys(v)) if (indexOf(key) < 0) this.property(out, v, key);
    }
    return out;
  }

  /** An array's property that is not an element. */
  property(out: unknown[], v: unknown[], key: string | symbol): void {
    if (this.options.deep) put(out, key as string, this.child(out, 'key', key, (v as unknown as Record<string, unknown>)[key as string]));
    else if (key !== 'length') this.keep(out, v, key);
  }

  plain(v: Record<string, unknown>, proto: object | null): Record<string, unknown> {
    const out = (proto === null ? Object.create(null) : {}) as Record<string, unknown>;
    this.seen.set(v, out);
    if (this.options.deep) {
      // As structured clone: own enumerable string keys, getters read.
      for (const key of Object.keys(v)) put(out, key, this.child(out, 'key', key, v[key]));
      return out;
    }
    for (const key of Reflect.ownKeys(v)) this.keep(out, v, key);
    return out;
  }

  /** A rebuild keeps an own property as it is (a getter is not called), walking a data value. */
  keep(out: object, v: object, key: PropertyKey): void {
    const descriptor = Object.getOwnPropertyDescriptor(v, key)!;
    if ('value' in descriptor) {
      const slots = this.slots?.length;
      descriptor.value = this.child(out, 'key', key, descriptor.value);
      // A tensor's place is written again when it is handed out, even in a frozen object.
      if (this.slots?.length !== slots) descriptor.configurable = true;
    }
    Object.defineProperty(out, key, descriptor);
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
      const k = this.options.deep ? this.child(out, 'mapKey', i, key) : key;
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
      if (this.viewHit) {
        this.viewHit = false;
        this.views!.placed(out, copy);
      }
    }
    return out;
  }

  /** A value structured clone copies as a whole (deep copies only). */
  leaf(v: object, proto: object | null): unknown {
    let out: unknown;
    if (ArrayBuffer.isView(v)) {
      if (v.buffer instanceof SharedArrayBuffer) return this.fail(v, 'shared memory, which a copy would no longer share');
      if (!isCopiedView(v, proto)) return this.fail(v);
      out = (this.views ??= new ViewCopies()).view(v);
      this.viewHit = true;
    } else if (v instanceof ArrayBuffer && proto === ArrayBuffer.prototype) {
      out = (this.views ??= new ViewCopies()).buffer(v);
    } else if (proto !== null && ERRORS.has(proto) && Object.hasOwn(v, 'cause')) {
      return this.error(v as Error, proto);
    } else if (proto !== null && CLONED_AS_IS.has(proto)) {
      out = structuredClone(v);
    } else {
      return this.fail(v);
    }
    this.seen.set(v, out);
    return out;
  }

  /** An error with a cause: its class, message and stack as structured clone copies them, its cause walked as any value (a view in it keeps its own bytes only). */
  error(v: Error, proto: object): Error {
    const out = new (ERRORS.get(proto)!)();
    this.seen.set(v, out);
    const message = Object.getOwnPropertyDescriptor(v, 'message');
    if (message !== undefined && 'value' in message) Object.defineProperty(out, 'message', { value: String(message.value), writable: true, configurable: true });
    const stack: unknown = v.stack;
    if (typeof stack === 'string') Object.defineProperty(out, 'stack', { value: stack, writable: true, configurable: true });
    else delete out.stack;
    (this.causes ??= new Set()).add(v);
    Object.defineProperty(out, 'cause', { value: this.child(out, 'key', 'cause', v.cause), writable: true, configurable: true });
    this.causes.delete(v);
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
  let out = walker.value(value);
  if (walker.hit) slots?.push(undefined, undefined);
  if (walker.views !== undefined) out = walker.views.settle(out, slots);
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

/** The elements of an array for a scan: the array itself, or its own keys' values when it has many holes (a sparse array's keys are few). */
function elements(v: unknown[]): unknown[] {
  for (let i = 0, holes = 0; i < v.length; i++) if (!(i in v) && ++holes > 64) return Object.keys(v).map((key) => v[key as unknown as number]);
  return v;
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
  if (Array.isArray(v) && proto === Array.prototype) children = elements(v);
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
