// A manager with a store (the library's `store` option), in this process, on real files:
// what a record run writes and a replay run gives back (values, promises, tensors), the
// checks that make a replay fail rather than misalign, recordOnly deliveries, and that a
// manager without a store keeps the deliveries' call path as it is.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { DistillDeliveryManager } from 'distill-delivery';

await tf.setBackend('cpu');
tf.enableProdMode(); // silences the notice about the native backend
const require = createRequire(import.meta.url);
const base = new URL('./fixtures/store-wiring/', import.meta.url);
const targets = require('./fixtures/store-wiring/targets.cjs');
const dirs = [];
after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function storeDir() {
  const dir = mkdtempSync(join(tmpdir(), 'store-manager-'));
  dirs.push(dir);
  return join(dir, 'outputs');
}

// Record phases here run one after another with no override phase between them: room for their outputs.
const spec = (name, extra = {}) => ({ type: 'FunctionOutputs', funcPath: `./targets.cjs#${name}`, maxKeepData: 100, ...extra });
/** A manager over `specs` with a store at `url` in `mode`; closed by the caller (close()). */
const managerOf = (specs, url, mode, store = {}) => new DistillDeliveryManager(specs, { base, store: { url, mode, ...store } });
const ran = () => ({ ...targets.calls });
const code = (error) => error.code;

test('values of every kind structured clone keeps are replayed exactly, shared references and cycles included', () => {
  const url = storeDir();
  const specs = { shape: spec('shape'), draw: spec('draw') };
  const recorder = managerOf(specs, url, 'record');
  const recorded = [0, 1].map((i) => recorder.recordPhase(() => ({ shape: targets.shape(i), draw: targets.draw(3) })));
  recorder.close();
  const replayer = managerOf(specs, url, 'replay');
  const before = ran();
  for (const [i, teacher] of recorded.entries()) {
    const replayed = replayer.recordPhase(() => ({ shape: targets.shape(i), draw: targets.draw(3) }));
    // structuredClone is the reference: what the store gives back is what it gives.
    assert.deepStrictEqual(replayed, structuredClone(teacher));
    const value = replayed.shape;
    assert.equal(value.self, value);
    assert.equal(value.map.get(1), value.nested.deeper.deepest[0]);
    assert.equal(value.views[0].buffer, value.views[1].buffer);
    assert.ok(value.error instanceof RangeError);
    assert.ok(Object.is(value.numbers[1], -0));
    assert.equal(1 in value.sparse, false);
  }
  assert.deepEqual(ran(), before, 'no delivered function ran in the replay');
  replayer.close();
});

test('a promise is stored by its settled value and replayed as a promise that settles the same way', async () => {
  const url = storeDir();
  const specs = { later: spec('later') };
  const recorder = managerOf(specs, url, 'record');
  const value = await recorder.recordPhase(async () => targets.later(1));
  await assert.rejects(recorder.recordPhase(async () => {
    const rejected = targets.later('reject');
    await rejected.catch(() => {});
    return rejected;
  }), TypeError);
  await recorder.recordPhase(async () => targets.later('reject').catch((error) => error.message));
  recorder.close();
  const replayer = managerOf(specs, url, 'replay');
  const calls = targets.calls.later;
  assert.deepEqual(await replayer.recordPhase(async () => targets.later(1)), value);
  // The phase that threw was not written: the next step is the one whose rejection was caught.
  const replayed = replayer.recordPhase(() => targets.later('reject'));
  await assert.rejects(replayed, (error) => error instanceof TypeError && error.message === 'rejected on purpose');
  assert.equal(targets.calls.later, calls);
  replayer.close();
});

test('steps are written in the order their record phases started, whichever ends first', async () => {
  const url = storeDir();
  const specs = { draw: spec('draw') };
  const recorder = managerOf(specs, url, 'record');
  let release;
  const gate = new Promise((resolve) => (release = resolve));
  const first = recorder.recordPhase(async () => {
    const out = targets.draw(1);
    await gate;
    return out;
  });
  const second = await recorder.recordPhase(async () => targets.draw(1));
  release();
  const firstOut = await first;
  recorder.close();
  const replayer = managerOf(specs, url, 'replay');
  assert.deepEqual(replayer.recordPhase(() => targets.draw(1)), firstOut);
  assert.deepEqual(replayer.recordPhase(() => targets.draw(1)), second);
  replayer.close();
});

test('an output that cannot be stored fails its call with ERR_DELIVERY_NOT_SERIALIZABLE, naming the delivery and the path', () => {
  const url = storeDir();
  const recorder = managerOf({ widget: spec('widget'), items: spec('items') }, url, 'record');
  assert.throws(() => recorder.recordPhase(() => targets.widget()), (error) => code(error) === 'ERR_DELIVERY_NOT_SERIALIZABLE' && /delivery "widget"/.test(error.message) && /its \.parts\[1\]\.widget is an instance of Widget/.test(error.message));
  // A generator's items are not stored: refused at the call, before the generator runs.
  const items = targets.calls.items;
  assert.throws(() => recorder.recordPhase(() => [...targets.items()]), (error) => code(error) === 'ERR_DELIVERY_NOT_SERIALIZABLE' && /delivery "items".*generator function/.test(error.message));
  assert.equal(targets.calls.items, items);
  assert.equal(recorder.storeSummary().steps, 0);
  recorder.close();
});

test('tensors are replayed as tensors of the same dtype, shape and values, shared ones shared, none leaked', () => {
  const url = storeDir();
  const specs = { tensors: spec('tensors') };
  const values = (out) => ({ t: Array.from(out.t.dataSync()), ints: Array.from(out.ints.dataSync()) });
  const recorder = managerOf(specs, url, 'record');
  const recorded = recorder.recordPhase(() => tf.tidy(() => values(targets.tensors())));
  recorder.close();
  const replayer = managerOf(specs, url, 'replay');
  const count = tf.memory().numTensors;
  const calls = targets.calls.tensor;
  const replayed = replayer.recordPhase(() =>
    tf.tidy(() => {
      const out = targets.tensors();
      assert.ok(out.t instanceof tf.Tensor);
      assert.equal(out.both[0], out.both[1]);
      assert.equal(out.t, out.both[0]);
      assert.deepEqual([out.t.dtype, out.t.shape, out.ints.dtype, out.ints.shape], ['float32', [2, 2], 'int32', [2]]);
      return values(out);
    }),
  );
  assert.deepEqual(replayed, recorded);
  assert.equal(targets.calls.tensor, calls);
  // The student gets tensors of its own; all are freed by the tidy that made them.
  assert.deepEqual(replayer.overridePhase(() => tf.tidy(() => values(targets.tensors()))), recorded);
  assert.equal(tf.memory().numTensors, count);
  replayer.close();
});

test('a replay fails with ERR_DELIVERY_STORE_MISMATCH when the deliveries, a call, or the number of calls differ', () => {
  const url = storeDir();
  const recorder = managerOf({ draw: spec('draw') }, url, 'record');
  recorder.recordPhase(() => [targets.draw(1), targets.draw(1)]);
  recorder.close();
  assert.throws(() => managerOf({ draw: spec('shape') }, url, 'replay'), (error) => code(error) === 'ERR_DELIVERY_STORE_MISMATCH' && /"metadata\.deliveries\.draw\.target"/.test(error.message));
  assert.throws(() => managerOf({ draw: spec('draw', { check: 'off' }) }, url, 'replay'), (error) => /"metadata\.deliveries\.draw\.check"/.test(error.message));
  const replayer = () => managerOf({ draw: spec('draw') }, url, 'replay');
  let r = replayer();
  assert.throws(() => r.recordPhase(() => targets.draw('1')), (error) => code(error) === 'ERR_DELIVERY_STORE_MISMATCH' && /step 0 .*call 1 of delivery "draw".*recorded call was \(number\) and this one is \(string\)/.test(error.message));
  r.close();
  r = replayer();
  assert.throws(() => r.recordPhase(() => [targets.draw(1), targets.draw(1), targets.draw(1)]), (error) => /call 3 of delivery "draw".*makes a call the record run did not make/.test(error.message));
  r.close();
  r = replayer();
  assert.throws(() => r.recordPhase(() => targets.draw(1)), (error) => code(error) === 'ERR_DELIVERY_STORE_MISMATCH' && /this run made 1 call\(s\) in that step and the record run made 2/.test(error.message));
  r.close();
});

test('an override phase with no record phase to replay replays the next stored step (a student-only run), checking its calls', () => {
  const url = storeDir();
  const specs = { draw: spec('draw') };
  const recorder = managerOf(specs, url, 'record');
  const recorded = [0, 1].map(() => recorder.recordPhase(() => targets.draw(2)));
  recorder.close();
  const student = managerOf(specs, url, 'replay');
  const calls = targets.calls.draw;
  assert.deepEqual(student.overridePhase(() => targets.draw(2)), recorded[0]);
  assert.throws(() => student.overridePhase(() => targets.draw('2')), (error) => code(error) === 'ERR_DELIVERY_STORE_MISMATCH' && /step 1 .*call 1 of delivery "draw".*the student's is \(string\)/.test(error.message));
  assert.throws(() => student.overridePhase(() => targets.draw(2)), (error) => code(error) === 'ERR_DELIVERY_STORE_END');
  assert.equal(targets.calls.draw, calls);
  student.close();
});

test('a recordOnly delivery is only written and replayed in record phases; override phases run it as usual', () => {
  const url = storeDir();
  const specs = { draw: spec('draw'), logits: spec('shape', { recordOnly: true }) };
  const recorder = managerOf(specs, url, 'record');
  const teacher = recorder.recordPhase(() => targets.shape(7));
  let calls = targets.calls.shape;
  recorder.overridePhase(() => targets.shape(7));
  assert.equal(targets.calls.shape, calls + 1, 'the override phase ran it');
  assert.deepEqual(recorder.stats().logits, { recorded: 0, replayed: 0, pending: 0 });
  recorder.close();
  const replayer = managerOf(specs, url, 'replay');
  calls = targets.calls.shape;
  assert.deepStrictEqual(replayer.recordPhase(() => targets.shape(7)), structuredClone(teacher));
  assert.equal(targets.calls.shape, calls);
  replayer.close();
  assert.throws(() => new DistillDeliveryManager(specs, { base }), (error) => code(error) === 'ERR_DELIVERY_INVALID_CONFIG' && /deliveries\["logits"\]\.recordOnly/.test(error.message));
});

test('with recordOnly deliveries alone, a teacher-only run records any number of steps, and override phases read none of them', () => {
  const url = storeDir();
  const specs = { logits: spec('draw', { recordOnly: true, maxKeepData: 1 }) };
  const recorder = managerOf(specs, url, 'record');
  const recorded = Array.from({ length: 5 }, () => recorder.recordPhase(() => targets.draw(1)));
  // Nothing waits for a student: no queue fills, and no step is kept for an override phase.
  assert.equal(recorder.deliveries.logits.hasWaitingStep(), false);
  recorder.close();
  const replayer = managerOf(specs, url, 'replay');
  for (const output of recorded) {
    assert.deepEqual(replayer.recordPhase(() => targets.draw(1)), output);
    replayer.overridePhase(() => targets.draw(1));
  }
  assert.equal(replayer.storeSummary().steps, 5);
  replayer.close();
});

test('the store option is validated, naming the key, and DISTILL_DELIVERY_STORE_MODE gives the mode', () => {
  const bad = (store, key) => assert.throws(() => new DistillDeliveryManager({ draw: spec('draw') }, { base, store }), (error) => code(error) === 'ERR_DELIVERY_INVALID_CONFIG' && error.message.startsWith(`DistillDeliveryManager store${key}: `), key);
  const url = storeDir();
  bad('x', '');
  bad({ url: 'http://host/x', mode: 'record' }, '.url');
  bad({ url }, '.mode');
  bad({ url, mode: 'write' }, '.mode');
  bad({ url, mode: 'record', ifExists: 'append' }, '.ifExists');
  bad({ url, mode: 'record', timeout: 0 }, '.timeout');
  bad({ url, mode: 'record', rank: -1 }, '.rank');
  bad({ url, mode: 'record', fsync: true }, '.fsync');
  process.env.DISTILL_DELIVERY_STORE_MODE = 'replay';
  try {
    // The mode comes from the environment: a replay of a store that does not exist.
    assert.throws(() => managerOf({ draw: spec('draw') }, url, 'record'), (error) => code(error) === 'ERR_DELIVERY_STORE_END');
  } finally {
    delete process.env.DISTILL_DELIVERY_STORE_MODE;
  }
});

test('a record run does not overwrite a store unless told to, and a replay sees the new one', () => {
  const url = storeDir();
  const once = managerOf({ draw: spec('draw') }, url, 'record');
  once.recordPhase(() => targets.draw(1));
  once.close();
  assert.throws(() => managerOf({ draw: spec('draw') }, url, 'record'), (error) => code(error) === 'ERR_DELIVERY_STORE_EXISTS');
  const again = managerOf({ draw: spec('draw') }, url, 'record', { ifExists: 'overwrite' });
  const out = again.recordPhase(() => targets.draw(1));
  again.close();
  const replayer = managerOf({ draw: spec('draw') }, url, 'replay');
  assert.deepEqual(replayer.recordPhase(() => targets.draw(1)), out);
  assert.deepEqual({ steps: replayer.storeSummary().steps, lastStep: replayer.storeSummary().lastStep }, { steps: 1, lastStep: 0 });
  replayer.close();
  replayer.close(); // idempotent
});

test('a manager without a store leaves its deliveries\' call path as the class defines it', () => {
  const manager = new DistillDeliveryManager({ draw: spec('draw') }, { base });
  const delivery = manager.deliveries.draw;
  for (const method of ['part', 'take', 'store', 'storeItems']) assert.equal(Object.hasOwn(delivery, method), false, method);
  manager.recordPhase(() => targets.draw(1));
  manager.overridePhase(() => targets.draw(1));
  assert.equal(manager.storeSummary(), undefined);
});
