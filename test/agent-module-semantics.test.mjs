// An instrumented module behaves exactly as before, apart from the delivered calls: each
// fixture prints what it observes, with and without the agent, and the two must match.
// No phase runs here, so no call is delivered: only the rewriting is on trial.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { agentFixture, debugLines, output, runNode, unfired } from './helpers/run-node.mjs';

function once(fn) {
  let result;
  return () => (result ??= fn());
}

function deliveries(functions, methods = []) {
  const all = [...functions.map((funcPath) => ({ type: 'FunctionOutputs', funcPath })), ...methods.map((methodPath) => ({ type: 'MethodOutputs', methodPath }))];
  return { deliveries: Object.fromEntries(all.map((spec, i) => [`d${i}`, spec])) };
}

/** The line of each `// @line <name>` marker in a fixture file. */
function markers(file) {
  const found = {};
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      const m = /\/\/ @line (\S+)/.exec(line);
      if (m) found[m[1]] = i + 1;
    });
  return found;
}

async function ok(promise) {
  const { code, stdout, stderr } = await promise;
  assert.equal(stderr, '');
  assert.equal(code, 0);
  return output(stdout);
}

// ES modules.
const esmDir = agentFixture('semantics-esm');
const esmMain = agentFixture('semantics-esm', 'main.js');
const esmTargets = [
  './counter.js#bump',
  './counter.js#current',
  './lines.js#fail',
  './lines.js#arrow',
  './lines.js#viaHelper',
  './lines.js#helper',
  './lines.js#stack',
  './star.js#own',
  './star.js#g',
  './defaults.js#default',
  './default-arrow.js#default',
  './arrows.js#scale',
  './arrows.js#add',
  './arrows.js#named',
  './arrows.js#later',
  './arrows.js#counter',
  './model.js#build',
  './cycle-a.js#a',
  './cycle-a.js#b',
  './cycle-b.js#a',
  './cycle-default.js#default',
  './cycle-default.js#hoisted',
  './cycle-early.js#late',
  './main.js#frames',
];
const esmMethods = ['./lines.js#Thrower.run', './default-class.js#default.run', './model.js#Model.forward', './model.js#Model.create'];
const esmPlain = once(() => ok(runNode(esmMain, { agent: false })));
// No phase calls the targets: the agent's warnings that they never fired are silenced.
const esmAgent = once(() => ok(runNode(esmMain, { config: deliveries(esmTargets, esmMethods), nodeArgs: unfired })));

test('ES module: every instrumented module observes the same as without the agent', async () => {
  assert.deepEqual(await esmAgent(), await esmPlain());
});

test('ES module: importers see `export let` bindings the module updates, and reassigned functions', async () => {
  assert.deepEqual((await esmAgent()).live, { before: 0, after: 2, current: 'first', swapped: 'second', name: 'second' });
});

test('ES module: line numbers in stack traces stay the same', async () => {
  const at = { ...markers(agentFixture('semantics-esm', 'lines.js')) };
  const helper = markers(agentFixture('semantics-esm', 'helper.js')).helper;
  assert.deepEqual((await esmAgent()).lines, {
    fail: [`lines:${at.fail}`],
    arrow: [`lines:${at.arrow}`],
    viaHelper: [`helper:${helper}`, `lines:${at.viaHelper}`],
    method: [`lines:${at['Thrower.run']}`],
    stack: [`lines:${at.stack}`],
  });
});

test('ES module: `export *` still exports every name of the re-exported module', async () => {
  assert.deepEqual((await esmAgent()).star, { keys: ['answer', 'f', 'g', 'own'], f: 'f(1)', g: 'g(2)', answer: 42, own: 'own(3)' });
});

test('ES module: default exports keep their name, length and behaviour', async () => {
  assert.deepEqual((await esmAgent()).defaults, {
    fn: ['function', 'default', 2, 'default(1, 2)'],
    arrow: ['function', 'default', 1, 'arrow(3)'],
    cls: ['function', 'default', 'run(4)', true],
  });
});

test('ES module: const arrow functions and function expressions keep their names and lengths', async () => {
  assert.deepEqual((await esmAgent()).arrows, {
    scale: ['scale', 1, 6],
    add: ['add', 2, 3],
    named: ['inner', 5],
    later: ['later', 'AsyncFunction', 6],
    counter: ['counter', [0, 1, 2]],
  });
});

test('ES module: classes keep their identity, so instanceof, subclasses and statics work', async () => {
  assert.deepEqual((await esmAgent()).classes, {
    instance: true,
    created: true,
    built: true,
    subclass: [true, 11],
    forward: 10,
    getter: 4,
    name: 'Model',
    protoKeys: ['constructor', 'forward', 'double'],
    staticKeys: ['create', 'length', 'name', 'prototype'],
    constructor: true,
  });
});

test('ES module: circular imports keep working, hoisted functions included', async () => {
  assert.deepEqual((await esmAgent()).cycle, { a: 'a>b>a>b>a', early: ['late(early)', 'hoisted(early)'] });
});

test('ES module: a module that is not a target loads as written', async () => {
  assert.deepEqual((await esmAgent()).bystander, { result: 2, verbatim: true });
});

test('ES module: NODE_DEBUG=delivery instruments only the target modules', async () => {
  const config = deliveries(['./lines.js#fail', './counter.js#bump'], ['./model.js#Model.forward']);
  const { code, stdout, stderr } = await runNode(esmMain, { config, env: { NODE_DEBUG: 'delivery' } });
  assert.equal(code, 0, stderr);
  assert.deepEqual(output(stdout), await esmPlain());
  const log = debugLines(stderr);
  const instrumented = new Set(log.filter((l) => l.startsWith('instrument ')).map((l) => l.split(' ')[1]));
  const targets = ['lines.js', 'counter.js', 'model.js'].map((f) => pathToFileURL(`${esmDir}/${f}`).href);
  assert.deepEqual([...instrumented].sort(), targets.sort());
  const mentioned = new Set(log.flatMap((l) => l.match(/file:\/\/\S+?\.js/g) ?? []));
  assert.deepEqual([...mentioned].sort(), targets.sort());
});

// CommonJS.
const cjsDir = agentFixture('semantics-cjs');
const cjsMain = agentFixture('semantics-cjs', 'main.js');
const cjsTargets = [
  './lines.js#fail',
  './lines.js#arrow',
  './lines.js#viaHelper',
  './lines.js#helper',
  './lines.js#method',
  './lines.js#strict',
  './model.js#build',
  './cycle-a.js#early',
  './cycle-a.js#a',
  './cycle-a.js#b.b',
  './cycle-b.js#a.a',
  './cycle-b.js#b',
  './main.js#frames',
];
const cjsMethods = ['./model.js#Model.forward', './model.js#Model.create'];
const cjsPlain = once(() => ok(runNode(cjsMain, { agent: false })));
const cjsAgent = once(() => ok(runNode(cjsMain, { config: deliveries(cjsTargets, cjsMethods), nodeArgs: unfired })));

test('CommonJS: every instrumented module observes the same as without the agent', async () => {
  assert.deepEqual(await cjsAgent(), await cjsPlain());
});

test('CommonJS: line numbers in stack traces stay the same, the entry\'s included', async () => {
  const at = markers(agentFixture('semantics-cjs', 'lines.js'));
  const helper = markers(agentFixture('semantics-cjs', 'helper.js')).helper;
  assert.deepEqual((await cjsAgent()).lines, {
    fail: [`lines:${at.fail}`],
    arrow: [`lines:${at.arrow}`],
    viaHelper: [`helper:${helper}`, `lines:${at.viaHelper}`],
    method: [`lines:${at.method}`],
    main: String(markers(cjsMain).main),
  });
});

test('CommonJS: a "use strict" directive still applies after instrumentation', async () => {
  assert.deepEqual((await cjsAgent()).strict, { lines: true, main: true });
});

test('CommonJS: module.exports keeps its keys, in order, and its identity', async () => {
  assert.deepEqual((await cjsAgent()).exports, { lines: ['method', 'fail', 'arrow', 'viaHelper', 'strict'], model: ['Model', 'build'], same: true });
});

test('CommonJS: classes keep their identity, so instanceof works', async () => {
  assert.deepEqual((await cjsAgent()).classes, { instance: true, created: true, built: true, forward: 10, protoKeys: ['constructor', 'forward'] });
});

test('CommonJS: circular requires keep working', async () => {
  assert.deepEqual((await cjsAgent()).cycle, { a: 'a>b>a>b>a', seenEarly: 'early' });
});

test('CommonJS: the entry is still require.main, with its __filename and __dirname', async () => {
  assert.deepEqual((await cjsAgent()).module, { main: true, filename: true, dirname: true });
});

test('CommonJS: an ES module importer still gets every named export of a rewritten module', async () => {
  const esm = agentFixture('semantics-cjs', 'esm.mjs');
  const config = deliveries(['./reexport.js#helper', './model.js#build'], ['./model.js#Model.forward']);
  const out = await ok(runNode(esm, { config, nodeArgs: unfired }));
  assert.deepEqual(out, { helper: 'function', own: 'own', model: true });
  assert.deepEqual(out, await ok(runNode(esm, { agent: false })));
});

test('CommonJS: NODE_DEBUG=delivery instruments only the target modules', async () => {
  const config = deliveries(['./lines.js#fail', './cycle-a.js#a']);
  const { code, stdout, stderr } = await runNode(cjsMain, { config, env: { NODE_DEBUG: 'delivery' } });
  assert.equal(code, 0, stderr);
  assert.deepEqual(output(stdout), await cjsPlain());
  const log = debugLines(stderr);
  const instrumented = new Set(log.filter((l) => l.startsWith('instrument ')).map((l) => l.split(' ')[1]));
  const targets = ['lines.js', 'cycle-a.js'].map((f) => pathToFileURL(`${cjsDir}/${f}`).href);
  assert.deepEqual([...instrumented].sort(), targets.sort());
  const mentioned = new Set(log.flatMap((l) => l.match(/file:\/\/\S+?\.js/g) ?? []));
  assert.deepEqual([...mentioned].sort(), targets.sort());
});
