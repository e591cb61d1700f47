// Constructor options and overrideData: what MMRazor accepted silently is rejected here.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { DeliveryError, FunctionOutputsDelivery, MethodOutputsDelivery } from 'distill-delivery';
import { within } from './helpers.mjs';

const require = createRequire(import.meta.url);
const targets = require('./fixtures/targets.cjs');
const base = import.meta.url;
const funcPath = './fixtures/targets.cjs#nextId';
const methodPath = './fixtures/toy_module.cjs#ToyClass.call';

const badCounts = [
  ['0', 0],
  ['a negative number', -1],
  ['a fraction', 1.5],
  ['a numeric string', '2'],
  ['NaN', NaN],
  ['Infinity', Infinity],
  ['null', null],
];

for (const [what, maxKeepData] of badCounts) {
  test(`maxKeepData set to ${what} is rejected by FunctionOutputsDelivery`, () => {
    assert.throws(() => new FunctionOutputsDelivery({ funcPath, maxKeepData, base }), (error) => {
      assert.ok(error instanceof DeliveryError);
      assert.equal(error.code, 'ERR_DELIVERY_INVALID_OPTION');
      return true;
    });
  });

  test(`maxKeepData set to ${what} is rejected by MethodOutputsDelivery`, () => {
    assert.throws(() => new MethodOutputsDelivery({ methodPath, maxKeepData, base }), { code: 'ERR_DELIVERY_INVALID_OPTION' });
  });
}

test('a maxKeepData larger than 1 lets that many outputs wait', () => {
  const delivery = new FunctionOutputsDelivery({ funcPath, maxKeepData: 3, base });
  within(delivery, () => {
    targets.nextId();
    targets.nextId();
    targets.nextId();
  });
  assert.equal(delivery.size, 3);
  assert.throws(() => within(delivery, () => targets.nextId()), { code: 'ERR_DELIVERY_QUEUE_FULL' });
});

for (const [what, value] of [['1', 1], ['"true"', 'true'], ['null', null], ['undefined', undefined]]) {
  test(`overrideData ${what} is rejected and the mode stays as it was`, () => {
    const delivery = new FunctionOutputsDelivery({ funcPath, base });
    delivery.overrideData = true;
    assert.throws(() => {
      delivery.overrideData = value;
    }, { code: 'ERR_DELIVERY_INVALID_OPTION' });
    assert.equal(delivery.overrideData, true);
  });
}

test('an unknown option is rejected', () => {
  assert.throws(() => new FunctionOutputsDelivery({ funcPath, maxKeep: 2, base }), { code: 'ERR_DELIVERY_INVALID_OPTION' });
});

test('a methodPath given to FunctionOutputsDelivery is an unknown option', () => {
  assert.throws(() => new FunctionOutputsDelivery({ funcPath, methodPath, base }), { code: 'ERR_DELIVERY_INVALID_OPTION' });
});

test('options that are not an object are rejected', () => {
  assert.throws(() => new FunctionOutputsDelivery(), { code: 'ERR_DELIVERY_INVALID_OPTION' });
  assert.throws(() => new FunctionOutputsDelivery(funcPath), { code: 'ERR_DELIVERY_INVALID_OPTION' });
  assert.throws(() => new MethodOutputsDelivery([methodPath]), { code: 'ERR_DELIVERY_INVALID_OPTION' });
});

test('the snake_case spellings func_path and max_keep_data are accepted', () => {
  const delivery = new FunctionOutputsDelivery({ func_path: funcPath, max_keep_data: 2, base });
  assert.equal(delivery.funcPath, funcPath);
  assert.equal(delivery.maxKeepData, 2);
});

test('the snake_case spelling method_path is accepted', () => {
  const delivery = new MethodOutputsDelivery({ method_path: methodPath, max_keep_data: 3, base });
  assert.equal(delivery.methodPath, methodPath);
  assert.equal(delivery.maxKeepData, 3);
});

test('a snake_case option is validated like its camelCase one', () => {
  assert.throws(() => new FunctionOutputsDelivery({ func_path: funcPath, max_keep_data: 0, base }), { code: 'ERR_DELIVERY_INVALID_OPTION' });
  assert.throws(() => new FunctionOutputsDelivery({ func_path: 7, base }), { code: 'ERR_DELIVERY_INVALID_PATH' });
});

test('both spellings with the same value are accepted', () => {
  const delivery = new FunctionOutputsDelivery({ funcPath, func_path: funcPath, maxKeepData: 2, max_keep_data: 2, base });
  assert.equal(delivery.maxKeepData, 2);
});

test('both spellings of maxKeepData with different values are rejected', () => {
  assert.throws(() => new FunctionOutputsDelivery({ funcPath, maxKeepData: 2, max_keep_data: 3, base }), { code: 'ERR_DELIVERY_INVALID_OPTION' });
});

test('both spellings of funcPath with different values are rejected', () => {
  assert.throws(
    () => new FunctionOutputsDelivery({ funcPath, func_path: './fixtures/toy_module.cjs#toyFunc', base }),
    { code: 'ERR_DELIVERY_INVALID_OPTION' },
  );
});

test('both spellings of methodPath with different values are rejected', () => {
  assert.throws(
    () => new MethodOutputsDelivery({ methodPath, method_path: './fixtures/toy_module.cjs#ToyClass.randomInt', base }),
    { code: 'ERR_DELIVERY_INVALID_OPTION' },
  );
});

test('a name is kept and an empty name is rejected', () => {
  assert.equal(new FunctionOutputsDelivery({ funcPath, name: 'ids', base }).name, 'ids');
  assert.throws(() => new FunctionOutputsDelivery({ funcPath, name: '', base }), { code: 'ERR_DELIVERY_INVALID_OPTION' });
});

test('a base that is neither a path nor a URL is rejected', () => {
  assert.throws(() => new FunctionOutputsDelivery({ funcPath, base: 42 }), { code: 'ERR_DELIVERY_INVALID_OPTION' });
  assert.throws(() => new FunctionOutputsDelivery({ funcPath, base: new URL('https://example.com/') }), { code: 'ERR_DELIVERY_INVALID_OPTION' });
});

test('run() with something that is not a function is rejected', () => {
  const delivery = new FunctionOutputsDelivery({ funcPath, base });
  assert.throws(() => delivery.run('not a function'), { code: 'ERR_DELIVERY_INVALID_OPTION' });
});

test('an option set to undefined counts as not given, beside its alias', () => {
  const delivery = new FunctionOutputsDelivery({ funcPath: undefined, func_path: funcPath, maxKeepData: 2, max_keep_data: undefined, base });
  assert.equal(delivery.funcPath, funcPath);
  assert.equal(delivery.maxKeepData, 2);
});
