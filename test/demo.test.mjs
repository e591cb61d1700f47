// `npm run demo` and the examples it is made of, run as a newcomer would.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const loader = new URL('../loader.mjs', import.meta.url).href;

function run(args, config) {
  const env = { ...process.env };
  delete env.DISTILL_DELIVERY;
  delete env.NODE_OPTIONS;
  if (config) env.DISTILL_DELIVERY = config;
  return spawnSync(process.execPath, config ? ['--import', loader, ...args] : args, { cwd: root, env, encoding: 'utf8' });
}

test('the demo shows every case and exits 0 only when all came out as expected', () => {
  const child = run(['examples/demo.js']);
  assert.equal(child.status, 0, child.stdout + child.stderr);
  for (const heading of ['== 1.', '== 2.', '== 3.', '== 4.', '== 5.']) assert.ok(child.stdout.includes(heading), heading);
  assert.doesNotMatch(child.stdout, /FAIL/);
  assert.match(child.stdout, /11 of 11 checks as expected\./);
});

test('the toy example delivers one output, then two in FIFO order', () => {
  const child = run(['examples/toy/toy.mjs']);
  assert.equal(child.status, 0, child.stderr);
  assert.match(child.stdout, /case 1: .*equal: true/);
  assert.match(child.stdout, /case 2: .*equal in order: true/);
  assert.match(child.stdout, /outside: random again/);
});

test('the anchor-head example delivers only the head\'s calls when the head is targeted', () => {
  const without = run(['examples/anchor-head/main.js']);
  assert.deepEqual(JSON.parse(without.stdout), { headSame: false, otherSame: false });
  const child = run(['examples/anchor-head/main.js'], 'examples/anchor-head/deliveries.json');
  assert.equal(child.stderr, '');
  assert.deepEqual(JSON.parse(child.stdout), { headSame: true, otherSame: false });
});

test('the anchor-head example delivers every importer when the defining module is targeted', () => {
  const child = run(['examples/anchor-head/main.js'], 'examples/anchor-head/deliveries-defining-module.json');
  assert.equal(child.status, 0, child.stderr);
  assert.deepEqual(JSON.parse(child.stdout), { headSame: true, otherSame: true });
  assert.match(child.stderr, /assign\s+\.\/utils\.js#anchorInsideFlags\s+2\s+2\s+0\s+0/);
});
