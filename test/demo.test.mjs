// `npm run demo` and the examples it is made of, run as a newcomer would.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { coveredBlocks } from './helpers/readme.mjs';
import { runNode } from './helpers/run-node.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const { scripts } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

/** Runs a script of the checkout from its root, with the agent and that config file if one is given. */
function run(script, config) {
  return runNode(script, { agent: config !== undefined, config, cwd: root });
}

let demo;
const runDemo = () => (demo ??= run('examples/demo.js'));

test('the demo shows every case and exits 0 only when all came out as expected', async () => {
  const child = await runDemo();
  assert.equal(child.code, 0, child.stdout + child.stderr);
  for (const heading of ['== 1.', '== 2.', '== 3.', '== 4.', '== 5.']) assert.ok(child.stdout.includes(heading), heading);
  assert.doesNotMatch(child.stdout, /FAIL/);
  assert.match(child.stdout, /11 of 11 checks as expected\./);
});

test('the README\'s checkout commands install, run this demo and test, and the demo ends as the README says', async () => {
  const [{ commands }] = coveredBlocks(import.meta.url);
  assert.deepEqual(commands.map(({ program, args }) => [program, ...args].join(' ')), ['npm install', 'npm run demo', 'npm test']);
  // npm install builds dist/ (prepare); npm run demo builds, then runs the demo this file runs; npm test runs the suite.
  assert.match(scripts.prepare, /\bnpm run build\b/);
  assert.match(scripts.demo, /^npm run build\b.*&& node examples\/demo\.js$/);
  assert.equal(scripts.test, 'node scripts/test.mjs');
  const ending = /ends "(.+)"/.exec(commands[1].comment)?.[1];
  assert.ok(ending, commands[1].comment);
  const { stdout } = await runDemo();
  const last = stdout.trim().split('\n').at(-1);
  assert.ok(last.includes(ending), `the demo ends: ${last}`);
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
