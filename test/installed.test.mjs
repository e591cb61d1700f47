// The package as a user installs it: `npm pack` run the way a publisher runs it (its
// prepack builds dist/ and ships a package.json without the `prepare` script), from a copy
// of this checkout's package sources, then `npm install` of the tarball into a fresh
// project outside the repository, then used from there by its name: the agent through
// `--import distill-delivery/register` and `/loader`, the library through import and
// require(), the types through the exports map. This checks what the tarball ships
// (`files`), and that installing it runs nothing and warns about nothing.
//
// The install is offline, and needs only what `npm ci` of this checkout put in the npm
// cache: the project gets a package-lock.json that pins the tarball's dependencies to the
// versions and integrity hashes of this checkout's lockfile, so npm takes each dependency's
// tarball from the cache by its hash and asks the registry for nothing (without a lockfile
// it needs each dependency's metadata, which `npm ci` does not cache: ENOTCACHED).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { coveredBlocks } from './helpers/readme.mjs';
import { runNode } from './helpers/run-node.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
/** What `npm pack` reads in a checkout: the sources, the build's config, the packaging script, what ships. */
const PACKAGE_SOURCES = ['package.json', 'tsconfig.json', 'src', 'scripts', 'bin', 'loader.mjs', 'loader.cjs', 'LICENSE', 'README.md', 'docs'];
let project;
let checkout;
let files;
let manifest;
let install;

before(() => {
  project = mkdtempSync(join(tmpdir(), 'distill-delivery-installed-'));
  // A copy of the checkout, so that packing (which rebuilds dist/) never touches the
  // dist/ the other test files are using; its node_modules is the checkout's.
  checkout = join(project, 'checkout');
  for (const entry of PACKAGE_SOURCES) cpSync(join(root, entry), join(checkout, entry), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(checkout, 'node_modules'), 'dir');
  const [packed] = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', project], { cwd: checkout, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
  files = packed.files.map((f) => f.path);
  const tarball = join(project, packed.filename);
  manifest = JSON.parse(execFileSync('tar', ['xzf', tarball, '-O', 'package/package.json'], { encoding: 'utf8' }));
  const dependencies = { 'distill-delivery': `file:${packed.filename}` };
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'user-app', private: true, type: 'module', dependencies }));
  writeFileSync(join(project, 'package-lock.json'), JSON.stringify(projectLock(dependencies, tarball, manifest)));
  install = spawnSync('npm', ['install', '--offline', '--no-audit', '--no-fund'], { cwd: project, encoding: 'utf8' });
  cpSync(join(root, 'examples', 'mixup'), join(project, 'app'), { recursive: true });
});

/**
 * The project's lockfile: the tarball, and its dependencies as this checkout's lockfile has
 * them (each at the same place in node_modules, with its version and integrity), so an
 * offline install takes their tarballs from the npm cache by integrity.
 */
function projectLock(dependencies, tarball, manifest) {
  const checkout = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')).packages;
  // The registry a lockfile without `resolved` (omit-lockfile-registry-resolved) was installed from.
  const registry = (process.env.npm_config_registry ?? 'https://registry.npmjs.org/').replace(/\/?$/, '/');
  const packages = {
    '': { name: 'user-app', dependencies },
    'node_modules/distill-delivery': {
      version: manifest.version,
      resolved: dependencies['distill-delivery'],
      integrity: `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`,
      license: manifest.license,
      dependencies: manifest.dependencies,
      engines: manifest.engines,
      // npm links a package's bin from its lockfile entry.
      bin: manifest.bin,
    },
  };
  // Each dependency where Node's resolution from its dependent finds it: nested first, then up.
  const place = (from, name) => {
    for (let dir = from; ; ) {
      const at = `${dir === '' ? '' : `${dir}/`}node_modules/${name}`;
      if (at in checkout || dir === '') return at;
      const up = dir.lastIndexOf('/node_modules/');
      dir = up === -1 ? '' : dir.slice(0, up);
    }
  };
  const visit = (from, names) => {
    for (const name of Object.keys(names ?? {})) {
      const at = place(from, name);
      if (at in packages) continue;
      const entry = checkout[at];
      assert.ok(entry, `${name}, a dependency of ${from || 'the package'}, is not in this checkout's package-lock.json`);
      const { dev, devOptional, peer, ...kept } = entry;
      const base = name.slice(name.lastIndexOf('/') + 1);
      packages[at] = { resolved: entry.resolved ?? `${registry}${name}/-/${base}-${entry.version}.tgz`, ...kept };
      visit(at, entry.dependencies);
    }
  };
  visit('node_modules/distill-delivery', manifest.dependencies);
  return { name: 'user-app', lockfileVersion: 3, requires: true, packages };
}

after(() => {
  if (project !== undefined) rmSync(project, { recursive: true, force: true });
});

test('npm install of the tarball runs no script and prints no warning', () => {
  assert.equal(install.status, 0, /ENOTCACHED/.test(install.stderr) ? `${install.stderr}\nThe npm cache lacks a dependency's tarball: run npm ci in this checkout with the same npm cache (npm_config_cache) first.` : install.stderr);
  assert.doesNotMatch(install.stderr, /npm warn/i);
  assert.equal(manifest.scripts?.prepare, undefined);
  for (const name of ['preinstall', 'install', 'postinstall']) assert.equal(manifest.scripts?.[name], undefined);
});

test('the README\'s install command installs the package this file installs: the one of that name', () => {
  // The registry's copy cannot be installed offline; the tarball of the same name is, above.
  const [{ commands }] = coveredBlocks(import.meta.url);
  assert.deepEqual(commands.map(({ vars, program, args }) => ({ vars, program, args })), [{ vars: {}, program: 'npm', args: ['install', manifest.name] }]);
});

test("packing leaves the checkout's package.json as it was", () => {
  assert.equal(readFileSync(join(checkout, 'package.json'), 'utf8'), readFileSync(join(root, 'package.json'), 'utf8'));
  assert.equal(existsSync(join(checkout, 'package.json.prepack')), false);
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

test('the tarball ships the compiled package, its types, the loaders and the licence, and no sources or tests', () => {
  for (const needed of ['package.json', 'LICENSE', 'README.md', 'docs/api.md', 'docs/configuration.md', 'loader.mjs', 'loader.cjs', 'dist/index.js', 'dist/index.d.ts', 'dist/register.js', 'dist/register.cjs', 'dist/register.d.ts', 'dist/instrument/hooks.js', 'dist/agent/resolve-import-worker.js', 'dist/store/redis-worker.js', 'bin/distill-delivery.mjs', 'dist/cli/main.js']) {
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

test("an installed package's command line runs with npx distill-delivery (the bin)", () => {
  assert.deepEqual(manifest.bin, { 'distill-delivery': './bin/distill-delivery.mjs' });
  const child = spawnSync('npx', ['--no', 'distill-delivery', 'store', 'info', '--help'], { cwd: project, encoding: 'utf8' });
  assert.equal(child.status, 0, child.stderr);
  assert.match(child.stdout, /^Usage: distill-delivery store info <url>/);
});

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
