// enter()/exit(), Symbol.dispose, and restoring the target exactly as it was.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { FunctionOutputsDelivery, MethodOutputsDelivery } from 'distill-delivery';
import { own, within } from './helpers.mjs';

const require = createRequire(import.meta.url);
const targets = require('./fixtures/targets.cjs');
const toy = require('./fixtures/toy_module.cjs');
const base = import.meta.url;
const at = (name, maxKeepData = 1) => new FunctionOutputsDelivery({ funcPath: `./fixtures/targets.cjs#${name}`, maxKeepData, base });

test('a CommonJS export is replaced while entered', () => {
  const original = targets.nextId;
  const delivery = at('nextId');
  within(delivery, () => {
    assert.notEqual(targets.nextId, original);
    targets.nextId();
  });
  assert.equal(delivery.size, 1);
});

test('the wrapper keeps the name and length of the original', () => {
  const delivery = at('inner');
  within(delivery, () => {
    assert.equal(targets.inner.name, 'inner');
    assert.equal(targets.inner.length, 1);
  });
});

test('a CommonJS export has its exact property descriptor back after exit', () => {
  const before = own(targets, 'nextId');
  assert.equal(before.enumerable, true);
  within(at('nextId'), () => targets.nextId());
  assert.deepEqual(own(targets, 'nextId'), before);
});

test('a class method has its exact property descriptor back after exit', () => {
  const before = own(toy.ToyClass.prototype, 'call');
  assert.equal(before.enumerable, false);
  const delivery = new MethodOutputsDelivery({ methodPath: './fixtures/toy_module.cjs#ToyClass.call', base });
  within(delivery, () => new toy.ToyClass().call());
  assert.deepEqual(own(toy.ToyClass.prototype, 'call'), before);
});

test('calls after exit pass through and are not recorded', () => {
  const delivery = at('nextId', 2);
  within(delivery, () => targets.nextId());
  const a = targets.nextId();
  const b = targets.nextId();
  assert.equal(b, a + 1);
  assert.equal(delivery.size, 1);
});

test('a delivery entered twice stays active until it is exited twice', () => {
  const before = own(targets, 'nextId');
  const delivery = at('nextId', 3);
  delivery.enter();
  try {
    delivery.enter();
    try {
      targets.nextId();
    } finally {
      delivery.exit();
    }
    assert.notDeepEqual(own(targets, 'nextId'), before);
    targets.nextId();
  } finally {
    delivery.exit();
  }
  assert.equal(delivery.size, 2);
  assert.deepEqual(own(targets, 'nextId'), before);
});

test('exit() without enter() does nothing', () => {
  const before = own(targets, 'nextId');
  const delivery = at('nextId');
  delivery.exit();
  assert.deepEqual(own(targets, 'nextId'), before);
  within(delivery, () => targets.nextId());
  assert.equal(delivery.size, 1);
});

test('extra exit() calls do not unbalance a later enter()', () => {
  const before = own(targets, 'nextId');
  const delivery = at('nextId', 2);
  within(delivery, () => targets.nextId());
  delivery.exit();
  delivery.exit();
  delivery.enter();
  try {
    targets.nextId();
    assert.equal(delivery.size, 2);
  } finally {
    delivery.exit();
  }
  assert.deepEqual(own(targets, 'nextId'), before);
});

test('enter() returns a handle whose Symbol.dispose exits', () => {
  const before = own(targets, 'nextId');
  const delivery = at('nextId');
  const handle = delivery.enter();
  try {
    assert.equal(typeof handle[Symbol.dispose], 'function');
    targets.nextId();
    handle[Symbol.dispose]();
    assert.deepEqual(own(targets, 'nextId'), before);
    targets.nextId();
    assert.equal(delivery.size, 1);
  } finally {
    delivery.exit();
  }
});

test('disposing one handle twice exits only once', () => {
  const before = own(targets, 'nextId');
  const delivery = at('nextId', 2);
  const outer = delivery.enter();
  try {
    const inner = delivery.enter();
    inner[Symbol.dispose]();
    inner[Symbol.dispose]();
    targets.nextId();
    assert.equal(delivery.size, 1);
  } finally {
    outer[Symbol.dispose]();
  }
  assert.deepEqual(own(targets, 'nextId'), before);
});

test('the delivery itself is disposable and disposing it exits', () => {
  const before = own(targets, 'nextId');
  const delivery = at('nextId');
  delivery.enter();
  try {
    targets.nextId();
  } finally {
    delivery[Symbol.dispose]();
  }
  assert.deepEqual(own(targets, 'nextId'), before);
  assert.equal(delivery.size, 1);
});

test('two deliveries on one target restore it when exited in entry order', () => {
  const before = own(targets, 'nextId');
  const first = at('nextId');
  const second = at('nextId');
  first.enter();
  second.enter();
  try {
    first.exit();
    assert.notDeepEqual(own(targets, 'nextId'), before);
  } finally {
    first.exit();
    second.exit();
  }
  assert.deepEqual(own(targets, 'nextId'), before);
});

test('two deliveries on one target restore it when exited in reverse order', () => {
  const before = own(targets, 'nextId');
  const first = at('nextId');
  const second = at('nextId');
  first.enter();
  second.enter();
  try {
    second.exit();
    assert.notDeepEqual(own(targets, 'nextId'), before);
  } finally {
    second.exit();
    first.exit();
  }
  assert.deepEqual(own(targets, 'nextId'), before);
});

test('after one of two deliveries exits the other still records alone', () => {
  const first = at('nextId');
  const second = at('nextId');
  first.enter();
  second.enter();
  try {
    first.exit();
    targets.nextId();
  } finally {
    second.exit();
  }
  assert.equal(first.size, 0);
  assert.equal(second.size, 1);
});

test('the queue outlives exit, as MMRazor\'s does', () => {
  const delivery = at('nextId');
  const teacher = within(delivery, () => targets.nextId());
  assert.equal(delivery.size, 1);
  delivery.overrideData = true;
  assert.equal(within(delivery, () => targets.nextId()), teacher);
});

test('a delivery can be entered again after a full enter/exit cycle', () => {
  const before = own(targets, 'nextId');
  const delivery = at('nextId', 2);
  within(delivery, () => targets.nextId());
  within(delivery, () => targets.nextId());
  assert.equal(delivery.size, 2);
  assert.deepEqual(own(targets, 'nextId'), before);
});

test('a handle closes only its own enter, even after exit() closed it', () => {
  const delivery = at('nextId');
  const first = delivery.enter();
  delivery.exit();
  const second = delivery.enter();
  first[Symbol.dispose]();
  targets.nextId();
  assert.equal(delivery.size, 1, 'the second enter() is still open');
  second[Symbol.dispose]();
  targets.nextId();
  assert.equal(delivery.size, 1, 'closed now: the call passed through');
});

test('exit() closes the most recent enter, whose handle then does nothing', () => {
  const delivery = at('nextId', 2);
  const outer = delivery.enter();
  const inner = delivery.enter();
  delivery.exit();
  inner[Symbol.dispose]();
  targets.nextId();
  assert.equal(delivery.size, 1, 'the outer enter() is still open');
  outer[Symbol.dispose]();
  targets.nextId();
  assert.equal(delivery.size, 1);
});
