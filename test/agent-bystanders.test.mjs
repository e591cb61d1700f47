// Real packages as bystanders: a script using 40 popular packages (ES modules and CommonJS,
// in the shapes that break export-wrapping tools; see the comments in the fixture) prints
// the same digest with the agent active as without it, whatever the agent targets: a
// function of the app, or a function inside one of the packages (not in a phase). Each run
// with the agent also shows, in its NODE_DEBUG=delivery log, that the agent was active:
// hooks installed and the target's modules instrumented as they loaded.
// test/agent-packages.test.mjs has the smaller original of this check.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { agentFixture, debugLines, output, runNode, unfired } from './helpers/run-node.mjs';

const app = agentFixture('bystanders', 'app.js');
const TIMEOUT = 120_000;

async function run(options) {
  // No phase calls the targets: the agent's warnings that they never fired are silenced.
  const { code, signal, stdout, stderr } = await runNode(app, { nodeArgs: unfired, ...options });
  // With NODE_DEBUG=delivery the agent logs to stderr; nothing else may be said there.
  assert.equal(stderr.split('\n').filter((line) => line !== '' && !/^DELIVERY \d+: /.test(line)).join('\n'), '');
  assert.equal(signal, null);
  assert.equal(code, 0);
  return { digest: output(stdout), log: debugLines(stderr) };
}

let baseline;
const withoutAgent = () => (baseline ??= run({ agent: false }).then(({ digest }) => digest));

/** Where a target's module lives, as it appears in a file: URL: `./local.js` or `/node_modules/<package>/`. */
function moduleOf(path) {
  const specifier = path.slice(0, path.lastIndexOf('#'));
  if (specifier.startsWith('./')) return `/bystanders/${specifier.slice(2)}`;
  return `/node_modules/${specifier}${specifier.includes('/') && !specifier.startsWith('@') ? '' : '/'}`;
}

/**
 * Runs the app with the agent and `config`; checks that the agent was active in that run
 * (NODE_DEBUG=delivery names the hooks it installed and, for every target, a module of it
 * that the hooks instrumented as it loaded), then returns the digest.
 */
async function digest(config, targets) {
  const { digest, log } = await run({ config, env: { NODE_DEBUG: 'delivery' } });
  assert.ok(log.some((line) => line.startsWith('hooks: ')), 'no hooks installed');
  const instrumented = log.filter((line) => line.startsWith('instrument ')).map((line) => line.split(' ')[1]);
  for (const target of targets) {
    assert.ok(instrumented.some((url) => url.includes(moduleOf(target))), `${target}: none of its modules was instrumented (${instrumented.join(', ')})`);
  }
  return digest;
}

// Targets inside the packages: their modules are rewritten, and must still behave as before.
const inside = [
  ['FunctionOutputs', 'lodash-es#shuffle', 'an ESM-only index of `export { default as x } from` re-exports'],
  ['FunctionOutputs', 'prettier/index.mjs#format', 'an async function of an esbuild bundle with lazy __esm init'],
  ['FunctionOutputs', 'prettier#format', 'a CommonJS wrapper that dynamic-imports its ESM bundle'],
  ['FunctionOutputs', 'date-fns/addDays#addDays', 'a subpath of an exports map with "import"/"require" conditions'],
  ['FunctionOutputs', 'graphql#buildSchema', 'a CommonJS getter re-export that Node lexes for named ESM imports, in a package of import cycles'],
  ['FunctionOutputs', 'lodash#chunk', 'a property of a UMD-style CommonJS module.exports'],
  ['FunctionOutputs', 'validator#isEmail', 'Babel CommonJS with one module per function'],
  ['FunctionOutputs', 'handlebars#compile', 'Babel CommonJS with __esModule interop'],
  ['MethodOutputs', 'rxjs#Observable.prototype.pipe', 'a class reached through tsc getters'],
  ['MethodOutputs', 'semver/classes/range.js#Range.prototype.test', 'a class in a require cycle'],
  ['MethodOutputs', 'decimal.js#Decimal.prototype.sqrt', 'a constructor made by a clone() factory'],
  ['MethodOutputs', 'superjson#SuperJSON.prototype.serialize', 'an ESM-only class whose statics are bound to an instance'],
];

// Every test only runs children: two at a time, so that this file, the suite's longest, is
// not the one the whole run waits for. They share the one run without the agent.
describe('the 40-package bystander app', { concurrency: 2 }, () => {
  test('the bystander script uses at least 30 packages and prints a digest without the agent', { timeout: TIMEOUT }, async () => {
    const { packages, sha256 } = await withoutAgent();
    assert.ok(packages >= 30, `${packages} packages`);
    assert.match(sha256, /^[0-9a-f]{64}$/);
  });

  test('the digest is the same with the agent active and a config targeting a function of the app', { timeout: TIMEOUT }, async () => {
    const config = { deliveries: { local: { type: 'FunctionOutputs', funcPath: './local.js#stepped' } } };
    assert.deepEqual(await digest(config, ['./local.js#stepped']), await withoutAgent());
  });

  test('the digest is the same with the agent active and a config that only instruments a function of the app', { timeout: TIMEOUT }, async () => {
    assert.deepEqual(await digest({ instrument: ['./local.js#stepped'] }, ['./local.js#stepped']), await withoutAgent());
  });

  for (const [type, path, shape] of inside) {
    test(`the digest is the same with the agent targeting ${path} (${shape})`, { timeout: TIMEOUT }, async () => {
      const spec = type === 'MethodOutputs' ? { type, methodPath: path } : { type, funcPath: path };
      assert.deepEqual(await digest({ deliveries: { inside: spec } }, [path]), await withoutAgent());
    });
  }

  test('the digest is the same with several package targets at once', { timeout: TIMEOUT }, async () => {
    const deliveries = Object.fromEntries(
      inside.map(([type, path], i) => [`d${i}`, type === 'MethodOutputs' ? { type, methodPath: path } : { type, funcPath: path }]),
    );
    assert.deepEqual(await digest({ deliveries }, inside.map(([, path]) => path)), await withoutAgent());
  });

  test('the digest is the same with the agent targeting tslib#__assign (its ESM wrapper re-exports what it destructured from the CommonJS build)', { timeout: TIMEOUT }, async () => {
    assert.deepEqual(await digest({ deliveries: { inside: { type: 'FunctionOutputs', funcPath: 'tslib#__assign' } } }, ['tslib#__assign']), await withoutAgent());
  });
});
