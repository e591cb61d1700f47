/**
 * Reads the agent's configuration from DISTILL_DELIVERY: inline JSON (first non-space
 * character `{` or `[`) or the path of a JSON file. JSON only: nothing in it is ever
 * evaluated as code. Every problem is a DeliveryError naming DISTILL_DELIVERY and the key.
 */
import { dirname, resolve } from 'node:path';
import { DeliveryError, didYouMean, errors, describe, knownNames } from '../errors.js';
import { parseTargetPath, type TargetPath } from '../target-path.js';
import { builtin } from '../runtime.js';
import { envStoreMode, normalizeStore, STORE_MODE_VARIABLE, type StoreOptions } from '../store/options.js';

export interface PhaseTarget {
  readonly path: TargetPath;
  readonly key: string;
}

export interface AgentConfig {
  /** Named specs, validated by the manager that builds them. */
  readonly deliveries: Record<string, unknown> | unknown[];
  /** Named recorder specs, validated by the RecorderManager that builds them. */
  readonly recorders: Record<string, unknown>;
  readonly record: PhaseTarget[];
  readonly override: PhaseTarget[];
  readonly instrument: PhaseTarget[];
  /** `"report": true`, or a path: print the report at exit. */
  readonly report: boolean;
  /** `"report": "path.json"`: also write it as JSON there (absolute, resolved against `base`). */
  readonly reportFile: string | undefined;
  /** `"strict": true`: exit status 1 when the report has findings. */
  readonly strict: boolean;
  /** `"store"`, validated (its mode from DISTILL_DELIVERY_STORE_MODE when that is set). */
  readonly store: StoreOptions | undefined;
  /** What relative module specifiers resolve against: the config file's folder, or the working directory. */
  readonly base: string;
  /** Where the config came from, for messages: `DISTILL_DELIVERY` or `DISTILL_DELIVERY (file /abs/x.json)`. */
  readonly source: string;
  /** SHA-256 of the config's text (hex): a record run keeps it with its run of the store. */
  readonly configHash: string;
}

const NAME = 'DISTILL_DELIVERY';
const KEYS = ['deliveries', 'recorders', 'phases', 'instrument', 'report', 'strict', 'store'];
const PHASE_KEYS = ['record', 'override'];

function paths(source: string, key: string, value: unknown): PhaseTarget[] {
  if (value === undefined) return [];
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list)) {
    throw errors.config(`${source} ${key}`, `expected a list of "<module>#<path>" strings, but received ${describe(value)}.`);
  }
  return list.map((item, i) => {
    const where = `${source} ${key}[${i}]`;
    return { path: parseTargetPath(where, item), key: where };
  });
}

/** Parses the configuration text; `base` is where relative targets resolve from. */
export function parseConfig(text: string, source: string, base: string): AgentConfig {
  const config = parse(text, source, base);
  // Hashed when first read (a store's record run keeps it): node:crypto costs a start with no store 2 to 6 ms.
  let hash: string | undefined;
  Object.defineProperty(config, 'configHash', {
    enumerable: true,
    get: () => (hash ??= builtin('node:crypto').createHash('sha256').update(text).digest('hex')),
  });
  return config as AgentConfig;
}

function parse(text: string, source: string, base: string): Omit<AgentConfig, 'configHash'> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw errors.config(source, `is not valid JSON (${(error as Error).message.split('\n')[0]}). Give inline JSON starting with "{" or "[", or the path of a JSON file.`);
  }
  if (Array.isArray(raw)) {
    return { deliveries: raw, recorders: {}, record: [], override: [], instrument: [], report: false, reportFile: undefined, strict: false, store: storeOf(undefined, source, base), base, source };
  }
  if (raw === null || typeof raw !== 'object') {
    throw errors.config(source, `must hold a JSON object or array, but holds ${describe(raw)}.`);
  }
  const object = raw as Record<string, unknown>;
  const keys = Object.keys(object);
  if (!keys.some((key) => KEYS.includes(key))) {
    // The seed's bare form: an object of named delivery specs.
    for (const key of keys) {
      const spec = object[key];
      if (spec === null || typeof spec !== 'object' || !Object.hasOwn(spec, 'type')) {
        throw errors.config(`${source} ${key}`, `is not a known key${didYouMean(key, KEYS)} nor a delivery spec with a "type"; use ${knownNames(key, KEYS)}.`);
      }
    }
    return { deliveries: object, recorders: {}, record: [], override: [], instrument: [], report: false, reportFile: undefined, strict: false, store: storeOf(undefined, source, base), base, source };
  }
  for (const key of keys) {
    if (!KEYS.includes(key)) throw errors.config(`${source} ${key}`, `is not a known key${didYouMean(key, KEYS)}; use ${knownNames(key, KEYS)}.`);
  }
  const deliveries = object.deliveries ?? {};
  if (deliveries === null || typeof deliveries !== 'object') {
    throw errors.config(`${source} deliveries`, `expected an object of named specs or an array of specs, but received ${describe(deliveries)}.`);
  }
  const recorders = object.recorders ?? {};
  if (recorders === null || typeof recorders !== 'object' || Array.isArray(recorders)) {
    throw errors.config(`${source} recorders`, `expected an object of named recorder specs, such as {"feat": {"type": "MethodOutputs", "methodPath": "./model.js#MLP.features", "phase": "record"}}, but received ${describe(recorders)}.`);
  }
  // The deliveries' names: an array's by spec.name or index, as the manager names them.
  const deliveryNames = Array.isArray(deliveries)
    ? deliveries.map((spec: unknown, i) => (spec !== null && typeof spec === 'object' && typeof (spec as { name?: unknown }).name === 'string' ? (spec as { name: string }).name : String(i)))
    : Object.keys(deliveries);
  for (const name of Object.keys(recorders)) {
    if (deliveryNames.includes(name)) {
      throw errors.config(`${source} recorders[${JSON.stringify(name)}]`, `has the name of a delivery; give each delivery and recorder its own name (a store keeps their records by name).`);
    }
  }
  let record: PhaseTarget[] = [];
  let override: PhaseTarget[] = [];
  if (object.phases !== undefined) {
    const phases = object.phases;
    if (phases === null || typeof phases !== 'object' || Array.isArray(phases)) {
      throw errors.config(`${source} phases`, `expected {"record": [...], "override": [...]}, but received ${describe(phases)}.`);
    }
    for (const key of Object.keys(phases)) {
      if (key !== 'record' && key !== 'override') throw errors.config(`${source} phases.${key}`, `is not a known key${didYouMean(key, PHASE_KEYS)}; use record and override.`);
    }
    record = paths(source, 'phases.record', (phases as Record<string, unknown>).record);
    override = paths(source, 'phases.override', (phases as Record<string, unknown>).override);
  }
  const report = object.report ?? false;
  if (typeof report !== 'boolean' && (typeof report !== 'string' || !report.endsWith('.json'))) {
    throw errors.config(`${source} report`, `must be true, false or the path of a .json file to write the report to as well, but received ${describe(report)}.`);
  }
  const strict = object.strict ?? false;
  if (typeof strict !== 'boolean') throw errors.config(`${source} strict`, `must be true or false, but received ${describe(strict)}.`);
  const store = storeOf(object.store, source, base);
  return {
    deliveries: deliveries as Record<string, unknown> | unknown[],
    recorders: recorders as Record<string, unknown>,
    record,
    override,
    instrument: paths(source, 'instrument', object.instrument),
    report: report !== false,
    // A relative path resolves as the targets do: against the config file's folder, or the working directory.
    reportFile: typeof report === 'string' ? resolve(base, report) : undefined,
    strict,
    store,
    base,
    source,
  };
}

/** The config's store, checked now so that a bad one stops the process before the app runs. */
function storeOf(raw: unknown, source: string, base: string): StoreOptions | undefined {
  const mode = envStoreMode();
  if (raw === undefined) {
    if (mode !== undefined) throw errors.config(STORE_MODE_VARIABLE, `is set to "${mode}", but ${source} has no "store" to ${mode === 'record' ? 'record into' : mode === 'replay' ? 'replay from' : 'replay from and record into'}; add "store": {"url": "./teacher-outputs"} to the config, or unset ${STORE_MODE_VARIABLE}.`);
    return undefined;
  }
  const { mode: normalized } = normalizeStore(raw, `${source} store`, base);
  return { ...(raw as StoreOptions), mode: normalized };
}

/** Reads DISTILL_DELIVERY; undefined when it is unset or blank (the agent then does nothing). */
export function readConfig(value: string | undefined, cwd = process.cwd()): AgentConfig | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const text = value.trimStart();
  // A child process inherits the parent's base (set by the agent), whatever its own working directory.
  if (text.startsWith('{') || text.startsWith('[')) return parseConfig(text, NAME, process.env.DISTILL_DELIVERY_BASE || cwd);
  const file = resolve(cwd, value.trim());
  let content: string;
  try {
    // Only a regular file: a device (/dev/zero), a FIFO or a socket could block or never end.
    const { readFileSync, statSync } = builtin('node:fs');
    const stats = statSync(file);
    if (!stats.isFile()) {
      const kind = stats.isDirectory() ? 'EISDIR: a folder' : 'a device, FIFO or socket';
      throw errors.config(NAME, `cannot read the config file ${file} (${kind}, not a regular file). Set it to inline JSON or the path of a JSON file.`);
    }
    content = readFileSync(file, 'utf8');
  } catch (error) {
    if (error instanceof DeliveryError) throw error;
    throw errors.config(NAME, `cannot read the config file ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}). Set it to inline JSON or the path of a readable JSON file.`);
  }
  return parseConfig(content.replace(/^\uFEFF/, ''), `${NAME} (file ${file})`, dirname(file));
}
