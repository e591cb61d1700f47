/**
 * Where the time of a delivered call goes: the sync record+override cycle of
 * bench/per-call.js (b) (`x => x + 1` instrumented by the agent, check "shape", random
 * "advance"; BENCH_PROFILE_RECORDER=1: with a FunctionOutputsRecorder active instead, (e)),
 * run under V8's sampling profiler (node:inspector, a sample every 50 µs) after a
 * warm-up, in a child of its own. Prints one JSON line: each function's share of the
 * samples taken while the cycles ran (self time), the largest first, and the total.
 *
 * `npm run bench` prints this profile under its table for each per-call goal that does
 * not hold. Run alone with `node bench/profile-cycle.js` (after `npm run build`).
 */
import { createRequire } from 'node:module';
import { Session } from 'node:inspector';
import { FunctionOutputsDelivery, FunctionOutputsRecorder } from 'distill-delivery';
import { fixtures, loopFor, runChild, root } from './lib.js';

if (process.env.BENCH_CHILD !== '1') {
  console.log(JSON.stringify(runChild(process.execPath, new URL(import.meta.url).pathname, { instrument: ['./target.cjs#f'] }), null, 2));
} else {
  await main();
}

function post(session, method, params) {
  return new Promise((resolve, reject) => session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))));
}

async function main() {
  const BLOCK = 1e5;
  const require = createRequire(fixtures);
  const delivered = require('./target.cjs').f;
  const recorderMode = process.env.BENCH_PROFILE_RECORDER === '1';
  const delivery = new FunctionOutputsDelivery({ funcPath: './target.cjs#f', base: fixtures, maxKeepData: BLOCK });
  const recorder = recorderMode ? new FunctionOutputsRecorder({ funcPath: './target.cjs#f', base: fixtures }) : undefined;
  const loop = loopFor('profiled');
  const cycle = () => {
    if (recorder !== undefined) {
      recorder.run(() => loop(delivered, BLOCK));
      recorder.run(() => loop(delivered, BLOCK));
      return;
    }
    delivery.overrideData = false;
    delivery.run(() => loop(delivered, BLOCK));
    delivery.overrideData = true;
    delivery.run(() => loop(delivered, BLOCK));
  };
  for (let c = 0; c < 30; c++) cycle(); // warm-up: the code V8 settles on
  const session = new Session();
  session.connect();
  await post(session, 'Profiler.enable');
  await post(session, 'Profiler.setSamplingInterval', { interval: 50 });
  await post(session, 'Profiler.start');
  for (let c = 0; c < 40; c++) cycle();
  const { profile } = await post(session, 'Profiler.stop');
  session.disconnect();

  // Self time by function: samples whose top frame is the function.
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const counts = new Map();
  for (const id of profile.samples) {
    const { functionName, url, lineNumber } = nodes.get(id).callFrame;
    const file = url.startsWith('file://') ? url.slice(url.indexOf(root) === -1 ? 0 : url.indexOf(root) + root.length) : url;
    const key = `${functionName || '(anonymous)'}\t${file}${lineNumber >= 0 && file ? `:${lineNumber + 1}` : ''}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const total = profile.samples.length;
  const top = [...counts]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 10)
    .map(([key, n]) => {
      const [fn, where] = key.split('\t');
      return { function: fn, where, share: n / total };
    });
  console.log(JSON.stringify({ node: process.version, samples: total, top }));
}
