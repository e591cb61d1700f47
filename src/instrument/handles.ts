/**
 * What a rewritten module calls at run time: one handle per target of the module,
 * reached through the module's `__dd$(i)` helper. Each handle forwards to the target's
 * site and patches property paths once the objects that hold them exist.
 */
import { memberOf, type Site } from '../sites/site.js';
import { errors, isClass } from '../errors.js';
import { builtin, runtime } from '../runtime.js';
import { locateProperty } from '../sites/resolve-target.js';

/**
 * Moving `const f = () => {}` into a call loses the name inference; give the name back.
 * `inferred`: the name the rewrite made it take instead (a destructuring's hidden name).
 */
function nameAfter(fn: unknown, name: string | undefined, inferred?: string): void {
  if (name !== undefined && typeof fn === 'function' && (fn.name === '' || fn.name === inferred)) {
    Object.defineProperty(fn, 'name', { value: name, configurable: true });
  }
}

export class TargetHandle {
  private installed = false;

  constructor(
    readonly site: Site,
    private readonly url: string,
    private readonly members: readonly string[],
    private readonly kind: 'function' | 'method',
  ) {}

  private get who(): string {
    return `DISTILL_DELIVERY target "${this.site.label}"`;
  }

  /** `name`: the binding an anonymous function was written for, which it would have been named after. */
  wrap(fn: unknown, name?: string): Function {
    if (this.site.made(fn)) return fn as Function;
    this.refuse(fn);
    nameAfter(fn, name);
    return this.site.wrap(fn);
  }

  fn(value: unknown, name?: string, inferred?: string): unknown {
    if (!this.site.made(value)) nameAfter(value, name, inferred);
    return this.site.fn(value);
  }

  /**
   * At the end of the module: a value that is there but is not a function is an error
   * (a class too, unless this is a phase). `constant`: the binding can never change
   * (a `const`), so undefined and null are errors as well. `member`: the value is that
   * property of what get() returns (a module object's member). A binding not initialized
   * yet (its module is further down an import cycle) is checked once the modules
   * evaluating now have run.
   */
  check(get: () => unknown, constant?: boolean, member?: string, retry = true): void {
    let value: unknown;
    try {
      value = get();
      // A member is read only if it is there: a partly loaded CommonJS module (a require
      // cycle) warns about reading one that is not.
      if (member !== undefined) value = value !== null && (typeof value === 'object' || typeof value === 'function') && member in value ? (value as Record<string, unknown>)[member] : undefined;
    } catch (error) {
      if (error instanceof ReferenceError && retry) queueMicrotask(() => this.check(get, constant, member, false));
      return;
    }
    if (!constant && (value === undefined || value === null)) return;
    this.refuse(value);
  }

  /** Throws the DeliveryError for a value this target cannot be. */
  private refuse(value: unknown): void {
    if (typeof value !== 'function') throw errors.notAFunction(this.who, memberOf(this.site.label), value);
    if (isClass(value) && this.site.phase === undefined) throw errors.classTarget(this.who, memberOf(this.site.label));
  }

  /**
   * The value an export of a binding from elsewhere (`export { f } from`, `export *`, an
   * imported name exported again) holds: the wrapper of a function, anything else as it
   * is; undefined while the binding is uninitialized (an import cycle).
   */
  value(get: () => unknown): unknown {
    let value: unknown;
    try {
      value = get();
    } catch (error) {
      if (error instanceof ReferenceError) return undefined;
      throw error;
    }
    return typeof value === 'function' ? this.site.wrapperFor(value) : value;
  }

  /**
   * At the end of the module: sets such an export once more, refusing a value that is not
   * a function. A binding still undefined (its module initializes it lazily) is read again
   * once the modules evaluating now have run. One still uninitialized (its module is
   * further down an import cycle, and runs next) is exported meanwhile as a function that
   * calls it through the site, as the function that comes later would be called.
   */
  settle(get: () => unknown, set: (value: unknown) => void, retry = true): void {
    let value: unknown;
    let uninitialized = false;
    try {
      value = get();
    } catch (error) {
      if (!(error instanceof ReferenceError)) throw error;
      uninitialized = true;
    }
    if (value === undefined && retry) {
      if (uninitialized) set(this.forwarder(get));
      queueMicrotask(() => this.settle(get, set, false));
      return;
    }
    if (uninitialized) return;
    if (value !== undefined && value !== null) this.refuse(value);
    set(this.value(() => value));
  }

  /** A function that calls what get() reads, through the site, once it can be read. */
  private forwarder(get: () => unknown): Function {
    const handle = this;
    const name = memberOf(this.site.label).split('.').pop()!;
    return {
      [name](this: unknown, ...args: unknown[]): unknown {
        return Reflect.apply(handle.value(get) as Function, this, args);
      },
    }[name]!;
  }

  /**
   * Patches the property path (from members[skip]) on the object get() returns. Before
   * the module has finished (final false) a missing object or property is retried later.
   */
  patch(get: () => unknown, final: boolean, skip: number): void {
    let root: unknown;
    try {
      root = get();
    } catch (error) {
      if (!final && error instanceof ReferenceError) return; // not initialized yet (TDZ)
      throw error;
    }
    const members = this.members.slice(skip);
    const where = skip === 0 ? `the exports of ${this.url}` : `"${this.members[0]}"`;
    let located;
    try {
      located = locateProperty(this.who, this.site.label, root, members, where, this.kind, skip === 1 ? this.members[0] : undefined);
    } catch (error) {
      if (this.installed || (!final && !this.holdsInstance(root, members))) return;
      throw error;
    }
    if (builtin('node:util').types.isModuleNamespaceObject(located.owner)) {
      // `Type.Object` where Type is `import * as Type`: a namespace's bindings are read-only.
      throw errors.namespaceBinding(this.who, this.members.join('.'));
    }
    // Already the wrapper (`exports.f = <wrapped f>`) needs no write; anything else must be writable.
    if (!this.site.made((located.owner as Record<string, unknown>)[located.key])) {
      const own = Object.getOwnPropertyDescriptor(located.owner, located.key);
      if ((own !== undefined && !own.writable && !own.configurable) || (own === undefined && !Object.isExtensible(located.owner))) {
        throw errors.readOnlyExport(this.who, this.members.join('.'));
      }
    }
    this.site.installOn(located.owner, located.key);
    this.installed = true;
    if (located.viaPrototype) {
      const canonical = [...this.members.slice(0, -1), 'prototype', this.members[this.members.length - 1]].join('.');
      if (!runtime.bindingSites.has(`${this.url}#${canonical}`)) runtime.bindingSites.set(`${this.url}#${canonical}`, this.site);
    }
  }

  /**
   * A MethodOutputs `x.m` where x already holds an object, not a class: no later retry can
   * find a class there, so the error is now, while the module loads, not when it ends.
   */
  private holdsInstance(root: unknown, members: readonly string[]): boolean {
    return this.kind === 'method' && members.length === 1 && typeof root === 'object' && root !== null;
  }

  /** CommonJS: after the module ran, patch module.exports.<path>; `used` says the module also uses the name itself. */
  exports(module: { exports: unknown }, used: boolean): void {
    if (this.members.length === 1 && this.members[0] === 'default' && this.exportsItself(module)) return;
    try {
      this.patch(() => module.exports, true, 0);
    } catch (error) {
      // The module's own uses of the name are delivered, so its exports need not have it;
      // but an export of that name that holds a value, and no function, is refused all the same.
      if (used && !((error as { code?: unknown }).code === 'ERR_DELIVERY_NOT_A_FUNCTION' && this.holdsValue(module.exports))) return;
      if (typeof module.exports === 'function' && (error as { code?: unknown }).code === 'ERR_DELIVERY_TARGET_NOT_FOUND') {
        throw errors.targetNotFound(this.who, this.members.join('.'), `the exports of ${this.url} (module.exports is the function itself, which "#default" names)`, ['default']);
      }
      throw error;
    }
  }

  /** Whether the property path holds a value other than undefined and null on `root` (read without getters). */
  private holdsValue(root: unknown): boolean {
    let value = root;
    for (const key of this.members) {
      if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return false;
      const own = Object.getOwnPropertyDescriptor(value, key);
      if (own === undefined || !('value' in own)) return false;
      value = own.value;
    }
    return value !== undefined && value !== null;
  }

  /**
   * `module.exports = function bar() {}`: "#default" names module.exports itself, as an ES
   * module's default import of it does; the wrapper takes its place (and that of its own
   * properties that hold it, such as a `default` pointing back to it).
   */
  private exportsItself(module: { exports: unknown }): boolean {
    const exported = module.exports;
    if (typeof exported !== 'function' || (Object.hasOwn(exported, 'default') && (exported as { default?: unknown }).default !== exported)) return false;
    if (this.site.made(exported)) return true;
    const wrapper = this.site.wrap(exported) as unknown as Record<PropertyKey, unknown>;
    for (const key of Reflect.ownKeys(wrapper)) {
      const own = Object.getOwnPropertyDescriptor(wrapper, key)!;
      if (own.value === exported && own.writable) wrapper[key] = wrapper;
    }
    module.exports = wrapper;
    return true;
  }

  /** ESM `export *`: the value of `name` from the first namespace that has it; `required`: none having it is an error. */
  pick(name: string, namespaces: readonly object[], required?: boolean): unknown {
    for (const namespace of namespaces) if (name in namespace) return (namespace as Record<string, unknown>)[name];
    if (required) throw errors.targetNotFound(this.who, name, `the exports of ${this.url}`, []);
    return undefined;
  }
}
