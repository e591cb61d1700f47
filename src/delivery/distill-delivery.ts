/**
 * The abstract delivery (MMRazor's DistillDelivery): a FIFO of outputs, recorded while
 * overrideData is false and replayed while it is true, for the calls that reach its
 * target while the delivery is active.
 */
import { DeliveryQueue } from './delivery-queue.js';
import { Entries, runScope, type Member } from './scope.js';
import { resolveModule, type ResolvedModule } from './resolve-target.js';
import type { Site } from './site.js';
import { errors, subject, warningCodes, warnings, type StepFacts } from '../errors.js';
import { OVERRIDE, PASS, RECORD, runtime, type Frame, type Part, type Step } from '../runtime.js';
import { parseTargetPath, toBase, type Base, type TargetPath } from '../target-path.js';

const state = runtime.state;

export interface DeliveryOptions {
  /** How many outputs may wait in the queue: a positive integer, default 1. */
  maxKeepData?: number;
  /** A name for messages and stats; the manager sets it to the delivery's key. */
  name?: string;
  /** What relative module specifiers resolve against: a folder, a file, or import.meta.url. Default: the working directory. */
  base?: string | URL;
}

export interface DeliveryStats {
  /** Outputs recorded in all. */
  recorded: number;
  /** Outputs replayed in all. */
  replayed: number;
  /** Outputs waiting in the queue now. */
  pending: number;
  /** Outputs an override phase left unreplayed, dropped at its end so the next step stays aligned (not enumerable). */
  discarded: number;
}

/** Normalized constructor options. */
export interface NormalizedOptions {
  readonly path: TargetPath;
  readonly maxKeepData: number;
  readonly name: string | undefined;
  readonly base: Base;
}

function newStep(number: number, recorder: string | undefined, missing = false): Step {
  return { queue: new DeliveryQueue<unknown>(), recorded: 0, replayed: 0, closed: missing, claimed: missing, finished: false, number, missing, recorder, replayer: undefined };
}

/** Why outputs were discarded, by the warning code of each cause. */
export type DiscardCause = keyof typeof warningCodes;

/** @internal What the agent's report and strict mode read beyond stats(). */
export interface DeliveryDetails {
  /** Record and override phases that ran with this delivery. */
  readonly records: number;
  readonly overrides: number;
  readonly discarded: Readonly<Record<DiscardCause, number>>;
  /** Calls refused with ERR_DELIVERY_QUEUE_EMPTY or ERR_DELIVERY_QUEUE_FULL. */
  readonly refused: number;
}

const SNAKE: Record<string, string> = { func_path: 'funcPath', method_path: 'methodPath', max_keep_data: 'maxKeepData' };

/** Validates a constructor's options; accepts MMRazor's snake_case spellings too. */
export function normalizeOptions(who: string, raw: unknown, pathKey: 'funcPath' | 'methodPath'): NormalizedOptions {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw errors.optionsNotObject(who, raw);
  const known = [pathKey, 'maxKeepData', 'name', 'base'];
  const aliases = Object.keys(SNAKE).filter((alias) => known.includes(SNAKE[alias]!));
  const options: Record<string, unknown> = {};
  const given = new Set<string>();
  for (const key of Object.keys(raw)) {
    const canonical = SNAKE[key] ?? key;
    if (!known.includes(canonical)) throw errors.unknownOption(who, key, [...known, ...aliases]);
    const value = (raw as Record<string, unknown>)[key];
    if (value === undefined) continue; // an option set to undefined is an option not given
    if (given.has(canonical) && options[canonical] !== value) {
      throw errors.conflictingAlias(who, canonical, Object.keys(SNAKE).find((k) => SNAKE[k] === canonical)!);
    }
    given.add(canonical);
    options[canonical] = value;
  }
  const name = options.name;
  if (name !== undefined && (typeof name !== 'string' || name === '')) {
    throw errors.badName(who, name);
  }
  const path = parseTargetPath(pathKey, options[pathKey]);
  const whoNow = subject(path.raw, name as string | undefined);
  const maxKeepData = options.maxKeepData === undefined ? 1 : options.maxKeepData;
  if (typeof maxKeepData !== 'number' || !Number.isSafeInteger(maxKeepData) || maxKeepData < 1) {
    throw errors.notPositiveInteger(whoNow, 'maxKeepData', maxKeepData);
  }
  return { path, maxKeepData, name: name as string | undefined, base: toBase(options.base) };
}

export abstract class DistillDelivery implements Member {
  /** How many outputs may wait in the queue. */
  readonly maxKeepData: number;
  /** The delivery's name (its key in a manager), if it has one. */
  readonly name: string | undefined;
  /** The target path as given. */
  protected readonly target: TargetPath;
  protected readonly base: Base;

  #override = false;
  readonly #entries = new Entries();
  #activations = 0;
  /** The target's site while the delivery is active; released at the last exit (see activate()). */
  #site: Site | undefined;
  #module: ResolvedModule | undefined;
  /** The queue of calls outside phases: a step that never ends, so every call has a step. */
  readonly #main = newStep(0, undefined);
  readonly #steps: Step[] = [];
  #pending = 0;
  #recorded = 0;
  #replayed = 0;
  #discarded = 0;
  readonly #discardedBy: Record<DiscardCause, number> = { leftover: 0, failed: 0, late: 0 };
  #records = 0;
  #overrides = 0;
  #refused = 0;
  /** Which warnings this delivery has given (each once). */
  readonly #warned = new Set<string>();
  /** From part() to take() or store(): the step of the call being delivered, and whether it records too late to keep. */
  #call = this.#main;
  #callLate = false;

  protected constructor(options: NormalizedOptions) {
    this.target = options.path;
    this.maxKeepData = options.maxKeepData;
    this.name = options.name;
    this.base = options.base;
  }

  /** Finds the site of the target: the agent's, or a property patched after load. */
  protected abstract resolveSite(): Site;

  /** The target's module, resolved once (its URL and file name: nothing that holds the module). */
  protected resolvedModule(): ResolvedModule {
    return (this.#module ??= resolveModule(this.who, this.target, this.base));
  }

  /** `delivery "name" ("path")` or `"path"`, for messages. */
  protected get who(): string {
    return subject(this.target.raw, this.name);
  }

  /** false: record (the teacher's phase); true: override (the student's). Read at call time. */
  get overrideData(): boolean {
    return this.#override;
  }

  set overrideData(value: boolean) {
    if (typeof value !== 'boolean') throw errors.notBoolean(this.who, 'overrideData', value);
    this.#override = value;
  }

  /** Outputs waiting in the queue. */
  get size(): number {
    return this.#pending;
  }

  /**
   * The counts as DESIGN.md gives them, `{ recorded, replayed, pending }`, plus `discarded`.
   * That one is not enumerable, so a stats object compares (deepEqual) and serializes
   * (JSON) exactly as the design's shape, while `stats().discarded` still reads it.
   */
  stats(): DeliveryStats {
    const stats = { recorded: this.#recorded, replayed: this.#replayed, pending: this.#pending };
    return Object.defineProperty(stats, 'discarded', { value: this.#discarded, enumerable: false, writable: true, configurable: true }) as DeliveryStats;
  }

  /** Activates the delivery process-wide until exit(), as Python's `with delivery:`. */
  enter(): Disposable {
    this.activate();
    return this.#entries.push(() => this.deactivate());
  }

  /** Ends the most recent enter(); does nothing if the delivery is not entered. */
  exit(): void {
    this.#entries.pop();
  }

  [Symbol.dispose](): void {
    this.exit();
  }

  /** Runs fn with the delivery active only in fn's async context (until a returned promise settles). */
  run<T>(fn: () => T): T {
    if (typeof fn !== 'function') throw errors.notCallable(this.who, 'run(fn)', fn);
    return runScope([this], undefined, undefined, fn);
  }

  /**
   * @internal Resolves and attaches to the target on the first activation. As MMRazor's
   * `__exit__` deletes its module and original function, the last deactivation lets go of
   * the site: an exited delivery holds its options, its queue and its counts, and nothing
   * of the target (module, exports, class, original function), so the next activation
   * resolves the target again.
   */
  activate(): void {
    if (this.#activations === 0) {
      const site = this.resolveSite();
      site.attach(this);
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
      this.#site!.detach(this);
      this.#site = undefined;
    }
  }

  /** @internal This delivery's part in a call made in `frame` (DeliveryLike.part). */
  part(frame: Frame | undefined): Part {
    let f = frame;
    let index = 0;
    // Usually the caller's own run() or phase activates this delivery first; else look further out.
    if (f !== undefined && (!f.live || f.members[0] !== this)) {
      f = this.activeFrame(f);
      index = f === undefined ? -1 : f.members.indexOf(this);
    }
    // A run() inside a phase that manages this delivery changes nothing: the phase decides.
    if (f !== undefined && f.override === undefined && f.parent !== undefined) {
      const phase = this.phaseFrame(f.parent);
      if (phase !== undefined) {
        f = phase;
        index = phase.members.indexOf(this);
      }
    }
    let override: boolean;
    let step = this.#main;
    if (f !== undefined) {
      override = f.override ?? this.#override;
      if (f.steps !== undefined) step = f.steps[index] ?? this.noStep();
    } else if (this.#entries.count > 0) {
      override = this.#override;
    } else {
      return PASS;
    }
    this.#call = step;
    if (override) return OVERRIDE;
    // A record phase still running after its override phase ended: what it records is dropped.
    this.#callLate = step.finished;
    // Capacity is checked before the original runs, so a full queue never drops data.
    if (!step.finished && this.#pending >= this.maxKeepData) this.full();
    return RECORD;
  }

  /** The innermost live frame, from `frame` outwards, that activates this delivery. */
  private activeFrame(frame: Frame | undefined): Frame | undefined {
    let f = frame;
    while (f !== undefined && !(f.live && f.members.includes(this))) f = f.parent;
    return f;
  }

  /** The innermost live phase frame, from `frame` outwards, that activates this delivery. */
  private phaseFrame(frame: Frame | undefined): Frame | undefined {
    let f = frame;
    while (f !== undefined && !(f.live && f.override !== undefined && f.members.includes(this))) f = f.parent;
    return f;
  }

  /** @internal The next recorded output, for a call part() said to override. */
  take(): unknown {
    const step = this.#call;
    if (step.queue.size === 0) this.empty(step);
    step.replayed++;
    this.#pending--;
    this.#replayed++;
    return step.queue.shift();
  }

  /** @internal Keeps the output of a call part() said to record, once the original has returned. */
  store(output: unknown): void {
    if (this.#callLate) return this.discard();
    const step = this.#call;
    step.queue.push(output);
    step.recorded++;
    this.#pending++;
    this.#recorded++;
  }

  // The rare outcomes of a call, kept out of the methods above so that V8 inlines those.

  private noStep(): never {
    this.#refused++;
    throw errors.stepEmpty(this.who, this.facts(newStep(0, undefined, true)));
  }

  private full(): never {
    this.#refused++;
    const step = this.#call;
    if (step === this.#main) throw errors.queueFull(this.who, this.maxKeepData, this.#pending);
    throw errors.stepFull(this.who, this.maxKeepData, this.facts(step));
  }

  private empty(step: Step): never {
    this.#refused++;
    if (step === this.#main) throw errors.queueEmpty(this.who, this.maxKeepData, this.#recorded);
    throw errors.stepEmpty(this.who, this.facts(step));
  }

  /** What a message about this step says (errors.StepFacts). */
  private facts(step: Step): StepFacts {
    const names = runtime.phases;
    return {
      step: step.number,
      agent: step.recorder !== undefined || step.replayer !== undefined,
      recorder: step.recorder,
      replayer: step.replayer,
      recorded: step.recorded,
      replayed: step.replayed,
      running: !step.closed,
      missing: step.missing,
      records: this.#records,
      overrides: this.#overrides,
      waitingEarlier: this.#pending - step.queue.size,
      names,
    };
  }

  /** @internal The counts the agent's report reads beyond stats(). */
  details(): DeliveryDetails {
    return { records: this.#records, overrides: this.#overrides, discarded: { ...this.#discardedBy }, refused: this.#refused };
  }

  /** A record phase still running after its override phase ended: its outputs are dropped, loudly. */
  private discard(): void {
    this.#discarded++;
    this.#discardedBy.late++;
    this.warnOnce('late', warnings.tooLate(this.who, phaseName('record', this.#call.recorder, this.#call.number)));
  }

  private warnOnce(kind: DiscardCause, message: string): void {
    if (this.#warned.has(kind)) return;
    this.#warned.add(kind);
    process.emitWarning(message, { type: 'DistillDeliveryWarning', code: warningCodes[kind] });
  }

  /** @internal A record phase starts: its outputs go to a step of their own. `phase`: how the agent names it. */
  openStep(phase?: string): Step {
    const step = newStep(++this.#records, phase);
    this.#steps.push(step);
    return step;
  }

  /** @internal A record phase ended. */
  closeStep(step: Step): void {
    step.closed = true;
  }

  /**
   * @internal An override phase starts: it replays the oldest record phase not yet
   * claimed, or, if none is left, a stand-in whose first call says why (`missing`).
   */
  claimStep(phase?: string): Step {
    this.#overrides++;
    const step = this.#steps.find((s) => !s.claimed) ?? newStep(0, undefined, true);
    step.claimed = true;
    step.replayer = phase;
    return step;
  }

  /** @internal An override phase ended: what it left would misalign the next step, so it goes, loudly. */
  finishStep(step: Step | undefined): void {
    if (step === undefined) return;
    const left = this.dropStep(step, 'leftover');
    if (left > 0) this.warnOnce('leftover', warnings.leftover(this.who, phaseName('override', step.replayer, step.number), step.replayed, step.recorded));
  }

  /** @internal A record phase failed: no override phase will replay what it recorded. */
  discardStep(step: Step): void {
    const left = this.dropStep(step, 'failed');
    if (left > 0) this.warnOnce('failed', warnings.failedStep(this.who, phaseName('record', step.recorder, step.number), left));
  }

  /** Removes a step, releasing what it still holds; returns how many outputs that was. */
  private dropStep(step: Step, cause: DiscardCause): number {
    step.finished = true;
    const i = this.#steps.indexOf(step);
    if (i !== -1) this.#steps.splice(i, 1);
    const left = step.queue.clear();
    this.#pending -= left;
    this.#discarded += left;
    this.#discardedBy[cause] += left;
    return left;
  }
}

/** `record phase "./train.js#teacherStep" (step 2)`, or `a recordPhase() (step 2)` when run by hand. */
function phaseName(kind: 'record' | 'override', label: string | undefined, number: number): string {
  const step = number > 0 ? ` (step ${number})` : '';
  return label === undefined ? `${kind === 'record' ? 'a' : 'an'} ${kind}Phase()${step}` : `${kind} phase "${label}"${step}`;
}
