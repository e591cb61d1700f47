// Runs train.js as child processes and writes what the students learned and what the runs cost:
// - record:   one run with the agent and store.json (DISTILL_DELIVERY_STORE_MODE=record): the
//             teacher trained, then a student distilled from its logits and hidden features,
//             the teacher's logits (MLP.forward, recordOnly) and features (the teacherFeatures
//             recorder) written to a store at every step;
// - for each student seed:
//   - ordinary:          the same with features.json, no store: teacher trained, student distilled;
//   - replay, logits + features / logits only (BETA=0) / features only (ALPHA=0): the
//                        student replaying the store (TEACHER_EPOCHS=0: no teacher trained or run);
//   - alone:             ALONE=1, no agent: the student on its labeled points only.
// Checks that each replayed student (logits + features) ends exactly where the ordinary run
// with its seed does, and what the agent's reports say; writes <out>/results.md,
// <out>/accuracy.svg, <out>/times.svg and <out>/results.json, and prints the tables.
//
//   node run.js                  4 student seeds, full size (a few minutes)
//   node run.js --quick          1 student seed, tiny size, into results/quick (seconds)
//   node run.js --seeds 1,2,3,4,5 --out /tmp/r
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const loader = resolve(here, '../../loader.mjs');
const { values: args } = parseArgs({ options: { quick: { type: 'boolean', default: false }, seeds: { type: 'string' }, out: { type: 'string' } } });
const quick = args.quick;
const studentSeeds = (args.seeds ?? (quick ? '1' : '1,2,3,4')).split(',').map((s) => Number.parseInt(s, 10));
const out = resolve(args.out ?? join(here, quick ? 'results/quick' : 'results'));
const TEACHER_SEED = 1;

if (!existsSync(join(here, 'node_modules/@tensorflow/tfjs'))) {
  console.error('run.js: @tensorflow/tfjs is not installed here; run `npm ci` in examples/distill-features first.');
  process.exit(1);
}
if (!existsSync(resolve(here, '../../dist/register.js'))) {
  console.error('run.js: the library is not built; run `npm run build` in the repository root first.');
  process.exit(1);
}

const work = mkdtempSync(join(tmpdir(), 'distill-features-'));
const storeUrl = join(work, 'teacher-outputs');
let runCount = 0;

/** The config file `name` as inline JSON: its store in the temporary folder, its report written as JSON there too. */
function config(name, reportFile) {
  const parsed = JSON.parse(readFileSync(join(here, name), 'utf8'));
  if (parsed.store) parsed.store.url = storeUrl;
  parsed.report = reportFile;
  return JSON.stringify(parsed);
}

/**
 * Runs train.js once, with the agent and `configName` (or without the agent), `env` on top of
 * this process's; resolves to its JSON line plus `report` (the agent's, or null) and `wallSeconds`.
 */
function train(label, { configName, mode, env = {} }) {
  const report = join(work, `report-${++runCount}.json`);
  const childEnv = { ...process.env, QUICK: quick ? '1' : '0', SEED: String(TEACHER_SEED), ...env };
  for (const name of ['NODE_OPTIONS', 'DISTILL_DELIVERY', 'DISTILL_DELIVERY_BASE', 'DISTILL_DELIVERY_STORE_MODE', 'DISTILL_DELIVERY_REPORT']) delete childEnv[name];
  if (configName) Object.assign(childEnv, { DISTILL_DELIVERY: config(configName, report), DISTILL_DELIVERY_BASE: here }, mode && { DISTILL_DELIVERY_STORE_MODE: mode });
  const started = performance.now();
  const child = spawn(process.execPath, [...(configName ? ['--import', loader] : []), 'train.js'], { cwd: here, env: childEnv });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
  return new Promise((done, fail) => {
    child.on('error', fail);
    child.on('close', (code, signal) => {
      const wallSeconds = (performance.now() - started) / 1000;
      const lines = stdout.trimEnd().split('\n');
      if (code !== 0) return fail(new Error(`[${label}] train.js exited with ${signal ?? code}\n${stdout}${stderr}`));
      const result = JSON.parse(lines.at(-1));
      console.log(`[${label}] student ${(100 * result.studentAccuracy).toFixed(1)}%, ${wallSeconds.toFixed(1)} s wall, ${result.cpuSeconds.toFixed(1)} s CPU`);
      // Anything on stderr besides the agent's report is a problem the checks name.
      const said = stderr.split('\n').filter((line) => line.trim() !== '' && !/^(distill-delivery report|\(no deliveries configured\)|delivery |teacherLogits |recorder |teacherFeatures |studentFeatures |phases: |store: )/.test(line));
      done({ ...result, wallSeconds, report: existsSync(report) ? JSON.parse(readFileSync(report, 'utf8')) : null, stderr: said.join('\n') });
    });
  });
}

const conditions = [
  { key: 'alone', label: 'student alone' },
  { key: 'logits', label: 'logits only' },
  { key: 'features', label: 'features only' },
  { key: 'both', label: 'logits + features' },
];

const started = performance.now();
let record;
let storeBytes;
const runs = [];
try {
  record = await train(`record, student seed ${studentSeeds[0]}`, { configName: 'store.json', mode: 'record', env: { STUDENT_SEED: String(studentSeeds[0]) } });
  storeBytes = readdirSync(work, { withFileTypes: true, recursive: true }).filter((e) => e.isFile() && !e.name.startsWith('report-')).reduce((sum, e) => sum + statSync(join(e.parentPath ?? e.path, e.name)).size, 0);
  for (const s of studentSeeds) {
    const seedEnv = { STUDENT_SEED: String(s) };
    const replay = (extra) => ({ configName: 'store.json', mode: 'replay', env: { ...seedEnv, TEACHER_EPOCHS: '0', ...extra } });
    runs.push({
      seed: s,
      ordinary: await train(`ordinary, student seed ${s}`, { configName: 'features.json', env: seedEnv }),
      both: await train(`replay, logits + features, student seed ${s}`, replay({})),
      logits: await train(`replay, logits only, student seed ${s}`, replay({ BETA: '0' })),
      features: await train(`replay, features only, student seed ${s}`, replay({ ALPHA: '0' })),
      alone: await train(`alone, student seed ${s}`, { env: { ...seedEnv, ALONE: '1' } }),
    });
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
const seconds = (performance.now() - started) / 1000;

// Checks: the replay is the ordinary run without its teacher; the recorders recorded (or replayed) every step.
const problems = [];
const same = (a, b) => a.studentCurve.length === b.studentCurve.length && a.studentCurve.every((x, i) => x === b.studentCurve[i]);
const recorderRow = (run, name) => run.report?.recorders?.find((r) => r.name === name);
const steps = record.steps;
if (!same(record, runs[0].ordinary)) problems.push(`the record run's student differs from the ordinary run with student seed ${studentSeeds[0]}`);
if (record.report?.store?.steps !== steps) problems.push(`the record run wrote ${record.report?.store?.steps} steps, expected ${steps}`);
for (const run of runs) {
  if (!same(run.both, run.ordinary)) problems.push(`student seed ${run.seed}: the replayed student's accuracy ${JSON.stringify(run.both.studentCurve)} differs from the ordinary run's ${JSON.stringify(run.ordinary.studentCurve)}`);
  for (const name of ['teacherFeatures', 'studentFeatures']) {
    if (recorderRow(run.ordinary, name)?.recorded !== steps) problems.push(`student seed ${run.seed}: in the ordinary run, ${name} recorded ${recorderRow(run.ordinary, name)?.recorded} calls, expected ${steps}`);
  }
  for (const key of ['both', 'logits', 'features']) {
    const r = run[key];
    const teacherRow = recorderRow(r, 'teacherFeatures');
    if (teacherRow?.recorded !== 0 || teacherRow?.fromStore !== steps) problems.push(`student seed ${run.seed}, ${key}: teacherFeatures recorded ${teacherRow?.recorded} and got ${teacherRow?.fromStore} from the store, expected 0 and ${steps}`);
    if (r.report?.store?.steps !== steps) problems.push(`student seed ${run.seed}, ${key}: ${r.report?.store?.steps} of ${steps} steps replayed`);
    if (r.teacherEpochs !== 0) problems.push(`student seed ${run.seed}, ${key}: the teacher trained for ${r.teacherEpochs} epochs`);
  }
  for (const r of [run.ordinary, run.both, run.logits, run.features, run.alone]) {
    if (r.tensors.atEnd !== r.tensors.afterFirstEpoch) problems.push(`student seed ${run.seed}: the tensor count went from ${r.tensors.afterFirstEpoch} to ${r.tensors.atEnd}`);
    if ((r.report?.findings ?? []).length > 0) problems.push(`student seed ${run.seed}: the agent's report has findings: ${r.report.findings.map((f) => f.code).join(', ')}`);
    if (r.stderr !== '') problems.push(`student seed ${run.seed}: stderr said ${JSON.stringify(r.stderr)}`);
  }
}

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const std = (xs) => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1)));
const pct = (x) => (100 * x).toFixed(1);
const final = (key) => runs.map((run) => run[key].studentAccuracy);
const meanStd = (xs) => `${pct(mean(xs))} ± ${pct(std(xs))}`;
const gains = runs.map((run) => run.both.studentAccuracy - run.alone.studentAccuracy);
const spread = Math.max(std(final('both')), std(final('alone')));
const verdict = mean(gains) > spread && gains.every((g) => g > 0)
  ? `The student distilled from logits and features beat the student alone on every seed, by ${pct(Math.min(...gains))} to ${pct(Math.max(...gains))} points (mean ${pct(mean(gains))}), more than the spread over seeds (the larger standard deviation of the two, ${pct(spread)} points).`
  : `The student distilled from logits and features did NOT beat the student alone by more than the spread over seeds: gains ${gains.map(pct).join(', ')} points, spread ${pct(spread)} points.`;

const accuracyTable = [
  `| student seed | teacher | ${conditions.map((c) => c.label).join(' | ')} | ordinary run (teacher trained) |`,
  `| ---: | ---: | ${conditions.map(() => '---:').join(' | ')} | ---: |`,
  ...runs.map((run) => `| ${run.seed} | ${pct(run.ordinary.teacherAccuracy)} | ${conditions.map((c) => pct(run[c.key].studentAccuracy)).join(' | ')} | ${pct(run.ordinary.studentAccuracy)} |`),
  `| mean ± std | ${meanStd(runs.map((run) => run.ordinary.teacherAccuracy))} | ${conditions.map((c) => meanStd(final(c.key))).join(' | ')} | ${meanStd(final('ordinary'))} |`,
].join('\n');

const sum = (xs, key) => xs.reduce((total, r) => total + r[key], 0);
const replays = runs.map((run) => run.both);
const ordinaries = runs.map((run) => run.ordinary);
const totals = {
  ordinary: { wall: sum(ordinaries, 'wallSeconds'), cpu: sum(ordinaries, 'cpuSeconds') },
  teacherOnce: { wall: record.wallSeconds + sum(replays, 'wallSeconds'), cpu: record.cpuSeconds + sum(replays, 'cpuSeconds') },
};
const sec = (x) => x.toFixed(1);
const timeTable = [
  '| run | student seed | wall time (s) | CPU time (s) |',
  '| --- | ---: | ---: | ---: |',
  ...runs.map((run) => `| ordinary (teacher trained, then the student) | ${run.seed} | ${sec(run.ordinary.wallSeconds)} | ${sec(run.ordinary.cpuSeconds)} |`),
  `| record (the same, writing the store) | ${studentSeeds[0]} | ${sec(record.wallSeconds)} | ${sec(record.cpuSeconds)} |`,
  ...runs.map((run) => `| student replaying the store (logits + features) | ${run.seed} | ${sec(run.both.wallSeconds)} | ${sec(run.both.cpuSeconds)} |`),
  `| **${runs.length} ordinary runs** | | **${sec(totals.ordinary.wall)}** | **${sec(totals.ordinary.cpu)}** |`,
  `| **record + ${runs.length} replaying students** | | **${sec(totals.teacherOnce.wall)}** | **${sec(totals.teacherOnce.cpu)}** |`,
].join('\n');

const markdown = `# distill-features: results${quick ? ' (quick mode: tiny sizes, not a measurement)' : ''}

Student test accuracy (%) after the last of ${record.studentCurve.length} student epochs; one teacher (seed ${TEACHER_SEED}), ${runs.length} student seed${runs.length > 1 ? 's' : ''} (only the student's and the connector's initial weights differ); std is the sample standard deviation over seeds.
"student alone": cross-entropy on its ${quick ? '64' : '256'} labeled points, as many steps, no teacher. The three distilled columns replay the teacher from the store:
"logits only" (BETA=0), "features only" (ALPHA=0), "logits + features" (ALPHA 0.9, BETA 1). "ordinary run" trains the teacher and distills the student in one process (features.json, no store).

${accuracyTable}

${verdict}

Wall and CPU time of the runs behind the "logits + features" column; the store held ${storeBytes === undefined ? '?' : (storeBytes / 1024).toFixed(0)} KiB.
Wall time is each child process's, start to exit, on a machine other work may share (noisy); CPU time is what the process itself used.

${timeTable}

The record run and the ${runs.length} replaying students took ${(totals.teacherOnce.wall / totals.ordinary.wall).toFixed(2)}× the wall time and ${(totals.teacherOnce.cpu / totals.ordinary.cpu).toFixed(2)}× the CPU time of the ${runs.length} ordinary runs.

${problems.length ? `Checks that failed:\n\n${problems.map((p) => `- ${p}`).join('\n')}\n` : `Checks: every replayed student reached exactly (every epoch) the accuracy of the ordinary run with its seed, and the record run's student that of the first; the recorders recorded the teacher's and the student's features at each of the ${steps} steps in the ordinary runs, and the replays got the teacher's ${steps} from the store; no run's tensor count grew, and no report had a finding.\n`}
All ${1 + runs.length * 5} runs took ${seconds.toFixed(0)} s.

![student test accuracy per epoch](accuracy.svg)

![wall time per run](times.svg)
`;

mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'results.md'), markdown);
writeFileSync(join(out, 'accuracy.svg'), accuracyPlot());
writeFileSync(join(out, 'times.svg'), timesPlot());
const strip = (r) => ({ ...r, stderr: undefined, report: r.report && { recorders: r.report.recorders, store: r.report.store, findings: r.report.findings } });
writeFileSync(join(out, 'results.json'), `${JSON.stringify({ quick, seconds, problems, gains, spread, storeBytes, totals, record: strip(record), runs: runs.map((run) => Object.fromEntries(Object.entries(run).map(([k, v]) => [k, typeof v === 'object' ? strip(v) : v]))) }, null, 1)}\n`);
console.log(`\n${accuracyTable}\n\n${verdict}\n\n${timeTable}\n`);
console.log(problems.length ? `checks failed:\n${problems.join('\n')}` : 'checks passed: each replayed student matched its ordinary run exactly; the recorders recorded and replayed every step.');
console.log(`wrote ${join(out, 'results.md')}, accuracy.svg, times.svg and results.json (${seconds.toFixed(0)} s)`);
process.exitCode = problems.length ? 1 : 0;

function svg(width, height, title, parts) {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="20" y="24" font-size="15" font-weight="bold">${title}</text>
${parts.join('\n')}
</svg>
`;
}

/** Student test accuracy per epoch: a thin line per seed and a thick mean line per condition, the teacher dotted. */
function accuracyPlot() {
  const [width, height] = [760, 440];
  const margin = { left: 64, right: 200, top: 44, bottom: 52 };
  const epochs = record.studentCurve.length;
  const all = runs.flatMap((run) => conditions.flatMap((c) => run[c.key].studentCurve));
  const lo = Math.max(0, Math.floor(Math.min(...all) * 10) / 10);
  const hi = Math.min(1, Math.ceil(Math.max(...all, ...runs.map((run) => run.ordinary.teacherAccuracy)) * 10) / 10);
  const x = (epoch) => margin.left + ((epoch - 1) / Math.max(1, epochs - 1)) * (width - margin.left - margin.right);
  const y = (acc) => margin.top + ((hi - acc) / Math.max(1e-9, hi - lo)) * (height - margin.top - margin.bottom);
  const path = (curve) => curve.map((acc, i) => `${i ? 'L' : 'M'}${x(i + 1).toFixed(1)},${y(acc).toFixed(1)}`).join(' ');
  const colors = { alone: '#7f7f7f', logits: '#ff7f0e', features: '#9467bd', both: '#1f77b4' };
  const parts = [];
  for (let tick = lo; tick <= hi + 1e-9; tick += 0.1) {
    parts.push(`<line x1="${margin.left}" x2="${width - margin.right}" y1="${y(tick).toFixed(1)}" y2="${y(tick).toFixed(1)}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${margin.left - 8}" y="${(y(tick) + 4).toFixed(1)}" text-anchor="end">${Math.round(tick * 100)}%</text>`);
  }
  const step = Math.max(1, Math.ceil(epochs / 10));
  for (let epoch = 1; epoch <= epochs; epoch += epoch === 1 && step > 1 ? step - 1 : step) parts.push(`<text x="${x(epoch).toFixed(1)}" y="${height - margin.bottom + 18}" text-anchor="middle">${epoch}</text>`);
  const teacher = mean(runs.map((run) => run.ordinary.teacherAccuracy));
  parts.push(`<line x1="${margin.left}" x2="${width - margin.right}" y1="${y(teacher).toFixed(1)}" y2="${y(teacher).toFixed(1)}" stroke="#2ca02c" stroke-width="1.5" stroke-dasharray="2 3"/>`);
  for (const c of conditions) {
    for (const run of runs) parts.push(`<path d="${path(run[c.key].studentCurve)}" fill="none" stroke="${colors[c.key]}" stroke-opacity="0.35" stroke-width="1"/>`);
    const meanCurve = Array.from({ length: epochs }, (_, i) => mean(runs.map((run) => run[c.key].studentCurve[i])));
    parts.push(`<path d="${path(meanCurve)}" fill="none" stroke="${colors[c.key]}" stroke-width="2.5"/>`);
  }
  const legend = [...conditions.map((c) => [colors[c.key], c.label, `${pct(mean(final(c.key)))}% at the end`, '']), ['#2ca02c', 'teacher', `${pct(teacher)}%`, ' stroke-dasharray="2 3"']];
  legend.forEach(([color, label, value, dash], i) => {
    const top = margin.top + 8 + i * 40;
    const left = width - margin.right + 16;
    parts.push(`<line x1="${left}" x2="${left + 24}" y1="${top}" y2="${top}" stroke="${color}" stroke-width="2.5"${dash}/>`);
    parts.push(`<text x="${left + 30}" y="${top + 4}">${label}</text>`);
    parts.push(`<text x="${left + 30}" y="${top + 19}" fill="#555">${value}</text>`);
  });
  parts.push(`<line x1="${margin.left}" x2="${margin.left}" y1="${margin.top}" y2="${height - margin.bottom}" stroke="#333"/>`);
  parts.push(`<line x1="${margin.left}" x2="${width - margin.right}" y1="${height - margin.bottom}" y2="${height - margin.bottom}" stroke="#333"/>`);
  parts.push(`<text x="${(margin.left + width - margin.right) / 2}" y="${height - 12}" text-anchor="middle">student epoch</text>`);
  return svg(width, height, `Student test accuracy per epoch, ${runs.length} seed${runs.length > 1 ? 's' : ''} (thin) and mean (thick)`, parts);
}

/** Wall time per run: the ordinary runs against the record run and the replaying students. */
function timesPlot() {
  const bars = [
    ...runs.map((run) => [`ordinary, seed ${run.seed}`, run.ordinary.wallSeconds, run.ordinary.cpuSeconds, '#d62728']),
    [`record, seed ${studentSeeds[0]}`, record.wallSeconds, record.cpuSeconds, '#2ca02c'],
    ...runs.map((run) => [`replay, seed ${run.seed}`, run.both.wallSeconds, run.both.cpuSeconds, '#1f77b4']),
  ];
  const [width, rowHeight, top, left, right] = [720, 26, 56, 150, 560];
  const height = top + bars.length * rowHeight + 40;
  const most = Math.max(...bars.map((b) => b[1]));
  const parts = [`<text x="${left}" y="${top - 12}" fill="#555">bar: wall time; the figure after it: wall / CPU seconds</text>`];
  bars.forEach(([label, wall, cpu, color], i) => {
    const y = top + i * rowHeight;
    const w = (wall / most) * (right - left);
    parts.push(`<text x="${left - 8}" y="${y + 16}" text-anchor="end">${label}</text>`);
    parts.push(`<rect x="${left}" y="${y + 4}" width="${w.toFixed(1)}" height="${rowHeight - 8}" fill="${color}"/>`);
    parts.push(`<text x="${(left + w + 6).toFixed(1)}" y="${y + 16}">${wall.toFixed(1)} / ${cpu.toFixed(1)} s</text>`);
  });
  parts.push(`<text x="${left}" y="${height - 14}">${runs.length} ordinary runs: ${sec(totals.ordinary.wall)} s wall; record + ${runs.length} replays: ${sec(totals.teacherOnce.wall)} s wall</text>`);
  return svg(width, height, 'Teacher once, students many: wall time per run', parts);
}
