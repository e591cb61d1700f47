/**
 * Where to aim a function delivery that never fired although the phases ran (the
 * anchor_head caveat): if the target module imports the name, the module it comes from
 * (which delivers every importer's calls) and the modules of this run that import it
 * from there too, each as a path that names the function as that module holds it.
 * Done only when the report warns, and only over the modules this run loaded: those
 * `require()` loaded, and those the entry reaches by its imports.
 */
import { readFileSync } from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scanModule, type Binding, type ModuleScan } from '../instrument/scan.js';

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|\bimport\s+)(['"])([^'"\n]+)\1/g;

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function resolveFrom(file: string, specifier: string): string | undefined {
  if (isBuiltin(specifier)) return undefined;
  try {
    const found = createRequire(file).resolve(specifier);
    return isAbsolute(found) ? found : undefined;
  } catch {
    return undefined;
  }
}

const own = (file: string): boolean => !file.split(sep).includes('node_modules');

/** The app's files this run loaded: in require.cache, or reached from the entry by static imports and requires. */
export function loadedFiles(limit = 2000): Set<string> {
  const loaded = new Set<string>();
  for (const file of Object.keys(createRequire(import.meta.url).cache)) if (isAbsolute(file) && own(file)) loaded.add(file);
  const entry = process.argv[1] && resolveFrom(fileURLToPath(import.meta.url), resolve(process.argv[1]));
  const stack = entry ? [entry] : [];
  const seen = new Set<string>();
  while (stack.length > 0 && seen.size < limit) {
    const file = stack.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    loaded.add(file);
    for (const match of (read(file) ?? '').matchAll(SPECIFIER)) {
      const found = resolveFrom(file, match[2]!);
      if (found !== undefined && own(found) && !seen.has(found)) stack.push(found);
    }
  }
  return loaded;
}

function scan(file: string, source: string): ModuleScan | undefined {
  for (const format of file.endsWith('.cjs') ? (['commonjs'] as const) : (['module', 'commonjs'] as const)) {
    try {
      return scanModule(source, format);
    } catch {
      // not this format
    }
  }
  return undefined;
}

/** The path, after "#", under which `file`'s binding reaches export `name` of `from`; undefined if it does not. */
function pathIn(binding: Binding, file: string, from: string, name: string): string | undefined {
  if ((binding.kind !== 'import' && binding.kind !== 'variable') || binding.source === undefined) return undefined;
  if (resolveFrom(file, binding.source) !== from) return undefined;
  const moduleObject = binding.kind === 'import' ? binding.importedName === '*' : binding.moduleObject;
  if (moduleObject) return `${binding.name}.${name}`;
  return binding.importedName === name ? binding.name : undefined;
}

/** `./head.js`, relative to the folder the config's targets resolve from. */
function specifierOf(file: string, base: string): string {
  const rel = relative(base, file).split(sep).join('/');
  return rel.startsWith('../') ? rel : `./${rel}`;
}

export interface Retarget {
  /** The module the target module imports the name from, as a path that delivers every importer. */
  readonly source: string | undefined;
  /** Paths in the other modules of this run that import it from there. */
  readonly importers: string[];
}

/** What the target module's binding `members[0]` gets from another module: its resolved file, specifier and export name. */
function origin(target: string, scanned: ModuleScan, members: readonly string[]): { from: string; specifier: string; imported: string } | undefined {
  const binding = scanned.bindings.get(members[0]!);
  if (binding === undefined || (binding.kind !== 'import' && binding.kind !== 'variable') || binding.source === undefined) return undefined;
  const moduleObject = binding.kind === 'import' ? binding.importedName === '*' : binding.moduleObject;
  // `f` imported or destructured from a module, or `u.f` on a module object.
  if (moduleObject !== (members.length === 2) || members.length > 2) return undefined;
  const imported = moduleObject ? members[1]! : binding.importedName;
  const from = resolveFrom(target, binding.source);
  return from === undefined || imported === undefined ? undefined : { from, specifier: binding.source, imported };
}

/**
 * For a function target that never fired: where else the function is reached.
 * Undefined when the target module declares the function itself, since every
 * importer's calls then go through the target already and no other module would help.
 */
export function retarget(moduleUrl: string, members: readonly string[], base: string): Retarget | undefined {
  if (!moduleUrl.startsWith('file:')) return undefined;
  const target = fileURLToPath(moduleUrl);
  const text = read(target);
  const scanned = text === undefined ? undefined : scan(target, text);
  const found = scanned && origin(target, scanned, members);
  if (!found) return undefined;
  const { from, specifier, imported } = found;
  const importers: string[] = [];
  const word = new RegExp(`(^|[^\\w$])${imported.replace(/[$]/g, '\\$')}([^\\w$]|$)`);
  for (const file of loadedFiles()) {
    if (file === target || file === from) continue;
    const source = read(file);
    if (source === undefined || !word.test(source)) continue;
    for (const b of scan(file, source)?.bindings.values() ?? []) {
      const path = pathIn(b, file, from, imported);
      if (path !== undefined) importers.push(`${specifierOf(file, base)}#${path}`);
    }
  }
  const bare = !/^(\.|\/|file:)/.test(specifier);
  const source = imported === 'default' && bare ? undefined : `${bare ? specifier : specifierOf(from, base)}#${imported}`;
  return { source, importers: importers.sort() };
}
