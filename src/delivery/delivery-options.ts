/**
 * A delivery's constructor options: their types, defaults and validation (MMRazor's
 * snake_case spellings accepted too).
 */
import { errors, subject } from '../errors.js';
import { parseTargetPath, toBase, type Base, type TargetPath } from '../target-path.js';
import { RANDOM_MODES, type RandomMode } from '../values/draws.js';
import { CHECK_MODES, type CheckMode } from '../values/signature.js';

export type { CheckMode, RandomMode };

export interface DeliveryOptions {
  /** How many outputs may wait in the queue: a positive integer, default 1. */
  maxKeepData?: number;
  /** A name for messages and stats; the manager sets it to the delivery's key. */
  name?: string;
  /** What relative module specifiers resolve against: a folder, a file, or import.meta.url. Default: the working directory. */
  base?: string | URL;
  /** false (default): outputs by reference, as MMRazor; true: a deep copy taken when the teacher's call returns. */
  copy?: boolean;
  /** How each replayed call is compared with the teacher's call: "shape" (default), "values" or "off". */
  check?: CheckMode;
  /** "advance" (default): a replayed call advances Math.random by the draws its recorded call made; "off": it draws nothing. */
  random?: RandomMode;
}

/** Normalized constructor options. */
export interface NormalizedOptions {
  readonly path: TargetPath;
  readonly maxKeepData: number;
  readonly name: string | undefined;
  readonly base: Base;
  readonly copy: boolean;
  readonly check: CheckMode;
  readonly random: RandomMode;
}

const SNAKE: Record<string, string> = { func_path: 'funcPath', method_path: 'methodPath', max_keep_data: 'maxKeepData' };

/** Validates a constructor's options; accepts MMRazor's snake_case spellings too. */
export function normalizeOptions(who: string, raw: unknown, pathKey: 'funcPath' | 'methodPath'): NormalizedOptions {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw errors.optionsNotObject(who, raw);
  const known = [pathKey, 'maxKeepData', 'name', 'base', 'copy', 'check', 'random'];
  const aliases = Object.keys(SNAKE).filter((alias) => known.includes(SNAKE[alias]!));
  const options: Record<string, unknown> = {};
  const given = new Set<string>();
  for (const key of Object.keys(raw)) {
    const canonical = SNAKE[key] ?? key;
    if (!known.includes(canonical)) throw errors.unknownOption(who, key, [...known, ...aliases]);
    const value = (raw as Record<string, unknown>)[key];
    if (value === undefined) continue; // an option set to undefined is an option not given
    if (given.has(canonical) && options[canonical] !== value) {
      throw errors.conflictingAlias(who, canonical, Object.keys(SNAKE).find((k) => SNAKE[k] === canonical)!);
    }
    given.add(canonical);
    options[canonical] = value;
  }
  const name = options.name;
  if (name !== undefined && (typeof name !== 'string' || name === '')) {
    throw errors.badName(who, name);
  }
  const path = parseTargetPath(pathKey, options[pathKey]);
  const whoNow = subject(path.raw, name as string | undefined);
  const maxKeepData = options.maxKeepData === undefined ? 1 : options.maxKeepData;
  if (typeof maxKeepData !== 'number' || !Number.isSafeInteger(maxKeepData) || maxKeepData < 1) {
    throw errors.notPositiveInteger(whoNow, 'maxKeepData', maxKeepData);
  }
  const copy = options.copy === undefined ? false : options.copy;
  if (typeof copy !== 'boolean') throw errors.notBooleanOption(whoNow, 'copy', copy);
  const check = options.check === undefined ? 'shape' : options.check;
  if (!CHECK_MODES.includes(check as CheckMode)) throw errors.badCheck(whoNow, check);
  const random = options.random === undefined ? 'advance' : options.random;
  if (!RANDOM_MODES.includes(random as RandomMode)) throw errors.badRandom(whoNow, random);
  return { path, maxKeepData, name: name as string | undefined, base: toBase(options.base), copy, check: check as CheckMode, random: random as RandomMode };
}
