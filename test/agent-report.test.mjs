// The exit report: `"report": true` or DISTILL_DELIVERY_REPORT=1 prints, to stderr, a table
// of every delivery and warnings about deliveries that never fired (naming the modules that
// import the name) and about outputs left unreplayed. Counts only, never recorded values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agentFixture, output, runNode } from './helpers/run-node.mjs';

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
    if (line === '' || line.startsWith('phases:') || line.startsWith('warning:')) break;
    rows.push(line.split(/ {2,}/));
  }
  return rows;
}

const warnings = (stderr) => stderr.split('\n').filter((l) => l.startsWith('warning: '));

test('"report": true prints a table of every delivery to stderr at exit, leaving stdout to the app', async () => {
  const { code, stdout, stderr } = await runNode(main, { config: { deliveries, phases, report: true } });
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

test('without "report" nor DISTILL_DELIVERY_REPORT nothing is printed', async () => {
  const { code, stderr } = await runNode(main, { config: { deliveries, phases } });
  assert.equal(code, 0);
  assert.equal(stderr, '');
});

test('a delivery that never fired is warned about, naming the modules that import the name', async () => {
  const { stderr } = await runNode(main, { config: { deliveries, phases, report: true } });
  const warning = warnings(stderr).find((w) => w.includes('"warmup" never fired'));
  assert.ok(warning, stderr);
  assert.match(warning, /\.\/utils\.js#warmup/);
  assert.match(warning, /\.\/head\.js, \.\/other\.js/);
  assert.match(warning, /\.\/head\.js#warmup/);
});

test('a delivery that never fired and that no module imports is warned about without importers', async () => {
  const { stderr } = await runNode(main, { config: { deliveries, phases, report: true } });
  const warning = warnings(stderr).find((w) => w.includes('"none" never fired'));
  assert.ok(warning, stderr);
  assert.doesNotMatch(warning, /import/);
});

test('deliveries that fired are not warned about', async () => {
  const { stderr } = await runNode(main, { config: { deliveries, phases, report: true } });
  assert.equal(warnings(stderr).filter((w) => w.includes('"head"')).length, 0, stderr);
});

test('outputs an override phase discarded are counted and warned about', async () => {
  const { code, stderr } = await runNode(main, { config: { deliveries: { head: deliveries.head }, phases, report: true }, args: ['fewer'] });
  assert.equal(code, 0);
  assert.deepEqual(table(stderr)[1], ['head', './head.js#anchorInsideFlags', '2', '1', '0', '1']);
  assert.ok(warnings(stderr).some((w) => /"head".*1 output\(s\) were discarded/.test(w)), stderr);
});

test('outputs recorded but never replayed are counted and warned about', async () => {
  const { code, stderr } = await runNode(main, { config: { deliveries: { head: deliveries.head }, phases: { record: phases.record }, report: true } });
  assert.equal(code, 0);
  assert.deepEqual(table(stderr)[1], ['head', './head.js#anchorInsideFlags', '2', '0', '2', '0']);
  assert.ok(warnings(stderr).some((w) => /"head".*2 recorded output\(s\) were never replayed/.test(w)), stderr);
  assert.match(stderr, /^phases: 1 record, 0 override$/m);
});

test('the report shows counts only, never a recorded value', async () => {
  const { stderr } = await runNode(main, { config: { deliveries, phases, report: true } });
  assert.doesNotMatch(stderr, /teacher|student/);
});
