/**
 * The zero-code-change agent: turns a DISTILL_DELIVERY config into a plan (which module
 * gets which targets, instrumented how), builds the process-wide manager and the phase
 * sites, and installs the fewest module hooks that reach the target modules:
 * - Node >= 22.15: one synchronous `module.registerHooks` load hook, for ES modules and
 *   CommonJS alike;
 * - Node 20: `module.register` (async, off-thread) only if a target is an ES module, and a
 *   `Module.prototype._compile` patch only if a target is CommonJS (async hooks never see
 *   `require()`).
 * Every other module loads untouched and unparsed: a hook only looks its URL up in a map.
 */
import { readFileSync } from 'node:fs';
import Module, { syncBuiltinESMExports } from 'node:module';
import { dirname, extname, isAbsolute, join, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { debuglog } from 'node:util';
import type { AgentConfig } from './config.js';
import { DistillDeliveryManager } from './delivery-manager.js';
import { Site, type PhaseRunner } from './delivery-site.js';
import { errors, inContext } from './errors.js';
import { ParseError, scanModule, type Format } from './instrument-scan.js';
import { instrumentSource, type SourceTarget } from './instrument-source.js';
import { TargetHandle } from './instrument-runtime.js';
import { runtime } from './runtime.js';
import { locateProperty, parseTargetPath, resolveModule, toBase, type TargetPath } from './target-path.js';

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

interface PlannedTarget extends SourceTarget {
  readonly key: string;
  readonly role: Role;
  readonly kind: 'function' | 'method';
  readonly site: Site;
}

/** The plan for one target module: its original source, its instrumented code, its targets. */
export class ModulePlan {
  private handleList: TargetHandle[] | undefined;
  loaded = false;

  constructor(
    readonly url: string,
    readonly filename: string,
    public format: Format,
    readonly original: string,
    public code: string,
    readonly targets: PlannedTarget[],
  ) {}

  /** The code to run for `source`: the planned code, or a fresh rewrite if another loader changed the source. */
  codeFor(source: string, format: Format): string {
    const text = source.replace(/^\uFEFF/, '');
    if (text === this.original && format === this.format) return this.code;
    debug('re-instrument %s: its source or format (%s) differs from the one planned', this.url, format);
    try {
      return instrumentSource(text, format, this.url, this.targets).code;
    } catch (error) {
      if (!(error instanceof ParseError)) throw error;
      throw errors.notInstrumented(`"${this.targets[0]!.label}"`, `cannot be instrumented: ${this.filename} as loaded does not parse as ${format === 'module' ? 'an ES module' : 'CommonJS'} (${error.message}).`);
    }
  }

  handles(): TargetHandle[] {
    this.loaded = true;
    return (this.handleList ??= this.targets.map((t) => new TargetHandle(t.site, this.url, t.members, t.kind)));
  }
}

export interface Agent {
  readonly config: AgentConfig;
  readonly manager: DistillDeliveryManager;
  readonly plans: ReadonlyMap<string, ModulePlan>;
  /** The paths of every site, with their role, for the report. */
  readonly sites: ReadonlyArray<{ label: string; key: string; role: Role; site: Site; module: string }>;
  readonly phaseRuns: { record: number; override: number };
  /** How the hooks were installed, for the report and NODE_DEBUG. */
  readonly hooks: string[];
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
    entries.push({ path, key, role: 'delivery', kind: found.kind, base: typeof base === 'string' ? base : config.base });
  }
  for (const t of config.record) entries.push({ path: t.path, key: t.key, role: 'record', kind: 'function', base: config.base });
  for (const t of config.override) entries.push({ path: t.path, key: t.key, role: 'override', kind: 'function', base: config.base });
  for (const t of config.instrument) entries.push({ path: t.path, key: t.key, role: 'instrument', kind: 'function', base: config.base });
  return entries;
}

/** The format Node will load a file in: by extension, the package "type", then by syntax. */
function formatOf(filename: string, source: string): Format {
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
  try {
    scanModule(source, 'commonjs');
    return 'commonjs';
  } catch {
    return 'module';
  }
}

/**
 * For a bare specifier, the file Node's resolver gives an `import` when it differs from the
 * one it gives `require()` (a dual package). The `conditions` option of the CommonJS resolver
 * is honoured since Node 22.12; older versions ignore it and give require's file (undefined).
 */
function importBuild(specifier: string, base: string, required: string): string | undefined {
  if (/^(\.|\/|file:|node:)/.test(specifier) || isAbsolute(specifier) || Module.isBuiltin(specifier)) return undefined;
  const resolver = Module as unknown as { _resolveFilename?: (request: string, parent: null, isMain: boolean, options: object) => string };
  const { parent } = toBase(base);
  try {
    const file = resolver._resolveFilename?.(specifier, null, false, { paths: [parent.endsWith(sep) ? parent : dirname(parent)], conditions: new Set(['node', 'import', 'module-sync']) });
    return file !== undefined && file !== required && isAbsolute(file) ? file : undefined;
  } catch {
    return undefined;
  }
}

export function startAgent(config: AgentConfig): Agent {
  const entries = collectEntries(config);
  const plans = new Map<string, ModulePlan>();
  const sites: Agent['sites'][number][] = [];
  const byKey = new Map<string, PlannedTarget | { role: Role; site: Site }>();
  const builtins: { entry: Entry; url: string; site: Site }[] = [];
  const grouped = new Map<string, { filename: string; targets: PlannedTarget[] }>();
  const phaseRuns = { record: 0, override: 0 };
  let manager: DistillDeliveryManager | undefined;
  const runner = (override: boolean): PhaseRunner => (original, thisArg, args) => {
    phaseRuns[override ? 'override' : 'record']++;
    const run = () => original.apply(thisArg, args) as unknown;
    return override ? manager!.overridePhase(run) : manager!.recordPhase(run);
  };

  for (const entry of entries) {
    let url: string;
    let filename: string | undefined;
    try {
      const resolved = resolveModule(`"${entry.path.raw}"`, entry.path, toBase(entry.base));
      url = resolved.url;
      filename = resolved.filename;
    } catch (error) {
      throw inContext(error, entry.key);
    }
    const key = `${url}#${entry.path.members.join('.')}`;
    const phase = entry.role === 'record' || entry.role === 'override';
    const existing = byKey.get(key);
    if (existing !== undefined) {
      const existingPhase = existing.role === 'record' || existing.role === 'override';
      if (existing.role !== entry.role && (phase || existingPhase)) {
        throw errors.config(entry.key, `"${entry.path.raw}" is already a ${existing.role === 'delivery' || existing.role === 'instrument' ? 'delivery target' : `${existing.role} phase`}; a function can be one of a record phase, an override phase or a delivery target.`);
      }
      continue;
    }
    const site = new Site(entry.path.raw, phase ? runner(entry.role === 'override') : undefined);
    runtime.bindingSites.set(key, site);
    sites.push({ label: entry.path.raw, key: entry.key, role: entry.role, site, module: url });
    if (filename === undefined) {
      builtins.push({ entry, url, site });
      byKey.set(key, { role: entry.role, site });
      continue;
    }
    const target: PlannedTarget = { members: entry.path.members, label: entry.path.raw, phase, key: entry.key, role: entry.role, kind: entry.kind, site };
    byKey.set(key, target);
    let group = grouped.get(url);
    if (group === undefined) grouped.set(url, (group = { filename, targets: [] }));
    group.targets.push(target);
    // A dual package: ES module importers load the build its "import" condition names; plan that one too.
    const esm = importBuild(entry.path.specifier, entry.base, filename);
    if (esm !== undefined) {
      const esmUrl = pathToFileURL(esm).href;
      runtime.bindingSites.set(`${esmUrl}#${entry.path.members.join('.')}`, site);
      let other = grouped.get(esmUrl);
      if (other === undefined) grouped.set(esmUrl, (other = { filename: esm, targets: [] }));
      other.targets.push(target);
    }
  }

  for (const [url, { filename, targets }] of grouped) {
    let source: string;
    try {
      source = readFileSync(filename, 'utf8').replace(/^\uFEFF/, '');
    } catch (error) {
      throw errors.config(targets[0]!.key, `cannot read ${filename} (${(error as NodeJS.ErrnoException).code ?? String(error)}).`);
    }
    const format = formatOf(filename, source);
    let code: string;
    let notes: string[];
    try {
      ({ code, notes } = instrumentSource(source, format, url, targets));
    } catch (error) {
      const target = targets.find((t) => error instanceof Error && error.message.includes(`"${t.label}"`)) ?? targets[0]!;
      if (error instanceof ParseError) {
        throw inContext(errors.notInstrumented(`"${target.label}"`, `cannot be instrumented: ${filename} does not parse as ${format === 'module' ? 'an ES module' : 'CommonJS'} (${error.message}). Only JavaScript can be instrumented; point the target at compiled output.`), target.key);
      }
      throw inContext(error, target.key);
    }
    plans.set(url, new ModulePlan(url, filename, format, source, code, targets));
    runtime.plannedModules.set(url, plans.get(url));
    for (const note of notes) debug('plan %s (%s): %s', url, format, note);
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

  const hooks = installHooks(plans);
  const agent: Agent = {
    config,
    manager,
    plans,
    sites,
    phaseRuns,
    hooks,
    handles(url, count) {
      const plan = plans.get(url);
      const handles = plan?.handles();
      return handles !== undefined && handles.length === count ? handles : null;
    },
  };
  runtime.agent = agent;
  return agent;
}

interface SyncLoadResult {
  format?: string;
  source?: string | ArrayBuffer | ArrayBufferView | null;
  shortCircuit?: boolean;
}
type SyncNext = (url: string, context: unknown) => SyncLoadResult;
interface ModuleWithHooks {
  registerHooks?: (hooks: { load: (url: string, context: unknown, next: SyncNext) => SyncLoadResult }) => unknown;
  register?: (specifier: string | URL, parentURL?: string | URL, options?: { data?: unknown }) => void;
}

function text(source: SyncLoadResult['source']): string {
  if (typeof source === 'string') return source;
  if (source === null || source === undefined) return '';
  return Buffer.from(source instanceof ArrayBuffer ? new Uint8Array(source) : new Uint8Array(source.buffer, source.byteOffset, source.byteLength)).toString('utf8');
}

function installHooks(plans: Map<string, ModulePlan>): string[] {
  if (plans.size === 0) return [];
  const nodeModule = Module as unknown as ModuleWithHooks;
  // module.registerHooks: added in v23.5.0 and v22.15.0 (synchronous, in-thread, sees require() too).
  if (typeof nodeModule.registerHooks === 'function') {
    nodeModule.registerHooks({
      load(url, context, next) {
        const plan = plans.get(url);
        const result = next(url, context);
        if (plan === undefined) return result;
        // require() leaves the format undefined for the CommonJS loader to decide: the plan knows it.
        const format = result.format === 'module' ? 'module' : result.format === 'commonjs' ? 'commonjs' : result.format == null ? plan.format : undefined;
        if (format === undefined) return result;
        const source = result.source == null ? readFileSync(plan.filename, 'utf8') : text(result.source);
        debug('instrument %s (%s)', url, format);
        return { ...result, source: plan.codeFor(source, format) };
      },
    });
    debug('hooks: module.registerHooks for %d target module(s)', plans.size);
    return ['module.registerHooks'];
  }
  const installed: string[] = [];
  const all = [...plans.values()];
  if (all.some((p) => p.format === 'module')) {
    // module.register: added in v20.6.0. Off-thread: the plans travel as data.
    nodeModule.register!(new URL('./instrument-hooks.js', import.meta.url), import.meta.url, {
      data: { plans: all.map((p) => ({ url: p.url, format: p.format, original: p.original, code: p.code, targets: p.targets.map((t) => ({ members: t.members, label: t.label, phase: t.phase, kind: t.kind })) })) },
    });
    installed.push('module.register');
    debug('hooks: module.register for %d ES module target(s)', all.filter((p) => p.format === 'module').length);
  }
  // CommonJS targets, and ES module targets loaded by require() (require(esm): Node 20.19+
  // compiles them through Module.prototype._compile with format 'module', unseen by the hooks above).
  const byFile = new Map(all.map((p) => [p.filename, p]));
  const proto = (Module as unknown as { prototype: { _compile: (content: string, filename: string, format?: string) => unknown } }).prototype;
  const compile = proto._compile;
  proto._compile = function (this: unknown, content: string, filename: string, format?: string): unknown {
    const plan = byFile.get(filename);
    if (plan !== undefined) {
      const as: Format = format === 'module' ? 'module' : 'commonjs';
      debug('instrument %s (%s, CommonJS loader)', plan.url, as);
      content = plan.codeFor(content, as);
    }
    return compile.call(this, content, filename, format);
  };
  installed.push('Module.prototype._compile');
  debug('hooks: Module.prototype._compile for %d target module(s)', all.length);
  return installed;
}
