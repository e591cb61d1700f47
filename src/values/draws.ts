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
 * V8: Math.random starts as a constant property of the Math object, which optimized code
 * embeds (the builtin inlined). The first write to it (the first counted call, or a
 * script's own `Math.random = seeded`) makes it a mutable field: code that embedded it is
 * deoptimized once and recompiled to load the property and check the function it calls
 * against the one the call site has seen, which still inlines the builtin. Later writes
 * deoptimize nothing. The program's own calls outside delivered calls only ever see its
 * own function, so what they cost is measured by bench/random.js (docs/performance.md).
 */

/** Draws through the counter since the outermost count began. */
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

/** Sets Math.random; false where it cannot be written (a frozen Math). */
function setRandom(fn: () => number): boolean {
  try {
    Math.random = fn;
    return true;
  } catch {
    return false;
  }
}

/** Starts counting the draws of a call; returns the mark drawsSince() takes. */
export function countDraws(): number {
  if (depth++ > 0) return counted;
  counted = 0;
  const current = Math.random;
  if (current !== counter) {
    inner = current;
    setRandom(counter);
  }
  return 0;
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
