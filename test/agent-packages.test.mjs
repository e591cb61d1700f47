// Real npm packages (devDependencies, pinned) as targets and as bystanders. Targets name
// a package by its bare specifier, resolved by Node from the app's folder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agentFixture, nodeVersion, output, runNode } from './helpers/run-node.mjs';

const bystanders = agentFixture('packages', 'bystanders.js');
const esmApp = agentFixture('packages', 'targets.js');
const cjsApp = agentFixture('packages', 'targets.cjs');

async function ok(promise) {
  const { code, stdout, stderr } = await promise;
  assert.equal(stderr, '');
  assert.equal(code, 0);
  return output(stdout);
}

/** Runs an app of teacher and student draws with one delivery; returns what the student got from the teacher. */
async function deliveredWith(app, spec) {
  const entry = app === esmApp ? './targets.js' : './targets.cjs';
  const config = {
    deliveries: { d: { maxKeepData: 4, ...spec } },
    phases: { record: [`${entry}#teacherStep`], override: [`${entry}#studentStep`] },
  };
  const { teacher, student } = await ok(runNode(app, { config }));
  const random = Object.keys(teacher).filter((key) => key !== 'inc' && key !== 'version');
  return {
    keys: random.filter((key) => teacher[key] === student[key]).sort(),
    semver: { inc: student.inc, version: student.version },
  };
}

const notDelivered = { inc: 'this', version: '1.0.1' };

test('a script using several popular packages prints the same with the agent as without it', async () => {
  const config = { deliveries: { local: { type: 'FunctionOutputs', funcPath: './local.js#stepped' } } };
  assert.deepEqual(await ok(runNode(bystanders, { config })), await ok(runNode(bystanders, { agent: false })));
});

test('packages that are instrumented but not in a phase behave exactly as before', async () => {
  const config = {
    deliveries: {
      shuffle: { type: 'FunctionOutputs', funcPath: 'lodash#shuffle' },
      chunk: { type: 'FunctionOutputs', funcPath: 'lodash#chunk' },
      inc: { type: 'MethodOutputs', methodPath: 'semver#SemVer.inc' },
      satisfies: { type: 'FunctionOutputs', funcPath: 'semver#satisfies' },
      custom: { type: 'FunctionOutputs', funcPath: 'nanoid#customRandom' },
      v5: { type: 'FunctionOutputs', funcPath: 'uuid#v5' },
      hash: { type: 'FunctionOutputs', funcPath: 'node:crypto#createHash' },
    },
  };
  assert.deepEqual(await ok(runNode(bystanders, { config })), await ok(runNode(bystanders, { agent: false })));
});

test('without the agent the teacher and the student draw different results from the packages', async () => {
  const { teacher, student } = await ok(runNode(esmApp, { agent: false }));
  for (const key of ['shuffle', 'randomUUID', 'cryptoRandomUUID', 'nanoid', 'v4']) assert.notEqual(student[key], teacher[key], key);
  assert.deepEqual({ inc: student.inc, version: student.version }, notDelivered);
});

test('lodash#shuffle (a property of a CommonJS package\'s exports) is delivered to an ES module app', async () => {
  const { keys, semver } = await deliveredWith(esmApp, { type: 'FunctionOutputs', funcPath: 'lodash#shuffle' });
  assert.deepEqual(keys, ['shuffle']);
  assert.deepEqual(semver, notDelivered);
});

test('lodash#shuffle is delivered to a CommonJS app, through the exports object and a destructured require', async () => {
  const { keys } = await deliveredWith(cjsApp, { type: 'FunctionOutputs', funcPath: 'lodash#shuffle' });
  assert.deepEqual(keys, ['destructuredShuffle', 'shuffle']);
});

test('node:crypto#randomUUID is delivered to named imports and to the module object', async () => {
  const { keys } = await deliveredWith(esmApp, { type: 'FunctionOutputs', funcPath: 'node:crypto#randomUUID' });
  assert.ok(keys.includes('randomUUID') && keys.includes('cryptoRandomUUID'), keys.join());
  assert.ok(!keys.includes('shuffle') && !keys.includes('nanoid'), keys.join());
});

test('node:crypto#randomUUID is delivered to a CommonJS app', async () => {
  const { keys } = await deliveredWith(cjsApp, { type: 'FunctionOutputs', funcPath: 'node:crypto#randomUUID' });
  assert.ok(keys.includes('randomUUID') && keys.includes('cryptoRandomUUID'), keys.join());
  assert.ok(!keys.includes('shuffle'), keys.join());
});

test('nanoid#nanoid (an ESM-only package) is delivered', async () => {
  const { keys } = await deliveredWith(esmApp, { type: 'FunctionOutputs', funcPath: 'nanoid#nanoid' });
  assert.deepEqual(keys, ['nanoid']);
});

test('semver#SemVer.inc (a class method of a package, named through its index) is patched on the class', async () => {
  for (const app of [esmApp, cjsApp]) {
    const { keys, semver } = await deliveredWith(app, { type: 'MethodOutputs', methodPath: 'semver#SemVer.inc' });
    assert.deepEqual(keys, []);
    assert.deepEqual(semver, { inc: 'another instance', version: '1.0.0' }, 'the student got the teacher\'s instance back');
  }
});

test('semver/classes/semver.js#SemVer.prototype.inc (a package subpath) is patched on the class', async () => {
  const { semver } = await deliveredWith(esmApp, { type: 'MethodOutputs', methodPath: 'semver/classes/semver.js#SemVer.prototype.inc' });
  assert.deepEqual(semver, { inc: 'another instance', version: '1.0.0' });
});

test('uuid#v4 (a dual package, re-exported through tsc getters) is delivered to a CommonJS app', async () => {
  const { keys } = await deliveredWith(cjsApp, { type: 'FunctionOutputs', funcPath: 'uuid#v4' });
  assert.deepEqual(keys, ['uuidV4', 'v4']);
});

const importConditions = nodeVersion[0] >= 22 || {
  todo: 'Node 20 has no synchronous resolver that applies the "import" condition from a given folder, so the agent plans only the build require() resolves to',
};

test('uuid#v4 (a dual package) is delivered to an ES module app, which loads its ESM build', importConditions === true ? {} : importConditions, async () => {
  const { keys } = await deliveredWith(esmApp, { type: 'FunctionOutputs', funcPath: 'uuid#v4' });
  assert.deepEqual(keys, ['v4']);
});
