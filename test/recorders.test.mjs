// Recorders (MMRazor's recorder family) from code, without the agent: targets patched after
// load (CommonJS exports, class methods). Each records one entry per call while active;
// entering clears; they never change what a call does.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setImmediate as immediate } from 'node:timers/promises';
import {
  BaseRecorder,
  DistillDeliveryManager,
  FunctionInputsRecorder,
  FunctionOutputsDelivery,
  FunctionOutputsRecorder,
  MethodInputsRecorder,
  MethodOutputsRecorder,
  RecorderManager,
  getRecorder,
} from 'distill-delivery';
import * as toyEsm from './fixtures/toy_module.mjs';
import { own, within } from './helpers.mjs';

const require = createRequire(import.meta.url);
const recorded = require('./fixtures/recorded.cjs');
const base = import.meta.url;
const fn = (name, Recorder = FunctionOutputsRecorder) => new Recorder({ funcPath: `./fixtures/recorded.cjs#${name}`, base });
const method = (Recorder = MethodOutputsRecorder) => new Recorder({ methodPath: './fixtures/recorded.cjs#Layer.forward', base });

test('a function outputs recorder keeps one record per call made inside run(), and none outside', () => {
  const recorder = fn('scale');
  recorded.scale(1);
  const result = recorder.run(() => [recorded.scale(1), recorded.scale(2, 5)]);
  recorded.scale(3);
  assert.deepEqual(result, [2, 10]);
  assert.deepEqual(recorder.dataBuffer, [2, 10]);
  assert.ok(recorder instanceof BaseRecorder);
});

test('run() clears what the recorder held before: records live for one activation', () => {
  const recorder = fn('scale');
  recorder.run(() => recorded.scale(1));
  recorder.run(() => recorded.scale(4));
  assert.deepEqual(recorder.dataBuffer, [8]);
});

test('enter() clears and records until exit(), which keeps the records', () => {
  const recorder = fn('scale');
  recorder.run(() => recorded.scale(1));
  recorder.enter();
  assert.deepEqual(recorder.dataBuffer, []);
  recorded.scale(2);
  recorder.exit();
  recorded.scale(3);
  assert.deepEqual(recorder.dataBuffer, [4]);
});

test('a function inputs recorder keeps the arguments as passed: no default filled in, rest arguments one by one', () => {
  const recorder = fn('scale', FunctionInputsRecorder);
  recorder.run(() => {
    recorded.scale(1);
    recorded.scale(1, undefined);
    recorded.scale(1, 3, 'a', 'b');
  });
  assert.deepEqual(recorder.dataBuffer, [[1], [1, undefined], [1, 3, 'a', 'b']]);
});

test('a method outputs recorder records the calls of every instance, made before or inside the block', () => {
  const recorder = method();
  const early = new recorded.Layer(2);
  recorder.run(() => {
    early.forward(1);
    new recorded.Layer(3).forward(1);
  });
  assert.deepEqual(recorder.dataBuffer, [2, 3]);
});

test('a method inputs recorder keeps the arguments without this', () => {
  const recorder = method(MethodInputsRecorder);
  recorder.run(() => new recorded.Layer(2).forward(5, 'x'));
  assert.deepEqual(recorder.dataBuffer, [[5, 'x']]);
});

test('exiting restores the patched property exactly', () => {
  const beforeFn = own(recorded, 'scale');
  const beforeMethod = own(recorded.Layer.prototype, 'forward');
  within(fn('scale'), () => assert.notDeepEqual(own(recorded, 'scale'), beforeFn));
  within(method(), () => assert.notDeepEqual(own(recorded.Layer.prototype, 'forward'), beforeMethod));
  assert.deepEqual(own(recorded, 'scale'), beforeFn);
  assert.deepEqual(own(recorded.Layer.prototype, 'forward'), beforeMethod);
});

test('getRecordData(recordIdx, dataIdx) reads a record, or an item of an array record', () => {
  const recorder = fn('scale', FunctionInputsRecorder);
  recorder.run(() => [recorded.scale(1, 2), recorded.scale(3, 4)]);
  assert.deepEqual(recorder.getRecordData(), [1, 2]);
  assert.equal(recorder.getRecordData(1, 0), 3);
  assert.equal(recorder.getRecordData(1, 1), 4);
});

test('getRecordData() past the last record fails with ERR_DELIVERY_RECORD_INDEX', () => {
  const recorder = fn('scale');
  assert.throws(() => recorder.getRecordData(), { code: 'ERR_DELIVERY_RECORD_INDEX' });
  recorder.run(() => recorded.scale(1));
  assert.throws(() => recorder.getRecordData(1), { code: 'ERR_DELIVERY_RECORD_INDEX' });
});

test('a dataIdx on a record that is not an array, or past its end, fails with ERR_DELIVERY_RECORD_INDEX', () => {
  const outputs = fn('scale');
  outputs.run(() => recorded.scale(1));
  assert.throws(() => outputs.getRecordData(0, 0), { code: 'ERR_DELIVERY_RECORD_INDEX' });
  const inputs = fn('scale', FunctionInputsRecorder);
  inputs.run(() => recorded.scale(1));
  assert.throws(() => inputs.getRecordData(0, 1), { code: 'ERR_DELIVERY_RECORD_INDEX' });
});

test('an index that is not a non-negative integer fails with ERR_DELIVERY_RECORD_INDEX', () => {
  const recorder = fn('scale', FunctionInputsRecorder);
  recorder.run(() => recorded.scale(1));
  for (const bad of [-1, 0.5, '0', null]) {
    assert.throws(() => recorder.getRecordData(bad), { code: 'ERR_DELIVERY_RECORD_INDEX' });
    assert.throws(() => recorder.getRecordData(0, bad), { code: 'ERR_DELIVERY_RECORD_INDEX' });
  }
});

test('resetData() forgets every record', () => {
  const recorder = fn('scale');
  recorder.run(() => recorded.scale(1));
  recorder.resetData();
  assert.deepEqual(recorder.dataBuffer, []);
});

test('MMRazor\'s snake_case names work: data_buffer, get_record_data, reset_data, func_path, method_path, source', () => {
  const recorder = new FunctionInputsRecorder({ func_path: './fixtures/recorded.cjs#scale', base });
  recorder.run(() => recorded.scale(7));
  assert.equal(recorder.data_buffer, recorder.dataBuffer);
  assert.equal(recorder.get_record_data(0, 0), 7);
  assert.equal(recorder.func_path, './fixtures/recorded.cjs#scale');
  recorder.reset_data();
  assert.deepEqual(recorder.dataBuffer, []);
  const methodRecorder = new MethodOutputsRecorder({ method_path: './fixtures/recorded.cjs#Layer.forward', base });
  assert.equal(methodRecorder.method_path, './fixtures/recorded.cjs#Layer.forward');
  const fromSource = new FunctionOutputsRecorder({ source: './fixtures/recorded.cjs#scale', base });
  assert.equal(fromSource.funcPath, './fixtures/recorded.cjs#scale');
});

test('a function recorder checks its target when entered, a method recorder when constructed', () => {
  const missing = new FunctionOutputsRecorder({ funcPath: './fixtures/recorded.cjs#nope', base });
  assert.throws(() => missing.run(() => {}), { code: 'ERR_DELIVERY_TARGET_NOT_FOUND' });
  assert.throws(() => new MethodOutputsRecorder({ methodPath: './fixtures/recorded.cjs#Layer.nope', base }), { code: 'ERR_DELIVERY_TARGET_NOT_FOUND' });
  assert.throws(() => new MethodInputsRecorder({ methodPath: './fixtures/recorded.cjs#scale', base }), { code: 'ERR_DELIVERY_INVALID_PATH' });
  assert.throws(() => new FunctionOutputsRecorder({ funcPath: 'scale', base }), { code: 'ERR_DELIVERY_INVALID_PATH' });
  assert.throws(() => new FunctionOutputsRecorder({ funcPath: './fixtures/recorded.cjs#scale', maxKeepData: 1 }), { code: 'ERR_DELIVERY_INVALID_OPTION' });
});

test('a binding of an ES module cannot be recorded without the agent: ERR_DELIVERY_NOT_INSTRUMENTED at entry', () => {
  const recorder = new FunctionOutputsRecorder({ funcPath: './fixtures/toy_module.mjs#toyFunc', base });
  assert.throws(() => recorder.run(() => toyEsm.toyFunc()), { code: 'ERR_DELIVERY_NOT_INSTRUMENTED' });
});

test('a call that throws leaves its inputs recorded and no output', () => {
  const outputs = fn('fails');
  const inputs = fn('fails', FunctionInputsRecorder);
  const manager = new RecorderManager({ outputs, inputs });
  assert.throws(() => manager.run(() => recorded.fails(1)), /fails\(1\)/);
  assert.deepEqual(outputs.dataBuffer, []);
  assert.deepEqual(inputs.dataBuffer, [[1]]);
});

test('an async function\'s record is its promise, and a run() of an async fn records across awaits', async () => {
  const recorder = fn('later');
  await recorder.run(async () => {
    await recorded.later(1);
    await immediate();
    await recorded.later(2);
  });
  assert.equal(recorder.dataBuffer.length, 2);
  assert.ok(recorder.dataBuffer[0] instanceof Promise);
  assert.deepEqual(await Promise.all(recorder.dataBuffer), [2, 3]);
});

test('run() records only its own async context: a concurrent call outside it is not recorded', async () => {
  const recorder = fn('scale');
  let release;
  const gate = new Promise((resolve) => (release = resolve));
  const inside = recorder.run(async () => {
    await gate;
    recorded.scale(1);
  });
  recorded.scale(5); // while the run() is pending, from outside it
  release();
  await inside;
  assert.deepEqual(recorder.dataBuffer, [2]);
});

test('a recorder and a delivery share a target: the teacher\'s call records its output, the student\'s the replayed one', () => {
  const delivery = new FunctionOutputsDelivery({ funcPath: './fixtures/recorded.cjs#draw', base });
  const recorder = fn('draw');
  const inputs = fn('draw', FunctionInputsRecorder);
  const manager = new DistillDeliveryManager({ draw: delivery }, { recorders: new RecorderManager({ recorder, inputs }) });
  const callsBefore = recorded.drawCount();
  const teacher = manager.recordPhase(() => recorded.draw('t'));
  assert.deepEqual([recorder.dataBuffer, inputs.dataBuffer], [[teacher], [['t']]]);
  const student = manager.overridePhase(() => recorded.draw('s'));
  assert.equal(student, teacher);
  assert.deepEqual([recorder.dataBuffer, inputs.dataBuffer], [[teacher], [['s']]]);
  assert.equal(recorded.drawCount(), callsBefore + 1);
});

test('a recorder sees a call made inside a delivered call that is being recorded', () => {
  const delivery = new FunctionOutputsDelivery({ funcPath: './fixtures/recorded.cjs#outer', base });
  const recorder = fn('scale', FunctionInputsRecorder);
  const manager = new DistillDeliveryManager({ outer: delivery }, { recorders: new RecorderManager({ recorder }) });
  assert.equal(manager.recordPhase(() => recorded.outer(2)), 7);
  assert.deepEqual(recorder.dataBuffer, [[2, 3]]);
  // The student's call is replayed whole: the inner call does not run, so there is nothing to record.
  assert.equal(manager.overridePhase(() => recorded.outer(2)), 7);
  assert.deepEqual(recorder.dataBuffer, []);
});

test('with a manager\'s phases, a recorder is active in the phases its spec names (both by default) and cleared as each starts', () => {
  const path = './fixtures/recorded.cjs#scale';
  const recorders = new RecorderManager(
    { teacher: { type: 'FunctionOutputs', funcPath: path, phase: 'record' }, student: { type: 'FunctionOutputsRecorder', funcPath: path, phase: 'override' }, both: { type: 'FunctionInputs', funcPath: path } },
    { base },
  );
  const manager = new DistillDeliveryManager({}, { recorders });
  const read = () => Object.fromEntries(Object.entries(recorders.recorders).map(([name, r]) => [name, [...r.dataBuffer]]));
  manager.recordPhase(() => recorded.scale(1));
  assert.deepEqual(read(), { teacher: [2], student: [], both: [[1]] });
  manager.overridePhase(() => recorded.scale(2));
  assert.deepEqual(read(), { teacher: [2], student: [4], both: [[2]] });
  manager.recordPhase(() => recorded.scale(3));
  assert.deepEqual(read(), { teacher: [6], student: [4], both: [[3]] });
  recorded.scale(9); // outside the phases
  assert.deepEqual(read(), { teacher: [6], student: [4], both: [[3]] });
});

test('a RecorderManager enters and runs all its recorders, and gives each by name', () => {
  const recorders = new RecorderManager({ out: { type: 'FunctionOutputs', funcPath: './fixtures/recorded.cjs#scale' }, in: { type: 'MethodInputsRecorder', methodPath: './fixtures/recorded.cjs#Layer.forward' } }, { base });
  recorders.run(() => new recorded.Layer(2).forward(recorded.scale(1)));
  assert.deepEqual(recorders.getRecorder('out').dataBuffer, [2]);
  assert.deepEqual(recorders.get_recorder('in').dataBuffer, [[2]]);
  recorders.enter();
  recorded.scale(2);
  recorders.exit();
  assert.deepEqual([recorders.recorders.out.dataBuffer, recorders.recorders.in.dataBuffer], [[4], []]);
});

test('a RecorderManager refuses an unknown type, key or phase with ERR_DELIVERY_INVALID_CONFIG', () => {
  const path = './fixtures/recorded.cjs#scale';
  assert.throws(() => new RecorderManager({ a: { type: 'ModuleOutputs', funcPath: path } }, { base }), { code: 'ERR_DELIVERY_INVALID_CONFIG' });
  assert.throws(() => new RecorderManager({ a: { type: 'FunctionOutputs', funcPath: path, maxKeepData: 1 } }, { base }), { code: 'ERR_DELIVERY_INVALID_CONFIG' });
  assert.throws(() => new RecorderManager({ a: { type: 'FunctionOutputs', funcPath: path, phase: 'both' } }, { base }), { code: 'ERR_DELIVERY_INVALID_CONFIG' });
  assert.throws(() => new RecorderManager([{ type: 'FunctionOutputs', funcPath: path }], { base }), { code: 'ERR_DELIVERY_INVALID_CONFIG' });
});

test('getRecorder() of a name a RecorderManager does not have fails with ERR_DELIVERY_RECORDER_NOT_FOUND, the closest names first', () => {
  const path = './fixtures/recorded.cjs#scale';
  const recorders = new RecorderManager({ logits: { type: 'FunctionOutputs', funcPath: path }, features: { type: 'FunctionOutputs', funcPath: path } }, { base });
  assert.throws(() => recorders.getRecorder('feature'), (error) => error.code === 'ERR_DELIVERY_RECORDER_NOT_FOUND' && error.message.indexOf('"features"') < error.message.indexOf('"logits"'));
});

test('getRecorder() without the agent fails with ERR_DELIVERY_RECORDER_NOT_FOUND', () => {
  assert.throws(() => getRecorder('features'), { code: 'ERR_DELIVERY_RECORDER_NOT_FOUND' });
});

test('with a store, a manager refuses a recorder named as one of its deliveries: ERR_DELIVERY_INVALID_CONFIG', () => {
  const recorders = new RecorderManager({ draw: { type: 'FunctionOutputs', funcPath: './fixtures/recorded.cjs#draw' } }, { base });
  const store = { url: join(tmpdir(), `recorders-clash-${process.pid}`), mode: 'record' };
  assert.throws(() => new DistillDeliveryManager({ draw: { type: 'FunctionOutputs', funcPath: './fixtures/recorded.cjs#draw' } }, { base, store, recorders }), { code: 'ERR_DELIVERY_INVALID_CONFIG' });
});
