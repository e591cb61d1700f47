// The tfjs distillation example in quick mode: with the agent, the teacher and the student
// are fed the same mixed batch every time; without it, never. Accuracy is not asserted,
// except in the store mode ("teacher once, students many"): a student replaying the store
// must reach exactly the accuracy of the ordinary run with its seed, and be given the
// record run's batches step by step.
// Its dependencies are its own: `npm --prefix examples/distill-tfjs ci` (or `npm run example:tfjs`).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runNode } from './helpers/run-node.mjs';

const example = fileURLToPath(new URL('../examples/distill-tfjs/', import.meta.url));
const installed = existsSync(join(example, 'node_modules/@tensorflow/tfjs'));
const skip = !installed && 'needs the example\'s own dependencies: npm --prefix examples/distill-tfjs ci';

let out;
let result;
let results;
let storeResult;
let store;

before(async () => {
  if (!installed) return;
  out = mkdtempSync(join(tmpdir(), 'distill-tfjs-'));
  // No agent for run.js itself: it starts its own children with and without it.
  result = await runNode('run.js', { agent: false, cwd: example, args: ['--quick', '--out', out], timeout: 600_000 });
  results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  storeResult = await runNode('run.js', { agent: false, cwd: example, args: ['--store', '--quick', '--out', out], timeout: 600_000 });
  store = JSON.parse(readFileSync(join(out, 'store.json'), 'utf8'));
});

after(() => {
  if (out) rmSync(out, { recursive: true, force: true });
});

test('the quick run exits 0 and says nothing on stderr', { skip }, () => {
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.equal(result.stderr, '');
  assert.deepEqual(results.problems, []);
});

test('with delivery the teacher and the student are fed the same mixed batch in every batch', { skip }, () => {
  assert.ok(results.runs.length >= 2);
  for (const { delivery } of results.runs) {
    assert.ok(delivery.batches > 0);
    assert.equal(delivery.alignedBatches, delivery.batches);
  }
});

test('without delivery the teacher and the student are never fed the same mixed batch', { skip }, () => {
  for (const { noDelivery, alone } of results.runs) {
    assert.ok(noDelivery.batches > 0);
    assert.equal(noDelivery.alignedBatches, 0);
    assert.equal(alone.alignedBatches, 0);
  }
});

test('the agent records and replays the mixup once per batch and leaves nothing queued', { skip }, () => {
  for (const { delivery, noDelivery } of results.runs) {
    assert.deepEqual(delivery.report, {
      recorded: delivery.batches,
      replayed: delivery.batches,
      left: 0,
      discarded: 0,
      recordPhases: delivery.batches,
      overridePhases: delivery.batches,
    });
    assert.equal(noDelivery.report, null);
  }
});

test('the tfjs tensor count does not grow across batches', { skip }, () => {
  for (const run of results.runs) {
    for (const condition of [run.delivery, run.noDelivery, run.alone]) {
      assert.equal(condition.tensors.atEnd, condition.tensors.afterFirstEpoch);
    }
  }
});

test('the table and the plot are written', { skip }, () => {
  const markdown = readFileSync(join(out, 'results.md'), 'utf8');
  assert.match(markdown, /\| mean ± std \|/);
  for (const { seed } of results.runs) assert.match(markdown, new RegExp(`^\\| ${seed} \\|`, 'm'));
  const svg = readFileSync(join(out, 'accuracy.svg'), 'utf8');
  assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.match(svg, /student, delivery/);
  assert.match(svg, /student, no delivery/);
  assert.match(result.stdout, /\| mean ± std \|/);
});

test('the teacher-once quick run exits 0, says nothing on stderr, and writes its table and plot', { skip }, () => {
  assert.equal(storeResult.code, 0, storeResult.stdout + storeResult.stderr);
  assert.equal(storeResult.stderr, '');
  assert.deepEqual(store.problems, []);
  assert.match(readFileSync(join(out, 'store.md'), 'utf8'), /\| student replaying the store \| 1 \|/);
  assert.match(readFileSync(join(out, 'store.svg'), 'utf8'), /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
});

test('a student replaying the store reaches exactly the accuracy of the ordinary run with the same seed', { skip }, () => {
  assert.ok(store.students.length >= 1);
  store.students.forEach((student, i) => {
    const ordinary = store.ordinary[i];
    assert.equal(student.studentAccuracy, ordinary.studentAccuracy);
    assert.deepEqual(student.studentCurve, ordinary.studentCurve);
  });
  assert.deepEqual(store.record.studentCurve, store.ordinary[0].studentCurve);
});

test('at every step each replayed student\'s loader gives the record run\'s batch, though it shares Math.random with the mixup, which does not run', { skip }, () => {
  const steps = store.record.batches;
  assert.ok(steps > 0);
  for (const student of store.students) {
    assert.equal(student.sameBatches, steps);
    assert.equal(student.sameFed, steps);
  }
});

test('the replaying students train no teacher and replay every step the record run wrote', { skip }, () => {
  const steps = store.record.batches;
  assert.ok(steps > 0);
  assert.match(store.record.report.store, new RegExp(`^wrote ${steps} step\\(s\\) to .*: mixup ${steps}, softTargets ${steps} record\\(s\\)$`));
  for (const student of store.students) {
    assert.equal(student.teacherEpochs, 0);
    assert.match(student.report.store, new RegExp(`^replayed ${steps} of ${steps} step\\(s\\) from `));
    assert.deepEqual([student.report.recorded, student.report.replayed, student.report.left], [steps, steps, 0]);
  }
});

test('each replaying student is timed beside the same student with no teacher at all, run without the agent', { skip }, () => {
  assert.equal(store.alone.length, store.students.length);
  for (const alone of store.alone) {
    assert.equal(alone.teacherEpochs, 0);
    assert.equal(alone.report, null);
    assert.equal(alone.batches, store.record.batches);
  }
  assert.ok(store.replayVsAlone.cpu > 0 && store.replayVsAlone.wall > 0);
  const table = readFileSync(join(out, 'store.md'), 'utf8');
  assert.match(table, /\| the same student with no teacher at all \| 1 \|/);
  assert.match(table, /A student replaying the store took [\d.]+× its wall time and [\d.]+× its CPU time/);
});
