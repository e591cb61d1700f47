// The examples run as their READMEs say: examples/mixup, a distillation loop that knows
// nothing about delivery, aligned by the agent from its deliveries.json.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { runNode } from './helpers/run-node.mjs';

const mixup = fileURLToPath(new URL('../examples/mixup/', import.meta.url));
const train = `${mixup}train.js`;

/** The JSON step lines and the closing sentence of train.js. */
function parse(stdout) {
  const lines = stdout.trim().split('\n');
  return { steps: lines.slice(0, -1).map((line) => JSON.parse(line)), summary: lines.at(-1) };
}

test('mixup: with the agent the student gets the teacher\'s mixed batch in every step', async () => {
  const { code, stdout, stderr } = await runNode(train, { config: 'deliveries.json', cwd: mixup });
  assert.equal(code, 0, stderr);
  const { steps, summary } = parse(stdout);
  assert.deepEqual(steps.map((s) => [s.step, s.aligned, s.teacher === s.student]), [[0, true, true], [1, true, true], [2, true, true]]);
  assert.equal(summary, 'teacher and student saw the same mixed batch in 3 of 3 steps');
});

test('mixup: its report counts three recorded and three replayed batches, with no warning', async () => {
  const { code, stderr } = await runNode(train, { config: 'deliveries.json', cwd: mixup });
  assert.equal(code, 0);
  assert.match(stderr, /^mixup +\.\/augments\.js#Augments\.call +3 +3 +0 +0$/m);
  assert.match(stderr, /^phases: 3 record, 3 override$/m);
  assert.doesNotMatch(stderr, /warning/i);
});

test('mixup: run from another folder with the config path, it is aligned just the same', async () => {
  const { code, stdout } = await runNode(train, { config: `${mixup}deliveries.json`, cwd: fileURLToPath(new URL('..', import.meta.url)) });
  assert.equal(code, 0);
  assert.equal(parse(stdout).summary, 'teacher and student saw the same mixed batch in 3 of 3 steps');
});

test('mixup: without the agent the teacher and the student mix differently', async () => {
  const { code, stdout, stderr } = await runNode(train, { agent: false, cwd: mixup });
  assert.equal(stderr, '');
  assert.equal(code, 0);
  const { steps, summary } = parse(stdout);
  assert.deepEqual(steps.map((s) => s.aligned), [false, false, false]);
  assert.equal(summary, 'teacher and student saw the same mixed batch in 0 of 3 steps');
});
