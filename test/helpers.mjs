// Shared by the test files (not itself a test: `node --test test/*.test.mjs` skips it).
import { setImmediate as immediate } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

/** Python's `with delivery:`: enter, run the block, exit even if it throws. */
export function within(delivery, block) {
  delivery.enter();
  try {
    return block();
  } finally {
    delivery.exit();
  }
}

/** The absolute path of a fixture. */
export function fixture(name) {
  return fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
}

/** A small seeded PRNG (mulberry32): the same seed gives the same sequence in [0, 1). */
export function seeded(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The own property descriptor, for comparing a target before and after a delivery. */
export const own = (owner, key) => Object.getOwnPropertyDescriptor(owner, key);

/** A delivery's stats() with `discarded` too, which stats() keeps out of deepEqual and JSON. */
export function allStats(stats) {
  return { recorded: stats.recorded, replayed: stats.replayed, pending: stats.pending, discarded: stats.discarded };
}

/** The DistillDeliveryWarnings emitted while `block` runs and the ticks after it (they are emitted on process.nextTick). */
export async function warningsDuring(block) {
  // Let the warnings of earlier tests arrive first.
  await immediate();
  const seen = [];
  const listener = (warning) => warning.name === 'DistillDeliveryWarning' && seen.push(warning);
  process.on('warning', listener);
  try {
    await block();
    await immediate();
    await immediate();
  } finally {
    process.off('warning', listener);
  }
  return seen;
}
