// Real npm packages (devDependencies, pinned) as targets and as bystanders. Targets name
// a package by its bare specifier, resolved by Node from the app's folder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agentFixture, debugLines, output, runNode, unfired } from './helpers/run-node.mjs';

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

let baseline;
const withoutAgent = () => (baseline ??= ok(runNode(bystanders, { agent: false })));

/**
 * What the bystander script prints with the agent and `config`, once the debug log
 * (NODE_DEBUG=delivery) shows the agent active in that run: the hooks it installed, each
 * module in `modules` instrumented as it loaded, each builtin in `builtins` patched.
 */
async function withAgent(config, { modules = [], builtins = [] }) {
  // No phase calls the targets: the agent's warnings that they never fired are silenced.
  const { code, stdout, stderr } = await runNode(bystanders, { config, env: { NODE_DEBUG: 'delivery' }, nodeArgs: unfired });
  assert.equal(stderr.split('\n').filter((line) => line !== '' && !/^DELIVERY \d+: /.test(line)).join('\n'), '');
  assert.equal(code, 0);
  const log = debugLines(stderr);
  assert.ok(log.some((line) => line.startsWith('hooks: ')), 'no hooks installed');
  const instrumented = log.filter((line) => line.startsWith('instrument ')).map((line) => line.split(' ')[1]);
  for (const module of modules) assert.ok(instrumented.some((url) => url.includes(module)), `${module} was not instrumented (${instrumented.join(', ')})`);
  for (const builtin of builtins) assert.ok(log.some((line) => line.startsWith(`plan ${builtin} (builtin)`)), `${builtin} was not patched`);
  return output(stdout);
}

test('a script using several popular packages prints the same with the agent as without it', async () => {
  const config = { deliveries: { local: { type: 'FunctionOutputs', funcPath: './local.js#stepped' } } };
  assert.deepEqual(await withAgent(config, { modules: ['/packages/local.js'] }), await withoutAgent());
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
  const modules = ['/node_modules/lodash/', '/node_modules/semver/', '/node_modules/nanoid/', '/node_modules/uuid/'];
  assert.deepEqual(await withAgent(config, { modules, builtins: ['node:crypto'] }), await withoutAgent());
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

test('uuid#v4 (a dual package) is delivered to an ES module app, which loads its ESM build', async () => {
  const { keys } = await deliveredWith(esmApp, { type: 'FunctionOutputs', funcPath: 'uuid#v4' });
  assert.deepEqual(keys, ['v4']);
});

test('a package that exports only to import (require() cannot resolve it) is a target too', async () => {
  const app = agentFixture('import-only', 'app.js');
  const config = {
    deliveries: { d: { type: 'FunctionOutputs', funcPath: 'import-only-fixture#rand' } },
    phases: { record: ['./app.js#teacherStep'], override: ['./app.js#studentStep'] },
  };
  assert.deepEqual(await ok(runNode(app, { agent: false })), { same: false });
  assert.deepEqual(await ok(runNode(app, { config })), { same: true });
});

// More packages as targets, from unedited apps (test/fixtures/agent/package-targets/): the
// deterministic calls get a different input in each step, so the student ends up with the
// teacher's output only if the original did not run for it.
const moreEsm = agentFixture('package-targets', 'app.js');
const moreCjs = agentFixture('package-targets', 'app.cjs');
const TIMEOUT = 120_000;

/** The keys of the step's output on which the student got exactly what the teacher got. */
async function sameKeys(app, spec) {
  const entry = app === moreEsm ? './app.js' : './app.cjs';
  const config = {
    deliveries: { d: { maxKeepData: 4, ...spec } },
    phases: { record: [`${entry}#teacherStep`], override: [`${entry}#studentStep`] },
  };
  const { teacher, student } = await ok(runNode(app, { config }));
  return Object.keys(teacher).filter((key) => teacher[key] === student[key]).sort();
}

test('without the agent every draw and every output of the second set of package targets differs between the steps', { timeout: TIMEOUT }, async () => {
  for (const app of [moreEsm, moreCjs]) {
    const { teacher, student } = await ok(runNode(app, { agent: false }));
    for (const key of Object.keys(teacher)) assert.notEqual(student[key], teacher[key], key);
  }
});

test('lodash-es#shuffle (an ESM-only package, reached through its index\'s re-export) is delivered', { timeout: TIMEOUT }, async () => {
  assert.deepEqual(await sameKeys(moreEsm, { type: 'FunctionOutputs', funcPath: 'lodash-es#shuffle' }), ['lodashEsShuffle']);
});

test('crypto-random-string#default (the default export of an ESM-only package) is delivered', { timeout: TIMEOUT }, async () => {
  assert.deepEqual(await sameKeys(moreEsm, { type: 'FunctionOutputs', funcPath: 'crypto-random-string#default' }), ['cryptoRandomString']);
});

test('prettier/index.mjs#format2 (an async function of an esbuild bundle, exported as format) is delivered, promise and all', { timeout: TIMEOUT }, async () => {
  assert.deepEqual(await sameKeys(moreEsm, { type: 'FunctionOutputs', funcPath: 'prettier/index.mjs#format2' }), ['prettierFormat']);
});

test('superjson#SuperJSON.prototype.serialize (a class method of an ESM-only package) is delivered', { timeout: TIMEOUT }, async () => {
  assert.deepEqual(await sameKeys(moreEsm, { type: 'MethodOutputs', methodPath: 'superjson#SuperJSON.prototype.serialize' }), ['superjsonSerialize']);
});

test('node:crypto#randomBytes (a builtin) is delivered to a named ESM import, and to packages that use it', { timeout: TIMEOUT }, async () => {
  // crypto-random-string draws through crypto.randomBytes: a builtin is patched for everyone.
  assert.deepEqual(await sameKeys(moreEsm, { type: 'FunctionOutputs', funcPath: 'node:crypto#randomBytes' }), ['cryptoRandomString', 'randomBytes']);
});

test('bcryptjs#genSalt (an async function of a UMD build) is delivered to a CommonJS app', { timeout: TIMEOUT }, async () => {
  assert.deepEqual(await sameKeys(moreCjs, { type: 'FunctionOutputs', funcPath: 'bcryptjs#genSalt' }), ['bcryptGenSalt']);
});

test('chance#Chance.prototype.guid (a method of a constructor function) is delivered to every instance', { timeout: TIMEOUT }, async () => {
  assert.deepEqual(await sameKeys(moreCjs, { type: 'MethodOutputs', methodPath: 'chance#Chance.prototype.guid' }), ['chanceGuid']);
});

test('graphql#buildSchema (a getter re-export of a package full of import cycles) is delivered to a CommonJS app', { timeout: TIMEOUT }, async () => {
  assert.deepEqual(await sameKeys(moreCjs, { type: 'FunctionOutputs', funcPath: 'graphql#buildSchema' }), ['graphqlBuildSchema']);
});

test('node:crypto#randomInt (a builtin) is delivered to a CommonJS app', { timeout: TIMEOUT }, async () => {
  assert.deepEqual(await sameKeys(moreCjs, { type: 'FunctionOutputs', funcPath: 'node:crypto#randomInt' }), ['randomInt']);
});

test('date-fns#addDays, re-exported by getters made in a loop, fails loudly when the package loads instead of never firing', { timeout: TIMEOUT }, async () => {
  const config = {
    deliveries: { d: { type: 'FunctionOutputs', funcPath: 'date-fns#addDays' } },
    phases: { record: ['./app.cjs#teacherStep'], override: ['./app.cjs#studentStep'] },
  };
  const { code, stdout, stderr } = await runNode(moreCjs, { config });
  assert.equal(stdout, '');
  assert.notEqual(code, 0);
  assert.match(stderr, /DeliveryError \[ERR_DELIVERY_NOT_A_FUNCTION\]: DISTILL_DELIVERY target "date-fns#addDays"/);
});

test('a method reached through another module\'s namespace object (@sinclair/typebox#Type.Object) fails with a DeliveryError, not a TypeError', { timeout: TIMEOUT }, async () => {
  const config = { deliveries: { d: { type: 'FunctionOutputs', funcPath: '@sinclair/typebox#Type.Object' } } };
  const { code, stderr } = await runNode(agentFixture('bystanders', 'two-packages.js'), { config });
  assert.notEqual(code, 0);
  assert.match(stderr, /DeliveryError \[ERR_DELIVERY_(NOT_INSTRUMENTED|NOT_A_FUNCTION)\]: DISTILL_DELIVERY target "@sinclair\/typebox#Type\.Object"/);
  assert.doesNotMatch(stderr, /TypeError/);
});

test('zod#object, exported by a CommonJS build that freezes its exports, fails loudly when the package loads instead of never firing', { timeout: TIMEOUT }, async () => {
  const config = { deliveries: { d: { type: 'FunctionOutputs', funcPath: 'zod#object' } } };
  const { code, stdout, stderr } = await runNode(agentFixture('bystanders', 'two-packages.js'), { config });
  assert.equal(stdout, '');
  assert.notEqual(code, 0);
  assert.match(stderr, /DeliveryError \[ERR_DELIVERY_NOT_INSTRUMENTED\]: DISTILL_DELIVERY target "zod#object"/);
  assert.doesNotMatch(stderr, /TypeError/);
});
