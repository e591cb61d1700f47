// MMRazor's tests/test_core/test_delivers/test_method_outputs_deliver.py, ported to both
// a CommonJS and an ES module fixture, plus what it never tested about methods.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { MethodOutputsDelivery } from 'distill-delivery';
import * as toyEsm from './fixtures/toy_module.mjs';
import { own, within } from './helpers.mjs';

const require = createRequire(import.meta.url);
const toyCjs = require('./fixtures/toy_module.cjs');
const targets = require('./fixtures/targets.cjs');
const base = import.meta.url;

const kinds = [
  { label: 'a CommonJS', file: './fixtures/toy_module.cjs', toy: toyCjs },
  { label: 'an ES', file: './fixtures/toy_module.mjs', toy: toyEsm },
];

// test_init: a method delivery resolves its target at construction.

test('a methodPath that is not a string is rejected at construction', () => {
  assert.throws(() => new MethodOutputsDelivery({ maxKeepData: 1, methodPath: 1, base }), { code: 'ERR_DELIVERY_INVALID_PATH' });
});

test('a methodPath without "#" is rejected at construction', () => {
  assert.throws(() => new MethodOutputsDelivery({ maxKeepData: 1, methodPath: 'toy_func', base }), { code: 'ERR_DELIVERY_INVALID_PATH' });
});

test('a methodPath whose module does not resolve is rejected at construction', () => {
  assert.throws(() => new MethodOutputsDelivery({ maxKeepData: 1, methodPath: 'aaa#bb.b', base }), { code: 'ERR_DELIVERY_MODULE_NOT_FOUND' });
});

for (const { label, file, toy } of kinds) {
  test(`a methodPath naming one segment of ${label} module is rejected as naming no method`, () => {
    assert.throws(() => new MethodOutputsDelivery({ maxKeepData: 1, methodPath: `${file}#toyFunc`, base }), { code: 'ERR_DELIVERY_INVALID_PATH' });
  });

  test(`a methodPath whose class is missing from ${label} module is rejected at construction`, () => {
    assert.throws(() => new MethodOutputsDelivery({ maxKeepData: 1, methodPath: `${file}#bb.bbb`, base }), { code: 'ERR_DELIVERY_TARGET_NOT_FOUND' });
  });

  test(`a methodPath on a plain function of ${label} module is rejected at construction`, () => {
    assert.throws(() => new MethodOutputsDelivery({ maxKeepData: 1, methodPath: `${file}#toyFunc.bbb`, base }), { code: 'ERR_DELIVERY_TARGET_NOT_FOUND' });
  });

  test(`a methodPath on a string export of ${label} module is rejected at construction`, () => {
    assert.throws(() => new MethodOutputsDelivery({ maxKeepData: 1, methodPath: `${file}#TOY_VAR.bbb`, base }), { code: 'ERR_DELIVERY_TARGET_NOT_FOUND' });
  });

  test(`a methodPath naming a missing method of ${label} class is rejected at construction`, () => {
    assert.throws(() => new MethodOutputsDelivery({ maxKeepData: 1, methodPath: `${file}#ToyClass.bbb`, base }), { code: 'ERR_DELIVERY_TARGET_NOT_FOUND' });
  });

  test(`a methodPath naming a getter of ${label} class is rejected as not a function`, () => {
    assert.throws(() => new MethodOutputsDelivery({ maxKeepData: 1, methodPath: `${file}#ToyClass.count`, base }), { code: 'ERR_DELIVERY_NOT_A_FUNCTION' });
  });

  // test_context_manager

  test(`${label} class method records two outputs, refuses a third and replays them in order`, () => {
    const delivery = new MethodOutputsDelivery({ maxKeepData: 2, methodPath: `${file}#ToyClass.randomInt`, base });
    delivery.overrideData = false;
    const [output1Tea, output2Tea] = within(delivery, () => {
      const toyClass = new toy.ToyClass();
      return [toyClass.randomInt(), toyClass.randomInt()];
    });
    assert.equal(typeof output1Tea, 'number');
    assert.equal(delivery.size, 2);

    assert.throws(() => within(delivery, () => new toy.ToyClass().randomInt()), { code: 'ERR_DELIVERY_QUEUE_FULL' });

    delivery.overrideData = true;
    const [output1Stu, output2Stu] = within(delivery, () => {
      const toyClass = new toy.ToyClass();
      return [toyClass.randomInt(), toyClass.randomInt()];
    });
    assert.equal(output1Stu, output1Tea);
    assert.equal(output2Stu, output2Tea);

    assert.throws(() => within(delivery, () => new toy.ToyClass().randomInt()), { code: 'ERR_DELIVERY_QUEUE_EMPTY' });
    assert.equal(delivery.size, 0);
  });

  test(`constructing a delivery of ${label} class method does not patch it`, () => {
    const before = own(toy.ToyClass.prototype, 'randomInt');
    new MethodOutputsDelivery({ methodPath: `${file}#ToyClass.randomInt`, base });
    assert.deepEqual(own(toy.ToyClass.prototype, 'randomInt'), before);
  });

  test(`${label} class method is patched on the class while entered and restored after`, () => {
    const before = own(toy.ToyClass.prototype, 'randomInt');
    const delivery = new MethodOutputsDelivery({ methodPath: `${file}#ToyClass.randomInt`, base });
    within(delivery, () => {
      assert.notEqual(toy.ToyClass.prototype.randomInt, before.value);
      assert.equal(toy.ToyClass.prototype.randomInt.name, 'randomInt');
    });
    assert.deepEqual(own(toy.ToyClass.prototype, 'randomInt'), before);
  });
}

test('an output recorded through one instance is replayed to another, which never runs the original', () => {
  const delivery = new MethodOutputsDelivery({ methodPath: './fixtures/toy_module.cjs#ToyClass.call', base });
  const teacher = new toyCjs.ToyClass();
  const recorded = within(delivery, () => teacher.call());
  assert.equal(recorded, 1);
  assert.equal(teacher.count, 1);

  delivery.overrideData = true;
  const student = new toyCjs.ToyClass();
  assert.equal(within(delivery, () => student.call()), 1);
  assert.equal(student.count, 0);
});

test('instances created before enter are delivered too', () => {
  const delivery = new MethodOutputsDelivery({ methodPath: './fixtures/toy_module.mjs#ToyClass.call', base });
  const early = new toyEsm.ToyClass();
  early.call();
  within(delivery, () => early.call());
  assert.equal(delivery.size, 1);
  delivery.overrideData = true;
  assert.equal(within(delivery, () => early.call()), 2);
  assert.equal(early.count, 2);
});

test('a full queue refuses a record before the original method runs', () => {
  const delivery = new MethodOutputsDelivery({ maxKeepData: 1, methodPath: './fixtures/toy_module.cjs#ToyClass.call', base });
  const toyClass = new toyCjs.ToyClass();
  within(delivery, () => toyClass.call());
  assert.throws(() => within(delivery, () => toyClass.call()), { code: 'ERR_DELIVERY_QUEUE_FULL' });
  assert.equal(toyClass.count, 1);
});

test('overrideData is read at call time, inside one enter', () => {
  const delivery = new MethodOutputsDelivery({ maxKeepData: 1, methodPath: './fixtures/toy_module.cjs#ToyClass.call', base });
  const [teacher, student] = within(delivery, () => {
    const recorded = new toyCjs.ToyClass().call();
    delivery.overrideData = true;
    return [recorded, new toyCjs.ToyClass().call()];
  });
  assert.equal(teacher, 1);
  assert.equal(student, 1);
  assert.equal(delivery.size, 0);
});

test('an inherited method is patched on the subclass only', () => {
  const delivery = new MethodOutputsDelivery({ methodPath: './fixtures/targets.cjs#Sub.greet', base });
  within(delivery, () => {
    assert.equal(Object.hasOwn(targets.Sub.prototype, 'greet'), true);
    assert.equal(new targets.Base().greet(), 'base');
    assert.equal(delivery.size, 0);
    assert.equal(new targets.Sub().greet(), 'base');
    assert.equal(delivery.size, 1);
  });
});

test('an inherited method leaves no own property on the subclass after exit', () => {
  const baseGreet = targets.Base.prototype.greet;
  const delivery = new MethodOutputsDelivery({ methodPath: './fixtures/targets.cjs#Sub.greet', base });
  within(delivery, () => new targets.Sub().greet());
  assert.equal(Object.hasOwn(targets.Sub.prototype, 'greet'), false);
  assert.equal(targets.Sub.prototype.greet, baseGreet);
  assert.equal(targets.Base.prototype.greet, baseGreet);
});

test('Class.method names the static method when there is no instance method', () => {
  const before = own(targets.Factory, 'create');
  const delivery = new MethodOutputsDelivery({ methodPath: './fixtures/targets.cjs#Factory.create', base });
  const teacher = within(delivery, () => targets.Factory.create());
  delivery.overrideData = true;
  assert.equal(within(delivery, () => targets.Factory.create()), teacher);
  assert.deepEqual(own(targets.Factory, 'create'), before);
});

test('Class.method is ambiguous when the class has both an instance and a static method', () => {
  assert.throws(() => new MethodOutputsDelivery({ methodPath: './fixtures/targets.cjs#Both.ping', base }), { code: 'ERR_DELIVERY_INVALID_PATH' });
});

test('Class.prototype.method names the instance method when a static one has the same name', () => {
  const delivery = new MethodOutputsDelivery({ methodPath: './fixtures/targets.cjs#Both.prototype.ping', base });
  within(delivery, () => {
    assert.equal(targets.Both.ping(), 'static');
    assert.equal(delivery.size, 0);
    assert.equal(new targets.Both().ping(), 'instance');
    assert.equal(delivery.size, 1);
  });
});

test('methodPath is readable as given', () => {
  const delivery = new MethodOutputsDelivery({ methodPath: './fixtures/toy_module.cjs#ToyClass.call', base });
  assert.equal(delivery.methodPath, './fixtures/toy_module.cjs#ToyClass.call');
});
