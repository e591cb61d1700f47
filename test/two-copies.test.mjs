// Two copies of the package in one process (an app and a library each depending on it)
// share one registry, one activity state and one process-wide manager.
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runNode, unfired } from './helpers/run-node.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));

test('two copies of the package share the agent\'s deliveries and sites', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'distill-delivery-copies-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // A second, separate copy of the package under node_modules.
  const copy = join(dir, 'node_modules', 'distill-delivery');
  mkdirSync(copy, { recursive: true });
  for (const entry of ['package.json', 'loader.mjs', 'dist']) cpSync(join(root, entry), join(copy, entry), { recursive: true });
  for (const dependency of ['acorn', 'shimmer']) cpSync(join(root, 'node_modules', dependency), join(copy, 'node_modules', dependency), { recursive: true });
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }');
  writeFileSync(join(dir, 'lib.cjs'), 'exports.rand = () => Math.random();\n');
  writeFileSync(
    join(dir, 'app.js'),
    `import { createRequire } from 'node:module';
import * as mine from 'distill-delivery';
import * as theirs from ${JSON.stringify(pathToFileURL(join(root, 'dist', 'index.js')).href)};
const lib = createRequire(import.meta.url)('./lib.cjs');
// A delivery made by the copy that did not start the agent reuses the site the agent
// installed (the function is not patched again), and sees the agent's manager.
const d = new mine.FunctionOutputsDelivery({ funcPath: './lib.cjs#rand', base: import.meta.url });
const before = lib.rand;
d.overrideData = false;
let samePatch;
const a = d.run(() => ((samePatch = lib.rand === before), lib.rand()));
d.overrideData = true;
const b = d.run(() => lib.rand());
console.log(JSON.stringify({
  distinctClasses: mine.DistillDeliveryManager !== theirs.DistillDeliveryManager,
  sameManager: mine.deliveries === theirs.deliveries,
  configured: Object.keys(mine.deliveries.deliveries),
  delivered: a === b,
  samePatch,
}));
`,
  );
  // The config's delivery is never used (the app makes its own): its warning at exit is silenced.
  const child = await runNode('app.js', { cwd: dir, config: { deliveries: { x: { type: 'FunctionOutputs', funcPath: './lib.cjs#rand' } }, instrument: ['./lib.cjs#rand'] }, nodeArgs: unfired });
  assert.equal(child.stderr, '');
  assert.equal(child.code, 0);
  assert.deepEqual(JSON.parse(child.stdout), { distinctClasses: true, sameManager: true, configured: ['x'], delivered: true, samePatch: true });
});
