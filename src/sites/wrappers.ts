/**
 * The wrappers a site puts in place of a function: one per original, of the original's
 * own kind, so that nothing but its delivery tells them apart.
 *
 * - function: a constructor-capable `function`; `new W()` constructs the original with
 *   `new.target` as the caller gave it (never delivered: a construction is not a call
 *   that can be replayed);
 * - sloppy: the same, compiled in sloppy mode for a sloppy-mode original, which has own
 *   `arguments` and `caller` properties that a strict function lacks;
 * - bound: a constructor without a `prototype` of its own (a bound function): the
 *   `function` wrapper bound in turn, which has none either (the original ignores the
 *   `this` it is called with, so the wrapper may too);
 * - method: arrows, methods, bound or builtin functions that cannot be constructed: a
 *   method, which has no `prototype` and cannot be constructed either;
 * - async: an async method, so `util.types.isAsyncFunction` stays true (its promise
 *   settles one microtask turn after the original's; a delivery error rejects it);
 * - generator, asyncGenerator: a generator method that decides at call time (its
 *   parameter initializer runs when it is called) and delegates to the generator object
 *   the call produced, so values sent in and returned pass through.
 *
 * Each wrapper takes the original's own properties (name, length, prototype, ...) and
 * prototype. The idle path of a delivery wrapper is one load and one compare.
 */
import { builtin, runtime } from '../runtime.js';

const state = runtime.state;
const { types } = builtin('node:util');

export type WrapperKind = 'function' | 'sloppy' | 'bound' | 'method' | 'async' | 'generator' | 'asyncGenerator';

/** What a delivery wrapper calls while some delivery is active. */
export interface Dispatcher {
  dispatch(original: Function, thisArg: unknown, ...args: unknown[]): unknown;
}

/** Runs a phase function around a call: set by the agent, which owns the phases. */
export type PhaseRunner = (original: Function, thisArg: unknown, args: unknown[]) => unknown;

/** Whether `fn` can be called with `new`, found without calling it or reading any of its properties. */
function isConstructor(fn: Function): boolean {
  try {
    new (new Proxy(fn, { construct: () => ({}) }) as new () => object)();
    return true;
  } catch {
    return false;
  }
}

export function kindOf(fn: Function): WrapperKind {
  if (types.isGeneratorFunction(fn)) return types.isAsyncFunction(fn) ? 'asyncGenerator' : 'generator';
  if (types.isAsyncFunction(fn)) return 'async';
  if (!isConstructor(fn)) return 'method';
  if (types.isProxy(fn)) return 'function';
  if (!Object.hasOwn(fn, 'prototype')) return 'bound';
  return Object.getOwnPropertyDescriptor(fn, 'caller') !== undefined ? 'sloppy' : 'function';
}

/**
 * `new W(...)`: constructs the original with the caller's `new.target`, so the instance
 * takes W.prototype (the original's, or whatever the module assigned to it since) and the
 * original sees `new.target === W`. An original without a `prototype` of its own (a bound
 * function) is constructed as it would have been, with itself as `new.target`.
 */
function construct(original: Function, args: unknown[], newTarget: Function, wrapper: Function): object {
  return Reflect.construct(original, args, newTarget === wrapper && !Object.hasOwn(original, 'prototype') ? original : newTarget);
}

/** A parameter no caller passes: its default, which runs when a generator is called, makes the call. */
const CALL = Symbol('call');

/** A wrapper of a delivered function: the original while no delivery is active, else `site.dispatch`. */
export function deliveryWrapper(kind: WrapperKind, original: Function, site: Dispatcher): Function {
  const begin = (thisArg: unknown, args: IArguments): unknown =>
    state.active === 0 ? Reflect.apply(original, thisArg, args) : site.dispatch(original, thisArg, ...args);
  switch (kind) {
    case 'function': {
      const wrapper = function (this: unknown, ...args: unknown[]): unknown {
        if (new.target !== undefined) return construct(original, args, new.target, wrapper);
        // Reflect.apply rather than original.apply: a function whose name was set (as
        // copyIdentity and the agent do) has slow properties in V8, so `.apply` would
        // be looked up on every call. And `args` is only ever spread or applied, never
        // passed on as an array, so V8 does not build the array where it inlines this.
        if (state.active === 0) return Reflect.apply(original, this, args);
        return site.dispatch(original, this, ...args);
      };
      return wrapper;
    }
    case 'sloppy':
      return sloppy().delivery(original, state, site, construct);
    case 'bound':
      return deliveryWrapper('function', original, site).bind(null);
    case 'method':
      return {
        delivered(this: unknown, ...args: unknown[]): unknown {
          if (state.active === 0) return Reflect.apply(original, this, args);
          return site.dispatch(original, this, ...args);
        },
      }.delivered;
    case 'async':
      return {
        async delivered(this: unknown, ...args: unknown[]): Promise<unknown> {
          // `return await`: the caller's async frames stay in the stack of an error it rejects with.
          if (state.active === 0) return await Reflect.apply(original, this, args);
          return await site.dispatch(original, this, ...args);
        },
      }.delivered;
    case 'generator':
      return {
        *delivered(this: unknown, ...{ [CALL]: call = begin(this, arguments) }: any): Generator<unknown, unknown, unknown> {
          return yield* call;
        },
      }.delivered;
    case 'asyncGenerator':
      return {
        async *delivered(this: unknown, ...{ [CALL]: call = begin(this, arguments) }: any): AsyncGenerator<unknown, unknown, unknown> {
          return yield* call;
        },
      }.delivered;
  }
}

/** A wrapper of a phase function: every call (and construction) runs inside the phase. */
export function phaseWrapper(kind: WrapperKind, original: Function, phase: PhaseRunner): Function {
  const begin = (thisArg: unknown, args: IArguments): unknown => phase(original, thisArg, [...args]);
  switch (kind) {
    case 'function': {
      const wrapper = function (this: unknown, ...args: unknown[]): unknown {
        if (new.target !== undefined) return phase(construct, undefined, [original, args, new.target, wrapper]);
        return phase(original, this, args);
      };
      return wrapper;
    }
    case 'sloppy':
      return sloppy().phase(original, phase, construct);
    case 'bound':
      return phaseWrapper('function', original, phase).bind(null);
    case 'method':
      return {
        phase(this: unknown, ...args: unknown[]): unknown {
          return phase(original, this, args);
        },
      }.phase;
    case 'async':
      return {
        async phase(this: unknown, ...args: unknown[]): Promise<unknown> {
          return await phase(original, this, args);
        },
      }.phase;
    case 'generator':
      return {
        *phase(this: unknown, ...{ [CALL]: call = begin(this, arguments) }: any): Generator<unknown, unknown, unknown> {
          return yield* call;
        },
      }.phase;
    case 'asyncGenerator':
      return {
        async *phase(this: unknown, ...{ [CALL]: call = begin(this, arguments) }: any): AsyncGenerator<unknown, unknown, unknown> {
          return yield* call;
        },
      }.phase;
  }
}

interface SloppyFactories {
  delivery(original: Function, s: typeof state, site: Dispatcher, c: typeof construct): Function;
  phase(original: Function, phase: PhaseRunner, c: typeof construct): Function;
}

let sloppyFactories: SloppyFactories | undefined;

/**
 * The `function` wrappers compiled in sloppy mode (this package's own code is strict).
 * Compiled once, from this fixed text, on the first sloppy-mode original.
 */
function sloppy(): SloppyFactories {
  return (sloppyFactories ??= builtin('node:vm').runInThisContext(
    `({
  delivery: function (original, state, site, construct) {
    var wrapper = function (...args) {
      if (new.target !== undefined) return construct(original, args, new.target, wrapper);
      if (state.active === 0) return Reflect.apply(original, this, args);
      return site.dispatch(original, this, ...args);
    };
    return wrapper;
  },
  phase: function (original, phase, construct) {
    var wrapper = function (...args) {
      if (new.target !== undefined) return phase(construct, undefined, [original, args, new.target, wrapper]);
      return phase(original, this, args);
    };
    return wrapper;
  }
})`,
    { filename: 'distill-delivery/sloppy-wrappers.js' },
  ) as SloppyFactories);
}

/** Gives the wrapper the original's own properties (name, length, prototype, ...) and prototype. */
export function copyIdentity(wrapper: Function, original: Function): void {
  const descriptors = Object.getOwnPropertyDescriptors(original) as Record<string, PropertyDescriptor>;
  for (const key of Reflect.ownKeys(descriptors)) {
    if (key === 'arguments' || key === 'caller') continue;
    try {
      Object.defineProperty(wrapper, key, descriptors[key as string]!);
    } catch {
      // a non-configurable own property of the wrapper itself; keep the wrapper's
    }
  }
  const proto = Object.getPrototypeOf(original);
  if (proto !== Object.getPrototypeOf(wrapper)) Object.setPrototypeOf(wrapper, proto);
}

/**
 * Where the wrapper takes the original's place for good (the binding or property that
 * held it now holds the wrapper), instances made through it name it as their
 * constructor: `new F().constructor === F`.
 */
export function adoptConstructor(wrapper: Function, original: Function): void {
  const prototype = (original as { prototype?: unknown }).prototype;
  if (!Object.hasOwn(original, 'prototype') || prototype === null || typeof prototype !== 'object') return;
  if ((wrapper as { prototype?: unknown }).prototype !== prototype) return;
  const own = Object.getOwnPropertyDescriptor(prototype, 'constructor');
  if (own === undefined || own.value !== original || !own.writable) return;
  Object.defineProperty(prototype, 'constructor', { ...own, value: wrapper });
}
