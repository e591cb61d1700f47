// The README's examples are run, so they cannot rot: each block after a
// `<!-- readme-test: ... -->` comment is run, or compared with the file or output it shows,
// or (`covered by test/x.test.mjs`) read by that test file, whose tests run or assert it;
// and every shell block has such a comment. Commands an installed user types run in a copy
// of an example folder where the package is installed (a link to this checkout, as `npm link`
// makes). Its figures have a source: timings live in docs/performance.md, each under the
// command that printed it. Every relative link in the README and docs/ leads somewhere.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseCommand, readmeBlocks } from './helpers/readme.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const { scripts } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const blocks = readmeBlocks();

/** The environment of a child: nothing of the test runner's or of a developer's agent settings. */
function env() {
  const clean = { ...process.env };
  for (const name of Object.keys(clean)) if (name.startsWith('DISTILL_DELIVERY') || name.startsWith('NODE_TEST')) delete clean[name];
  delete clean.NODE_OPTIONS;
  delete clean.NODE_DEBUG;
  return clean;
}

const lines = (body) => body.split('\n').filter((line) => line.trim() !== '');

/** Runs one `node ...` command line in `cwd`. */
function runCommand(line, cwd) {
  const { vars, program, args } = parseCommand(line);
  assert.equal(program, 'node', line);
  return spawnSync(process.execPath, args, { cwd, env: { ...env(), ...vars }, encoding: 'utf8' });
}

/** The same, without blocking: resolves with `{ status, stdout, stderr }`. */
function runCommandAsync(line, cwd) {
  const { vars, program, args } = parseCommand(line);
  assert.equal(program, 'node', line);
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { cwd, env: { ...env(), ...vars }, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') reject(error);
      else resolve({ status: error ? error.code : 0, stdout, stderr });
    });
  });
}

// Apps: a copy of an example folder with the package installed in its node_modules.
const apps = new Map();
const scratch = mkdtempSync(join(tmpdir(), 'distill-delivery-readme-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function link(app, name, target) {
  mkdirSync(dirname(join(app, 'node_modules', name)), { recursive: true });
  symlinkSync(target, join(app, 'node_modules', name), 'dir');
}

/** `typescript`: train.js becomes train.ts, and the config names it so; tsx is installed too. */
function appFrom(folder, { typescript = false } = {}) {
  const key = `${folder}\0${typescript}`;
  if (!apps.has(key)) {
    const app = join(scratch, `app-${apps.size}`);
    cpSync(join(root, folder), app, { recursive: true });
    link(app, 'distill-delivery', root);
    if (typescript) {
      link(app, 'tsx', join(root, 'node_modules', 'tsx'));
      renameSync(join(app, 'train.js'), join(app, 'train.ts'));
      const config = join(app, 'deliveries.json');
      writeFileSync(config, readFileSync(config, 'utf8').replaceAll('./train.js#', './train.ts#'));
    }
    apps.set(key, app);
  }
  return apps.get(key);
}

/** Each command block's run, kept for the output block that follows it. */
const runs = new Map();

test('the README has its tested examples', () => {
  assert.ok(blocks.length >= 8, `found ${blocks.length}`);
});

test('every shell block of the README says how a test covers it', () => {
  const untested = [...readme.matchAll(/(^.*\n)```(?:sh|bash|shell)\n([\s\S]*?)```/gm)].filter(([, before]) => !before.startsWith('<!-- readme-test: ')).map(([, , body]) => body.trim());
  assert.deepEqual(untested, []);
});

test('every npm script the README names exists', () => {
  const named = [...readme.matchAll(/\bnpm (?:run ([\w:-]+)|(test)\b)/g)].map((m) => m[1] ?? m[2]);
  assert.ok(named.length > 0);
  for (const name of named) assert.ok(Object.hasOwn(scripts, name), `npm run ${name}`);
});

blocks.forEach(({ spec, lang, body }, index) => {
  let match;
  if ((match = /^covered by (test\/[\w.-]+\.mjs)$/.exec(spec))) {
    const [, file] = match;
    test(`the README's ${lang} block "${lines(body)[0].replace(/\s+#.*/, '')}" is covered by ${file}, which reads it from the README`, () => {
      assert.ok(existsSync(join(root, file)), file);
      // The file's tests run or assert the block's commands as the README has them (helpers/readme.mjs).
      assert.match(readFileSync(join(root, file), 'utf8'), /\bcoveredBlocks\(import\.meta\.url\)/, `${file} does not read the README block it covers: its tests take the block's commands from coveredBlocks(import.meta.url) and run or assert them`);
    });
  } else if (spec === 'node commands pass') {
    test(`the README's commands "${lines(body).join('; ')}" pass`, async () => {
      // `npm run` lines: their scripts exist (checked above), and the suite has built dist/. The others run side by side.
      const commands = lines(body).filter((line) => !line.startsWith('npm run '));
      const children = await Promise.all(commands.map((line) => runCommandAsync(line, root)));
      commands.forEach((line, i) => {
        assert.equal(children[i].status, 0, `${line}\n${children[i].stdout}\n${children[i].stderr}`);
        // A test run must run a test: a name pattern that matches none passes too. (TAP or spec summary.)
        if (parseCommand(line).args.includes('--test')) assert.match(children[i].stdout, /^(?:# |ℹ )pass [1-9]/m, line);
      });
    });
  } else if ((match = /^command prints "(.+)"$/.exec(spec))) {
    const [, expected] = match;
    test(`the README's command prints ${expected}`, () => {
      const child = runCommand(body.trim(), root);
      runs.set(index, child);
      assert.equal(child.status, 0, child.stderr);
      assert.match(child.stdout, new RegExp(expected));
    });
  } else if ((match = /^command in an app made of (\S+) prints "(.+)"$/.exec(spec))) {
    const [, folder, expected] = match;
    test(`the README's command, in an app made of ${folder} with the package installed, prints ${expected}`, () => {
      const child = runCommand(body.trim(), appFrom(folder));
      runs.set(index, child);
      assert.equal(child.status, 0, child.stderr);
      assert.match(child.stdout, new RegExp(expected));
    });
  } else if ((match = /^commands in a TypeScript app made of (\S+) print "(.+)"$/.exec(spec))) {
    const [, folder, expected] = match;
    for (const line of lines(body)) {
      // Without a loader for it, TypeScript runs only where Node strips types by default (22.18+, 23.6+).
      const skip = !line.includes('--import tsx') && !process.features.typescript && `Node ${process.versions.node} does not strip types by default`;
      test(`the README's command ${line.replace(/\s+#.*/, '')}, in a TypeScript app made of ${folder}, prints ${expected}`, { skip }, () => {
        const child = runCommand(line, appFrom(folder, { typescript: true }));
        assert.equal(child.status, 0, child.stderr);
        assert.match(child.stdout, new RegExp(expected));
      });
    }
  } else if (spec === 'stderr of the command above') {
    test(`the README shows the stderr of the command before it as it is`, () => {
      const command = [...runs.keys()].filter((i) => i < index).at(-1);
      assert.ok(command !== undefined, 'no command block ran before this block');
      assert.equal(runs.get(command).stderr.trim(), body.trim());
    });
  } else if ((match = /^(\S+) in an app made of (\S+) prints "(.+)"$/.exec(spec))) {
    const [, file, folder, expected] = match;
    test(`the README's ${lang} example, as ${file} in an app made of ${folder}, prints ${expected}`, () => {
      const app = appFrom(folder);
      writeFileSync(join(app, file), body);
      const child = runCommand(`node ${file}`, app);
      assert.equal(child.stderr, '');
      assert.equal(child.status, 0);
      assert.match(child.stdout, new RegExp(expected));
    });
  } else if ((match = /^(\S+) prints "(.+)"$/.exec(spec))) {
    const [, file, expected] = match;
    test(`the README's ${lang} example ${file} prints ${expected}`, (t) => {
      const path = join(root, file);
      writeFileSync(path, body);
      t.after(() => rmSync(path, { force: true }));
      const child = spawnSync(process.execPath, [path], { cwd: dirname(path), env: env(), encoding: 'utf8' });
      assert.equal(child.stderr, '');
      assert.equal(child.status, 0);
      assert.match(child.stdout, new RegExp(expected));
    });
  } else if ((match = /^(\S+) equals this block$/.exec(spec))) {
    const [, file] = match;
    test(`the README shows ${file} as it is`, () => {
      assert.deepEqual(JSON.parse(body), JSON.parse(readFileSync(join(root, file), 'utf8')));
    });
  } else {
    test(`the README's readme-test comment "${spec}" is understood`, () => assert.fail(`unknown readme-test spec: ${spec}`));
  }
});

// Figures: every one comes from a command in the repository.

test('the README holds no timing figure: performance lives in docs/performance.md, which it links', () => {
  const timings = readme.match(/\d(?:[\d.,]*\d)?\s*(?:×|ms\b|ns\b|µs\b)/g) ?? [];
  assert.deepEqual(timings, []);
  assert.match(readme, /\(docs\/performance\.md\)/);
});

test('every section of docs/performance.md that shows figures names the bench command that printed them, and the command exists', () => {
  const doc = readFileSync(join(root, 'docs/performance.md'), 'utf8');
  const sections = doc.split(/^## /m).slice(1);
  assert.ok(sections.length >= 2);
  for (const section of sections) {
    const title = section.split('\n')[0];
    if (!/^\|.*\d/m.test(section)) continue; // no table of figures
    const commands = [...section.matchAll(/`(npm run [\w:-]+|node bench\/[\w./-]+)`/g)].map((m) => m[1]);
    assert.ok(commands.length > 0, `section "${title}" names no command`);
    for (const command of commands) {
      if (command.startsWith('npm run ')) assert.ok(Object.hasOwn(scripts, command.slice(8)), command);
      else assert.ok(existsSync(join(root, command.slice(5))), command);
    }
  }
});

// Links: the README, the pages of docs/ and the examples' READMEs.

const pages = [
  'README.md',
  ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`),
  ...readdirSync(join(root, 'examples'), { withFileTypes: true }).filter((d) => d.isDirectory() && existsSync(join(root, 'examples', d.name, 'README.md'))).map((d) => `examples/${d.name}/README.md`),
];

/** Markdown without its code: fenced blocks and inline code spans. */
const prose = (text) => text.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');

/** The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces as hyphens, repeats numbered. */
function anchors(text) {
  const seen = new Map();
  const found = new Set();
  for (const [, heading] of text.replace(/^```[\s\S]*?^```/gm, '').matchAll(/^#{1,6} +(.+?) *#*$/gm)) {
    const plain = heading.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/`/g, '');
    const slug = plain.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    found.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return found;
}

test('every relative link in the README, docs/ and the examples\' READMEs leads to a file that exists, and to a heading in it', () => {
  const broken = [];
  let checked = 0;
  for (const page of pages) {
    const text = readFileSync(join(root, page), 'utf8');
    for (const [, target] of prose(text).matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z][a-z+.-]*:/i.test(target)) continue; // https:, mailto:
      checked++;
      const [path, anchor] = target.split('#');
      const file = path === '' ? join(root, page) : join(root, dirname(page), decodeURIComponent(path));
      if (!existsSync(file)) broken.push(`${page}: ${target} (no ${relative(root, file)})`);
      else if (anchor !== undefined && file.endsWith('.md') && !anchors(readFileSync(file, 'utf8')).has(anchor)) broken.push(`${page}: ${target} (no heading #${anchor})`);
    }
  }
  assert.deepEqual(broken, []);
  assert.ok(checked >= 10, `only ${checked} links found`);
});
