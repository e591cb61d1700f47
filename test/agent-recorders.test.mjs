// Recorders through the agent, on unedited programs: DISTILL_DELIVERY's `recorders`, active
// in the phases each names, read by the script through getRecorder(). ES modules (where-used
// paths, class methods, a delivery sharing a recorder's target), CommonJS, TypeScript under
// tsx, the config's errors, the report, and a store replayed without running the teacher.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentFixture, loaderUrl, output, runNode, unfired } from './helpers/run-node.mjs';

const dir = (file) => agentFixture('recorders', file);
const phasesOf = (file) => ({ record: [`./${file}#teacherStep`], override: [`./${file}#studentStep`] });

const esm = {
  deliveries: { noise: { type: 'FunctionOutputs', funcPath: './model.mjs#noise' } },
  recorders: {
    feat: { type: 'FunctionOutputs', funcPath: './model.mjs#relu', phase: 'record' },
    headIn: { type: 'MethodInputsRecorder', methodPath: './layers.mjs#Head.logits', phase: 'record' },
    logits: { type: 'MethodOutputs', methodPath: './model.mjs#Net.forward' },
    studentFeat: { type: 'FunctionOutputs', funcPath: './model.mjs#relu', phase: 'override' },
    noiseOut: { type: 'FunctionOutputs', funcPath: './model.mjs#noise', phase: 'override' },
  },
  phases: phasesOf('steps.mjs'),
};

async function run(file, config, options = {}) {
  const { code, stdout, stderr } = await runNode(dir(file), { config, ...options });
  assert.equal(stderr, '');
  assert.equal(code, 0);
  return output(stdout);
}

test('in an ES module program, each recorder holds what its phase recorded: the used-where calls, methods of every instance, one entry per call', async () => {
  const { steps } = await run('main.mjs', esm, { args: ['steps'] });
  // relu is called by model.mjs (recorded through ./model.mjs#relu) and by steps.mjs (not recorded).
  assert.deepEqual(steps[0].afterTeacher, { feat: [[1, 3]], headIn: [[[1, 3]]], logits: [[2, 4]], studentFeat: [], noiseOut: [] });
  assert.deepEqual(steps[0].afterStudent, { feat: [[1, 3]], headIn: [[[1, 3]]], logits: [[3, 6]], studentFeat: [[2, 5]], noiseOut: [steps[0].teacher.noise] });
});

test('each phase clears the records of the recorders it activates, and leaves the others\'', async () => {
  const { steps } = await run('main.mjs', esm, { args: ['steps'] });
  assert.deepEqual(steps[1].afterTeacher, { feat: [[5, 0]], headIn: [[[5, 0]]], logits: [[6, 1]], studentFeat: [[2, 5]], noiseOut: [steps[0].teacher.noise] });
  assert.deepEqual(steps[1].afterStudent.logits, [[9, 1]]);
});

test('a recorder on a delivered function records the output the student was replayed', async () => {
  const { steps } = await run('main.mjs', esm, { args: ['steps'] });
  for (const step of steps) {
    assert.deepEqual(step.student.noise, step.teacher.noise);
    assert.deepEqual(step.afterStudent.noiseOut, [step.teacher.noise]);
  }
});

test('getRecorder() of a name the config does not have, or a record past the last, fails with its code', async () => {
  // No phases: the recorder never records, which the agent warns of at exit (silenced here).
  const out = await run('main.mjs', { recorders: { feat: esm.recorders.feat } }, { args: ['unknown'], nodeArgs: unfired });
  assert.deepEqual(out, { unknown: { error: 'ERR_DELIVERY_RECORDER_NOT_FOUND' }, index: { error: 'ERR_DELIVERY_RECORD_INDEX' } });
});

test('in a CommonJS program, destructured require() paths and class methods record', async () => {
  const config = {
    recorders: {
      feat: { type: 'FunctionOutputs', funcPath: './model.cjs#relu', phase: 'record' },
      headIn: { type: 'MethodInputs', methodPath: './layers.cjs#Head.logits', phase: 'record' },
      studentFeat: { type: 'FunctionOutputs', func_path: './model.cjs#relu', phase: 'override' },
    },
    phases: phasesOf('main.cjs'),
  };
  const out = await run('main.cjs', config);
  assert.deepEqual(out, {
    teacher: [2, 4],
    student: [3, 6],
    afterTeacher: { feat: [[1, 3]], headIn: [[[1, 3]]], studentFeat: [] },
    afterStudent: { feat: [[1, 3]], headIn: [[[1, 3]]], studentFeat: [[2, 5]] },
  });
});

test('under tsx, a TypeScript class method records in both phases, its inputs in the record phase', async () => {
  const config = {
    recorders: {
      encoded: { type: 'MethodOutputs', methodPath: './model.mts#Encoder.encode' },
      encodeIn: { type: 'MethodInputs', methodPath: './model.mts#Encoder.encode', phase: 'record' },
    },
    phases: phasesOf('model.mts'),
  };
  const out = await run('main-ts.mjs', config, { agent: false, nodeArgs: ['--import', 'tsx', '--import', loaderUrl] });
  assert.deepEqual(out, { teacher: 4, student: 7, afterTeacher: [[1, 3]], afterStudent: [[2, 5]], inputs: [1, 2] });
});

test('the report lists each recorder with its phases and counts, and a recorder that never recorded is a finding', async () => {
  const config = { ...esm, recorders: { ...esm.recorders, idle: { type: 'FunctionOutputs', funcPath: './layers.mjs#dropout', phase: 'override' } }, report: true };
  const { code, stderr } = await runNode(dir('main.mjs'), { config, args: ['steps'] });
  assert.equal(code, 0);
  assert.match(stderr, /^recorder +target +phases +recorded +from store$/m);
  assert.match(stderr, /^logits +\.\/model\.mjs#Net\.forward +record, override +4 +0$/m);
  assert.match(stderr, /warning \[DISTILL_DELIVERY_RECORDER_NEVER_FIRED\]: recorder "idle" never recorded/);
  assert.doesNotMatch(stderr, /recorder "feat" never recorded/);
});

test('a config whose recorders are not an object of specs, or name an unknown type, stops the process with ERR_DELIVERY_INVALID_CONFIG', async () => {
  for (const recorders of [[], { feat: { type: 'ModuleOutputs', funcPath: './model.mjs#relu' } }, { feat: { type: 'FunctionOutputs', funcPath: './model.mjs#relu', phase: 'student' } }]) {
    const { code, stdout, stderr } = await runNode(dir('main.mjs'), { config: { recorders }, args: ['steps'] });
    assert.equal(stdout, '');
    assert.notEqual(code, 0);
    assert.match(stderr, /DeliveryError \[ERR_DELIVERY_INVALID_CONFIG\]: DISTILL_DELIVERY/);
  }
});

test('a recorder named as a delivery, or on a phase function, stops the process with ERR_DELIVERY_INVALID_CONFIG', async () => {
  const configs = [
    { deliveries: { feat: { type: 'FunctionOutputs', funcPath: './model.mjs#noise' } }, recorders: { feat: esm.recorders.feat } },
    { recorders: { step: { type: 'FunctionOutputs', funcPath: './steps.mjs#teacherStep' } }, phases: phasesOf('steps.mjs') },
  ];
  for (const config of configs) {
    const { code, stdout, stderr } = await runNode(dir('main.mjs'), { config, args: ['steps'] });
    assert.equal(stdout, '');
    assert.notEqual(code, 0);
    assert.match(stderr, /DeliveryError \[ERR_DELIVERY_INVALID_CONFIG\]: DISTILL_DELIVERY/);
  }
});

describe('with a store', () => {
  const config = (url) => ({
    deliveries: { teacherForward: { type: 'MethodOutputs', methodPath: './model.mjs#Net.forward', recordOnly: true } },
    recorders: {
      feat: { type: 'FunctionOutputs', funcPath: './model.mjs#relu', phase: 'record' },
      headIn: { type: 'MethodInputs', methodPath: './layers.mjs#Head.logits', phase: 'record' },
      drawn: { type: 'FunctionOutputs', funcPath: './model.mjs#noise', phase: 'record' },
      studentFeat: { type: 'FunctionOutputs', funcPath: './model.mjs#relu', phase: 'override' },
    },
    phases: phasesOf('main-store.mjs'),
    store: { url },
  });
  let folder;
  let recorded;
  let replayed;
  before(async () => {
    folder = mkdtempSync(join(tmpdir(), 'recorders-store-'));
    const url = join(folder, 'teacher');
    recorded = await run('main-store.mjs', config(url), { env: { DISTILL_DELIVERY_STORE_MODE: 'record' } });
    // A replay whose teacher would compute other features, if it ran.
    replayed = await run('main-store.mjs', config(url), { env: { DISTILL_DELIVERY_STORE_MODE: 'replay', TEACHER_SCALE: '0' } });
  });
  after(() => rmSync(folder, { recursive: true, force: true }));

  test('a replay\'s record-phase recorders give back what the record run recorded, though the teacher\'s forward pass did not run, and nothing else', () => {
    assert.equal(recorded.forwardCalls, 6);
    assert.equal(replayed.forwardCalls, 3);
    assert.deepEqual(
      replayed.steps.map((s) => s.afterTeacher),
      recorded.steps.map((s) => s.afterTeacher),
    );
    assert.equal(recorded.steps[1].afterTeacher.drawn.length, 1);
    assert.deepEqual({ ...recorded.steps[1].afterTeacher, drawn: undefined }, { feat: [[5, 0]], headIn: [[[5, 0]]], drawn: undefined, studentFeat: [[2, 5]] });
  });

  test('in a replay, override-phase recorders record the student\'s calls as usual', () => {
    assert.deepEqual(
      replayed.steps.map((s) => s.afterStudent),
      recorded.steps.map((s) => s.afterStudent),
    );
  });

  test('in mode "auto", a run after a complete one replays it, the recorders\' records included', async () => {
    const url = join(folder, 'auto');
    const first = await run('main-store.mjs', config(url), { env: { DISTILL_DELIVERY_STORE_MODE: 'auto' } });
    const second = await run('main-store.mjs', config(url), { env: { DISTILL_DELIVERY_STORE_MODE: 'auto', TEACHER_SCALE: '0' } });
    assert.equal(first.forwardCalls, 6);
    assert.equal(second.forwardCalls, 3);
    assert.deepEqual(second.steps.map((s) => s.afterTeacher), first.steps.map((s) => s.afterTeacher));
  });

  test('a store recorded without the recorders does not replay with them: ERR_DELIVERY_STORE_MISMATCH', async () => {
    const url = join(folder, 'without');
    const withoutRecorders = { ...config(url), recorders: { studentFeat: config(url).recorders.studentFeat } };
    await run('main-store.mjs', withoutRecorders, { env: { DISTILL_DELIVERY_STORE_MODE: 'record', RECORDERS: 'studentFeat' } });
    const { code, stderr } = await runNode(dir('main-store.mjs'), { config: config(url), env: { DISTILL_DELIVERY_STORE_MODE: 'replay' } });
    assert.notEqual(code, 0);
    assert.match(stderr, /ERR_DELIVERY_STORE_MISMATCH/);
    assert.match(stderr, /metadata\.recorders/);
  });
});
