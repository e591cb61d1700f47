/**
 * Content checks: what the digest of a call's arguments (src/values/digest.ts) costs.
 * - The content hash (src/values/content-hash.ts) of a 1 MB run of bytes: WebAssembly (the
 *   copy into its memory included) and its JavaScript twin (what `node --jitless` runs).
 * - Per call, in this process: the signature of `f(i)` and of `f(a 1 MB Float32Array)` with
 *   the digest (what check "values" and every call a store records or replays compute)
 *   against the signature without it; and a delivery's sync record+replay cycle of `f(i)`
 *   with check "values" against check "shape".
 * - The tfjs example's replay (examples/distill-tfjs, "teacher once, students many"): one
 *   store recorded with its default checks and one with check "off"; then, in rounds that
 *   alternate which goes first, a student replaying each (TEACHER=stored, as
 *   `node run.js --store` runs it). The figure is the median over rounds of the ratio of the
 *   two replays' wall times (and of their CPU times, which other work on a shared machine
 *   inflates less). Beside it, what the checks' own work comes to: the digests of a step's
 *   calls (the mixup's `(tensor float32[64,8], tensor int32[64])`, the teacher's forward
 *   pass's `(tensor float32[64,8])`), timed here in this process with tfjs-core, times the
 *   replay's steps, against the replay's CPU time; and, from one more replay of each store
 *   run with `--cpu-prof`, the share of the replay's busy samples whose stack holds the
 *   checks' code (src/values/signature.ts, digest.ts, content-hash.ts: every signature,
 *   digest and comparison, tensors' dataSync() included): figures that the machine's noise
 *   does not swamp.
 * In-process times are CPU time (lib.js cpuNow), medians of BENCH_CHECKS_ROUNDS rounds
 * (default 5; candidates alternate) after a warm-up round. Prints one JSON line. Run with
 * `node bench/content-checks.js` after `npm run build`; the example's part needs
 * `npm ci --prefix examples/distill-tfjs` (else it is skipped). BENCH_CHECKS_QUICK=1 runs the
 * example at its quick size (about a second a run: start-up dominates, not a measurement);
 * BENCH_CHECKS_EXAMPLE=0 skips it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { FunctionOutputsDelivery } from '../dist/index.js';
import { hashBytes, jsHashBytes } from '../dist/values/content-hash.js';
import { signatureOf } from '../dist/values/signature.js';
import { checksShare as profileShare, fixtures, loader, median, root, rounds, time } from './lib.js';

const ROUNDS = Number(process.env.BENCH_CHECKS_ROUNDS ?? 5);
const QUICK = process.env.BENCH_CHECKS_QUICK === '1';
const progress = (text) => process.stderr.write(`bench/content-checks: ${text}\n`);

// --- The content hash ---

async function hashSpeed() {
  const bytes = new Uint8Array(1 << 20).map((_, i) => (i * 2654435761) >>> 24);
  const per = (fn, n) => () => time(() => {
    for (let i = 0; i < n; i++) fn(bytes);
  }) / n;
  const samples = await rounds({ wasm: per(hashBytes, 200), js: per(jsHashBytes, 5) }, { rounds: ROUNDS, warmup: 1 });
  const ms = (name) => median(samples[name]) / 1e6;
  return { msPerMB: { webAssembly: ms('wasm'), javaScript: ms('js') }, GBps: { webAssembly: 1.048576 / ms('wasm'), javaScript: 1.048576 / ms('js') } };
}

// --- Per call ---

async function perCall() {
  const big = new Float32Array(1 << 18).map((_, i) => Math.sin(i)); // 1 MB
  const N = 200_000;
  let sink = 0;
  const small = (values) => () => time(() => {
    for (let i = 0; i < N; i++) sink ^= String(signatureOf(undefined, [i], values)).length;
  }) / N;
  const large = (values) => () => time(() => {
    for (let i = 0; i < 50; i++) sink ^= String(signatureOf(undefined, [big], values)).length;
  }) / 50;
  const signatures = await rounds({ small: small(false), smallDigest: small(true), large: large(false), largeDigest: large(true) }, { rounds: ROUNDS, warmup: 1 });

  // A delivery's cycle: 1e4 calls recorded in one run(), replayed in another.
  const target = await import(join(fixtures, 'target.cjs'));
  const f = target.default;
  const delivery = (check) => new FunctionOutputsDelivery({ funcPath: './target.cjs#f', base: fixtures, maxKeepData: 10_000, check });
  const cycle = (d) => () => time(() => {
    for (let c = 0; c < 10; c++) {
      d.overrideData = false;
      d.run(() => {
        for (let i = 0; i < 10_000; i++) f.f(i);
      });
      d.overrideData = true;
      d.run(() => {
        for (let i = 0; i < 10_000; i++) sink ^= f.f(i);
      });
    }
  }) / 1e5;
  const cycles = await rounds({ values: cycle(delivery('values')), shape: cycle(delivery('shape')) }, { rounds: ROUNDS, warmup: 1 });
  if (sink === 0.5) console.log(sink); // keeps the loops' results alive
  const m = (samples, name) => median(samples[name]);
  const ratio = (samples, a, b) => median(samples[a].map((x, i) => x / samples[b][i]));
  return {
    ns: {
      signature: m(signatures, 'small'),
      signatureWithDigest: m(signatures, 'smallDigest'),
      digest: m(signatures, 'smallDigest') - m(signatures, 'small'),
      signatureOf1MB: m(signatures, 'large'),
      signatureWithDigestOf1MB: m(signatures, 'largeDigest'),
      digestOf1MB: m(signatures, 'largeDigest') - m(signatures, 'large'),
      cycleValues: m(cycles, 'values'),
      cycleShape: m(cycles, 'shape'),
    },
    ratio: { cycleValuesVsShape: ratio(cycles, 'values', 'shape') },
  };
}

// --- The tfjs example's replay ---

/** CPU nanoseconds the digests of one step of the example's replay take (its two record-phase calls, at the full size). */
async function exampleStepDigests() {
  await tf.setBackend('cpu');
  tf.enableProdMode(); // silences the notice about the native backend
  class Mixup {}
  class Distiller {}
  const [mixup, distiller] = [new Mixup(), new Distiller()];
  const xs = tf.randomUniform([64, 8]);
  const labels = tf.tensor1d(Array.from({ length: 64 }, (_, i) => i % 4), 'int32');
  const mixed = tf.randomUniform([64, 8]);
  const N = 2000;
  let sink = 0;
  const step = (values) => () => time(() => {
    for (let i = 0; i < N; i++) sink ^= signatureOf(mixup, [xs, labels], values).length ^ signatureOf(distiller, [mixed], values).length;
  }) / N;
  const samples = await rounds({ digest: step(true), shape: step(false) }, { rounds: ROUNDS, warmup: 1 });
  if (sink === 0.5) console.log(sink);
  tf.dispose([xs, labels, mixed]);
  return median(samples.digest) - median(samples.shape);
}

const example = join(root, 'examples', 'distill-tfjs');

/** One run of the example's train.js with the agent and `config` (inline), in `mode`: its wall and CPU seconds, and its final JSON line. */
function train(config, mode, extra = {}, nodeArgs = []) {
  const env = { ...process.env, DISTILL_DELIVERY: JSON.stringify(config), DISTILL_DELIVERY_BASE: example, DISTILL_DELIVERY_STORE_MODE: mode, SEED: '1', STUDENT_SEED: '1', QUICK: QUICK ? '1' : '0', ...extra };
  delete env.NODE_OPTIONS;
  const started = performance.now();
  const child = spawnSync(process.execPath, [...nodeArgs, '--import', loader, 'train.js'], { cwd: example, env, encoding: 'utf8', maxBuffer: 1 << 26 });
  const wallSeconds = (performance.now() - started) / 1000;
  if (child.status !== 0) throw new Error(`train.js (${mode}) failed with ${child.status ?? child.signal}:\n${child.stderr}`);
  const result = JSON.parse(child.stdout.trimEnd().split('\n').at(-1));
  return { wallSeconds, cpuSeconds: result.cpuSeconds, studentAccuracy: result.studentAccuracy, batches: result.batches };
}

async function exampleReplay() {
  if (!existsSync(join(example, 'node_modules', '@tensorflow', 'tfjs'))) return { skipped: 'examples/distill-tfjs has no node_modules (npm ci --prefix examples/distill-tfjs)' };
  const dir = mkdtempSync(join(tmpdir(), 'bench-checks-'));
  try {
    const base = JSON.parse(readFileSync(join(example, 'store.json'), 'utf8'));
    delete base.report;
    const checked = { ...base, store: { url: join(dir, 'checked') } };
    const off = { ...base, deliveries: Object.fromEntries(Object.entries(base.deliveries).map(([name, spec]) => [name, { ...spec, check: 'off' }])), store: { url: join(dir, 'off') } };
    progress(`recording the example's store twice (default checks, check "off")${QUICK ? ', quick' : ''}`);
    train(checked, 'record');
    train(off, 'record');
    const replays = { checked: [], off: [] };
    let accuracy;
    const replay = (config, name) => () => {
      const run = train(config, 'replay', { TEACHER: 'stored' });
      replays[name].push(run);
      accuracy ??= run.studentAccuracy;
      if (run.studentAccuracy !== accuracy) throw new Error(`the replays reached ${accuracy} and ${run.studentAccuracy}: not the same run`);
      return run.wallSeconds;
    };
    progress(`replaying each ${ROUNDS} times, alternating`);
    await rounds({ checked: replay(checked, 'checked'), off: replay(off, 'off') }, { rounds: ROUNDS, warmup: 0 });
    const per = (key) => replays.checked.map((r, i) => r[key] / replays.off[i][key]);
    const med = (name, key) => median(replays[name].map((r) => r[key]));
    const stepNs = await exampleStepDigests();
    progress('one more replay of each with --cpu-prof');
    const profiled = { checked: checksShare(checked, join(dir, 'prof-checked')), off: checksShare(off, join(dir, 'prof-off')) };
    const steps = replays.checked[0].batches;
    return {
      quick: QUICK,
      rounds: ROUNDS,
      steps,
      wallSeconds: { checked: med('checked', 'wallSeconds'), off: med('off', 'wallSeconds') },
      cpuSeconds: { checked: med('checked', 'cpuSeconds'), off: med('off', 'cpuSeconds') },
      ratio: { wall: median(per('wallSeconds')), cpu: median(per('cpuSeconds')) },
      perRound: { wall: per('wallSeconds'), cpu: per('cpuSeconds') },
      digests: { nsPerStep: stepNs, share: (stepNs * steps) / (med('checked', 'cpuSeconds') * 1e9) },
      profile: profiled,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A replay of `config` run with --cpu-prof: of its main thread's busy samples (not idle),
 * the share whose stack holds a frame of the checks' code.
 */
function checksShare(config, dir) {
  train(config, 'replay', { TEACHER: 'stored' }, ['--cpu-prof', '--cpu-prof-dir', dir]);
  let best;
  for (const file of readdirSync(dir)) {
    const share = profileShare(join(dir, file));
    if (best === undefined || share.busySeconds * 1000 > best.busyMs) best = { busyMs: share.busySeconds * 1000, checksMs: share.checksSeconds * 1000, share: share.share };
  }
  return best;
}

progress('the content hash');
const hash = await hashSpeed();
progress('per call');
const calls = await perCall();
const replay = process.env.BENCH_CHECKS_EXAMPLE === '0' ? { skipped: 'BENCH_CHECKS_EXAMPLE=0' } : await exampleReplay();
console.log(JSON.stringify({ node: process.version, hash, perCall: calls, exampleReplay: replay }));
