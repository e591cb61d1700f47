// Builtins the agent imports itself (so their ES module facades exist before it patches
// them): a delivery on one reaches the app's named ES imports too, not only the module
// object (default import, require()).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agentFixture, output, runNode } from './helpers/run-node.mjs';

const app = agentFixture('builtins', 'app.mjs');
const targets = ['node:path#basename', 'node:fs#existsSync', 'node:url#fileURLToPath', 'node:util#format'];

test('node:path, node:fs, node:url and node:util functions are delivered to named imports, default imports and require()', async () => {
  const deliveries = Object.fromEntries(targets.map((funcPath) => [funcPath.split('#')[1], { type: 'FunctionOutputs', funcPath, maxKeepData: 3 }]));
  const config = { deliveries, phases: { record: ['./app.mjs#teacherStep'], override: ['./app.mjs#studentStep'] } };
  const { code, stdout, stderr } = await runNode(app, { config });
  assert.equal(stderr, '');
  assert.equal(code, 0);
  const { teacher, student } = output(stdout);
  // [named import, default import, require()] of each: the teacher's own results, then the student's copies of them.
  assert.deepEqual(teacher, {
    basename: Array(3).fill('teacher.txt'),
    existsSync: Array(3).fill(true),
    fileURLToPath: Array(3).fill('/data/teacher'),
    format: Array(3).fill('teacher'),
  });
  assert.deepEqual(student, teacher);
});
