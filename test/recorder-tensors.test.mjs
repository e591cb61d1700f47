// Recorders and TensorFlow.js tensors (real tfjs-core on its CPU backend): a recorded tensor
// outlives the tf.tidy that made it, until the recorder's next clear frees it; the tensor
// count stays flat over a long run; and a student's recorded features carry gradients.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import test from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { DistillDeliveryManager, MethodInputsRecorder, MethodOutputsRecorder, RecorderManager } from 'distill-delivery';

await tf.setBackend('cpu');
tf.enableProdMode(); // silences the notice about the native backend
const require = createRequire(import.meta.url);
const { Net } = require('./fixtures/values/features.cjs');
const base = import.meta.url;
const path = './fixtures/values/features.cjs#Net.features';
const values = (t) => Array.from(t.dataSync());

test('a recorded tensor outlives the tf.tidy that made it, and the next clear frees it', () => {
  const net = new Net([[1, -1], [2, 1]]);
  const recorder = new MethodOutputsRecorder({ methodPath: path, base });
  const before = tf.memory().numTensors;
  recorder.run(() => tf.tidy(() => void net.forward(tf.tensor2d([[1, 2]]))));
  const [features] = recorder.dataBuffer;
  assert.equal(features.isDisposed, false);
  assert.deepEqual(values(features), [5, 1]);
  assert.equal(tf.memory().numTensors, before + 1);
  recorder.run(() => {});
  assert.equal(features.isDisposed, true);
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([net.w, net.scale]);
});

test('resetData() frees the recorded tensors, tensors inside arrays (inputs records) included', () => {
  const net = new Net([[1, 0], [0, 1]]);
  const inputs = new MethodInputsRecorder({ methodPath: path, base });
  const before = tf.memory().numTensors;
  inputs.run(() => tf.tidy(() => void net.forward(tf.tensor2d([[3, 4]]))));
  const [[x]] = inputs.dataBuffer;
  assert.deepEqual(values(x), [3, 4]);
  assert.equal(tf.memory().numTensors, before + 1);
  inputs.resetData();
  assert.equal(x.isDisposed, true);
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([net.w, net.scale]);
});

test('over 200 teacher and student steps, each in its own tf.tidy, the tensor count stays flat', () => {
  const teacher = new Net([[1, -1, 2], [2, 1, 0]]);
  const student = new Net([[0.5, 0.5, 0.5], [0.1, 0.2, 0.3]]);
  const recorders = new RecorderManager(
    { teacherFeat: { type: 'MethodOutputs', methodPath: path, phase: 'record' }, studentFeat: { type: 'MethodOutputs', methodPath: path, phase: 'override' }, studentIn: { type: 'MethodInputs', methodPath: path, phase: 'override' } },
    { base },
  );
  const manager = new DistillDeliveryManager({}, { recorders });
  const counts = [];
  for (let i = 0; i < 200; i++) {
    const x = tf.tensor2d([[i % 7, 1]]);
    manager.recordPhase(() => tf.tidy(() => void teacher.forward(x)));
    const gap = manager.overridePhase(() =>
      tf.tidy(() => {
        student.forward(x);
        const t = recorders.getRecorder('teacherFeat').getRecordData();
        const s = recorders.getRecorder('studentFeat').getRecordData();
        return tf.sum(tf.square(tf.sub(t, s))).dataSync()[0];
      }),
    );
    assert.ok(Number.isFinite(gap));
    x.dispose();
    counts.push(tf.memory().numTensors);
  }
  assert.deepEqual(new Set(counts), new Set([counts[0]]));
  tf.dispose([teacher.w, teacher.scale, student.w, student.scale]);
});

// tfjs-core's CommonJS build registers no gradients (the @tensorflow/tfjs package does): the
// three this test's ops need, for tensors of one shape.
tf.registerGradient({ kernelName: 'Identity', gradFunc: (dy) => ({ x: () => dy }) });
tf.registerGradient({ kernelName: 'Multiply', inputsToSave: ['a', 'b'], gradFunc: (dy, [a, b]) => ({ a: () => tf.mul(dy, b), b: () => tf.mul(dy, a) }) });
tf.registerGradient({ kernelName: 'Sum', inputsToSave: ['x'], gradFunc: (dy, [x]) => ({ x: () => tf.mul(tf.onesLike(x), dy) }) });

test('the gradient of a loss on a student\'s recorded features reaches its weights (a FitNets-style loss)', () => {
  const net = new Net([[1]]);
  const recorder = new MethodOutputsRecorder({ methodPath: './fixtures/values/features.cjs#Net.scaled', base });
  const x = tf.tensor1d([1, 2]);
  const { value, grads } = recorder.run(() =>
    tf.variableGrads(() => {
      net.scaled(x);
      const features = recorder.getRecordData();
      return tf.sum(tf.mul(features, features));
    }, [net.scale]),
  );
  // features = x · scale = [2, 6]; loss = 4 + 36; dloss/dscale = 2 · features · x = [4, 24].
  assert.equal(value.dataSync()[0], 40);
  assert.deepEqual(values(grads[net.scale.name]), [4, 24]);
  tf.dispose([value, grads[net.scale.name], x]);
  recorder.resetData();
  tf.dispose([net.w, net.scale]);
});
