/**
 * Per-call cost of a delivered function, in a child started with the agent
 * (`node --import loader.mjs`, DISTILL_DELIVERY instrumenting fixtures/target.cjs#f), so
 * the function measured is the agent's rewrite of `(x) => x + 1`. Floors are measured
 * in the same process, interleaved with the measured runs; each figure is the median
 * over rounds of (measured / floor) in that round.
 *
 * (a) idle: 2e6 calls outside any phase, against a hand-written closure wrapper
 *     `function (...args) { return original.apply(this, args); }` of the same function.
 *     Each candidate has a loop of its own, so V8 inlines it where it is called, as it
 *     does at a hot call site. One more figure explains the result: "flag", a closure
 *     that checks a mutable counter first and whose other branch has run and calls a
 *     function V8 does not inline (the least a wrapper that can be switched on costs
 *     there); and "cold", the idle call measured first, before any delivery in the
 *     process has been active, so V8 has never seen the wrapper's other branch run;
 * (b) sync: record-then-override cycles, each a sync run() of 1e5 record calls then one
 *     of 1e5 override calls (2e6 calls in all), against a closure that pushes into and
 *     shifts from a preallocated ring buffer; with the default divergence check
 *     (check "shape": each call's signature recorded, and compared on replay), for `f(i)`
 *     and for a four-argument `f4(i, 1, 2, 3)` (fixtures/target.cjs#f4). The same cycles
 *     with check "off" run in a second child (BENCH_CHECK=off), since in one process the
 *     two would share the delivery's compiled code and each would slow the other; the
 *     check's cost is the ratio of the two processes' figures, each against its own ring;
 * (c) async: the same cycles through `await run(async () => { await null; ... })`, so
 *     every call finds its scope through AsyncLocalStorage;
 * (d) phases: the sync cycles as a manager's recordPhase() and overridePhase(), a manager
 *     with no store: the path the store was wired into (docs/store.md), whose calls must
 *     cost what they did before it, against the same ring buffer;
 * (e) recorded: the sync cycles' calls with a FunctionOutputsRecorder (and, apart, a
 *     FunctionInputsRecorder) active instead of the delivery: two sync run()s of 1e5 calls
 *     each, every call's output (arguments) kept, against the delivered sync cycle (the
 *     goal: a recorded call within 2x a delivered one) and the ring buffer;
 * peers: sinon.spy and node:test's mock.fn around the same function, 5e4 calls a round
 *     (both keep every call's arguments and a stack), against the closure wrapper.
 *
 * Times are CPU time of the process (see lib.js), so other processes on the machine do
 * not count.
 *
 * Prints one JSON line. Run alone with `node bench/per-call.js`.
 */
import { createRequire } from 'node:module';
import { mock } from 'node:test';
import sinon from 'sinon';
import { DistillDeliveryManager, FunctionInputsRecorder, FunctionOutputsDelivery, FunctionOutputsRecorder } from 'distill-delivery';
import { fileURLToPath } from 'node:url';
import { fixtures, loopFor, median, ratio, ringFloor, rounds, runChild, selfSpawn, time, timeAsync } from './lib.js';

const instrument = ['./target.cjs#f', './target.cjs#f4'];
if (!selfSpawn(import.meta.url, { instrument })) await main();

async function main() {
  const CALLS = 2e6;
  const BLOCK = 1e5;
  const CYCLES = CALLS / (2 * BLOCK);
  const PEER_CALLS = 5e4;
  const require = createRequire(fixtures);
  const delivered = require('./target.cjs').f;
  const delivered4 = require('./target.cjs').f4;
  const original = require('./plain.cjs').f;

  const closure = function (...args) {
    return original.apply(this, args);
  };

  // The flag floor: one check of a mutable counter, and another branch that has run and
  // calls a function too large for V8 to inline (over 460 bytes of bytecode), as the
  // call path of any delivery is.
  const flagState = { active: 0 };
  const large = Array.from({ length: 200 }, (_, i) => `if (args.length === ${i + 100}) extra += ${i};`).join('\n');
  const flagOther = new Function('fn', 'thisArg', '...args', `let extra = 0;\n${large}\nreturn Reflect.apply(fn, thisArg, args) + extra;`);
  const flag = function (...args) {
    if (flagState.active === 0) return Reflect.apply(original, this, args);
    return flagOther(original, this, ...args);
  };

  // The ring-buffer floor: what a record/override wrapper costs at the least.
  const ring = ringFloor(original);

  const checkMode = process.env.BENCH_CHECK ?? 'shape';
  const delivery = new FunctionOutputsDelivery({ funcPath: './target.cjs#f', base: fixtures, maxKeepData: BLOCK, check: checkMode });
  const delivery4 = new FunctionOutputsDelivery({ funcPath: './target.cjs#f4', base: fixtures, maxKeepData: BLOCK, check: checkMode });
  const manager = new DistillDeliveryManager({ f: { type: 'FunctionOutputs', funcPath: './target.cjs#f', maxKeepData: BLOCK, check: checkMode } }, { base: fixtures });
  const recorder = new FunctionOutputsRecorder({ funcPath: './target.cjs#f', base: fixtures });
  const inputsRecorder = new FunctionInputsRecorder({ funcPath: './target.cjs#f', base: fixtures });
  const spy = sinon.spy(original);
  const mockFn = mock.fn(original);

  const loops = {
    idle: loopFor('idle'),
    closure: loopFor('closure'),
    flag: loopFor('flag'),
    sync: loopFor('sync'),
    sync4: loopFor('sync4', 'i, 1, 2, 3'),
    async: loopFor('async'),
    phases: loopFor('phases'),
    recorded: loopFor('recorded'),
    recordedInputs: loopFor('recorded inputs'),
    ring: loopFor('ring'),
    sinon: loopFor('sinon'),
    mockFn: loopFor('mock.fn'),
  };
  let sink = 0;
  // The cycles' sizes: BLOCK calls a phase, CYCLES cycles a round; the warm-up below makes them short.
  const sizes = { block: BLOCK, cycles: CYCLES };
  const expected = () => (sizes.block * (sizes.block + 1)) / 2;
  const expected4 = () => expected() + 5 * sizes.block;
  const check = (name, s, want = expected()) => {
    if (s !== want) throw new Error(`${name}: a block summed to ${s}, expected ${want}`);
  };
  // One record run() of a block, then one override run(): the cycle every sync figure measures.
  const cycles = (d, loop, fn, want = expected) => {
    for (let c = 0; c < sizes.cycles; c++) {
      d.overrideData = false;
      check('record', d.run(() => loop(fn, sizes.block)), want());
      d.overrideData = true;
      check('override', d.run(() => loop(fn, sizes.block)), want());
    }
  };
  // Two run()s of a block with a recorder active, as many calls as a delivered cycle; each run() clears the last one's records.
  const recordCycles = (r, loop) => {
    for (let c = 0; c < sizes.cycles; c++) {
      check('recorded', r.run(() => loop(delivered, sizes.block)));
      check('recorded', r.run(() => loop(delivered, sizes.block)));
      if (r.dataBuffer.length !== sizes.block) throw new Error(`the recorder kept ${r.dataBuffer.length} records of ${sizes.block} calls`);
    }
  };

  flagState.active = 1;
  loops.flag(flag, 1000);
  flagState.active = 0;

  // (a) once more, before any delivery in this process has been active: then V8 has never
  // seen the wrapper's other branch run and compiles it as a bail-out, so what remains is
  // the idle path alone. Own loops, measured first; the closure is the same.
  const coldLoops = { idleCold: loopFor('idle cold'), closureCold: loopFor('closure cold') };
  const cold = await rounds(
    {
      idleCold: () => time(() => (sink += coldLoops.idleCold(delivered, CALLS))),
      closureCold: () => time(() => (sink += coldLoops.closureCold(closure, CALLS))),
    },
    { rounds: Number(process.env.BENCH_ROUNDS ?? 15), warmup: 3 },
  );
  if (delivery.stats().recorded !== 0) throw new Error('a delivery was active before the cold idle rounds');

  const candidates = {
    idle: () => time(() => (sink += loops.idle(delivered, CALLS))),
    closure: () => time(() => (sink += loops.closure(closure, CALLS))),
    flag: () => time(() => (sink += loops.flag(flag, CALLS))),
    sync: () => time(() => cycles(delivery, loops.sync, delivered)),
    sync4: () => time(() => cycles(delivery4, loops.sync4, delivered4, expected4)),
    async: () =>
      timeAsync(async () => {
        for (let c = 0; c < sizes.cycles; c++) {
          delivery.overrideData = false;
          check('async record', await delivery.run(async () => { await null; return loops.async(delivered, sizes.block); }));
          delivery.overrideData = true;
          check('async override', await delivery.run(async () => { await null; return loops.async(delivered, sizes.block); }));
        }
      }),
    phases: () =>
      time(() => {
        for (let c = 0; c < sizes.cycles; c++) {
          check('phase record', manager.recordPhase(() => loops.phases(delivered, sizes.block)));
          check('phase override', manager.overridePhase(() => loops.phases(delivered, sizes.block)));
        }
      }),
    recorded: () => time(() => recordCycles(recorder, loops.recorded)),
    recordedInputs: () => time(() => recordCycles(inputsRecorder, loops.recordedInputs)),
    ring: () => time(() => ring.cycles(loops.ring, sizes.block, sizes.cycles, (phase, sum) => check(`ring ${phase}`, sum))),
    sinon: () => {
      const ns = time(() => (sink += loops.sinon(spy, PEER_CALLS)));
      spy.resetHistory();
      return ns;
    },
    mockFn: () => {
      const ns = time(() => (sink += loops.mockFn(mockFn, PEER_CALLS)));
      mockFn.mock.resetCalls();
      return ns;
    },
  };

  // BENCH_ONLY=idle,closure,sync,ring: measure only some candidates (the others time nothing).
  if (process.env.BENCH_ONLY) for (const k of Object.keys(candidates)) if (!process.env.BENCH_ONLY.split(',').includes(k)) candidates[k] = () => 1;
  // Each candidate first runs many short cycles (a phase of 100 calls), so that every branch
  // of every path has run when V8 first optimizes a loop, as in a training loop that has
  // run a while. Otherwise a loop optimized within its first 1e5 record calls can keep code
  // compiled before any call was replayed, in some processes and not in others (each
  // figure then had two values, whichever the process got, the ring buffer's too).
  Object.assign(sizes, { block: 100, cycles: 100 });
  for (const name of ['sync', 'sync4', 'async', 'phases', 'recorded', 'recordedInputs', 'ring']) await candidates[name]();
  Object.assign(sizes, { block: BLOCK, cycles: CYCLES });
  const samples = await rounds(candidates, { rounds: Number(process.env.BENCH_ROUNDS ?? 15), warmup: 3 });
  for (const d of [delivery, delivery4, manager.deliveries.f]) {
    const stats = d.stats();
    if (process.env.BENCH_ONLY && stats.recorded === 0) continue;
    if (stats.recorded === 0 || stats.pending !== 0) throw new Error(`the delivery did not deliver: ${JSON.stringify(stats)}`);
  }
  const perCall = (name, calls) => median(samples[name]) / calls;
  // Every candidate again with check "off", in a process of its own (the same candidates, so V8 sees the same calls).
  const off = checkMode === 'shape' ? runChild(process.execPath, fileURLToPath(import.meta.url), { instrument, env: { BENCH_CHECK: 'off' } }) : undefined;
  // sinon and mock.fn make fewer calls: compare them per call.
  const peerRatio = (name) => median(samples[name].map((ns, i) => ns / PEER_CALLS / (samples.closure[i] / CALLS)));
  console.log(
    JSON.stringify({
      node: process.version,
      ns: {
        idle: perCall('idle', CALLS),
        closure: perCall('closure', CALLS),
        flag: perCall('flag', CALLS),
        idleCold: median(cold.idleCold) / CALLS,
        sync: perCall('sync', CALLS),
        sync4: perCall('sync4', CALLS),
        ...(off && { syncOff: off.ns.sync, sync4Off: off.ns.sync4 }),
        async: perCall('async', CALLS),
        phases: perCall('phases', CALLS),
        recorded: perCall('recorded', CALLS),
        recordedInputs: perCall('recordedInputs', CALLS),
        ring: perCall('ring', CALLS),
        sinon: perCall('sinon', PEER_CALLS),
        mockFn: perCall('mockFn', PEER_CALLS),
      },
      ratio: {
        idle: ratio(samples, 'idle', 'closure'),
        flag: ratio(samples, 'flag', 'closure'),
        idleVsFlag: ratio(samples, 'idle', 'flag'),
        idleCold: ratio(cold, 'idleCold', 'closureCold'),
        sync: ratio(samples, 'sync', 'ring'),
        sync4: ratio(samples, 'sync4', 'ring'),
        ...(off && {
          syncOff: off.ratio.sync,
          checkShape: ratio(samples, 'sync', 'ring') / off.ratio.sync,
          checkShape4: ratio(samples, 'sync4', 'ring') / off.ratio.sync4,
        }),
        async: ratio(samples, 'async', 'ring'),
        phases: ratio(samples, 'phases', 'ring'),
        recorded: ratio(samples, 'recorded', 'ring'),
        recordedVsDelivered: ratio(samples, 'recorded', 'sync'),
        recordedInputsVsDelivered: ratio(samples, 'recordedInputs', 'sync'),
        sinon: peerRatio('sinon'),
        mockFn: peerRatio('mockFn'),
      },
      sink: sink > 0,
    }),
  );
}
