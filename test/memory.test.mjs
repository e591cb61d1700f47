// Outputs are released once replayed: 1e4 record/override iterations of a 100 KB output
// keep the heap flat. Measured in a child started with --expose-gc, two ways:
// - exactly: a FinalizationRegistry counts the outputs the collector reclaimed; all but
//   at most one (maxKeepData) must be gone;
// - by heapUsed after full GCs at checkpoints. This reading wobbles by up to about two
//   outputs between runs (measured: -229 KB to +121 KB over 12 runs), whatever the
//   delivery does, so the bound is set where only a leak can reach it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runNode } from './helpers/run-node.mjs';

const script = fileURLToPath(new URL('./fixtures/memory/loop.mjs', import.meta.url));
const OUTPUT = 12800 * 8; // one output: 12,800 doubles
const ITERATIONS = 10000;

for (const mode of ['phases', 'run']) {
  test(`1e4 ${mode === 'phases' ? 'record/override phases' : 'run() cycles'} of a 100 KB output keep the heap flat`, async () => {
    const child = await runNode(script, { agent: false, nodeArgs: ['--expose-gc'], args: [mode, String(ITERATIONS)] });
    assert.equal(child.code, 0, child.stderr);
    const { checkpoints, reclaimed, stats } = JSON.parse(child.stdout);
    assert.deepEqual(stats, { recorded: ITERATIONS, replayed: ITERATIONS, pending: 0, discarded: 0 });
    assert.ok(reclaimed >= ITERATIONS - 1, `only ${reclaimed} of ${ITERATIONS} replayed outputs were garbage-collected`);
    // A leak of one output per 1,000 iterations adds 9 outputs (900 KB) over these 9,000
    // iterations; the bound is 5 outputs, more than twice the widest wobble measured.
    const growth = checkpoints[String(ITERATIONS)] - checkpoints['1000'];
    assert.ok(growth < 5 * OUTPUT, `heap grew by ${growth} bytes between iterations 1,000 and ${ITERATIONS}`);
  });
}

test('the reclaimed-output count sees a leak: outputs kept by the caller are not counted', async () => {
  const child = await runNode(script, { agent: false, nodeArgs: ['--expose-gc'], args: ['phases', '500', 'leak'] });
  assert.equal(child.code, 0, child.stderr);
  const { reclaimed } = JSON.parse(child.stdout);
  assert.equal(reclaimed, 0);
});
