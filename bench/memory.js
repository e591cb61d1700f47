/**
 * Memory: bytes each queued output costs beyond the value itself, with 1e6 outputs
 * waiting. The outputs are small integers (V8 stores them in the slot, no heap object),
 * so what the heap grows by is the queue's own cost. Needs --expose-gc: run alone with
 * `node bench/memory.js` (it restarts itself with the flag and the agent).
 *
 * Prints one JSON line.
 */
import { createRequire } from 'node:module';
import { FunctionOutputsDelivery } from 'distill-delivery';
import { fixtures, median, selfSpawn } from './lib.js';

if (!selfSpawn(import.meta.url, { instrument: ['./target.cjs#f'], flags: ['--expose-gc'] })) main();

function heapAfterGc() {
  for (let i = 0; i < 3; i++) globalThis.gc();
  return process.memoryUsage().heapUsed;
}

function main() {
  const OUTPUTS = 1e6;
  const delivered = createRequire(fixtures)('./target.cjs').f;
  const samples = [];
  for (let round = 0; round < 5; round++) {
    const delivery = new FunctionOutputsDelivery({ funcPath: './target.cjs#f', base: fixtures, maxKeepData: OUTPUTS });
    delivery.run(() => delivered(0)); // resolve the target and warm up before the baseline
    delivery.overrideData = true;
    delivery.run(() => delivered(0));
    delivery.overrideData = false;
    const before = heapAfterGc();
    delivery.run(() => {
      for (let i = 0; i < OUTPUTS; i++) delivered(i & 0xffff);
    });
    const after = heapAfterGc();
    if (delivery.size !== OUTPUTS) throw new Error(`${delivery.size} outputs queued, expected ${OUTPUTS}`);
    samples.push((after - before) / OUTPUTS);
    delivery.overrideData = true;
    delivery.run(() => {
      for (let i = 0; i < OUTPUTS; i++) delivered(0);
    });
  }
  console.log(JSON.stringify({ node: process.version, bytesPerOutput: median(samples) }));
}
