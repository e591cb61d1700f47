// TensorFlow.js tensors (real tfjs-core on its CPU backend, in this process): recorded
// tensors outlive the teacher's tf.tidy or dispose(), reach the student as tensors of its
// own with the same values, and never leak.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import test from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { DistillDeliveryManager, FunctionOutputsDelivery, MethodOutputsDelivery } from 'distill-delivery';
import { warningsDuring } from './helpers.mjs';

await tf.setBackend('cpu');
tf.enableProdMode(); // silences the notice about the native backend
const require = createRequire(import.meta.url);
const targets = require('./fixtures/values/tensors.cjs');
const base = import.meta.url;
const values = (t) => Array.from(t.dataSync());
const mixupDelivery = new MethodOutputsDelivery({ methodPath: './fixtures/values/tensors.cjs#Mixup.call', base });

// How a step holds the tensors the mixup returns: what users write.
const styles = {
  'runs in its own tf.tidy': (use) => tf.tidy(() => use()),
  'disposes them by hand': (use) => {
    const tensors = [];
    const out = use(tensors);
    tf.dispose(tensors);
    return out;
  },
};

/** One step: mixes the batch, reads what it was fed, and holds the tensors as `style` says. */
function step(mixup, xs, labels, style) {
  return style((owned) => {
    const [mixed, mixedLabels] = mixup.call(xs, labels);
    owned?.push(mixed, mixedLabels);
    return [...values(mixed), ...values(mixedLabels)];
  });
}

/** Runs 200 teacher/student steps; returns how many were aligned and the tensor count after each. */
function train(teacherStyle, studentStyle, outer = (fn) => fn()) {
  const mixup = new targets.Mixup();
  const xs = tf.tensor2d([[1, 2], [3, 4], [5, 6]]);
  const labels = tf.tensor1d([1, 2, 3]);
  const counts = [];
  let aligned = 0;
  for (let i = 0; i < 200; i++) {
    outer(() => {
      mixupDelivery.overrideData = false;
      const teacher = mixupDelivery.run(() => step(mixup, xs, labels, teacherStyle));
      mixupDelivery.overrideData = true;
      const student = mixupDelivery.run(() => step(mixup, xs, labels, studentStyle));
      if (JSON.stringify(teacher) === JSON.stringify(student)) aligned++;
    });
    counts.push(tf.memory().numTensors);
  }
  tf.dispose([xs, labels]);
  return { aligned, counts };
}

for (const [teacher, teacherStyle] of Object.entries(styles)) {
  for (const [student, studentStyle] of Object.entries(styles)) {
    test(`a mixup's [mixed, labels] reach the student with the teacher's values over 200 steps and no tensor leaks, when the teacher ${teacher} and the student ${student}`, () => {
      const { aligned, counts } = train(teacherStyle, studentStyle);
      assert.equal(aligned, 200);
      assert.deepEqual(new Set(counts), new Set([counts[0]]));
      assert.equal(mixupDelivery.size, 0);
    });
  }
}

test('with both steps inside one outer tf.tidy and neither freeing anything itself, the student is aligned and no tensor leaks', () => {
  const none = (use) => use();
  const { aligned, counts } = train(none, none, (fn) => tf.tidy(fn));
  assert.equal(aligned, 200);
  assert.deepEqual(new Set(counts), new Set([counts[0]]));
});

test('the student gets tensors of its own over the same data: disposing them leaves the teacher\'s intact', () => {
  const mixup = new targets.Mixup();
  const before = tf.memory().numTensors;
  const xs = tf.tensor1d([1, 2, 3]);
  mixupDelivery.overrideData = false;
  const teacher = mixupDelivery.run(() => mixup.call(xs, xs));
  mixupDelivery.overrideData = true;
  const student = mixupDelivery.run(() => mixup.call(xs, xs));
  assert.notEqual(student[0], teacher[0]);
  const seen = teacher.map(values);
  assert.deepEqual(student.map(values), seen);
  tf.dispose(student);
  assert.deepEqual(teacher.map(values), seen);
  tf.dispose([...teacher, xs]);
  assert.equal(tf.memory().numTensors, before);
});

test('tensors inside plain objects, arrays and Maps are kept; the values beside them are delivered as they are', () => {
  const delivery = new FunctionOutputsDelivery({ funcPath: './fixtures/values/tensors.cjs#nested', base });
  const before = tf.memory().numTensors;
  delivery.overrideData = false;
  const teacher = delivery.run(() => tf.tidy(() => {
    const out = targets.nested();
    return { xs: values(out.batch.xs), scalar: values(out.list[0]), byName: values(out.byName.get('t')), rest: out.list.slice(1), lam: out.lam };
  }));
  delivery.overrideData = true;
  const student = delivery.run(() => tf.tidy(() => {
    const out = targets.nested();
    return { xs: values(out.batch.xs), scalar: values(out.list[0]), byName: values(out.byName.get('t')), rest: out.list.slice(1), lam: out.lam };
  }));
  assert.deepEqual(student, teacher);
  assert.equal(tf.memory().numTensors, before);
});

test('a tensor found twice in an output reaches the student as one tensor', () => {
  const delivery = new FunctionOutputsDelivery({ funcPath: './fixtures/values/tensors.cjs#shared', base });
  const before = tf.memory().numTensors;
  delivery.overrideData = false;
  const teacher = delivery.run(() => tf.tidy(() => values(targets.shared()[0])));
  delivery.overrideData = true;
  delivery.run(() => tf.tidy(() => {
    const [a, b] = targets.shared();
    assert.equal(a, b);
    assert.deepEqual(values(a), teacher);
  }));
  assert.equal(tf.memory().numTensors, before);
});

test('a frozen output holding a tensor is rebuilt with its getters as they are, and no getter is called', () => {
  const delivery = new FunctionOutputsDelivery({ funcPath: './fixtures/values/tensors.cjs#frozen', base });
  const before = tf.memory().numTensors;
  delivery.overrideData = false;
  const teacher = delivery.run(() => tf.tidy(() => values(targets.frozen().t)));
  assert.equal(targets.lazyReads, 0);
  delivery.overrideData = true;
  delivery.run(() => tf.tidy(() => {
    const out = targets.frozen();
    assert.equal(targets.lazyReads, 0);
    assert.deepEqual(values(out.t), teacher);
    assert.equal(Math.fround(out.lam), teacher[0]);
    assert.equal(Object.isFrozen(out), false, 'a rebuilt object is not frozen again');
  }));
  assert.equal(tf.memory().numTensors, before);
});

test('outputs an override phase leaves unreplayed free their kept tensors when they are discarded, with a DISTILL_DELIVERY_LEFTOVER warning', async () => {
  const manager = new DistillDeliveryManager({ mixup: { type: 'MethodOutputs', methodPath: './fixtures/values/tensors.cjs#Mixup.call', maxKeepData: 2 } }, { base });
  const mixup = new targets.Mixup();
  const xs = tf.tensor1d([1, 2, 3]);
  const before = tf.memory().numTensors;
  const warnings = await warningsDuring(() => {
    manager.recordPhase(() => tf.tidy(() => { mixup.call(xs, xs); mixup.call(xs, xs); }));
    assert.equal(tf.memory().numTensors, before + 4);
    manager.overridePhase(() => tf.tidy(() => { mixup.call(xs, xs); }));
  });
  assert.equal(tf.memory().numTensors, before);
  assert.equal(manager.stats().mixup.discarded, 1);
  xs.dispose();
  assert.deepEqual(warnings.map((w) => w.code), ['DISTILL_DELIVERY_LEFTOVER']);
  assert.match(warnings[0].message, /delivery "mixup"/);
});

test('a tensor the teacher\'s function had already disposed fails the replay with ERR_DELIVERY_OUTPUT_DISPOSED, naming the delivery', () => {
  const delivery = new FunctionOutputsDelivery({ funcPath: './fixtures/values/tensors.cjs#disposedAlready', base, name: 'broken' });
  delivery.overrideData = false;
  delivery.run(() => targets.disposedAlready());
  delivery.overrideData = true;
  assert.throws(() => delivery.run(() => targets.disposedAlready()), (error) => {
    assert.equal(error.code, 'ERR_DELIVERY_OUTPUT_DISPOSED');
    assert.match(error.message, /delivery "broken"/);
    return true;
  });
});

test('copy: true keeps tensors by a kept clone and copies the rest when the teacher\'s call returns', () => {
  const delivery = new FunctionOutputsDelivery({ funcPath: './fixtures/values/tensors.cjs#withArray', base, copy: true });
  const before = tf.memory().numTensors;
  delivery.overrideData = false;
  const teacher = delivery.run(() => tf.tidy(() => {
    const out = targets.withArray();
    const seen = { t: values(out.t), raw: Array.from(out.raw) };
    out.raw.fill(0); // the teacher normalizes in place after the call
    return seen;
  }));
  delivery.overrideData = true;
  const student = delivery.run(() => tf.tidy(() => {
    const out = targets.withArray();
    return { t: values(out.t), raw: Array.from(out.raw) };
  }));
  assert.deepEqual(student, teacher);
  assert.equal(tf.memory().numTensors, before);
});

test('a generator\'s tensor items and return value outlive the teacher\'s tf.tidy, and none leaks', () => {
  const delivery = new FunctionOutputsDelivery({ funcPath: './fixtures/values/tensors.cjs#crops', base });
  const before = tf.memory().numTensors;
  const consume = () => tf.tidy(() => {
    const generator = targets.crops(3);
    const items = [];
    let next;
    while (!(next = generator.next()).done) items.push(values(next.value)[0]);
    return { items, result: values(next.value)[0] };
  });
  delivery.overrideData = false;
  const teacher = delivery.run(consume);
  delivery.overrideData = true;
  const student = delivery.run(consume);
  assert.deepEqual(student, teacher);
  assert.equal(teacher.items.length, 3);
  assert.equal(tf.memory().numTensors, before);
});

test('a student that stops a tensor generator early frees the items it did not take', () => {
  const delivery = new FunctionOutputsDelivery({ funcPath: './fixtures/values/tensors.cjs#crops', base });
  const before = tf.memory().numTensors;
  delivery.overrideData = false;
  delivery.run(() => tf.tidy(() => [...targets.crops(3)].length));
  delivery.overrideData = true;
  delivery.run(() => tf.tidy(() => {
    for (const item of targets.crops(3)) {
      assert.equal(item.isDisposed, false);
      break;
    }
  }));
  assert.equal(tf.memory().numTensors, before);
});

test('a student calling with a tensor of another shape fails with ERR_DELIVERY_DIVERGED, showing both dtypes and shapes', () => {
  const delivery = new FunctionOutputsDelivery({ funcPath: './fixtures/values/tensors.cjs#scale', base });
  const a = tf.zeros([64, 8]);
  const b = tf.zeros([32, 8], 'int32');
  delivery.overrideData = false;
  delivery.run(() => tf.tidy(() => { targets.scale(a); }));
  delivery.overrideData = true;
  assert.throws(() => delivery.run(() => targets.scale(b)), (error) => {
    assert.equal(error.code, 'ERR_DELIVERY_DIVERGED');
    assert.ok(error.message.includes('(tensor float32[64,8])'), error.message);
    assert.ok(error.message.includes('(tensor int32[32,8])'), error.message);
    return true;
  });
  tf.dispose([a, b]);
});
