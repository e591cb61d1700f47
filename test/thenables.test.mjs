// run() and the phases treat a returned thenable (an object with a then() method, such as a
// lazy query builder's) as they treat a promise: they return a promise of its value, and
// the delivery stays active until it settles.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { setImmediate as immediate } from 'node:timers/promises';
import { DistillDeliveryManager, FunctionOutputsDelivery } from 'distill-delivery';
import { own } from './helpers.mjs';

const require = createRequire(import.meta.url);
const targets = require('./fixtures/targets.cjs');
const base = import.meta.url;
const at = (name, maxKeepData = 1) => new FunctionOutputsDelivery({ funcPath: `./fixtures/targets.cjs#${name}`, maxKeepData, base });

/** Whether a promise is still pending after the tasks queued so far have run. */
async function pending(promise) {
  const marker = {};
  return (await Promise.race([promise, immediate(marker)])) === marker;
}

test('run() of a thenable returns a promise of its value, as for a promise', async () => {
  const result = at('nextId').run(() => ({ then(resolve) { resolve(42); } }));
  assert.ok(result instanceof Promise);
  assert.equal(await result, 42);
});

test('a thenable\'s then() runs inside the run, so the calls a lazy thenable makes there are delivered', async () => {
  const delivery = at('nextId', 2);
  const lazy = () => ({ then(resolve) { resolve(targets.nextId()); } });
  const teacher = await delivery.run(lazy);
  assert.equal(delivery.size, 1);
  delivery.overrideData = true;
  assert.equal(await delivery.run(lazy), teacher);
});

test('the delivery stays active until the thenable settles, then the target is restored', async () => {
  const before = own(targets, 'nextId');
  const delivery = at('nextId', 3);
  let settle;
  const running = delivery.run(() => ({ then(resolve) { settle = resolve; } }));
  await immediate();
  assert.notDeepEqual(own(targets, 'nextId'), before);
  settle('done');
  assert.equal(await running, 'done');
  assert.deepEqual(own(targets, 'nextId'), before);
});

test('a thenable that rejects, or whose then() throws, rejects run() and restores the target', async () => {
  const before = own(targets, 'nextId');
  const delivery = at('nextId');
  await assert.rejects(delivery.run(() => ({ then(_, reject) { reject(new Error('rejected')); } })), { message: 'rejected' });
  await assert.rejects(delivery.run(() => ({ then() { throw new Error('thrown'); } })), { message: 'thrown' });
  assert.deepEqual(own(targets, 'nextId'), before);
});

test('a record phase that returns a thenable is one step until it settles', async () => {
  const manager = new DistillDeliveryManager({ ids: { type: 'FunctionOutputs', funcPath: './fixtures/targets.cjs#nextId', maxKeepData: 2 } }, { base });
  const teacher = await manager.recordPhase(() => ({ then(resolve) { resolve([targets.nextId(), targets.nextId()]); } }));
  assert.deepEqual(manager.overridePhase(() => [targets.nextId(), targets.nextId()]), teacher);
});

// Last in this file: it leaves its delivery active for the rest of the process.
test('a thenable that never settles keeps the delivery active in its context, and its target patched, for the rest of the process', async () => {
  const before = own(targets, 'fib');
  const delivery = at('fib', 5);
  let later;
  const running = delivery.run(() => ({
    then() {
      // Work the thenable's context runs later is still delivered.
      later = new Promise((resolve) => setImmediate(() => resolve(targets.fib(1))));
    },
  }));
  await later;
  assert.equal(await pending(running), true);
  assert.equal(delivery.size, 1);
  targets.fib(1); // outside: passes through
  assert.equal(delivery.size, 1);
  assert.notDeepEqual(own(targets, 'fib'), before);
});
