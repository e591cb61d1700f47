/**
 * The `store` option of a manager (and key of the agent's config): where the store is,
 * whether this run records into it, replays from it, or replays what it holds and
 * records what follows ("auto"), and what the backend needs.
 * DISTILL_DELIVERY_STORE_MODE, when set, gives the mode (so one config serves the record
 * run and the replay runs); DISTILL_DELIVERY_RANK the rank; DISTILL_DELIVERY_PROGRESS
 * whether the progress line shows (../link/progress.ts). Every problem is an
 * ERR_DELIVERY_INVALID_CONFIG naming the key.
 */
import { errors, describe, didYouMean, knownNames, DeliveryError } from '../errors.js';
import { storeRank, type IfExists } from './rank.js';
import { parseStoreUrl } from './url.js';

export type StoreMode = 'record' | 'replay' | 'auto';

export interface StoreOptions {
  /** A folder (`./teacher-outputs`, resolved against the manager's base), a `file:` URL, or `redis://host:port/key`. */
  url: string | URL;
  /** Default: DISTILL_DELIVERY_STORE_MODE; one of the two is needed. "auto": replay the steps the store holds for this rank, then record what follows. */
  mode?: StoreMode;
  /** Record: what to do when the store already holds steps of this rank (default "error"); "auto" always resumes after them. */
  ifExists?: IfExists;
  /** Redis: how long to wait for a step, a reply or a connection, in ms (default 60000). */
  timeout?: number;
  /** Default: DISTILL_DELIVERY_RANK, else 0. */
  rank?: number;
  /** The progress line on stderr: true shows it even on a pipe, false never; default: when stderr is a terminal. DISTILL_DELIVERY_PROGRESS=1 or 0 decides over it. */
  progress?: boolean;
}

export interface NormalizedStore {
  readonly url: string | URL;
  /** What relative folders resolve against. */
  readonly base: string | URL | undefined;
  readonly mode: StoreMode;
  readonly ifExists: IfExists | undefined;
  readonly timeout: number | undefined;
  readonly rank: number;
  /** undefined: when stderr is a terminal. */
  readonly progress: boolean | undefined;
}

export const STORE_MODE_VARIABLE = 'DISTILL_DELIVERY_STORE_MODE';
export const PROGRESS_VARIABLE = 'DISTILL_DELIVERY_PROGRESS';
const KEYS = ['url', 'mode', 'ifExists', 'timeout', 'rank', 'progress'];
const MODES: readonly string[] = ['record', 'replay', 'auto'];
const IF_EXISTS: readonly string[] = ['error', 'overwrite', 'resume'];

/** The mode DISTILL_DELIVERY_STORE_MODE gives, or undefined when it is unset or blank. */
export function envStoreMode(env: NodeJS.ProcessEnv = process.env): StoreMode | undefined {
  const text = env[STORE_MODE_VARIABLE]?.trim();
  if (text === undefined || text === '') return undefined;
  if (!MODES.includes(text)) throw errors.config(STORE_MODE_VARIABLE, `must be "record", "replay" or "auto", but received ${describe(text)}${didYouMean(text, MODES)}.`);
  return text as StoreMode;
}

/** What DISTILL_DELIVERY_PROGRESS says: 1 or true shows the progress line, 0 or false hides it; undefined when unset or blank. */
export function envProgress(env: NodeJS.ProcessEnv = process.env): boolean | undefined {
  const text = env[PROGRESS_VARIABLE]?.trim().toLowerCase();
  if (text === undefined || text === '') return undefined;
  if (text === '1' || text === 'true') return true;
  if (text === '0' || text === 'false') return false;
  throw errors.config(PROGRESS_VARIABLE, `must be 1 (show the store's progress line, even on a pipe) or 0 (never), but received ${describe(env[PROGRESS_VARIABLE])}.`);
}

/** Validates a `store` option; `where` names it in messages (`DISTILL_DELIVERY (file /x.json) store`). */
export function normalizeStore(raw: unknown, where: string, base: string | URL | undefined, env: NodeJS.ProcessEnv = process.env): NormalizedStore {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw errors.config(where, `expected {"url": "./teacher-outputs", "mode": "record", "replay" or "auto"}, but received ${describe(raw)}.`);
  }
  const options = raw as Record<string, unknown>;
  for (const key of Object.keys(options)) {
    if (!KEYS.includes(key)) throw errors.config(`${where}.${key}`, `is not a known key${didYouMean(key, KEYS)}; use ${knownNames(key, KEYS)}.`);
  }
  const url = options.url;
  try {
    parseStoreUrl(url, base);
  } catch (error) {
    throw errors.config(`${where}.url`, (error as Error).message, { cause: error });
  }
  const mode = envStoreMode(env) ?? options.mode;
  if (typeof mode !== 'string' || !MODES.includes(mode)) {
    throw errors.config(`${where}.mode`, `must be "record", "replay" or "auto" (or set ${STORE_MODE_VARIABLE}), but received ${describe(mode)}${didYouMean(mode, MODES)}.`);
  }
  const ifExists = options.ifExists;
  if (ifExists !== undefined && (typeof ifExists !== 'string' || !IF_EXISTS.includes(ifExists))) {
    throw errors.config(`${where}.ifExists`, `must be "error", "overwrite" or "resume", but received ${describe(ifExists)}${didYouMean(ifExists, IF_EXISTS)}.`);
  }
  const progress = envProgress(env) ?? options.progress;
  if (progress !== undefined && typeof progress !== 'boolean') {
    throw errors.config(`${where}.progress`, `must be true (show the progress line even on a pipe) or false (never; without the key it shows when stderr is a terminal), but received ${describe(progress)}.`);
  }
  const timeout = options.timeout;
  if (timeout !== undefined && (!Number.isSafeInteger(timeout) || (timeout as number) <= 0)) {
    throw errors.config(`${where}.timeout`, `must be a positive whole number of milliseconds, but received ${describe(timeout)}.`);
  }
  let rank: number;
  try {
    rank = storeRank(options.rank, env);
  } catch (error) {
    const key = options.rank === undefined ? 'DISTILL_DELIVERY_RANK' : `${where}.rank`;
    throw errors.config(key, (error as DeliveryError).message, { cause: error });
  }
  return { url: url as string | URL, base, mode: mode as StoreMode, ifExists: ifExists as IfExists | undefined, timeout: timeout as number | undefined, rank, progress };
}
