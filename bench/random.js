/**
 * What `random: "advance"` (the default) costs: counting the Math.random draws of each
 * recorded call (Math.random swapped for a counting function for the call's duration)
 * and advancing them when a call is replayed (src/values/draws.ts).
 *
 * (a) own draws: the program's own Math.random calls outside delivered calls, 1e6 a
 *     round, each round right after 20 record+override cycles of a delivered function
 *     that draws, in three kinds of process: deliveries with random "advance", the same
 *     with random "off" (Math.random never touched), and node without the agent (no
 *     cycles). Once with a seeded replacement the script installs first (mulberry32, as
 *     training scripts do: then each recorded call swaps Math.random in and out), once
 *     with the engine's own Math.random (which "advance" leaves alone). Each process
 *     prints the median CPU time per draw over its rounds; the processes alternate, and a
 *     figure is the median over rounds of the ratio within a round. Processes differ by
 *     more than these costs on a shared machine, so the "advance" process with the seeded
 *     Math.random also measures, in the same rounds, its own draws right after 20 cycles of
 *     a second delivery with random "off" (of `(x) => x + Math.random()` too): the same
 *     process and work, only without the swaps; that ratio is the figure to read.
 * (b) cycle: the sync record+override cycle of bench/per-call.js (a run() recording 1e5
 *     calls, one replaying them, against the flag-switched ring buffer in the same
 *     rounds), with the seeded Math.random, for the delivered `(x) => x + 1` (no draws:
 *     what counting costs) and `(x) => x + Math.random()` (one draw counted and advanced a
 *     call), in the "advance" and "off" processes; the figure is the ratio of the two
 *     processes' ratios to their ring buffers.
 *
 * `node bench/random.js` (after `npm run build`) prints a Markdown table for the node
 * running it and Node 22 (.ci/node-versions, installed on first use); BENCH_RANDOM_PAIRS
 * sets how many processes of each kind (default 7). `npm run bench` takes its figures from
 * randomBench() on Node 20, 22 and 24.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { fixtures, loader, loopFor, median, node22, ringFloor, rounds, time } from './lib.js';

const script = fileURLToPath(import.meta.url);
const BLOCK = 1e5;
const DRAWS = 1e6;

if (process.env.BENCH_CHILD === '1') await child(process.env.BENCH_RANDOM, process.env.BENCH_SEEDED === '1');
else if (process.argv[1] === script) main();

/** mulberry32, as examples/distill-tfjs/data.js and many training scripts seed Math.random. */
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One process: `random` is "advance", "off", or "none" (no agent, no delivery). */
async function child(random, seeded) {
  if (seeded) Math.random = mulberry32(1);
  const own = new Function('n', '// own draws\nlet s = 0;\nfor (let i = 0; i < n; i++) s += Math.random();\nreturn s;');
  let cycle = () => {};
  const candidates = {};
  if (random !== 'none') {
    const { FunctionOutputsDelivery } = await import('distill-delivery');
    const require = createRequire(fixtures);
    const { f, r } = require('./target.cjs');
    const delivery = (name) => new FunctionOutputsDelivery({ funcPath: `./target.cjs#${name}`, base: fixtures, maxKeepData: BLOCK, check: 'off', random });
    const [df, dr] = [delivery('f'), delivery('r')];
    const dOff = new FunctionOutputsDelivery({ funcPath: './target.cjs#r2', base: fixtures, maxKeepData: BLOCK, check: 'off', random: 'off' });
    const { r2 } = require('./target.cjs');
    const cycles = (d, loop, fn, calls, count) => {
      for (let c = 0; c < count; c++) {
        d.overrideData = false;
        d.run(() => loop(fn, calls));
        d.overrideData = true;
        d.run(() => loop(fn, calls));
      }
    };
    const loops = { f: loopFor('f'), r: loopFor('r'), between: loopFor('between'), betweenOff: loopFor('between off'), ring: loopFor('ring') };
    cycle = () => cycles(dr, loops.between, r, 1, 20);
    if (seeded && random === 'advance') {
      candidates.ownAfterOff = () => {
        cycles(dOff, loops.betweenOff, r2, 1, 20);
        return time(() => own(DRAWS));
      };
    }
    // The ring-buffer floor of bench/per-call.js.
    const ring = ringFloor(f);
    if (seeded) {
      candidates.cycleF = () => time(() => cycles(df, loops.f, f, BLOCK, 5));
      candidates.cycleR = () => time(() => cycles(dr, loops.r, r, BLOCK, 5));
      candidates.ring = () => time(() => ring.cycles(loops.ring, BLOCK, 5));
      // Many short cycles first (as bench/per-call.js does): every branch has run when V8 first optimizes a loop.
      cycles(df, loops.f, f, 100, 100);
      cycles(dr, loops.r, r, 100, 100);
      ring.cycles(loops.ring, 100, 100);
    }
  }
  candidates.own = () => {
    cycle();
    return time(() => own(DRAWS));
  };
  const samples = await rounds(candidates, { rounds: 11, warmup: 3 });
  const perCall = (name, calls) => median(samples[name]) / calls;
  const result = { own: perCall('own', DRAWS) };
  if (samples.ownAfterOff) Object.assign(result, { ownAfterOff: perCall('ownAfterOff', DRAWS), ownVsAfterOff: median(samples.own.map((ns, i) => ns / samples.ownAfterOff[i])) });
  if (samples.ring) {
    const calls = 2 * 5 * BLOCK;
    Object.assign(result, {
      cycleF: perCall('cycleF', calls),
      cycleR: perCall('cycleR', calls),
      ring: perCall('ring', calls),
      cycleFRatio: median(samples.cycleF.map((ns, i) => ns / samples.ring[i])),
      cycleRRatio: median(samples.cycleR.map((ns, i) => ns / samples.ring[i])),
    });
  }
  console.log(JSON.stringify(result));
}

/** Starts one child process of a kind; returns what it printed. */
function spawnChild(node, random, seeded) {
  const env = { ...process.env, BENCH_CHILD: '1', BENCH_RANDOM: random, BENCH_SEEDED: seeded ? '1' : '0', DISTILL_DELIVERY: JSON.stringify({ instrument: ['./target.cjs#f', './target.cjs#r'] }) };
  delete env.NODE_OPTIONS;
  delete env.NODE_EXTRA_CA_CERTS;
  if (random === 'none') delete env.DISTILL_DELIVERY;
  const args = random === 'none' ? [script] : ['--import', loader, script];
  const result = spawnSync(node, args, { cwd: fixtures, env, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`bench/random.js child (${random}) failed on ${node}:\n${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').at(-1));
}

/** Every figure on `node` (npm run bench's table takes them from here too). */
export function randomBench(node) {
  const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
  process.stderr.write(`bench: ${version}: random draws\n`);
  const pairs = Number(process.env.BENCH_RANDOM_PAIRS ?? 7);
  const runs = { native: { advance: [], off: [], none: [] }, seeded: { advance: [], off: [], none: [] } };
  for (let p = 0; p < pairs; p++) {
    for (const kind of ['native', 'seeded']) {
      const order = p % 2 === 0 ? ['advance', 'off', 'none'] : ['none', 'off', 'advance'];
      for (const random of order) runs[kind][random].push(spawnChild(node, random, kind === 'seeded'));
    }
  }
  const pairRatio = (kind, a, b, key) => median(runs[kind][a].map((run, i) => run[key] / runs[kind][b][i][key]));
  const med = (kind, random, key) => median(runs[kind][random].map((run) => run[key]));
  return {
    version,
    own: Object.fromEntries(['native', 'seeded'].map((kind) => [kind, { advance: med(kind, 'advance', 'own'), off: med(kind, 'off', 'own'), none: med(kind, 'none', 'own'), vsOff: pairRatio(kind, 'advance', 'off', 'own'), vsNone: pairRatio(kind, 'advance', 'none', 'own') }])),
    inProcess: { ratio: med('seeded', 'advance', 'ownVsAfterOff'), after: med('seeded', 'advance', 'own'), afterOff: med('seeded', 'advance', 'ownAfterOff') },
    cycle: {
      f: { advance: med('seeded', 'advance', 'cycleF'), off: med('seeded', 'off', 'cycleF'), ratio: pairRatio('seeded', 'advance', 'off', 'cycleFRatio'), vsRing: med('seeded', 'advance', 'cycleFRatio') },
      r: { advance: med('seeded', 'advance', 'cycleR'), off: med('seeded', 'off', 'cycleR'), ratio: pairRatio('seeded', 'advance', 'off', 'cycleRRatio'), vsRing: med('seeded', 'advance', 'cycleRRatio') },
      ring: med('seeded', 'advance', 'ring'),
    },
  };
}

function main() {
  const results = [randomBench(process.execPath), randomBench(node22())];
  const x = (n) => `${n.toFixed(3)}×`;
  const ns = (n) => `${n.toFixed(1)} ns`;
  const rows = [
    ['**Own draws** (the program\'s Math.random outside delivered calls, per draw)'],
    ['seeded, one process: after counted cycles vs after cycles with random "off"', (r) => `${x(r.inProcess.ratio)} (${ns(r.inProcess.after)} vs ${ns(r.inProcess.afterOff)})`],
    ['seeded Math.random, advance vs off', (r) => `${x(r.own.seeded.vsOff)} (${ns(r.own.seeded.advance)} vs ${ns(r.own.seeded.off)})`],
    ['seeded Math.random, advance vs no agent', (r) => `${x(r.own.seeded.vsNone)} (${ns(r.own.seeded.none)} without the agent)`],
    ['engine\'s Math.random, advance vs off', (r) => `${x(r.own.native.vsOff)} (${ns(r.own.native.advance)} vs ${ns(r.own.native.off)})`],
    ['engine\'s Math.random, advance vs no agent', (r) => `${x(r.own.native.vsNone)} (${ns(r.own.native.none)} without the agent)`],
    ['**Cycle** (sync `run()` record+override, seeded Math.random, per call)'],
    ['`x => x + 1`, advance vs off', (r) => `${x(r.cycle.f.ratio)} (${ns(r.cycle.f.advance)} vs ${ns(r.cycle.f.off)})`],
    ['`x => x + 1`, advance, vs ring buffer', (r) => `${x(r.cycle.f.vsRing)} (ring ${ns(r.cycle.ring)})`],
    ['`x => x + Math.random()`, advance vs off', (r) => `${x(r.cycle.r.ratio)} (${ns(r.cycle.r.advance)} vs ${ns(r.cycle.r.off)})`],
  ];
  const lines = [`| figure | ${results.map((r) => `Node ${r.version.slice(1)}`).join(' | ')} |`, `|---|${results.map(() => '---').join('|')}|`];
  for (const [label, show] of rows) lines.push(`| ${label} | ${results.map((r) => (show ? show(r) : '')).join(' | ')} |`);
  console.log(lines.join('\n'));
  console.log(JSON.stringify(results));
}
