// The feature-distillation example in quick mode: the recorders read the teacher's and the
// student's hidden features in every step, a store replays the teacher (logits through a
// recordOnly delivery, features through a recorder) without training or running it, and the
// replayed student ends exactly where the ordinary run ends. Accuracy is not asserted.
// Its dependencies are its own: `npm --prefix examples/distill-features ci` (or `npm run example:features`).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runNode } from './helpers/run-node.mjs';

const example = fileURLToPath(new URL('../examples/distill-features/', import.meta.url));
const installed = existsSync(join(example, 'node_modules/@tensorflow/tfjs'));
const skip = !installed && 'needs the example\'s own dependencies: npm --prefix examples/distill-features ci';

let out;
let result;
let results;

before(async () => {
  if (!installed) return;
  out = mkdtempSync(join(tmpdir(), 'distill-features-'));
  // No agent for run.js itself: it starts its own children with and without it.
  result = await runNode('run.js', { agent: false, cwd: example, args: ['--quick', '--out', out], timeout: 600_000 });
  results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
});

after(() => {
  if (out) rmSync(out, { recursive: true, force: true });
});

test('the quick run exits 0, says nothing on stderr, and its checks pass', { skip }, () => {
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.equal(result.stderr, '');
  assert.deepEqual(results.problems, []);
});

test('in an ordinary run the recorders hold the teacher\'s and the student\'s features at every step', { skip }, () => {
  const steps = results.record.steps;
  assert.ok(steps > 0);
  for (const { ordinary } of results.runs) {
    assert.deepEqual(ordinary.report.recorders.map((r) => [r.name, r.recorded, r.fromStore]), [['teacherFeatures', steps, 0], ['studentFeatures', steps, 0]]);
  }
});

test('a replaying student gets the teacher\'s features from the store, with no teacher trained or run, and ends exactly where the ordinary run ends', { skip }, () => {
  const steps = results.record.steps;
  assert.equal(results.record.report.store.steps, steps);
  assert.equal(results.record.report.store.records.teacherFeatures, steps);
  for (const run of results.runs) {
    for (const key of ['both', 'logits', 'features']) {
      assert.equal(run[key].teacherEpochs, 0);
      assert.deepEqual(run[key].report.recorders.find((r) => r.name === 'teacherFeatures'), { name: 'teacherFeatures', target: './model.js#MLP.features', phases: ['record'], recorded: 0, fromStore: steps });
    }
    assert.deepEqual(run.both.studentCurve, run.ordinary.studentCurve);
  }
});

test('the tfjs tensor count does not grow across epochs in any run', { skip }, () => {
  for (const run of [results.record, ...results.runs.flatMap((r) => [r.ordinary, r.both, r.logits, r.features, r.alone])]) {
    assert.equal(run.tensors.atEnd, run.tensors.afterFirstEpoch);
  }
});

test('the tables and the plots are written', { skip }, () => {
  const markdown = readFileSync(join(out, 'results.md'), 'utf8');
  assert.match(markdown, /\| mean ± std \|/);
  assert.match(markdown, /\| student replaying the store \(logits \+ features\) \| 1 \|/);
  for (const file of ['accuracy.svg', 'times.svg']) assert.match(readFileSync(join(out, file), 'utf8'), /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.match(readFileSync(join(out, 'accuracy.svg'), 'utf8'), /logits \+ features/);
});
