/**
 * A student replaying a store against the same student with no teacher at all, in the
 * distill-tfjs example (examples/distill-tfjs, issue 23.4): what a replay costs a user over
 * training the student by itself.
 *
 * One record run writes the store (`store.json` with DISTILL_DELIVERY_STORE_MODE=record,
 * full size, teacher seed 1); then, alternating, `replay` runs train.js replaying it
 * (TEACHER=stored: no teacher built or trained; the mixup and the teacher's forward pass
 * return the stored tensors) and `alone` runs it without the agent and with no teacher at
 * all (TEACHER=none: none built, trained or run; the soft targets are the mixed labels).
 * BENCH_TFJS_PAIRS pairs (default 5), each pair's order alternating; a figure is the median
 * over pairs of replay / alone, for the CPU time of each child (user + system, every thread,
 * its own rusage: lib.js spawnTimed) and for its wall time. The replayed student's batches
 * are checked to be the record run's at every step, so the replay is the real one.
 *
 * The example's dependencies must be installed (`npm ci --prefix examples/distill-tfjs`);
 * without them the result is `{ skipped }`. `node bench/replay-tfjs.js` prints JSON for the
 * node running it.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loader, median, spawnTimed } from './lib.js';

const example = fileURLToPath(new URL('../examples/distill-tfjs/', import.meta.url));

/** Self time of a CPU profile (`--cpu-prof` file) by where the code comes from, in seconds. */
function byOrigin(file) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const seconds = {};
  profile.samples.forEach((id, i) => {
    const { url, functionName } = nodes.get(id).callFrame;
    const origin = url.includes('/dist/')
      ? 'distill-delivery'
      : url.includes('@tensorflow')
        ? 'TensorFlow.js'
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
  const childEnv = { ...process.env, QUICK: '0', SEED: '1', STUDENT_SEED: '1', ...env };
  for (const name of ['NODE_OPTIONS', 'NODE_EXTRA_CA_CERTS', 'DISTILL_DELIVERY_BASE', 'DISTILL_DELIVERY_STORE_MODE', 'DISTILL_DELIVERY_REPORT', 'DISTILL_DELIVERY_STRICT']) {
    if (env[name] === undefined) delete childEnv[name];
  }
  if (env.DISTILL_DELIVERY === undefined) delete childEnv.DISTILL_DELIVERY;
  const result = spawnTimed(node, [...args, ...(agent ? ['--import', loader] : []), 'train.js'], { cwd: example, env: childEnv });
  if (result.status !== 0) throw new Error(`train.js failed on ${node} (exit ${result.status ?? result.signal}):\n${result.stderr}`);
  const output = JSON.parse(result.stdout.trim().split('\n').at(-1));
  return { ...output, wallSeconds: result.wallMs / 1000, cpuSeconds: result.cpuMs === undefined ? output.cpuSeconds : result.cpuMs / 1000 };
}

/**
 * `profile`: also one replay and one run with no teacher under `--cpu-prof`, their self time
 * by where the code comes from (what npm run bench prints when the goal does not hold).
 */
export function replayBench(node, { pairs = Number(process.env.BENCH_TFJS_PAIRS ?? 5), profile = false } = {}) {
  if (!existsSync(join(example, 'node_modules', '@tensorflow', 'tfjs'))) return { skipped: 'examples/distill-tfjs has no node_modules (npm ci --prefix examples/distill-tfjs)' };
  const dir = mkdtempSync(join(tmpdir(), 'distill-delivery-bench-tfjs-'));
  try {
    const config = JSON.parse(readFileSync(join(example, 'store.json'), 'utf8'));
    config.store.url = join(dir, 'teacher-outputs');
    // The exit report is the example's; the bench reads the JSON line.
    config.report = false;
    const store = (mode, extra = {}) => ({ DISTILL_DELIVERY: JSON.stringify(config), DISTILL_DELIVERY_BASE: example, DISTILL_DELIVERY_STORE_MODE: mode, ...extra });
    const record = train(node, { agent: true, env: store('record') });
    const runs = { replay: [], alone: [] };
    for (let p = 0; p < pairs; p++) {
      for (const kind of p % 2 === 0 ? ['replay', 'alone'] : ['alone', 'replay']) {
        const run = kind === 'replay' ? train(node, { agent: true, env: store('replay', { TEACHER: 'stored' }) }) : train(node, { agent: false, env: { TEACHER: 'none' } });
        if (kind === 'replay' && run.batchDigests.some((digest, i) => digest !== record.batchDigests[i])) throw new Error('the replayed student was given other batches than the record run');
        runs[kind].push(run);
      }
    }
    let profiles;
    if (profile) {
      const prof = (kind, run) => {
        const out = join(dir, `profile-${kind}`);
        run(['--cpu-prof', '--cpu-prof-dir', out]);
        return byOrigin(join(out, readdirSync(out)[0]));
      };
      profiles = {
        replay: prof('replay', (args) => train(node, { agent: true, env: store('replay', { TEACHER: 'stored' }), args })),
        alone: prof('alone', (args) => train(node, { agent: false, env: { TEACHER: 'none' }, args })),
      };
    }
    const ratio = (key) => median(runs.replay.map((run, i) => run[key] / runs.alone[i][key]));
    const med = (kind, key) => median(runs[kind].map((run) => run[key]));
    return {
      pairs,
      steps: record.batches,
      seconds: { replay: { wall: med('replay', 'wallSeconds'), cpu: med('replay', 'cpuSeconds') }, alone: { wall: med('alone', 'wallSeconds'), cpu: med('alone', 'cpuSeconds') } },
      ratio: { wall: ratio('wallSeconds'), cpu: ratio('cpuSeconds') },
      ...(profiles && { profiles }),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(replayBench(process.execPath, { profile: process.env.BENCH_TFJS_PROFILE === '1' }), null, 2));
}
