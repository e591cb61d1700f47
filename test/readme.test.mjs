// The README's examples are run, so they cannot rot: each block after a
// `<!-- readme-test: ... -->` comment is written out and run, or compared with the file it shows.
// Its figures have a source: timings live in docs/performance.md, each under the command that printed it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const blocks = [...readme.matchAll(/<!-- readme-test: (.+?) -->\n```(\w+)\n([\s\S]*?)```/g)].map(([, spec, lang, body]) => ({ spec, lang, body }));

function env() {
  const clean = { ...process.env };
  delete clean.DISTILL_DELIVERY;
  delete clean.NODE_OPTIONS;
  return clean;
}

test('the README has its tested examples', () => {
  assert.ok(blocks.length >= 3, `found ${blocks.length}`);
});

for (const { spec, lang, body } of blocks) {
  let match;
  if ((match = /^command prints "(.+)"$/.exec(spec))) {
    const [, expected] = match;
    test(`the README's command prints ${expected}`, () => {
      const words = body.trim().split(/\s+/);
      const vars = {};
      while (/^[A-Z_]+=/.test(words[0])) {
        const [name, ...value] = words.shift().split('=');
        vars[name] = value.join('=');
      }
      assert.equal(words.shift(), 'node');
      const child = spawnSync(process.execPath, words, { cwd: root, env: { ...env(), ...vars }, encoding: 'utf8' });
      assert.equal(child.status, 0, child.stderr);
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
}

// Figures: every one comes from a command in the repository.

test('the README holds no timing figure: performance lives in docs/performance.md, which it links', () => {
  const timings = readme.match(/\d(?:[\d.,]*\d)?\s*(?:×|ms\b|ns\b|µs\b)/g) ?? [];
  assert.deepEqual(timings, []);
  assert.match(readme, /\(docs\/performance\.md\)/);
});

test('every section of docs/performance.md that shows figures names the bench command that printed them, and the command exists', () => {
  const doc = readFileSync(join(root, 'docs/performance.md'), 'utf8');
  const { scripts } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
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
