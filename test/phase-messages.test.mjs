// Messages and warnings of recordPhase()/overridePhase() called by hand: each queue error
// says which step, the teacher's and the student's counts, and advice in terms of
// recordPhase()/overridePhase() (not overrideData); each kind of discard warns with a
// code of its own. Errors are checked by code and by the facts the message carries.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { DistillDeliveryManager } from 'distill-delivery';
import { warningsDuring } from './helpers.mjs';

const require = createRequire(import.meta.url);
const targets = require('./fixtures/targets.cjs');
const managerOf = (maxKeepData = 4) =>
  new DistillDeliveryManager({ ids: { type: 'FunctionOutputs', funcPath: './fixtures/targets.cjs#nextId', maxKeepData } }, { base: import.meta.url });
const calls = (n) => () => Array.from({ length: n }, () => targets.nextId());

/** The error `fn` throws (or its promise rejects with). */
async function failure(fn) {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  assert.fail('expected an error');
}

/** The message carries each fact: a string as is, a number as a whole word; and never the overrideData advice. */
function carries(error, code, ...facts) {
  assert.equal(error.code, code);
  for (const fact of facts) {
    if (typeof fact === 'number') assert.match(error.message, new RegExp(`(^|\\D)${fact}(\\D|$)`), `${fact} is not in: ${error.message}`);
    else assert.ok(error.message.includes(fact), `${JSON.stringify(fact)} is not in: ${error.message}`);
  }
  assert.doesNotMatch(error.message, /overrideData/);
}

/** The codes of the distill-delivery warnings emitted while `block` runs. */
async function warningCodes(block) {
  return (await warningsDuring(block)).map((warning) => warning.code);
}

test('an override phase with no record phase run says so, in terms of recordPhase()', async () => {
  const error = await failure(() => managerOf().overridePhase(calls(1)));
  carries(error, 'ERR_DELIVERY_QUEUE_EMPTY', 'overridePhase()', 'recordPhase()');
  assert.doesNotMatch(error.message, /step \d/, 'there is no step to name');
});

test('a student call made while its record phase still runs says the student came first, with the step and counts', async () => {
  const manager = managerOf();
  let release;
  const gate = new Promise((resolve) => (release = resolve));
  manager.recordPhase(calls(1));
  manager.overridePhase(calls(1));
  const teacher = manager.recordPhase(async () => {
    targets.nextId();
    targets.nextId();
    await gate;
  });
  const error = await failure(() => manager.overridePhase(calls(3)));
  release();
  await teacher;
  carries(error, 'ERR_DELIVERY_QUEUE_EMPTY', 'step 2', 'recordPhase()', 'overridePhase()', 2, 3);
  assert.doesNotMatch(error.message, /more often/);
});

test('a student that calls more often than its teacher names the step and both counts', async () => {
  const manager = managerOf();
  manager.recordPhase(calls(2));
  const error = await failure(() => manager.overridePhase(calls(3)));
  carries(error, 'ERR_DELIVERY_QUEUE_EMPTY', 'step 1', 2, 3);
  assert.match(error.message, /more often/);
});

test('a teacher step that never called the target is named as the cause', async () => {
  const manager = managerOf();
  manager.recordPhase(calls(1));
  manager.overridePhase(calls(1));
  manager.recordPhase(() => {});
  const error = await failure(() => manager.overridePhase(calls(1)));
  carries(error, 'ERR_DELIVERY_QUEUE_EMPTY', 'step 2', 'recordPhase()');
  assert.doesNotMatch(error.message, /more often/);
});

test('a record phase whose own calls outnumber maxKeepData names the call and the limit', async () => {
  const error = await failure(() => managerOf(3).recordPhase(calls(4)));
  carries(error, 'ERR_DELIVERY_QUEUE_FULL', 'step 1', 'maxKeepData', 3, 4);
});

test('a record phase after another that no override phase replayed says no override phase ran', async () => {
  const manager = managerOf(2);
  manager.recordPhase(calls(2));
  const error = await failure(() => manager.recordPhase(calls(1)));
  carries(error, 'ERR_DELIVERY_QUEUE_FULL', 'step 2', 'overridePhase()', 2);
});

test('each cause of discarded outputs warns with a code of its own', async () => {
  const manager = managerOf();
  const codes = await warningCodes(async () => {
    await failure(() => manager.recordPhase(() => (targets.nextId(), assert.fail('teacher failed'))));
    manager.recordPhase(calls(2));
    manager.overridePhase(calls(1));
    let release;
    const gate = new Promise((resolve) => (release = resolve));
    const teacher = manager.recordPhase(async () => (await gate, targets.nextId()));
    await manager.overridePhase(async () => {});
    release();
    await teacher;
  });
  assert.deepEqual(codes.sort(), ['DISTILL_DELIVERY_FAILED_STEP', 'DISTILL_DELIVERY_LATE_RECORD', 'DISTILL_DELIVERY_LEFTOVER']);
  assert.equal(manager.stats().ids.discarded, 3);
});
