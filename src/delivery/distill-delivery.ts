/**
 * The abstract delivery (MMRazor's DistillDelivery): a FIFO of outputs, recorded while
 * overrideData is false and replayed while it is true, for the calls that reach its
 * target while the delivery is active.
 */
import { DeliveryQueue, SignatureRuns } from './delivery-queue.js';
import { Entries, runScope, type Member } from '../sites/scope.js';
import { resolveModule, type ResolvedModule } from '../sites/resolve-target.js';
import type { Site } from '../sites/site.js';
import type { NormalizedOptions } from './delivery-options.js';
import { errors, subject, UNDEFINED_OUTPUTS_WARNING, warningCodes, warnings, type StepFacts } from '../errors.js';
import { builtin, OVERRIDE, PASS, RECORD, runtime, type Frame, type Part, type Step } from '../runtime.js';
import type { Base, TargetPath } from '../target-path.js';
import { advanceDraws, type RandomMode } from '../values/draws.js';
import { ItemLog, type ItemObserver, type ItemsKind } from '../values/generator.js';
import { handOut, keepOutput, release, type Held } from '../values/keep.js';
import { CHECK_OFF, checkModeOf, differenceOf, forgetLastThis, type CheckMode, type Difference, type Signature } from '../values/signature.js';

export { normalizeOptions, type CheckMode, type DeliveryOptions, type NormalizedOptions, type RandomMode } from './delivery-options.js';

const debug = builtin('node:util').debuglog('delivery');

const state = runtime.state;

export interface DeliveryStats {
  /** Outputs recorded in all. */
  recorded: number;
  /** Outputs replayed in all. */
  replayed: number;
  /** Outputs waiting in the queue now. */
  pending: number;
  /** Outputs an override phase left unreplayed, dropped at its end so the next step stays aligned (not enumerable). */
  discarded: number;
  /** Replayed calls that did not match the teacher's (ERR_DELIVERY_DIVERGED) (not enumerable). */
  diverged: number;
  /** Recorded outputs that were undefined (not enumerable). */
  undefinedOutputs: number;
}

/** A step as a delivery keeps it: its outputs, the signatures of the calls that made them, and their Math.random draws. */
export interface DeliveryStep extends Step {
  readonly signatures: SignatureRuns<Signature>;
  /**
   * With `random: "advance"`: how many times each recorded call drew from Math.random, in
   * queue order, from the output numbered `drawn` on (the outputs before it drew nothing,
   * so a delivery whose calls never draw never touches it); -1: none yet.
   */
  readonly draws: SignatureRuns<number>;
  drawn: number;
  /** What a store keeps of this step (store-link.ts); undefined without a store. */
  store: StepStore | undefined;
}

/** @internal What a store link keeps on a step: the records it writes or replays, and how a mismatch is told. */
export interface StepStore {
  /** The error for a student's call (`call`, from 0) that differs from the stored call it replays; undefined: the usual ERR_DELIVERY_DIVERGED. */
  mismatch(who: string, call: number, difference: Difference): Error | undefined;
}

function newStep(number: number, recorder: string | undefined, missing = false): DeliveryStep {
  return {
    queue: new DeliveryQueue<unknown>(),
    signatures: new SignatureRuns<Signature>(),
    draws: new SignatureRuns<number>(),
    drawn: -1,
    recorded: 0,
    replayed: 0,
    closed: missing,
    claimed: missing,
    finished: false,
    number,
    missing,
    recorder,
    replayer: undefined,
    store: undefined,
  };
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
  /** The codes of the warnings it gave while the run went on (each once), which the agent's end does not give again. */
  readonly warned: readonly string[];
}

export abstract class DistillDelivery implements Member {
  /** How many outputs may wait in the queue. */
  readonly maxKeepData: number;
  /** The delivery's name (its key in a manager), if it has one. */
  readonly name: string | undefined;
  /** Whether outputs are kept and handed out as deep copies. */
  readonly copy: boolean;
  /** How each replayed call is compared with the teacher's. */
  readonly check: CheckMode;
  /** Whether a replayed call advances Math.random by the draws its recorded call made. */
  readonly random: RandomMode;
  /** The target path as given. */
  protected readonly target: TargetPath;
  protected readonly base: Base;
  /**
   * @internal How the site computes the signature of the call part() last answered
   * (DeliveryLike.checkMode): `check` as a number, except that a store's deliveries ask for
   * the contents' digest (CHECK_VALUES) on the calls a store records or replays (../link/store-calls.ts).
   */
  checkMode: number;
  /** @internal `random` as a boolean for the call path (DeliveryLike.advances). */
  readonly advances: boolean;
  readonly #who: string;

  #override = false;
  readonly #entries = new Entries();
  #activations = 0;
  /** The target's site while the delivery is active; released at the last exit (see activate()). */
  #site: Site | undefined;
  #module: ResolvedModule | undefined;
  /** The queue of calls outside phases: a step that never ends, so every call has a step. */
  readonly #main = newStep(0, undefined);
  readonly #steps: DeliveryStep[] = [];
  #pending = 0;
  #recorded = 0;
  #replayed = 0;
  #discarded = 0;
  readonly #discardedBy: Record<DiscardCause, number> = { leftover: 0, failed: 0, late: 0 };
  #records = 0;
  #overrides = 0;
  #refused = 0;
  #diverged = 0;
  #undefinedOutputs = 0;
  /** Which warnings this delivery has given (each once). */
  readonly #warned = new Set<string>();
  /** From part() to take() or store(): the step of the call being delivered, and whether it records too late to keep. */
  #call: DeliveryStep = this.#main;
  #callLate = false;
  /**
   * What part() found for the last frame it resolved, valid while `#plans` has not moved:
   * calls of one run() or phase share a frame, so each resolves it once. Its inputs are the
   * frames that activate this delivery (which begin and end with an activation), the
   * enter() count (the same) and overrideData (its setter): each of those moves `#plans`.
   */
  #plans = 0;
  #planned = -1;
  #planFrame: Frame | undefined;
  #planPart: Part = PASS;
  #planStep: DeliveryStep = this.#main;

  protected constructor(options: NormalizedOptions) {
    this.target = options.path;
    this.maxKeepData = options.maxKeepData;
    this.name = options.name;
    this.base = options.base;
    this.copy = options.copy;
    this.check = options.check;
    this.random = options.random;
    this.#who = subject(this.target.raw, this.name);
    this.checkMode = checkModeOf(options.check);
    this.advances = options.random === 'advance';
  }

  /** Finds the site of the target: the agent's, or a property patched after load. */
  protected abstract resolveSite(): Site;

  /** The target's module, resolved once (its URL and file name: nothing that holds the module). */
  protected resolvedModule(): ResolvedModule {
    return (this.#module ??= resolveModule(this.who, this.target, this.base));
  }

  /** `delivery "name" ("path")` or `"path"`, for messages. */
  protected get who(): string {
    return this.#who;
  }

  /** false: record (the teacher's phase); true: override (the student's). Read at call time. */
  get overrideData(): boolean {
    return this.#override;
  }

  set overrideData(value: boolean) {
    if (typeof value !== 'boolean') throw errors.notBoolean(this.who, 'overrideData', value);
    this.#override = value;
    this.#plans++;
  }

  /** Outputs waiting in the queue. */
  get size(): number {
    return this.#pending;
  }

  /**
   * The counts `{ recorded, replayed, pending }`, plus `discarded`, `diverged` and
   * `undefinedOutputs`. Those three are not enumerable, so a stats object compares
   * (deepEqual) and serializes (JSON) as exactly the first three, while
   * `stats().discarded` still reads it.
   */
  stats(): DeliveryStats {
    const stats = { recorded: this.#recorded, replayed: this.#replayed, pending: this.#pending };
    const hidden = (value: number): PropertyDescriptor => ({ value, enumerable: false, writable: true, configurable: true });
    return Object.defineProperties(stats, {
      discarded: hidden(this.#discarded),
      diverged: hidden(this.#diverged),
      undefinedOutputs: hidden(this.#undefinedOutputs),
    }) as DeliveryStats;
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
    this.#plans++;
  }

  /** @internal */
  deactivate(): void {
    this.#activations--;
    state.active--;
    // The plan lets go of its frame and step: a phase that has ended holds its steps.
    this.#plans++;
    this.#planFrame = undefined;
    this.#planStep = this.#main;
    if (this.#activations === 0) {
      this.#site!.detach(this);
      this.#site = undefined;
      forgetLastThis();
    }
  }

  /** @internal This delivery's part in a call made in `frame` (DeliveryLike.part); RECORD is followed by admit() before the call runs. */
  part(frame: Frame | undefined): Part {
    if (frame !== this.#planFrame || this.#planned !== this.#plans) this.plan(frame);
    this.#call = this.#planStep;
    return this.#planPart;
  }

  /** @internal Before a call part() said to record runs: whether its step still keeps it, and room in the queue. */
  admit(): void {
    const step = this.#call;
    // A record phase still running after its override phase ended: what it records is dropped.
    this.#callLate = step.finished;
    // Capacity is checked before the original runs, so a full queue never drops data.
    if (!step.finished && this.#pending >= this.maxKeepData) this.full();
  }

  /** Resolves this delivery's part in calls made in `frame`: whether it records or overrides them, and the step. */
  private plan(frame: Frame | undefined): void {
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
    let part: Part = PASS;
    let step = this.#main;
    if (f !== undefined) {
      part = (f.override ?? this.#override) ? OVERRIDE : RECORD;
      if (f.steps !== undefined) step = (f.steps[index] as DeliveryStep | undefined) ?? this.noStep();
    } else if (this.#entries.count > 0) {
      part = this.#override ? OVERRIDE : RECORD;
    }
    this.#planPart = part;
    this.#planStep = step;
    this.#planFrame = frame;
    this.#planned = this.#plans;
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

  /** @internal The next recorded output, for a call part() said to override; `signature` is the student's call's. */
  take(signature: Signature): unknown {
    const step = this.#call;
    if (step.queue.size === 0) this.empty(step);
    if (this.checkMode !== CHECK_OFF) {
      // The student's call must match the teacher's whose output it gets.
      const expected = step.signatures.peek();
      if (signature !== expected) this.mismatch(step, expected, signature);
      step.signatures.shift();
    }
    // The draws of the output about to be taken (number `replayed`), if it is one that has them.
    if (step.drawn !== -1 && step.replayed >= step.drawn && this.advances) advanceDraws(step.draws.take());
    step.replayed++;
    this.#pending--;
    this.#replayed++;
    const stored = step.queue.shift();
    return typeof stored === 'object' || stored === undefined ? this.toStudent(stored) : stored;
  }

  /** The student's value for what the queue kept: a Held one handed out; and the warning when all outputs were undefined. */
  private toStudent(stored: unknown): unknown {
    if (stored === undefined && this.#undefinedOutputs === this.#recorded) this.allUndefined();
    return stored === null || stored === undefined ? stored : handOut(stored, this.#who);
  }

  /** @internal Keeps the output of a call part() said to record, once the original has returned, with its call's signature and draws. */
  store(output: unknown, signature: Signature, draws: number): void {
    if (this.#callLate) return this.discard();
    if (output === undefined) this.#undefinedOutputs++;
    this.push(this.copy || (typeof output === 'object' && output !== null) ? this.keepOutput(output) : output, signature, draws);
  }

  /** @internal Keeps what a store gave for a call part() said to record, as it is (a stored generator's items, handed out fresh). */
  storeHeld(held: Held, signature: Signature, draws: number): void {
    if (this.#callLate) return this.discard();
    this.push(held, signature, draws);
  }

  /** @internal A call part() said to record threw: nothing is kept (a store writes it down). */
  threw(_error: unknown, _signature: Signature, _draws: number): void {}

  private keepOutput(output: unknown): unknown {
    return keepOutput(output, this.copy, this.#who);
  }

  /** @internal For a generator function's call part() said to record: the log of its items. */
  storeItems(kind: ItemsKind, signature: Signature, draws: number): ItemObserver | undefined {
    if (this.#callLate) {
      this.discard();
      return undefined;
    }
    const log = new ItemLog(kind, this.copy, this.#who, this.advances);
    this.push(log, signature, draws);
    return log;
  }

  private push(kept: unknown, signature: Signature, draws: number): void {
    const step = this.#call;
    if (this.checkMode !== CHECK_OFF) step.signatures.push(signature);
    if ((draws !== 0 || step.drawn !== -1) && this.advances) this.pushDraws(step, draws);
    step.queue.push(kept);
    step.recorded++;
    this.#pending++;
    this.#recorded++;
  }

  /** The draws of the output about to be pushed (number `recorded`): the first that drew starts the list. */
  private pushDraws(step: DeliveryStep, draws: number): void {
    if (step.drawn === -1) step.drawn = step.recorded;
    step.draws.push(draws);
  }

  // The rare outcomes of a call, kept out of the methods above so that V8 inlines those.

  /**
   * Signatures that are not the same value may still match: a call in the integer form
   * against its text (a step from a store keeps text), a digest on one side only (a check
   * of shapes against a stored call, which carries one).
   */
  private mismatch(step: DeliveryStep, teacher: Signature, student: Signature): void {
    const difference = differenceOf(teacher, student);
    if (difference === undefined) return;
    const error = step.store?.mismatch(this.#who, step.replayed, difference);
    if (error !== undefined) {
      this.countDivergence();
      throw error;
    }
    this.diverged(step, difference);
  }

  private diverged(step: DeliveryStep, difference: Difference): never {
    this.countDivergence();
    const where = step.number === 0 ? `call ${step.replayed + 1} replayed outside phases` : `step ${step.number}, call ${step.replayed + 1}`;
    if (difference.kind === 'contents') throw errors.divergedContents(this.#who, where, difference.path, difference.shape);
    // A digest of another version comes only from a store, whose steps say so themselves.
    const [teacher, student] = difference.kind === 'shape' ? [difference.teacher, difference.student] : [`a call digested by version ${difference.version}`, 'this one'];
    throw errors.diverged(this.#who, where, teacher, student);
  }

  /** @internal A replayed call differed from the call it replays (here, or against a store: ../link/store-calls.ts). */
  countDivergence(): void {
    this.#diverged++;
    runtime.seen.diverged++;
  }

  /** Every output recorded so far is undefined: the target likely works by side effect. */
  private allUndefined(): void {
    if (this.#warned.has('undefined')) return;
    const message = warnings.allUndefined(this.#who, this.#recorded);
    debug('%s', message);
    this.#warned.add('undefined');
    process.emitWarning(message, { type: 'DistillDeliveryWarning', code: UNDEFINED_OUTPUTS_WARNING });
  }

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
    const warned = [...this.#warned].map((kind) => (kind === 'undefined' ? UNDEFINED_OUTPUTS_WARNING : warningCodes[kind as DiscardCause]));
    return { records: this.#records, overrides: this.#overrides, discarded: { ...this.#discardedBy }, refused: this.#refused, warned };
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

  /** @internal The step of the call part() was last asked about, if it is a phase's and not recorded too late. */
  callStep(): DeliveryStep | undefined {
    return this.#call === this.#main || this.#callLate ? undefined : this.#call;
  }

  /** @internal A step no override phase will claim (a recordOnly delivery's: its outputs go only to a store). */
  releaseStep(step: Step): void {
    const i = this.#steps.indexOf(step as DeliveryStep);
    if (i !== -1) this.#steps.splice(i, 1);
  }

  /** @internal Whether a record phase's step waits for an override phase. */
  hasWaitingStep(): boolean {
    return this.#steps.some((s) => !s.claimed);
  }

  /**
   * @internal A step read from a store, for an override phase that has no record phase to
   * replay (a student-only replay): its outputs (Held values that decode when handed out),
   * their calls' signatures as text, and their draws.
   */
  feedStep(number: number, label: string, outputs: readonly unknown[], signatures: readonly string[], draws: readonly number[], store: StepStore): void {
    const step = newStep(number, label);
    step.store = store;
    step.closed = true;
    for (let i = 0; i < outputs.length; i++) {
      if (this.checkMode !== CHECK_OFF) step.signatures.push(signatures[i]!);
      if ((draws[i] !== 0 || step.drawn !== -1) && this.advances) this.pushDraws(step, draws[i]!);
      step.queue.push(outputs[i]);
      step.recorded++;
    }
    this.#pending += outputs.length;
    this.#recorded += outputs.length;
    this.#steps.push(step);
  }

  /** @internal A record phase starts: its outputs go to a step of their own. `phase`: how the agent names it. */
  openStep(phase?: string): DeliveryStep {
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
    const i = this.#steps.indexOf(step as DeliveryStep);
    if (i !== -1) this.#steps.splice(i, 1);
    // Kept tensors are freed; the signatures go with their outputs.
    const left = step.queue.size;
    for (let n = left; n > 0; n--) release(step.queue.shift());
    step.queue.clear();
    (step as DeliveryStep).signatures.clear();
    (step as DeliveryStep).draws.clear();
    (step as DeliveryStep).drawn = -1;
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
