/**
 * The process-wide state every copy of the package shares, kept on a `Symbol.for`
 * global: two copies of distill-delivery in one process (a library and an app that
 * both depend on it) see one registry of instrumented targets, one activity state and
 * one process-wide manager.
 */
import { AsyncLocalStorage, executionAsyncId } from 'node:async_hooks';
import { createRequire } from 'node:module';

/**
 * A builtin module's exports, without the ES module namespace that `import ... from
 * 'node:fs'` builds: building one reads every export, which runs the builtin's lazy
 * getters (node:fs's promises and streams, node:util's parseArgs and MIMEType: 2 to 4 ms
 * of start-up each on Node 22). So the modules on the agent's start path take node:fs and
 * node:util through it, and node:crypto, node:vm and node:worker_threads only where they
 * are used. process.getBuiltinModule: added in v22.3.0 and v20.16.0.
 */
export const builtin: NodeJS.Process['getBuiltinModule'] =
  typeof process.getBuiltinModule === 'function' ? process.getBuiltinModule.bind(process) : (createRequire(import.meta.url) as never);

/** A delivery's part in one call: not active in the caller's context, record it, or override it. */
export const PASS = 0;
export const RECORD = 1;
export const OVERRIDE = 2;
export type Part = typeof PASS | typeof RECORD | typeof OVERRIDE;

/**
 * What a site needs from a delivery; both delivery classes implement it. For each call,
 * part() then, for RECORD, admit() before the original runs and store() once it has
 * returned (threw() if it threw), or, for OVERRIDE, take().
 */
export interface DeliveryLike {
  /** How it checks replayed calls against the teacher's: 0 off, 1 shape, 2 values (the site computes the call's signature for it). */
  readonly checkMode: number;
  /** Whether a replayed call advances Math.random by the draws its recorded call made (`random: "advance"`): the site counts them. */
  readonly advances: boolean;
  /** Its part in a call made in `frame`. */
  part(frame: Frame | undefined): Part;
  /** RECORD, before the call runs: throws where it must not run (a full queue). */
  admit(): void;
  /** OVERRIDE: the next recorded output, for the student's call whose signature is `signature` (checked against the teacher's). */
  take(signature: number | string): unknown;
  /** RECORD: keeps the output of the call part() let run, the call's signature, and the Math.random draws it made. */
  store(output: unknown, signature: number | string, draws: number): void;
  /** RECORD, for a generator function's call: what watches its items as the teacher consumes them (undefined: not kept). */
  storeItems(kind: 'sync' | 'async', signature: number | string, draws: number): object | undefined;
  /** RECORD: the call part() let run threw `error` (nothing is kept; a store writes it down). */
  threw(error: unknown, signature: number | string, draws: number): void;
}

/** One record phase's outputs of one delivery, replayed by the matching override phase. */
export interface Step {
  readonly queue: { size: number; push(v: unknown): void; shift(): unknown; clear(): number };
  recorded: number;
  replayed: number;
  /** False while its record phase still runs. */
  closed: boolean;
  claimed: boolean;
  /** Its override phase has ended: outputs its record phase still makes can never be replayed. */
  finished: boolean;
  /**
   * For messages: which record phase of its delivery made it, from 1; 0 for the queue of
   * calls outside phases, and for the stand-in an override phase gets when no record phase
   * is left to replay (`missing`).
   */
  readonly number: number;
  readonly missing: boolean;
  /** The phase functions that recorded and replay it, as the agent's config names them; undefined for recordPhase()/overridePhase() called by hand. */
  readonly recorder: string | undefined;
  replayer: string | undefined;
}

/**
 * One activation by `run()` or by a phase: the deliveries (or recorders) it activates, the
 * mode it forces (undefined: each delivery's `overrideData`), and per member the phase step.
 */
export interface Frame {
  readonly members: readonly object[];
  readonly override: boolean | undefined;
  readonly steps: readonly (Step | undefined)[] | undefined;
  readonly parent: Frame | undefined;
  /** executionAsyncId() when the run started: while it is unchanged, the synchronous frame is exact. */
  readonly asyncId: number;
  live: boolean;
}

export interface ScopeState {
  /** Activations of all deliveries in the process; 0 lets every wrapper skip every check. */
  active: number;
  /** Depth of synchronous run() calls on the stack; while > 0, syncFrame is exact. */
  syncDepth: number;
  syncFrame: Frame | undefined;
  /** run() frames whose promise has not settled; only then is AsyncLocalStorage consulted. */
  asyncLive: number;
  /** > 0 while a delivered call is being recorded (synchronous part): nested delivered calls pass through. */
  recording: number;
  readonly als: AsyncLocalStorage<Frame>;
}

export interface Runtime {
  readonly version: 2;
  readonly state: ScopeState;
  /** Sites instrumented at load time, by `<module URL>#<canonical path>`. */
  readonly bindingSites: Map<string, unknown>;
  /** Sites patched on an object property, by owner then key. */
  readonly propertySites: WeakMap<object, Map<PropertyKey, unknown>>;
  /** Targets the agent planned, by module URL: what a delivery created in code can reuse. */
  readonly plannedModules: Map<string, unknown>;
  /** The process-wide manager (`deliveries` export). */
  manager: unknown;
  /** The agent's recorders (`getRecorder()`): its config's `recorders`; undefined without the agent. */
  recorders: unknown;
  /** Set by the agent when it started in this thread. */
  agent: unknown;
  /** The agent's phase functions, by the config's names, for messages; undefined without the agent. */
  phases: { readonly record: readonly string[]; readonly override: readonly string[] } | undefined;
  /**
   * What went wrong in this thread that strict mode fails a run for, beyond what each
   * delivery counts: a check that found a student's call diverging from the teacher's
   * (ERR_DELIVERY_DIVERGED) adds one to `diverged`.
   */
  readonly seen: { diverged: number };
}

const KEY = Symbol.for('distill-delivery');

function create(): Runtime {
  return {
    version: 2,
    state: { active: 0, syncDepth: 0, syncFrame: undefined, asyncLive: 0, recording: 0, als: new AsyncLocalStorage<Frame>() },
    bindingSites: new Map(),
    propertySites: new WeakMap(),
    plannedModules: new Map(),
    manager: undefined,
    recorders: undefined,
    agent: undefined,
    phases: undefined,
    seen: { diverged: 0 },
  };
}

const holder = globalThis as unknown as Record<symbol, Runtime | undefined>;
export const runtime: Runtime = holder[KEY] ?? (holder[KEY] = create());
if (runtime.version !== 2) {
  throw new Error(`distill-delivery: another copy with an incompatible runtime (version ${String(runtime.version)}) is loaded in this process.`);
}

export function currentFrame(state: ScopeState): Frame | undefined {
  if (state.syncDepth > 0) {
    // A callback bound to another async context (AsyncResource.bind, runInAsyncScope)
    // may run inside a synchronous run(): it changes the execution id, and then only
    // AsyncLocalStorage knows which frame, if any, it belongs to.
    if (state.syncFrame!.asyncId === executionAsyncId()) return state.syncFrame;
    return state.als.getStore();
  }
  if (state.asyncLive > 0) return state.als.getStore();
  return undefined;
}
