// The layout of src/: folders by concern, imports between them pointing one way only.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';

const src = fileURLToPath(new URL('../src/', import.meta.url));

// What each part of src/ may import (besides itself). "leaf" is a file directly in src/.
// From the top: agent, link (the store's wiring), instrument, delivery and recorder (two rooms
// side by side, neither importing the other), sites (how a call is reached), then store and
// values, then wasm (the modules' encoding, which imports nothing) and the leaves; cli (the
// command line) over the store.
const ALLOWED = {
  leaf: ['leaf'],
  wasm: [],
  values: ['wasm', 'leaf'],
  store: ['wasm', 'leaf'],
  sites: ['values', 'leaf'],
  delivery: ['sites', 'values', 'store', 'leaf'],
  recorder: ['sites', 'values', 'leaf'],
  instrument: ['sites', 'leaf'],
  link: ['delivery', 'recorder', 'sites', 'values', 'store', 'leaf'],
  agent: ['link', 'instrument', 'delivery', 'recorder', 'sites', 'store', 'values', 'leaf'],
  // The command line (bin/distill-delivery.mjs): an entry over the store's library API.
  cli: ['store', 'leaf'],
  entry: ['agent', 'link', 'instrument', 'delivery', 'recorder', 'sites', 'store', 'values', 'leaf'],
};
const ENTRIES = new Set(['index.ts', 'register.ts']);

function files(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

function partOf(file) {
  const rel = relative(src, file);
  if (!rel.includes(sep)) return ENTRIES.has(rel) ? 'entry' : 'leaf';
  return rel.split(sep)[0];
}

function imports(file) {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/(?:from\s*|import\s*\(\s*)'(\.{1,2}\/[^']+)'/g)].map((m) => m[1]);
  return specifiers.filter((s) => s.endsWith('.js')).map((s) => join(dirname(file), s.replace(/\.js$/, '.ts')));
}

test('every folder of src/ has a README saying what lives there and what it may import', () => {
  const folders = readdirSync(src, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  assert.deepEqual(folders.sort(), Object.keys(ALLOWED).filter((k) => k !== 'leaf' && k !== 'entry').sort());
  for (const folder of folders) assert.match(readFileSync(join(src, folder, 'README.md'), 'utf8'), /May import/);
});

test('imports between the folders of src/ point one way: agent, link, instrument, delivery and recorder, sites, store and values, wasm and the leaves', () => {
  const wrong = [];
  for (const file of files(src)) {
    const from = partOf(file);
    for (const target of imports(file)) {
      const to = partOf(target);
      if (to !== from && !ALLOWED[from].includes(to)) wrong.push(`${relative(src, file)} -> ${relative(src, target)}`);
      if (from === 'leaf' && to === 'leaf' && !target.endsWith(`${sep}errors.ts`) && !target.endsWith(`${sep}runtime.ts`)) wrong.push(`${relative(src, file)} -> ${relative(src, target)}`);
    }
  }
  assert.deepEqual(wrong, []);
});

test('src/ holds no more than a dozen files outside its folders', () => {
  const top = readdirSync(src, { withFileTypes: true }).filter((e) => e.isFile() && e.name.endsWith('.ts'));
  assert.ok(top.length <= 12, `${top.length} files directly in src/`);
});

/** What `file` loads when it is imported: its static imports, transitively (not `import type`, not `import()`). */
function loadedBy(file, seen = new Set()) {
  if (seen.has(file)) return seen;
  seen.add(file);
  const text = readFileSync(file, 'utf8');
  for (const [, specifier] of text.matchAll(/^(?:import|export)\s+(?!type\s)(?:[^;]*?\sfrom\s+)?'(\.{1,2}\/[^']+\.js)'/gm)) {
    loadedBy(join(dirname(file), specifier.replace(/\.js$/, '.ts')), seen);
  }
  return seen;
}

test('the agent and a manager load the store\'s modules only when a store is used', () => {
  const loaded = new Set([...loadedBy(join(src, 'agent', 'start.ts')), ...loadedBy(join(src, 'agent', 'agent.ts')), ...loadedBy(join(src, 'delivery', 'delivery-manager.ts'))]);
  const store = [...loaded].map((file) => relative(src, file)).filter((file) => file.startsWith(`store${sep}`) || file.includes('store-link') || file.endsWith(`values${sep}encode.ts`));
  // What checking a config's or a manager's store option needs, and nothing that opens one.
  assert.deepEqual(store.sort(), [join('store', 'options.ts'), join('store', 'rank.ts'), join('store', 'url.ts')]);
  // The entries that may need a store hand the manager its link.
  assert.ok(loadedBy(join(src, 'index.ts')).has(join(src, 'link', 'store-link.ts')));
});

test('no two files of src/ import each other, directly or through others (type imports included)', () => {
  const graph = new Map(files(src).map((file) => [file, imports(file)]));
  const cycles = [];
  const state = new Map(); // 1: on the path, 2: done
  const visit = (file, path) => {
    if (state.get(file) === 2) return;
    if (state.get(file) === 1) {
      cycles.push(path.slice(path.indexOf(file)).concat(file).map((f) => relative(src, f)).join(' -> '));
      return;
    }
    state.set(file, 1);
    for (const next of graph.get(file) ?? []) visit(next, [...path, file]);
    state.set(file, 2);
  };
  for (const file of graph.keys()) visit(file, []);
  assert.deepEqual(cycles, []);
});
