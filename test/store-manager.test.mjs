// A manager with a store (the library's `store` option), in this process, on real files:
// what a record run writes and a replay run gives back (values, promises, tensors), the
// checks that make a replay fail rather than misalign, recordOnly deliveries, and that a
// manager without a store keeps the deliveries' call path as it is.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { DistillDeliveryManager } from 'distill-delivery';
import { runNode } from './helpers/run-node.mjs';
import { seeded } from './helpers.mjs';
import { tempDirs } from './helpers/temp-dirs.mjs';

await tf.setBackend('cpu');
tf.enableProdMode(); // silences the notice about the native backend
const require = createRequire(import.meta.url);
const base = new URL('./fixtures/store-wiring/', import.meta.url);
const targets = require('./fixtures/store-wiring/targets.cjs');
const tempDir = tempDirs('store-manager-');

function storeDir() {
  return join(tempDir(), 'outputs');
}

// Record phases here run one after another with no override phase between them: room for their outputs.
const spec = (name, extra = {}) => ({ type: 'FunctionOutputs', funcPath: `./targets.cjs#${name}`, maxKeepData: 100, ...extra });
/** A manager over `specs` with a store at `url` in `mode`; closed by the caller (close()). */
const managerOf = (specs, url, mode, store = {}) => new DistillDeliveryManager(specs, { base, store: { url, mode, ...store } });
const ran = () => ({ ...targets.calls });
const random = Math.random;
/** Every item of a generator, and its return value. */
const collect = (generator) => {
  const values = [];
  for (;;) {
    const { value, done } = generator.next();
    if (done) return { values, result: value };
    values.push(value);
  }
};
const collectAsync = async (generator) => {
  const values = [];
  for (;;) {
    const { value, done } = await generator.next();
    if (done) return { values, result: value };
    values.push(value);
  }
};
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

test('a promise is stored by its settled value and replayed as a promise that settles the same way, a phase that rejected in its turn', async () => {
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
  // The phase that rejected is step 1: replayed in its turn, its call's promise rejects as it did.
  await assert.rejects(replayer.recordPhase(async () => {
    const rejected = targets.later('reject');
    await rejected.catch(() => {});
    return rejected;
  }), (error) => error instanceof TypeError && error.message === 'rejected on purpose');
  // Step 2: the phase that caught the rejection.
  assert.equal(await replayer.recordPhase(async () => targets.later('reject').catch((error) => error.message)), 'rejected on purpose');
  assert.equal(targets.calls.later, calls);
  assert.equal(replayer.storeSummary().read, 3);
  replayer.close();
});

test('a record phase that threw is a step of the store, replayed in its turn: the phases after it get their own steps', () => {
  const url = storeDir();
  const specs = { draw: spec('draw') };
  const recorder = managerOf(specs, url, 'record');
  // The script catches a step that throws (a bad batch) and goes on.
  const teacher = (i) => {
    try {
      return recorder.recordPhase(() => {
        const out = targets.draw(2);
        if (i === 1) throw new RangeError('bad batch');
        return out;
      });
    } catch (error) {
      return error.message;
    }
  };
  const recorded = [0, 1, 2, 3].map(teacher);
  recorder.close();
  assert.equal(recorded[1], 'bad batch');
  const replayer = managerOf(specs, url, 'replay');
  const calls = targets.calls.draw;
  const replayed = [0, 1, 2, 3].map((i) => {
    try {
      return replayer.recordPhase(() => {
        const out = targets.draw(2);
        if (i === 1) throw new RangeError('bad batch');
        return out;
      });
    } catch (error) {
      return error.message;
    }
  });
  assert.deepEqual(replayed, recorded);
  assert.equal(targets.calls.draw, calls);
  // No step is left over, none is missing.
  assert.deepEqual([replayer.storeSummary().read, replayer.storeSummary().lastStep], [4, 3]);
  replayer.close();
});

test('a replay admits a record phase\'s calls as the record run did: one past maxKeepData fails with ERR_DELIVERY_QUEUE_FULL before it is replayed', () => {
  const url = storeDir();
  const recorder = managerOf({ draw: spec('draw', { maxKeepData: 3 }) }, url, 'record');
  const recorded = recorder.recordPhase(() => [targets.draw(1), targets.draw(1), targets.draw(1)]);
  recorder.close();
  // The same script with room for two outputs: its third call fails where a run without a store fails.
  const replayer = managerOf({ draw: spec('draw', { maxKeepData: 2 }) }, url, 'replay');
  const got = [];
  assert.throws(
    () => replayer.recordPhase(() => { for (let i = 0; i < 3; i++) got.push(targets.draw(1)); }),
    (error) => error.code === 'ERR_DELIVERY_QUEUE_FULL' && /maxKeepData/.test(error.message),
  );
  assert.deepEqual(got, recorded.slice(0, 2));
  replayer.close();
});

test('a delivered call that threw while recorded throws the same error at the same call of the replay', () => {
  const url = storeDir();
  const specs = { draw: spec('draw'), fails: spec('fails') };
  const recorder = managerOf(specs, url, 'record');
  const teacher = () => {
    const first = targets.draw(1);
    let error;
    try {
      targets.fails('no');
    } catch (e) {
      error = e;
    }
    return { first, error, second: targets.draw(1) };
  };
  const recorded = recorder.recordPhase(teacher);
  recorder.close();
  assert.ok(recorded.error instanceof TypeError);
  const replayer = managerOf(specs, url, 'replay');
  const calls = targets.calls.fails;
  const replayed = replayer.recordPhase(teacher);
  assert.equal(targets.calls.fails, calls, 'the failing function did not run');
  assert.ok(replayed.error instanceof TypeError);
  assert.equal(replayed.error.message, recorded.error.message);
  assert.deepEqual([replayed.first, replayed.second], [recorded.first, recorded.second]);
  replayer.close();
});

test('a replay whose phase ends otherwise than the recorded one (threw, returned) fails with ERR_DELIVERY_STORE_MISMATCH naming the step', () => {
  const url = storeDir();
  const specs = { draw: spec('draw') };
  const recorder = managerOf(specs, url, 'record');
  recorder.recordPhase(() => targets.draw(1));
  assert.throws(() => recorder.recordPhase(() => {
    targets.draw(1);
    throw new RangeError('bad batch');
  }), RangeError);
  recorder.close();
  let replayer = managerOf(specs, url, 'replay');
  replayer.recordPhase(() => targets.draw(1));
  assert.throws(() => replayer.recordPhase(() => targets.draw(1)), (error) => error.code === 'ERR_DELIVERY_STORE_MISMATCH' && /step 1 .*its record phase threw in the record run, and this run's returned/.test(error.message));
  replayer.close();
  replayer = managerOf(specs, url, 'replay');
  const thrown = new SyntaxError('only in the replay');
  assert.throws(() => replayer.recordPhase(() => {
    targets.draw(1);
    throw thrown;
  }), (error) => error.code === 'ERR_DELIVERY_STORE_MISMATCH' && /step 0 .*returned in the record run, and this run's threw/.test(error.message) && error.cause === thrown);
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
  const recorder = managerOf({ widget: spec('widget') }, url, 'record');
  assert.throws(() => recorder.recordPhase(() => targets.widget()), (error) => code(error) === 'ERR_DELIVERY_NOT_SERIALIZABLE' && /delivery "widget"/.test(error.message) && /its \.parts\[1\]\.widget is an instance of Widget/.test(error.message));
  recorder.close();
});

test('a generator\'s items, their draws and its return value are stored, and replayed as a generator of the same kind; pulling more fails', async () => {
  const url = storeDir();
  const specs = { items: spec('items'), asyncItems: spec('asyncItems') };
  const recorder = managerOf(specs, url, 'record');
  const teacher = async () => ({ sync: collect(targets.items(3)), async: await collectAsync(targets.asyncItems(2)) });
  const recorded = await recorder.recordPhase(teacher);
  recorder.close();
  assert.deepEqual(recorded.sync.result, 'done after 3');
  const replayer = managerOf(specs, url, 'replay');
  const calls = [targets.calls.items, targets.calls.asyncItems];
  const replayed = await replayer.recordPhase(teacher);
  assert.deepStrictEqual(replayed, recorded);
  assert.deepEqual([targets.calls.items, targets.calls.asyncItems], calls, 'no generator ran');
  // The override phase gets the items and the return value too.
  assert.deepEqual(await replayer.overridePhase(teacher), recorded);
  replayer.close();
});

test('a student that pulls more items than the record run\'s teacher did fails as in one process (ERR_DELIVERY_QUEUE_EMPTY)', () => {
  const url = storeDir();
  const specs = { items: spec('items') };
  const teacher = () => {
    const generator = targets.items(3);
    return [generator.next().value, generator.next().value];
  };
  const student = () => [...targets.items(3)];
  const recorder = managerOf(specs, url, 'record');
  recorder.recordPhase(teacher);
  assert.throws(() => recorder.overridePhase(student), (error) => code(error) === 'ERR_DELIVERY_QUEUE_EMPTY' && /yielded only 2/.test(error.message));
  recorder.close();
  const replayer = managerOf(specs, url, 'replay');
  replayer.recordPhase(teacher);
  assert.throws(() => replayer.overridePhase(student), (error) => code(error) === 'ERR_DELIVERY_QUEUE_EMPTY' && /yielded only 2/.test(error.message));
  replayer.close();
});

test('an item that cannot be stored fails the teacher\'s pull; a generator the teacher left open is replayed open', () => {
  const url = storeDir();
  const recorder = managerOf({ items: spec('items') }, url, 'record');
  assert.throws(() => recorder.recordPhase(() => [...targets.items(1, true)]), (error) => code(error) === 'ERR_DELIVERY_NOT_SERIALIZABLE' && /delivery "items"/.test(error.message));
  const first = recorder.recordPhase(() => targets.items(3).next().value);
  recorder.close();
  const replayer = managerOf({ items: spec('items') }, url, 'replay');
  assert.throws(() => replayer.recordPhase(() => [...targets.items(1, true)]), (error) => code(error) === 'ERR_DELIVERY_QUEUE_EMPTY' || code(error) === 'ERR_DELIVERY_STORE_MISMATCH');
  assert.throws(() => replayer.recordPhase(() => {
    const generator = targets.items(3);
    assert.deepEqual(generator.next().value, first);
    generator.next();
  }), (error) => code(error) === 'ERR_DELIVERY_QUEUE_EMPTY' && /yielded only 1 by then/.test(error.message));
  replayer.close();
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

test('a replay run draws from Math.random what the record run drew: each stored call advances it by the draws its recorded call made', () => {
  const url = storeDir();
  const specs = { draw: spec('draw'), items: spec('items') };
  /** A script's shape: its own draws between teacher and student steps, a seeded Math.random of its own. */
  const script = (manager) => {
    Math.random = seeded(3);
    try {
      const own = [];
      for (const n of [2, 0, 3]) {
        own.push(Math.random());
        manager.recordPhase(() => [targets.draw(n), collect(targets.items(n))]);
        own.push(Math.random());
        manager.overridePhase(() => [targets.draw(n), collect(targets.items(n))]);
      }
      return own;
    } finally {
      Math.random = random;
    }
  };
  const recorder = managerOf(specs, url, 'record');
  const recorded = script(recorder);
  recorder.close();
  const replayer = managerOf(specs, url, 'replay');
  assert.deepEqual(script(replayer), recorded);
  replayer.close();
});

test('mode "auto" records a store that does not exist, and replays the steps a store holds, then records the steps after them', () => {
  const url = storeDir();
  const specs = { draw: spec('draw') };
  const first = managerOf(specs, url, 'auto');
  const recorded = [0, 1].map(() => first.recordPhase(() => targets.draw(2)));
  assert.deepEqual([first.storeSummary().read, first.storeSummary().written], [0, 2]);
  first.close();
  const second = managerOf(specs, url, 'auto');
  const calls = targets.calls.draw;
  const outputs = [0, 1, 2].map(() => second.recordPhase(() => targets.draw(2)));
  assert.deepEqual(outputs.slice(0, 2), recorded);
  assert.equal(targets.calls.draw, calls + 1, 'only the step the store did not hold ran');
  assert.deepEqual([second.storeSummary().read, second.storeSummary().written, second.storeSummary().lastStep], [2, 1, 1]);
  second.close();
  const replayer = managerOf(specs, url, 'replay');
  assert.deepEqual([0, 1, 2].map(() => replayer.recordPhase(() => targets.draw(2))), outputs);
  replayer.close();
  // Another program's store is not replayed, nor written to.
  assert.throws(() => managerOf({ draw: spec('shape') }, url, 'auto'), (error) => code(error) === 'ERR_DELIVERY_STORE_MISMATCH' && /"metadata\.deliveries\.draw\.target"/.test(error.message));
});

test('mode "auto" does not record after steps another writer added since it opened the store (ERR_DELIVERY_STORE_EXISTS), and the run\'s end fails', async () => {
  // In a child: a store that stopped makes the process's exit status 1.
  const { code: status, stdout, stderr } = await runNode(new URL('./fixtures/store-wiring/auto-grew.mjs', import.meta.url).pathname, { agent: false, args: [storeDir()] });
  assert.deepEqual(JSON.parse(stdout), { codes: ['none', 'ERR_DELIVERY_STORE_EXISTS', 'ERR_DELIVERY_STORE_EXISTS'], close: 'ERR_DELIVERY_STORE_EXISTS' });
  assert.equal(status, 1);
  assert.match(stderr, /another writer is writing the same rank \(it held 1 step\(s\) when this run opened it and 2 when this run began to record\)/);
});

test('mode "auto" comes from DISTILL_DELIVERY_STORE_MODE too; a student-only run in mode "auto" replays the steps the store holds and no more', () => {
  const url = storeDir();
  const specs = { draw: spec('draw') };
  const recorder = managerOf(specs, url, 'record');
  const recorded = recorder.recordPhase(() => targets.draw(1));
  recorder.close();
  process.env.DISTILL_DELIVERY_STORE_MODE = 'auto';
  let student;
  try {
    student = managerOf(specs, url, 'record');
  } finally {
    delete process.env.DISTILL_DELIVERY_STORE_MODE;
  }
  assert.equal(student.storeSummary().mode, 'auto');
  assert.deepEqual(student.overridePhase(() => targets.draw(1)), recorded);
  assert.throws(() => student.overridePhase(() => targets.draw(1)), (error) => code(error) === 'ERR_DELIVERY_STORE_END');
  student.close();
});

test('a student-only replay skips the steps whose record phase threw, as the record run\'s override phases did', () => {
  const url = storeDir();
  const specs = { draw: spec('draw') };
  const recorder = managerOf(specs, url, 'record');
  const first = recorder.recordPhase(() => targets.draw(1));
  assert.throws(() => recorder.recordPhase(() => {
    targets.draw(1);
    throw new RangeError('bad batch');
  }), RangeError);
  const third = recorder.recordPhase(() => targets.draw(1));
  const students = [recorder.overridePhase(() => targets.draw(1)), recorder.overridePhase(() => targets.draw(1))];
  recorder.close();
  assert.deepEqual(students, [first, third]);
  const student = managerOf(specs, url, 'replay');
  assert.deepEqual([student.overridePhase(() => targets.draw(1)), student.overridePhase(() => targets.draw(1))], [first, third]);
  student.close();
});

test('a manager without a store leaves its deliveries\' call path as the class defines it', () => {
  const manager = new DistillDeliveryManager({ draw: spec('draw') }, { base });
  const delivery = manager.deliveries.draw;
  for (const method of ['part', 'take', 'store', 'storeItems', 'threw']) assert.equal(Object.hasOwn(delivery, method), false, method);
  manager.recordPhase(() => targets.draw(1));
  manager.overridePhase(() => targets.draw(1));
  assert.equal(manager.storeSummary(), undefined);
});
