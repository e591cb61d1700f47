// Outputs are released once replayed: 1e4 record/override iterations of a 100 KB output
// keep the heap flat (measured after full GCs in a child started with --expose-gc).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('./fixtures/memory/loop.mjs', import.meta.url));
const OUTPUT = 12800 * 8; // one output: 12,800 doubles

for (const mode of ['phases', 'run']) {
  test(`1e4 ${mode === 'phases' ? 'record/override phases' : 'run() cycles'} of a 100 KB output keep the heap flat`, () => {
    const child = spawnSync(process.execPath, ['--expose-gc', script, mode, '10000'], { encoding: 'utf8' });
    assert.equal(child.status, 0, child.stderr);
    const { checkpoints, stats } = JSON.parse(child.stdout);
    assert.deepEqual(stats, { recorded: 10000, replayed: 10000, pending: 0, discarded: 0 });
    // 9,000 more iterations may not keep more than one output (a leak of one per
    // thousand iterations would already show as 9 outputs, 900 KB).
    const growth = checkpoints['10000'] - checkpoints['1000'];
    assert.ok(growth < OUTPUT, `heap grew by ${growth} bytes between iterations 1,000 and 10,000`);
  });
}
