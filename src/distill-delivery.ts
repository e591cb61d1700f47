/**
 * The abstract delivery (MMRazor's DistillDelivery): a FIFO of outputs, recorded while
 * overrideData is false and replayed while it is true, for the calls that reach its
 * target while the delivery is active.
 */
import { DeliveryQueue } from './delivery-queue.js';
import { Entries, runScope, type Member } from './delivery-scope.js';
import type { Site } from './delivery-site.js';
import { errors, subject, warnings } from './errors.js';
import { PASS, runtime, type Frame, type Step } from './runtime.js';
import { parseTargetPath, toBase, type Base, type TargetPath } from './target-path.js';

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
  /** Outputs an override phase left unreplayed, dropped at its end so the next step stays aligned. */
  discarded: number;
}

/** Normalized constructor options. */
export interface NormalizedOptions {
  readonly path: TargetPath;
  readonly maxKeepData: number;
  readonly name: string | undefined;
  readonly base: Base;
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
  #site: Site | undefined;
  readonly #queue = new DeliveryQueue<unknown>();
  readonly #steps: Step[] = [];
  #pending = 0;
  #recorded = 0;
  #replayed = 0;
  #discarded = 0;
  #warned = false;

  protected constructor(options: NormalizedOptions) {
    this.target = options.path;
    this.maxKeepData = options.maxKeepData;
    this.name = options.name;
    this.base = options.base;
  }

  /** Finds the site of the target: the agent's, or a property patched after load. */
  protected abstract resolveSite(): Site;

  /** Caches a site resolved ahead of the first activation. */
  protected setSite(site: Site): void {
    this.#site = site;
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

  stats(): DeliveryStats {
    return { recorded: this.#recorded, replayed: this.#replayed, pending: this.#pending, discarded: this.#discarded };
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

  /** @internal Attaches to the target on the first activation. */
  activate(): void {
    if (this.#activations === 0) {
      const site = this.#site ?? this.resolveSite();
      this.#site = site;
      site.attach(this);
    }
    this.#activations++;
    state.active++;
  }

  /** @internal */
  deactivate(): void {
    this.#activations--;
    state.active--;
    if (this.#activations === 0) this.#site!.detach(this);
  }

  /** @internal Called by the site for each call while any delivery in the process is active. */
  deliverCall(frame: Frame | undefined, next: Function, thisArg: unknown, args: unknown[]): unknown {
    let f = frame;
    let index = -1;
    for (; f !== undefined; f = f.parent) {
      if (f.live && (index = f.members.indexOf(this)) !== -1) break;
    }
    let override: boolean;
    let step: Step | undefined;
    if (f !== undefined) {
      override = f.override ?? this.#override;
      if (f.steps !== undefined) {
        step = f.steps[index];
        if (step === undefined) throw errors.noStep(this.who);
      }
    } else if (this.#entries.count > 0) {
      override = this.#override;
    } else {
      return PASS;
    }
    return override ? this.replay(step) : this.record(step, next, thisArg, args);
  }

  private record(step: Step | undefined, next: Function, thisArg: unknown, args: unknown[]): unknown {
    if (step !== undefined && step.finished) return this.recordTooLate(next, thisArg, args);
    // Capacity is checked before the original runs, so a full queue never drops data.
    if (this.#pending >= this.maxKeepData) throw errors.queueFull(this.who, this.maxKeepData, this.#pending);
    state.recording++;
    let output: unknown;
    try {
      output = Reflect.apply(next, thisArg, args);
    } finally {
      state.recording--;
    }
    (step === undefined ? this.#queue : step.queue).push(output);
    if (step !== undefined) step.recorded++;
    this.#pending++;
    this.#recorded++;
    return output;
  }

  private replay(step: Step | undefined): unknown {
    let output: unknown;
    if (step === undefined) {
      if (this.#queue.size === 0) throw errors.queueEmpty(this.who, this.maxKeepData, this.#recorded);
      output = this.#queue.shift();
    } else {
      if (step.queue.size === 0) throw errors.stepExhausted(this.who, step.recorded);
      output = step.queue.shift();
      step.replayed++;
    }
    this.#pending--;
    this.#replayed++;
    return output;
  }

  /** A record phase still running after its override phase ended: its outputs are dropped, loudly. */
  private recordTooLate(next: Function, thisArg: unknown, args: unknown[]): unknown {
    const output = Reflect.apply(next, thisArg, args);
    this.#discarded++;
    this.warnOnce(warnings.tooLate(this.who));
    return output;
  }

  private warnOnce(message: string): void {
    if (this.#warned) return;
    this.#warned = true;
    process.emitWarning(message, { type: 'DistillDeliveryWarning', code: 'DISTILL_DELIVERY_LEFTOVER' });
  }

  /** @internal A record phase starts: its outputs go to a step of their own. */
  openStep(): Step {
    const step: Step = { queue: new DeliveryQueue<unknown>(), recorded: 0, replayed: 0, closed: false, claimed: false, finished: false };
    this.#steps.push(step);
    return step;
  }

  /** @internal A record phase ended. */
  closeStep(step: Step): void {
    step.closed = true;
  }

  /** @internal An override phase starts: it replays the oldest record phase not yet claimed. */
  claimStep(): Step | undefined {
    const step = this.#steps.find((s) => !s.claimed);
    if (step !== undefined) step.claimed = true;
    return step;
  }

  /** @internal An override phase ended: what it left would misalign the next step, so it goes, loudly. */
  finishStep(step: Step | undefined): void {
    if (step === undefined) return;
    step.finished = true;
    const i = this.#steps.indexOf(step);
    if (i !== -1) this.#steps.splice(i, 1);
    const left = step.queue.clear();
    if (left === 0) return;
    this.#pending -= left;
    this.#discarded += left;
    this.warnOnce(warnings.leftover(this.who, step.replayed, step.recorded));
  }
}
