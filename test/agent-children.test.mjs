// Children get the agent too: fork() and Worker inherit --import, and every child inherits
// DISTILL_DELIVERY and NODE_OPTIONS, with relative paths made absolute so a child that runs
// in another working directory still finds the loader, the config and the targets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { agentFixture, childHasRegisterHooks, loaderUrl, output, runNode } from './helpers/run-node.mjs';

const dir = agentFixture('children');
const parent = agentFixture('children', 'parent.js');
const sub = agentFixture('children', 'sub');
const relativeLoader = relative(dir, fileURLToPath(loaderUrl));
const relativeRequireLoader = relativeLoader.replace(/\.mjs$/, '.cjs');
const inline = JSON.stringify({
  deliveries: { draw: { type: 'FunctionOutputs', funcPath: './steps.js#draw' } },
  phases: { record: ['./steps.js#teacherStep'], override: ['./steps.js#studentStep'] },
});

async function ok(promise) {
  const { code, stdout, stderr } = await promise;
  assert.equal(stderr, '');
  assert.equal(code, 0);
  return output(stdout);
}

test('a child started with fork() in another working directory gets the agent and the config file', async () => {
  const out = await ok(runNode(parent, { config: './deliveries.json', args: ['fork'] }));
  assert.deepEqual(out, { parent: { aligned: true }, child: { aligned: true, cwd: sub } });
});

test('a worker started with new Worker() gets the agent', async () => {
  const out = await ok(runNode(parent, { config: './deliveries.json', args: ['worker'] }));
  assert.deepEqual(out, { parent: { aligned: true }, child: { aligned: true } });
});

test('a forked child finds a loader given as a relative path, and resolves inline targets against the parent\'s folder', async () => {
  const out = await ok(runNode(parent, { agent: false, nodeArgs: ['--import', relativeLoader], config: inline, args: ['fork'] }));
  assert.deepEqual(out, { parent: { aligned: true }, child: { aligned: true, cwd: sub } });
});

test('a forked child finds a loader given to --require as a relative path', { skip: !childHasRegisterHooks && 'needs module.registerHooks' }, async () => {
  const out = await ok(runNode(parent, { agent: false, nodeArgs: ['--require', relativeRequireLoader], config: inline, args: ['fork'] }));
  assert.deepEqual(out, { parent: { aligned: true }, child: { aligned: true, cwd: sub } });
});

test('a worker finds a loader given as a relative path', async () => {
  const out = await ok(runNode(parent, { agent: false, nodeArgs: ['--import', relativeLoader], config: inline, args: ['worker'] }));
  assert.deepEqual(out, { parent: { aligned: true }, child: { aligned: true } });
});

test('a child spawned in another working directory gets the agent through NODE_OPTIONS', async () => {
  const out = await ok(runNode(parent, { agent: false, env: { NODE_OPTIONS: `--import ${relativeLoader}` }, config: './deliveries.json', args: ['spawn'] }));
  assert.deepEqual(out, { parent: { aligned: true }, child: { aligned: true, cwd: sub } });
});

test('a child spawned without NODE_OPTIONS or --import runs without the agent', async () => {
  const out = await ok(runNode(parent, { config: './deliveries.json', args: ['spawn'] }));
  assert.deepEqual(out, { parent: { aligned: true }, child: { aligned: false, cwd: sub } });
});

test('an unknown DISTILL_DELIVERY_* variable is warned of once, by the process the user started, not again by a forked child that inherits it', async () => {
  const { code, stdout, stderr } = await runNode(parent, { config: './deliveries.json', args: ['fork'], env: { DISTILL_DELIVERY_STORE_MOD: 'record' } });
  assert.equal(code, 0, stderr);
  assert.deepEqual(output(stdout), { parent: { aligned: true }, child: { aligned: true, cwd: sub } });
  assert.equal(stderr.match(/DISTILL_DELIVERY_STORE_MOD is set/g)?.length, 1, stderr);
});
