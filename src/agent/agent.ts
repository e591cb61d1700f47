/**
 * The zero-code-change agent: turns a DISTILL_DELIVERY config into a plan (which module
 * gets which targets, instrumented how), builds the process-wide manager and the phase
 * sites, and installs the hooks that deliver the plan (../instrument/install.ts). Target
 * modules (JavaScript or TypeScript) are read and rewritten here, once, at start-up, so
 * that a config error stops the process before the app runs; the parser is loaded only
 * when a module is a target.
 */
import Module, { createRequire, isBuiltin, syncBuiltinESMExports } from 'node:module';
import { dirname, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AgentConfig } from './config.js';
import { DistillDeliveryManager, provideStoreLink } from '../delivery/delivery-manager.js';
import { Site, type PhaseRunner } from '../sites/site.js';
import { errors, inContext } from '../errors.js';
import type { TargetHandle } from '../instrument/handles.js';
import type { ModulePlan, PlannedTarget } from '../instrument/module-plan.js';
import { isBareSpecifier, resolveImports, resolveImportsSync, type ImportRequest } from './resolve-import.js';
import { builtin, runtime } from '../runtime.js';
import { locateProperty, resolveModule, type ResolvedModule } from '../sites/resolve-target.js';
import { baseRelativeTo, parseTargetPath, toBase, type Base, type TargetPath } from '../target-path.js';
import { Phases, type PhaseKind } from './phases.js';
import { RecorderManager } from '../recorder/recorder-manager.js';

const debug = builtin('node:util').debuglog('delivery');

type Role = 'delivery' | 'recorder' | 'record' | 'override' | 'instrument';

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
  /** The config's recorders (getRecorder()), run with the manager's phases. */
  readonly recorders: RecorderManager;
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
  const path = s[option] ?? s[kind === 'method' ? 'method_path' : 'func_path'] ?? s.source; // source: MMRazor's recorders' key
  return path === undefined ? undefined : { path, option, kind };
}

function collectEntries(config: AgentConfig): Entry[] {
  const entries: Entry[] = [];
  const specs: [string, unknown][] = Array.isArray(config.deliveries)
    ? config.deliveries.map((spec, i) => [spec && typeof spec === 'object' && typeof (spec as { name?: unknown }).name === 'string' ? (spec as { name: string }).name : String(i), spec])
    : Object.entries(config.deliveries);
  const groups = [
    { key: 'deliveries', role: 'delivery', specs },
    { key: 'recorders', role: 'recorder', specs: Object.entries(config.recorders) },
  ] as const;
  for (const { key: group, role, specs: named } of groups) {
    for (const [name, spec] of named) {
      const found = specPath(spec);
      if (found === undefined || typeof found.path !== 'string') continue; // the manager (or RecorderManager) reports it
      let path: TargetPath;
      try {
        path = parseTargetPath(found.option, found.path);
      } catch {
        continue; // the manager reports it, naming the delivery or recorder
      }
      const base = (spec as { base?: unknown }).base;
      // A relative base resolves against the config's own (the config file's folder), as the manager's does.
      const key = `${config.source} ${group}[${JSON.stringify(name)}]`;
      entries.push({ path, key, role, kind: found.kind, base: typeof base === 'string' ? (baseRelativeTo(base, config.base) as string) : config.base });
    }
  }
  for (const t of config.record) entries.push({ path: t.path, key: t.key, role: 'record', kind: 'function', base: config.base });
  for (const t of config.override) entries.push({ path: t.path, key: t.key, role: 'override', kind: 'function', base: config.base });
  for (const t of config.instrument) entries.push({ path: t.path, key: t.key, role: 'instrument', kind: 'function', base: config.base });
  return entries;
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

/** The planner and the hooks that deliver its plans. */
type Planner = typeof import('../instrument/module-plan.js') & typeof import('../instrument/install.js');

/**
 * What start-up needs besides the config: where bare targets resolve for `import`, and
 * the planner (the parser, the rewrite, the TypeScript stripper and the module hooks,
 * loaded only when some module is a target). The --import start may wait for them; the
 * --require start gets them at once.
 */
interface Needs {
  imports(requests: ImportRequest[]): (string | undefined)[];
  planner(): Planner;
}

/** A site for each distinct target, grouped by the module files to plan; builtins apart. */
interface Placed {
  readonly sites: Agent['sites'][number][];
  readonly builtins: { entry: Entry; url: string; site: Site }[];
  /** By file URL: the file and the targets planned in it. */
  readonly grouped: Map<string, { filename: string; targets: PlannedTarget[] }>;
}

/**
 * Gives each distinct target a site (a phase site runs `runner`), refusing a function that
 * is both a phase and a delivery target, and groups the targets by the files to plan.
 */
function placeSites(entries: Entry[], modules: { module: ResolvedModule; files: string[] }[], runner: (kind: PhaseKind, label: string) => PhaseRunner): Placed {
  const placed: Placed = { sites: [], builtins: [], grouped: new Map() };
  const byKey = new Map<string, { role: Role }>();
  entries.forEach((entry, i) => {
    const { module, files } = modules[i]!;
    const key = `${module.url}#${entry.path.members.join('.')}`;
    const phase = entry.role === 'record' || entry.role === 'override';
    const existing = byKey.get(key);
    if (existing !== undefined) {
      const existingPhase = existing.role === 'record' || existing.role === 'override';
      if (existing.role !== entry.role && (phase || existingPhase)) {
        const was = existing.role === 'delivery' || existing.role === 'instrument' ? 'delivery target' : existing.role === 'recorder' ? 'recorder target' : `${existing.role} phase`;
        throw errors.config(entry.key, `"${entry.path.raw}" is already a ${was}; a function can be one of a record phase, an override phase or a target of deliveries and recorders.`);
      }
      return;
    }
    byKey.set(key, entry);
    const site = new Site(entry.path.raw, phase ? runner(entry.role as PhaseKind, entry.path.raw) : undefined);
    placed.sites.push({ label: entry.path.raw, key: entry.key, role: entry.role, site, module: module.url });
    if (module.builtin) {
      runtime.bindingSites.set(key, site);
      placed.builtins.push({ entry, url: module.url, site });
      return;
    }
    const target: PlannedTarget = { members: entry.path.members, label: entry.path.raw, phase, key: entry.key, role: entry.role, kind: entry.kind, site };
    // Every file the target's module resolves to (a dual package has two builds) gets the same site.
    for (const filename of files) {
      const url = pathToFileURL(filename).href;
      runtime.bindingSites.set(`${url}#${entry.path.members.join('.')}`, site);
      let group = placed.grouped.get(url);
      if (group === undefined) placed.grouped.set(url, (group = { filename, targets: [] }));
      group.targets.push(target);
    }
  });
  return placed;
}

/** Reads and instruments every target module now, so a config error stops the process before the app runs. */
function planModules(grouped: Placed['grouped'], planner: Needs['planner']): Map<string, ModulePlan> {
  const plans = new Map<string, ModulePlan>();
  if (grouped.size === 0) return plans;
  const { planModule } = planner();
  for (const [url, { filename, targets }] of grouped) {
    const { plan, notes } = planModule(url, filename, targets);
    plans.set(url, plan);
    runtime.plannedModules.set(url, plan);
    for (const note of notes) debug('plan %s (%s%s): %s', url, plan.format, plan.typescript ? ', TypeScript' : '', note);
  }
  return plans;
}

/** Builtin targets are patched on the builtin's exports, and its ES module exports synced. */
function patchBuiltins(builtins: Placed['builtins']): void {
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
}

export async function startAgent(config: AgentConfig): Promise<Agent> {
  const entries = collectEntries(config);
  const imports = await resolveImports(importRequests(entries));
  // The parser, the rewrite, the TypeScript stripper and the hooks are loaded only when some module is a target.
  const planner = entries.some((e) => !isBuiltin(e.path.specifier))
    ? { ...(await import('../instrument/module-plan.js')), ...(await import('../instrument/install.js')) }
    : undefined;
  // The store's modules, only when the config has a store.
  if (config.store !== undefined) provideStoreLink((await import('../link/store-link.js')).StoreLink);
  return buildAgent(config, entries, { imports: () => imports, planner: () => planner! });
}

/** The same, synchronously: for `--require`, where Node can load ES modules by require() (module.registerHooks is there too). */
export function startAgentSync(config: AgentConfig): Agent {
  if (config.store !== undefined) provideStoreLink((createRequire(import.meta.url)('../link/store-link.js') as typeof import('../link/store-link.js')).StoreLink);
  const load = createRequire(import.meta.url);
  const planner = (): Planner => ({ ...(load('../instrument/module-plan.js') as object), ...(load('../instrument/install.js') as object) }) as Planner;
  return buildAgent(config, collectEntries(config), { imports: resolveImportsSync, planner });
}

function buildAgent(config: AgentConfig, entries: Entry[], needs: Needs): Agent {
  const resolved = new Map<string, string>();
  let manager: DistillDeliveryManager | undefined;
  const phases = new Phases({ record: config.record.map((t) => t.path.raw), override: config.override.map((t) => t.path.raw) }, () => manager!);

  const { sites, builtins, grouped } = placeSites(entries, resolveEntries(entries, resolved, needs.imports), (kind, label) => phases.runner(kind, label));
  const plans = planModules(grouped, needs.planner);
  // The process the user started opens its store now, so a store that does not fit stops it before the app runs;
  // a process it was passed on to (a worker, a child) opens it at its first phase, if it runs one.
  // (node:worker_threads costs 2 to 3 ms to load: only a store needs it here.)
  const isMainThread = config.store !== undefined && builtin('node:worker_threads').isMainThread;
  const first = isMainThread && (process.env.DISTILL_DELIVERY_FIRST_PID ?? String(process.pid)) === String(process.pid);
  if (isMainThread) process.env.DISTILL_DELIVERY_FIRST_PID ??= String(process.pid);
  const recorders = new RecorderManager(config.recorders as never, { base: config.base, source: config.source });
  manager = new DistillDeliveryManager(config.deliveries as never, { base: config.base, source: config.source, store: config.store, deferStore: !first, recorders, configHash: config.store === undefined ? undefined : config.configHash });
  runtime.manager = manager;
  runtime.recorders = recorders;
  patchBuiltins(builtins);
  if (plans.size > 0) needs.planner().installHooks(plans);

  const agent: Agent = {
    config,
    manager,
    recorders,
    sites,
    phases,
    resolved,
    handles(url, count) {
      const handles = plans.get(url)?.handles();
      return handles !== undefined && handles.length === count ? handles : null;
    },
  };
  runtime.agent = agent;
  return agent;
}
