/**
 * Target paths `<module>#<path>`: parsing, and the base that relative module specifiers
 * resolve against. A leaf: resolving a path to a module and a site is the delivery
 * sites' (sites/resolve-target.ts).
 */
import { dirname, isAbsolute, resolve as resolvePath, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeliveryError, errors } from './errors.js';
import { builtin } from './runtime.js';

export interface TargetPath {
  /** As written: "./aug.js#Augments.call". */
  readonly raw: string;
  readonly specifier: string;
  /** The dotted path after "#", split: ["Augments", "call"]. */
  readonly members: readonly string[];
}

/** A folder or file that relative specifiers resolve against, as an absolute path. */
export interface Base {
  /** Absolute path usable by createRequire: a file, or a folder ending with a separator. */
  readonly parent: string;
  /** How messages name it. */
  readonly display: string;
}

const SEGMENT = /^[^.#\s]+$/u;

export function parseTargetPath(option: string, value: unknown): TargetPath {
  if (typeof value !== 'string') throw errors.pathNotString(option, value);
  const hash = value.lastIndexOf('#');
  if (hash === -1) throw errors.pathNoHash(option, value);
  const specifier = value.slice(0, hash).trim();
  const path = value.slice(hash + 1).trim();
  if (specifier === '') throw errors.pathEmptyPart(option, value, 'module');
  if (path === '') throw errors.pathEmptyPart(option, value, 'path');
  const members = path.split('.');
  for (const segment of members) {
    if (!SEGMENT.test(segment) || segment === '__proto__') throw errors.pathBadSegment(option, value, segment);
  }
  return { raw: value, specifier, members };
}

function endsWithSeparator(value: string): boolean {
  return value.endsWith('/') || value.endsWith(sep);
}

/**
 * A base written relative to another one (a spec's `base` in a config file, against the
 * file's folder; in a manager, against the manager's base), made absolute. Anything else
 * (a file: URL, an absolute path, a URL, no outer base) is returned as it is.
 */
export function baseRelativeTo(base: unknown, outer: unknown): unknown {
  if (typeof base !== 'string' || base === '' || base.startsWith('file:') || isAbsolute(base) || outer === undefined) return base;
  const { parent } = toBase(outer);
  const resolved = resolvePath(parent.endsWith(sep) ? parent : dirname(parent), base);
  return endsWithSeparator(base) ? resolved + sep : resolved;
}

/** Normalizes the `base` option: a folder or file path, a file: URL string, or a URL. */
export function toBase(base: unknown): Base {
  if (base === undefined) {
    const cwd = process.cwd();
    return { parent: cwd.endsWith(sep) ? cwd : cwd + sep, display: cwd };
  }
  let path: string;
  try {
    if (base instanceof URL) {
      if (base.protocol !== 'file:') throw errors.badBase(base);
      path = fileURLToPath(base);
    } else if (typeof base === 'string' && base !== '') {
      path = base.startsWith('file:') ? fileURLToPath(base) : resolvePath(base);
    } else {
      throw errors.badBase(base);
    }
  } catch (error) {
    // fileURLToPath refuses a URL with a host, an encoded "/" or NUL, or one that does not parse.
    throw error instanceof DeliveryError ? error : errors.badBase(base);
  }
  let folder = false;
  try {
    folder = builtin('node:fs').statSync(path).isDirectory();
  } catch {
    // A missing path is a folder if it was written as one: resolvePath() drops the separator.
    folder = endsWithSeparator(base instanceof URL ? base.href : base);
  }
  if (!folder) return { parent: path, display: dirname(path) };
  const bare = path.endsWith(sep) && path !== sep ? path.slice(0, -1) : path;
  return { parent: bare === sep ? sep : bare + sep, display: bare };
}

