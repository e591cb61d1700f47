// Phases, end to end: while a phases.record function runs, every delivery records into a
// step of its own; while a phases.override function runs, it replays the oldest step not
// yet replayed. The app only calls its own teacher and student steps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agentFixture, output, runNode } from './helpers/run-node.mjs';

const main = agentFixture('phases', 'main.js');
const config = {
  deliveries: { draw: { type: 'FunctionOutputs', funcPath: './steps.js#draw', maxKeepData: 3 } },
  phases: {
    record: ['./steps.js#teacherStep', './steps.js#asyncTeacherStep'],
    override: ['./steps.js#studentStep', './steps.js#asyncStudentStep'],
  },
};

async function scenario(name, options = {}) {
  const { code, stdout, stderr } = await runNode(main, { config, args: [name], ...options });
  if (!options.allowStderr) assert.equal(stderr, '');
  assert.equal(code, 0, stderr);
  return { out: output(stdout), stderr };
}

test('the student step gets every output the teacher step recorded, and the original is not called again', async () => {
  const { out } = await scenario('sync');
  assert.deepEqual(out, { teacher: ['t:1', 't:2'], student: ['t:1', 't:2'], calls: 2 });
});

test('override phases replay record phases oldest first', async () => {
  const { out } = await scenario('fifo');
  assert.deepEqual(out, { teacher: [['t1:1'], ['t2:2']], student: [['t1:1'], ['t2:2']], calls: 2 });
});

/** The codes of the DistillDeliveryWarnings on stderr. */
const warned = (stderr) => [...stderr.matchAll(/^\(node:\d+\) \[([A-Z_]+)\] DistillDeliveryWarning: /gm)].map((m) => m[1]);

test('a student call beyond what its teacher step recorded fails with ERR_DELIVERY_QUEUE_EMPTY, and the refusal is warned of at exit', async () => {
  const { out, stderr } = await scenario('extra', { allowStderr: true });
  assert.deepEqual(out, { teacher: ['t:1'], student: { error: 'ERR_DELIVERY_QUEUE_EMPTY' }, calls: 1 });
  assert.deepEqual(warned(stderr), ['DISTILL_DELIVERY_REFUSED']);
});

test('an override phase with no record phase before it fails with ERR_DELIVERY_QUEUE_EMPTY, and the refusal is warned of at exit', async () => {
  const { out, stderr } = await scenario('unrecorded', { allowStderr: true });
  assert.deepEqual(out, { student: { error: 'ERR_DELIVERY_QUEUE_EMPTY' }, calls: 0 });
  assert.deepEqual(warned(stderr).sort(), ['DISTILL_DELIVERY_PHASE_NEVER_RAN', 'DISTILL_DELIVERY_REFUSED']);
});

test('outputs an override phase leaves are discarded with a warning, and the next step is aligned', async () => {
  const { out, stderr } = await scenario('fewer', { allowStderr: true });
  assert.deepEqual(out, {
    first: { teacher: ['t1:1', 't1:2'], student: ['t1:1'] },
    second: { teacher: ['t2:3', 't2:4'], student: ['t2:3', 't2:4'] },
    calls: 4,
  });
  assert.match(stderr, /DistillDeliveryWarning/);
  assert.match(stderr, /DISTILL_DELIVERY_LEFTOVER/);
  assert.match(stderr, /\.\/steps\.js#draw/);
});

test('calls outside any phase run as they are', async () => {
  const { out } = await scenario('outside');
  assert.deepEqual(out, { before: 'before:1', step: { teacher: ['t:2'], student: ['t:2'] }, after: 'after:3', calls: 3 });
});

test('an async phase covers its whole async extent: timers, promise jobs and immediates', async () => {
  const { out } = await scenario('async');
  assert.deepEqual(out, { teacher: ['t:1', 't:2', 't:3'], student: ['t:1', 't:2', 't:3'], calls: 3 });
});

test('consecutive async steps each replay their own teacher step', async () => {
  const { out } = await scenario('asyncTwice');
  assert.deepEqual(out, {
    steps: [
      { teacher: ['t1:1', 't1:2', 't1:3'], student: ['t1:1', 't1:2', 't1:3'] },
      { teacher: ['t2:4', 't2:5', 't2:6'], student: ['t2:4', 't2:5', 't2:6'] },
    ],
    calls: 6,
  });
});

test('class methods can be phases, named as Class.method or Class.prototype.method', async () => {
  const { code, stdout, stderr } = await runNode(main, {
    args: ['method'],
    config: {
      deliveries: { draw: { type: 'FunctionOutputs', funcPath: './distiller.js#draw', maxKeepData: 2 } },
      phases: { record: ['./distiller.js#Distiller.teacherStep'], override: ['./distiller.js#Distiller.prototype.studentStep'] },
    },
  });
  assert.equal(stderr, '');
  assert.equal(code, 0);
  assert.deepEqual(output(stdout), { teacher: ['t:1', 't:2'], student: ['t:1', 't:2'], instance: true, calls: 2 });
});

test('a delivery on the defining module is replayed through phases defined in another module', async () => {
  const { code, stdout, stderr } = await runNode(main, {
    args: ['sync'],
    config: {
      deliveries: { draw: { type: 'FunctionOutputs', funcPath: './sampler.js#draw', maxKeepData: 2 } },
      phases: { record: ['./steps.js#teacherStep'], override: ['./steps.js#studentStep'] },
    },
  });
  assert.equal(stderr, '');
  assert.equal(code, 0);
  assert.deepEqual(output(stdout), { teacher: ['t:1', 't:2'], student: ['t:1', 't:2'], calls: 2 });
});

test('without the agent the phases are plain functions', async () => {
  const { code, stdout, stderr } = await runNode(main, { agent: false, args: ['sync'] });
  assert.equal(stderr, '');
  assert.equal(code, 0);
  assert.deepEqual(output(stdout), { teacher: ['t:1', 't:2'], student: ['s:3', 's:4'], calls: 4 });
});
