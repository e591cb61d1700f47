/**
 * The abstract recorder (MMRazor's BaseRecorder): while active, each call that reaches
 * its target adds one record to `dataBuffer`, the call's output or its arguments; it
 * never changes what the call does. Entering it clears what it holds, as MMRazor's
 * `__enter__` does, so the records are those of the current `run()`, `enter()` or phase.
 *
 * It reaches calls through the same sites as deliveries (../sites/): the agent's load-time
 * sites, or a property patched after load while it is active. A function recorder resolves
 * its target when first entered; a method recorder when constructed, as MMRazor's do.
 */
import { errors, recorderErrors, recorderSubject } from '../errors.js';
import { runtime, type Frame } from '../runtime.js';
import { Entries, runScope, type Member, type Phase } from '../sites/scope.js';
import { resolveModule, resolvePropertyTarget, type ResolvedModule } from '../sites/resolve-target.js';
import type { RecorderLike, Site } from '../sites/site.js';
import type { Base, TargetPath } from '../target-path.js';
import { keepRecord, releaseKept } from '../values/keep.js';
import type { TensorLike } from '../values/tensor.js';
import { normalizeRecorderOptions } from './recorder-options.js';

const state = runtime.state;

/** A scope that clears its recorders once they are active: what entering a recorder does. */
export const CLEARS: Phase = {
  open: (members) => {
    for (const recorder of members as BaseRecorder[]) recorder.resetData();
    return [];
  },
  close: () => {},
};

export abstract class BaseRecorder implements Member, RecorderLike {
  /** The recorder's name (its key in a manager), if it has one. */
  readonly name: string | undefined;
  /** @internal true: it records each call's arguments; false: its output. */
  readonly inputs: boolean;
  /** The target path as given. */
  protected readonly target: TargetPath;
  protected readonly base: Base;
  readonly #who: string;
  readonly #kind: 'function' | 'method';
  readonly #entries = new Entries();
  #activations = 0;
  /** The target's site while the recorder is active; released at the last exit. */
  #site: Site | undefined;
  #module: ResolvedModule | undefined;
  /** One record per call since the last clear. */
  #data: unknown[] = [];
  /** The tensors the records hold, kept alive until the next clear. */
  #kept: TensorLike[] = [];
  /** The records came from a store (a replay's record phase): calls are not recorded until the next clear. */
  #fed = false;
  #recorded = 0;
  #fromStore = 0;

  protected constructor(type: string, options: unknown, pathKey: 'funcPath' | 'methodPath', inputs: boolean) {
    const normalized = normalizeRecorderOptions(type, options, pathKey);
    this.target = normalized.path;
    this.name = normalized.name;
    this.base = normalized.base;
    this.inputs = inputs;
    this.#kind = pathKey === 'funcPath' ? 'function' : 'method';
    this.#who = recorderSubject(this.target.raw, this.name);
    if (this.#kind === 'method') {
      if (this.target.members.length < 2) throw errors.methodPathTooShort(this.target.raw);
      // Checked now (as MMRazor's method recorders are), unless the agent instruments it when its module loads.
      const module = this.resolvedModule();
      if (this.planned(module) === undefined && !runtime.plannedModules.has(module.url)) resolvePropertyTarget(this.#who, this.target, module, 'method');
    }
  }

  /** `recorder "name" ("path")`, for messages. */
  protected get who(): string {
    return this.#who;
  }

  private resolvedModule(): ResolvedModule {
    return (this.#module ??= resolveModule(this.#who, this.target, this.base));
  }

  private planned(module: ResolvedModule): Site | undefined {
    return runtime.bindingSites.get(`${module.url}#${this.target.members.join('.')}`) as Site | undefined;
  }

  /** The site of the target: the agent's, or a property patched after load. */
  private resolveSite(): Site {
    const module = this.resolvedModule();
    return this.planned(module) ?? resolvePropertyTarget(this.#who, this.target, module, this.#kind);
  }

  /** One record per call since the recorder was last entered or cleared (MMRazor's `data_buffer`). */
  get dataBuffer(): readonly unknown[] {
    return this.#data;
  }

  get data_buffer(): readonly unknown[] {
    return this.#data;
  }

  /**
   * Record `recordIdx` (the call's place since the last clear, from 0), or item `dataIdx`
   * of it when the record is an array (an inputs record, an output that is an array).
   */
  getRecordData(recordIdx = 0, dataIdx?: number): unknown {
    if (!Number.isSafeInteger(recordIdx) || recordIdx < 0) throw recorderErrors.badIndex(this.#who, 'recordIdx', recordIdx);
    if (recordIdx >= this.#data.length) throw recorderErrors.recordOutOfRange(this.#who, recordIdx, this.#data.length);
    const record = this.#data[recordIdx];
    if (dataIdx === undefined) return record;
    if (!Number.isSafeInteger(dataIdx) || dataIdx < 0) throw recorderErrors.badIndex(this.#who, 'dataIdx', dataIdx);
    if (!Array.isArray(record)) throw recorderErrors.notAList(this.#who, recordIdx, dataIdx, record);
    if (dataIdx >= record.length) throw recorderErrors.dataOutOfRange(this.#who, recordIdx, dataIdx, record.length);
    return record[dataIdx];
  }

  get_record_data(recordIdx = 0, dataIdx?: number): unknown {
    return this.getRecordData(recordIdx, dataIdx);
  }

  /** Forgets every record, freeing the tensors they kept (MMRazor's `reset_data_buffer`). */
  resetData(): void {
    const kept = this.#kept;
    this.#data = [];
    this.#kept = [];
    this.#fed = false;
    releaseKept(kept);
  }

  reset_data(): void {
    this.resetData();
  }

  /** Activates the recorder process-wide until exit(), as Python's `with recorder:`; clears its records. */
  enter(): Disposable {
    this.activate();
    this.resetData();
    return this.#entries.push(() => this.deactivate());
  }

  /** Ends the most recent enter(); does nothing if the recorder is not entered. The records stay. */
  exit(): void {
    this.#entries.pop();
  }

  [Symbol.dispose](): void {
    this.exit();
  }

  /** Runs fn with the recorder active only in fn's async context (until a returned promise settles); clears its records first. */
  run<T>(fn: () => T): T {
    if (typeof fn !== 'function') throw errors.notCallable(this.#who, 'run(fn)', fn);
    return runScope([this], undefined, CLEARS, fn);
  }

  /** @internal Resolves and attaches the target on the first activation (Member.activate). */
  activate(): void {
    if (this.#activations === 0) {
      const site = this.resolveSite();
      site.attachRecorder(this);
      this.#site = site;
    }
    this.#activations++;
    state.active++;
  }

  /** @internal */
  deactivate(): void {
    this.#activations--;
    state.active--;
    if (this.#activations === 0) {
      this.#site!.detachRecorder(this);
      this.#site = undefined;
    }
  }

  /** @internal Whether it records a call made in `frame` (RecorderLike.records). */
  records(frame: Frame | undefined): boolean {
    if (this.#fed) return false;
    if (this.#entries.count > 0) return true;
    for (let f = frame; f !== undefined; f = f.parent) if (f.live && f.members.includes(this)) return true;
    return false;
  }

  /** @internal Keeps one call's record (RecorderLike.record). */
  record(value: unknown): void {
    this.#data.push(keepRecord(value, this.#who, this.#kept));
    this.#recorded++;
  }

  /**
   * @internal A replay's record phase: the records a store holds for it take the place of
   * its calls' (which are then not recorded), their tensors decoded for this recorder alone.
   */
  feed(records: readonly unknown[]): void {
    this.resetData();
    for (const value of records) this.#data.push(keepRecord(value, this.#who, this.#kept, true));
    this.#fed = true;
    this.#fromStore += records.length;
  }

  /** @internal What the agent's report counts: calls recorded in all, and records given back by a store. */
  counts(): { readonly recorded: number; readonly fromStore: number } {
    return { recorded: this.#recorded, fromStore: this.#fromStore };
  }
}
