/**
 * Resolves target paths: the module part with Node's own resolver, and the path after
 * "#" to a site after load (without the agent, or for targets the agent did not plan).
 */
import { createRequire, isBuiltin } from 'node:module';
import { isAbsolute } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { errors, isClass } from '../errors.js';
import { builtin, runtime } from '../runtime.js';
import type { Base, TargetPath } from '../target-path.js';
import { propertySite, type Site } from './site.js';

export interface ResolvedModule {
  readonly specifier: string;
  /** file: URL, or "node:<name>" for a builtin. */
  readonly url: string;
  /** The file, undefined for a builtin. */
  readonly filename: string | undefined;
  readonly builtin: boolean;
}

/** Resolves the module part with Node's resolver (require conditions), from `base`. */
export function resolveModule(who: string, target: TargetPath, base: Base): ResolvedModule {
  const { specifier } = target;
  if (isBuiltin(specifier)) {
    const url = specifier.startsWith('node:') ? specifier : `node:${specifier}`;
    return { specifier, url, filename: undefined, builtin: true };
  }
  let request = specifier;
  if (specifier.startsWith('file:')) {
    try {
      request = fileURLToPath(specifier);
    } catch (cause) {
      throw errors.moduleNotFound(who, specifier, base.display, cause);
    }
  }
  let filename: string;
  try {
    filename = createRequire(base.parent).resolve(request);
  } catch (cause) {
    const known = runtime.agent as { resolved?: Map<string, string> } | undefined;
    const url = known?.resolved?.get(`${base.parent}\0${specifier}`);
    if (url === undefined) throw errors.moduleNotFound(who, specifier, base.display, cause);
    return { specifier, url, filename: fileURLToPath(url), builtin: false };
  }
  if (!isAbsolute(filename)) return { specifier, url: `node:${filename}`, filename: undefined, builtin: true };
  return { specifier, url: pathToFileURL(filename).href, filename, builtin: false };
}

/** require's cache (Module._cache): the same object from any require function. */
const requireCache = createRequire(import.meta.url).cache;

function loadModule(target: TargetPath, module: ResolvedModule): object {
  // A loaded module is taken from the cache; else a require() of its own loads it: the
  // module a require() is made for lists every module it loads, or finds in the cache,
  // among its children, so one kept here would hold every target module for good.
  const cached = module.filename === undefined ? undefined : requireCache[module.filename];
  if (cached?.loaded) return cached.exports as object;
  const requireHere = createRequire(import.meta.url);
  if (module.builtin) {
    return (process.getBuiltinModule?.(module.url) ?? requireHere(module.url)) as object;
  }
  try {
    return requireHere(module.filename!) as object;
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_REQUIRE_ASYNC_MODULE') {
      throw errors.notInstrumented(
        `"${target.raw}"`,
        'is in an ES module with top-level await, which cannot be loaded synchronously after start-up.',
      );
    }
    throw error;
  }
}

/** Own and inherited property names, stopping before Object.prototype and Function.prototype. */
function namesOf(value: unknown): string[] {
  const names = new Set<string>();
  for (
    let o: unknown = value;
    o !== null && o !== undefined && o !== Object.prototype && o !== Function.prototype;
    o = Object.getPrototypeOf(o)
  ) {
    for (const key of Object.getOwnPropertyNames(o)) {
      if (key !== 'constructor' && key !== 'length' && key !== 'name' && key !== 'prototype' && key !== 'caller' && key !== 'arguments') names.add(key);
    }
    if (typeof o !== 'object' && typeof o !== 'function') break;
  }
  return [...names];
}

function findDescriptor(owner: object, key: string, stopAt: object): PropertyDescriptor | undefined {
  for (let o: object | null = owner; o !== null && o !== stopAt; o = Object.getPrototypeOf(o)) {
    const descriptor = Object.getOwnPropertyDescriptor(o, key);
    if (descriptor !== undefined) return descriptor;
  }
  return undefined;
}

export interface Located {
  readonly owner: object;
  readonly key: string;
  /** `Class.method` named the instance method: the canonical path is `Class.prototype.method`. */
  readonly viaPrototype: boolean;
}

/**
 * Walks `members` from `root` to the property a path names: `Class.method` is the
 * instance method (on Class.prototype), failing that the static one; both is ambiguous.
 * Throws a DeliveryError saying what is missing, and what is there instead.
 */
export function locateProperty(who: string, path: string, root: unknown, members: readonly string[], where: string, kind: 'function' | 'method', rootName?: string): Located {
  let owner: unknown = root;
  let walked = rootName === undefined ? '' : `${rootName}.`;
  for (let i = 0; i < members.length - 1; i++) {
    const segment = members[i]!;
    const value = owner === null || owner === undefined ? undefined : (owner as Record<string, unknown>)[segment];
    if (value === undefined || value === null || (typeof value !== 'object' && typeof value !== 'function')) {
      throw errors.targetNotFound(who, walked + segment, walked ? `"${walked.slice(0, -1)}"` : where, namesOf(owner));
    }
    owner = value;
    walked += segment + '.';
  }
  const key = members[members.length - 1]!;
  const ownerName = walked.slice(0, -1);
  const explicitPrototype = members.length >= 2 ? members[members.length - 2] === 'prototype' : rootName === 'prototype';
  if (kind === 'method' && ownerName !== '' && !explicitPrototype && typeof owner !== 'function') {
    throw errors.notAClass(who, ownerName, owner, key);
  }
  let viaPrototype = false;
  if (typeof owner === 'function' && ownerName !== '' && !explicitPrototype && typeof owner.prototype === 'object' && owner.prototype !== null) {
    const instance = findDescriptor(owner.prototype, key, Object.prototype);
    const statik = findDescriptor(owner, key, Function.prototype);
    if (instance !== undefined && statik !== undefined) throw errors.ambiguousMethod(path, ownerName, key);
    if (instance !== undefined) {
      owner = owner.prototype;
      viaPrototype = true;
    } else if (statik === undefined) {
      const names = [...namesOf(owner.prototype), ...namesOf(owner).map((n) => `static ${n}`)];
      throw errors.targetNotFound(who, [ownerName, key].filter(Boolean).join('.'), `class ${ownerName || 'default'}`, names);
    }
  }
  if (owner === null || owner === undefined || (typeof owner !== 'object' && typeof owner !== 'function')) {
    throw errors.targetNotFound(who, members.join('.'), where, []);
  }
  const descriptor = findDescriptor(owner as object, key, Object.prototype);
  if (descriptor === undefined) throw errors.targetNotFound(who, members.join('.'), ownerName ? `"${ownerName}"` : where, namesOf(owner));
  if (descriptor.get !== undefined || descriptor.set !== undefined) throw errors.accessor(who, members.join('.'));
  const value = descriptor.value as unknown;
  if (typeof value !== 'function') throw errors.notAFunction(who, members.join('.'), value);
  if (isClass(value)) throw errors.classTarget(who, members.join('.'));
  return { owner: owner as object, key, viaPrototype };
}

/**
 * Resolves the path after "#" on a loaded module, after load: the site of a class
 * method, of a property of a CommonJS `module.exports`, or of a builtin's export.
 * An ES module's own binding cannot be replaced after load: that needs the agent.
 */
export function resolvePropertyTarget(who: string, target: TargetPath, module: ResolvedModule, kind: 'function' | 'method'): Site {
  const root = loadModule(target, module);
  const { owner, key } = locateProperty(who, target.raw, root, target.members, `module "${target.specifier}"`, kind);
  if (builtin('node:util').types.isModuleNamespaceObject(owner)) {
    throw errors.notInstrumented(who, `is a binding of the ES module ${module.url}, which can only be replaced while the module loads.`);
  }
  const own = Object.getOwnPropertyDescriptor(owner, key);
  if ((own !== undefined && !own.writable && !own.configurable) || Object.isFrozen(owner)) {
    throw errors.notInstrumented(who, `cannot be patched after load: "${target.members.join('.')}" is read-only (its object is frozen or the property is non-writable).`);
  }
  if (own === undefined && !Object.isExtensible(owner)) {
    throw errors.notInstrumented(who, 'cannot be patched after load: the object that holds it is not extensible.');
  }
  return propertySite(target.raw, owner, key, module.builtin);
}
