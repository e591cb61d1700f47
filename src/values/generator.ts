/**
 * Generator functions deliver their items, not the generator object: the teacher's
 * generator is observed, each item recorded as the teacher consumes it; the student's
 * call gets a generator of the same kind that yields those items, then ends as the
 * teacher's did (its return value, or its error). One queued output per call: an
 * ItemLog, filled while the teacher iterates.
 */
import { errors } from '../errors.js';
import { runtime } from '../runtime.js';
import { Held, handOut, keepOutput, release } from './keep.js';

export type ItemsKind = 'sync' | 'async';

/** 'sync' for a generator function, 'async' for an async generator function, else undefined. */
export function generatorKind(fn: Function): ItemsKind | undefined {
  const tag = (fn as { [Symbol.toStringTag]?: unknown })[Symbol.toStringTag];
  return tag === 'GeneratorFunction' ? 'sync' : tag === 'AsyncGeneratorFunction' ? 'async' : undefined;
}

const state = runtime.state;

/** How the teacher's iteration ended, so far. */
const OPEN = 0; // still yielding, or abandoned
const DONE = 1; // finished, with a return value
const STOPPED = 2; // the teacher called return() (a `break` out of for...of)
const THREW = 3;

export class ItemLog extends Held {
  private readonly items: unknown[] = [];
  private end: typeof OPEN | typeof DONE | typeof STOPPED | typeof THREW = OPEN;
  private result: unknown;
  /** Items handed to the student so far. */
  private next = 0;

  constructor(
    readonly kind: ItemsKind,
    private readonly copy: boolean,
    private readonly who: string,
  ) {
    super();
  }

  /** The teacher's generator gave `result` in answer to `method`. */
  note(method: 'next' | 'throw' | 'return', result: IteratorResult<unknown>): void {
    if (this.end !== OPEN) return;
    if (!result.done) {
      this.items.push(keepOutput(result.value, this.copy, this.who));
      return;
    }
    this.result = keepOutput(result.value, this.copy, this.who);
    this.end = method === 'return' ? STOPPED : DONE;
  }

  threw(error: unknown): void {
    if (this.end !== OPEN) return;
    this.result = error;
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

  /** The next item, handed out. */
  shift(who: string): unknown {
    const held = this.items[this.next];
    this.items[this.next++] = undefined;
    return handOut(held, who);
  }

  /** The end after the last item: the teacher's return value, its error, or QUEUE_EMPTY. */
  finish(who: string): unknown {
    if (this.end === DONE) {
      const result = this.result;
      this.result = undefined;
      this.end = STOPPED;
      return handOut(result, who);
    }
    if (this.end === THREW) throw this.result;
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

type Method = 'next' | 'throw' | 'return';

/**
 * The teacher's generator, observed: a generator of the same kind that passes every
 * call through to `generator` and notes each result in `logs`. The original's own
 * steps run as part of the recorded call (delivered calls inside pass through).
 */
export function observeItems(kind: ItemsKind, generator: object, logs: readonly ItemLog[]): object {
  const target = generator as Record<Method, (value: unknown) => unknown>;
  const call = (method: Method, value: unknown): unknown => {
    state.recording++;
    try {
      return target[method](value);
    } finally {
      state.recording--;
    }
  };
  if (kind === 'sync') {
    const step = (method: Method, value: unknown): IteratorResult<unknown> => {
      let result: IteratorResult<unknown>;
      try {
        result = call(method, value) as IteratorResult<unknown>;
      } catch (error) {
        for (const log of logs) log.threw(error);
        throw error;
      }
      for (const log of logs) log.note(method, result);
      return result;
    };
    const inner = { next: (v: unknown) => step('next', v), throw: (e: unknown) => step('throw', e), return: (v: unknown) => step('return', v), [Symbol.iterator]() { return this; } };
    return (function* () {
      return yield* inner;
    })();
  }
  const step = async (method: Method, value: unknown): Promise<IteratorResult<unknown>> => {
    try {
      const result = (await call(method, value)) as IteratorResult<unknown>;
      for (const log of logs) log.note(method, result);
      return result;
    } catch (error) {
      for (const log of logs) log.threw(error);
      throw error;
    }
  };
  const inner = { next: (v: unknown) => step('next', v), throw: (e: unknown) => step('throw', e), return: (v: unknown) => step('return', v), [Symbol.asyncIterator]() { return this; } };
  return (async function* () {
    return yield* inner;
  })();
}
