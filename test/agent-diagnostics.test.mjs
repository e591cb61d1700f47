// Diagnostics of the agent's phases, end to end on an unedited program (fixtures/agent/
// diagnostics): every queue error names the phase, the step and the counts and gives the
// advice that fits the phases; a method through a top-level instance is delivered or
// refused at load; the report's findings carry a code each and say where to aim a
// delivery that never fired. Children of one scenario run once (before) and several
// tests read them; errors are checked by code and by the facts their messages carry.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { agentFixture, lines, runNode } from './helpers/run-node.mjs';

const train = agentFixture('diagnostics', 'train.js');
const made = agentFixture('diagnostics', 'made.js');
const mixup = fileURLToPath(new URL('../examples/mixup/train.js', import.meta.url));

const phases = {
  record: ['./train.js#teacherStep', './train.js#quietTeacher', './train.js#failingTeacher'],
  override: ['./train.js#studentStep'],
};
const draw = { type: 'FunctionOutputs', funcPath: './sampler.js#draw', maxKeepData: 2 };

/** The message carries each fact: a string as is, a number as a whole word. */
function carries(message, ...facts) {
  for (const fact of facts) {
    if (typeof fact === 'number') assert.match(message, new RegExp(`(^|\\D)${fact}(\\D|$)`), `${fact} is not in: ${message}`);
    else assert.ok(message.includes(fact), `${JSON.stringify(fact)} is not in: ${message}`);
  }
}

/** The DeliveryError a child died of, from its stderr. */
function uncaught(stderr) {
  const match = /DeliveryError \[(ERR_[A-Z_]+)\]: (.*)/.exec(stderr);
  assert.ok(match, `no DeliveryError in:\n${stderr}`);
  return { code: match[1], message: match[2] };
}

const runs = {};
let dir;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'distill-delivery-diagnostics-'));
  const config = { deliveries: { draw }, phases };
  // other.js imports draw but calls it only while loading; Augments.call is never called.
  const aimed = {
    deliveries: { misaimed: { type: 'FunctionOutputs', funcPath: './other.js#draw' }, method: { type: 'MethodOutputs', methodPath: './sampler.js#Augments.call' } },
    phases,
    report: join(dir, 'hints.json'),
  };
  [runs.mistakes, runs.noStudent, runs.instance, runs.factory, runs.hints, runs.nested] = await Promise.all([
    runNode(train, { config, args: ['mistakes'] }),
    runNode(train, { config, args: ['no student'] }),
    runNode(mixup, { config: { deliveries: { mixup: { type: 'MethodOutputs', methodPath: './train.js#augments.call' } }, phases: { record: ['./train.js#teacherStep'], override: ['./train.js#studentStep'] } } }),
    runNode(made, { config: { deliveries: { augments: { type: 'MethodOutputs', methodPath: './made.js#augments.call' } } } }),
    runNode(train, { config: aimed, args: ['aligned'] }),
    // train.js's draw wraps sampler.js's: the inner one's calls are part of the outer one's.
    runNode(train, { config: { deliveries: { outer: { type: 'FunctionOutputs', funcPath: './train.js#draw' }, inner: { type: 'FunctionOutputs', funcPath: './sampler.js#draw' } }, phases }, args: ['aligned'] }),
  ]);
  runs.findings = JSON.parse(readFileSync(join(dir, 'hints.json'), 'utf8')).findings;
  // Every path the hint proposes, as the delivery of a run of its own: each must start and deliver.
  // (In one run, one would wrap the other: its calls, part of the outer one's, never fire on their own.)
  runs.proposed = [...runs.findings.find((f) => f.delivery === 'misaimed').message.matchAll(/"(\.\/[^"]+#[^"]+)"/g)].map((m) => m[1]).filter((p) => p !== './other.js#draw');
  runs.retargeted = await Promise.all(runs.proposed.map((funcPath) => runNode(train, { config: { deliveries: { d: { type: 'FunctionOutputs', funcPath } }, phases }, args: ['aligned'] })));
});

after(() => rmSync(dir, { recursive: true, force: true }));

/** The error the mistakes scenario caught for one case. */
function caught(name) {
  assert.equal(runs.mistakes.code, 0, runs.mistakes.stderr);
  const found = lines(runs.mistakes.stdout).find((l) => l.name === name);
  assert.ok(found?.code, `no error caught for "${name}":\n${runs.mistakes.stdout}`);
  return found;
}

test('a student step before any teacher step names the record phases that were never called', () => {
  const { code, message } = caught('student before any teacher');
  assert.equal(code, 'ERR_DELIVERY_QUEUE_EMPTY');
  carries(message, '"./train.js#studentStep"', '"./train.js#teacherStep"', '"./train.js#quietTeacher"', 'phases.record');
  assert.doesNotMatch(message, /step \d/, 'there is no step to name');
});

test('a student that reaches the target before its teacher step says so, not that it calls more often', () => {
  const { code, message } = caught('student first');
  assert.equal(code, 'ERR_DELIVERY_QUEUE_EMPTY');
  carries(message, '"./train.js#studentStep"', '"./train.js#teacherStep"', 'step 1', 'still running', 0, 1);
  assert.doesNotMatch(message, /more often/);
});

test('a student that calls more often than its teacher step names the step and both counts', () => {
  const { code, message } = caught('student calls more');
  assert.equal(code, 'ERR_DELIVERY_QUEUE_EMPTY');
  carries(message, '"./train.js#studentStep"', '"./train.js#teacherStep"', 'step 2', 2, 3);
});

test('a teacher step that never calls the target is named as the cause', () => {
  const { code, message } = caught('teacher never calls');
  assert.equal(code, 'ERR_DELIVERY_QUEUE_EMPTY');
  carries(message, '"./train.js#quietTeacher"', '"./train.js#studentStep"', 'step 3', 'without calling it');
  assert.doesNotMatch(message, /more often/);
});

test('a student step with no teacher step left says how many record phases ran', () => {
  const { code, message } = caught('student steps outnumber');
  assert.equal(code, 'ERR_DELIVERY_QUEUE_EMPTY');
  carries(message, '"./train.js#studentStep"', 'run 5', 3);
});

test('a teacher step that calls more often than maxKeepData says which call and the limit', () => {
  const { code, message } = caught('teacher calls more than maxKeepData');
  assert.equal(code, 'ERR_DELIVERY_QUEUE_FULL');
  carries(message, '"./train.js#teacherStep"', 'step 4', 'maxKeepData', 3, 2);
  assert.doesNotMatch(message, /overrideData/);
});

test('a student step that never runs: the next teacher step fails, naming the override phase never called', () => {
  const { code, stdout, stderr } = runs.noStudent;
  assert.equal(code, 1);
  assert.equal(stdout, '');
  const error = uncaught(stderr);
  assert.equal(error.code, 'ERR_DELIVERY_QUEUE_FULL');
  carries(error.message, '"./train.js#teacherStep"', 'step 2', 'phases.override', '"./train.js#studentStep"', 2);
  assert.doesNotMatch(error.message, /overrideData/);
});

test('a methodPath through a top-level instance delivers the calls the module makes through it', () => {
  const { code, stdout, stderr } = runs.instance;
  assert.equal(stderr, '');
  assert.equal(code, 0);
  assert.match(stdout, /same mixed batch in 3 of 3 steps/);
});

test('a methodPath through an instance made by a function fails while its module loads, naming the class', () => {
  const { code, stdout, stderr } = runs.factory;
  assert.equal(code, 1);
  assert.equal(stdout, '', 'the module stopped before its training');
  const error = uncaught(stderr);
  assert.equal(error.code, 'ERR_DELIVERY_TARGET_NOT_FOUND');
  carries(error.message, '"./made.js#augments.call"', 'Augments.call');
});

test('a function delivery aimed at a module whose calls no phase makes proposes the module it imports from and the loaded importers', () => {
  assert.equal(runs.hints.code, 0, runs.hints.stderr);
  const finding = runs.findings.find((f) => f.delivery === 'misaimed');
  assert.equal(finding.code, 'DISTILL_DELIVERY_NEVER_FIRED');
  assert.deepEqual(runs.proposed.sort(), ['./sampler.js#draw', './train.js#draw']);
});

test('the proposed paths are valid: each starts and delivers the phases\' calls', () => {
  assert.equal(runs.retargeted.length, 2);
  for (const { code, stdout, stderr } of runs.retargeted) {
    assert.equal(stderr, '');
    assert.equal(code, 0);
    for (const { teacher, student } of lines(stdout)) assert.deepEqual(student, teacher);
  }
});

test('a delivery whose calls all came inside another delivered call being recorded says so, not that it was never called', () => {
  const { code, stdout, stderr } = runs.nested;
  assert.equal(code, 0, stderr);
  for (const { teacher, student } of lines(stdout)) assert.deepEqual(student, teacher);
  const warnings = [...stderr.matchAll(/^\(node:\d+\) \[([A-Z_]+)\] DistillDeliveryWarning: (.*)$/gm)].map(([, code, message]) => ({ code, message }));
  assert.deepEqual(warnings.map((w) => w.code), ['DISTILL_DELIVERY_NEVER_FIRED']);
  // The teacher's two calls; the student's are replayed by the outer one and never reach it.
  carries(warnings[0].message, 'delivery "inner" never fired', 'each of its 2 call(s)', 'while another delivered function\'s call was being recorded');
});

test('a module no part of the run loaded is never proposed', () => {
  assert.doesNotMatch(runs.findings.find((f) => f.delivery === 'misaimed').message, /unused\.js/);
});

test('a method delivery that never fired proposes no other path: methods are patched on their class', () => {
  const finding = runs.findings.find((f) => f.delivery === 'method');
  assert.equal(finding.code, 'DISTILL_DELIVERY_NEVER_FIRED');
  assert.deepEqual([...finding.message.matchAll(/"([^"]+#[^"]+)"/g)].map((m) => m[1]).filter((p) => !p.includes('Step') && !p.includes('Teacher')), ['./sampler.js#Augments.call']);
});
