/**
 * Activation scopes: `run(fn)` activates deliveries only inside fn's async context.
 *
 * Per call the cost must be near zero, so the state is layered: a global count of
 * activations lets idle calls skip everything; inside a synchronous run() no other code
 * can interleave, so the frame on top of the synchronous stack is exact; only once a
 * run's callback has gone async (a promise is pending) does a call consult
 * AsyncLocalStorage.
 */
import { executionAsyncId } from 'node:async_hooks';
import { currentFrame, runtime, type Frame, type Step } from '../runtime.js';

/** What a scope activates: a delivery, or a recorder. */
export interface Member {
  /** Resolves and attaches the target on the first activation; throws on a bad target. */
  activate(): void;
  deactivate(): void;
}

const state = runtime.state;

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * A promise for a thenable that is not a native promise, made inside the run: its then()
 * is called here, as `await` would call it, so the work a lazy thenable starts in then()
 * runs in the run's context; and the run ends when it settles, as for a promise.
 */
function adopt(thenable: PromiseLike<unknown>): Promise<unknown> {
  return new Promise((resolve, reject) => {
    thenable.then(resolve, reject); // a then() that throws rejects the promise
  });
}

/** Activates every member in order; if one fails, deactivates those already done and rethrows. */
export function activateAll(members: readonly Member[]): void {
  let done = 0;
  try {
    for (; done < members.length; done++) members[done]!.activate();
  } catch (error) {
    for (let i = done - 1; i >= 0; i--) members[i]!.deactivate();
    throw error;
  }
}

export function deactivateAll(members: readonly Member[]): void {
  for (let i = members.length - 1; i >= 0; i--) members[i]!.deactivate();
}

/** How a phase opens its per-delivery steps after activation, and closes them at its end. */
export interface Phase {
  open(members: readonly Member[]): readonly (Step | undefined)[];
  /** `failed`: fn threw, or the promise it returned rejected, with `error`. */
  close(members: readonly Member[], steps: readonly (Step | undefined)[], failed: boolean, error?: unknown): void;
}

/**
 * Runs fn with `members` active in its async context. `override` forces a mode (phases);
 * undefined leaves each delivery's overrideData in charge. A phase's steps are opened
 * once the members are active and closed when the scope ends: when fn returns or throws,
 * or when the promise or other thenable it returned settles (never, if it never settles:
 * the members then stay active in fn's context for the rest of the process).
 */
export function runScope<T>(
  members: readonly Member[],
  override: boolean | undefined,
  phase: Phase | undefined,
  fn: () => T,
): T {
  const parent = currentFrame(state);
  activateAll(members);
  let steps: readonly (Step | undefined)[] | undefined;
  try {
    steps = phase?.open(members);
  } catch (error) {
    // A phase that cannot start (its store has no step to give) leaves nothing active.
    deactivateAll(members);
    throw error;
  }
  const frame: Frame = { members, override, steps, parent, asyncId: executionAsyncId(), live: true };
  const end = (failed: boolean, error?: unknown): void => {
    frame.live = false;
    deactivateAll(members);
    if (steps !== undefined) phase!.close(members, steps, failed, error);
  };
  const previous = state.syncFrame;
  state.syncFrame = frame;
  state.syncDepth++;
  let result: T;
  try {
    result = state.als.run(frame, fn);
    if (isThenable(result) && !(result instanceof Promise)) result = state.als.run(frame, adopt, result) as T;
  } catch (error) {
    end(true, error);
    throw error;
  } finally {
    state.syncDepth--;
    state.syncFrame = previous;
  }
  if (!isThenable(result)) {
    end(false);
    return result;
  }
  state.asyncLive++;
  const settle = (failed: boolean, error?: unknown): void => {
    state.asyncLive--;
    end(failed, error);
  };
  return result.then(
    (value) => {
      settle(false);
      return value;
    },
    (error: unknown) => {
      settle(true, error);
      throw error;
    },
  ) as T;
}

/**
 * Nested enter() calls, as nested Python `with` blocks: exit() closes the most recent
 * one; a handle's dispose closes its own entry, once, whatever was closed since.
 */
export class Entries {
  private readonly open: object[] = [];
  /** How many entries are open; kept as a field for the call path. */
  count = 0;

  /** Opens an entry; `close` runs when it is closed, by its handle or by pop(). */
  push(close: () => void): Disposable {
    const token = { close };
    this.open.push(token);
    this.count++;
    return {
      [Symbol.dispose]: () => {
        const i = this.open.lastIndexOf(token);
        if (i === -1) return;
        this.open.splice(i, 1);
        this.count--;
        close();
      },
    };
  }

  /**
   * Enters each of `members` in order as one entry, whose close exits them in reverse
   * order (which undoes nested patches correctly); if one fails to enter, exits those
   * already entered and rethrows.
   */
  pushAll(members: readonly { enter(): Disposable }[]): Disposable {
    const handles: Disposable[] = [];
    const exitInReverse = (): void => {
      for (let i = handles.length - 1; i >= 0; i--) handles[i]![Symbol.dispose]();
    };
    try {
      for (const member of members) handles.push(member.enter());
    } catch (error) {
      exitInReverse();
      throw error;
    }
    return this.push(exitInReverse);
  }

  /** Closes the most recent entry; false if none is open. */
  pop(): boolean {
    const token = this.open.pop() as { close: () => void } | undefined;
    if (token === undefined) return false;
    this.count--;
    token.close();
    return true;
  }
}
