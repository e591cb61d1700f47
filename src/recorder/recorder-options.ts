/**
 * A recorder's constructor options: their types and validation (MMRazor's spellings
 * accepted too: `func_path`, `method_path`, and its recorders' `source`).
 */
import { errors } from '../errors.js';
import { parseTargetPath, toBase, type Base, type TargetPath } from '../target-path.js';

export interface RecorderOptions {
  /** A name for messages; a RecorderManager sets it to the recorder's key. */
  name?: string;
  /** What relative module specifiers resolve against: a folder, a file, or import.meta.url. Default: the working directory. */
  base?: string | URL;
}

export interface FunctionRecorderOptions extends RecorderOptions {
  /** `<module>#<path>`: the function, named in the module where it is used. */
  funcPath: string;
}

export interface MethodRecorderOptions extends RecorderOptions {
  /** `<module>#<Class>.<method>` (or `<Class>.prototype.<method>`). */
  methodPath: string;
}

export interface NormalizedRecorderOptions {
  readonly path: TargetPath;
  readonly name: string | undefined;
  readonly base: Base;
}

/** Validates a recorder's options; `pathKey` is the option naming its target. */
export function normalizeRecorderOptions(who: string, raw: unknown, pathKey: 'funcPath' | 'methodPath'): NormalizedRecorderOptions {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw errors.optionsNotObject(who, raw);
  const aliases: Record<string, string> = { [pathKey === 'funcPath' ? 'func_path' : 'method_path']: pathKey, source: pathKey };
  const known = [pathKey, 'name', 'base'];
  const options: Record<string, unknown> = {};
  const given = new Map<string, string>();
  for (const key of Object.keys(raw)) {
    const canonical = aliases[key] ?? key;
    if (!known.includes(canonical)) throw errors.unknownOption(who, key, [...known, ...Object.keys(aliases)]);
    const value = (raw as Record<string, unknown>)[key];
    if (value === undefined) continue; // an option set to undefined is an option not given
    const earlier = given.get(canonical);
    if (earlier !== undefined && options[canonical] !== value) throw errors.conflictingAlias(who, earlier, key);
    given.set(canonical, key);
    options[canonical] = value;
  }
  const name = options.name;
  if (name !== undefined && (typeof name !== 'string' || name === '')) throw errors.badName(who, name);
  return { path: parseTargetPath(pathKey, options[pathKey]), name: name as string | undefined, base: toBase(options.base) };
}
