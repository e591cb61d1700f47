// The values of real programs through the agent, on unedited programs in real Node
// children: TensorFlow.js tensors in every way a step may hold them, tf.util.shuffle (a
// function that works by side effect), generators, an in-place normalization with
// copy: true, and a student whose call diverges from the teacher's. Three children in
// all (tfjs costs its import once), started together.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { agentFixture, debugLines, lines, runNode } from './helpers/run-node.mjs';

const fixture = (name) => agentFixture('values', name);
const mix = (spec) => ({ deliveries: { mix: { type: 'FunctionOutputs', funcPath: './items.mjs#mix', ...spec } } });
let tensors;
let items;
let diverge;
let badOptions;

before(async () => {
  [tensors, items, diverge, ...badOptions] = await Promise.all([
    runNode(fixture('tensors.mjs'), { config: fixture('tensors.json'), env: { NODE_DEBUG: 'delivery' }, timeout: 120_000 }),
    runNode(fixture('items.mjs'), { config: fixture('items.json') }),
    runNode(fixture('diverge.mjs'), { config: fixture('diverge.json') }),
    runNode(fixture('items.mjs'), { config: mix({ copy: 'yes' }) }),
    runNode(fixture('items.mjs'), { config: mix({ check: 'exact' }) }),
    runNode(fixture('items.mjs'), { config: mix({ deep_copy: true }) }),
  ]);
});

/** The line the child printed with `key` (equal to `value`, if given). */
const scenario = (result, key, value) => lines(result.stdout).find((line) => key in line && (value === undefined || line[key] === value));

test('tfjs tensors reach the student with the teacher\'s values in all 200 steps, and the tensor count stays flat, however each step holds them', () => {
  assert.equal(tensors.code, 0, tensors.stderr);
  const conditions = lines(tensors.stdout).filter((line) => 'teacher' in line && 'aligned' in line);
  assert.deepEqual(conditions.map((c) => `${c.teacher}/${c.student}`), ['tidy/tidy', 'tidy/by hand', 'by hand/tidy', 'by hand/by hand', 'neither/neither']);
  for (const condition of conditions) {
    assert.equal(condition.aligned, 200, JSON.stringify(condition));
    assert.equal(condition.tensorCounts.length, 1, JSON.stringify(condition));
  }
});

test('tf.util.shuffle delivered: the report, a warning with its own code and NODE_DEBUG=delivery say that its outputs are all undefined and what to deliver instead', () => {
  const { shuffle } = scenario(tensors, 'shuffle');
  assert.notDeepEqual(shuffle.teacher, shuffle.student);
  assert.deepEqual(shuffle.student, [...shuffle.student].sort((a, b) => a - b));
  assert.match(tensors.stderr, /\[DISTILL_DELIVERY_UNDEFINED_OUTPUTS\] DistillDeliveryWarning: delivery "shuffle"/);
  const report = tensors.stderr.slice(tensors.stderr.indexOf('distill-delivery report'));
  assert.match(report, /^warning \[DISTILL_DELIVERY_UNDEFINED_OUTPUTS\]: delivery "shuffle": all 1 recorded output\(s\) were undefined\. .*changing its arguments.*returns the result/m);
  assert.doesNotMatch(report, /delivery "mixup": all/);
  assert.ok(debugLines(tensors.stderr).some((line) => line.startsWith('delivery "shuffle"') && /undefined/.test(line)));
});

test('a generator and an async generator deliver their items and return value to the student', () => {
  assert.equal(items.code, 0, items.stderr);
  // aligned: the student's items and return value (each with a draw of its own) were the teacher's.
  assert.deepEqual(scenario(items, 'scenario', 'generator'), { scenario: 'generator', aligned: 5, count: 3 });
  assert.deepEqual(scenario(items, 'scenario', 'async generator'), { scenario: 'async generator', aligned: 5, count: 3 });
});

test('with copy: true the teacher\'s in-place normalization does not reach the student', () => {
  const { teacher, normalized, student } = scenario(items, 'scenario', 'in-place normalization');
  assert.deepEqual(student, teacher);
  assert.notDeepEqual(student, normalized);
});

test('a student whose call differs from the teacher\'s fails with ERR_DELIVERY_DIVERGED, naming the delivery, the step, the call and both signatures, never the values', () => {
  assert.equal(diverge.code, 1);
  assert.deepEqual(lines(diverge.stdout), [{ step: 1 }, { step: 2 }]);
  assert.match(diverge.stderr, /code: 'ERR_DELIVERY_DIVERGED'/);
  const message = diverge.stderr.split('\n').find((line) => line.startsWith('DeliveryError'));
  assert.match(message, /delivery "assign"/);
  assert.match(message, /step 3, call 2/);
  assert.match(message, /teacher \(array\[64\]\), student \(array\[32\]\)/);
  assert.doesNotMatch(diverge.stderr, /hunter2/);
});

test('copy and check in a config spec are validated before the app starts: a bad value is ERR_DELIVERY_INVALID_OPTION, an unknown key ERR_DELIVERY_INVALID_CONFIG', () => {
  const [copy, check, unknown] = badOptions;
  for (const result of badOptions) {
    assert.notEqual(result.code, 0);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /DISTILL_DELIVERY deliveries\["mix"\]/);
  }
  assert.match(copy.stderr, /DeliveryError \[ERR_DELIVERY_INVALID_OPTION\]: .*copy of delivery "mix"/);
  assert.match(check.stderr, /DeliveryError \[ERR_DELIVERY_INVALID_OPTION\]: .*check of delivery "mix".*"exact"/);
  assert.match(unknown.stderr, /DeliveryError \[ERR_DELIVERY_INVALID_CONFIG\]: .*"deep_copy"/);
});
