// The end of an agent run: strict mode ("strict": true, DISTILL_DELIVERY_STRICT=1) fails a
// run with findings (exit status 1); "report": "path.json" also writes the report as JSON;
// SIGINT and SIGTERM end the process as without the agent, printing nothing, the report
// file holding the run as of its last phase (agent-signals.test.mjs: synchronous loops);
// NODE_DEBUG=delivery logs each phase's start and end with its counts, and why start-up
// failed. Children run once (before) and several tests read them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseConfig } from '../dist/agent/config.js';
import { agentFixture, debugLines, runNode } from './helpers/run-node.mjs';

const train = agentFixture('diagnostics', 'train.js');
const fixture = agentFixture('diagnostics');
const phases = { record: ['./train.js#teacherStep', './train.js#failingTeacher'], override: ['./train.js#studentStep'] };
const draw = { type: 'FunctionOutputs', funcPath: './sampler.js#draw', maxKeepData: 2 };
const misaimed = { type: 'FunctionOutputs', funcPath: './other.js#draw' };

let dir;
const runs = {};
const json = (name) => JSON.parse(readFileSync(join(dir, name), 'utf8'));
const codes = (report) => report.findings.map((f) => f.code).sort();

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'distill-delivery-end-'));
  // A config file elsewhere: its relative targets and report path resolve against its folder.
  const rel = (file) => relative(dir, join(fixture, file)).split('\\').join('/');
  const configFile = join(dir, 'strict.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      deliveries: { draw: { ...draw, funcPath: `${rel('sampler.js')}#draw` }, misaimed: { ...misaimed, funcPath: `${rel('other.js')}#draw` } },
      phases: { record: [`${rel('train.js')}#teacherStep`], override: [`${rel('train.js')}#studentStep`] },
      strict: true,
      report: 'out/teacher-only.json',
    }),
  );
  const report = (name) => join(dir, name);
  // Run from dir: the inline config's targets are absolute, its report path relative.
  const absolute = { deliveries: { draw: { ...draw, funcPath: `${fixture}/sampler.js#draw` } }, phases: { record: [`${fixture}/train.js#teacherStep`], override: [`${fixture}/train.js#studentStep`] } };
  const waiting = (signal, extra = []) =>
    runNode(train, { config: { ...absolute, report: 'waiting.json' }, cwd: dir, args: ['wait', ...extra], kill: { when: /"ready"/, signal } });
  [runs.clean, runs.idleWorker, runs.causes, runs.teacherOnly, runs.noPhases, runs.badStart, runs.diverged] = await Promise.all([
    runNode(train, { config: { deliveries: { draw }, phases, strict: true }, args: ['aligned'], env: { NODE_DEBUG: 'delivery' } }),
    runNode(train, { config: { deliveries: { draw }, phases, strict: true }, args: ['with idle worker'] }),
    runNode(train, { config: { deliveries: { draw }, phases, report: report('causes.json') }, args: ['causes'], env: { DISTILL_DELIVERY_STRICT: '1' } }),
    runNode(train, { config: configFile, args: ['teacher only'] }),
    runNode(train, { config: { deliveries: { draw }, strict: true, report: report('no-phases.json') }, args: ['aligned'] }),
    runNode(train, { config: { deliveries: { x: { type: 'FunctionOutputs', funcPath: './missing.js#f' } } }, env: { NODE_DEBUG: 'delivery' } }),
    runNode(train, { config: { deliveries: { draw }, phases, strict: true, report: report('diverged.json') }, args: ['diverge'] }),
  ]);
  // One at a time: each writes waiting.json in dir (the working directory, for an inline config).
  for (const [name, signal, extra] of [['sigint', 'SIGINT'], ['sigterm', 'SIGTERM'], ['handled', 'SIGINT', ['handle']]]) {
    runs[name] = await waiting(signal, extra);
    runs[name].report = json('waiting.json');
  }
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('strict mode lets a clean run exit 0 and says nothing', () => {
  const { code, stderr } = runs.clean;
  assert.equal(code, 0, stderr);
  assert.deepEqual(stderr.split('\n').filter((l) => l !== '' && !l.startsWith('DELIVERY ')), []);
});

test('strict mode leaves alone a worker thread that never touched the targets', () => {
  const { code, stdout, stderr } = runs.idleWorker;
  assert.equal(stderr, '');
  assert.equal(code, 0);
  assert.match(stdout, /\{"worker":0\}/);
});

test('NODE_DEBUG=delivery logs each phase\'s start and end with its counts, never each call', () => {
  const phaseLines = debugLines(runs.clean.stderr).filter((l) => / phase /.test(l));
  assert.deepEqual(phaseLines, [
    'record phase ./train.js#teacherStep run 1 starts',
    'record phase ./train.js#teacherStep run 1 ends: draw recorded 1 (step 1)',
    'override phase ./train.js#studentStep run 1 starts',
    'override phase ./train.js#studentStep run 1 ends: draw replayed 1 of 1 (step 1)',
    'record phase ./train.js#teacherStep run 2 starts',
    'record phase ./train.js#teacherStep run 2 ends: draw recorded 1 (step 2)',
    'override phase ./train.js#studentStep run 2 starts',
    'override phase ./train.js#studentStep run 2 ends: draw replayed 1 of 1 (step 2)',
  ]);
});

test('NODE_DEBUG=delivery logs why start-up failed, with the cause', () => {
  const { code, stderr } = runs.badStart;
  assert.equal(code, 1);
  assert.match(stderr, /ERR_DELIVERY_MODULE_NOT_FOUND/);
  const failed = debugLines(stderr).find((l) => l.startsWith('start-up failed'));
  assert.ok(failed, stderr);
  assert.match(stderr, /caused by: .*MODULE_NOT_FOUND|caused by: Error: Cannot find module/);
});

test('DISTILL_DELIVERY_STRICT=1 fails a run whose outputs were discarded, and the report says each cause', () => {
  const { code, stderr } = runs.causes;
  assert.equal(code, 1, stderr);
  const report = json('causes.json');
  assert.deepEqual(codes(report), ['DISTILL_DELIVERY_FAILED_STEP', 'DISTILL_DELIVERY_LATE_RECORD', 'DISTILL_DELIVERY_LEFTOVER']);
  assert.deepEqual(report.deliveries[0].discardedBy, { leftover: 1, failed: 1, late: 1 });
  assert.deepEqual(report.strict, { failed: true });
  assert.deepEqual(report.ended, { exitCode: 0 });
});

test('each cause of discarded outputs is a process warning with its own code', () => {
  const { stderr } = runs.causes;
  for (const code of ['DISTILL_DELIVERY_FAILED_STEP', 'DISTILL_DELIVERY_LATE_RECORD', 'DISTILL_DELIVERY_LEFTOVER']) {
    assert.match(stderr, new RegExp(`\\[${code}\\] DistillDeliveryWarning`));
  }
});

test('strict mode fails a run where a phase never ran, outputs were left and a delivery never fired', () => {
  const { code, stderr } = runs.teacherOnly;
  assert.equal(code, 1, stderr);
  assert.match(stderr, /strict mode/);
  const report = json('out/teacher-only.json');
  assert.deepEqual(codes(report), ['DISTILL_DELIVERY_NEVER_FIRED', 'DISTILL_DELIVERY_PENDING', 'DISTILL_DELIVERY_PHASE_NEVER_RAN']);
});

test('strict mode fails a run in which a divergence was seen, even when the app caught the error and went on aligned', () => {
  const { code, stdout, stderr } = runs.diverged;
  assert.equal(code, 1, stderr);
  const [caught, ...steps] = stdout.trim().split('\n').map((line) => JSON.parse(line));
  assert.equal(caught.code, 'ERR_DELIVERY_DIVERGED');
  assert.equal(steps.length, 2);
  for (const { teacher, student } of steps) assert.deepEqual(student, teacher);
  const report = json('diverged.json');
  assert.equal(report.diverged, 1);
  // The refused replay leaves the teacher's output of that step, discarded when the student's step ends.
  assert.deepEqual(codes(report), ['DISTILL_DELIVERY_DIVERGED', 'DISTILL_DELIVERY_LEFTOVER']);
});

test('a relative report path in a config file resolves against the config file\'s folder', () => {
  assert.equal(json('out/teacher-only.json').ended.exitCode, 0);
});

test('when a phase never ran, the never-fired finding blames the phases, not the module', () => {
  const finding = json('out/teacher-only.json').findings.find((f) => f.code === 'DISTILL_DELIVERY_NEVER_FIRED');
  assert.equal(finding.delivery, 'misaimed');
  assert.deepEqual([...finding.message.matchAll(/"([^"]+#[^"]+)"/g)].map((m) => m[1]), [finding.message.match(/"([^"]*other\.js#draw)"/)[1]]);
});

test('strict mode fails a run whose config has no phases at all', () => {
  const { code, stderr } = runs.noPhases;
  assert.equal(code, 1, stderr);
  assert.ok(codes(json('no-phases.json')).includes('DISTILL_DELIVERY_NO_PHASES'));
});

for (const [name, signal] of [['sigint', 'SIGINT'], ['sigterm', 'SIGTERM']]) {
  test(`${signal} ends the process by ${signal}, printing nothing; the report file holds the run as of its last phase, marked as running`, () => {
    const { code, signal: ended, stderr } = runs[name];
    assert.equal(code, null);
    assert.equal(ended, signal);
    assert.equal(stderr, '');
    assert.equal(runs[name].report.running, true);
    assert.equal(runs[name].report.ended, null);
    assert.deepEqual(runs[name].report.deliveries.map((d) => [d.name, d.recorded, d.pending]), [['draw', 1, 1]]);
  });
}

test('an inline config\'s relative report path resolves against the working directory', () => {
  assert.equal(runs.sigint.report.phases.ran.record, 1);
});

test('an app\'s own SIGINT handler keeps control: it exits as it chooses, and the report is printed once', () => {
  const { code, signal, stdout, stderr } = runs.handled;
  assert.equal(signal, null);
  assert.equal(code, 0);
  assert.match(stdout, /"handled":true/);
  assert.equal(stderr.split('distill-delivery report').length, 2, stderr);
  assert.deepEqual(runs.handled.report.ended, { exitCode: 0 });
  assert.equal(runs.handled.report.running, false);
});

test('"strict" and "report" are checked when the config is read', () => {
  for (const config of [{ strict: 'yes' }, { strict: 1 }, { report: 'yes' }, { report: 1 }]) {
    assert.throws(() => parseConfig(JSON.stringify({ deliveries: {}, ...config }), 'DISTILL_DELIVERY', '/base'), (error) => {
      assert.equal(error.code, 'ERR_DELIVERY_INVALID_CONFIG');
      assert.match(error.message, new RegExp(`\\b${Object.keys(config)[0]}\\b`));
      return true;
    });
  }
  const parsed = parseConfig('{"deliveries": {}, "strict": true, "report": "out/r.json"}', 'DISTILL_DELIVERY', '/base');
  assert.deepEqual([parsed.strict, parsed.report, parsed.reportFile], [true, true, '/base/out/r.json']);
});
