/**
 * Math.random draws of delivered calls (`random: "advance"`, the default). A call that is
 * recorded is counted while it runs; a call that returns a kept or stored output instead
 * of running advances Math.random by the count its recorded call made, so the rest of the
 * program draws what it would have drawn had the call run.
 *
 * Counting swaps Math.random, for the duration of the call only, for one counting
 * function that calls whatever Math.random was when the call began (a script's seeded
 * replacement included) and puts that back when the call returns or throws, unless the
 * call itself replaced Math.random (then its replacement stays, as without the agent, and
 * draws made through it are not counted). Counts nest: a call counted while another is
 * counts in both. Advancing calls Math.random, whatever it is then, that many times.
 *
 * The engine's own Math.random is left alone (nothing counted, nothing advanced) unless
 * Node was started with --random-seed: unseeded, its values cannot be repeated with or
 * without advancing it, and never writing the property keeps V8's fastest path for the
 * program's own draws. V8: Math.random starts as a constant property of the Math object,
 * which optimized code embeds. The first write to it (the first counted call, or a
 * script's own `Math.random = seeded`) makes it a mutable field: code that embedded it is
 * deoptimized once and recompiled to load the property and check it against the function
 * the call site has seen (the builtin is still inlined behind that check). Later writes
 * deoptimize nothing. A script that installed its own Math.random has made that write
 * already, so counting costs its own draws nothing more (bench/random.js measures both:
 * docs/performance.md).
 */

/** Draws through the counter, ever (the marks of counts in progress are positions in it). */
let counted = 0;
/** Counts in progress (nested calls). */
let depth = 0;
/** What Math.random was when the outermost count began: what the counter calls. */
let inner: () => number = Math.random;

const counter = {
  random(this: unknown): number {
    counted++;
    return inner.call(this);
  },
}.random;

/** Whether `fn` is the engine's own Math.random (its name, and native code; a bound function's name starts with "bound"). */
function isEngine(fn: unknown): boolean {
  return typeof fn === 'function' && fn.name === 'random' && fn.length === 0 && /\{\s*\[native code\]\s*\}$/.test(Function.prototype.toString.call(fn));
}

/** The engine's own Math.random, unless a script had replaced it before this module loaded. */
const engine = isEngine(Math.random) ? Math.random : undefined;
/** Node started with --random-seed: the engine's own Math.random repeats from run to run, so it is counted too. */
const engineSeeded = process.execArgv.some((arg) => /^--random[-_]seed(=|$)/.test(arg));

/** Sets Math.random; false where it cannot be written (a frozen Math). */
function setRandom(fn: () => number): boolean {
  try {
    Math.random = fn;
    return true;
  } catch {
    return false;
  }
}

/** What the counter never swaps for: the engine's own Math.random, unless Node was started with --random-seed. */
const uncounted = engineSeeded ? undefined : engine;

/**
 * Starts counting the draws of a call; returns the mark drawsSince() takes. Marks are
 * positions in one running count, so nested counts need no reset; the common call (no
 * count in progress, Math.random the engine's own) is a load and two compares, small
 * enough for V8 to inline into the call path.
 */
export function countDraws(): number {
  if (depth++ === 0) {
    const current = Math.random;
    if (current !== counter && current !== uncounted) {
      inner = current;
      setRandom(counter);
    }
  }
  return counted;
}

/** Ends the count countDraws() began (returned `mark`): the draws made since. */
export function drawsSince(mark: number): number {
  const draws = counted - mark;
  if (--depth === 0 && Math.random === counter) setRandom(inner);
  return draws;
}

/** Calls Math.random, whatever it is now, `draws` times: the draws of a call that did not run. */
export function advanceDraws(draws: number): void {
  for (let i = 0; i < draws; i++) Math.random();
}

export type RandomMode = 'advance' | 'off';
export const RANDOM_MODES: readonly RandomMode[] = ['advance', 'off'];
