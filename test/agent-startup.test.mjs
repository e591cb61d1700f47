// What the agent loads as it starts (issue 23.2): only what its config needs. Speed itself is
// for bench/startup.js; these tests check the loading that the figures there depend on.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { loaderUrl, nodeBinary, runNode } from './helpers/run-node.mjs';

const src = fileURLToPath(new URL('../src/', import.meta.url));
const index = new URL('../dist/index.js', import.meta.url).href;
const registerHooks = execFileSync(nodeBinary, ['-p', 'typeof require("node:module").registerHooks'], { encoding: 'utf8' }).trim() === 'function';

/** What `file` loads when it is imported: its static imports, transitively (`node:` builtins as such). */
function loadedBy(file, seen = new Set()) {
  if (seen.has(file)) return seen;
  seen.add(file);
  if (file.startsWith('node:')) return seen;
  const text = readFileSync(file, 'utf8');
  for (const [, specifier] of text.matchAll(/^(?:import|export)\s+(?!type\s)(?:[^;]*?\sfrom\s+)?'((?:\.{1,2}\/[^']+\.js)|node:[^']+)'/gm)) {
    loadedBy(specifier.startsWith('node:') ? specifier : join(dirname(file), specifier.replace(/\.js$/, '.ts')), seen);
  }
  return seen;
}

const names = (files) => [...files].map((file) => (file.startsWith('node:') ? file : relative(src, file))).sort();

test('the agent loads nothing but what reads its config until the config asks for more', () => {
  const loaded = names(loadedBy(join(src, 'agent', 'start.ts'))).filter((name) => !name.startsWith('node:'));
  assert.deepEqual(loaded, ['agent/config.ts', 'agent/environment.ts', 'agent/propagate.ts', 'agent/start.ts', 'errors.ts', 'runtime.ts', 'store/options.ts', 'store/rank.ts', 'store/url.ts', 'target-path.ts']);
});

test('the modules the agent loads as it starts take node:fs and node:util without their ES module namespace, and node:crypto, node:vm and node:worker_threads not at all', () => {
  // Importing a builtin builds its namespace, which runs every lazy getter of its exports
  // (2 to 4 ms for node:fs or node:util); crypto and worker_threads cost 2 to 6 ms to load.
  const entries = [['agent', 'start.ts'], ['agent', 'agent.ts'], ['agent', 'at-exit.ts'], ['agent', 'outside-calls.ts'], ['instrument', 'module-plan.ts'], ['instrument', 'install.ts']];
  const loaded = new Set(entries.flatMap((parts) => [...loadedBy(join(src, ...parts))]));
  const builtins = names(loaded).filter((name) => name.startsWith('node:'));
  assert.deepEqual(builtins.filter((name) => ['node:fs', 'node:util', 'node:crypto', 'node:vm', 'node:worker_threads'].includes(name)), []);
});

test('a config that asks for nothing starts no manager, no site and no hook, and the package then gives an empty manager', { skip: !registerHooks && 'needs module.registerHooks to see which modules load' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'distill-delivery-startup-'));
  try {
    // A hook registered before the agent starts sees every module it loads.
    writeFileSync(join(dir, 'watch.mjs'), `import { registerHooks } from 'node:module';
const loaded = [];
registerHooks({ load(url, context, next) { if (url.includes('/dist/')) loaded.push(url.slice(url.indexOf('/dist/') + 6)); return next(url, context); } });
globalThis.loadedByAgent = loaded;
`);
    writeFileSync(join(dir, 'app.mjs'), `const before = [...globalThis.loadedByAgent];
const { deliveries, DistillDeliveryManager } = await import(${JSON.stringify(index)});
console.log(JSON.stringify({ before, manager: deliveries instanceof DistillDeliveryManager, names: Object.keys(deliveries.deliveries), base: process.env.DISTILL_DELIVERY_BASE === process.cwd() }));
`);
    const { code, stdout, stderr } = await runNode(join(dir, 'app.mjs'), { config: { deliveries: {} }, agent: false, nodeArgs: ['--import', join(dir, 'watch.mjs'), '--import', loaderUrl], cwd: dir });
    assert.equal(stderr, '');
    assert.equal(code, 0);
    const result = JSON.parse(stdout);
    assert.deepEqual(result.before.sort(), ['agent/config.js', 'agent/environment.js', 'agent/propagate.js', 'agent/start.js', 'errors.js', 'register.js', 'runtime.js', 'store/options.js', 'store/rank.js', 'store/url.js', 'target-path.js']);
    assert.deepEqual({ ...result, before: undefined }, { before: undefined, manager: true, names: [], base: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('once every target module is instrumented the agent deregisters its load hook, and a CommonJS target required again is still delivered', { skip: !registerHooks && 'needs module.registerHooks' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'distill-delivery-startup-'));
  try {
    // Registered before the agent, this hook runs inside the agent's (as its next step) while the agent's is registered.
    writeFileSync(join(dir, 'watch.mjs'), `import { registerHooks } from 'node:module';
const throughAgent = {};
registerHooks({ load(url, context, next) { if (url.includes('/hooked-')) (throughAgent[url.slice(url.lastIndexOf('/') + 1)] ??= []).push(new Error().stack.includes('/dist/instrument/install.js')); return next(url, context); } });
globalThis.throughAgent = throughAgent;
`);
    writeFileSync(join(dir, 'hooked-target.mjs'), 'export function f(x) {\n  return x + 1;\n}\n');
    writeFileSync(join(dir, 'hooked-target.cjs'), 'function g(x) {\n  return x * 2;\n}\nmodule.exports = { g };\n');
    writeFileSync(join(dir, 'hooked-before.mjs'), 'export const before = 1;\n');
    writeFileSync(join(dir, 'hooked-after.mjs'), 'export const after = 1;\n');
    writeFileSync(join(dir, 'app.mjs'), `import { createRequire } from 'node:module';
import { f } from './hooked-target.mjs';
import './hooked-before.mjs';
const require = createRequire(import.meta.url);
let { g } = require('./hooked-target.cjs');
await import('./hooked-after.mjs');
const { deliveries } = await import(${JSON.stringify(index)});
function delivered(fn) {
  deliveries.recordPhase(() => fn(1));
  return deliveries.overridePhase(() => fn(100));
}
const out = { f: delivered(f), g: delivered(g) };
delete require.cache[require.resolve('./hooked-target.cjs')];
({ g } = require('./hooked-target.cjs'));
out.again = delivered(g);
console.log(JSON.stringify({ ...out, throughAgent: globalThis.throughAgent }));
`);
    const config = { deliveries: { f: { type: 'FunctionOutputs', funcPath: './hooked-target.mjs#f' }, g: { type: 'FunctionOutputs', funcPath: './hooked-target.cjs#g' } } };
    const { code, stdout, stderr } = await runNode(join(dir, 'app.mjs'), { config, agent: false, nodeArgs: ['--import', join(dir, 'watch.mjs'), '--import', loaderUrl], cwd: dir });
    assert.equal(stderr, '');
    assert.equal(code, 0);
    assert.deepEqual(JSON.parse(stdout), {
      f: 2,
      g: 2,
      again: 2,
      // The CommonJS target's second load: without the hook, instrumented by the _compile patch.
      throughAgent: { 'hooked-target.mjs': [true], 'hooked-before.mjs': [true], 'hooked-target.cjs': [true, false], 'hooked-after.mjs': [false] },
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
