// MMRazor's tests/test_core/test_delivers/test_function_outputs_deliver.py, ported to both
// a CommonJS and an ES module fixture. Errors are checked by code, never by message.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FunctionOutputsDelivery } from 'distill-delivery';
import * as toyEsm from './fixtures/toy_module.mjs';
import { within } from './helpers.mjs';
import { output, runNode } from './helpers/run-node.mjs';

const require = createRequire(import.meta.url);
const toyCjs = require('./fixtures/toy_module.cjs');
const base = import.meta.url;

// test_init: only the path string is checked at construction.

test('a funcPath that is not a string is rejected at construction', () => {
  assert.throws(() => new FunctionOutputsDelivery({ maxKeepData: 1, funcPath: 1, base }), { code: 'ERR_DELIVERY_INVALID_PATH' });
});

test('a funcPath without "#" is rejected at construction', () => {
  assert.throws(() => new FunctionOutputsDelivery({ maxKeepData: 1, funcPath: 'toy_func', base }), { code: 'ERR_DELIVERY_INVALID_PATH' });
});

// test_context_manager: resolution errors appear on enter, not at construction.

test('a module that does not resolve constructs but fails to enter', () => {
  const delivery = new FunctionOutputsDelivery({ maxKeepData: 2, funcPath: 'aaa#bb', base });
  assert.throws(() => within(delivery, () => toyCjs.toyFunc()), { code: 'ERR_DELIVERY_MODULE_NOT_FOUND' });
});

test('a missing function of a CommonJS module fails to enter', () => {
  const delivery = new FunctionOutputsDelivery({ maxKeepData: 1, funcPath: './fixtures/toy_module.cjs#bb', base });
  assert.throws(() => within(delivery, () => toyCjs.toyFunc()), { code: 'ERR_DELIVERY_TARGET_NOT_FOUND' });
});

test('a missing function of an ES module fails to enter', () => {
  const delivery = new FunctionOutputsDelivery({ maxKeepData: 1, funcPath: './fixtures/toy_module.mjs#bb', base });
  assert.throws(() => within(delivery, () => toyEsm.toyFunc()), { code: 'ERR_DELIVERY_TARGET_NOT_FOUND' });
});

test('a string export of a CommonJS module fails to enter as not a function', () => {
  const delivery = new FunctionOutputsDelivery({ maxKeepData: 1, funcPath: './fixtures/toy_module.cjs#TOY_VAR', base });
  assert.throws(() => within(delivery, () => toyCjs.toyFunc()), { code: 'ERR_DELIVERY_NOT_A_FUNCTION' });
});

test('a string export of an ES module fails to enter as not a function', () => {
  const delivery = new FunctionOutputsDelivery({ maxKeepData: 1, funcPath: './fixtures/toy_module.mjs#TOY_VAR', base });
  assert.throws(() => within(delivery, () => toyEsm.toyFunc()), { code: 'ERR_DELIVERY_NOT_A_FUNCTION' });
});

test('a CommonJS function records two outputs, refuses a third and replays them in order', () => {
  const delivery = new FunctionOutputsDelivery({ maxKeepData: 2, funcPath: './fixtures/toy_module.cjs#toyFunc', base });
  delivery.overrideData = false;
  const [output1Tea, output2Tea] = within(delivery, () => [toyCjs.toyFunc(), toyCjs.toyFunc()]);
  assert.equal(typeof output1Tea, 'number');
  assert.equal(delivery.size, 2);

  assert.throws(() => within(delivery, () => toyCjs.toyFunc()), { code: 'ERR_DELIVERY_QUEUE_FULL' });

  delivery.overrideData = true;
  const [output1Stu, output2Stu] = within(delivery, () => [toyCjs.toyFunc(), toyCjs.toyFunc()]);
  assert.equal(output1Stu, output1Tea);
  assert.equal(output2Stu, output2Tea);

  assert.throws(() => within(delivery, () => toyCjs.toyFunc()), { code: 'ERR_DELIVERY_QUEUE_EMPTY' });
  assert.equal(delivery.size, 0);
});

test('an ES module function fails to enter without the agent', () => {
  const delivery = new FunctionOutputsDelivery({ maxKeepData: 2, funcPath: './fixtures/toy_module.mjs#toyFunc', base });
  delivery.overrideData = false;
  assert.throws(() => within(delivery, () => toyEsm.toyFunc()), { code: 'ERR_DELIVERY_NOT_INSTRUMENTED' });
  assert.equal(delivery.size, 0);
});

test('an ES module function fails in run() without the agent and fn never runs', () => {
  const delivery = new FunctionOutputsDelivery({ funcPath: './fixtures/toy_module.mjs#toyFunc', base });
  let ran = false;
  assert.throws(
    () => delivery.run(() => {
      ran = true;
    }),
    { code: 'ERR_DELIVERY_NOT_INSTRUMENTED' },
  );
  assert.equal(ran, false);
});

test('an ES module class method is delivered by FunctionOutputsDelivery without the agent', () => {
  const delivery = new FunctionOutputsDelivery({ maxKeepData: 1, funcPath: './fixtures/toy_module.mjs#ToyClass.randomInt', base });
  const teacher = within(delivery, () => new toyEsm.ToyClass().randomInt());
  delivery.overrideData = true;
  const student = within(delivery, () => new toyEsm.ToyClass().randomInt());
  assert.equal(student, teacher);
  assert.equal(delivery.size, 0);
});

test('funcPath and maxKeepData are readable and maxKeepData defaults to 1', () => {
  const delivery = new FunctionOutputsDelivery({ funcPath: './fixtures/toy_module.cjs#toyFunc', base });
  assert.equal(delivery.funcPath, './fixtures/toy_module.cjs#toyFunc');
  assert.equal(delivery.maxKeepData, 1);
  assert.equal(delivery.overrideData, false);
  assert.equal(delivery.size, 0);
});

test('a default of 1 refuses a second record', () => {
  const delivery = new FunctionOutputsDelivery({ funcPath: './fixtures/toy_module.cjs#toyFunc', base });
  within(delivery, () => toyCjs.toyFunc());
  assert.throws(() => within(delivery, () => toyCjs.toyFunc()), { code: 'ERR_DELIVERY_QUEUE_FULL' });
  assert.equal(delivery.size, 1);
});

// test_ema_hook needs torch; what it guards is that a model holding a delivery can be
// deep-copied after exit, because MMRazor's __exit__ deletes the module and the original
// function. Here: a delivery that is not active holds nothing of its target, so neither a
// copy of the object that holds it nor the delivery itself keeps a module alive.
const released = fileURLToPath(new URL('./fixtures/release/released.mjs', import.meta.url));

async function reclaimedAfterExit(...args) {
  const { code, stdout, stderr } = await runNode(released, { agent: false, nodeArgs: ['--expose-gc'], args });
  assert.equal(stderr, '');
  assert.equal(code, 0);
  return output(stdout);
}

test('an exited or never-entered delivery holds nothing of its target: an evicted module, its class and its original functions are reclaimed', async () => {
  const { reclaimed, queued } = await reclaimedAfterExit();
  assert.deepEqual(reclaimed, { exports: true, function: true, class: true, method: true, replaced: true });
  assert.deepEqual(queued, [1, 1, 1, 0], 'the deliveries, alive, keep their queues');
});

test('the reclaim check sees a reference: exports the script keeps are not reclaimed', async () => {
  const { reclaimed } = await reclaimedAfterExit('keep');
  assert.deepEqual(reclaimed, { exports: false, function: false, class: false, method: false, replaced: true });
});
