// `npm run demo` and the examples it is made of, run as a newcomer would.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runNode } from './helpers/run-node.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Runs a script of the checkout from its root, with the agent and that config file if one is given. */
function run(script, config) {
  return runNode(script, { agent: config !== undefined, config, cwd: root });
}

test('the demo shows every case and exits 0 only when all came out as expected', async () => {
  const child = await run('examples/demo.js');
  assert.equal(child.code, 0, child.stdout + child.stderr);
  for (const heading of ['== 1.', '== 2.', '== 3.', '== 4.', '== 5.']) assert.ok(child.stdout.includes(heading), heading);
  assert.doesNotMatch(child.stdout, /FAIL/);
  assert.match(child.stdout, /11 of 11 checks as expected\./);
});

test('the toy example delivers one output, then two in FIFO order', async () => {
  const child = await run('examples/toy/toy.mjs');
  assert.equal(child.code, 0, child.stderr);
  assert.match(child.stdout, /case 1: .*equal: true/);
  assert.match(child.stdout, /case 2: .*equal in order: true/);
  assert.match(child.stdout, /outside: random again/);
});

test('the anchor-head example delivers only the head\'s calls when the head is targeted', async () => {
  const without = await run('examples/anchor-head/main.js');
  assert.deepEqual(JSON.parse(without.stdout), { headSame: false, otherSame: false });
  const child = await run('examples/anchor-head/main.js', 'examples/anchor-head/deliveries.json');
  assert.equal(child.stderr, '');
  assert.deepEqual(JSON.parse(child.stdout), { headSame: true, otherSame: false });
});

test('the anchor-head example delivers every importer when the defining module is targeted', async () => {
  const child = await run('examples/anchor-head/main.js', 'examples/anchor-head/deliveries-defining-module.json');
  assert.equal(child.code, 0, child.stderr);
  assert.deepEqual(JSON.parse(child.stdout), { headSame: true, otherSame: true });
  assert.match(child.stderr, /assign\s+\.\/utils\.js#anchorInsideFlags\s+2\s+2\s+0\s+0/);
});
