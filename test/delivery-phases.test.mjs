// The manager's recordPhase()/overridePhase(): each record phase records into a step of
// its own, and each override phase replays the oldest step not yet replayed, no further.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { setImmediate as immediate } from 'node:timers/promises';
import { DistillDeliveryManager, FunctionOutputsDelivery } from 'distill-delivery';
import { allStats, own, warningsDuring, within } from './helpers.mjs';

const require = createRequire(import.meta.url);
const targets = require('./fixtures/targets.cjs');
const base = import.meta.url;
const managerOf = (maxKeepData = 4) =>
  new DistillDeliveryManager({ ids: { type: 'FunctionOutputs', funcPath: './fixtures/targets.cjs#nextId', maxKeepData } }, { base });
const twice = () => [targets.nextId(), targets.nextId()];

/** The warnings with `code` (default: leftovers) emitted while `block` runs and the ticks after it. */
async function leftoverWarnings(block, code = 'DISTILL_DELIVERY_LEFTOVER') {
  return (await warningsDuring(block)).filter((warning) => warning.code === code);
}

test('a phase returns what fn returns', () => {
  const manager = managerOf();
  assert.equal(manager.recordPhase(() => 'teacher'), 'teacher');
  assert.equal(manager.overridePhase(() => 'student'), 'student');
});

test('a record phase records even when overrideData is true', () => {
  const manager = managerOf();
  manager.overrideData = true;
  const teacher = manager.recordPhase(twice);
  assert.equal(manager.deliveries.ids.size, 2);
  assert.deepEqual(manager.overridePhase(twice), teacher);
});

test('an override phase replays even when overrideData is false', () => {
  const manager = managerOf();
  const teacher = manager.recordPhase(twice);
  const calls = targets.calls.nextId;
  assert.equal(manager.overrideData, false);
  assert.deepEqual(manager.overridePhase(twice), teacher);
  assert.equal(targets.calls.nextId, calls);
});

test('calls outside any phase pass through', () => {
  const manager = managerOf();
  manager.recordPhase(twice);
  targets.nextId();
  assert.deepEqual(allStats(manager.stats().ids), { recorded: 2, replayed: 0, pending: 2, discarded: 0 });
});

test('each override phase replays the outputs of its own record phase', () => {
  const manager = managerOf();
  const step1 = manager.recordPhase(twice);
  const step2 = manager.recordPhase(twice);
  assert.deepEqual(manager.overridePhase(twice), step1);
  assert.deepEqual(manager.overridePhase(twice), step2);
  assert.equal(manager.deliveries.ids.size, 0);
});

test('an extra student call in an override phase fails although a later step has outputs', () => {
  const manager = managerOf();
  const [first] = manager.recordPhase(() => [targets.nextId()]);
  const [second] = manager.recordPhase(() => [targets.nextId()]);
  let replayed;
  assert.throws(
    () => manager.overridePhase(() => {
      replayed = targets.nextId();
      targets.nextId();
    }),
    { code: 'ERR_DELIVERY_QUEUE_EMPTY' },
  );
  assert.equal(replayed, first);
  assert.equal(manager.overridePhase(() => targets.nextId()), second);
});

test('an override phase with no record phase waiting fails at the first call', () => {
  const manager = managerOf();
  let reached = false;
  assert.throws(
    () => manager.overridePhase(() => {
      reached = true;
      targets.nextId();
    }),
    { code: 'ERR_DELIVERY_QUEUE_EMPTY' },
  );
  assert.equal(reached, true);
});

test('outputs an override phase leaves are discarded at its end with a warning', async () => {
  const manager = managerOf();
  manager.recordPhase(twice);
  const warnings = await leftoverWarnings(() => manager.overridePhase(() => targets.nextId()));
  assert.equal(warnings.length, 1);
  assert.equal(warnings[0].name, 'DistillDeliveryWarning');
  assert.deepEqual(allStats(manager.stats().ids), { recorded: 2, replayed: 1, pending: 0, discarded: 1 });
});

test('discarded leftovers do not shift the next step', () => {
  const manager = managerOf();
  manager.recordPhase(twice);
  const step2 = manager.recordPhase(twice);
  manager.overridePhase(() => targets.nextId());
  assert.deepEqual(manager.overridePhase(twice), step2);
});

test('a second leftover of the same delivery is counted but not warned again', async () => {
  const manager = managerOf();
  const warnings = await leftoverWarnings(async () => {
    for (let i = 0; i < 2; i++) {
      manager.recordPhase(twice);
      manager.overridePhase(() => {});
    }
  });
  assert.equal(warnings.length, 1);
  assert.equal(manager.stats().ids.discarded, 4);
});

test('the leftover warning is a process warning with its code', async () => {
  const manager = managerOf();
  manager.recordPhase(twice);
  await immediate();
  const warned = once(process, 'warning');
  manager.overridePhase(() => {});
  const [warning] = await warned;
  assert.equal(warning.code, 'DISTILL_DELIVERY_LEFTOVER');
});

test('an override phase that replays everything discards nothing and warns nothing', async () => {
  const manager = managerOf();
  manager.recordPhase(twice);
  const warnings = await leftoverWarnings(() => manager.overridePhase(twice));
  assert.deepEqual(warnings, []);
  assert.equal(manager.stats().ids.discarded, 0);
});

test('an async record phase records into one step until it settles', async () => {
  const manager = managerOf();
  const teacher = await manager.recordPhase(async () => {
    const a = targets.nextId();
    await immediate();
    return [a, targets.nextId()];
  });
  const student = await manager.overridePhase(async () => {
    const a = targets.nextId();
    await immediate();
    return [a, targets.nextId()];
  });
  assert.deepEqual(student, teacher);
});

test('the next record phase may run while the student replays the previous one', async () => {
  const manager = managerOf();
  const step1 = manager.recordPhase(twice);
  const [student1, step2] = await Promise.all([
    manager.overridePhase(async () => {
      const a = targets.nextId();
      await immediate();
      await immediate();
      return [a, targets.nextId()];
    }),
    manager.recordPhase(async () => {
      await immediate();
      const a = targets.nextId();
      await immediate();
      return [a, targets.nextId()];
    }),
  ]);
  assert.deepEqual(student1, step1);
  assert.deepEqual(manager.overridePhase(twice), step2);
});

test('an exception in a record phase is rethrown and the target restored', () => {
  const before = own(targets, 'nextId');
  const manager = managerOf();
  assert.throws(
    () => manager.recordPhase(() => {
      targets.nextId();
      throw new Error('teacher failed');
    }),
    { message: 'teacher failed' },
  );
  assert.deepEqual(own(targets, 'nextId'), before);
});

test('a phase with something that is not a function is rejected', () => {
  const manager = managerOf();
  assert.throws(() => manager.recordPhase(null), { code: 'ERR_DELIVERY_INVALID_OPTION' });
  assert.throws(() => manager.overridePhase('fn'), { code: 'ERR_DELIVERY_INVALID_OPTION' });
  assert.throws(() => manager.run(1), { code: 'ERR_DELIVERY_INVALID_OPTION' });
});

test('a record phase that outlives the override phase replaying it records nothing more, loudly', async () => {
  const manager = managerOf(4);
  let release;
  const gate = new Promise((resolve) => (release = resolve));
  const warnings = await leftoverWarnings(async () => {
    const teacher = manager.recordPhase(async () => {
      targets.nextId();
      await gate;
      targets.nextId();
    });
    await manager.overridePhase(async () => targets.nextId());
    release();
    await teacher;
  }, 'DISTILL_DELIVERY_LATE_RECORD');
  const stats = manager.stats().ids;
  assert.equal(stats.recorded, 1);
  assert.equal(stats.replayed, 1);
  assert.equal(stats.pending, 0, 'nothing is left orphaned in the queue');
  assert.equal(stats.discarded, 1);
  assert.equal(warnings.length, 1);
});

// run() nested inside a phase: the phase decides for the deliveries it manages.

test('a run() nested in an override phase replays the phase\'s step, and records nothing of its own', () => {
  const manager = managerOf(2);
  const ids = manager.deliveries.ids;
  const teacher = manager.recordPhase(twice);
  const calls = targets.calls.nextId;
  assert.deepEqual(manager.overridePhase(() => ids.run(twice)), teacher);
  assert.equal(targets.calls.nextId, calls);
  assert.deepEqual(allStats(ids.stats()), { recorded: 2, replayed: 2, pending: 0, discarded: 0 });
  // Nothing was left to count against maxKeepData: the next step records in full.
  const next = manager.recordPhase(twice);
  assert.deepEqual(manager.overridePhase(twice), next);
});

test('a run() nested in a record phase records into the phase\'s step, whatever overrideData says', () => {
  const manager = managerOf(2);
  const ids = manager.deliveries.ids;
  ids.overrideData = true;
  const teacher = manager.recordPhase(() => ids.run(twice));
  assert.deepEqual(manager.overridePhase(twice), teacher);
  assert.equal(ids.size, 0);
});

test('an enter() nested in an override phase changes nothing either', () => {
  const manager = managerOf(2);
  const ids = manager.deliveries.ids;
  const teacher = manager.recordPhase(twice);
  const replayed = manager.overridePhase(() => within(ids, twice));
  assert.deepEqual(replayed, teacher);
  assert.equal(ids.size, 0);
});

test('a run() of a delivery the phase does not manage keeps its own mode and queue', () => {
  const manager = managerOf(2);
  const other = new FunctionOutputsDelivery({ funcPath: './fixtures/targets.cjs#inner', base });
  manager.recordPhase(twice);
  let kept;
  manager.overridePhase(() => {
    twice();
    kept = other.run(() => targets.inner(1));
  });
  assert.equal(kept, 2);
  assert.equal(other.size, 1);
  other.overrideData = true;
  assert.equal(other.run(() => targets.inner(5)), 2);
});
