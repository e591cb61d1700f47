/**
 * A site is one delivered target: the function that calls go through, and the
 * deliveries and recorders attached to it. Its wrapper is the only code on the hot path:
 * when no delivery or recorder anywhere is active it costs one load and one compare
 * before the original runs.
 *
 * A site is reached in one of two ways:
 * - a binding of a module instrumented at load time by the agent: the rewritten module
 *   calls `wrap()` / `fn()` (see ../instrument/source.ts); the wrapper stays for the life
 *   of the process and passes calls through while idle;
 * - a property patched after load (a class method, a CommonJS export, a builtin's
 *   export): `PropertySite` installs the wrapper with shimmer while a delivery or a
 *   recorder is attached and restores the property exactly when the last one detaches.
 *
 * Recorders (../recorder/) only observe: an inputs recorder keeps a call's arguments
 * before it runs, an outputs recorder what it returned, whether the original ran or a
 * delivery gave the output instead.
 */
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { errors, isClass } from '../errors.js';
import { OVERRIDE, PASS, RECORD, currentFrame, runtime, type DeliveryLike, type Frame } from '../runtime.js';
import { countDraws, drawsSince } from '../values/draws.js';
import { generatorKind, observeItems, type ItemObserver } from '../values/generator.js';
import { CHECK_OFF, CHECK_VALUES, shapeSignature, signatureOf, type Signature } from '../values/signature.js';
import { adoptConstructor, copyIdentity, deliveryWrapper, kindOf, phaseWrapper, type PhaseRunner } from './wrappers.js';

const state = runtime.state;
/** A call whose draws are not counted (no recording delivery advances them). */
const NOT_COUNTED = -1;

export type { PhaseRunner };

/** What a site needs from a recorder: whether it records a call, and what it keeps of one. */
export interface RecorderLike {
  /** true: it keeps a call's arguments, before the call runs; false: what the call returned. */
  readonly inputs: boolean;
  /** Whether it records a call made in `frame` (it is active there). */
  records(frame: Frame | undefined): boolean;
  /** Keeps one call's record: its arguments (a fresh array) or its output. */
  record(value: unknown): void;
}

export class Site {
  /** Deliveries attached (active somewhere), in attach order; the last one is outermost. */
  readonly attached: DeliveryLike[] = [];
  /** Recorders attached (active somewhere), in attach order (../recorder/). */
  readonly observers: RecorderLike[] = [];
  /** How many of them record arguments. */
  private inputRecorders = 0;
  /** Wrappers made by fn(), by original: a value read through a namespace may change. */
  private readonly wrappers = new WeakMap<Function, Function>();
  /** The wrappers themselves, so that none is wrapped again. */
  private readonly ownWrappers = new WeakSet<Function>();
  private lastOriginal: Function | undefined;
  private lastWrapper: Function | undefined;
  /**
   * Scratch for dispatch(): the recording deliveries of a call after the outermost. One
   * call at a time uses it, since calls made while one is recorded run as is.
   */
  private readonly recorders: DeliveryLike[] = [];
  /** Scratch for dispatch(): the signatures of the call for those `recorders`. */
  private readonly signatures: Signature[] = [];
  /** Whether installOn put this site's wrapper on a property: calls reach it from any module, not only through one. */
  onProperty = false;
  /**
   * Calls that reached dispatch() outside every phase and run(), and calls made while
   * another delivered call was being recorded (which pass through, part of that call):
   * counted only while some delivery is active, or the agent holds an activation open to
   * count them (../agent/outside-calls.ts), never on the idle path.
   */
  outside = 0;
  nested = 0;

  constructor(
    /** How the site is named in messages: the path as the user wrote it. */
    readonly label: string,
    /** For a phase site, the runner; undefined for a delivery site. */
    readonly phase?: PhaseRunner,
  ) {
    // What the wrappers call, an own property from the start (see attachRecorder()).
    this.dispatch = Site.prototype.dispatch;
  }

  attach(delivery: DeliveryLike): void {
    this.attached.push(delivery);
  }

  detach(delivery: DeliveryLike): void {
    const i = this.attached.lastIndexOf(delivery);
    if (i !== -1) this.attached.splice(i, 1);
  }

  /**
   * While a recorder is attached, the site's own `dispatch` (what its wrappers call) is
   * observe(), or observeOutputs() when no recorder wants the arguments; when the last one
   * detaches, it is the class's dispatch() again: the delivery path never checks for
   * recorders. The property is the site's own from its construction, and only ever
   * assigned: an own property added and deleted again changed the site's hidden class, and
   * V8 then compiled every later delivered call of the site slower (Node 22: the sync cycle
   * 29 to 61 ns in bench/per-call.js once its recorder rounds had run).
   */
  attachRecorder(recorder: RecorderLike): void {
    this.observers.push(recorder);
    if (recorder.inputs) this.inputRecorders++;
    this.route();
  }

  detachRecorder(recorder: RecorderLike): void {
    const i = this.observers.lastIndexOf(recorder);
    if (i === -1) return;
    this.observers.splice(i, 1);
    if (recorder.inputs) this.inputRecorders--;
    this.route();
  }

  private route(): void {
    this.dispatch = this.observers.length === 0 ? Site.prototype.dispatch : this.inputRecorders === 0 ? this.observeOutputs : this.observe;
  }

  /** Whether `value` is a wrapper this site made (a module re-exporting another target module's export). */
  made(value: unknown): boolean {
    return typeof value === 'function' && this.ownWrappers.has(value);
  }

  /**
   * The wrapper for a function this site delivers (itself if it already is one), for a
   * binding that will hold it in the original's place; throws if it is not a plain function.
   */
  wrap(original: unknown): Function {
    if (this.made(original)) return original as Function;
    if (typeof original !== 'function') throw errors.notAFunction(`"${this.label}"`, memberOf(this.label), original);
    if (isClass(original) && this.phase === undefined) throw errors.classTarget(`"${this.label}"`, memberOf(this.label));
    const wrapper = this.wrapperFor(original);
    adoptConstructor(wrapper, original);
    return wrapper;
  }

  /** For rewritten references: the wrapper of whatever value the name holds now. */
  fn(value: unknown): unknown {
    if (value === this.lastOriginal) return this.lastWrapper;
    if (typeof value !== 'function' || isClass(value) || this.ownWrappers.has(value)) return value;
    const wrapper = this.wrapperFor(value);
    this.lastOriginal = value;
    this.lastWrapper = wrapper;
    return wrapper;
  }

  /** The one wrapper of `original` at this site, made on first use; no checks. */
  wrapperFor(original: Function): Function {
    let wrapper = this.wrappers.get(original);
    if (wrapper === undefined) {
      wrapper = this.makeWrapper(original);
      this.wrappers.set(original, wrapper);
    }
    return wrapper;
  }

  private makeWrapper(original: Function): Function {
    const kind = kindOf(original);
    const wrapper = this.phase === undefined ? deliveryWrapper(kind, original, this) : phaseWrapper(kind, original, this.phase);
    copyIdentity(wrapper, original);
    this.ownWrappers.add(wrapper);
    return wrapper;
  }

  /**
   * A call while some delivery in the process is active, on the common path: one delivery
   * attached, no delivered call being recorded around it. The original is called here and
   * the rest is in small methods, so that V8 can inline this into the wrapper and the
   * wrapper into its caller, and then the arguments are never an array (V8 does so while
   * this function and what its own optimized code inlined fit its budget:
   * bench/profile-cycle.js). Every other call goes to dispatchAll(), which does the same
   * for any number of deliveries.
   */
  dispatch(original: Function, thisArg: unknown, ...args: unknown[]): unknown {
    const attached = this.attached;
    if (attached.length !== 1 || state.recording !== 0) return this.dispatchAll(original, thisArg, ...args);
    const frame = currentFrame(state);
    if (frame === undefined) this.outside++;
    const delivery = attached[0]!;
    const part = delivery.part(frame);
    if (part === PASS) return Reflect.apply(original, thisArg, args);
    if (part === RECORD) delivery.admit();
    const check = delivery.checkMode;
    let signature: Signature = check === CHECK_OFF ? 0 : shapeSignature(check, thisArg, args.length, args[0], args[1], args[2], args[3]);
    if (signature === -1) signature = signatureOf(thisArg, args, check === CHECK_VALUES);
    if (part === OVERRIDE) return delivery.take(signature);
    // The original is called here, where V8 inlines it too; the bookkeeping around it is in small methods.
    const mark = this.begin(delivery.advances);
    let output: unknown;
    try {
      output = Reflect.apply(original, thisArg, args);
    } catch (error) {
      this.recordThrew(delivery, signature, 0, error, mark);
      throw error;
    }
    return this.recorded(delivery, signature, 0, output, original, mark);
  }

  /** Before a recorded call runs: nested delivered calls pass through, and its draws are counted if `counts`. */
  private begin(counts: boolean): number {
    state.recording++;
    return counts ? countDraws() : NOT_COUNTED;
  }

  /** A recorded call returned: the recording deliveries keep its output, and the draws counted since `mark`. */
  private recorded(recorder: DeliveryLike, signature: Signature, inner: number, output: unknown, original: Function, mark: number): unknown {
    state.recording--;
    return this.keep(recorder, signature, inner, output, original, mark === NOT_COUNTED ? 0 : drawsSince(mark));
  }

  /** A recorded call threw: each recording delivery is told. */
  private recordThrew(recorder: DeliveryLike, signature: Signature, inner: number, error: unknown, mark: number): void {
    state.recording--;
    this.threw(recorder, signature, inner, error, mark === NOT_COUNTED ? 0 : drawsSince(mark));
  }

  /**
   * A call while some delivery in the process is active. Each attached delivery, the
   * outermost first, says its part: the first that overrides gives the output, and every
   * one before it that records keeps that output; if none overrides, the original runs
   * (once) and the recording ones keep what it returns, with the Math.random draws it
   * made (counted while it runs, for deliveries that advance them). Each delivery that
   * checks gets the call's signature, taken before the original runs. The original is
   * applied in one place only.
   */
  private dispatchAll(original: Function, thisArg: unknown, ...args: unknown[]): unknown {
    const attached = this.attached;
    // The outermost recording delivery; any others (several deliveries on one target) go to `recorders`.
    let recorder: DeliveryLike | undefined;
    let signature: Signature = 0;
    let inner = 0;
    // A delivered call made while another is being recorded is part of that call's work,
    // which the student replays as a whole: it runs as is.
    if (state.recording === 0) {
      const frame = currentFrame(state);
      if (frame === undefined) this.outside++;
      for (let i = attached.length - 1; i >= 0; i--) {
        const delivery = attached[i]!;
        const part = delivery.part(frame);
        if (part === PASS) continue;
        if (part === RECORD) delivery.admit();
        // The arguments are read one by one: only a call the integer form cannot encode passes them on.
        let sig: Signature = delivery.checkMode === CHECK_OFF ? 0 : shapeSignature(delivery.checkMode, thisArg, args.length, args[0], args[1], args[2], args[3]);
        if (sig === -1) sig = signatureOf(thisArg, args, delivery.checkMode === CHECK_VALUES);
        if (part === OVERRIDE) return recorder === undefined ? delivery.take(sig) : this.keepTaken(recorder, signature, inner, delivery, sig, original);
        if (recorder === undefined) {
          recorder = delivery;
          signature = sig;
        } else inner = this.alsoRecords(delivery, sig, inner);
      }
    } else this.nested++;
    if (recorder === undefined) return Reflect.apply(original, thisArg, args);
    const mark = this.begin(recorder.advances || inner > 0);
    let output: unknown;
    try {
      output = Reflect.apply(original, thisArg, args);
    } catch (error) {
      this.recordThrew(recorder, signature, inner, error, mark);
      throw error;
    }
    return this.recorded(recorder, signature, inner, output, original, mark);
  }

  /**
   * A call while a recorder is attached: each active inputs recorder keeps the arguments
   * (a fresh array: `args` itself) before the call, then observeOutputs() makes it.
   */
  private observe(original: Function, thisArg: unknown, ...args: unknown[]): unknown {
    const frame = currentFrame(state);
    for (const recorder of this.observers) if (recorder.inputs && recorder.records(frame)) recorder.record(args);
    return this.observeOutputs(original, thisArg, ...args);
  }

  /**
   * A call while outputs recorders are attached: it is made as the deliveries make it, and
   * each active outputs recorder keeps what it returned: the original's output, or the
   * output a delivery replayed in its place. A call that throws leaves no output to keep.
   * Recorders see every call, nested ones too: they never change what a call does. `args`
   * is only spread, so V8 need not build the array.
   */
  private observeOutputs(original: Function, thisArg: unknown, ...args: unknown[]): unknown {
    const frame = currentFrame(state);
    const observers = this.observers;
    let outputs: RecorderLike | undefined;
    let more: RecorderLike[] | undefined;
    for (let i = 0; i < observers.length; i++) {
      const recorder = observers[i]!;
      if (recorder.inputs || !recorder.records(frame)) continue;
      if (outputs === undefined) outputs = recorder;
      else (more ??= []).push(recorder);
    }
    const output = this.attached.length === 0 ? Reflect.apply(original, thisArg, args) : Site.prototype.dispatch.call(this, original, thisArg, ...args);
    if (outputs !== undefined) {
      outputs.record(output);
      if (more !== undefined) for (const recorder of more) recorder.record(output);
    }
    return output;
  }

  /** Another delivery records the call too (several on one target): it goes to the scratch lists. */
  private alsoRecords(delivery: DeliveryLike, signature: Signature, inner: number): number {
    this.signatures[inner] = signature;
    this.recorders[inner] = delivery;
    return inner + 1;
  }

  /** The recording deliveries of a call keep its output (the common case, kept small so that V8 inlines it). */
  private keep(recorder: DeliveryLike, signature: Signature, inner: number, output: unknown, original: Function, draws: number): unknown {
    if (inner > 0 || (typeof output === 'object' && output !== null)) return this.keepAll(recorder, signature, inner, output, original, draws);
    recorder.store(output, signature, draws);
    return output;
  }

  /** An inner delivery overrides a call that outer ones record: they keep its output, and the draws its replay advanced. */
  private keepTaken(recorder: DeliveryLike, signature: Signature, inner: number, delivery: DeliveryLike, sig: Signature, original: Function): unknown {
    const mark = countDraws();
    let output: unknown;
    try {
      output = delivery.take(sig);
    } catch (error) {
      drawsSince(mark);
      throw error;
    }
    return this.keep(recorder, signature, inner, output, original, drawsSince(mark));
  }

  /**
   * Every recording delivery of a call keeps its output, innermost first. A generator
   * function's output is its items: the teacher gets a generator that records each item
   * as it is consumed.
   */
  private keepAll(recorder: DeliveryLike, signature: Signature, inner: number, output: unknown, original: Function, draws: number): unknown {
    const kind = typeof output === 'object' && output !== null ? generatorKind(original) : undefined;
    if (kind !== undefined) {
      const logs: (object | undefined)[] = [];
      for (let i = inner - 1; i >= 0; i--) logs.push(this.recorders[i]!.storeItems(kind, this.signatures[i]!, draws));
      logs.push(recorder.storeItems(kind, signature, draws));
      return observeItems(kind, output as object, logs.filter((log): log is ItemObserver => log !== undefined));
    }
    for (let i = inner - 1; i >= 0; i--) this.recorders[i]!.store(output, this.signatures[i]!, draws);
    recorder.store(output, signature, draws);
    return output;
  }

  /** The call threw: each recording delivery is told (nothing is kept; a store writes it down). */
  private threw(recorder: DeliveryLike, signature: Signature, inner: number, error: unknown, draws: number): void {
    for (let i = inner - 1; i >= 0; i--) this.recorders[i]!.threw(error, this.signatures[i]!, draws);
    recorder.threw(error, signature, draws);
  }

  /**
   * Installs a wrapper on owner[key] for good (agent targets, patched once their class
   * or module exists) and registers it, so deliveries created in code reuse this site.
   */
  installOn(owner: object, key: string): void {
    const current = (owner as Record<string, unknown>)[key];
    if (typeof current !== 'function') throw errors.notAFunction(`"${this.label}"`, memberOf(this.label), current);
    if (isClass(current) && this.phase === undefined) throw errors.classTarget(`"${this.label}"`, memberOf(this.label));
    if (!ours.has(current) && !this.made(current)) {
      const wrapper = this.wrapperFor(current);
      defineValue(owner, key, wrapper);
      adoptConstructor(wrapper, current);
    }
    sitesOf(owner).set(key, this);
    this.onProperty = true;
  }
}

/** The part of a target path after "#". */
export function memberOf(label: string): string {
  const hash = label.indexOf('#');
  return hash === -1 ? label : label.slice(hash + 1);
}

/** Every wrapper this package installed on a property, so none is wrapped twice. */
const ours = new WeakSet<Function>();

let shimmer: typeof import('shimmer') | undefined;

const hasPropertyIsEnumerable = (o: object): boolean => typeof (o as { propertyIsEnumerable?: unknown }).propertyIsEnumerable === 'function';

/** Sets owner[key] = value keeping enumerability, through shimmer where the owner allows it. */
function defineValue(owner: object, key: PropertyKey, value: Function): void {
  ours.add(value);
  const own = Object.getOwnPropertyDescriptor(owner, key);
  if (own !== undefined && !own.configurable) {
    (owner as Record<PropertyKey, unknown>)[key] = value;
    return;
  }
  // shimmer calls propertyIsEnumerable on the owner, and on the wrapper once it carries shimmer's
  // marks (a second activation): a function of another prototype (null, a bare object) may lack it.
  if (typeof key === 'string' && hasPropertyIsEnumerable(owner) && hasPropertyIsEnumerable(value)) {
    // shimmer also marks the wrapper (__original, __unwrap, __wrapped), which other
    // shimmer-based instrumentation (OpenTelemetry) reads to avoid wrapping twice.
    // Loaded on first use: start-up with the agent pays for it only if a property is patched.
    shimmer ??= createRequire(import.meta.url)('shimmer') as typeof import('shimmer');
    shimmer.wrap(owner as Record<string, Function>, key, () => value as never);
    return;
  }
  Object.defineProperty(owner, key, { value, writable: true, configurable: true, enumerable: own?.enumerable ?? false });
}

/**
 * A property patched after load, while at least one delivery is attached. Restores the
 * property exactly: the original descriptor if it was an own property, or deletes the
 * own property the patch created when the method was inherited.
 */
export class PropertySite extends Site {
  private installed: Function | undefined;
  private ownDescriptor: PropertyDescriptor | undefined;

  constructor(
    label: string,
    private readonly owner: object,
    private readonly key: string,
    private readonly builtin: boolean,
  ) {
    super(label);
  }

  /** Whether nothing is attached: the property holds the original. */
  private idle(): boolean {
    return this.attached.length === 0 && this.observers.length === 0;
  }

  override attach(delivery: DeliveryLike): void {
    if (this.idle()) this.install();
    super.attach(delivery);
  }

  override detach(delivery: DeliveryLike): void {
    super.detach(delivery);
    if (this.idle()) this.uninstall();
  }

  override attachRecorder(recorder: RecorderLike): void {
    if (this.idle()) this.install();
    super.attachRecorder(recorder);
  }

  override detachRecorder(recorder: RecorderLike): void {
    super.detachRecorder(recorder);
    if (this.idle()) this.uninstall();
  }

  private install(): void {
    const owner = this.owner as Record<string, unknown>;
    const original = owner[this.key];
    if (typeof original !== 'function') throw errors.notAFunction(`"${this.label}"`, memberOf(this.label), original);
    this.ownDescriptor = Object.getOwnPropertyDescriptor(owner, this.key);
    const wrapper = this.wrapperFor(original);
    defineValue(owner, this.key, wrapper);
    this.installed = wrapper;
    if (this.builtin) syncBuiltinESMExports();
  }

  private uninstall(): void {
    const owner = this.owner as Record<string, unknown>;
    const wrapper = this.installed;
    this.installed = undefined;
    // If someone wrapped on top of us, leave their wrapper: ours passes calls through now.
    if (wrapper === undefined || owner[this.key] !== wrapper) return;
    const own = this.ownDescriptor;
    this.ownDescriptor = undefined; // holds the original: let it go with the patch
    if (own === undefined) delete owner[this.key];
    else if (own.configurable) Object.defineProperty(owner, this.key, own);
    else owner[this.key] = own.value;
    if (this.builtin) syncBuiltinESMExports();
  }
}

/** The sites of an object's properties, by key. */
function sitesOf(owner: object): Map<PropertyKey, unknown> {
  let byKey = runtime.propertySites.get(owner);
  if (byKey === undefined) runtime.propertySites.set(owner, (byKey = new Map()));
  return byKey;
}

/** The site of owner[key], shared by every delivery and recorder on that property. */
export function propertySite(label: string, owner: object, key: string, builtin: boolean): Site {
  const byKey = sitesOf(owner);
  let site = byKey.get(key) as Site | undefined;
  if (site === undefined) byKey.set(key, (site = new PropertySite(label, owner, key, builtin)));
  return site;
}
