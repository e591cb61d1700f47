// Every way a module can get a function, end to end: each fixture module calls f through
// one import shape, and a target naming one module delivers exactly that module's calls
// (plus the calls that reach f through that module's own exports).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { agentFixture, output, runNode } from './helpers/run-node.mjs';

/** The keys of the step whose student result is the teacher's (the delivered calls). */
function delivered({ teacher, student }) {
  return Object.keys(teacher).filter((key) => student[key] === teacher[key]).sort();
}

async function run(main, entry, funcPath, maxKeepData, type = 'FunctionOutputs', cwd = undefined) {
  const pathKey = type === 'MethodOutputs' ? 'methodPath' : 'funcPath';
  const config = {
    deliveries: { f: { type, [pathKey]: funcPath, maxKeepData } },
    phases: { record: [`${entry}#teacherStep`], override: [`${entry}#studentStep`] },
  };
  const result = await runNode(main, { config, cwd });
  assert.equal(result.stderr, '');
  assert.equal(result.code, 0);
  return output(result.stdout);
}

function checkDelivered(out, expected) {
  assert.deepEqual(delivered(out), [...expected].sort());
  const keys = Object.keys(out.teacher).length;
  assert.equal(new Set(Object.values(out.teacher)).size, keys, 'every teacher call draws a fresh result');
  assert.equal(out.calls, 2 * keys - expected.length, 'a replayed call never runs the original');
}

const esm = agentFixture('import-shapes-esm', 'main.js');
const esmCases = [
  ['a named import', './named.js#f', ['named']],
  ['a renamed import, by its local name', './renamed.js#draw', ['renamed']],
  ['a renamed import, by the name it is imported as', './renamed.js#f', ['renamed']],
  ['a namespace import member', './namespace.js#lib.f', ['namespace']],
  ['a namespace import, by the member name', './namespace.js#f', ['namespace']],
  ['a default import, by its local name', './default.js#draw', ['byDefault']],
  ['a default export, in the defining module', './lib.js#default', ['byDefault']],
  ['an imported name the module re-exports (its own calls and its importers\')', './head.js#f', ['head', 'viaHead']],
  ['an `export { f } from` re-export', './reexport.js#f', ['viaReexport']],
  ['an `export *` re-export', './star.js#f', ['viaStar']],
  ['an anonymous default export function', './anon.js#default', ['anonymous']],
  ['the defining module', './lib.js#f', ['named', 'renamed', 'namespace', 'head', 'viaHead', 'viaReexport', 'viaStar', 'anonymous', 'sampled']],
];

test('ES module: a method of a default-imported class (./sampled.js#Sampler.draw) is patched on the class', async () => {
  checkDelivered(await run(esm, './main.js', './sampled.js#Sampler.draw', 1, 'MethodOutputs'), ['sampled']);
});

test('ES module: without the agent no call is delivered', async () => {
  const { code, stdout, stderr } = await runNode(esm, { agent: false });
  assert.equal(stderr, '');
  assert.equal(code, 0);
  checkDelivered(output(stdout), []);
});

for (const [shape, target, expected] of esmCases) {
  test(`ES module: ${shape} (${target}) delivers ${expected.join(', ')}`, async () => {
    checkDelivered(await run(esm, './main.js', target, expected.length), expected);
  });
}

const cjs = agentFixture('import-shapes-cjs', 'main.js');
const cjsCases = [
  ['a destructured require', './destructured.js#f', ['destructured']],
  ['a renamed destructured require, by its local name', './renamed.js#draw', ['renamed']],
  ['a renamed destructured require, by the property name', './renamed.js#f', ['renamed']],
  ['a member of a required object', './member.js#u.f', ['member']],
  ['a member of a required object, by the member name', './member.js#f', ['member']],
  ["tsc's (0, u_1.f)(x)", './compiled.js#lib_js_1.f', ['compiled']],
  ["tsc's (0, u_1.f)(x), by the member name", './compiled.js#f', ['compiled']],
  ['a required name the module exports again (its own calls and its requirers\')', './head.js#f', ['head', 'viaHead']],
  ['a name that is only assigned to exports', './assigned.js#f', ['viaAssigned']],
  ['the defining module', './lib.js#f', ['destructured', 'renamed', 'member', 'compiled', 'head', 'viaHead', 'viaAssigned']],
];

test('CommonJS: without the agent no call is delivered', async () => {
  const { code, stdout, stderr } = await runNode(cjs, { agent: false });
  assert.equal(stderr, '');
  assert.equal(code, 0);
  checkDelivered(output(stdout), []);
});

for (const [shape, target, expected] of cjsCases) {
  test(`CommonJS: ${shape} (${target}) delivers ${expected.join(', ')}`, async () => {
    checkDelivered(await run(cjs, './main.js', target, expected.length), expected);
  });
}

// Compiled from test/fixtures/agent/tsc-cjs/src by `npm test`'s pretest (tsc, module commonjs).
const tscDir = agentFixture('tsc-cjs');
const tsc = agentFixture('tsc-cjs', 'dist', 'main.js');
const compiled = { skip: !existsSync(tsc) && 'run `npm run pretest` to compile test/fixtures/agent/tsc-cjs' };
const tscCases = [
  ['a named import, by its name in the source', './dist/head.js#f', ['head', 'viaNamespace', 'viaHead']],
  ['a named import, by the compiled module object', './dist/head.js#lib_1.f', ['head', 'viaHead']],
  ['a namespace import (__importStar)', './dist/head.js#lib.f', ['viaNamespace']],
  ['a default import (__importDefault)', './dist/head.js#default', ['viaDefault']],
  ['the compiled defining module', './dist/lib.js#f', ['head', 'viaNamespace', 'viaHead']],
  ['the compiled default export', './dist/lib.js#default', ['viaDefault']],
];

test('tsc-compiled CommonJS: without the agent no call is delivered', compiled, async () => {
  const { code, stdout, stderr } = await runNode(tsc, { agent: false });
  assert.equal(stderr, '');
  assert.equal(code, 0);
  checkDelivered(output(stdout), []);
});

for (const [shape, target, expected] of tscCases) {
  test(`tsc-compiled CommonJS: ${shape} (${target}) delivers ${expected.join(', ')}`, compiled, async () => {
    checkDelivered(await run(tsc, './dist/main.js', target, expected.length, 'FunctionOutputs', tscDir), expected);
  });
}

test('tsc-compiled CommonJS: a class method (./dist/lib.js#Sampler.draw) is delivered for every instance', compiled, async () => {
  const out = await run(tsc, './dist/main.js', './dist/lib.js#Sampler.draw', 1, 'MethodOutputs', tscDir);
  assert.deepEqual(delivered(out), ['sampler']);
  assert.equal(out.instance, true);
});

for (const entry of ['main.mjs', 'main.cjs']) {
  const main = agentFixture('entry-local', entry);
  for (const [what, name] of [
    ['function declaration', 'draw'],
    ['const arrow function', 'drawArrow'],
  ]) {
    test(`the entry's own local ${what} (${entry}#${name}) is delivered`, async () => {
      checkDelivered(await run(main, `./${entry}`, `./${entry}#${name}`, 1), [name]);
    });
  }
}
