// Runs train.js over a few seeds in three conditions and writes what the student learned:
// - delivery:    node --import ../../loader.mjs train.js, DISTILL_DELIVERY=deliveries.json
//                (the student's mixup call returns the teacher's mixed batch);
// - no delivery: node train.js (teacher and student each mix the batch their own way);
// - alone:       node train.js with KD_WEIGHT=0 (the student ignores the teacher), for scale.
// Writes <out>/results.md, <out>/accuracy.svg and <out>/results.json, and prints the table.
// With --store, runs the "teacher once, students many" mode instead (teacher-once.js).
//
//   node run.js                 3 seeds, full size (a few minutes)
//   node run.js --quick         2 seeds, tiny size, into results/quick (seconds)
//   node run.js --seeds 4,5 --out /tmp/r
//   node run.js --store [--quick]   one record run, then students replaying its store
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { here, loader, train } from './children.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    store: { type: 'boolean', default: false },
    seeds: { type: 'string' },
    out: { type: 'string' },
  },
});
const seeds = (args.seeds ?? (args.quick ? '1,2' : '1,2,3')).split(',').map((s) => Number.parseInt(s, 10));
const out = resolve(args.out ?? join(here, args.quick ? 'results/quick' : 'results'));

if (!existsSync(join(here, 'node_modules/@tensorflow/tfjs'))) {
  console.error('run.js: @tensorflow/tfjs is not installed here; run `npm ci` in examples/distill-tfjs first.');
  process.exit(1);
}
if (!existsSync(resolve(here, '../../dist/register.js'))) {
  console.error('run.js: the library is not built; run `npm run build` in the repository root first.');
  process.exit(1);
}

if (args.store) {
  const { teacherOnce } = await import('./teacher-once.js');
  process.exit(await teacherOnce({ quick: args.quick, out: args.out, seeds: args.seeds }));
}

const conditions = [
  { key: 'delivery', label: 'delivery', nodeArgs: ['--import', loader], env: { DISTILL_DELIVERY: join(here, 'deliveries.json') } },
  { key: 'noDelivery', label: 'no delivery', nodeArgs: [], env: {} },
  { key: 'alone', label: 'student alone', nodeArgs: [], env: { KD_WEIGHT: '0' } },
];

/** Runs train.js once for `seed` in `condition`; its result without what only the store mode reads. */
async function trainIn(seed, condition) {
  const { stderr, wallSeconds, studentSeed, teacherEpochs, cpuSeconds, batchDigests, fedDigests, ...result } = await train(`seed ${seed}, ${condition.label}`, {
    nodeArgs: condition.nodeArgs,
    env: { SEED: String(seed), ...condition.env },
    quick: args.quick,
  });
  return result;
}

const started = Date.now();
const runs = [];
for (const seed of seeds) {
  const row = { seed };
  for (const condition of conditions) row[condition.key] = await trainIn(seed, condition);
  runs.push(row);
}
const seconds = (Date.now() - started) / 1000;

// Checks: the agent delivered the mixup once per batch, and only where it was asked to.
const problems = [];
for (const { seed, delivery, noDelivery } of runs) {
  const r = delivery.report;
  if (delivery.alignedBatches !== delivery.batches) problems.push(`seed ${seed}: with delivery, ${delivery.alignedBatches} of ${delivery.batches} batches were the same for teacher and student`);
  if (!r || r.recorded !== delivery.batches || r.replayed !== delivery.batches || r.left !== 0) problems.push(`seed ${seed}: the agent's report is ${JSON.stringify(r)}, expected ${delivery.batches} recorded and replayed, 0 left`);
  if (delivery.teacherAccuracy !== noDelivery.teacherAccuracy) problems.push(`seed ${seed}: the teacher differs between conditions (${delivery.teacherAccuracy} and ${noDelivery.teacherAccuracy})`);
  if (noDelivery.alignedBatches !== 0) problems.push(`seed ${seed}: without delivery, ${noDelivery.alignedBatches} batches were the same for teacher and student`);
}

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const std = (xs) => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1)));
const pct = (x) => (100 * x).toFixed(1);
const meanStd = (xs) => `${pct(mean(xs))} ± ${pct(std(xs))}`;
const column = (key, field) => runs.map((run) => run[key][field]);

const table = [
  '| seed | teacher | student, delivery | student, no delivery | student alone | same mixed batch (delivery) | same mixed batch (no delivery) |',
  '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...runs.map(({ seed, delivery, noDelivery, alone }) =>
    `| ${seed} | ${pct(delivery.teacherAccuracy)} | ${pct(delivery.studentAccuracy)} | ${pct(noDelivery.studentAccuracy)} | ${pct(alone.studentAccuracy)} | ${delivery.alignedBatches}/${delivery.batches} | ${noDelivery.alignedBatches}/${noDelivery.batches} |`),
  `| mean ± std | ${meanStd(column('delivery', 'teacherAccuracy'))} | ${meanStd(column('delivery', 'studentAccuracy'))} | ${meanStd(column('noDelivery', 'studentAccuracy'))} | ${meanStd(column('alone', 'studentAccuracy'))} | | |`,
].join('\n');
const reports = runs.map(({ seed, delivery: { report: r } }) =>
  `| ${seed} | ${r?.recorded} | ${r?.replayed} | ${r?.left} | ${r?.discarded} | ${r?.recordPhases} record, ${r?.overridePhases} override |`);
const first = runs[0].delivery;

const markdown = `# Student test accuracy (%), distill-tfjs${args.quick ? ' (quick mode: tiny sizes, not a measurement)' : ''}

Test accuracy after the last of ${first.studentCurve.length} student epochs, on ${runs.length} seed${runs.length > 1 ? 's' : ''}; std is the sample standard deviation over seeds.
"teacher" is the same network in all three conditions (same seed, same data, same draws until distillation starts).
"student alone" is the same student trained with KD_WEIGHT=0: cross-entropy on its own mixup batches, no teacher.
"same mixed batch" counts the batches in which the teacher and the student were fed bit-identical mixed inputs and labels.

${table}

The agent's report for the delivery runs (mixup delivery, ./augments.js#Mixup.call):

| seed | recorded | replayed | left in queue | discarded | phases |
| ---: | ---: | ---: | ---: | ---: | --- |
${reports.join('\n')}

${problems.length ? `Checks that failed:\n\n${problems.map((p) => `- ${p}`).join('\n')}\n` : 'Checks: with delivery every batch was the same for teacher and student and the queue ended empty; without delivery no batch was.\n'}
Wall time for all ${runs.length * conditions.length} runs: ${seconds.toFixed(0)} s.

![student test accuracy per epoch](accuracy.svg)
`;

mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'results.md'), markdown);
writeFileSync(join(out, 'accuracy.svg'), plot());
writeFileSync(join(out, 'results.json'), `${JSON.stringify({ quick: args.quick, seconds, problems, runs }, null, 1)}\n`);
console.log(`\n${table}\n`);
console.log(problems.length ? `checks failed:\n${problems.join('\n')}` : 'checks passed: with delivery every batch aligned and the queue ended empty; without delivery none aligned.');
console.log(`wrote ${join(out, 'results.md')}, accuracy.svg and results.json (${seconds.toFixed(0)} s)`);
process.exitCode = problems.length ? 1 : 0;

/** Student test accuracy per epoch: a thin line per seed and a thick mean line per condition. */
function plot() {
  const [width, height] = [720, 440];
  const margin = { left: 64, right: 190, top: 44, bottom: 52 };
  const epochs = first.studentCurve.length;
  const all = runs.flatMap((run) => conditions.flatMap((c) => run[c.key].studentCurve)).concat(column('delivery', 'teacherAccuracy'));
  const lo = Math.max(0, Math.floor(Math.min(...all) * 10) / 10);
  const hi = Math.min(1, Math.ceil(Math.max(...all) * 10) / 10);
  const x = (epoch) => margin.left + ((epoch - 1) / Math.max(1, epochs - 1)) * (width - margin.left - margin.right);
  const y = (acc) => margin.top + ((hi - acc) / (hi - lo)) * (height - margin.top - margin.bottom);
  const path = (curve) => curve.map((acc, i) => `${i ? 'L' : 'M'}${x(i + 1).toFixed(1)},${y(acc).toFixed(1)}`).join(' ');
  const style = {
    delivery: { color: '#1f77b4', dash: '' },
    noDelivery: { color: '#d62728', dash: '' },
    alone: { color: '#7f7f7f', dash: ' stroke-dasharray="6 4"' },
  };
  const parts = [];
  for (let tick = lo; tick <= hi + 1e-9; tick += 0.1) {
    parts.push(`<line x1="${margin.left}" x2="${width - margin.right}" y1="${y(tick)}" y2="${y(tick)}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${margin.left - 8}" y="${y(tick) + 4}" text-anchor="end">${Math.round(tick * 100)}%</text>`);
  }
  const step = Math.max(1, Math.ceil(epochs / 10));
  for (let epoch = 1; epoch <= epochs; epoch += epoch === 1 && step > 1 ? step - 1 : step) {
    parts.push(`<text x="${x(epoch)}" y="${height - margin.bottom + 18}" text-anchor="middle">${epoch}</text>`);
  }
  const teacher = mean(column('delivery', 'teacherAccuracy'));
  parts.push(`<line x1="${margin.left}" x2="${width - margin.right}" y1="${y(teacher)}" y2="${y(teacher)}" stroke="#2ca02c" stroke-width="1.5" stroke-dasharray="2 3"/>`);
  for (const c of conditions) {
    const { color, dash } = style[c.key];
    for (const run of runs) parts.push(`<path d="${path(run[c.key].studentCurve)}" fill="none" stroke="${color}" stroke-opacity="0.35" stroke-width="1"${dash}/>`);
    const meanCurve = Array.from({ length: epochs }, (_, i) => mean(runs.map((run) => run[c.key].studentCurve[i])));
    parts.push(`<path d="${path(meanCurve)}" fill="none" stroke="${color}" stroke-width="2.5"${dash}/>`);
  }
  const legend = [
    ...conditions.map((c) => [style[c.key], c.key === 'alone' ? 'student alone (no KD)' : `student, ${c.label}`, `${pct(mean(column(c.key, 'studentAccuracy')))}% at the end`]),
    [{ color: '#2ca02c', dash: ' stroke-dasharray="2 3"' }, 'teacher (mean)', `${pct(teacher)}%`],
  ];
  legend.forEach(([{ color, dash }, label, value], i) => {
    const top = margin.top + 8 + i * 40;
    const left = width - margin.right + 16;
    parts.push(`<line x1="${left}" x2="${left + 24}" y1="${top}" y2="${top}" stroke="${color}" stroke-width="2.5"${dash}/>`);
    parts.push(`<text x="${left + 30}" y="${top + 4}">${label}</text>`);
    parts.push(`<text x="${left + 30}" y="${top + 19}" fill="#555">${value}</text>`);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="${margin.left}" y="24" font-size="15" font-weight="bold">Student test accuracy per epoch, ${runs.length} seed${runs.length > 1 ? 's' : ''} (thin) and mean (thick)</text>
${parts.join('\n')}
<line x1="${margin.left}" x2="${margin.left}" y1="${margin.top}" y2="${height - margin.bottom}" stroke="#333"/>
<line x1="${margin.left}" x2="${width - margin.right}" y1="${height - margin.bottom}" y2="${height - margin.bottom}" stroke="#333"/>
<text x="${(margin.left + width - margin.right) / 2}" y="${height - 12}" text-anchor="middle">student epoch</text>
<text transform="translate(16 ${(margin.top + height - margin.bottom) / 2}) rotate(-90)" text-anchor="middle">test accuracy</text>
</svg>
`;
}
