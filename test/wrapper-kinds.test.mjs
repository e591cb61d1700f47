// A delivered function is the original in every way but its delivery: its kind as
// util.types reports it, its name and length, whether it can be constructed (and what
// `new` makes), the `this` it is called with. These run through the library's patched
// properties; the agent's wrappers are the same functions (test/agent-fidelity.test.mjs).
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { types } from 'node:util';
import { FunctionOutputsDelivery } from 'distill-delivery';

const require = createRequire(import.meta.url);
const kinds = require('./fixtures/kinds.cjs');
const base = import.meta.url;
const at = (name, maxKeepData = 1) => new FunctionOutputsDelivery({ funcPath: `./fixtures/kinds.cjs#${name}`, maxKeepData, base });

/** The wrapper a delivery installs on `name`, taken while it is installed, and the original. */
function wrapperOf(name) {
  const original = kinds[name];
  const wrapper = at(name).run(() => kinds[name]);
  assert.notEqual(wrapper, original);
  return { wrapper, original };
}

function isConstructor(f) {
  try {
    new (new Proxy(f, { construct: () => ({}) }))();
    return true;
  } catch {
    return false;
  }
}

test('a delivered async function is still an async function, with its name and length', () => {
  const { wrapper, original } = wrapperOf('fetchValue');
  assert.equal(types.isAsyncFunction(wrapper), true);
  assert.deepEqual([wrapper.name, wrapper.length, isConstructor(wrapper), 'prototype' in wrapper], [original.name, 2, false, false]);
  assert.equal(Object.getPrototypeOf(wrapper), Object.getPrototypeOf(original));
});

test('a delivered generator function and async generator function keep their kind, name, length and prototype', () => {
  for (const name of ['items', 'stream']) {
    const { wrapper, original } = wrapperOf(name);
    assert.equal(types.isGeneratorFunction(wrapper), true, name);
    assert.equal(types.isAsyncFunction(wrapper), types.isAsyncFunction(original), name);
    assert.deepEqual([wrapper.name, wrapper.length, isConstructor(wrapper), wrapper.prototype], [name, 1, false, original.prototype]);
  }
});

test('a delivered arrow function and method have no prototype and cannot be constructed', () => {
  for (const [wrapper, original] of [[wrapperOf('arrow').wrapper, kinds.arrow]]) {
    assert.deepEqual([wrapper.name, wrapper.length, 'prototype' in wrapper, isConstructor(wrapper)], [original.name, 1, false, false]);
    assert.throws(() => new wrapper(1), TypeError);
  }
  const delivery = new FunctionOutputsDelivery({ funcPath: './fixtures/kinds.cjs#methods.method', base });
  const method = delivery.run(() => kinds.methods.method);
  assert.deepEqual([method.name, 'prototype' in method, isConstructor(method)], ['method', false, false]);
});

test('`new` on a delivered constructor constructs the original, with new.target the function called', () => {
  for (const name of ['Ctor', 'SloppyCtor']) {
    const { wrapper: Ctor, original } = wrapperOf(name);
    assert.equal(isConstructor(Ctor), true);
    assert.equal(Ctor.prototype, original.prototype);
    const made = new Ctor(5);
    assert.deepEqual([made.get(), made instanceof Ctor, made instanceof original, made.newTarget], [5, true, true, Ctor], name);
    class Sub extends Ctor {}
    const sub = new Sub(6);
    assert.deepEqual([sub.get(), sub.newTarget, sub instanceof Ctor], [6, Sub, true], name);
  }
});

test('a delivered ES5 factory that calls itself with new works called either way', () => {
  const delivery = at('Point');
  delivery.run(() => {
    const Point = kinds.Point;
    assert.equal(Point(1).x, 1);
    assert.equal(new Point(2).x, 2);
    assert.ok(new Point(3) instanceof Point);
  });
});

test('a construction is never delivered: `new` while a delivery records runs the original and records nothing', () => {
  for (const name of ['Ctor', 'SloppyCtor']) {
    const delivery = at(name);
    const before = kinds.calls.constructed;
    assert.equal(delivery.run(() => new kinds[name](1)).v, 1);
    delivery.overrideData = true;
    assert.equal(delivery.run(() => new kinds[name](2)).v, 2);
    assert.equal(kinds.calls.constructed - before, 2, name);
    assert.deepEqual([delivery.stats().recorded, delivery.stats().replayed], [0, 0], name);
  }
});

test('a delivered function receives the `this` it is called with, recorded or replayed', () => {
  const delivery = at('thisOf');
  const self = {};
  assert.equal(delivery.run(() => kinds.thisOf.call(self)), self);
  delivery.overrideData = true;
  assert.equal(delivery.run(() => kinds.thisOf.call({})), self);
  const { wrapper } = wrapperOf('thisOf');
  assert.equal(wrapper.call(self), self);
  assert.equal(Reflect.apply(wrapper, 5, []).valueOf(), 5);
});

test('a delivered sloppy-mode function keeps its own arguments and caller properties, and sloppy `this`', () => {
  const { wrapper, original } = wrapperOf('sloppy');
  assert.deepEqual(Object.getOwnPropertyNames(wrapper).filter((k) => !k.startsWith('__')), Object.getOwnPropertyNames(original));
  assert.deepEqual([wrapper.caller, wrapper.arguments], [null, null]);
  assert.equal(wrapper(), true);
});

test('a delivered bound function has no prototype of its own and constructs its target', () => {
  const { wrapper, original } = wrapperOf('bound');
  assert.deepEqual([wrapper.name, wrapper.length, 'prototype' in wrapper, isConstructor(wrapper)], [original.name, 1, false, true]);
  assert.equal(new wrapper(4).x, 4);
});

const prototypes = require('./fixtures/prototypes.cjs');

test('a delivered function keeps a prototype other than Function.prototype (a mixin\'s, none, a class\'s, a bound function\'s), through every activation', async () => {
  const cases = {
    mixed: (f) => assert.equal(f.describe(), 'helper of mixed'), // inherited through the prototype
    bare: (f) => assert.equal(f.call, undefined),
    bareAsync: (f) => assert.equal(f.call, undefined),
    classy: (f) => assert.equal(f.kind(), 'base'), // the class's static, inherited
    boundMixed: (f) => assert.equal(f.describe(), 'helper of bound mixed'),
    boundBare: (f) => assert.equal(f.bind, undefined),
    boundClassy: (f) => assert.equal(f.kind(), 'base'),
  };
  for (const [name, inherits] of Object.entries(cases)) {
    const original = prototypes[name];
    const delivery = new FunctionOutputsDelivery({ funcPath: `./fixtures/prototypes.cjs#${name}`, base });
    // Each run() installs the wrapper and takes it off again: the second one installs it anew.
    const teacher = await delivery.run(() => prototypes[name](1));
    const wrapper = delivery.run(() => prototypes[name]);
    assert.notEqual(wrapper, original, name);
    assert.equal(Object.getPrototypeOf(wrapper), Object.getPrototypeOf(original), name);
    inherits(wrapper);
    delivery.overrideData = true;
    assert.deepEqual(await delivery.run(() => prototypes[name](2)), teacher, name);
    assert.equal(prototypes[name], original, `${name} is restored`);
  }
});

test('a static method a subclass inherits is delivered on the subclass, with the subclass as `this`, and the parent\'s stays as it is', () => {
  const { Base, Child } = prototypes;
  const make = Base.make;
  const delivery = new FunctionOutputsDelivery({ funcPath: './fixtures/prototypes.cjs#Child.make', base });
  const teacher = delivery.run(() => {
    assert.equal(Base.make, make, 'the parent\'s own method is not patched');
    assert.notEqual(Child.make, make);
    return Child.make(1);
  });
  assert.equal(teacher.by, 'Child');
  delivery.overrideData = true;
  assert.deepEqual(delivery.run(() => Child.make(2)), teacher);
  assert.equal(Object.hasOwn(Child, 'make'), false, 'restored: the subclass inherits it again');
  assert.notEqual(Base.make(3).n, teacher.n);
});

test('a delivered generator decides when it is called: a full queue throws at the call, not at the first next()', () => {
  const delivery = at('items');
  delivery.run(() => {
    kinds.items(1);
    assert.throws(() => kinds.items(2), { code: 'ERR_DELIVERY_QUEUE_FULL' });
  });
  assert.equal(delivery.stats().recorded, 1);
});

test('while idle, a delivered generator passes values sent in, thrown in and returned through', () => {
  const { wrapper } = wrapperOf('items');
  const it = wrapper('first');
  assert.equal(Object.getPrototypeOf(it), kinds.items.prototype);
  assert.deepEqual([it.next('ignored'), it.next('sent'), it.next()], [{ value: 'first', done: false }, { value: 'returned sent', done: true }, { value: undefined, done: true }]);
  const thrown = wrapper('x');
  thrown.next();
  assert.throws(() => thrown.throw(new RangeError('in')), RangeError);
  const returned = wrapper('y');
  returned.next();
  assert.deepEqual(returned.return('early'), { value: 'early', done: true });
});

test('a delivery error of an async function rejects its promise, as the original\'s own errors do', async () => {
  const delivery = at('fetchValue');
  let second;
  await delivery.run(async () => {
    await kinds.fetchValue(1);
    second = kinds.fetchValue(2);
    assert.ok(second instanceof Promise);
  });
  await assert.rejects(second, { code: 'ERR_DELIVERY_QUEUE_FULL' });
});
