// How calls are recorded and replayed: throws, promises, re-entrancy, two deliveries on
// one target. MMRazor tested none of these.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { FunctionOutputsDelivery, MethodOutputsDelivery } from 'distill-delivery';
import { allStats, own, within } from './helpers.mjs';

const require = createRequire(import.meta.url);
const targets = require('./fixtures/targets.cjs');
const base = import.meta.url;
const at = (name, maxKeepData = 1) => new FunctionOutputsDelivery({ funcPath: `./fixtures/targets.cjs#${name}`, maxKeepData, base });

test('outputs are stored by reference and replayed as the same object', () => {
  const delivery = new MethodOutputsDelivery({ methodPath: './fixtures/targets.cjs#Factory.create', base });
  const teacher = within(delivery, () => targets.Factory.create());
  delivery.overrideData = true;
  const student = within(delivery, () => targets.Factory.create());
  assert.equal(student, teacher);
});

test('override mode never calls the original and ignores the arguments', () => {
  const delivery = at('inner');
  assert.equal(within(delivery, () => targets.inner(1)), 2);
  const before = targets.calls.inner;
  delivery.overrideData = true;
  assert.equal(within(delivery, () => targets.inner(100)), 2);
  assert.equal(targets.calls.inner, before);
});

test('a throwing original in record mode stores nothing and rethrows', () => {
  const delivery = at('fail');
  const before = targets.calls.fail;
  assert.throws(() => within(delivery, () => targets.fail()), { message: 'fail() always throws' });
  assert.equal(targets.calls.fail, before + 1);
  assert.equal(delivery.size, 0);
  assert.deepEqual(allStats(delivery.stats()), { recorded: 0, replayed: 0, pending: 0, discarded: 0 });
});

test('stats() compares and serializes as { recorded, replayed, pending }, and still reads discarded', () => {
  const delivery = new FunctionOutputsDelivery({ funcPath: './fixtures/toy_module.cjs#toyFunc', base: import.meta.url });
  const stats = delivery.stats();
  assert.deepStrictEqual(stats, { recorded: 0, replayed: 0, pending: 0 });
  assert.equal(JSON.stringify(stats), '{"recorded":0,"replayed":0,"pending":0}');
  assert.deepEqual(Object.keys(stats), ['recorded', 'replayed', 'pending']);
  assert.equal(stats.discarded, 0);
});

test('a throwing original does not use up capacity', () => {
  const delivery = at('fail');
  assert.throws(() => within(delivery, () => targets.fail()), { message: 'fail() always throws' });
  assert.throws(() => within(delivery, () => targets.fail()), { message: 'fail() always throws' });
  delivery.overrideData = true;
  assert.throws(() => within(delivery, () => targets.fail()), { code: 'ERR_DELIVERY_QUEUE_EMPTY' });
});

test('a throw inside the block keeps what was recorded and restores the target', () => {
  const before = own(targets, 'nextId');
  const delivery = at('nextId');
  const boom = new Error('boom');
  let recorded;
  assert.throws(
    () => within(delivery, () => {
      recorded = targets.nextId();
      throw boom;
    }),
    (error) => error === boom,
  );
  assert.equal(delivery.size, 1);
  assert.deepEqual(own(targets, 'nextId'), before);
  delivery.overrideData = true;
  assert.equal(within(delivery, () => targets.nextId()), recorded);
});

// The wrapper of an async function is an async function too (util.types.isAsyncFunction), so
// each call returns a promise of its own; what the queue keeps is the original's promise, by
// reference, and the student's promise settles with that promise's very value.
test('an async function has its promise recorded, and the replay settles with the same object', async () => {
  const delivery = at('fetchValue');
  const teacher = within(delivery, () => targets.fetchValue(7));
  assert.ok(teacher instanceof Promise);
  const before = targets.calls.fetchValue;
  delivery.overrideData = true;
  const student = within(delivery, () => targets.fetchValue(8));
  assert.ok(student instanceof Promise);
  assert.equal(targets.calls.fetchValue, before);
  assert.deepEqual(await student, { x: 7 });
  assert.equal(await student, await teacher);
});

test('a rejected promise is recorded as an output, not as a throw', async () => {
  const delivery = at('rejectLater');
  const teacher = within(delivery, () => targets.rejectLater());
  assert.equal(delivery.size, 1);
  const reason = await teacher.catch((error) => error);
  assert.equal(reason.message, 'rejectLater() always rejects');
  delivery.overrideData = true;
  const student = within(delivery, () => targets.rejectLater());
  assert.equal(await student.catch((error) => error), reason);
});

test('a recursive delivered function records one output for the outermost call', () => {
  const delivery = at('fib');
  const before = targets.calls.fib;
  assert.equal(within(delivery, () => targets.fib(10)), 55);
  assert.equal(targets.calls.fib - before, 177);
  assert.equal(delivery.size, 1);
});

test('a recursive delivered function is replayed as a whole', () => {
  const delivery = at('fib');
  within(delivery, () => targets.fib(10));
  const before = targets.calls.fib;
  delivery.overrideData = true;
  assert.equal(within(delivery, () => targets.fib(3)), 55);
  assert.equal(targets.calls.fib, before);
  assert.equal(delivery.size, 0);
});

test('a delivered function called while another is recorded passes through unrecorded', () => {
  const outer = at('outer');
  const inner = at('inner');
  const innerCalls = targets.calls.inner;
  inner.enter();
  try {
    assert.equal(within(outer, () => targets.outer(1)), 20);
  } finally {
    inner.exit();
  }
  assert.equal(outer.size, 1);
  assert.equal(inner.size, 0);
  assert.equal(targets.calls.inner, innerCalls + 1);
});

test('a delivered function called on its own after a recorded call is recorded again', () => {
  const outer = at('outer');
  const inner = at('inner');
  inner.enter();
  try {
    within(outer, () => {
      targets.outer(1);
      targets.inner(1);
    });
  } finally {
    inner.exit();
  }
  assert.equal(outer.size, 1);
  assert.equal(inner.size, 1);
});

test('two deliveries on one target both record the same output', () => {
  const first = at('nextId');
  const second = at('nextId');
  first.enter();
  let output;
  try {
    output = within(second, () => targets.nextId());
  } finally {
    first.exit();
  }
  assert.equal(first.size, 1);
  assert.equal(second.size, 1);
  first.overrideData = true;
  second.overrideData = true;
  assert.equal(within(first, () => targets.nextId()), output);
  assert.equal(within(second, () => targets.nextId()), output);
});

test('of two deliveries on one target the most recently entered is outermost', () => {
  const first = at('nextId');
  const recorded = within(first, () => targets.nextId());
  first.overrideData = true;
  const second = at('nextId');
  const calls = targets.calls.nextId;
  first.enter();
  let output;
  try {
    // second (outer) records what its inner call returns: first's replay.
    output = within(second, () => targets.nextId());
  } finally {
    first.exit();
  }
  assert.equal(output, recorded);
  assert.equal(targets.calls.nextId, calls);
  assert.equal(first.size, 0);
  assert.equal(second.size, 1);
  second.overrideData = true;
  assert.equal(within(second, () => targets.nextId()), recorded);
});

test('an outer delivery that replays never reaches the inner one', () => {
  const inner = at('nextId');
  const outer = at('nextId');
  const recorded = within(outer, () => targets.nextId());
  outer.overrideData = true;
  inner.enter();
  let output;
  try {
    output = within(outer, () => targets.nextId());
  } finally {
    inner.exit();
  }
  assert.equal(output, recorded);
  assert.equal(inner.size, 0);
  assert.deepEqual(allStats(inner.stats()), { recorded: 0, replayed: 0, pending: 0, discarded: 0 });
});

test('stats() counts recorded, replayed and pending outputs', () => {
  const delivery = at('nextId', 3);
  within(delivery, () => {
    targets.nextId();
    targets.nextId();
  });
  delivery.overrideData = true;
  within(delivery, () => targets.nextId());
  assert.deepEqual(allStats(delivery.stats()), { recorded: 2, replayed: 1, pending: 1, discarded: 0 });
  assert.equal(delivery.size, 1);
});

test('outputs are replayed first in, first out across many records', () => {
  const delivery = at('nextId', 10);
  const recorded = within(delivery, () => Array.from({ length: 10 }, () => targets.nextId()));
  delivery.overrideData = true;
  const replayed = within(delivery, () => Array.from({ length: 10 }, () => targets.nextId()));
  assert.deepEqual(replayed, recorded);
  assert.equal(new Set(recorded).size, 10);
});

test('the queue may be refilled after it was drained', () => {
  const delivery = at('nextId', 1);
  for (let round = 0; round < 3; round++) {
    delivery.overrideData = false;
    const teacher = within(delivery, () => targets.nextId());
    delivery.overrideData = true;
    assert.equal(within(delivery, () => targets.nextId()), teacher);
  }
  assert.deepEqual(allStats(delivery.stats()), { recorded: 3, replayed: 3, pending: 0, discarded: 0 });
});
