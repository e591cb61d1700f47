/**
 * Manages several recorders as one (MMRazor's RecorderManager), built from `{ name: spec }`.
 * Handed to a DistillDeliveryManager (its `recorders` option, or the agent's config), its
 * recorders run with the manager's phases: each is active while the phases its spec names
 * run (both by default), and cleared as each of them starts; with a store, what the
 * record phases' recorders recorded is stored with the step and given back in a replay.
 */
import { errors, describe, inContext, recorderErrors } from '../errors.js';
import { runScope, Entries } from '../sites/scope.js';
import { baseRelativeTo } from '../target-path.js';
import { BaseRecorder, CLEARS } from './base-recorder.js';
import { FunctionInputsRecorder } from './function-inputs-recorder.js';
import { FunctionOutputsRecorder } from './function-outputs-recorder.js';
import { MethodInputsRecorder } from './method-inputs-recorder.js';
import { MethodOutputsRecorder } from './method-outputs-recorder.js';

export type RecorderType =
  | 'FunctionOutputs'
  | 'FunctionInputs'
  | 'MethodOutputs'
  | 'MethodInputs'
  | 'FunctionOutputsRecorder'
  | 'FunctionInputsRecorder'
  | 'MethodOutputsRecorder'
  | 'MethodInputsRecorder';

/** Which of a manager's phases a recorder is active in. */
export type RecorderPhase = 'record' | 'override';

export interface RecorderSpec {
  /** MMRazor's types, with or without "Recorder". */
  type: RecorderType;
  funcPath?: string;
  methodPath?: string;
  name?: string;
  base?: string | URL;
  /** Active in record phases, or override phases; both when left out. */
  phase?: RecorderPhase;
  /** MMRazor's spellings, accepted so its configs port as they are. */
  func_path?: string;
  method_path?: string;
  source?: string;
}

export interface RecorderManagerOptions {
  /** What relative module specifiers in the specs resolve against; default: the working directory. */
  base?: string | URL;
  /** How messages name where the specs came from; default "RecorderManager". */
  source?: string;
}

const CLASSES = {
  FunctionOutputs: FunctionOutputsRecorder,
  FunctionInputs: FunctionInputsRecorder,
  MethodOutputs: MethodOutputsRecorder,
  MethodInputs: MethodInputsRecorder,
} as const;
type ShortType = keyof typeof CLASSES;

function shortType(type: unknown): ShortType | undefined {
  if (typeof type !== 'string') return undefined;
  const short = type.endsWith('Recorder') ? type.slice(0, -'Recorder'.length) : type;
  return Object.hasOwn(CLASSES, short) ? (short as ShortType) : undefined;
}

/** The type a store and the report name a recorder by. */
function typeOf(recorder: BaseRecorder): ShortType {
  for (const [type, Class] of Object.entries(CLASSES)) if (recorder instanceof Class) return type as ShortType;
  throw new TypeError('distill-delivery: an unknown recorder class');
}

/** The target path a recorder was given. */
export function targetOf(recorder: BaseRecorder): string {
  const r = recorder as unknown as { funcPath?: string; methodPath?: string };
  return r.funcPath ?? r.methodPath!;
}

/** Builds one recorder from a spec; `where` names the spec in messages. */
function buildRecorder(spec: unknown, name: string, where: string, base: string | URL | undefined): { recorder: BaseRecorder; phases: readonly RecorderPhase[] } {
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
    throw errors.config(where, `expected a recorder spec object such as {"type": "MethodOutputs", "methodPath": "./model.js#MLP.features"}, but received ${describe(spec)}.`);
  }
  const record = spec as Record<string, unknown>;
  const type = shortType(record.type);
  if (type === undefined) {
    throw errors.config(where, `"type" must be "FunctionOutputs", "FunctionInputs", "MethodOutputs" or "MethodInputs" (or their "...Recorder" names), but received ${describe(record.type)}.`);
  }
  const method = type.startsWith('Method');
  const allowed = ['type', method ? 'methodPath' : 'funcPath', method ? 'method_path' : 'func_path', 'source', 'name', 'base', 'phase'];
  for (const key of Object.keys(record)) {
    if (!allowed.includes(key)) throw errors.config(where, `unknown key ${JSON.stringify(key)} for type "${record.type as string}"; use ${allowed.join(', ')}.`);
  }
  if (record.name !== undefined && record.name !== name) {
    throw errors.config(where, `"name" ${describe(record.name)} differs from the key it is listed under; remove it or make them equal.`);
  }
  const phase = record.phase;
  if (phase !== undefined && phase !== 'record' && phase !== 'override') {
    throw errors.config(`${where}.phase`, `must be "record" or "override" (or left out for both), but received ${describe(phase)}.`);
  }
  const options: Record<string, unknown> = { ...record, name };
  delete options.type;
  delete options.phase;
  try {
    options.base = record.base === undefined ? base : baseRelativeTo(record.base, base);
    return { recorder: new CLASSES[type](options as never), phases: phase === undefined ? ['record', 'override'] : [phase] };
  } catch (error) {
    throw inContext(error, where);
  }
}

/** A record phases' recorder as a store keeps it (the manager's PhaseRecorders, ../delivery/phase-recorders.ts). */
export interface StoredRecorderInfo {
  readonly name: string;
  readonly recorder: BaseRecorder;
  readonly type: string;
  readonly target: string;
}

export class RecorderManager {
  /** The managed recorders by name. */
  readonly recorders: Readonly<Record<string, BaseRecorder>>;
  readonly #members: BaseRecorder[] = [];
  readonly #byPhase: Record<RecorderPhase, BaseRecorder[]> = { record: [], override: [] };
  readonly #entries = new Entries();
  readonly #source: string;

  constructor(recorders?: Record<string, RecorderSpec | BaseRecorder> | null, options: RecorderManagerOptions = {}) {
    this.#source = options.source ?? 'RecorderManager';
    if (recorders !== undefined && recorders !== null && (typeof recorders !== 'object' || Array.isArray(recorders))) {
      throw errors.config(this.#source, `expected recorders as an object of named specs, such as {"feat": {"type": "MethodOutputs", "methodPath": "./model.js#MLP.features"}}, but received ${describe(recorders)}.`);
    }
    const byName: Record<string, BaseRecorder> = Object.create(null);
    for (const [name, spec] of Object.entries(recorders ?? {})) {
      const where = `${this.#source} recorders[${JSON.stringify(name)}]`;
      const built = spec instanceof BaseRecorder ? { recorder: spec, phases: ['record', 'override'] as const } : buildRecorder(spec, name, where, options.base);
      Object.defineProperty(byName, name, { value: built.recorder, enumerable: true });
      this.#members.push(built.recorder);
      for (const phase of built.phases) this.#byPhase[phase].push(built.recorder);
    }
    this.recorders = Object.freeze(byName);
  }

  /** The recorder named `name`; ERR_DELIVERY_RECORDER_NOT_FOUND names those there are. */
  getRecorder(name: string): BaseRecorder {
    if (typeof name === 'string' && Object.hasOwn(this.recorders, name)) return this.recorders[name]!;
    throw recorderErrors.notFound(name, this.#source, Object.keys(this.recorders));
  }

  get_recorder(name: string): BaseRecorder {
    return this.getRecorder(name);
  }

  /** Enters every recorder (each clears its records); if one fails, exits those already entered and rethrows. */
  enter(): Disposable {
    return this.#entries.pushAll(this.#members);
  }

  /** Exits every recorder, in reverse order; their records stay. */
  exit(): void {
    this.#entries.pop();
  }

  [Symbol.dispose](): void {
    this.exit();
  }

  /** Runs fn with every recorder active only in fn's async context; clears their records first. */
  run<T>(fn: () => T): T {
    if (typeof fn !== 'function') throw errors.notCallable(this.#source, 'run(fn)', fn);
    return runScope(this.#members, undefined, CLEARS, fn);
  }

  /** @internal Runs a manager's phase `fn` with the recorders of `kind` phases active, cleared first. */
  phase<T>(kind: RecorderPhase, fn: () => T): T {
    const members = this.#byPhase[kind];
    return members.length === 0 ? fn() : runScope(members, undefined, CLEARS, fn);
  }

  /** @internal The phases `recorder` is active in, when the manager runs with a delivery manager's phases. */
  phasesOf(recorder: BaseRecorder): RecorderPhase[] {
    return (['record', 'override'] as const).filter((kind) => this.#byPhase[kind].includes(recorder));
  }

  /** @internal The recorders of record phases, as a store keeps them. */
  stored(): readonly StoredRecorderInfo[] {
    return Object.entries(this.recorders)
      .filter(([, recorder]) => this.#byPhase.record.includes(recorder))
      .map(([name, recorder]) => ({ name, recorder, type: typeOf(recorder), target: targetOf(recorder) }));
  }
}
