/**
 * Manages several deliveries as one (MMRazor's DistillDeliveryManager), built from the
 * 1.x dict form `{ name: spec }` or the seed's list form `[spec, ...]`.
 */
import { DistillDelivery, type DeliveryStats, type DeliveryStep } from './distill-delivery.js';
import { Entries, runScope, type Phase } from '../sites/scope.js';
import { didYouMean, errors, describe, inContext, knownNames, subject } from '../errors.js';
import { FunctionOutputsDelivery } from './function-outputs-delivery.js';
import { MethodOutputsDelivery } from './method-outputs-delivery.js';
import type { Step } from '../runtime.js';
import { baseRelativeTo } from '../target-path.js';
import type { RandomMode } from '../values/draws.js';
import type { CheckMode } from '../values/signature.js';
import { normalizeStore, type StoreOptions } from '../store/options.js';
import type { LinkCloseOptions, LinkedStore, LinkedStoreClass, StorePhase, StoreSummary } from './linked-store.js';
import type { PhaseRecorders } from './phase-recorders.js';

export type DeliveryType = 'FunctionOutputs' | 'MethodOutputs' | 'FunctionOutputsDelivery' | 'MethodOutputsDelivery';

export interface DeliverySpec {
  type: DeliveryType;
  funcPath?: string;
  methodPath?: string;
  maxKeepData?: number;
  name?: string;
  base?: string | URL;
  /** Outputs as deep copies (default false: by reference). */
  copy?: boolean;
  /** How replayed calls are compared with the teacher's: "shape" (default), "values" or "off". */
  check?: CheckMode;
  /** "advance" (default): a replayed call advances Math.random by the draws its recorded call made; "off": it draws nothing. */
  random?: RandomMode;
  /** With a store: its outputs are only written to the store (record) and returned from it in record phases (replay); override phases leave its calls alone. */
  recordOnly?: boolean;
  /** MMRazor's spellings, accepted so its configs port as they are. */
  func_path?: string;
  method_path?: string;
  max_keep_data?: number;
}

export interface ManagerOptions {
  /** What relative module specifiers in the specs resolve against; default: the working directory. */
  base?: string | URL;
  /** How messages name where the specs came from; default "DistillDeliveryManager". */
  source?: string;
  /** A store the record phases write to (`mode: "record"`) or replay from (`"replay"`); see docs/store.md. */
  store?: StoreOptions;
  /** @internal Open the store at the first phase instead of now (the agent, in a process it was passed on to). */
  deferStore?: boolean;
  /** @internal The agent's config, for the runs a record run adds to its store: a hash of its text, and where it came from. */
  configHash?: string;
  /**
   * A RecorderManager whose recorders run with this manager's phases: each is active while
   * the phases its spec's `phase` names run (both by default), cleared as each starts; with
   * a store, the record phases' records are stored with the step (docs/api.md).
   */
  recorders?: PhaseRecorders;
}

const FUNCTION_KEYS = ['type', 'funcPath', 'func_path', 'maxKeepData', 'max_keep_data', 'name', 'base', 'copy', 'check', 'random', 'recordOnly'];
const METHOD_KEYS = ['type', 'methodPath', 'method_path', 'maxKeepData', 'max_keep_data', 'name', 'base', 'copy', 'check', 'random', 'recordOnly'];
const TYPES: Record<string, 'function' | 'method'> = {
  FunctionOutputs: 'function',
  FunctionOutputsDelivery: 'function',
  MethodOutputs: 'method',
  MethodOutputsDelivery: 'method',
};

/** Builds one delivery from a spec; `where` names the spec in messages. */
export function buildDelivery(spec: unknown, name: string, where: string, base: string | URL | undefined): DistillDelivery {
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
    throw errors.config(where, `expected a delivery spec object such as {"type": "FunctionOutputs", "funcPath": "./toy.js#toyFunc"}, but received ${describe(spec)}.`);
  }
  const record = spec as Record<string, unknown>;
  const type = record.type;
  const kind = typeof type === 'string' && Object.hasOwn(TYPES, type) ? TYPES[type] : undefined;
  if (kind === undefined) {
    throw errors.config(where, `"type" must be "FunctionOutputs" or "MethodOutputs" (or their "...Delivery" names), but received ${describe(type)}${didYouMean(type, Object.keys(TYPES))}.`);
  }
  const allowed = kind === 'function' ? FUNCTION_KEYS : METHOD_KEYS;
  for (const key of Object.keys(record)) {
    if (!allowed.includes(key)) {
      throw errors.config(where, `unknown key ${JSON.stringify(key)} for type "${type as string}"${didYouMean(key, allowed)}; use ${knownNames(key, allowed)}.`);
    }
  }
  if (record.name !== undefined && record.name !== name) {
    throw errors.config(where, `"name" ${describe(record.name)} differs from the key it is listed under; remove it or make them equal.`);
  }
  if (record.recordOnly !== undefined && typeof record.recordOnly !== 'boolean') {
    throw errors.config(`${where}.recordOnly`, `must be true or false, but received ${describe(record.recordOnly)}.`);
  }
  const options: Record<string, unknown> = { ...record, name };
  delete options.type;
  delete options.recordOnly;
  try {
    // A spec's relative base resolves against the manager's base (for the agent, the config file's folder).
    options.base = record.base === undefined ? base : baseRelativeTo(record.base, base);
    return kind === 'function' ? new FunctionOutputsDelivery(options as never) : new MethodOutputsDelivery(options as never);
  } catch (error) {
    throw inContext(error, where);
  }
}

/**
 * Record phases open a step per delivery; override phases replay the oldest unclaimed one.
 * A teacher step that throws (or rejects) will have no student step: its outputs are
 * dropped, so the next student replays the next teacher step, not this one's remains
 * (a store still writes it, marked failed, so that a replay's phase reads it in its turn).
 */
function recordSteps(notes?: PhaseNotes, store?: LinkedStore): Phase {
  let stored: StorePhase | undefined;
  return {
    open: (members) => {
      stored = store?.recordPhase();
      const steps = (members as DistillDelivery[]).map((d) => d.openStep(notes?.label));
      stored?.opened(steps);
      return steps;
    },
    close: (members, steps, failed, error) => {
      (members as DistillDelivery[]).forEach((d, i) => (failed ? d.discardStep(steps[i] as Step) : d.closeStep(steps[i] as Step)));
      notes?.ended?.(steps as Step[], failed);
      stored?.closed(steps as DeliveryStep[], failed, error);
    },
  };
}
function overrideSteps(notes?: PhaseNotes, store?: LinkedStore): Phase {
  return {
    open: (members) => {
      store?.overridePhase();
      return (members as DistillDelivery[]).map((d) => d.claimStep(notes?.label));
    },
    close: (members, steps, failed) => {
      // The counts are read before finishStep() drops what the student left.
      notes?.ended?.(steps as Step[], failed);
      (members as DistillDelivery[]).forEach((d, i) => d.finishStep(steps[i]));
    },
  };
}
const RECORD = recordSteps();
const OVERRIDE = overrideSteps();

/**
 * @internal What the agent tells a phase it runs: how messages name it (the phase
 * function's path), and what to call when it ends, with each delivery's step in
 * manager order (NODE_DEBUG=delivery logs the counts).
 */
export interface PhaseNotes {
  readonly label: string;
  ended?(steps: readonly Step[], failed: boolean): void;
}

export class DistillDeliveryManager {
  /** The managed deliveries by name (array specs are named by spec.name or their index). */
  readonly deliveries: Readonly<Record<string, DistillDelivery>>;
  readonly #members: DistillDelivery[];
  #override = false;
  readonly #entries = new Entries();
  readonly #store: LinkedStore | undefined;
  readonly #recorders: PhaseRecorders | undefined;

  constructor(deliveries?: Record<string, DeliverySpec> | DeliverySpec[] | null, options: ManagerOptions = {}) {
    const source = options.source ?? 'DistillDeliveryManager';
    const named: [string, unknown][] = [];
    if (Array.isArray(deliveries)) {
      deliveries.forEach((spec, i) => {
        const name = spec !== null && typeof spec === 'object' && typeof spec.name === 'string' ? spec.name : String(i);
        named.push([name, spec]);
      });
    } else if (deliveries !== undefined && deliveries !== null) {
      if (typeof deliveries !== 'object') {
        throw errors.config(source, `expected deliveries as an object of named specs or an array of specs, but received ${describe(deliveries)}.`);
      }
      named.push(...Object.entries(deliveries));
    }
    const byName: Record<string, DistillDelivery> = Object.create(null);
    const members: DistillDelivery[] = [];
    const recordOnly: string[] = [];
    for (const [name, spec] of named) {
      const where = `${source} deliveries[${JSON.stringify(name)}]`;
      if (Object.hasOwn(byName, name)) throw errors.config(where, `the name ${JSON.stringify(name)} is used twice; give each delivery its own name.`);
      const delivery = spec instanceof DistillDelivery ? spec : buildDelivery(spec, name, where, options.base);
      if (!(spec instanceof DistillDelivery) && (spec as DeliverySpec).recordOnly === true) recordOnly.push(name);
      Object.defineProperty(byName, name, { value: delivery, enumerable: true });
      members.push(delivery);
    }
    this.deliveries = Object.freeze(byName);
    this.#members = members;
    if (options.store === undefined && recordOnly.length > 0) {
      throw errors.config(`${source} deliveries[${JSON.stringify(recordOnly[0])}].recordOnly`, 'keeps outputs only in a store, and there is none; set "store", or remove recordOnly.');
    }
    this.#recorders = options.recorders;
    this.#store = options.store === undefined ? undefined : linkStore(options, source, Object.entries(byName), recordOnly);
    if (this.#store !== undefined && options.deferStore !== true) this.#store.open();
  }

  /** Setting it sets every delivery's overrideData. */
  get overrideData(): boolean {
    return this.#override;
  }

  set overrideData(value: boolean) {
    if (typeof value !== 'boolean') throw errors.notBoolean('DistillDeliveryManager', 'overrideData', value);
    for (const delivery of this.#members) delivery.overrideData = value;
    this.#override = value;
  }

  /** Enters every delivery in order; if one fails, exits those already entered and rethrows. */
  enter(): Disposable {
    return this.#entries.pushAll(this.#members);
  }

  /** Exits every delivery in reverse order (MMRazor exits in order; reverse undoes nested patches correctly). */
  exit(): void {
    this.#entries.pop();
  }

  [Symbol.dispose](): void {
    this.exit();
  }

  /** Runs fn with every delivery active only in fn's async context. */
  run<T>(fn: () => T): T {
    if (typeof fn !== 'function') throw errors.notCallable('DistillDeliveryManager', 'run(fn)', fn);
    return runScope(this.#members, undefined, undefined, fn);
  }

  /**
   * Runs fn as one teacher step: every delivery records, whatever its overrideData, into
   * a step of its own that the matching overridePhase() replays.
   */
  recordPhase<T>(fn: () => T, /** @internal */ notes?: PhaseNotes): T {
    if (typeof fn !== 'function') throw errors.notCallable('DistillDeliveryManager', 'recordPhase(fn)', fn);
    const phase = notes === undefined && this.#store === undefined ? RECORD : recordSteps(notes, this.#store);
    // The recorders' scope is entered first (MMRazor's `with teacher_recorders, deliveries:`), so a store fills them after they clear.
    if (this.#recorders !== undefined) return this.#recorders.phase('record', () => runScope(this.#members, false, phase, fn));
    return runScope(this.#members, false, phase, fn);
  }

  /**
   * Runs fn as one student step: every delivery replays the oldest record phase not yet
   * replayed, and no further; what it leaves is discarded with a warning at its end.
   */
  overridePhase<T>(fn: () => T, /** @internal */ notes?: PhaseNotes): T {
    if (typeof fn !== 'function') throw errors.notCallable('DistillDeliveryManager', 'overridePhase(fn)', fn);
    const phase = notes === undefined && this.#store === undefined ? OVERRIDE : overrideSteps(notes, this.#store);
    if (this.#recorders !== undefined) return this.#recorders.phase('override', () => runScope(this.#members, true, phase, fn));
    return runScope(this.#members, true, phase, fn);
  }

  /**
   * Closes the store, if the manager has one: waits until every written step is stored
   * and releases its files or connection. A record run's rank is marked complete (its
   * run ended as it should) unless `complete: false`, or a step was not written. Called at
   * exit if not before (complete when the exit status is 0); idempotent. Throws what kept
   * a step from being written, if anything did.
   */
  close(options: LinkCloseOptions = {}): void {
    const error = this.#store?.close({ complete: options.complete ?? true });
    if (error !== undefined) throw error;
  }

  /** @internal What the report says of the store, if there is one. */
  storeSummary(): StoreSummary | undefined {
    return this.#store?.summary();
  }

  stats(): Record<string, DeliveryStats> {
    return Object.fromEntries(Object.entries(this.deliveries).map(([name, delivery]) => [name, delivery.stats()]));
  }
}

/**
 * The store's link class (store-link.ts), handed over by the entry that may need it: the
 * package's index, or the agent when its config has a store. So a program with no store
 * never loads the store's modules (they were half the agent's own start-up).
 */
let storeLinks: LinkedStoreClass | undefined;

/** @internal Called with ../link/store-link.ts's StoreLink by src/index.ts, and by the agent before it builds a manager with a store. */
export function provideStoreLink(links: LinkedStoreClass): void {
  storeLinks = links;
}

/** The manager's store, linked to its deliveries (each named by its key in the manager). */
function linkStore(options: ManagerOptions, source: string, named: [string, DistillDelivery][], recordOnly: readonly string[]): LinkedStore {
  const store = normalizeStore(options.store, `${source} store`, options.base);
  if (storeLinks === undefined) throw new Error('distill-delivery: a manager with a store was built before the store was loaded (import the package by its name, "distill-delivery")');
  const recorders = options.recorders?.stored() ?? [];
  const clash = recorders.find((r) => named.some(([name]) => name === r.name));
  if (clash !== undefined) throw errors.config(`${source} recorders[${JSON.stringify(clash.name)}]`, 'has the name of a delivery; with a store, give each delivery and recorder its own name (the store keeps their records by name).');
  return new storeLinks(
    store,
    named.map(([name, delivery]) => {
      const method = delivery instanceof MethodOutputsDelivery;
      const target = method ? delivery.methodPath : (delivery as FunctionOutputsDelivery).funcPath;
      return { name, delivery, who: subject(target, name), recordOnly: recordOnly.includes(name), type: method ? 'MethodOutputs' : 'FunctionOutputs', target };
    }),
    recorders,
    { configHash: options.configHash, configSource: options.configHash === undefined ? undefined : source },
  );
}
