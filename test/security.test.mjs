// Security: the config is JSON only and nothing in it is evaluated as code (see also
// test/agent-hostile-config.test.mjs); only the target modules are rewritten; messages,
// warnings and the report describe outputs by counts and types, never by their values,
// which may be private data (the report's own check is in agent-report.test.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as immediate } from 'node:timers/promises';
import { DistillDeliveryManager, FunctionOutputsDelivery } from 'distill-delivery';
import { agentFixture, debugLines, runNode } from './helpers/run-node.mjs';

const TIMEOUT = 120_000;
const SECRET = 'patient-4711-hiv-positive';

test('a config file of JavaScript is read as JSON and refused, without running it', { timeout: TIMEOUT }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'distill-delivery-security-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'app.js'), 'console.log("app");\n');
  for (const [name, text] of [
    ['deliveries.js', 'console.log("config ran"); module.exports = { deliveries: {} };\n'],
    ['deliveries.mjs', 'console.log("config ran"); export default { deliveries: {} };\n'],
    ['deliveries.json', '{ "deliveries": {}, "report": eval("true") }\n'],
  ]) {
    writeFileSync(join(dir, name), text);
    const { code, stdout, stderr } = await runNode(join(dir, 'app.js'), { config: `./${name}` });
    assert.equal(stdout, '', name);
    assert.equal(code, 1, name);
    assert.match(stderr, /DeliveryError \[ERR_DELIVERY_INVALID_CONFIG\]: DISTILL_DELIVERY \(file .*\): is not valid JSON/, name);
  }
});

test('only the target modules are rewritten: of the 40-package app, only the module of the target', { timeout: TIMEOUT }, async () => {
  const config = { deliveries: { d: { type: 'FunctionOutputs', funcPath: 'lodash-es#shuffle' }, l: { type: 'FunctionOutputs', funcPath: './local.js#stepped' } } };
  const { code, stderr } = await runNode(agentFixture('bystanders', 'app.js'), { config, env: { NODE_DEBUG: 'delivery' } });
  assert.equal(code, 0);
  const instrumented = debugLines(stderr).filter((l) => l.startsWith('instrument ')).map((l) => l.split(' ')[1]).sort();
  assert.deepEqual(instrumented, [
    new URL('../node_modules/lodash-es/lodash.js', import.meta.url).href,
    new URL('./fixtures/agent/bystanders/local.js', import.meta.url).href,
  ]);
});

test('no module is rewritten and no hook installed when the config names only a builtin', { timeout: TIMEOUT }, async () => {
  const config = { deliveries: { d: { type: 'FunctionOutputs', funcPath: 'node:crypto#randomUUID' } } };
  const { code, stderr } = await runNode(agentFixture('bystanders', 'app.js'), { config, env: { NODE_DEBUG: 'delivery' } });
  assert.equal(code, 0);
  const lines = debugLines(stderr);
  assert.deepEqual(lines.filter((l) => l.startsWith('instrument ') || l.startsWith('hooks:')), []);
});

// Messages and warnings of the library, on every path that can fail or warn, with private outputs.
const require = createRequire(import.meta.url);
const targetsPath = require.resolve('./fixtures/targets.cjs');
const targets = require(targetsPath);

/** Runs block, collecting the message and stack of every error it throws and every warning emitted. */
async function messagesOf(block) {
  const seen = [];
  const emit = process.emitWarning;
  process.emitWarning = (warning, options) => seen.push(String(warning), JSON.stringify(options ?? {}));
  try {
    await block((fn) => {
      try {
        fn();
      } catch (error) {
        seen.push(error.message, error.stack, String(error));
        return error.code;
      }
      return undefined;
    });
    await immediate();
  } finally {
    process.emitWarning = emit;
  }
  return seen;
}

test('errors and warnings about recorded outputs name counts, never the values', async () => {
  const original = targets.nextId;
  const seen = await messagesOf(async (attempt) => {
    const delivery = new FunctionOutputsDelivery({ funcPath: `${targetsPath}#nextId`, maxKeepData: 1, name: 'ids' });
    targets.nextId = function nextId() {
      return { note: SECRET, n: original() };
    };
    try {
      delivery.run(() => targets.nextId());
      assert.equal(attempt(() => delivery.run(() => targets.nextId())), 'ERR_DELIVERY_QUEUE_FULL');
      assert.equal(attempt(() => { delivery.overrideData = { note: SECRET }; }), 'ERR_DELIVERY_INVALID_OPTION');
      delivery.overrideData = true;
      delivery.run(() => targets.nextId());
      assert.equal(attempt(() => delivery.run(() => targets.nextId())), 'ERR_DELIVERY_QUEUE_EMPTY');
      const manager = new DistillDeliveryManager({ ids: { type: 'FunctionOutputs', funcPath: `${targetsPath}#nextId`, maxKeepData: 4 } });
      manager.recordPhase(() => [targets.nextId(), targets.nextId()]);
      assert.equal(attempt(() => manager.overridePhase(() => [targets.nextId(), targets.nextId(), targets.nextId()])), 'ERR_DELIVERY_QUEUE_EMPTY');
      manager.recordPhase(() => [targets.nextId(), targets.nextId()]);
      manager.overridePhase(() => targets.nextId()); // one left: discarded with a warning
      assert.equal(attempt(() => manager.overridePhase(() => targets.nextId())), 'ERR_DELIVERY_QUEUE_EMPTY');
      attempt(() => manager.recordPhase(() => { targets.nextId(); throw new Error('teacher failed'); }));
    } finally {
      targets.nextId = original;
    }
  });
  assert.ok(seen.length >= 10, `only ${seen.length} messages collected`);
  for (const text of seen) assert.ok(!text.includes(SECRET) && !text.includes('hiv'), text);
});

test('through the agent, the error at an extra student call, the leftover warning and the report never show a recorded value', { timeout: TIMEOUT }, async () => {
  const config = {
    deliveries: { records: { type: 'FunctionOutputs', funcPath: './records.js#lookup', maxKeepData: 2 } },
    phases: { record: ['./train.js#teacherStep'], override: ['./train.js#studentStep'] },
    report: true,
  };
  const { code, stdout, stderr } = await runNode(agentFixture('secrets', 'train.js'), { config });
  assert.equal(code, 0);
  assert.match(stdout, /ERR_DELIVERY_QUEUE_EMPTY/);
  assert.match(stderr, /DISTILL_DELIVERY_LEFTOVER/);
  assert.match(stderr, /distill-delivery report/);
  for (const text of [stdout, stderr]) {
    assert.ok(!text.includes(SECRET) && !text.includes('patient'), text);
  }
});
