/**
 * Generator functions deliver their items, not the generator object: the teacher's
 * generator is observed, each item recorded as the teacher consumes it; the student's
 * call gets a generator of the same kind that yields those items, then ends as the
 * teacher's did (its return value, or its error). One queued output per call: an
 * ItemLog, filled while the teacher iterates. Each step of the teacher's generator is
 * counted (draws.ts) like a call, so each item the student pulls advances Math.random by
 * the draws its step made.
 */
import { errors } from '../errors.js';
import { runtime } from '../runtime.js';
import { advanceDraws, countDraws, drawsSince } from './draws.js';
import { Held, handOut, keepOutput, release } from './keep.js';

export type ItemsKind = 'sync' | 'async';

/** 'sync' for a generator function, 'async' for an async generator function, else undefined. */
export function generatorKind(fn: Function): ItemsKind | undefined {
  const tag = (fn as { [Symbol.toStringTag]?: unknown })[Symbol.toStringTag];
  return tag === 'GeneratorFunction' ? 'sync' : tag === 'AsyncGeneratorFunction' ? 'async' : undefined;
}

const state = runtime.state;

/** How the teacher's iteration ended, so far. */
export const OPEN = 0; // still yielding, or abandoned
export const DONE = 1; // finished, with a return value
export const STOPPED = 2; // the teacher called return() (a `break` out of for...of)
export const THREW = 3;
export type ItemsEnd = typeof OPEN | typeof DONE | typeof STOPPED | typeof THREW;

/** What watches the teacher's generator: each result of a step, with the Math.random draws the step made. */
export interface ItemObserver {
  /** Whether its delivery advances Math.random (its steps are then counted). */
  readonly advances: boolean;
  /** The teacher's generator gave `result` in answer to `method`. */
  note(method: 'next' | 'throw' | 'return', result: IteratorResult<unknown>, draws: number): void;
  /** A step of the teacher's generator threw `error`. */
  threw(error: unknown, draws: number): void;
}

export class ItemLog extends Held implements ItemObserver {
  private readonly items: unknown[] = [];
  /** The draws of each item's step, and of the step that ended the generator (with `advances`). */
  private readonly draws: number[] = [];
  private end: ItemsEnd = OPEN;
  private result: unknown;
  private resultDraws = 0;
  /** Items handed to the student so far. */
  private next = 0;

  constructor(
    readonly kind: ItemsKind,
    private readonly copy: boolean,
    private readonly who: string,
    readonly advances = false,
  ) {
    super();
  }

  note(method: 'next' | 'throw' | 'return', result: IteratorResult<unknown>, draws = 0): void {
    if (this.end !== OPEN) return;
    if (!result.done) {
      this.items.push(keepOutput(result.value, this.copy, this.who));
      if (this.advances) this.draws.push(draws);
      return;
    }
    this.result = keepOutput(result.value, this.copy, this.who);
    this.resultDraws = draws;
    this.end = method === 'return' ? STOPPED : DONE;
  }

  threw(error: unknown, draws = 0): void {
    if (this.end !== OPEN) return;
    this.result = error;
    this.resultDraws = draws;
    this.end = THREW;
  }

  handOut(who: string): unknown {
    return this.kind === 'sync' ? replaySync(this, who) : replayAsync(this, who);
  }

  release(): void {
    for (let i = this.next; i < this.items.length; i++) release(this.items[i]);
    this.next = this.items.length;
    if (this.end === DONE || this.end === STOPPED) release(this.result);
    this.result = undefined;
  }

  /** Whether an item waits for the student. */
  has(): boolean {
    return this.next < this.items.length;
  }

  /** The next item, handed out (Math.random advanced by its step's draws). */
  shift(who: string): unknown {
    const held = this.items[this.next];
    if (this.advances) advanceDraws(this.draws[this.next]!);
    this.items[this.next++] = undefined;
    return handOut(held, who);
  }

  /** The end after the last item: the teacher's return value, its error, or QUEUE_EMPTY. */
  finish(who: string): unknown {
    if (this.end === DONE) {
      const result = this.result;
      this.result = undefined;
      this.end = STOPPED;
      if (this.advances) advanceDraws(this.resultDraws);
      return handOut(result, who);
    }
    if (this.end === THREW) {
      if (this.advances) advanceDraws(this.resultDraws);
      throw this.result;
    }
    throw errors.itemsExhausted(who, this.next, this.end === OPEN);
  }
}

function* replaySync(log: ItemLog, who: string): Generator<unknown, unknown, unknown> {
  try {
    while (log.has()) yield log.shift(who);
    return log.finish(who);
  } finally {
    log.release();
  }
}

async function* replayAsync(log: ItemLog, who: string): AsyncGenerator<unknown, unknown, unknown> {
  try {
    while (log.has()) yield log.shift(who);
    return log.finish(who);
  } finally {
    log.release();
  }
}

/** A stored generator's items (encode.ts): how many, each one (decoded when pulled), and its end after the last. */
export interface StoredItems {
  readonly count: number;
  item(i: number): unknown;
  finish(): unknown;
}

function* replayStoredSync(stored: StoredItems): Generator<unknown, unknown, unknown> {
  for (let i = 0; i < stored.count; i++) yield stored.item(i);
  return stored.finish();
}

async function* replayStoredAsync(stored: StoredItems): AsyncGenerator<unknown, unknown, unknown> {
  for (let i = 0; i < stored.count; i++) yield stored.item(i);
  return stored.finish();
}

/** A generator of `kind` that yields stored items, then ends as the recorded one did. */
export function replayItems(kind: ItemsKind, stored: StoredItems): object {
  return kind === 'sync' ? replayStoredSync(stored) : replayStoredAsync(stored);
}

type Method = 'next' | 'throw' | 'return';

/**
 * The teacher's generator, observed: a generator of the same kind that passes every
 * call through to `generator` and notes each result in `logs`. The original's own
 * steps run as part of the recorded call (delivered calls inside pass through), and
 * their draws are counted: for an async generator, the synchronous part of each step
 * (up to its first `await`).
 */
export function observeItems(kind: ItemsKind, generator: object, logs: readonly ItemObserver[]): object {
  const target = generator as Record<Method, (value: unknown) => unknown>;
  const counts = logs.some((log) => log.advances);
  let draws = 0;
  const call = (method: Method, value: unknown): unknown => {
    state.recording++;
    const mark = counts ? countDraws() : 0;
    try {
      return target[method](value);
    } finally {
      state.recording--;
      if (counts) draws = drawsSince(mark);
    }
  };
  if (kind === 'sync') {
    const step = (method: Method, value: unknown): IteratorResult<unknown> => {
      let result: IteratorResult<unknown>;
      try {
        result = call(method, value) as IteratorResult<unknown>;
      } catch (error) {
        for (const log of logs) log.threw(error, draws);
        throw error;
      }
      for (const log of logs) log.note(method, result, draws);
      return result;
    };
    const inner = { next: (v: unknown) => step('next', v), throw: (e: unknown) => step('throw', e), return: (v: unknown) => step('return', v), [Symbol.iterator]() { return this; } };
    return (function* () {
      return yield* inner;
    })();
  }
  const step = async (method: Method, value: unknown): Promise<IteratorResult<unknown>> => {
    // The draws of this step's synchronous part, read before another step can run.
    let made: number | undefined;
    try {
      const pending = call(method, value);
      made = draws;
      const result = (await pending) as IteratorResult<unknown>;
      for (const log of logs) log.note(method, result, made);
      return result;
    } catch (error) {
      const thrown = made ?? draws;
      for (const log of logs) log.threw(error, thrown);
      throw error;
    }
  };
  const inner = { next: (v: unknown) => step('next', v), throw: (e: unknown) => step('throw', e), return: (v: unknown) => step('return', v), [Symbol.asyncIterator]() { return this; } };
  return (async function* () {
    return yield* inner;
  })();
}
