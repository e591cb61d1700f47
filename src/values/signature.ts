/**
 * Call signatures, for divergence checks (`check`): what the student's call must share
 * with the teacher's call it replays. "shape": the number of arguments, each argument's
 * kind and shape (typeof; an array's length; a typed array's type and length; a tensor's
 * dtype and shape; a plain object's keys) and the class of `this`; "values" adds a digest
 * of the arguments' contents at any depth (digest.ts). Never the values themselves.
 *
 * A signature is a small integer for the common "shape" call (at most four arguments,
 * each a primitive or a function), so that recording and comparing it allocates nothing,
 * and a string otherwise: the shape's text, then, with contents, DIGEST_MARK and the
 * digest (`(tensor float32[64,8], tensor int32[64]) #v1:...`), the form a store keeps.
 * Equal calls give equal signatures within a process; renderSignature() gives the same
 * stable text for both forms, to compare across processes.
 */
import { digestCall, isDigest, sameContents, whereDiffers } from './digest.js';
import { isTensor } from './tensor.js';

export type CheckMode = 'shape' | 'values' | 'off';
export const CHECK_MODES: readonly CheckMode[] = ['shape', 'values', 'off'];
export type Signature = number | string;

// Integer form: bits 0-11 the kinds of up to four arguments (3 bits each), bits 12-14
// their count, bits 15-29 the class of `this` (0: none), so it stays a small integer (Smi).
const KINDS = ['function', 'undefined', '(unused)', 'boolean', 'number', 'string', 'bigint', 'symbol'] as const;
const MAX_FAST = 4;
const MAX_CLASSES = 1 << 15;

/** The kind of a primitive or function argument as a 3-bit code; -1 for an object (null included: the string form names it). */
function primitiveCode(value: unknown): number {
  return typeof value === 'number' ? 4 : typeof value === 'string' ? 5 : rareCode(value);
}

function rareCode(value: unknown): number {
  switch (typeof value) {
    case 'boolean':
      return 3;
    case 'undefined':
      return 1;
    case 'function':
      return 0;
    case 'bigint':
      return 6;
    case 'symbol':
      return 7;
    default:
      return -1;
  }
}

/** Class names of `this`, by id (0: no `this`); ids are given per name, in first-seen order. */
const classNames: string[] = [''];
const classIds = new Map<string, number>();
const idOfKey = new WeakMap<object, number>();
let lastKey: unknown;
let lastId = 0;

/**
 * Drops the one-entry cache of the last `this` prototype seen, so that a signature never
 * keeps a class alive: called when a delivery lets go of its target (its last exit).
 */
export function forgetLastThis(): void {
  lastKey = undefined;
  lastId = 0;
}

/** The name of an object's class (`object` when it has no named constructor). */
function className(object: object): string {
  const proto = Object.getPrototypeOf(object) as object | null;
  const ctor = proto === null ? undefined : (Object.getOwnPropertyDescriptor(proto, 'constructor')?.value as { name?: unknown } | undefined);
  return typeof ctor?.name === 'string' && ctor.name !== '' ? ctor.name : 'object';
}

/**
 * Whether `this` says nothing about the call: none, the global object, a function (a
 * static call), or a plain object (a module's exports or namespace, called as
 * `utils.f()` by one side and `f()` by the other). Only an instance of a class counts.
 */
function noThis(thisArg: unknown): boolean {
  if (thisArg === undefined || thisArg === null || thisArg === globalThis || typeof thisArg === 'function') return true;
  if (typeof thisArg !== 'object') return false;
  const proto = Object.getPrototypeOf(thisArg);
  return proto === Object.prototype || proto === null;
}

/** How `this` is named in a signature: its class, or its type for a primitive. */
function thisName(thisArg: unknown): string {
  return typeof thisArg === 'object' ? className(thisArg as object) : typeof thisArg;
}

/** The id of `this`'s class (0: none that counts), or -1 when it does not fit the integer form. */
function classId(thisArg: unknown): number {
  if (typeof thisArg !== 'object') return typeof thisArg === 'function' || thisArg === undefined ? 0 : -1;
  if (thisArg === null || thisArg === globalThis) return 0;
  const key = Object.getPrototypeOf(thisArg) as object | null;
  if (key === Object.prototype || key === null) return 0;
  if (key === lastKey) return lastId;
  let id = idOfKey.get(key);
  if (id === undefined) {
    const name = thisName(thisArg);
    id = classIds.get(name);
    if (id === undefined) {
      if (classNames.length >= MAX_CLASSES) return -1;
      id = classNames.push(name) - 1;
      classIds.set(name, id);
    }
    idOfKey.set(key, id);
  }
  lastKey = key;
  lastId = id;
  return id;
}

/** check modes as numbers, for the call path: "off", "shape", "values". */
export const CHECK_OFF = 0;
export const CHECK_SHAPE = 1;
export const CHECK_VALUES = 2;
export const checkModeOf = (check: CheckMode): number => (check === 'off' ? CHECK_OFF : check === 'shape' ? CHECK_SHAPE : CHECK_VALUES);

/**
 * The "shape" signature (`mode` CHECK_SHAPE) of a call with `n` arguments whose first four
 * are `a0`..`a3`, in its integer form; -1 when it has none (another mode, more than four
 * arguments, an argument that is an object): then signatureOf() gives it. Takes the
 * arguments one by one, so the caller never builds an array for it.
 */
export function shapeSignature(mode: number, thisArg: unknown, n: number, a0: unknown, a1: unknown, a2: unknown, a3: unknown): number {
  if (mode !== CHECK_SHAPE || n > MAX_FAST) return -1;
  // A part that is -1 (an object argument, a `this` that does not fit) makes the whole negative.
  // Numbers, the usual arguments, are coded here (4, as primitiveCode codes them); the rest there.
  const code =
    ((thisArg === undefined ? 0 : classId(thisArg)) << 15) |
    (n << 12) |
    (n > 3 ? (typeof a3 === 'number' ? 4 : primitiveCode(a3)) << 9 : 0) |
    (n > 2 ? (typeof a2 === 'number' ? 4 : primitiveCode(a2)) << 6 : 0) |
    (n > 1 ? (typeof a1 === 'number' ? 4 : primitiveCode(a1)) << 3 : 0) |
    (n > 0 ? (typeof a0 === 'number' ? 4 : primitiveCode(a0)) : 0);
  return code < 0 ? -1 : code;
}

/** The signature of a call with `thisArg` and `args`; `values` adds the digest of their contents. */
export function signatureOf(thisArg: unknown, args: readonly unknown[], values: boolean): Signature {
  const n = args.length;
  const code = n <= MAX_FAST ? shapeSignature(CHECK_SHAPE, thisArg, n, args[0], args[1], args[2], args[3]) : -1;
  if (!values) return code >= 0 ? code : describeCall(thisArg, args);
  const shape = code >= 0 ? renderedShape(code) : describeCall(thisArg, args);
  return `${shape}${DIGEST_MARK}${DIGEST_VERSION}:${digestCall(args)}`;
}

/** The texts of the integer forms met so far (few: one per kind of call), and back. */
const rendered = new Map<number, string>();
const codes = new Map<string, number>();

function renderedShape(code: number): string {
  let text = rendered.get(code);
  if (text === undefined) {
    // A bound, should a program make calls of very many kinds.
    if (rendered.size >= 4096) {
      rendered.clear();
      codes.clear();
    }
    rendered.set(code, (text = renderSignature(code)));
    codes.set(text, code);
  }
  return text;
}

/** The stable text of a signature: `(number, string)`, `Mixup (tensor float32[64,8], array[2])`, and its digest if it has one. */
export function renderSignature(signature: Signature): string {
  if (typeof signature === 'string') return signature;
  const n = (signature >> 12) & 7;
  const parts: string[] = [];
  for (let i = 0; i < n; i++) parts.push(KINDS[(signature >> (3 * i)) & 7]!);
  return withThis(classNames[signature >>> 15]!, parts);
}

// --- Digests in signatures ---

/** What separates a signature's shape from its digest, then the digest's version and a colon. */
const DIGEST_MARK = ' #v';
const DIGEST_VERSION = 1;

/** A signature's text split into its shape and its digest (undefined: none), and the digest's version. */
interface Parts {
  readonly shape: string;
  readonly digest: string | undefined;
  readonly version: number | undefined;
}

function partsOf(signature: Signature): Parts {
  const text = renderSignature(signature);
  const at = text.lastIndexOf(DIGEST_MARK);
  const found = at === -1 ? null : /^ #v(\d+):([A-Za-z0-9_-]+)$/.exec(text.slice(at));
  if (found === null) return { shape: text, digest: undefined, version: undefined };
  return { shape: text.slice(0, at), digest: found[2], version: Number(found[1]) };
}

/** The shape of a call without its digest, to show in messages: `(tensor float32[64,8], tensor int32[64])`. */
export function shapeText(signature: Signature): string {
  return partsOf(signature).shape;
}

/**
 * The signature without its digest: what a check of shapes compares, in its integer form
 * when it has one, so that the student's call compares with it as a number.
 */
export function withoutDigest(signature: Signature): Signature {
  if (typeof signature === 'number' || signature.lastIndexOf(DIGEST_MARK) === -1) return signature;
  const shape = partsOf(signature).shape;
  return codes.get(shape) ?? shape;
}

/** Whether a signature's text carries a digest of its call's contents (any version). */
export function hasDigest(text: string): boolean {
  return partsOf(text).digest !== undefined;
}

/** How a call differs from the call it replays (differenceOf()). */
export type Difference =
  /** Another shape: `teacher` and `student` are the two shapes' texts. */
  | { readonly kind: 'shape'; readonly teacher: string; readonly student: string }
  /** The same shape (`shape`), other contents, first at `path` (`arguments[0].imgs`). */
  | { readonly kind: 'contents'; readonly shape: string; readonly path: string }
  /** The teacher's digest is of a version this package cannot read. */
  | { readonly kind: 'version'; readonly version: number };

/**
 * How the student's call differs from the teacher's call it replays, or undefined when
 * it does not: the same shape, and, when both carry a digest, the same contents. A
 * digest on one side only (a store recorded before digests, a check of shapes against a
 * stored call) compares shapes alone.
 */
export function differenceOf(teacher: Signature, student: Signature): Difference | undefined {
  if (teacher === student) return undefined;
  const t = partsOf(teacher);
  const s = partsOf(student);
  if (t.digest !== undefined && t.version !== DIGEST_VERSION) return { kind: 'version', version: t.version! };
  if (t.shape !== s.shape) return { kind: 'shape', teacher: t.shape, student: s.shape };
  if (t.digest === undefined || s.digest === undefined || !isDigest(t.digest) || sameContents(t.digest, s.digest)) return undefined;
  return { kind: 'contents', shape: s.shape, path: whereDiffers(t.digest, s.digest) };
}

function withThis(name: string, parts: readonly string[]): string {
  return `${name === '' ? '' : `${name} `}(${parts.join(', ')})`;
}

function describeCall(thisArg: unknown, args: readonly unknown[]): string {
  const parts: string[] = [];
  for (let i = 0; i < args.length; i++) parts.push(safely(() => describeArgument(args[i])));
  return withThis(safely(() => (noThis(thisArg) ? '' : thisName(thisArg))), parts);
}

/** A description that throws (a revoked proxy, a throwing trap) must not break the user's call. */
function safely(describe: () => string): string {
  try {
    return describe();
  } catch {
    return 'unreadable';
  }
}

const MAX_KEYS = 8;

function describeArgument(value: unknown): string {
  if (value === null) return 'null';
  const type = typeof value;
  if (type !== 'object') return type;
  const object = value as object;
  if (Array.isArray(object)) return `array[${object.length}]`;
  if (ArrayBuffer.isView(object)) {
    const name = object instanceof DataView ? 'DataView' : (Object.getPrototypeOf(object)?.constructor?.name ?? 'TypedArray');
    const length = object instanceof DataView ? object.byteLength : (object as unknown as { length: number }).length;
    return `${name}[${length}]`;
  }
  if (object instanceof ArrayBuffer) return `ArrayBuffer[${object.byteLength}]`;
  if (isTensor(object)) return `tensor ${object.dtype}[${object.shape.join(',')}]`;
  if (object instanceof Map) return `Map[${object.size}]`;
  if (object instanceof Set) return `Set[${object.size}]`;
  const proto = Object.getPrototypeOf(object);
  if (proto === Object.prototype || proto === null) {
    const keys = Object.keys(object).sort();
    if (keys.length <= MAX_KEYS) return `{${keys.join(', ')}}`;
    return `{${keys.slice(0, MAX_KEYS).join(', ')}, +${keys.length - MAX_KEYS} more #${hex(hashString(keys.join('\0')))}}`;
  }
  return className(object);
}

// FNV-1a, 32 bits, of the keys past the first MAX_KEYS of a plain object, so that a shape
// tells objects with other keys apart without listing them all.
const FNV = 0x811c9dc5;

function hex(hash: number): string {
  return (hash >>> 0).toString(16).padStart(8, '0');
}

function hashString(text: string): number {
  let h = FNV;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h;
}
