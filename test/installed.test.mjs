// The package as a user installs it: `npm pack` of this checkout, unpacked into the
// node_modules of a fresh project outside the repository (its two dependencies linked
// from this checkout, so no network is needed), then used from there by its name: the
// agent through `--import distill-delivery/register` and `/loader`, the library through
// import and require(), the types through the exports map. This checks what the tarball
// ships (`files`), not only what the checkout has.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runNode } from './helpers/run-node.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
let project;
let files;

before(() => {
  project = mkdtempSync(join(tmpdir(), 'distill-delivery-installed-'));
  // dist/ is already built by `pretest`; --ignore-scripts packs it as it is.
  const [packed] = JSON.parse(execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', project], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
  files = packed.files.map((f) => f.path);
  const installed = join(project, 'node_modules', 'distill-delivery');
  mkdirSync(installed, { recursive: true });
  execFileSync('tar', ['xzf', join(project, packed.filename), '-C', installed, '--strip-components=1']);
  for (const dependency of Object.keys(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).dependencies)) {
    // A scoped dependency (@redis/client) needs its scope folder first.
    mkdirSync(dirname(join(project, 'node_modules', dependency)), { recursive: true });
    symlinkSync(join(root, 'node_modules', dependency), join(project, 'node_modules', dependency), 'dir');
  }
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'user-app', private: true, type: 'module' }));
  cpSync(join(root, 'examples', 'mixup'), join(project, 'app'), { recursive: true });
});

after(() => {
  if (project !== undefined) rmSync(project, { recursive: true, force: true });
});

/** `node [--import entry] script` in the project (or `cwd`), with the package found by name, not through the checkout's loader. */
function run(script, { entry, cwd = project, config } = {}) {
  return runNode(script, { agent: false, nodeArgs: entry === undefined ? [] : ['--import', entry], cwd, config });
}

/** Writes a script into the project, runs it there, and returns the JSON it printed. */
async function runScript(name, lines) {
  writeFileSync(join(project, name), lines.join('\n'));
  const child = await run(name);
  assert.equal(child.code, 0, child.stderr);
  return JSON.parse(child.stdout);
}

test('the tarball ships the compiled package, its types, the loader and the licence, and no sources or tests', () => {
  for (const needed of ['package.json', 'LICENSE', 'loader.mjs', 'dist/index.js', 'dist/index.d.ts', 'dist/register.js', 'dist/register.d.ts', 'dist/instrument/hooks.js', 'dist/agent/resolve-import-worker.js', 'dist/store/redis-worker.js']) {
    assert.ok(files.includes(needed), `${needed} is missing from the tarball`);
  }
  assert.deepEqual(files.filter((f) => /^(src|test|bench|examples)\//.test(f)), []);
  assert.ok(existsSync(join(project, 'node_modules', 'distill-delivery', 'dist', 'agent', 'agent.js')));
});

for (const entry of ['distill-delivery/register', 'distill-delivery/loader']) {
  test(`an installed package's agent starts with node --import ${entry} and aligns the unedited script`, async () => {
    const child = await run('train.js', { entry, cwd: join(project, 'app'), config: 'deliveries.json' });
    assert.equal(child.code, 0, child.stderr);
    assert.match(child.stdout, /same mixed batch in 3 of 3 steps/);
    // report: true in deliveries.json: the table names the delivery and its counts.
    assert.match(child.stderr, /mixup/);
  });
}

test('without DISTILL_DELIVERY the installed agent changes nothing: the script stays misaligned', async () => {
  const child = await run('train.js', { entry: 'distill-delivery/register', cwd: join(project, 'app') });
  assert.equal(child.code, 0, child.stderr);
  assert.match(child.stdout, /same mixed batch in 0 of 3 steps/);
  assert.equal(child.stderr, '');
});

test('an installed package is the same module from import and from require()', async () => {
  const printed = await runScript('both.mjs', [
    "import { createRequire } from 'node:module';",
    "import * as esm from 'distill-delivery';",
    'const cjs = createRequire(import.meta.url)("distill-delivery");',
    'const names = ["FunctionOutputsDelivery", "MethodOutputsDelivery", "DistillDeliveryManager", "DistillDelivery", "DeliveryError", "deliveries"];',
    'console.log(JSON.stringify({ names: names.filter((n) => esm[n] !== undefined), same: names.every((n) => esm[n] === cjs[n]) }));',
  ]);
  assert.deepEqual(printed, {
    names: ['FunctionOutputsDelivery', 'MethodOutputsDelivery', 'DistillDeliveryManager', 'DistillDelivery', 'DeliveryError', 'deliveries'],
    same: true,
  });
});

test('an installed package delivers a CommonJS function from a library user\'s own code', async () => {
  writeFileSync(join(project, 'draw.cjs'), 'let n = 0;\nexports.draw = () => ++n;\n');
  const printed = await runScript('lib.mjs', [
    "import { createRequire } from 'node:module';",
    "import { FunctionOutputsDelivery } from 'distill-delivery';",
    "const target = createRequire(import.meta.url)('./draw.cjs');",
    'const draw = () => target.draw();',
    "const delivery = new FunctionOutputsDelivery({ funcPath: './draw.cjs#draw', base: import.meta.url, maxKeepData: 2 });",
    'delivery.overrideData = false;',
    'const teacher = delivery.run(() => [draw(), draw()]);',
    'delivery.overrideData = true;',
    'const student = delivery.run(() => [draw(), draw()]);',
    'console.log(JSON.stringify({ teacher, student, after: draw() }));',
  ]);
  assert.deepEqual(printed, { teacher: [1, 2], student: [1, 2], after: 3 });
});

test('the installed package resolves its types through the exports map', () => {
  const pkg = JSON.parse(readFileSync(join(project, 'node_modules', 'distill-delivery', 'package.json'), 'utf8'));
  assert.equal(pkg.exports['.'].types, './dist/index.d.ts');
  const types = readFileSync(join(project, 'node_modules', 'distill-delivery', pkg.exports['.'].types), 'utf8');
  for (const name of ['FunctionOutputsDelivery', 'MethodOutputsDelivery', 'DistillDeliveryManager', 'DeliveryError', 'deliveries']) {
    assert.match(types, new RegExp(`\\b${name}\\b`), `${name} is not in the declarations`);
  }
});
