/**
 * Digests of a call's arguments, for content checks (`check: "values"`, and every call a
 * store records or replays): a 64-bit hash of all that the arguments hold, at any depth,
 * and a small tree of the hashes of each argument and of its entries down to a few
 * levels, so that a difference is named by where it is (`arguments[0].imgs`). A digest
 * holds hashes only, never a value.
 *
 * What counts: primitives by value (a number by its bits, every NaN alike); a tensor by
 * its dtype, shape and data (`dataSync()`); typed arrays, DataViews and ArrayBuffers by
 * their type and bytes; arrays by their entries in order; plain objects by their own
 * enumerable keys, in sorted order, and values; Maps and Sets by their entries in order;
 * Dates, RegExps and wrapper objects by value. Any other object counts by its class name
 * only (a model or a stream passed as an argument is not read), as functions and
 * symbols count by their kind. A value reached twice counts twice; a cycle back to an
 * object being walked counts as a reference to it; past MAX_WALK levels, nothing more
 * counts. `this` does not count (its class is in the call's shape).
 *
 * The tree (encode()), in preorder: the call (its 64-bit hash), each argument, and the
 * entries of each container down to MAX_DEPTH levels below the call, at most
 * MAX_CHILDREN per container (past that, the last one stands for the rest), MAX_NODES in
 * all; 32 bits of each hash but the call's, as they only locate a difference the call's
 * hash has found. Each node: its hash, then its number of children (one byte).
 */
import { hash, hashBytes, Mixer, mixLeaf, mixPair } from './content-hash.js';
import { isTensor, type TensorLike } from './tensor.js';

const MAX_NODES = 64;
const MAX_CHILDREN = 16;
const MAX_DEPTH = 4;
const MAX_WALK = 1000;

// What a hash is of (the first word of each).
const CALL = 1;
const UNDEFINED = 2;
const NULL = 3;
const BOOLEAN = 4;
const NUMBER = 5;
const STRING = 6;
const LONG_STRING = 7;
const BIGINT = 8;
const SYMBOL = 9;
const FUNCTION = 10;
const ARRAY = 11;
const OBJECT = 12;
const ENTRY = 13;
const MAP = 14;
const SET = 15;
const REST = 16;
const TENSOR = 17;
const DISPOSED = 18;
const BYTES = 19;
const DATE = 20;
const REGEXP = 21;
const BOXED = 22;
const INSTANCE = 23;
const CYCLE = 24;
const TOO_DEEP = 25;
const UNREADABLE = 26;
const NUMBERS = 27;

// How a node of the tree is named (its kind).
const ARGUMENT = 1;
const INDEX = 2;
const KEY = 3;
const MAP_ENTRY = 4;
const SET_ENTRY = 5;
const REST_INDEX = 6;
const REST_ENTRIES = 7;

/** Byte types by the name their `Symbol.toStringTag` gives (a Buffer is a Uint8Array). */
const BYTE_TYPES = new Map(
  ['ArrayBuffer', 'SharedArrayBuffer', 'DataView', 'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array', 'Float16Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array'].map((name, i) => [name, i + 1]),
);

const number64 = new Float64Array(1);
const words = new Int32Array(number64.buffer);

class Digester {
  // The tree of the last call, in preorder.
  count = 0;
  readonly lo = new Int32Array(MAX_NODES);
  readonly hi = new Int32Array(MAX_NODES);
  readonly children = new Uint8Array(MAX_NODES);
  // How each node is named, read only when a difference is named.
  readonly kind = new Uint8Array(MAX_NODES);
  readonly index = new Int32Array(MAX_NODES);
  readonly last = new Int32Array(MAX_NODES);
  readonly parent = new Int16Array(MAX_NODES);
  readonly key: (string | number | undefined)[] = new Array<string | number | undefined>(MAX_NODES).fill(undefined);
  /** Nodes may be opened up to here: each argument gets its share of what is left. */
  limit = MAX_NODES;
  /** Objects on the way down (their depth), or walked (-1 - the index of their hash in `memo`). */
  readonly seen = new Map<object, number>();
  readonly memo: number[] = [];
  /** The encoding of the last call digested, whose names the arrays above hold. */
  encoded = '';
  busy = false;
  /** Scratch for long strings' code units, and for arrays of numbers' bits. */
  text: Buffer = Buffer.alloc(256);
  packed = new Float64Array(64);
  /** The encoded tree, before base64url. */
  readonly out = Buffer.alloc(9 + 5 * MAX_NODES);
  readonly outView = new DataView(this.out.buffer, this.out.byteOffset, this.out.byteLength);

  /** The encoded tree of a call with `args`. */
  call(args: readonly unknown[]): string {
    this.busy = true;
    try {
      this.count = 0;
      this.limit = MAX_NODES;
      const root = this.open(-1, 0, 0, undefined);
      const n = args.length;
      const mixer = new Mixer(CALL);
      mixer.add(n, 0);
      const rest = n > MAX_CHILDREN ? new Mixer(REST) : undefined;
      for (let i = 0; i < n; i++) {
        const named = rest === undefined || i < MAX_CHILDREN - 1;
        // Arguments share the tree: each gets the room left divided by the arguments left (the rest's node counting as one).
        if (named) this.limit = this.count + Math.max(1, Math.floor((MAX_NODES - this.count) / (Math.min(n, MAX_CHILDREN) - i)));
        const slot = named ? this.open(root, ARGUMENT, i, undefined) : -1;
        try {
          this.value(args[i], slot, 1);
        } catch {
          // A revoked proxy, a getter that throws: the argument counts as unreadable, on both sides.
          mixLeaf(UNREADABLE, 0, 0);
          this.close(slot);
        }
        mixer.addHash();
        if (rest !== undefined && i >= MAX_CHILDREN - 1) rest.addHash();
      }
      this.limit = MAX_NODES;
      if (rest !== undefined) this.closeRest(root, REST_INDEX, n, rest);
      mixer.finish();
      this.close(root);
      this.encoded = this.encode();
      return this.encoded;
    } finally {
      if (this.seen.size > 0) this.seen.clear();
      this.memo.length = 0;
      this.busy = false;
    }
  }

  /** A node of the tree, child of `parent`: its slot, or -1 when the tree is full. */
  private open(parent: number, kind: number, index: number, key: string | number | undefined): number {
    if (this.count >= this.limit) return -1;
    const slot = this.count++;
    this.children[slot] = 0;
    this.parent[slot] = parent;
    this.kind[slot] = kind;
    this.index[slot] = index;
    this.key[slot] = key;
    if (parent >= 0) this.children[parent]!++;
    return slot;
  }

  /** The slot of a container's entry `i` of `n`, or -1: not in the tree (too deep, past MAX_CHILDREN - 1 of more, or the tree is full). */
  private entry(parent: number, depth: number, i: number, n: number, kind: number, key?: string | number): number {
    if (parent < 0 || depth > MAX_DEPTH || (n > MAX_CHILDREN && i >= MAX_CHILDREN - 1)) return -1;
    return this.open(parent, kind, i, key);
  }

  /** The last hash is the node's. */
  private close(slot: number): void {
    if (slot < 0) return;
    this.lo[slot] = hash[0]!;
    this.hi[slot] = hash[1]!;
  }

  /** The node that stands for entries MAX_CHILDREN - 1 to n - 1 of a container in the tree. */
  private closeRest(parent: number, kind: number, n: number, rest: Mixer): void {
    rest.finish();
    const slot = this.open(parent, kind, MAX_CHILDREN - 1, undefined);
    if (slot >= 0) this.last[slot] = n - 1;
    this.close(slot);
  }

  /** The hash of `v` (a node of the tree at `slot`, or none: -1), `depth` levels below the call. */
  private value(v: unknown, slot: number, depth: number): void {
    switch (typeof v) {
      case 'number':
        this.number(v);
        break;
      case 'string':
        this.string(v, STRING);
        break;
      case 'boolean':
        mixLeaf(BOOLEAN, v ? 1 : 0, 0);
        break;
      case 'undefined':
        mixLeaf(UNDEFINED, 0, 0);
        break;
      case 'bigint':
        this.string(v.toString(16), BIGINT);
        break;
      case 'symbol':
        this.string(v.description ?? '', SYMBOL);
        break;
      case 'function':
        mixLeaf(FUNCTION, 0, 0);
        break;
      default:
        if (v === null) mixLeaf(NULL, 0, 0);
        else this.object(v as object, slot, depth);
    }
    this.close(slot);
  }

  private number(v: number): void {
    number64[0] = v === v ? v : NaN;
    mixLeaf(NUMBER, words[0]!, words[1]!);
  }

  /** A string by its UTF-16 code units: four to a word, or, past 16, hashed as bytes. */
  private string(s: string, tag: number): void {
    const n = s.length;
    if (n > 16) {
      if (this.text.length < 2 * n) this.text = Buffer.alloc(2 * n);
      const length = this.text.write(s, 0, 'utf16le');
      hashBytes(this.text.subarray(0, length));
      mixPair(LONG_STRING, tag, n, hash[0]!, hash[1]!);
      return;
    }
    const mixer = new Mixer(tag);
    mixer.add(n, 0);
    // charCodeAt past the end is NaN, which `|` and `<<` read as 0.
    for (let i = 0; i < n; i += 4) mixer.add(s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16), s.charCodeAt(i + 2) | (s.charCodeAt(i + 3) << 16));
    mixer.finish();
  }

  private object(v: object, slot: number, depth: number): void {
    if (depth > MAX_WALK) return mixLeaf(TOO_DEEP, 0, 0);
    const seen = this.seen.get(v);
    if (seen !== undefined) {
      if (seen >= 0) return mixLeaf(CYCLE, depth - seen, 0);
      hash[0] = this.memo[-2 * seen - 2]!;
      hash[1] = this.memo[-2 * seen - 1]!;
      return;
    }
    if (isTensor(v)) return this.tensor(v, depth);
    if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer || (typeof SharedArrayBuffer === 'function' && v instanceof SharedArrayBuffer)) return this.bytes(v);
    const proto = Object.getPrototypeOf(v) as object | null;
    const container = Array.isArray(v) || proto === Object.prototype || proto === null || v instanceof Map || v instanceof Set;
    if (!container) return this.leaf(v, proto);
    this.seen.set(v, depth);
    if (Array.isArray(v)) this.array(v, slot, depth);
    else if (v instanceof Map) this.map(v, slot, depth);
    else if (v instanceof Set) this.set(v, slot, depth);
    else this.plain(v as Record<string, unknown>, slot, depth);
    this.seen.set(v, -1 - this.memo.length / 2);
    this.memo.push(hash[0]!, hash[1]!);
  }

  private array(v: readonly unknown[], slot: number, depth: number): void {
    const n = v.length;
    if (n > 1 && allNumbers(v)) return this.numbers(v as readonly number[], slot, depth);
    const mixer = new Mixer(ARRAY);
    mixer.add(n, 0);
    const rest = slot >= 0 && n > MAX_CHILDREN ? new Mixer(REST) : undefined;
    for (let i = 0; i < n; i++) {
      this.value(v[i], this.entry(slot, depth + 1, i, n, INDEX), depth + 1);
      mixer.addHash();
      if (rest !== undefined && i >= MAX_CHILDREN - 1) rest.addHash();
    }
    if (rest !== undefined && depth + 1 <= MAX_DEPTH) this.closeRest(slot, REST_INDEX, n, rest);
    mixer.finish();
  }

  /**
   * An array of numbers only, by their bits as bytes (every NaN alike): a tenth of the time
   * of a hash per entry for long ones. Its first entries are in the tree as any array's; the
   * node for the rest is the hash of their bytes.
   */
  private numbers(v: readonly number[], slot: number, depth: number): void {
    const n = v.length;
    if (this.packed.length < n) this.packed = new Float64Array(Math.max(n, 2 * this.packed.length));
    const packed = this.packed;
    for (let i = 0; i < n; i++) packed[i] = v[i]! === v[i]! ? v[i]! : NaN;
    const bytes = new Uint8Array(packed.buffer, 0, 8 * n);
    if (slot >= 0 && depth + 1 <= MAX_DEPTH) {
      const named = n > MAX_CHILDREN ? MAX_CHILDREN - 1 : n;
      for (let i = 0; i < named; i++) {
        const child = this.open(slot, INDEX, i, undefined);
        this.number(v[i]!);
        this.close(child);
      }
      if (n > MAX_CHILDREN) {
        hashBytes(bytes.subarray(8 * named));
        mixPair(REST, n - named, 0, hash[0]!, hash[1]!);
        const rest = this.open(slot, REST_INDEX, named, undefined);
        if (rest >= 0) this.last[rest] = n - 1;
        this.close(rest);
      }
    }
    hashBytes(bytes);
    mixPair(NUMBERS, n, 0, hash[0]!, hash[1]!);
  }

  /** Own enumerable string keys in sorted order, each entry the hash of its key and value (as structured clone reads them: getters run). */
  private plain(v: Record<string, unknown>, slot: number, depth: number): void {
    const keys = Object.keys(v).sort();
    const n = keys.length;
    const mixer = new Mixer(OBJECT);
    mixer.add(n, 0);
    const rest = slot >= 0 && n > MAX_CHILDREN ? new Mixer(REST) : undefined;
    for (let i = 0; i < n; i++) {
      const key = keys[i]!;
      const child = this.entry(slot, depth + 1, i, n, KEY, key);
      this.string(key, STRING);
      const kLo = hash[0]!;
      const kHi = hash[1]!;
      this.value(v[key], child, depth + 1);
      mixPair(ENTRY, kLo, kHi, hash[0]!, hash[1]!);
      this.close(child);
      mixer.addHash();
      if (rest !== undefined && i >= MAX_CHILDREN - 1) rest.addHash();
    }
    if (rest !== undefined && depth + 1 <= MAX_DEPTH) this.closeRest(slot, REST_ENTRIES, n, rest);
    mixer.finish();
  }

  private map(v: Map<unknown, unknown>, slot: number, depth: number): void {
    const n = v.size;
    const mixer = new Mixer(MAP);
    mixer.add(n, 0);
    const rest = slot >= 0 && n > MAX_CHILDREN ? new Mixer(REST) : undefined;
    let i = 0;
    for (const [key, value] of v) {
      const named = typeof key === 'string' || typeof key === 'number' ? key : undefined;
      const child = this.entry(slot, depth + 1, i, n, MAP_ENTRY, named);
      this.value(key, -1, depth + 1);
      const kLo = hash[0]!;
      const kHi = hash[1]!;
      this.value(value, child, depth + 1);
      mixPair(ENTRY, kLo, kHi, hash[0]!, hash[1]!);
      this.close(child);
      mixer.addHash();
      if (rest !== undefined && i >= MAX_CHILDREN - 1) rest.addHash();
      i++;
    }
    if (rest !== undefined && depth + 1 <= MAX_DEPTH) this.closeRest(slot, REST_ENTRIES, n, rest);
    mixer.finish();
  }

  private set(v: Set<unknown>, slot: number, depth: number): void {
    const n = v.size;
    const mixer = new Mixer(SET);
    mixer.add(n, 0);
    const rest = slot >= 0 && n > MAX_CHILDREN ? new Mixer(REST) : undefined;
    let i = 0;
    for (const item of v) {
      this.value(item, this.entry(slot, depth + 1, i, n, SET_ENTRY), depth + 1);
      mixer.addHash();
      if (rest !== undefined && i >= MAX_CHILDREN - 1) rest.addHash();
      i++;
    }
    if (rest !== undefined && depth + 1 <= MAX_DEPTH) this.closeRest(slot, REST_ENTRIES, n, rest);
    mixer.finish();
  }

  /** A tensor by dtype, shape and data (a typed array, or an array of strings for a string tensor). */
  private tensor(t: TensorLike, depth: number): void {
    if (t.isDisposed) return mixLeaf(DISPOSED, 0, 0);
    const mixer = new Mixer(TENSOR);
    this.string(t.dtype, STRING);
    mixer.addHash();
    mixer.add(t.shape.length, 0);
    for (const size of t.shape) mixer.add(size, 0);
    const data = (t as unknown as { dataSync(): unknown }).dataSync();
    if (ArrayBuffer.isView(data)) this.bytes(data);
    else this.value(data, -1, depth + 1);
    mixer.addHash();
    mixer.finish();
  }

  /** A typed array, DataView or (Shared)ArrayBuffer by its type and bytes. */
  private bytes(v: ArrayBufferView | ArrayBufferLike): void {
    const type = BYTE_TYPES.get((v as { [Symbol.toStringTag]?: string })[Symbol.toStringTag] ?? '') ?? 0;
    hashBytes(ArrayBuffer.isView(v) ? new Uint8Array(v.buffer, v.byteOffset, v.byteLength) : new Uint8Array(v));
    mixPair(BYTES, type, 0, hash[0]!, hash[1]!);
  }

  /** Dates, RegExps and wrapper objects by value; any other object by its class name. */
  private leaf(v: object, proto: object | null): void {
    if (v instanceof Date) return mixPair(DATE, 0, 0, ...this.numberWords(v.getTime()));
    if (v instanceof RegExp) {
      this.string(`${v.source}/${v.flags}`, STRING);
      return mixPair(REGEXP, 0, 0, hash[0]!, hash[1]!);
    }
    if (v instanceof Number || v instanceof String || v instanceof Boolean || (typeof BigInt === 'function' && v instanceof BigInt)) {
      this.value(v.valueOf(), -1, 0);
      return mixPair(BOXED, 0, 0, hash[0]!, hash[1]!);
    }
    const ctor = proto === null ? undefined : (Object.getOwnPropertyDescriptor(proto, 'constructor')?.value as { name?: unknown } | undefined);
    this.string(typeof ctor?.name === 'string' ? ctor.name : '', STRING);
    mixPair(INSTANCE, 0, 0, hash[0]!, hash[1]!);
  }

  private numberWords(v: number): [number, number] {
    number64[0] = v === v ? v : NaN;
    return [words[0]!, words[1]!];
  }

  /** The tree as base64url: the call's node (8 bytes of hash, a byte of children), then each other node (4 and 1). */
  private encode(): string {
    const view = this.outView;
    view.setInt32(0, this.lo[0]!, true);
    view.setInt32(4, this.hi[0]!, true);
    view.setUint8(8, this.children[0]!);
    let at = 9;
    for (let i = 1; i < this.count; i++) {
      view.setInt32(at, this.lo[i]!, true);
      view.setUint8(at + 4, this.children[i]!);
      at += 5;
    }
    return this.out.toString('base64url', 0, at);
  }

  /** How node `slot` of the last call's tree is named: `arguments[0].imgs[3]`. */
  name(slot: number): string {
    const parts: string[] = [];
    for (let i = slot; i > 0; i = this.parent[i]!) {
      const kind = this.kind[i]!;
      // The rest of more than MAX_CHILDREN arguments.
      if (kind === REST_INDEX && this.parent[i] === 0) parts.push(`arguments[${this.index[i]!}..${this.last[i]!}]`);
      else parts.push(segment(kind, this.index[i]!, this.last[i]!, this.key[i]));
    }
    return parts.reverse().join('');
  }
}

function segment(kind: number, index: number, last: number, key: string | number | undefined): string {
  switch (kind) {
    case ARGUMENT:
      return `arguments[${index}]`;
    case INDEX:
      return `[${index}]`;
    case KEY:
      return /^[A-Za-z_$][\w$]*$/.test(key as string) ? `.${key as string}` : `[${JSON.stringify(shorten(key as string))}]`;
    case MAP_ENTRY:
      return typeof key === 'string' ? `.get(${JSON.stringify(shorten(key))})` : typeof key === 'number' ? `.get(${key})` : `.entries()[${index}]`;
    case SET_ENTRY:
      return `.values()[${index}]`;
    case REST_INDEX:
      return `[${index}..${last}]`;
    default:
      return ` (entries ${index} to ${last})`;
  }
}

/** Whether every entry of `v` is a number (no hole, no other kind). */
function allNumbers(v: readonly unknown[]): boolean {
  for (let i = 0; i < v.length; i++) if (typeof v[i] !== 'number') return false;
  return true;
}

const shorten = (key: string): string => (key.length > 40 ? `${key.slice(0, 37)}...` : key);

const shared = new Digester();

/** The digest of a call's arguments: its encoded tree (base64url). */
export function digestCall(args: readonly unknown[]): string {
  return (shared.busy ? new Digester() : shared).call(args);
}

/** A decoded tree: each node's 32-bit hash, number of children and size (itself and its descendants). */
interface Tree {
  readonly lo: Int32Array;
  readonly children: Uint8Array;
  readonly size: Int32Array;
}

function decode(encoded: string): Tree | undefined {
  const bytes = Buffer.from(encoded, 'base64url');
  if (bytes.length < 9 || (bytes.length - 9) % 5 !== 0) return undefined;
  const count = 1 + (bytes.length - 9) / 5;
  const lo = new Int32Array(count);
  const children = new Uint8Array(count);
  lo[0] = bytes.readInt32LE(0);
  children[0] = bytes[8]!;
  for (let i = 1; i < count; i++) {
    lo[i] = bytes.readInt32LE(4 + 5 * i);
    children[i] = bytes[8 + 5 * i]!;
  }
  const size = new Int32Array(count);
  /** The index after node i's subtree. */
  const walk = (i: number): number => {
    let next = i + 1;
    for (let c = 0; c < children[i]! && next < count; c++) next = walk(next);
    size[i] = next - i;
    return next;
  };
  walk(0);
  return { lo, children, size };
}

/**
 * Where the call whose digest is `student` first differs from the one whose digest is
 * `teacher`: the deepest node of the tree whose hash differs while none of its children's
 * does, named by the student's call when it is the last one digested
 * (`arguments[0].imgs`), else by positions. "the arguments" when no argument's hash differs.
 */
export function whereDiffers(teacher: string, student: string): string {
  const t = decode(teacher);
  const s = decode(student);
  if (t === undefined || s === undefined) return 'the arguments';
  let ti = 0;
  let si = 0;
  const positions: number[] = [];
  for (;;) {
    const n = t.children[ti]!;
    if (n === 0 || n !== s.children[si]) break;
    let tj = ti + 1;
    let sj = si + 1;
    let found = -1;
    for (let c = 0; c < n; c++) {
      if (t.lo[tj] !== s.lo[sj]) {
        found = c;
        break;
      }
      tj += t.size[tj]!;
      sj += s.size[sj]!;
    }
    if (found < 0) break;
    positions.push(found);
    ti = tj;
    si = sj;
  }
  if (positions.length === 0) return 'the arguments';
  if (shared.encoded === student) return shared.name(si);
  return positions.map((p, depth) => (depth === 0 ? `arguments[${p}]` : `[entry ${p}]`)).join('');
}

/** Whether `text` is an encoded tree digestCall() could have made. */
export function isDigest(text: string): boolean {
  return /^[A-Za-z0-9_-]+$/.test(text) && decode(text) !== undefined;
}

/**
 * Whether two digests are of the same contents: the same hash of the call. Their trees
 * may still differ, as a value reached twice is a leaf of the tree the second time: the
 * same contents held in shared objects on one side and in copies on the other.
 */
export function sameContents(a: string, b: string): boolean {
  // The call's node is 9 bytes, 12 characters: its 8 bytes of hash, then its number of children.
  return a.length >= 12 && b.length >= 12 && Buffer.from(a.slice(0, 12), 'base64url').compare(Buffer.from(b.slice(0, 12), 'base64url'), 0, 8, 0, 8) === 0;
}
