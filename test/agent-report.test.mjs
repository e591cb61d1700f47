// The exit report: `"report": true` or DISTILL_DELIVERY_REPORT=1 prints, to stderr, a table
// of every delivery and findings, one code each: deliveries that never fired (and why:
// called only outside the phases, or where to aim them instead), outputs left unreplayed or
// discarded (by cause), phases that never ran. Counts only, never recorded values. Without
// it, each finding is a DistillDeliveryWarning.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { agentFixture, lines, loaderUrl, nodeBinary, output, runNode } from './helpers/run-node.mjs';

const main = agentFixture('report', 'main.js');
const phases = { record: ['./main.js#teacherStep'], override: ['./main.js#studentStep'] };
const deliveries = {
  head: { type: 'FunctionOutputs', funcPath: './head.js#anchorInsideFlags', maxKeepData: 2 },
  warmup: { type: 'FunctionOutputs', funcPath: './utils.js#warmup' },
  none: { type: 'FunctionOutputs', funcPath: './utils.js#neverCalled' },
};

/** The report's table: its rows as arrays of cells, header first. */
function table(stderr) {
  const lines = stderr.split('\n');
  const start = lines.indexOf('distill-delivery report');
  assert.notEqual(start, -1, `no report in:\n${stderr}`);
  const rows = [];
  for (const line of lines.slice(start + 1)) {
    if (line === '' || line.startsWith('phases:') || line.startsWith('warning')) break;
    rows.push(line.split(/ {2,}/));
  }
  return rows;
}

/** The report's findings: `warning [CODE]: message` lines. */
/** The run most tests read: every delivery, both phases, the report on. */
let full;
before(async () => {
  full = await runNode(main, { config: { deliveries, phases, report: true } });
});

const warnings = (stderr) =>
  stderr
    .split('\n')
    .map((l) => /^warning \[([A-Z_]+)\]: (.*)$/.exec(l))
    .filter(Boolean)
    .map(([, code, message]) => ({ code, message }));

test('"report": true prints a table of every delivery to stderr at exit, leaving stdout to the app', async () => {
  const { code, stdout, stderr } = full;
  assert.equal(code, 0);
  assert.deepEqual(output(stdout), { aligned: true, ready: 'warm' });
  assert.deepEqual(table(stderr), [
    ['delivery', 'target', 'recorded', 'replayed', 'left in queue', 'discarded'],
    ['head', './head.js#anchorInsideFlags', '2', '2', '0', '0'],
    ['warmup', './utils.js#warmup', '0', '0', '0', '0'],
    ['none', './utils.js#neverCalled', '0', '0', '0', '0'],
  ]);
  assert.match(stderr, /^phases: 1 record, 1 override$/m);
});

test('DISTILL_DELIVERY_REPORT=1 turns the report on without the config key', async () => {
  const { code, stderr } = await runNode(main, { config: { deliveries, phases }, env: { DISTILL_DELIVERY_REPORT: '1' } });
  assert.equal(code, 0);
  assert.equal(table(stderr)[1][0], 'head');
});

/** The DistillDeliveryWarnings on stderr, in Node's format: `(node:PID) [CODE] DistillDeliveryWarning: message`. */
const nodeWarnings = (stderr) => [...stderr.matchAll(/^\(node:(\d+)\) \[([A-Z_]+)\] DistillDeliveryWarning: (.*)$/gm)].map(([, pid, code, message]) => ({ pid: Number(pid), code, message }));

describe('without "report" nor DISTILL_DELIVERY_REPORT', () => {
  let quiet;
  before(async () => {
    quiet = await runNode(main, { config: { deliveries, phases } });
  });

  test('each finding is a DistillDeliveryWarning with its code at exit, one line each in Node\'s format, and no table', () => {
    const { code, stderr } = quiet;
    assert.equal(code, 0);
    assert.doesNotMatch(stderr, /distill-delivery report/);
    const found = nodeWarnings(stderr);
    assert.deepEqual(found.map((w) => [w.code, /"(\w+)" never fired/.exec(w.message)?.[1]]), [
      ['DISTILL_DELIVERY_NEVER_FIRED', 'warmup'],
      ['DISTILL_DELIVERY_NEVER_FIRED', 'none'],
    ]);
    // Each line holds the whole finding; the other line is Node's own hint on --trace-warnings, once.
    assert.deepEqual(stderr.trim().split('\n').filter((l) => !l.startsWith('(node:')), ['(Use `node --trace-warnings ...` to show where the warning was created)']);
  });

  test('a delivery whose every call came outside the phases says so, with the count', () => {
    const warmup = nodeWarnings(quiet.stderr).find((w) => w.message.includes('"warmup"'));
    // head.js and other.js each call warmup() once while they load.
    assert.match(warmup.message, /called 2 time\(s\), each outside the phases/);
  });

  test('calls outside the phases are counted after another delivery fired, while this one has not', async () => {
    // head fires in the first phase; warmup() is called twice while modules load and twice after the steps.
    const { code, stderr } = await runNode(main, { config: { deliveries, phases }, args: ['late'] });
    assert.equal(code, 0, stderr);
    const warmup = nodeWarnings(stderr).find((w) => w.message.includes('"warmup"'));
    assert.match(warmup.message, /called 4 time\(s\), each outside the phases/);
  });

  test('a delivery never called says no call came outside the phases either', () => {
    const none = nodeWarnings(quiet.stderr).find((w) => w.message.includes('"none"'));
    assert.match(none.message, /nor any call outside them/);
    assert.doesNotMatch(none.message, /time\(s\)/);
  });

  test('--no-warnings, NODE_NO_WARNINGS=1 and --disable-warning=CODE silence them, as any warning', async () => {
    const runs = await Promise.all([
      runNode(main, { config: { deliveries, phases }, nodeArgs: ['--no-warnings'] }),
      runNode(main, { config: { deliveries, phases }, env: { NODE_NO_WARNINGS: '1' } }),
      runNode(main, { config: { deliveries, phases }, nodeArgs: ['--disable-warning=DISTILL_DELIVERY_NEVER_FIRED'] }),
    ]);
    for (const { code, stderr } of runs) {
      assert.equal(code, 0);
      assert.equal(stderr, '');
    }
  });

  test('an app\'s listener of \'warning\' events sees each of them', async () => {
    const { code, stdout } = await runNode(main, { config: { deliveries, phases }, nodeArgs: ['--import', './listen.mjs'] });
    assert.equal(code, 0);
    assert.deepEqual(lines(stdout).filter((l) => 'warning' in l), [{ warning: 'DISTILL_DELIVERY_NEVER_FIRED' }, { warning: 'DISTILL_DELIVERY_NEVER_FIRED' }]);
  });

  test('a finding already given as a warning while the run went on is not given again at exit', async () => {
    const { code, stderr } = await runNode(main, { config: { deliveries: { head: deliveries.head }, phases }, args: ['fewer'] });
    assert.equal(code, 0);
    assert.deepEqual(nodeWarnings(stderr).map((w) => w.code), ['DISTILL_DELIVERY_LEFTOVER']);
  });
});

test('a delivery on the module that declares the function, never called in a phase, is warned about without a module to aim at', async () => {
  const { stderr } = full;
  for (const [name, member] of [['warmup', 'warmup'], ['none', 'neverCalled']]) {
    const warning = warnings(stderr).find((w) => w.message.includes(`"${name}" never fired`));
    assert.equal(warning?.code, 'DISTILL_DELIVERY_NEVER_FIRED', stderr);
    // Every importer's calls go through the declaring module already: naming one would not help.
    const named = [...warning.message.matchAll(new RegExp(`"([^"]*#${member})"`, 'g'))].map((m) => m[1]);
    assert.deepEqual([...new Set(named)], [`./utils.js#${member}`]);
    assert.match(warning.message, /\.\/main\.js#teacherStep/);
  }
});

test('deliveries that fired are not warned about', async () => {
  const { stderr } = full;
  assert.equal(warnings(stderr).filter((w) => w.message.includes('"head"')).length, 0, stderr);
});

test('outputs an override phase discarded are counted and warned about', async () => {
  const { code, stderr } = await runNode(main, { config: { deliveries: { head: deliveries.head }, phases, report: true }, args: ['fewer'] });
  assert.equal(code, 0);
  assert.deepEqual(table(stderr)[1], ['head', './head.js#anchorInsideFlags', '2', '1', '0', '1']);
  assert.deepEqual(warnings(stderr).map((w) => w.code), ['DISTILL_DELIVERY_LEFTOVER'], stderr);
  assert.match(warnings(stderr)[0].message, /"head".*\b1\b/);
});

test('outputs recorded but never replayed are counted and warned about', async () => {
  const { code, stderr } = await runNode(main, { config: { deliveries: { head: deliveries.head }, phases: { record: phases.record }, report: true } });
  assert.equal(code, 0);
  assert.deepEqual(table(stderr)[1], ['head', './head.js#anchorInsideFlags', '2', '0', '2', '0']);
  assert.deepEqual(warnings(stderr).map((w) => w.code), ['DISTILL_DELIVERY_PENDING'], stderr);
  assert.match(warnings(stderr)[0].message, /"head".*\b2\b/);
  assert.match(stderr, /^phases: 1 record, 0 override$/m);
});

test('the report shows counts only, never a recorded value', async () => {
  const { stderr } = full;
  // The recorded outputs are "teacher:1" and "teacher:2".
  assert.doesNotMatch(stderr, /teacher:\d/);
});

/**
 * Runs fixtures/agent/report/full-pipe.js with `config`: it fills its stderr pipe, which this
 * parent reads only once the child is exiting, and exits. Resolves with the exit code and all of stderr.
 */
async function runIntoFullPipe(config) {
  // node app 2>&1 | tee log, on a busy machine: the program wrote much just before it exited,
  // and the reader has not caught up (Node's pipes are non-blocking: a write may find them full).
  const script = agentFixture('report', 'full-pipe.js');
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('DISTILL_DELIVERY') && !['NODE_OPTIONS', 'NODE_TEST_CONTEXT', 'NODE_DEBUG', 'NODE_V8_COVERAGE'].includes(key)));
  const child = spawn(nodeBinary, ['--import', loaderUrl, script], { cwd: agentFixture('report'), env: { ...env, DISTILL_DELIVERY: JSON.stringify(config) }, stdio: ['ignore', 'pipe', 'pipe'] });
  const closed = new Promise((resolve) => child.on('close', (code) => resolve(code)));
  let stderr = '';
  child.stderr.pause();
  child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
  await new Promise((resolve) => child.stdout.setEncoding('utf8').on('data', (chunk) => chunk.includes('filled') && resolve()));
  await sleep(300);
  child.stderr.resume();
  return { code: await closed, stderr };
}

const unfiredOnly = { deliveries: { warmup: { type: 'FunctionOutputs', funcPath: './utils.js#warmup' } } };

test('the report reaches a stderr pipe that is full at exit, once its reader drains it', async () => {
  const { code, stderr } = await runIntoFullPipe({ ...unfiredOnly, report: true });
  assert.equal(code, 0);
  assert.match(stderr, /^distill-delivery report$/m);
  assert.match(stderr, /^warning \[DISTILL_DELIVERY_NEVER_FIRED\]/m);
});

test('without a report, the findings reach a stderr pipe that is full at exit as warnings', async () => {
  const { code, stderr } = await runIntoFullPipe(unfiredOnly);
  assert.equal(code, 0);
  assert.match(stderr, /\[DISTILL_DELIVERY_NEVER_FIRED\] DistillDeliveryWarning: delivery "warmup" never fired/);
});
