// "Teacher once, students many" (node run.js --store): the teacher's outputs are recorded
// to a store once, and each student replays them instead of training and running a teacher.
// - ordinary:  for each student seed, train.js with the agent and deliveries.json, as
//              run.js's "delivery" condition: the teacher trained, then the student
//              distilled from it (the mixup delivered from teacher step to student step);
// - record:    one run of the same, with store.json: the mixups and the teacher's soft
//              targets (Distiller.prototype.softTargets, recordOnly) are also written to a
//              store (DISTILL_DELIVERY_STORE_MODE=record);
// - students:  for each student seed, train.js replaying that store
//              (DISTILL_DELIVERY_STORE_MODE=replay, TEACHER=stored): no teacher built or
//              trained, no teacher forward pass, no mixup draws; the student's own training
//              as usual;
// - no teacher: for each student seed, right after its replay, train.js without the agent
//              and with no teacher at all (TEACHER=none: none built, trained or run; the soft
//              targets are the mixed labels): what the student's training costs by itself,
//              the floor a replaying student is timed against (goal: within 1.05x of it).
// The teacher's seed (data, teacher, batch order, mixup draws) is 1 throughout; a student
// seed changes only the student's initial weights. Checks that every replayed student ends
// with exactly the accuracy (the whole curve) of the ordinary run with its seed, and that
// at every step its loader gave the batch the record run's did (the loader shares
// Math.random with the mixup, which does not run in a replay: the agent advances
// Math.random by the draws each recorded call made), and was fed what the record run's
// student was; writes <out>/store.md, <out>/store.svg and <out>/store.json.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { here, loader, train } from './children.js';

const TEACHER_SEED = '1';

/** Bytes in the files under `dir`. */
function size(dir) {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .reduce((sum, e) => sum + statSync(join(e.parentPath ?? e.path, e.name)).size, 0);
}

/** Runs the mode; resolves to the exit status (1 if a check failed). */
export async function teacherOnce({ quick, out, seeds }) {
  const studentSeeds = (seeds ?? (quick ? '1' : '1,2,3')).split(',').map((s) => Number.parseInt(s, 10));
  const outDir = resolve(out ?? join(here, quick ? 'results/quick' : 'results'));
  const storeDir = mkdtempSync(join(tmpdir(), 'distill-tfjs-store-'));
  const config = JSON.parse(readFileSync(join(here, 'store.json'), 'utf8'));
  config.store.url = join(storeDir, 'teacher-outputs');
  const agent = ['--import', loader];
  // An inline config: its relative targets resolve against DISTILL_DELIVERY_BASE, as store.json's do against its folder.
  const storeEnv = (mode, extra) => ({ DISTILL_DELIVERY: JSON.stringify(config), DISTILL_DELIVERY_BASE: here, DISTILL_DELIVERY_STORE_MODE: mode, SEED: TEACHER_SEED, ...extra });
  const started = performance.now();
  let ordinary;
  let record;
  let students;
  let alone;
  let storeBytes;
  try {
    ordinary = [];
    for (const s of studentSeeds) {
      ordinary.push(await train(`ordinary, student seed ${s}`, { nodeArgs: agent, env: { DISTILL_DELIVERY: join(here, 'deliveries.json'), SEED: TEACHER_SEED, STUDENT_SEED: String(s) }, quick }));
    }
    record = await train('record', { nodeArgs: agent, env: storeEnv('record', { STUDENT_SEED: String(studentSeeds[0]) }), quick });
    storeBytes = size(storeDir);
    students = [];
    alone = [];
    for (const s of studentSeeds) {
      students.push(await train(`student seed ${s}, replay`, { nodeArgs: agent, env: storeEnv('replay', { STUDENT_SEED: String(s), TEACHER: 'stored' }), quick }));
      // Right after its replay, so that both see the machine as alike as can be.
      alone.push(await train(`student seed ${s}, no teacher`, { env: { SEED: TEACHER_SEED, STUDENT_SEED: String(s), TEACHER: 'none' }, quick }));
    }
  } finally {
    rmSync(storeDir, { recursive: true, force: true });
  }
  const seconds = (performance.now() - started) / 1000;
  const problems = check(studentSeeds, ordinary, record, students);
  const result = summarize(studentSeeds, ordinary, record, students, alone, storeBytes);
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'store.md'), markdown(result, quick, problems, seconds));
  writeFileSync(join(outDir, 'store.svg'), plot(result));
  writeFileSync(join(outDir, 'store.json'), `${JSON.stringify({ quick, seconds, problems, ...result }, null, 1)}\n`);
  console.log(`\n${table(result)}\n`);
  console.log(problems.length ? `checks failed:\n${problems.join('\n')}` : 'checks passed: every replayed student reached exactly the accuracy of the ordinary run with its seed.');
  console.log(`wrote ${join(outDir, 'store.md')}, store.svg and store.json (${seconds.toFixed(0)} s)`);
  return problems.length ? 1 : 0;
}

/** Exact equality of every student's curve with the ordinary run's, and what the agent said. */
function check(studentSeeds, ordinary, record, students) {
  const problems = [];
  const same = (a, b) => a.studentCurve.length === b.studentCurve.length && a.studentCurve.every((x, i) => x === b.studentCurve[i]);
  if (!same(record, ordinary[0])) problems.push(`the record run's student differs from the ordinary run with student seed ${studentSeeds[0]}`);
  const batches = record.batches;
  if (!record.report?.store?.startsWith(`wrote ${batches} step(s)`)) problems.push(`the record run's report says "${record.report?.store}", expected ${batches} steps written`);
  studentSeeds.forEach((s, i) => {
    const student = students[i];
    if (!same(student, ordinary[i])) problems.push(`student seed ${s}: the replayed student's accuracy ${JSON.stringify(student.studentCurve)} differs from the ordinary run's ${JSON.stringify(ordinary[i].studentCurve)}`);
    const batch = firstDifference(student.batchDigests, record.batchDigests);
    if (batch !== undefined) problems.push(`student seed ${s}: at step ${batch} the replay's loader gave another batch than the record run's (${sameSteps(student.batchDigests, record.batchDigests)} of ${record.batchDigests.length} steps the same)`);
    const fed = firstDifference(student.fedDigests, record.fedDigests);
    if (fed !== undefined) problems.push(`student seed ${s}: at step ${fed} the replayed student was fed another mixed batch than the record run's student`);
    if (student.alignedBatches !== student.batches) problems.push(`student seed ${s}: ${student.alignedBatches} of ${student.batches} replayed batches were the same for teacher and student`);
    if (!student.report?.store?.startsWith(`replayed ${batches} of ${batches} step(s)`)) problems.push(`student seed ${s}: the report says "${student.report?.store}", expected ${batches} of ${batches} steps replayed`);
    if (student.teacherEpochs !== 0) problems.push(`student seed ${s}: the teacher trained for ${student.teacherEpochs} epochs`);
  });
  return problems;
}

/** The first step at which two lists of per-step digests differ (in length too), or undefined. */
function firstDifference(a, b) {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) return i;
  return undefined;
}

/** How many steps two lists of per-step digests share. */
function sameSteps(a, b) {
  return a.filter((x, i) => x === b[i]).length;
}

function summarize(studentSeeds, ordinary, record, students, alone, storeBytes) {
  const run = (r) => ({
    wallSeconds: r.wallSeconds,
    cpuSeconds: r.cpuSeconds,
    studentAccuracy: r.studentAccuracy,
    studentCurve: r.studentCurve,
    teacherEpochs: r.teacherEpochs,
    batches: r.batches,
    // Steps whose batch (as the loader gave it) and whose student's mixed batch were the record run's.
    sameBatches: sameSteps(r.batchDigests, record.batchDigests),
    sameFed: sameSteps(r.fedDigests, record.fedDigests),
    report: r.report,
  });
  return {
    teacherSeed: Number(TEACHER_SEED),
    studentSeeds,
    storeBytes,
    ordinary: ordinary.map(run),
    record: run(record),
    students: students.map(run),
    alone: alone.map(run),
    // Each replaying student against the same student with no teacher at all, run right after it.
    replayVsAlone: {
      wall: median(students.map((s, i) => s.wallSeconds / alone[i].wallSeconds)),
      cpu: median(students.map((s, i) => s.cpuSeconds / alone[i].cpuSeconds)),
    },
    totals: {
      ordinary: { wallSeconds: sum(ordinary, 'wallSeconds'), cpuSeconds: sum(ordinary, 'cpuSeconds') },
      teacherOnce: { wallSeconds: record.wallSeconds + sum(students, 'wallSeconds'), cpuSeconds: record.cpuSeconds + sum(students, 'cpuSeconds') },
    },
  };
}

const sum = (runs, key) => runs.reduce((total, r) => total + r[key], 0);
const median = (xs) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const pct = (x) => (100 * x).toFixed(1);
const sec = (x) => x.toFixed(1);

function table(r) {
  const rows = [
    '| run | student seed | wall time (s) | CPU time (s) | student accuracy (%) |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...r.ordinary.map((o, i) => `| ordinary (teacher and student) | ${r.studentSeeds[i]} | ${sec(o.wallSeconds)} | ${sec(o.cpuSeconds)} | ${pct(o.studentAccuracy)} |`),
    `| record (teacher and student, writing the store) | ${r.studentSeeds[0]} | ${sec(r.record.wallSeconds)} | ${sec(r.record.cpuSeconds)} | ${pct(r.record.studentAccuracy)} |`,
    ...r.students.map((s, i) => `| student replaying the store | ${r.studentSeeds[i]} | ${sec(s.wallSeconds)} | ${sec(s.cpuSeconds)} | ${pct(s.studentAccuracy)} |`),
    ...r.alone.map((s, i) => `| the same student with no teacher at all | ${r.studentSeeds[i]} | ${sec(s.wallSeconds)} | ${sec(s.cpuSeconds)} | ${pct(s.studentAccuracy)} |`),
    `| **${r.ordinary.length} ordinary runs** | | **${sec(r.totals.ordinary.wallSeconds)}** | **${sec(r.totals.ordinary.cpuSeconds)}** | |`,
    `| **record + ${r.students.length} student runs** | | **${sec(r.totals.teacherOnce.wallSeconds)}** | **${sec(r.totals.teacherOnce.cpuSeconds)}** | |`,
  ];
  return rows.join('\n');
}

function markdown(r, quick, problems, seconds) {
  const ratio = (key) => (r.totals.teacherOnce[key] / r.totals.ordinary[key]).toFixed(2);
  return `# Teacher once, students many: distill-tfjs with a store${quick ? ' (quick mode: tiny sizes, not a measurement)' : ''}

One teacher (seed ${r.teacherSeed}) and ${r.studentSeeds.length} students (student seeds ${r.studentSeeds.join(', ')}: only the student's initial weights differ).
"ordinary" trains the teacher, then distills the student from it, with the mixup delivered from teacher step to student step (run.js's "delivery" condition).
"record" is the same run with \`store.json\`: the mixups and the teacher's soft targets are also written to a store (${(r.storeBytes / 1024).toFixed(0)} KiB on disk).
"student replaying the store" runs the same script with \`DISTILL_DELIVERY_STORE_MODE=replay\` and \`TEACHER=stored\`: the teacher is neither built, trained nor run, and the mixup is not drawn; both come from the store.
Wall time is each child process's, start to exit; CPU time is what the process itself reports (user + system), which other work on the machine does not inflate.

${table(r)}

Together the record run and the ${r.students.length} student runs took ${ratio('wallSeconds')}× the wall time and ${ratio('cpuSeconds')}× the CPU time of the ${r.ordinary.length} ordinary runs.

"the same student with no teacher at all" runs \`TEACHER=none node train.js\` right after each replay, without the agent: no teacher is built, trained or run, and the student learns from the mixed labels instead of soft targets (so its accuracy differs); it is what the student's training costs by itself. A student replaying the store took ${r.replayVsAlone.wall.toFixed(2)}× its wall time and ${r.replayVsAlone.cpu.toFixed(2)}× its CPU time (medians over the ${r.students.length} pairs; goal ≤ 1.05×).

${problems.length ? `Checks that failed:\n\n${problems.map((p) => `- ${p}`).join('\n')}\n` : `Checks: every replayed student reached exactly (bit for bit, every epoch) the accuracy of the ordinary run with its seed, and the record run's student that of the first; at each of the ${r.record.batches} steps, each replayed student's loader gave the record run's batch (${r.students.map((s) => `${s.sameBatches}/${r.record.batches}`).join(', ')}) and the student was fed the record run's mixed batch (${r.students.map((s) => `${s.sameFed}/${r.record.batches}`).join(', ')}); each report said ${r.record.batches} steps written, and ${r.record.batches} of ${r.record.batches} replayed.\n`}
All ${r.ordinary.length + 1 + r.students.length + r.alone.length} runs took ${seconds.toFixed(0)} s.

![wall time per run, and student accuracy per epoch](store.svg)
`;
}

/** Left: wall time per run; right: student accuracy per epoch, ordinary (solid) under replayed (dashed). */
function plot(r) {
  const [width, height] = [860, 420];
  const top = 60;
  const bottom = height - 52;
  const bars = [
    ...r.ordinary.map((o, i) => [`ordinary, seed ${r.studentSeeds[i]}`, o.wallSeconds, '#d62728']),
    ['record', r.record.wallSeconds, '#2ca02c'],
    ...r.students.map((s, i) => [`student ${r.studentSeeds[i]}, replay`, s.wallSeconds, '#1f77b4']),
    ...r.alone.map((s, i) => [`student ${r.studentSeeds[i]}, no teacher`, s.wallSeconds, '#7f7f7f']),
  ];
  const parts = [];
  const barLeft = 150;
  const barRight = 400;
  const most = Math.max(...bars.map((b) => b[1]));
  const rowHeight = (bottom - top) / bars.length;
  bars.forEach(([label, value, color], i) => {
    const y = top + i * rowHeight + rowHeight * 0.15;
    const w = (value / most) * (barRight - barLeft);
    parts.push(`<text x="${barLeft - 8}" y="${(y + rowHeight * 0.45).toFixed(1)}" text-anchor="end">${label}</text>`);
    parts.push(`<rect x="${barLeft}" y="${y.toFixed(1)}" width="${w.toFixed(1)}" height="${(rowHeight * 0.7).toFixed(1)}" fill="${color}"/>`);
    parts.push(`<text x="${(barLeft + w + 6).toFixed(1)}" y="${(y + rowHeight * 0.45).toFixed(1)}">${value.toFixed(1)} s</text>`);
  });
  parts.push(`<text x="${barLeft}" y="${top - 16}" font-weight="bold">wall time per run</text>`);
  // Accuracy curves.
  const left = 500;
  const right = width - 30;
  const curves = [...r.ordinary, ...r.students].flatMap((x) => x.studentCurve);
  const lo = Math.max(0, Math.floor(Math.min(...curves) * 10) / 10);
  const hi = Math.min(1, Math.ceil(Math.max(...curves) * 10) / 10);
  const epochs = r.ordinary[0].studentCurve.length;
  const x = (epoch) => left + ((epoch - 1) / Math.max(1, epochs - 1)) * (right - left);
  const y = (acc) => top + ((hi - acc) / Math.max(1e-9, hi - lo)) * (bottom - top);
  const path = (curve) => curve.map((acc, i) => `${i ? 'L' : 'M'}${x(i + 1).toFixed(1)},${y(acc).toFixed(1)}`).join(' ');
  for (let tick = lo; tick <= hi + 1e-9; tick += 0.1) {
    parts.push(`<line x1="${left}" x2="${right}" y1="${y(tick)}" y2="${y(tick)}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${left - 8}" y="${y(tick) + 4}" text-anchor="end">${Math.round(tick * 100)}%</text>`);
  }
  r.ordinary.forEach((o) => parts.push(`<path d="${path(o.studentCurve)}" fill="none" stroke="#d62728" stroke-width="4" stroke-opacity="0.45"/>`));
  r.students.forEach((s) => parts.push(`<path d="${path(s.studentCurve)}" fill="none" stroke="#1f77b4" stroke-width="1.5" stroke-dasharray="5 4"/>`));
  parts.push(`<text x="${left}" y="${top - 16}" font-weight="bold">student test accuracy per epoch</text>`);
  parts.push(`<text x="${left}" y="${top - 2}" fill="#555">ordinary (thick red) and replayed (dashed blue): the same curves</text>`);
  parts.push(`<line x1="${left}" x2="${left}" y1="${top}" y2="${bottom}" stroke="#333"/>`);
  parts.push(`<line x1="${left}" x2="${right}" y1="${bottom}" y2="${bottom}" stroke="#333"/>`);
  parts.push(`<text x="${(left + right) / 2}" y="${height - 14}" text-anchor="middle">student epoch</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="20" y="24" font-size="15" font-weight="bold">Teacher once, students many: ${r.ordinary.length} ordinary runs against 1 record run and ${r.students.length} replaying students (and each student with no teacher)</text>
${parts.join('\n')}
</svg>
`;
}
