/**
 * The zero-code-change agent: turns a DISTILL_DELIVERY config into a plan (which module
 * gets which targets, instrumented how), builds the process-wide manager and the phase
 * sites, and installs the hooks that deliver the plan (../instrument/install.ts). Target
 * modules are read and rewritten here, once, at start-up, so that a config error stops
 * the process before the app runs; the parser is loaded only when a module is a target.
 */
import { readFileSync } from 'node:fs';
import Module, { createRequire, isBuiltin, syncBuiltinESMExports } from 'node:module';
import { dirname, extname, join, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { debuglog } from 'node:util';
import type { AgentConfig } from './config.js';
import { DistillDeliveryManager } from '../delivery/delivery-manager.js';
import { Site } from '../delivery/site.js';
import { errors, inContext } from '../errors.js';
import { installHooks, ModulePlan, type Instrumenter, type PlannedTarget } from '../instrument/install.js';
import type { TargetHandle } from '../instrument/handles.js';
import type { Format } from '../instrument/scan.js';
import { isBareSpecifier, resolveImports, resolveImportsSync, type ImportRequest } from './resolve-import.js';
import { runtime } from '../runtime.js';
import { locateProperty, resolveModule, type ResolvedModule } from '../delivery/resolve-target.js';
import { baseRelativeTo, parseTargetPath, toBase, type Base, type TargetPath } from '../target-path.js';
import { Phases } from './phases.js';

const debug = debuglog('delivery');

type Role = 'delivery' | 'record' | 'override' | 'instrument';

interface Entry {
  readonly path: TargetPath;
  /** Where the config names it: `DISTILL_DELIVERY deliveries["mixup"]`. */
  readonly key: string;
  readonly role: Role;
  readonly kind: 'function' | 'method';
  readonly base: string;
}

export interface Agent {
  readonly config: AgentConfig;
  readonly manager: DistillDeliveryManager;
  /** The paths of every site, with their role, for the report. */
  readonly sites: ReadonlyArray<{ label: string; key: string; role: Role; site: Site; module: string }>;
  readonly phases: Phases;
  /** What an `import` of a bare specifier resolved to, by `<base>\0<specifier>`, for deliveries made in code. */
  readonly resolved: ReadonlyMap<string, string>;
  /** Called by a rewritten module's helper. */
  handles(url: string, count: number): TargetHandle[] | null;
}

function specPath(spec: unknown): { path: unknown; option: string; kind: 'function' | 'method' } | undefined {
  if (spec === null || typeof spec !== 'object') return undefined;
  const s = spec as Record<string, unknown>;
  const kind = typeof s.type === 'string' && s.type.startsWith('Method') ? 'method' : 'function';
  const option = kind === 'method' ? 'methodPath' : 'funcPath';
  const path = s[option] ?? s[kind === 'method' ? 'method_path' : 'func_path'];
  return path === undefined ? undefined : { path, option, kind };
}

function collectEntries(config: AgentConfig): Entry[] {
  const entries: Entry[] = [];
  const specs: [string, unknown][] = Array.isArray(config.deliveries)
    ? config.deliveries.map((spec, i) => [spec && typeof spec === 'object' && typeof (spec as { name?: unknown }).name === 'string' ? (spec as { name: string }).name : String(i), spec])
    : Object.entries(config.deliveries);
  for (const [name, spec] of specs) {
    const found = specPath(spec);
    if (found === undefined || typeof found.path !== 'string') continue; // the manager reports it
    const key = `${config.source} deliveries[${JSON.stringify(name)}]`;
    let path: TargetPath;
    try {
      path = parseTargetPath(found.option, found.path);
    } catch {
      continue; // the manager reports it, naming the delivery
    }
    const base = (spec as { base?: unknown }).base;
    // A relative base resolves against the config's own (the config file's folder), as the manager's does.
    entries.push({ path, key, role: 'delivery', kind: found.kind, base: typeof base === 'string' ? (baseRelativeTo(base, config.base) as string) : config.base });
  }
  for (const t of config.record) entries.push({ path: t.path, key: t.key, role: 'record', kind: 'function', base: config.base });
  for (const t of config.override) entries.push({ path: t.path, key: t.key, role: 'override', kind: 'function', base: config.base });
  for (const t of config.instrument) entries.push({ path: t.path, key: t.key, role: 'instrument', kind: 'function', base: config.base });
  return entries;
}

/** The format Node will load a file in: by extension, the package "type", then by syntax. */
function formatOf(filename: string, source: string, parsesAsCommonJS: (source: string) => boolean): Format {
  const ext = extname(filename);
  if (ext === '.mjs') return 'module';
  if (ext === '.cjs') return 'commonjs';
  for (let dir = dirname(filename); ; dir = dirname(dir)) {
    try {
      const type = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { type?: unknown }).type;
      if (type === 'module') return 'module';
      if (type === 'commonjs') return 'commonjs';
      break;
    } catch {
      // no (readable) package.json here: look further up
    }
    if (dirname(dir) === dir) break;
  }
  // No "type": Node 20.19+ and 22+ detect ES module syntax in such files.
  return parsesAsCommonJS(source) ? 'commonjs' : 'module';
}

/** The folder a base resolves bare specifiers from, with a trailing separator. */
function folderOf(base: Base): string {
  return base.parent.endsWith(sep) ? base.parent : dirname(base.parent) + sep;
}

/**
 * Resolves every entry's module: with require()'s conditions, and for a bare package also
 * with import's (one batch), since an ES module importer of a dual package loads another
 * file, and a package may export only to import. Returns the files to plan per entry.
 */
function resolveEntries(entries: Entry[], resolved: Map<string, string>, imports: Needs['imports']): { module: ResolvedModule; files: string[] }[] {
  const required: (ResolvedModule | { error: unknown })[] = entries.map((entry) => {
    try {
      return resolveModule(`"${entry.path.raw}"`, entry.path, toBase(entry.base));
    } catch (error) {
      return { error };
    }
  });
  const bare = entries.flatMap((entry, i) => (isBareSpecifier(entry.path.specifier) ? [i] : []));
  const imported = imports(importRequests(entries));
  const importFile = new Map(bare.map((entry, k) => [entry, imported[k]]));
  return entries.map((entry, i) => {
    const byRequire = required[i]!;
    const byImport = importFile.get(i);
    if (byImport !== undefined) resolved.set(`${toBase(entry.base).parent}\0${entry.path.specifier}`, pathToFileURL(byImport).href);
    if ('error' in byRequire) {
      if (byImport === undefined) throw inContext(byRequire.error, entry.key);
      return { module: { specifier: entry.path.specifier, url: pathToFileURL(byImport).href, filename: byImport, builtin: false }, files: [byImport] };
    }
    const files = byRequire.filename === undefined ? [] : [byRequire.filename];
    if (byImport !== undefined && byImport !== byRequire.filename) files.push(byImport);
    return { module: byRequire, files };
  });
}

/** The bare package targets, whose `import` may resolve to another file than `require()`'s. */
function importRequests(entries: Entry[]): ImportRequest[] {
  return entries.filter((e) => isBareSpecifier(e.path.specifier)).map((e) => ({ specifier: e.path.specifier, parent: folderOf(toBase(e.base)) }));
}

type Parser = typeof import('../instrument/source.js') & typeof import('../instrument/scan.js');

/**
 * What start-up needs besides the config: where bare targets resolve for `import`, and
 * the parser and the rewrite (loaded only when some module is a target). The --import
 * start may wait for them; the --require start gets them at once.
 */
interface Needs {
  imports(requests: ImportRequest[]): (string | undefined)[];
  parser(): Parser;
}

export async function startAgent(config: AgentConfig): Promise<Agent> {
  const entries = collectEntries(config);
  const imports = await resolveImports(importRequests(entries));
  const parser = entries.some((e) => !isBuiltin(e.path.specifier))
    ? ({ ...(await import('../instrument/source.js')), ...(await import('../instrument/scan.js')) } as Parser)
    : undefined;
  return buildAgent(config, entries, { imports: () => imports, parser: () => parser! });
}

/** The same, synchronously: for `--require`, where Node can load ES modules by require() (module.registerHooks is there too). */
export function startAgentSync(config: AgentConfig): Agent {
  const load = createRequire(import.meta.url);
  const parser = (): Parser => ({ ...load('../instrument/source.js'), ...load('../instrument/scan.js') }) as Parser;
  return buildAgent(config, collectEntries(config), { imports: resolveImportsSync, parser });
}

function buildAgent(config: AgentConfig, entries: Entry[], needs: Needs): Agent {
  const plans = new Map<string, ModulePlan>();
  const sites: Agent['sites'][number][] = [];
  const byKey = new Map<string, PlannedTarget | { role: Role; site: Site }>();
  const builtins: { entry: Entry; url: string; site: Site }[] = [];
  const grouped = new Map<string, { filename: string; targets: PlannedTarget[] }>();
  const resolved = new Map<string, string>();
  let manager: DistillDeliveryManager | undefined;
  const phases = new Phases({ record: config.record.map((t) => t.path.raw), override: config.override.map((t) => t.path.raw) }, () => manager!);

  const modules = resolveEntries(entries, resolved, needs.imports);
  entries.forEach((entry, i) => {
    const { module, files } = modules[i]!;
    const key = `${module.url}#${entry.path.members.join('.')}`;
    const phase = entry.role === 'record' || entry.role === 'override';
    const existing = byKey.get(key);
    if (existing !== undefined) {
      const existingPhase = existing.role === 'record' || existing.role === 'override';
      if (existing.role !== entry.role && (phase || existingPhase)) {
        throw errors.config(entry.key, `"${entry.path.raw}" is already a ${existing.role === 'delivery' || existing.role === 'instrument' ? 'delivery target' : `${existing.role} phase`}; a function can be one of a record phase, an override phase or a delivery target.`);
      }
      return;
    }
    const site = new Site(entry.path.raw, phase ? phases.runner(entry.role as 'record' | 'override', entry.path.raw) : undefined);
    sites.push({ label: entry.path.raw, key: entry.key, role: entry.role, site, module: module.url });
    if (module.builtin) {
      runtime.bindingSites.set(key, site);
      builtins.push({ entry, url: module.url, site });
      byKey.set(key, { role: entry.role, site });
      return;
    }
    const target: PlannedTarget = { members: entry.path.members, label: entry.path.raw, phase, key: entry.key, role: entry.role, kind: entry.kind, site };
    byKey.set(key, target);
    // Every file the target's module resolves to (a dual package has two builds) gets the same site.
    for (const filename of files) {
      const url = pathToFileURL(filename).href;
      runtime.bindingSites.set(`${url}#${entry.path.members.join('.')}`, site);
      let group = grouped.get(url);
      if (group === undefined) grouped.set(url, (group = { filename, targets: [] }));
      group.targets.push(target);
    }
  });

  if (grouped.size > 0) {
    const { instrumentSource, ParseError, parseModule } = needs.parser();
    const instrumenter: Instrumenter = { instrumentSource, ParseError };
    const parsesAsCommonJS = (source: string): boolean => {
      try {
        parseModule(source, 'commonjs');
        return true;
      } catch {
        return false;
      }
    };
    for (const [url, { filename, targets }] of grouped) {
      let source: string;
      try {
        source = readFileSync(filename, 'utf8').replace(/^\uFEFF/, '');
      } catch (error) {
        throw errors.config(targets[0]!.key, `cannot read ${filename} (${(error as NodeJS.ErrnoException).code ?? String(error)}).`);
      }
      const format: Format = formatOf(filename, source, parsesAsCommonJS);
      let code: string;
      let notes: string[];
      try {
        ({ code, notes } = instrumentSource(source, format, url, targets));
      } catch (error) {
        const target = targets.find((t) => error instanceof Error && error.message.includes(`"${t.label}"`)) ?? targets[0]!;
        if (error instanceof ParseError) throw inContext(errors.unparsable(`"${target.label}"`, filename, format, error.message), target.key);
        throw inContext(error, target.key);
      }
      const plan = new ModulePlan(url, filename, format, source, code, targets, instrumenter);
      plans.set(url, plan);
      runtime.plannedModules.set(url, plan);
      for (const note of notes) debug('plan %s (%s): %s', url, format, note);
    }
  }

  manager = new DistillDeliveryManager(config.deliveries as never, { base: config.base, source: config.source });
  runtime.manager = manager;

  for (const { entry, url, site } of builtins) {
    try {
      const exports = (process.getBuiltinModule?.(url) ?? Module.createRequire(import.meta.url)(url)) as object;
      const { owner, key } = locateProperty(`"${entry.path.raw}"`, entry.path.raw, exports, entry.path.members, `module "${url}"`, entry.kind);
      site.installOn(owner, key);
    } catch (error) {
      throw inContext(error, entry.key);
    }
    debug('plan %s (builtin): %s patched on its exports', url, entry.path.raw);
  }
  if (builtins.length > 0) syncBuiltinESMExports();

  installHooks(plans);
  const agent: Agent = {
    config,
    manager,
    sites,
    phases,
    resolved,
    handles(url, count) {
      const plan = plans.get(url);
      const handles = plan?.handles();
      return handles !== undefined && handles.length === count ? handles : null;
    },
  };
  runtime.agent = agent;
  return agent;
}
