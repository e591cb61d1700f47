// The seed document's cases (MMRazor's delivery.md), through the public API, on a
// CommonJS and an ES module target.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { DistillDeliveryManager, FunctionOutputsDelivery, MethodOutputsDelivery } from 'distill-delivery';
import * as augmentsEsm from './fixtures/augments.mjs';
import * as toyEsm from './fixtures/toy_module.mjs';
import { seeded, within } from './helpers.mjs';

const require = createRequire(import.meta.url);
const toyCjs = require('./fixtures/toy_module.cjs');
const augmentsCjs = require('./fixtures/augments.cjs');
const base = import.meta.url;

// A batch of two 3x2x2 "images" (flattened) and their labels.
const imgs = Array.from({ length: 2 }, (_, n) => Array.from({ length: 12 }, (_, k) => n * 12 + k));
const label = [3, 7];

// Case 1: deliver a single function's output from the teacher to the student.

test('seed case 1: the student gets the teacher\'s single toyFunc output (CommonJS)', () => {
  const delivery = new FunctionOutputsDelivery({ maxKeepData: 1, funcPath: './fixtures/toy_module.cjs#toyFunc', base });
  delivery.overrideData = false;
  const outputTeacher = within(delivery, () => toyCjs.toyFunc());
  delivery.overrideData = true;
  const outputStudent = within(delivery, () => toyCjs.toyFunc());
  assert.equal(outputStudent, outputTeacher);
  assert.equal(delivery.size, 0);
});

test('seed case 1 on an ES module function fails without the agent', () => {
  const delivery = new FunctionOutputsDelivery({ maxKeepData: 1, funcPath: './fixtures/toy_module.mjs#toyFunc', base });
  delivery.overrideData = false;
  assert.throws(() => within(delivery, () => toyEsm.toyFunc()), { code: 'ERR_DELIVERY_NOT_INSTRUMENTED' });
});

test('seed case 1 works from CommonJS code that requires the package', () => {
  const { seedCase1 } = require('./fixtures/cjs-consumer.cjs');
  const { teacher, student, size } = seedCase1();
  assert.equal(typeof teacher, 'number');
  assert.equal(student, teacher);
  assert.equal(size, 0);
});

// Case 2: deliver several outputs, first in, first out.

test('seed case 2: the student gets the teacher\'s two toyFunc outputs in order (CommonJS)', () => {
  const delivery = new FunctionOutputsDelivery({ maxKeepData: 2, funcPath: './fixtures/toy_module.cjs#toyFunc', base });
  delivery.overrideData = false;
  const [output1Teacher, output2Teacher] = within(delivery, () => [toyCjs.toyFunc(), toyCjs.toyFunc()]);
  delivery.overrideData = true;
  const [output1Student, output2Student] = within(delivery, () => [toyCjs.toyFunc(), toyCjs.toyFunc()]);
  assert.equal(output1Student, output1Teacher);
  assert.equal(output2Student, output2Teacher);
});

test('seed case 2 on an ES module function fails without the agent', () => {
  const delivery = new FunctionOutputsDelivery({ maxKeepData: 2, funcPath: './fixtures/toy_module.mjs#toyFunc', base });
  assert.throws(() => within(delivery, () => [toyEsm.toyFunc(), toyEsm.toyFunc()]), { code: 'ERR_DELIVERY_NOT_INSTRUMENTED' });
});

// Case 3: align the teacher's and the student's inputs through a random mixup.

for (const [kind, file, { Augments }] of [
  ['CommonJS', './fixtures/augments.cjs', augmentsCjs],
  ['ES module', './fixtures/augments.mjs', augmentsEsm],
]) {
  test(`without a delivery the ${kind} mixup gives the teacher and the student different batches`, () => {
    const augments = new Augments({ numClasses: 10, random: seeded(1) });
    const [imgsTeacher, labelTeacher] = augments.call(imgs, label);
    const [imgsStudent, labelStudent] = augments.call(imgs, label);
    assert.notDeepEqual(labelStudent, labelTeacher);
    assert.notDeepEqual(imgsStudent, imgsTeacher);
  });

  test(`seed case 3: a MethodOutputsDelivery gives the student the teacher's ${kind} mixup`, () => {
    const augments = new Augments({ numClasses: 10, random: seeded(1) });
    const delivery = new MethodOutputsDelivery({ maxKeepData: 1, methodPath: `${file}#Augments.call`, base });
    delivery.overrideData = false;
    const [imgsTeacher, labelTeacher] = within(delivery, () => augments.call(imgs, label));
    delivery.overrideData = true;
    const [imgsStudent, labelStudent] = within(delivery, () => augments.call(imgs, label));
    assert.deepEqual(labelStudent, labelTeacher);
    assert.deepEqual(imgsStudent, imgsTeacher);
    assert.equal(imgsStudent, imgsTeacher);
    assert.equal(augments.calls, 1);
  });

  test(`seed manager case: a list-form manager gives the student the teacher's ${kind} mixup`, () => {
    const augments = new Augments({ numClasses: 10, random: seeded(2) });
    const manager = new DistillDeliveryManager([{ type: 'MethodOutputs', max_keep_data: 1, method_path: `${file}#Augments.call` }], { base });
    manager.overrideData = false;
    const [imgsTeacher, labelTeacher] = within(manager, () => augments.call(imgs, label));
    manager.overrideData = true;
    const [imgsStudent, labelStudent] = within(manager, () => augments.call(imgs, label));
    assert.deepEqual(labelStudent, labelTeacher);
    assert.deepEqual(imgsStudent, imgsTeacher);
    assert.equal(augments.calls, 1);
  });
}

test('the mixup fixture mixes: labels are soft and sum to one', () => {
  const [, mixedLabels] = new augmentsCjs.Augments({ numClasses: 10, random: seeded(3) }).call(imgs, label);
  assert.ok(mixedLabels[0][3] > 0 && mixedLabels[0][3] < 1);
  assert.ok(mixedLabels[0][7] > 0 && mixedLabels[0][7] < 1);
  for (const row of mixedLabels) {
    assert.equal(row.length, 10);
    assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-9);
  }
});
