/**
 * The tfjs example's replayed student (examples/distill-tfjs): what a replay costs a user
 * over training the student by itself (issue 23.4), and what the content checks' argument
 * digests cost a replayed step (issue 23.3).
 *
 * Two record runs write two stores (`store.json` with DISTILL_DELIVERY_STORE_MODE=record,
 * full size, teacher seed 1): one with the deliveries' default checks, so each recorded
 * call keeps a digest of its arguments and each replayed call computes and compares one,
 * and one with `check: "off"` (no signature, no digest). Then, in BENCH_TFJS_PAIRS rounds
 * (default 5) whose order rotates, three runs of train.js: `replay` replays the first store
 * (TEACHER=stored: no teacher built or trained; the mixup and the teacher's forward pass
 * return the stored tensors), `replayOff` the second, and `alone` runs without the agent
 * and with no teacher at all (TEACHER=none: none built, trained or run; the soft targets are
 * the mixed labels). A figure is the median over rounds of a ratio of two runs of the same
 * round, for the CPU time of each child (user + system, every thread, its own rusage:
 * lib.js spawnTimed) and for its wall time. The replayed students' batches are checked to
 * be the record run's at every step, so the replays are the real ones.
 *
 * Beside the A/B ratios, which a shared machine's noise can swamp: one more replay of each
 * store under `--cpu-prof`, and the share of its busy samples whose stack holds the checks'
 * code (dist/values/signature.js, digest.js, content-hash.js: every signature, digest and
 * comparison, the tensors' dataSync() included). With `profile`, also one run of `replay`
 * and of `alone` under `--cpu-prof`, their self time by where the code comes from (what
 * npm run bench prints when the goal does not hold).
 *
 * The example's dependencies must be installed (`npm ci --prefix examples/distill-tfjs`);
 * without them the result is `{ skipped }`. `node bench/replay-tfjs.js` prints JSON for the
 * node running it (BENCH_TFJS_PROFILE=1: with the profiles).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checksShare, loader, median, spawnTimed } from './lib.js';

const example = fileURLToPath(new URL('../examples/distill-tfjs/', import.meta.url));
/** This package's compiled code, as profiles name it (the example's node_modules has its own dist folders). */
const ownDist = new URL('../dist/', import.meta.url).href;

/** Self time of a CPU profile (`--cpu-prof` file) by where the code comes from, in seconds. */
function byOrigin(file) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const seconds = {};
  profile.samples.forEach((id, i) => {
    const { url, functionName } = nodes.get(id).callFrame;
    const origin = url.includes('/node_modules/@tensorflow/')
      ? 'TensorFlow.js'
      : url.startsWith(ownDist)
        ? 'distill-delivery'
        : url.includes('/examples/distill-tfjs/')
          ? 'the example (train.js, data.js, augments.js)'
          : url.startsWith('node:')
            ? 'Node.js (module loading and the rest)'
            : functionName === '(garbage collector)'
              ? 'garbage collection'
              : functionName === '(idle)' || functionName === '(program)'
                ? 'idle and V8 (compiler, runtime)'
                : 'other';
    seconds[origin] = (seconds[origin] ?? 0) + (profile.timeDeltas[i] ?? 0) / 1e6;
  });
  return seconds;
}

function train(node, { agent, env, args = [] }) {
  const childEnv = { ...process.env, QUICK: process.env.BENCH_TFJS_QUICK === '1' ? '1' : '0', SEED: '1', STUDENT_SEED: '1', ...env };
  for (const name of ['NODE_OPTIONS', 'NODE_EXTRA_CA_CERTS', 'DISTILL_DELIVERY_BASE', 'DISTILL_DELIVERY_STORE_MODE', 'DISTILL_DELIVERY_REPORT', 'DISTILL_DELIVERY_STRICT']) {
    if (env[name] === undefined) delete childEnv[name];
  }
  if (env.DISTILL_DELIVERY === undefined) delete childEnv.DISTILL_DELIVERY;
  const result = spawnTimed(node, [...args, ...(agent ? ['--import', loader] : []), 'train.js'], { cwd: example, env: childEnv });
  if (result.status !== 0) throw new Error(`train.js failed on ${node} (exit ${result.status ?? result.signal}):\n${result.stderr}`);
  const output = JSON.parse(result.stdout.trim().split('\n').at(-1));
  return { ...output, wallSeconds: result.wallMs / 1000, cpuSeconds: result.cpuMs === undefined ? output.cpuSeconds : result.cpuMs / 1000 };
}

/** Every figure on `node`; `profile`: also the replay's and the run alone's time by origin. */
export function replayBench(node, { pairs = Number(process.env.BENCH_TFJS_PAIRS ?? 5), profile = false } = {}) {
  if (!existsSync(join(example, 'node_modules', '@tensorflow', 'tfjs'))) return { skipped: 'examples/distill-tfjs has no node_modules (npm ci --prefix examples/distill-tfjs)' };
  const dir = mkdtempSync(join(tmpdir(), 'distill-delivery-bench-tfjs-'));
  try {
    const base = JSON.parse(readFileSync(join(example, 'store.json'), 'utf8'));
    // The exit report is the example's; the bench reads the JSON line.
    base.report = false;
    const checked = { ...base, store: { url: join(dir, 'checked') } };
    const off = { ...base, deliveries: Object.fromEntries(Object.entries(base.deliveries).map(([name, spec]) => [name, { ...spec, check: 'off' }])), store: { url: join(dir, 'off') } };
    const store = (config, mode, extra = {}) => ({ DISTILL_DELIVERY: JSON.stringify(config), DISTILL_DELIVERY_BASE: example, DISTILL_DELIVERY_STORE_MODE: mode, ...extra });
    const record = train(node, { agent: true, env: store(checked, 'record') });
    train(node, { agent: true, env: store(off, 'record') });
    const kinds = {
      replay: (args) => train(node, { agent: true, env: store(checked, 'replay', { TEACHER: 'stored' }), args }),
      replayOff: (args) => train(node, { agent: true, env: store(off, 'replay', { TEACHER: 'stored' }), args }),
      alone: (args) => train(node, { agent: false, env: { TEACHER: 'none' }, args }),
    };
    const names = Object.keys(kinds);
    const runs = Object.fromEntries(names.map((name) => [name, []]));
    for (let p = 0; p < pairs; p++) {
      for (let k = 0; k < names.length; k++) {
        const kind = names[(p + k) % names.length];
        const run = kinds[kind]();
        if (kind !== 'alone' && run.batchDigests.some((digest, i) => digest !== record.batchDigests[i])) throw new Error('a replayed student was given other batches than the record run');
        runs[kind].push(run);
      }
    }
    const profiled = (kind) => {
      const out = join(dir, `profile-${kind}`);
      kinds[kind](['--cpu-prof', '--cpu-prof-dir', out]);
      return join(out, readdirSync(out)[0]);
    };
    const checks = { replay: checksShare(profiled('replay')), replayOff: checksShare(profiled('replayOff')) };
    const profiles = profile ? { replay: byOrigin(profiled('replay')), alone: byOrigin(profiled('alone')) } : undefined;
    const ratio = (a, b, key) => median(runs[a].map((run, i) => run[key] / runs[b][i][key]));
    const med = (kind, key) => median(runs[kind].map((run) => run[key]));
    return {
      pairs,
      steps: record.batches,
      seconds: Object.fromEntries(names.map((kind) => [kind, { wall: med(kind, 'wallSeconds'), cpu: med(kind, 'cpuSeconds') }])),
      ratio: { wall: ratio('replay', 'alone', 'wallSeconds'), cpu: ratio('replay', 'alone', 'cpuSeconds') },
      checks: { wall: ratio('replay', 'replayOff', 'wallSeconds'), cpu: ratio('replay', 'replayOff', 'cpuSeconds'), profile: checks },
      ...(profiles && { profiles }),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(replayBench(process.execPath, { profile: process.env.BENCH_TFJS_PROFILE === '1' }), null, 2));
}
