/**
 * The module hooks that deliver each target module's planned code, and nothing else:
 * - Node >= 22.15: one synchronous `module.registerHooks` load hook, for ES modules and
 *   CommonJS alike;
 * - Node 20: `module.register` (async, off-thread, hooks.ts) if a target is an ES module
 *   or TypeScript;
 * - everywhere: a `Module.prototype._compile` patch, for CommonJS targets that reach the
 *   CommonJS loader without a hook seeing them (Node 20's async hooks never see
 *   `require()`; tsx's require hook compiles TypeScript itself) and for ES module targets
 *   loaded by `require()` on Node 20. Code a hook instrumented already passes through.
 * The agent's load hook is kept the last registered (see keepLast), so it instruments the
 * code Node will run, whatever loader compiled it and in whatever order they started.
 * Every other module loads untouched and unparsed: a hook only looks its URL up in a map.
 */
import Module from 'node:module';
import { builtin } from '../runtime.js';
import { text, type LoadResult } from './loaded.js';
import type { ModulePlan } from './module-plan.js';

const debug = builtin('node:util').debuglog('delivery');

type SyncNext = (url: string, context: unknown) => LoadResult;
type RegisterHooks = (hooks: { load: (url: string, context: unknown, next: SyncNext) => LoadResult }) => { deregister?: () => void } | undefined;
type Register = (specifier: string | URL, parentURL?: string | URL, options?: { data?: unknown }) => void;
interface ModuleWithHooks {
  registerHooks?: RegisterHooks;
  register?: Register;
}

/** Installs the hooks that reach the planned modules (none without plans). */
export function installHooks(plans: ReadonlyMap<string, ModulePlan>): void {
  if (plans.size === 0) return;
  const nodeModule = Module as unknown as ModuleWithHooks;
  const all = [...plans.values()];
  // module.registerHooks: added in v23.5.0 and v22.15.0 (synchronous, in-thread, sees require() too).
  if (typeof nodeModule.registerHooks === 'function') {
    keepLast(nodeModule, 'registerHooks', (registerHooks, generation) => registerSync(registerHooks as RegisterHooks, plans, generation));
    debug('hooks: module.registerHooks for %d target module(s)', plans.size);
  } else if (all.some((p) => p.format === 'module' || p.typescript)) {
    // module.register: added in v20.6.0. Off-thread: the plans travel as data.
    const data = { agent: builtin('node:crypto').randomUUID(), plans: all.map(planData) };
    keepLast(nodeModule, 'register', (register, generation) =>
      (register as Register)(new URL(`./hooks.js?generation=${generation}`, import.meta.url), import.meta.url, { data: { ...data, generation } }),
    );
    debug('hooks: module.register for %d ES module or TypeScript target(s)', all.filter((p) => p.format === 'module' || p.typescript).length);
  }
  patchCompile(all);
}

/**
 * Registers the agent's load hook, and again after each later registration of hooks by
 * anyone (`--import tsx` after the agent): hooks registered last run first, so the agent
 * then still sees the code the other loader made (tsx's JavaScript, with tsx's semantics
 * and source map), never makes that loader compile the agent's output. The copies
 * registered before pass everything through: only the latest generation instruments.
 */
function keepLast(nodeModule: ModuleWithHooks, name: 'registerHooks' | 'register', register: (original: (...args: never[]) => unknown, generation: number) => void): void {
  const original = nodeModule[name]!;
  let generation = 1;
  register(original as (...args: never[]) => unknown, generation);
  nodeModule[name] = function (this: unknown, ...args: unknown[]): unknown {
    const result = Reflect.apply(original, this, args);
    debug('hooks: module.%s called after the agent started: the agent registers its hooks again, last', name);
    register(original as (...args: never[]) => unknown, ++generation);
    return result;
  } as never;
  // Seen through the `node:module` object (tsx's `module.register`), not through a named
  // import taken before the agent started: syncing every builtin's exports for it would
  // also publish other tools' patches of other builtins.
}

let latest = 0;
/** The planned modules that no load hook has instrumented yet (undefined until the first registration). */
let undelivered: Set<string> | undefined;
/** The agent's registered load hooks, every generation. */
const registered: { deregister: () => void }[] = [];

function registerSync(registerHooks: RegisterHooks, plans: ReadonlyMap<string, ModulePlan>, generation: number): void {
  latest = generation;
  undelivered ??= new Set(plans.keys());
  if (undelivered.size === 0) return; // every planned module was instrumented already: no hook has anything left to do
  const handle = registerHooks({
    load(url, context, next) {
      const plan = generation === latest ? plans.get(url) : undefined;
      const result = next(url, context);
      if (plan === undefined) return result;
      const source = result.source == null ? builtin('node:fs').readFileSync(plan.filename, 'utf8') : text(result.source);
      const code = plan.codeFor(source, result.format);
      if (code === undefined) return result;
      debug('instrument %s (%s)', url, code.format);
      delivered(url);
      return { ...result, ...code };
    },
  });
  if (typeof handle?.deregister === 'function') registered.push(handle as { deregister: () => void });
}

/**
 * Once a hook has instrumented every planned module, the agent's hooks are deregistered:
 * while a load hook is registered every module the program loads goes through Node's hook
 * chain (on Node 22, some 5 % of a 2000-module start-up), and a planned module does not
 * come through a load hook twice (an ES module loads once per URL; a CommonJS target
 * required again after its require.cache entry is deleted is instrumented by the
 * _compile patch, as on Node 20). Deregistering inside a hook is safe: Node builds each
 * load's chain of hooks before it runs it.
 */
function delivered(url: string): void {
  if (!undelivered!.delete(url) || undelivered!.size > 0) return;
  debug('hooks: every planned module is instrumented: the agent deregisters its load hooks');
  for (const handle of registered.splice(0)) handle.deregister();
}

/** What the hooks thread needs of a plan (structured-cloned: no sites, no functions). */
function planData(p: ModulePlan): object {
  return {
    url: p.url,
    filename: p.filename,
    format: p.format,
    original: p.original,
    code: p.code,
    typescript: p.typescript,
    aligned: p.aligned,
    targets: p.targets.map((t) => ({ members: t.members, label: t.label, phase: t.phase, kind: t.kind })),
  };
}

function patchCompile(all: ModulePlan[]): void {
  const byFile = new Map(all.map((p) => [p.filename, p]));
  type Compile = (content: string, filename: string, format?: string) => unknown;
  const proto = (Module as unknown as { prototype: { _compile: Compile } }).prototype;
  const compile = function (this: { constructor: { prototype: { _compile: Compile } } }, content: string, filename: string, format?: string): unknown {
    const plan = byFile.get(filename);
    // The CommonJS loader of Node 20 passes no format for CommonJS.
    const code = plan?.codeFor(content, format ?? 'commonjs');
    if (code !== undefined && code.source !== content) {
      debug('instrument %s (%s, CommonJS loader)', plan!.url, code.format);
      content = code.source;
      // Node >= 22.18 strips a `-typescript` format here: the code is JavaScript already.
      if (format !== undefined) format = code.format;
    }
    return proto._compile.call(this, content, filename, format);
  };
  // Only the target modules get the patched _compile, as a property of their own: it is set
  // when the module object is made (its id, the file name, is the first property the Module
  // constructor sets), so no other module has one more frame on its stack while it loads.
  Object.defineProperty(proto, 'id', {
    configurable: true,
    get: () => undefined,
    set(this: object, id: unknown) {
      Object.defineProperty(this, 'id', { value: id, writable: true, enumerable: true, configurable: true });
      if (typeof id === 'string' && byFile.has(id)) Object.defineProperty(this, '_compile', { value: compile, writable: true, configurable: true });
    },
  });
  debug('hooks: Module.prototype._compile of %d target module(s)', all.length);
}
