/**
 * What a rewritten module calls at run time: one handle per target of the module,
 * reached through the module's `__dd$(i)` helper. Each handle forwards to the target's
 * site and patches property paths once the objects that hold them exist.
 */
import { types } from 'node:util';
import { memberOf, type Site } from '../delivery/site.js';
import { errors } from '../errors.js';
import { runtime } from '../runtime.js';
import { locateProperty } from '../delivery/resolve-target.js';

/** Moving `const f = () => {}` into a call loses the name inference; give the name back. */
function nameAfter(fn: unknown, name: string | undefined): void {
  if (name !== undefined && typeof fn === 'function' && fn.name === '') {
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
    if (!this.site.made(fn)) nameAfter(fn, name);
    return this.site.wrap(fn);
  }

  fn(value: unknown, name?: string): unknown {
    if (!this.site.made(value)) nameAfter(value, name);
    return this.site.fn(value);
  }

  /** At the end of the module: a wrapped value that is there but is not a function is an error. */
  check(get: () => unknown): void {
    let value: unknown;
    try {
      value = get();
    } catch {
      return;
    }
    if (value !== undefined && value !== null && typeof value !== 'function') {
      throw errors.notAFunction(this.who, memberOf(this.site.label), value);
    }
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
    if (types.isModuleNamespaceObject(located.owner)) {
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
    try {
      this.patch(() => module.exports, true, 0);
    } catch (error) {
      if (!used) throw error;
    }
  }

  /** ESM `export *`: the value of `name` from the first namespace that has it. */
  pick(name: string, namespaces: readonly object[], final?: boolean): unknown {
    for (const namespace of namespaces) if (name in namespace) return (namespace as Record<string, unknown>)[name];
    if (final) throw errors.targetNotFound(this.who, name, `the exports of ${this.url}`, []);
    return undefined;
  }
}
