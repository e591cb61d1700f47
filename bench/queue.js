/**
 * Queue: per-item cost of recording N outputs then replaying them, at N = 1e3, 1e5 and
 * 1e6, through a delivery on the agent-instrumented fixtures/target.cjs#f (one sync
 * run() records N, one replays N; each measurement moves 1e6 items, so a size of 1e3
 * repeats 1000 times). A ring buffer keeps push and shift O(1): the per-item cost
 * should not depend on N. Each figure is the median over rounds of the ratio to N = 1e3
 * in the same round.
 *
 * Prints one JSON line. Run alone with `node bench/queue.js`.
 */
import { createRequire } from 'node:module';
import { FunctionOutputsDelivery } from 'distill-delivery';
import { fixtures, loopFor, median, ratio, rounds, selfSpawn, time } from './lib.js';

if (!selfSpawn(import.meta.url, { instrument: ['./target.cjs#f'] })) await main();

async function main() {
  const ITEMS = 1e6;
  const SIZES = [1e3, 1e5, 1e6];
  const delivered = createRequire(fixtures)('./target.cjs').f;
  const candidates = {};
  // One loop for every size: all of them then run the same compiled code (a loop that
  // runs twice a round would run as on-stack-replaced code, a cost not the queue's).
  const loop = loopFor('queue');
  for (const size of SIZES) {
    const delivery = new FunctionOutputsDelivery({ funcPath: './target.cjs#f', base: fixtures, maxKeepData: size });
    const expected = (size * (size + 1)) / 2;
    const block = () => {
      const s = loop(delivered, size);
      if (s !== expected) throw new Error(`a block of ${size} summed to ${s}, expected ${expected}`);
    };
    candidates[size] = () =>
      time(() => {
        for (let rep = 0; rep < ITEMS / size; rep++) {
          delivery.overrideData = false;
          delivery.run(block);
          delivery.overrideData = true;
          delivery.run(block);
        }
      });
  }
  const samples = await rounds(candidates, { rounds: Number(process.env.BENCH_ROUNDS ?? 15), warmup: 2 });
  console.log(
    JSON.stringify({
      node: process.version,
      ns: Object.fromEntries(SIZES.map((size) => [size, median(samples[size]) / ITEMS])),
      ratio: Object.fromEntries(SIZES.map((size) => [size, ratio(samples, size, SIZES[0])])),
    }),
  );
}
