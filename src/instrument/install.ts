/**
 * The module hooks that deliver each target module's planned code, and nothing else:
 * - Node >= 22.15: one synchronous `module.registerHooks` load hook, for ES modules and
 *   CommonJS alike;
 * - Node 20: `module.register` (async, off-thread) only if a target is an ES module, plus a
 *   `Module.prototype._compile` patch for CommonJS targets and for ES module targets loaded
 *   by `require()` (Node 20's async hooks never see `require()`).
 * Every other module loads untouched and unparsed: a hook only looks its URL up in a map.
 */
import { readFileSync } from 'node:fs';
import Module from 'node:module';
import { debuglog } from 'node:util';
import { errors } from '../errors.js';
import { text, type LoadResult } from './hooks.js';
import { TargetHandle } from './handles.js';
import type { Format } from './scan.js';
import type { SourceTarget } from './plan.js';
import type { Site } from '../delivery/site.js';

const debug = debuglog('delivery');

export interface PlannedTarget extends SourceTarget {
  /** Where the config names it: `DISTILL_DELIVERY deliveries["mixup"]`. */
  readonly key: string;
  readonly role: 'delivery' | 'record' | 'override' | 'instrument';
  readonly kind: 'function' | 'method';
  readonly site: Site;
}

/** The rewrite itself (source.ts), loaded by the agent only when a module is a target. */
export interface Instrumenter {
  instrumentSource(source: string, format: Format, url: string, targets: readonly SourceTarget[]): { code: string; notes: string[] };
  ParseError: new (...args: never[]) => Error;
}

/** The plan for one target module: its original source, its instrumented code, its targets. */
export class ModulePlan {
  private handleList: TargetHandle[] | undefined;

  constructor(
    readonly url: string,
    readonly filename: string,
    readonly format: Format,
    readonly original: string,
    readonly code: string,
    readonly targets: PlannedTarget[],
    private readonly instrumenter: Instrumenter,
  ) {}

  /** The code to run for `source`: the planned code, or a fresh rewrite if another loader changed the source. */
  codeFor(source: string, format: Format): string {
    const text = source.replace(/^\uFEFF/, '');
    if (text === this.original && format === this.format) return this.code;
    debug('re-instrument %s: its source or format (%s) differs from the one planned', this.url, format);
    try {
      return this.instrumenter.instrumentSource(text, format, this.url, this.targets).code;
    } catch (error) {
      if (!(error instanceof this.instrumenter.ParseError)) throw error;
      throw errors.unparsable(`"${this.targets[0]!.label}"`, this.filename, format, error.message);
    }
  }

  handles(): TargetHandle[] {
    return (this.handleList ??= this.targets.map((t) => new TargetHandle(t.site, this.url, t.members, t.kind)));
  }
}

type SyncNext = (url: string, context: unknown) => LoadResult;
interface ModuleWithHooks {
  registerHooks?: (hooks: { load: (url: string, context: unknown, next: SyncNext) => LoadResult }) => unknown;
  register?: (specifier: string | URL, parentURL?: string | URL, options?: { data?: unknown }) => void;
}

/** Installs the hooks that reach the planned modules (none without plans). */
export function installHooks(plans: ReadonlyMap<string, ModulePlan>): void {
  if (plans.size === 0) return;
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
    return;
  }
  const all = [...plans.values()];
  if (all.some((p) => p.format === 'module')) {
    // module.register: added in v20.6.0. Off-thread: the plans travel as data.
    nodeModule.register!(new URL('./hooks.js', import.meta.url), import.meta.url, {
      data: { plans: all.map((p) => ({ url: p.url, format: p.format, original: p.original, code: p.code, targets: p.targets.map((t) => ({ members: t.members, label: t.label, phase: t.phase, kind: t.kind })) })) },
    });
    debug('hooks: module.register for %d ES module target(s)', all.filter((p) => p.format === 'module').length);
  }
  // CommonJS targets, and ES module targets loaded by require() (require(esm): Node 20.19+
  // compiles them through Module.prototype._compile with format 'module', unseen by the hooks above).
  const byFile = new Map(all.map((p) => [p.filename, p]));
  type Compile = (content: string, filename: string, format?: string) => unknown;
  const proto = (Module as unknown as { prototype: { _compile: Compile } }).prototype;
  const compile = function (this: { constructor: { prototype: { _compile: Compile } } }, content: string, filename: string, format?: string): unknown {
    const plan = byFile.get(filename);
    if (plan !== undefined) {
      const as: Format = format === 'module' ? 'module' : 'commonjs';
      debug('instrument %s (%s, CommonJS loader)', plan.url, as);
      content = plan.codeFor(content, as);
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
