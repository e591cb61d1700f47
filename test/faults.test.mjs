// Faults during a long run: an original that throws in the teacher's step, phase functions
// that throw or reject, in the main thread, a worker and a forked child; a target module
// that does not parse. None may leave the next step misaligned or a module half-instrumented.
// Covered elsewhere: a throwing or rejecting original with the library
// (record-replay.test.mjs), a student calling more or fewer times than its teacher
// (delivery-phases.test.mjs, agent-phases.test.mjs; leftovers in the report:
// agent-report.test.mjs), two copies of the package sharing one registry (two-copies.test.mjs),
// children and workers getting the agent (agent-children.test.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as immediate } from 'node:timers/promises';
import { DistillDeliveryManager } from 'distill-delivery';
import { allStats, own } from './helpers.mjs';
import { agentFixture, lines, output, runNode, unfired } from './helpers/run-node.mjs';

const TIMEOUT = 60_000;
const require = createRequire(import.meta.url);
const targetPath = require.resolve('./fixtures/targets.cjs');
const targets = require(targetPath);
const managerOf = () => new DistillDeliveryManager({ ids: { type: 'FunctionOutputs', funcPath: `${targetPath}#nextId`, maxKeepData: 4 } });
const twice = () => [targets.nextId(), targets.nextId()];

/** Runs block with process warnings silenced (the leftover warning is checked in delivery-phases.test.mjs). */
async function quietly(block) {
  const emit = process.emitWarning;
  process.emitWarning = () => {};
  try {
    return await block();
  } finally {
    process.emitWarning = emit;
  }
}

test('a teacher step that throws out of its phase is dropped: the next student step replays the next teacher step', () =>
  quietly(() => {
    const manager = managerOf();
    assert.throws(() => manager.recordPhase(() => {
      twice();
      throw new Error('teacher failed');
    }), { message: 'teacher failed' });
    const teacher = manager.recordPhase(twice);
    assert.deepEqual(manager.overridePhase(twice), teacher);
    assert.deepEqual(allStats(manager.stats().ids), { recorded: 4, replayed: 2, pending: 0, discarded: 2 });
  }));

test('a teacher step whose promise rejects is dropped: the next student step replays the next teacher step', () =>
  quietly(async () => {
    const manager = managerOf();
    await assert.rejects(manager.recordPhase(async () => {
      targets.nextId();
      await immediate();
      targets.nextId();
      throw new Error('teacher rejected');
    }), { message: 'teacher rejected' });
    const teacher = await manager.recordPhase(async () => {
      const first = targets.nextId();
      await immediate();
      return [first, targets.nextId()];
    });
    assert.deepEqual(await manager.overridePhase(async () => twice()), teacher);
    assert.equal(manager.stats().ids.pending, 0);
  }));

test('a student step that throws out of its phase leaves nothing behind: the next student step is aligned', () =>
  quietly(() => {
    const manager = managerOf();
    manager.recordPhase(twice);
    const teacher = manager.recordPhase(twice);
    assert.throws(() => manager.overridePhase(() => {
      targets.nextId();
      throw new Error('student failed');
    }), { message: 'student failed' });
    assert.deepEqual(manager.overridePhase(twice), teacher);
    assert.deepEqual(allStats(manager.stats().ids), { recorded: 4, replayed: 3, pending: 0, discarded: 1 });
  }));

test('a student step whose promise rejects leaves nothing behind: the next student step is aligned', () =>
  quietly(async () => {
    const manager = managerOf();
    manager.recordPhase(twice);
    const teacher = manager.recordPhase(twice);
    await assert.rejects(manager.overridePhase(async () => {
      targets.nextId();
      await immediate();
      throw new Error('student rejected');
    }), { message: 'student rejected' });
    assert.deepEqual(manager.overridePhase(twice), teacher);
  }));

test('after a phase threw, the target is restored and calls outside any phase pass through', () =>
  quietly(() => {
    const before = own(targets, 'nextId');
    const manager = managerOf();
    assert.throws(() => manager.recordPhase(() => {
      targets.nextId();
      throw new Error('teacher failed');
    }));
    assert.throws(() => manager.overridePhase(() => {
      throw new Error('student failed');
    }));
    assert.deepEqual(own(targets, 'nextId'), before);
    const calls = targets.calls.nextId;
    targets.nextId();
    assert.equal(targets.calls.nextId, calls + 1);
    assert.deepEqual(allStats(manager.stats().ids), { recorded: 1, replayed: 0, pending: 0, discarded: 1 });
  }));

test('a teacher step that fails on the capacity check is dropped like any other failed step', () =>
  quietly(() => {
    const manager = new DistillDeliveryManager({ ids: { type: 'FunctionOutputs', funcPath: `${targetPath}#nextId`, maxKeepData: 1 } });
    assert.throws(() => manager.recordPhase(twice), { code: 'ERR_DELIVERY_QUEUE_FULL' });
    const teacher = manager.recordPhase(() => targets.nextId());
    assert.equal(manager.overridePhase(() => targets.nextId()), teacher);
  }));

// The agent, on an unedited training loop that survives failing batches.
const faults = agentFixture('faults');
const trainResult = { sync: [true, 'teacher failed', 'student failed', true], async: [true, 'teacher failed', 'student failed', true] };

test('a training loop whose teacher and student steps throw or reject on some batches stays aligned on the others', { timeout: TIMEOUT }, async () => {
  const { code, stdout } = await runNode(join(faults, 'train.js'), { config: './deliveries.json' });
  assert.equal(code, 0);
  assert.deepEqual(output(stdout), trainResult);
});

test('without the agent the same training loop is never aligned', { timeout: TIMEOUT }, async () => {
  const { code, stdout, stderr } = await runNode(join(faults, 'train.js'), { agent: false });
  assert.equal(stderr, '');
  assert.equal(code, 0);
  assert.deepEqual(output(stdout), { sync: [false, 'teacher failed', 'student failed', false], async: [false, 'teacher failed', 'student failed', false] });
});

test('the same training loop stays aligned in the main thread, a worker thread and a forked child at once', { timeout: TIMEOUT }, async () => {
  const { code, stdout } = await runNode(join(faults, 'threads.js'), { config: './deliveries.json' });
  assert.equal(code, 0);
  assert.deepEqual(lines(stdout), [trainResult, trainResult, trainResult]);
});

test('an original that throws in the teacher\'s step records nothing: the student replays only the draws that succeeded', { timeout: TIMEOUT }, async () => {
  const config = {
    deliveries: { d: { type: 'FunctionOutputs', funcPath: './sampler.js#flakyDraw', maxKeepData: 2 } },
    phases: { record: ['./flaky.js#teacherStep'], override: ['./flaky.js#studentStep'] },
  };
  const { code, stdout, stderr } = await runNode(join(faults, 'flaky.js'), { config });
  assert.equal(stderr, '');
  assert.equal(code, 0);
  assert.deepEqual(output(stdout), { steps: [true, true, true] });
});

// Target modules that do not parse: a clear DeliveryError, never a half-instrumented module.
function scratch(t) {
  const dir = mkdtempSync(join(tmpdir(), 'distill-delivery-faults-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }');
  return dir;
}

test('a target module that does not parse stops the agent before the app starts, naming the file', { timeout: TIMEOUT }, async (t) => {
  const dir = scratch(t);
  writeFileSync(join(dir, 'broken.js'), 'export function f( {\n');
  writeFileSync(join(dir, 'app.js'), 'console.log("started");\nawait import("./broken.js");\n');
  const { code, signal, stdout, stderr } = await runNode(join(dir, 'app.js'), { config: { deliveries: { b: { type: 'FunctionOutputs', funcPath: './broken.js#f' } } } });
  assert.equal(stdout, '');
  assert.equal(signal, null);
  assert.equal(code, 1);
  assert.match(stderr, /stopped before the app started/);
  assert.match(stderr, /DeliveryError \[ERR_DELIVERY_NOT_INSTRUMENTED\]: DISTILL_DELIVERY deliveries\["b"\]/);
  assert.ok(stderr.includes(join(dir, 'broken.js')), stderr);
});

test('a target module changed after start-up into one that does not parse fails to load with ERR_DELIVERY_NOT_INSTRUMENTED, without running', { timeout: TIMEOUT }, async (t) => {
  const dir = scratch(t);
  writeFileSync(join(dir, 'late.js'), 'globalThis.esmRan = true;\nexport function f() { return 1; }\n');
  writeFileSync(join(dir, 'late.cjs'), 'globalThis.cjsRan = true;\nexports.f = function f() { return 1; };\n');
  writeFileSync(
    join(dir, 'app.js'),
    `import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
// Another tool rewrites the targets after the agent planned them, before they load.
writeFileSync(new URL('./late.js', import.meta.url), 'globalThis.esmRan = true;\\nexport function f( {\\n');
writeFileSync(new URL('./late.cjs', import.meta.url), 'globalThis.cjsRan = true;\\nexports.f = function f( {\\n');
const out = {};
try { await import('./late.js'); out.esm = 'loaded'; } catch (e) { out.esm = [e.name, e.code]; }
try { createRequire(import.meta.url)('./late.cjs'); out.cjs = 'loaded'; } catch (e) { out.cjs = [e.name, e.code]; }
out.ran = [globalThis.esmRan ?? false, globalThis.cjsRan ?? false];
console.log(JSON.stringify(out));
`,
  );
  const config = { deliveries: { a: { type: 'FunctionOutputs', funcPath: './late.js#f' }, c: { type: 'FunctionOutputs', funcPath: './late.cjs#f' } } };
  const { code, stdout, stderr } = await runNode(join(dir, 'app.js'), { config, nodeArgs: unfired });
  assert.equal(stderr, '');
  assert.equal(code, 0);
  assert.deepEqual(output(stdout), {
    esm: ['DeliveryError', 'ERR_DELIVERY_NOT_INSTRUMENTED'],
    cjs: ['DeliveryError', 'ERR_DELIVERY_NOT_INSTRUMENTED'],
    ran: [false, false],
  });
});
