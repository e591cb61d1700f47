// MMRazor's tests/test_core/test_delivers/test_deliver_manager.py, ported to both a
// CommonJS and an ES module fixture, and the manager's own behaviour.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import {
  DistillDeliveryManager,
  FunctionOutputsDelivery,
  MethodOutputsDelivery,
  deliveries as processDeliveries,
} from 'distill-delivery';
import * as toyEsm from './fixtures/toy_module.mjs';
import { allStats, own, within } from './helpers.mjs';

const require = createRequire(import.meta.url);
const toyCjs = require('./fixtures/toy_module.cjs');
const targets = require('./fixtures/targets.cjs');
const base = import.meta.url;

const kinds = [
  { label: 'a CommonJS', file: './fixtures/toy_module.cjs', toy: toyCjs },
  { label: 'an ES', file: './fixtures/toy_module.mjs', toy: toyEsm },
];

const ids = (name = 'ids', maxKeepData = 1) => ({ [name]: { type: 'FunctionOutputs', funcPath: './fixtures/targets.cjs#nextId', maxKeepData } });

for (const { label, file, toy } of kinds) {
  // test_init
  test(`a manager built from one named MethodOutputs spec on ${label} class holds one delivery`, () => {
    const manager = new DistillDeliveryManager(
      { delivery1: { type: 'MethodOutputs', max_keep_data: 2, method_path: `${file}#ToyClass.randomInt` } },
      { base },
    );
    assert.equal(Object.keys(manager.deliveries).length, 1);
    assert.ok(manager.deliveries.delivery1 instanceof MethodOutputsDelivery);
    assert.equal(manager.deliveries.delivery1.maxKeepData, 2);
  });

  // test_context_manager
  test(`a manager on ${label} class method records two outputs, refuses a third and replays them in order`, () => {
    const manager = new DistillDeliveryManager(
      { delivery1: { type: 'MethodOutputs', max_keep_data: 2, method_path: `${file}#ToyClass.randomInt` } },
      { base },
    );
    manager.overrideData = false;
    assert.equal(manager.overrideData, false);
    const [output1Tea, output2Tea] = within(manager, () => {
      const toyClass = new toy.ToyClass();
      return [toyClass.randomInt(), toyClass.randomInt()];
    });
    assert.equal(typeof output1Tea, 'number');

    assert.throws(() => within(manager, () => new toy.ToyClass().randomInt()), { code: 'ERR_DELIVERY_QUEUE_FULL' });

    assert.equal(manager.overrideData, false);
    manager.overrideData = true;
    assert.equal(manager.overrideData, true);
    const [output1Stu, output2Stu] = within(manager, () => {
      const toyClass = new toy.ToyClass();
      return [toyClass.randomInt(), toyClass.randomInt()];
    });
    assert.equal(output1Stu, output1Tea);
    assert.equal(output2Stu, output2Tea);

    assert.throws(() => within(manager, () => new toy.ToyClass().randomInt()), { code: 'ERR_DELIVERY_QUEUE_EMPTY' });
  });
}

test('a manager built without deliveries holds none', () => {
  assert.equal(Object.keys(new DistillDeliveryManager().deliveries).length, 0);
  assert.equal(Object.keys(new DistillDeliveryManager({}).deliveries).length, 0);
  assert.equal(Object.keys(new DistillDeliveryManager([]).deliveries).length, 0);
});

test('an empty manager enters, runs and exits', () => {
  const manager = new DistillDeliveryManager();
  within(manager, () => {});
  assert.equal(manager.run(() => 7), 7);
  assert.deepEqual(manager.stats(), {});
});

test('the process-wide manager is empty without the agent', () => {
  assert.ok(processDeliveries instanceof DistillDeliveryManager);
  assert.deepEqual(Object.keys(processDeliveries.deliveries), []);
});

// Forms and names

test('a dict of specs names each delivery by its key, in order', () => {
  const manager = new DistillDeliveryManager(
    {
      mixup: { type: 'MethodOutputs', methodPath: './fixtures/toy_module.cjs#ToyClass.call' },
      ids: { type: 'FunctionOutputs', funcPath: './fixtures/targets.cjs#nextId' },
    },
    { base },
  );
  assert.deepEqual(Object.keys(manager.deliveries), ['mixup', 'ids']);
  assert.ok(manager.deliveries.mixup instanceof MethodOutputsDelivery);
  assert.ok(manager.deliveries.ids instanceof FunctionOutputsDelivery);
  assert.equal(manager.deliveries.ids.name, 'ids');
});

test('a list of specs names each delivery by its index', () => {
  const manager = new DistillDeliveryManager(
    [
      { type: 'MethodOutputs', methodPath: './fixtures/toy_module.cjs#ToyClass.call' },
      { type: 'FunctionOutputs', funcPath: './fixtures/targets.cjs#nextId' },
    ],
    { base },
  );
  assert.deepEqual(Object.keys(manager.deliveries), ['0', '1']);
  assert.ok(manager.deliveries[1] instanceof FunctionOutputsDelivery);
});

test('a list of specs names a delivery by spec.name when it has one', () => {
  const manager = new DistillDeliveryManager(
    [
      { type: 'MethodOutputs', methodPath: './fixtures/toy_module.cjs#ToyClass.call', name: 'counter' },
      { type: 'FunctionOutputs', funcPath: './fixtures/targets.cjs#nextId' },
    ],
    { base },
  );
  assert.deepEqual(Object.keys(manager.deliveries).sort(), ['1', 'counter']);
  assert.equal(manager.deliveries.counter.name, 'counter');
  assert.equal(manager.deliveries[1].name, '1');
});

test('the full type names FunctionOutputsDelivery and MethodOutputsDelivery are accepted', () => {
  const manager = new DistillDeliveryManager(
    {
      a: { type: 'FunctionOutputsDelivery', funcPath: './fixtures/targets.cjs#nextId' },
      b: { type: 'MethodOutputsDelivery', methodPath: './fixtures/toy_module.cjs#ToyClass.call' },
    },
    { base },
  );
  assert.ok(manager.deliveries.a instanceof FunctionOutputsDelivery);
  assert.ok(manager.deliveries.b instanceof MethodOutputsDelivery);
});

test('camelCase and snake_case keys build the same delivery', () => {
  const manager = new DistillDeliveryManager(
    {
      camel: { type: 'FunctionOutputs', funcPath: './fixtures/targets.cjs#nextId', maxKeepData: 4 },
      snake: { type: 'FunctionOutputs', func_path: './fixtures/targets.cjs#nextId', max_keep_data: 4 },
    },
    { base },
  );
  assert.equal(manager.deliveries.snake.funcPath, manager.deliveries.camel.funcPath);
  assert.equal(manager.deliveries.snake.maxKeepData, 4);
});

test('conflicting camelCase and snake_case values in a spec are rejected', () => {
  assert.throws(
    () => new DistillDeliveryManager({ a: { type: 'FunctionOutputs', funcPath: './fixtures/targets.cjs#nextId', maxKeepData: 1, max_keep_data: 2 } }, { base }),
    { code: 'ERR_DELIVERY_INVALID_OPTION' },
  );
});

test('the specs given are not changed', () => {
  const spec = { type: 'FunctionOutputs', func_path: './fixtures/targets.cjs#nextId', max_keep_data: 2 };
  const copy = structuredClone(spec);
  new DistillDeliveryManager({ a: spec }, { base });
  assert.deepEqual(spec, copy);
});

test('deliveries cannot be replaced through the manager', () => {
  const manager = new DistillDeliveryManager(ids(), { base });
  assert.throws(() => {
    manager.deliveries.ids = null;
  }, TypeError);
  assert.ok(manager.deliveries.ids instanceof FunctionOutputsDelivery);
});

// Config errors

test('two list specs with the same name are rejected', () => {
  assert.throws(
    () =>
      new DistillDeliveryManager(
        [
          { type: 'FunctionOutputs', funcPath: './fixtures/targets.cjs#nextId', name: 'same' },
          { type: 'FunctionOutputs', funcPath: './fixtures/targets.cjs#inner', name: 'same' },
        ],
        { base },
      ),
    { code: 'ERR_DELIVERY_INVALID_CONFIG' },
  );
});

test('a list spec named like another spec\'s index is rejected', () => {
  assert.throws(
    () =>
      new DistillDeliveryManager(
        [
          { type: 'FunctionOutputs', funcPath: './fixtures/targets.cjs#nextId' },
          { type: 'FunctionOutputs', funcPath: './fixtures/targets.cjs#inner', name: '0' },
        ],
        { base },
      ),
    { code: 'ERR_DELIVERY_INVALID_CONFIG' },
  );
});

test('a spec.name that differs from its dict key is rejected', () => {
  assert.throws(
    () => new DistillDeliveryManager({ a: { type: 'FunctionOutputs', funcPath: './fixtures/targets.cjs#nextId', name: 'b' } }, { base }),
    { code: 'ERR_DELIVERY_INVALID_CONFIG' },
  );
});

for (const [what, type] of [['an unknown type', 'Recorder'], ['a missing type', undefined], ['a type that is not a string', 3], ['a lower-case type', 'functionoutputs']]) {
  test(`a spec with ${what} is rejected`, () => {
    assert.throws(
      () => new DistillDeliveryManager({ a: { type, funcPath: './fixtures/targets.cjs#nextId' } }, { base }),
      { code: 'ERR_DELIVERY_INVALID_CONFIG' },
    );
  });
}

test('a spec with an unknown key is rejected', () => {
  assert.throws(
    () => new DistillDeliveryManager({ a: { type: 'FunctionOutputs', funcPath: './fixtures/targets.cjs#nextId', maxKeep: 2 } }, { base }),
    { code: 'ERR_DELIVERY_INVALID_CONFIG' },
  );
});

test('a FunctionOutputs spec with a methodPath is rejected', () => {
  assert.throws(
    () => new DistillDeliveryManager({ a: { type: 'FunctionOutputs', methodPath: './fixtures/toy_module.cjs#ToyClass.call' } }, { base }),
    { code: 'ERR_DELIVERY_INVALID_CONFIG' },
  );
});

test('a MethodOutputs spec with a func_path is rejected', () => {
  assert.throws(
    () => new DistillDeliveryManager({ a: { type: 'MethodOutputs', func_path: './fixtures/targets.cjs#nextId' } }, { base }),
    { code: 'ERR_DELIVERY_INVALID_CONFIG' },
  );
});

test('a spec that is not an object is rejected', () => {
  assert.throws(() => new DistillDeliveryManager({ a: 'FunctionOutputs' }), { code: 'ERR_DELIVERY_INVALID_CONFIG' });
  assert.throws(() => new DistillDeliveryManager([null]), { code: 'ERR_DELIVERY_INVALID_CONFIG' });
});

test('deliveries that are neither an object nor a list are rejected', () => {
  assert.throws(() => new DistillDeliveryManager('FunctionOutputs'), { code: 'ERR_DELIVERY_INVALID_CONFIG' });
});

test('a bad MethodOutputs target fails when the manager is built', () => {
  assert.throws(
    () => new DistillDeliveryManager({ a: { type: 'MethodOutputs', methodPath: './fixtures/toy_module.cjs#ToyClass.bbb' } }, { base }),
    { code: 'ERR_DELIVERY_TARGET_NOT_FOUND' },
  );
});

test('a bad FunctionOutputs target fails only when the manager is entered', () => {
  const manager = new DistillDeliveryManager({ a: { type: 'FunctionOutputs', funcPath: './fixtures/targets.cjs#bb' } }, { base });
  assert.throws(() => manager.enter(), { code: 'ERR_DELIVERY_TARGET_NOT_FOUND' });
});

test('a bad maxKeepData in a spec is rejected', () => {
  assert.throws(
    () => new DistillDeliveryManager({ a: { type: 'FunctionOutputs', funcPath: './fixtures/targets.cjs#nextId', max_keep_data: 0 } }, { base }),
    { code: 'ERR_DELIVERY_INVALID_OPTION' },
  );
});

test('relative paths in specs resolve against the base given to the manager', () => {
  assert.throws(
    () => new DistillDeliveryManager({ a: { type: 'MethodOutputs', methodPath: './fixtures/toy_module.cjs#ToyClass.call' } }, { base: new URL('./fixtures/', base) }),
    { code: 'ERR_DELIVERY_MODULE_NOT_FOUND' },
  );
  const manager = new DistillDeliveryManager({ a: { type: 'MethodOutputs', methodPath: './toy_module.cjs#ToyClass.call' } }, { base: new URL('./fixtures/', base) });
  assert.ok(manager.deliveries.a instanceof MethodOutputsDelivery);
});

// overrideData

test('setting overrideData on the manager sets it on every delivery', () => {
  const manager = new DistillDeliveryManager({ ...ids('a'), ...ids('b') }, { base });
  manager.overrideData = true;
  assert.equal(manager.deliveries.a.overrideData, true);
  assert.equal(manager.deliveries.b.overrideData, true);
  manager.overrideData = false;
  assert.equal(manager.deliveries.a.overrideData, false);
  assert.equal(manager.deliveries.b.overrideData, false);
});

test('setting a delivery\'s overrideData does not change the manager\'s', () => {
  const manager = new DistillDeliveryManager(ids(), { base });
  manager.deliveries.ids.overrideData = true;
  assert.equal(manager.overrideData, false);
});

test('a non-boolean overrideData on the manager is rejected and nothing changes', () => {
  const manager = new DistillDeliveryManager({ ...ids('a'), ...ids('b') }, { base });
  manager.overrideData = true;
  for (const value of [1, 'false', null, undefined]) {
    assert.throws(() => {
      manager.overrideData = value;
    }, { code: 'ERR_DELIVERY_INVALID_OPTION' });
  }
  assert.equal(manager.overrideData, true);
  assert.equal(manager.deliveries.a.overrideData, true);
  assert.equal(manager.deliveries.b.overrideData, true);
});

// enter / exit

function logCalls(manager, log) {
  for (const [name, delivery] of Object.entries(manager.deliveries)) {
    const { enter, exit } = delivery;
    delivery.enter = function () {
      log.push(`enter ${name}`);
      const handle = enter.call(this);
      return {
        [Symbol.dispose]() {
          log.push(`exit ${name}`);
          handle[Symbol.dispose]();
        },
      };
    };
    delivery.exit = function () {
      log.push(`exit ${name}`);
      return exit.call(this);
    };
  }
}

test('the manager enters its deliveries in order and exits them in reverse order', () => {
  const manager = new DistillDeliveryManager(
    { ...ids('a'), b: { type: 'FunctionOutputs', funcPath: './fixtures/targets.cjs#inner' }, c: { type: 'MethodOutputs', methodPath: './fixtures/toy_module.cjs#ToyClass.call' } },
    { base },
  );
  const log = [];
  logCalls(manager, log);
  within(manager, () => {});
  assert.deepEqual(log, ['enter a', 'enter b', 'enter c', 'exit c', 'exit b', 'exit a']);
});

test('a list of specs is entered in list order whatever the names', () => {
  const manager = new DistillDeliveryManager(
    [
      { type: 'MethodOutputs', methodPath: './fixtures/toy_module.cjs#ToyClass.call', name: 'counter' },
      { type: 'FunctionOutputs', funcPath: './fixtures/targets.cjs#nextId' },
    ],
    { base },
  );
  const log = [];
  logCalls(manager, log);
  within(manager, () => {});
  assert.deepEqual(log, ['enter counter', 'enter 1', 'exit 1', 'exit counter']);
});

test('when a delivery fails to enter, those already entered are exited and the error is rethrown', () => {
  const before = own(toyCjs.ToyClass.prototype, 'call');
  const manager = new DistillDeliveryManager(
    {
      first: { type: 'MethodOutputs', methodPath: './fixtures/toy_module.cjs#ToyClass.call' },
      second: { type: 'FunctionOutputs', funcPath: './fixtures/toy_module.mjs#toyFunc' },
    },
    { base },
  );
  assert.throws(() => manager.enter(), { code: 'ERR_DELIVERY_NOT_INSTRUMENTED' });
  assert.deepEqual(own(toyCjs.ToyClass.prototype, 'call'), before);
  new toyCjs.ToyClass().call();
  assert.equal(manager.deliveries.first.size, 0);
});

test('a manager that failed to enter is not entered, so exit() does nothing', () => {
  const manager = new DistillDeliveryManager(
    {
      first: { type: 'MethodOutputs', methodPath: './fixtures/toy_module.cjs#ToyClass.call' },
      second: { type: 'FunctionOutputs', funcPath: './fixtures/toy_module.mjs#toyFunc' },
    },
    { base },
  );
  const log = [];
  logCalls(manager, log);
  assert.throws(() => manager.enter(), { code: 'ERR_DELIVERY_NOT_INSTRUMENTED' });
  assert.deepEqual(log, ['enter first', 'enter second', 'exit first']);
  manager.exit();
  assert.deepEqual(log, ['enter first', 'enter second', 'exit first']);
});

test('a manager\'s failed enter keeps a delivery entered on its own', () => {
  const manager = new DistillDeliveryManager(
    {
      first: { type: 'FunctionOutputs', funcPath: './fixtures/targets.cjs#nextId', maxKeepData: 2 },
      second: { type: 'FunctionOutputs', funcPath: './fixtures/toy_module.mjs#toyFunc' },
    },
    { base },
  );
  const first = manager.deliveries.first;
  within(first, () => {
    assert.throws(() => manager.enter(), { code: 'ERR_DELIVERY_NOT_INSTRUMENTED' });
    targets.nextId();
  });
  assert.equal(first.size, 1);
});

test('exit() on a manager that was not entered does nothing', () => {
  const manager = new DistillDeliveryManager(ids(), { base });
  const log = [];
  logCalls(manager, log);
  manager.exit();
  assert.deepEqual(log, []);
});

test('the manager\'s enter() handle and the manager itself are disposable', () => {
  const before = own(targets, 'nextId');
  const manager = new DistillDeliveryManager(ids('ids', 2), { base });
  const handle = manager.enter();
  try {
    targets.nextId();
  } finally {
    handle[Symbol.dispose]();
  }
  handle[Symbol.dispose]();
  assert.deepEqual(own(targets, 'nextId'), before);
  manager.enter();
  try {
    targets.nextId();
  } finally {
    manager[Symbol.dispose]();
  }
  assert.deepEqual(own(targets, 'nextId'), before);
  assert.equal(manager.deliveries.ids.size, 2);
});

test('the manager\'s run() activates its deliveries only inside fn', async () => {
  const manager = new DistillDeliveryManager(ids('ids', 3), { base });
  targets.nextId();
  await manager.run(async () => {
    targets.nextId();
    await null;
    targets.nextId();
  });
  targets.nextId();
  assert.equal(manager.deliveries.ids.size, 2);
});

test('stats() reports each delivery by name', () => {
  const manager = new DistillDeliveryManager({ ...ids('ids', 3), inc: { type: 'FunctionOutputs', funcPath: './fixtures/targets.cjs#inner' } }, { base });
  within(manager, () => {
    targets.nextId();
    targets.nextId();
  });
  manager.overrideData = true;
  within(manager, () => targets.nextId());
  // DESIGN.md's shape exactly; `discarded` is there too, but not enumerable.
  assert.deepStrictEqual(manager.stats(), {
    ids: { recorded: 2, replayed: 1, pending: 1 },
    inc: { recorded: 0, replayed: 0, pending: 0 },
  });
  assert.deepEqual(allStats(manager.stats().ids), { recorded: 2, replayed: 1, pending: 1, discarded: 0 });
});

test('a delivery instance may be given in place of a spec', () => {
  const delivery = new FunctionOutputsDelivery({ funcPath: './fixtures/targets.cjs#nextId', base });
  const manager = new DistillDeliveryManager({ mine: delivery });
  assert.equal(manager.deliveries.mine, delivery);
});

test('a spec may carry its own base', () => {
  const manager = new DistillDeliveryManager({
    a: { type: 'MethodOutputs', methodPath: './toy_module.cjs#ToyClass.call', base: new URL('./fixtures/', base).href },
  });
  assert.ok(manager.deliveries.a instanceof MethodOutputsDelivery);
});

test('a manager entered twice stays active until it is exited twice', () => {
  const before = own(targets, 'nextId');
  const manager = new DistillDeliveryManager(ids('ids', 2), { base });
  manager.enter();
  try {
    within(manager, () => targets.nextId());
    targets.nextId();
  } finally {
    manager.exit();
  }
  assert.equal(manager.deliveries.ids.size, 2);
  assert.deepEqual(own(targets, 'nextId'), before);
});

test('when a delivery fails to activate in the manager\'s run(), fn never runs and the others are restored', () => {
  const before = own(targets, 'nextId');
  const manager = new DistillDeliveryManager(
    { ...ids(), bad: { type: 'FunctionOutputs', funcPath: './fixtures/toy_module.mjs#toyFunc' } },
    { base },
  );
  let ran = false;
  assert.throws(
    () => manager.run(() => {
      ran = true;
    }),
    { code: 'ERR_DELIVERY_NOT_INSTRUMENTED' },
  );
  assert.equal(ran, false);
  assert.deepEqual(own(targets, 'nextId'), before);
});
