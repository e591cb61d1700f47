/**
 * The one error class of the package, and every message it prints.
 *
 * Messages are one sentence each: the subject in quotes, what was received, the fix.
 * They describe values by type and count only, never by content: recorded outputs may
 * be private data. The one exception is a short string given as an option or config
 * value, quoted so that a typo shows (`the string "FunctionOutputz"`).
 */

export type DeliveryErrorCode =
  | 'ERR_DELIVERY_INVALID_PATH'
  | 'ERR_DELIVERY_INVALID_OPTION'
  | 'ERR_DELIVERY_INVALID_CONFIG'
  | 'ERR_DELIVERY_MODULE_NOT_FOUND'
  | 'ERR_DELIVERY_TARGET_NOT_FOUND'
  | 'ERR_DELIVERY_NOT_A_FUNCTION'
  | 'ERR_DELIVERY_NOT_INSTRUMENTED'
  | 'ERR_DELIVERY_QUEUE_FULL'
  | 'ERR_DELIVERY_QUEUE_EMPTY'
  | 'ERR_DELIVERY_REQUIRE_UNSUPPORTED'
  | 'ERR_DELIVERY_OUTPUT_DISPOSED'
  | 'ERR_DELIVERY_DIVERGED'
  | 'ERR_DELIVERY_NOT_SERIALIZABLE'
  // Recorders (src/recorder/).
  | 'ERR_DELIVERY_RECORD_INDEX'
  | 'ERR_DELIVERY_RECORDER_NOT_FOUND'
  // The store (src/store/).
  | 'ERR_DELIVERY_STORE_MISMATCH'
  | 'ERR_DELIVERY_STORE_EXISTS'
  | 'ERR_DELIVERY_STORE_CORRUPT'
  | 'ERR_DELIVERY_STORE_END'
  | 'ERR_DELIVERY_STORE_UNAVAILABLE';

export class DeliveryError extends Error {
  readonly code: DeliveryErrorCode;

  constructor(code: DeliveryErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    // Node's own errors print as `Name [CODE]: message`; do the same for the stack header.
    Object.defineProperty(this, 'name', { value: `DeliveryError [${code}]`, configurable: true, writable: true });
    void this.stack;
    Object.defineProperty(this, 'name', { value: 'DeliveryError', configurable: true, writable: true });
  }
}

/** The same error with where it came from in front of its message, keeping its code. */
export function inContext(error: unknown, context: string): unknown {
  if (!(error instanceof DeliveryError)) return error;
  return new DeliveryError(error.code, `${context}: ${error.message}`, { cause: error.cause });
}

/** A short, content-free description of a value: its kind, never its contents. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  switch (typeof value) {
    case 'string':
      return value.length > 80 ? `a string of ${value.length} characters` : `the string ${JSON.stringify(value)}`;
    case 'number':
      return Number.isFinite(value) ? `the number ${value}` : `${value}`;
    case 'boolean':
      return `${value}`;
    case 'bigint':
      return 'a bigint';
    case 'symbol':
      return 'a symbol';
    case 'function':
      return isClass(value) ? `a class (${value.name || 'anonymous'})` : `a function (${value.name || 'anonymous'})`;
    default: {
      const proto = Object.getPrototypeOf(value);
      const name = proto?.constructor?.name;
      return name && name !== 'Object' ? `an instance of ${name}` : 'an object';
    }
  }
}

export function isClass(fn: unknown): boolean {
  return typeof fn === 'function' && /^class[\s{]/.test(Function.prototype.toString.call(fn));
}

/** `delivery "mixup" ("./aug.js#Augments.call")`, or just the quoted path when unnamed. */
export function subject(path: string, name?: string): string {
  return name === undefined ? `"${path}"` : `delivery "${name}" ("${path}")`;
}

const list = (names: readonly string[], max = 12): string =>
  names.length === 0
    ? 'nothing'
    : names.slice(0, max).join(', ') + (names.length > max ? `, and ${names.length - max} more` : '');

/**
 * How many edits (insert, delete or change a character, or swap two neighbours) turn `a`
 * into `b`, ignoring case: the optimal string alignment distance, over two rows and the
 * one before them.
 */
function editDistance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let before: number[] = [];
  let previous = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const row = [i];
    for (let j = 1; j <= y.length; j++) {
      const change = x[i - 1] === y[j - 1] ? 0 : 1;
      let d = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + change);
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1]) d = Math.min(d, before[j - 2]! + 1);
      row.push(d);
    }
    before = previous;
    previous = row;
  }
  return previous[y.length]!;
}

/** The part of a name that is compared: `static step` is `step`, `a.b.step` is `step`. */
const bare = (name: string): string => {
  const plain = name.replace(/^static /, '');
  return plain.slice(plain.lastIndexOf('.') + 1);
};

/**
 * `names`, the closest to `given` first: the same name in another case, then by edit
 * distance; names equally far keep their order. So a typo's intended name leads the list
 * even when the list is cut short ("and 2 more").
 */
export function closest(given: string, names: readonly string[]): string[] {
  const key = bare(given);
  return names
    .map((name, i) => ({ name, i, d: editDistance(key, bare(name)) }))
    .sort((a, b) => a.d - b.d || a.i - b.i)
    .map((n) => n.name);
}

/** The name `given` was likely meant to be: the same in another case, a few edits away, or one it begins; undefined if none is near. */
export function likelyMeant(given: unknown, names: readonly string[]): string | undefined {
  if (typeof given !== 'string' || given === '') return undefined;
  const key = bare(given);
  const best = closest(given, names)[0];
  if (best === undefined || best === given) return undefined;
  const other = bare(best);
  const near = editDistance(key, other) <= Math.max(1, Math.floor(key.length / 3));
  const begins = key.length >= 3 && other.toLowerCase().startsWith(key.toLowerCase());
  return near || begins ? best : undefined;
}

/** ` (did you mean "teacherStep"?)`, or nothing when no name is near. */
export function didYouMean(given: unknown, names: readonly string[]): string {
  const meant = likelyMeant(given, names);
  return meant === undefined ? '' : ` (did you mean ${JSON.stringify(meant)}?)`;
}

/** The known names, the closest to `given` first: `deliveries, phases, ...`. */
export function knownNames(given: unknown, names: readonly string[]): string {
  return (typeof given === 'string' ? closest(given, names) : names).join(', ');
}

export const errors = {
  pathNotString: (option: string, value: unknown) =>
    new DeliveryError(
      'ERR_DELIVERY_INVALID_PATH',
      `${option} must be a string "<module>#<path>", but received ${describe(value)}. Pass a path such as "./toy.js#toyFunc".`,
    ),
  pathNoHash: (option: string, path: string) =>
    new DeliveryError(
      'ERR_DELIVERY_INVALID_PATH',
      `${option} "${path}" has no "#" between module and path. Write it as "<module>#<path>", for example "./toy.js#toyFunc" (MMRazor's "toy_module.toy_func").`,
    ),
  pathEmptyPart: (option: string, path: string, part: 'module' | 'path') =>
    new DeliveryError(
      'ERR_DELIVERY_INVALID_PATH',
      `${option} "${path}" has an empty ${part} part. Write it as "<module>#<path>", for example "./toy.js#toyFunc".`,
    ),
  pathBadSegment: (option: string, path: string, segment: string) =>
    new DeliveryError(
      'ERR_DELIVERY_INVALID_PATH',
      `${option} "${path}" has an invalid segment ${JSON.stringify(segment)}. Use dotted names, such as "Augments.prototype.call".`,
    ),
  methodPathTooShort: (path: string) =>
    new DeliveryError(
      'ERR_DELIVERY_INVALID_PATH',
      `methodPath "${path}" names no method: it needs a class and a method, such as "./aug.js#Augments.call". Use FunctionOutputsDelivery for a plain function.`,
    ),
  ambiguousMethod: (path: string, cls: string, method: string) =>
    new DeliveryError(
      'ERR_DELIVERY_INVALID_PATH',
      `"${path}" is ambiguous: class ${cls} has both an instance method and a static method "${method}". Write "${cls}.prototype.${method}" or rename one of them.`,
    ),

  notPositiveInteger: (who: string, option: string, value: unknown) =>
    new DeliveryError(
      'ERR_DELIVERY_INVALID_OPTION',
      `${option} of ${who} must be a positive integer, but received ${describe(value)}. Set it to the number of calls one record phase makes (at least 1).`,
    ),
  notBoolean: (who: string, option: string, value: unknown) =>
    new DeliveryError(
      'ERR_DELIVERY_INVALID_OPTION',
      `${option} of ${who} must be true (override) or false (record), but received ${describe(value)}.`,
    ),
  unknownOption: (who: string, key: string, known: readonly string[]) =>
    new DeliveryError(
      'ERR_DELIVERY_INVALID_OPTION',
      `${who} received the unknown option ${JSON.stringify(key)}${didYouMean(key, known)}. Use only ${list(closest(key, known))}.`,
    ),
  conflictingAlias: (who: string, a: string, b: string) =>
    new DeliveryError(
      'ERR_DELIVERY_INVALID_OPTION',
      `${who} received both ${a} and ${b} with different values. Give only one of them.`,
    ),
  optionsNotObject: (who: string, value: unknown) =>
    new DeliveryError('ERR_DELIVERY_INVALID_OPTION', `${who} expects an options object, but received ${describe(value)}.`),
  badBase: (value: unknown) =>
    new DeliveryError(
      'ERR_DELIVERY_INVALID_OPTION',
      `base must be a path, a file: URL string or a URL such as import.meta.url, but received ${describe(value)}.`,
    ),
  badName: (who: string, value: unknown) =>
    new DeliveryError('ERR_DELIVERY_INVALID_OPTION', `name of ${who} must be a non-empty string, but received ${describe(value)}.`),
  notBooleanOption: (who: string, option: string, value: unknown) =>
    new DeliveryError('ERR_DELIVERY_INVALID_OPTION', `${option} of ${who} must be true or false, but received ${describe(value)}.`),
  badCheck: (who: string, value: unknown) =>
    new DeliveryError(
      'ERR_DELIVERY_INVALID_OPTION',
      `check of ${who} must be "shape" (the default: compare each replayed call's arguments' kinds and shapes with the teacher's), "values" (also their hashes) or "off", but received ${describe(value)}.`,
    ),
  badRandom: (who: string, value: unknown) =>
    new DeliveryError(
      'ERR_DELIVERY_INVALID_OPTION',
      `random of ${who} must be "advance" (the default: a replayed call draws from Math.random as many times as its recorded call did) or "off", but received ${describe(value)}.`,
    ),
  notCallable: (who: string, option: string, value: unknown) =>
    new DeliveryError('ERR_DELIVERY_INVALID_OPTION', `${who} expects ${option} to be a function, but received ${describe(value)}.`),

  requireUnsupported: (version: string) =>
    new DeliveryError(
      'ERR_DELIVERY_REQUIRE_UNSUPPORTED',
      `--require cannot start the agent on Node ${version}: that needs module.registerHooks (Node >= 22.15), to install its hooks before the app loads. Start node with --import distill-delivery/register (or --import ./loader.mjs) instead.`,
    ),

  config: (where: string, message: string, options?: { cause?: unknown }) =>
    new DeliveryError('ERR_DELIVERY_INVALID_CONFIG', `${where}: ${message}`, options),

  moduleNotFound: (who: string, specifier: string, base: string, cause?: unknown) =>
    new DeliveryError(
      'ERR_DELIVERY_MODULE_NOT_FOUND',
      `Cannot find module ${JSON.stringify(specifier)} of ${who} from ${base}. Relative modules resolve against ${base}; check the spelling, or give a "base" option (a folder or import.meta.url).`,
      { cause },
    ),
  targetNotFound: (who: string, missing: string, where: string, available: readonly string[]) =>
    new DeliveryError(
      'ERR_DELIVERY_TARGET_NOT_FOUND',
      `${who}: "${missing}" is not in ${where}${didYouMean(missing, available)}, which has ${list(closest(missing, available))}${available.length > 1 ? ' (closest first)' : ''}. Check the path after "#"; name the module where the function is used, or one of these.`,
    ),
  notAClass: (who: string, owner: string, value: unknown, method: string) => {
    const cls = (Object.getPrototypeOf(value ?? null) as { constructor?: { name?: unknown } } | null)?.constructor?.name;
    const fix = typeof cls === 'string' && cls !== '' && cls !== 'Object' ? ` Name its class instead: "<module>#${cls}.${method}", with the module that defines or imports ${cls}.` : '';
    return new DeliveryError(
      'ERR_DELIVERY_TARGET_NOT_FOUND',
      `${who}: "${owner}" should be a class, but it is ${describe(value)}. A methodPath names "<Class>.<method>".${fix}`,
    );
  },
  notAFunction: (who: string, what: string, value: unknown, hint = '') =>
    new DeliveryError(
      'ERR_DELIVERY_NOT_A_FUNCTION',
      `${who}: "${what}" should be a function, but it is ${describe(value)}.${hint ? ' ' + hint : ''}`,
    ),
  accessor: (who: string, what: string) =>
    new DeliveryError(
      'ERR_DELIVERY_NOT_A_FUNCTION',
      `${who}: "${what}" is an accessor property (getter/setter), not a method, so its calls cannot be delivered. Deliver the function the getter returns, or a method.`,
    ),
  classTarget: (who: string, what: string) =>
    new DeliveryError(
      'ERR_DELIVERY_NOT_A_FUNCTION',
      `${who}: "${what}" is a class, and constructing one is not a call that can be replayed. Deliver one of its methods with MethodOutputsDelivery ("${what}.<method>").`,
    ),
  namespaceBinding: (who: string, what: string) =>
    new DeliveryError(
      'ERR_DELIVERY_NOT_INSTRUMENTED',
      `${who}: "${what}" is a binding of an ES module namespace object, which is read-only. Target the module that declares the function ("<module>#<name>"), or name it through the module where it is used.`,
    ),
  readOnlyExport: (who: string, what: string) =>
    new DeliveryError(
      'ERR_DELIVERY_NOT_INSTRUMENTED',
      `${who}: "${what}" is read-only where the module keeps it (a frozen object or a non-writable property), so calls through it cannot be delivered. Target the module that defines the function, or the module where it is used.`,
    ),
  /**
   * `as`: what the file failed to parse as. 'typescript': not valid TypeScript. A format with
   * `stripped`: valid TypeScript whose JavaScript (types stripped) the agent's parser does
   * not read in that format (a proposal such as decorators), so the file is not called unparsable.
   */
  unparsable: (who: string, file: string, as: 'module' | 'commonjs' | 'typescript', detail: string, stripped = false) =>
    new DeliveryError(
      'ERR_DELIVERY_NOT_INSTRUMENTED',
      as === 'typescript'
        ? `${who} cannot be instrumented: ${file} as loaded does not parse as TypeScript (${detail}), so it was not run. Fix its syntax.`
        : stripped
          ? `${who} cannot be instrumented: ${file} is TypeScript, but its JavaScript (types stripped) uses syntax the agent cannot read as ${as === 'module' ? 'an ES module' : 'CommonJS'} (${detail}), so it was not run. Move the target to a module without that syntax, or point it at the compiled JavaScript.`
          : `${who} cannot be instrumented: ${file} as loaded does not parse as ${as === 'module' ? 'an ES module' : 'CommonJS'} (${detail}), so it was not run. Only JavaScript and TypeScript can be instrumented: fix its syntax, or point the target at the compiled JavaScript.`,
    ),
  notInstrumented: (who: string, reason: string) =>
    new DeliveryError(
      'ERR_DELIVERY_NOT_INSTRUMENTED',
      `${who} ${reason} Start node with --import distill-delivery/register and list the target in DISTILL_DELIVERY ("deliveries" or "instrument"), so it is instrumented when its module loads.`,
    ),

  queueFull: (who: string, maxKeepData: number, pending: number) =>
    new DeliveryError(
      'ERR_DELIVERY_QUEUE_FULL',
      `Cannot record ${who}: its queue is full (maxKeepData ${maxKeepData}, ${pending} waiting). Replay them first (overrideData = true), or raise maxKeepData to the number of calls one record phase makes.`,
    ),
  queueEmpty: (who: string, maxKeepData: number, recorded: number) =>
    new DeliveryError(
      'ERR_DELIVERY_QUEUE_EMPTY',
      `Cannot replay ${who}: its queue is empty (maxKeepData ${maxKeepData}, ${recorded} recorded in all). Run the record phase (overrideData = false) first, and make the student call it no more often than the teacher.`,
    ),
  /** The teacher's step is full: its own calls outnumber maxKeepData, or earlier steps still wait. */
  stepFull: (who: string, maxKeepData: number, f: StepFacts) => {
    const where = `Cannot record ${who} in ${recordName(f)} (step ${f.step})`;
    if (f.waitingEarlier === 0) {
      return new DeliveryError(
        'ERR_DELIVERY_QUEUE_FULL',
        `${where}: this is the teacher's call ${f.recorded + 1} in this step, but maxKeepData is ${maxKeepData}; raise maxKeepData to the number of calls one teacher step makes.`,
      );
    }
    const fix =
      f.overrides === 0
        ? `no ${overrideName(f)} has run yet${configured(f, 'override')}, so check that ${f.agent ? 'phases.override names the student\'s step' : 'overridePhase() runs'} and that it runs after each teacher step`
        : `${f.records - 1} record phase(s) ran before this one and ${f.overrides} override phase(s), so run the student's step after each teacher step, or raise maxKeepData to let the teacher run ahead`;
    return new DeliveryError(
      'ERR_DELIVERY_QUEUE_FULL',
      `${where}: its queue is full (maxKeepData ${maxKeepData}) with ${f.waitingEarlier} output(s) of earlier record phases that no override phase replayed; ${fix}.`,
    );
  },
  /** The student's step found its teacher's step empty: why, from the step's counts. */
  stepEmpty: (who: string, f: StepFacts) => {
    const where = `Cannot replay ${who} in ${overrideName(f)} (step ${f.step})`;
    const teacher = `the teacher's ${recordName(f)} (step ${f.step})`;
    const call = `the student's call ${f.replayed + 1}`;
    let message: string;
    if (f.missing) {
      message =
        f.records === 0
          ? `Cannot replay ${who} in ${overrideName(f)} (its run ${f.overrides}): no ${recordName(f)} has run yet${configured(f, 'record')}; run the teacher's step before the student's.`
          : `Cannot replay ${who} in ${overrideName(f)} (its run ${f.overrides}): every record phase that ran (${f.records}) was replayed already or discarded, so the student runs more steps than the teacher; run one teacher step before each student step.`;
    } else if (f.running) {
      message = `${where}: ${call} came first, while ${teacher} is still running and has made ${f.recorded} call(s) so far; let each teacher step finish (await it) before its student step starts.`;
    } else if (f.recorded === 0) {
      message = `${where}: ${teacher} ended without calling it, so ${call} has nothing to replay; make the teacher's step call it too${f.agent ? ' (through the module the path names)' : ''}, or stop the student's from calling it.`;
    } else {
      message = `${where}: ${teacher} made ${f.recorded} call(s) and this is ${call}; the student calls it more often than the teacher, so make both take the same path.`;
    }
    return new DeliveryError('ERR_DELIVERY_QUEUE_EMPTY', message);
  },

  itemsExhausted: (who: string, yielded: number, open: boolean) =>
    new DeliveryError(
      'ERR_DELIVERY_QUEUE_EMPTY',
      `Cannot replay ${who}: the student pulled item ${yielded + 1} from its generator, but the teacher's generator yielded only ${yielded} ${open ? 'by then' : 'before the teacher stopped pulling from it'}. Make the student consume the generator no further than the teacher does.`,
    ),
  outputDisposed: (who: string) =>
    new DeliveryError(
      'ERR_DELIVERY_OUTPUT_DISPOSED',
      `Cannot replay ${who}: a tensor it recorded was disposed before the student's call (the teacher's function returned a tensor it had already disposed, or the kept copy was disposed by tf.engine().reset() or a backend change). Return tensors that are alive when the function returns, in arrays, plain objects or Maps where the delivery can keep them.`,
    ),
  diverged: (who: string, where: string, teacher: string, student: string) =>
    new DeliveryError(
      'ERR_DELIVERY_DIVERGED',
      `Cannot replay ${who}: at ${where} the student's call does not match the teacher's call it replays (teacher ${teacher}, student ${student}), so the output would belong to other inputs. Make the student call it as the teacher does, or set check: "off" on this delivery if the difference is intended.`,
    ),
  divergedContents: (who: string, where: string, path: string, shape: string) =>
    new DeliveryError(
      'ERR_DELIVERY_DIVERGED',
      `Cannot replay ${who}: at ${where} the student's call has other contents than the teacher's call it replays, first at ${path} (both calls ${shape}), so the output would belong to other inputs. Give the student the teacher's inputs, or set check: "shape" on this delivery to compare only kinds and shapes (check: "off" to compare nothing) if the difference is intended.`,
    ),
  notSerializable: (who: string, path: string, what: string, purpose: 'copy' | 'store') =>
    new DeliveryError(
      'ERR_DELIVERY_NOT_SERIALIZABLE',
      `Cannot ${purpose} the output of ${who}: ${path === '' ? 'the output itself' : `its ${path}`} is ${what}, which cannot be ${purpose === 'copy' ? 'copied' : 'stored'}. Return plain data (objects, arrays, Maps, Sets, typed arrays, Dates) and tensors${purpose === 'copy' ? ', or set copy: false to deliver it by reference' : ''}.`,
    ),
};

/**
 * What a message about a phase's queue says: the step (which record phase of the
 * delivery made it), its counts, how many phases of each kind ran, and how the phases
 * are run: the agent's phase functions (`agent`, named in `recorder`/`replayer`), or
 * recordPhase()/overridePhase() called by hand.
 */
export interface StepFacts {
  readonly step: number;
  readonly agent: boolean;
  readonly recorder: string | undefined;
  readonly replayer: string | undefined;
  /** Calls the teacher's step made, and the student's step replayed. */
  readonly recorded: number;
  readonly replayed: number;
  /** The teacher's step is still running. */
  readonly running: boolean;
  /** No record phase was left to replay. */
  readonly missing: boolean;
  /** Record and override phases run with this delivery. */
  readonly records: number;
  readonly overrides: number;
  /** Outputs of earlier steps still waiting. */
  readonly waitingEarlier: number;
  /** The agent's configured phase functions. */
  readonly names: { readonly record: readonly string[]; readonly override: readonly string[] } | undefined;
}

const recordName = (f: StepFacts): string => (!f.agent ? 'recordPhase()' : f.recorder === undefined ? 'record phase' : `record phase "${f.recorder}"`);
const overrideName = (f: StepFacts): string => (!f.agent ? 'overridePhase()' : f.replayer === undefined ? 'override phase' : `override phase "${f.replayer}"`);
const configured = (f: StepFacts, kind: 'record' | 'override'): string => {
  const names = f.names?.[kind] ?? [];
  return f.agent && names.length > 0 ? ` (phases.${kind}: ${names.map((n) => `"${n}"`).join(', ')} never called)` : '';
};

/** Warnings: things that did not stop the program but that a user must hear about, one code each. */
export const warningCodes = {
  /** An override phase replayed fewer outputs than its record phase made. */
  leftover: 'DISTILL_DELIVERY_LEFTOVER',
  /** A record phase threw or rejected: what it recorded was dropped. */
  failed: 'DISTILL_DELIVERY_FAILED_STEP',
  /** A record phase recorded after the override phase replaying it had ended. */
  late: 'DISTILL_DELIVERY_LATE_RECORD',
} as const;

/** The warning that every output a delivery recorded is undefined (it works by side effect). */
export const UNDEFINED_OUTPUTS_WARNING = 'DISTILL_DELIVERY_UNDEFINED_OUTPUTS';

/** The warning that a store's calls carry no digest of their contents (recorded before there were any). */
export const NO_DIGESTS_WARNING = 'DISTILL_DELIVERY_STORE_WITHOUT_DIGESTS';

/** The warning that a variable named like the package's (DISTILL_DELIVERY_...) is none of those it reads. */
export const UNKNOWN_VARIABLE_WARNING = 'DISTILL_DELIVERY_UNKNOWN_VARIABLE';

/** The warning (and report finding) that a store rank's record run did not end complete: killed, failed, or still writing. */
export const INCOMPLETE_STORE_WARNING = 'DISTILL_DELIVERY_STORE_INCOMPLETE';

export const warnings = {
  unknownVariable: (name: string, meant: string | undefined, known: readonly string[], agentOff: boolean) =>
    `${name} is set, but distill-delivery reads no variable of that name${meant === undefined ? '' : ` (did you mean ${meant}?)`}, so it changes nothing${agentOff ? ', and DISTILL_DELIVERY is not set, so the agent is off' : ''}. The variables it reads are ${known.join(', ')}; rename or unset it.`,
  failedStep: (who: string, phase: string, dropped: number) =>
    `${who}: ${phase} threw or rejected, so the ${dropped} output(s) it recorded were discarded: no override phase will replay them, and the next one replays the next record phase (counted in stats().discarded).`,
  tooLate: (who: string, phase: string) =>
    `${who}: ${phase} recorded after the override phase replaying it had ended; the output was discarded (counted in stats().discarded). Let the teacher's step finish before the student's starts.`,
  allUndefined: (who: string, recorded: number) =>
    `${who}: all ${recorded} output(s) it recorded so far are undefined, so the student receives only undefined. A function that works by changing its arguments (as tf.util.shuffle shuffles its array in place) cannot be delivered by its outputs: deliver a function that returns the result instead (the shuffled array, the permutation, the random draws), or the function whose output uses it.`,
  noDigests: (store: string) =>
    `${cap(store)} was recorded by a version of distill-delivery that kept no digest of its calls' contents, so its replays compare the calls' shapes only: a replay fed other data than the record run's is not caught. Record it again to have the contents compared.`,
  incompleteStore: (store: string, steps: number) =>
    `Replaying ${store}, whose record run did not finish: it holds ${steps} step(s), and the run that wrote them was killed, failed, or is still writing. The replay goes on and ends at its last step; finish the store with a run in mode "auto" (it replays the steps there and records the rest), or record it again (distill-delivery store info shows its runs).`,
  leftover: (who: string, phase: string, replayed: number, recorded: number) =>
    `${who}: ${phase} replayed ${replayed} of the ${recorded} outputs its record phase made; the ${recorded - replayed} left were discarded so the next step stays aligned. ${replayed === 0 ? 'The student\'s step never calls it' : 'The student calls it less often than the teacher'}; make both take the same path (further cases are counted in stats().discarded).`,
};

/** `the store "./teacher-outputs" (rank 0)`: how every store message names its subject. */
export function storeSubject(url: string, rank: number): string {
  return `the store "${url}" (rank ${rank})`;
}

const cap = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1);
const upTo = (last: number): string => (last < 0 ? 'no complete step' : last === 0 ? 'step 0' : `steps 0 to ${last}`);

/** The store's errors (src/store/). `store` is storeSubject(); steps count from 0, -1 meaning none. */
export const storeErrors = {
  badUrl: (value: unknown) =>
    new DeliveryError(
      'ERR_DELIVERY_INVALID_OPTION',
      `The store's url must be a folder ("./teacher-outputs", an absolute path or a file: URL) or "redis://host:port/key", but received ${describe(value)}.`,
    ),
  badRedisUrl: (url: string, problem: string) =>
    new DeliveryError(
      'ERR_DELIVERY_INVALID_OPTION',
      `The store's url "${url}" ${problem}. Write it as "redis://host:port/key", for example "redis://127.0.0.1:6379/teacher-outputs".`,
    ),
  badOption: (option: string, value: unknown, expected: string) =>
    new DeliveryError('ERR_DELIVERY_INVALID_OPTION', `The store's option ${option} must be ${expected}, but received ${describe(value)}.`),
  badRank: (source: string, value: unknown) =>
    new DeliveryError(
      'ERR_DELIVERY_INVALID_OPTION',
      `${source} must be a non-negative integer, this process's rank among the processes that write or replay a store, but received ${describe(value)}. Give each process its own: 0, 1, 2, ...`,
    ),
  badRecord: (store: string, field: string, value: unknown, expected: string) =>
    new DeliveryError('ERR_DELIVERY_INVALID_OPTION', `Cannot write a record to ${store}: its ${field} must be ${expected}, but received ${describe(value)}.`),
  exists: (store: string, last: number) =>
    new DeliveryError(
      'ERR_DELIVERY_STORE_EXISTS',
      `Cannot record into ${store}: it already holds ${upTo(last)}, and a record run does not overwrite a store. Set ifExists to "resume" to append after them, or to "overwrite" to replace them, or replay the store instead.`,
    ),
  otherWriter: (store: string, detail: string) =>
    new DeliveryError(
      'ERR_DELIVERY_STORE_EXISTS',
      `Cannot record into ${store}: another writer is writing the same rank (${detail}). Give each writing process its own rank (DISTILL_DELIVERY_RANK=0, 1, 2, ...).`,
    ),
  otherMetadata: (store: string, where: string, stored: unknown, given: unknown) =>
    new DeliveryError(
      'ERR_DELIVERY_STORE_MISMATCH',
      `${cap(store)} was recorded with other metadata: at ${where} it holds ${describe(stored)}, but this run gives ${describe(given)}. Use the configuration it was recorded with, or record a new store (ifExists "overwrite").`,
    ),
  notAStore: (store: string, detail: string) =>
    new DeliveryError(
      'ERR_DELIVERY_STORE_MISMATCH',
      `${cap(store)} is not a distill-delivery store: ${detail}. Point the url at a store a record run wrote, or at a folder or key that does not exist yet.`,
    ),
  missing: (store: string, detail: string) =>
    new DeliveryError(
      'ERR_DELIVERY_STORE_END',
      `Cannot replay ${store}: it does not exist (${detail}). Record it first, or check its url.`,
    ),
  noRank: (store: string, rank: number, ranks: readonly number[]) =>
    new DeliveryError(
      'ERR_DELIVERY_STORE_END',
      `Cannot replay ${store}: no record run wrote rank ${rank}, and the store holds ${ranks.length === 0 ? 'no rank' : `rank${ranks.length > 1 ? 's' : ''} ${ranks.join(', ')}`}. Replay each rank in the process that has its rank (DISTILL_DELIVERY_RANK, or the store's rank option), or record rank ${rank} first.`,
    ),
  writerGone: (store: string, step: number, last: number, lastRead: number, ttl: number) =>
    new DeliveryError(
      'ERR_DELIVERY_STORE_END',
      `Cannot replay step ${step} from ${store}: it holds ${upTo(last)}, and no record run is writing it any more: its writer showed no sign of life for ${ttl} ms and did not close it (killed, stopped, or cut off from the server); the last step read was ${lastRead < 0 ? 'none' : lastRead}. Replay no further than that, or resume the record run (ifExists "resume") to add steps.`,
    ),
  corrupt: (store: string, detail: string, lastGood: number) =>
    new DeliveryError(
      'ERR_DELIVERY_STORE_CORRUPT',
      `${cap(store)} is corrupted: ${detail}; it holds ${upTo(lastGood)} intact. Replay no further than that, or record the store again.`,
    ),
  end: (store: string, step: number, last: number, tail: string) =>
    new DeliveryError(
      'ERR_DELIVERY_STORE_END',
      `Cannot replay step ${step} from ${store}: it holds ${upTo(last)}${tail ? ` (${tail})` : ''}. Replay no more steps than the record run made, or resume that run (ifExists "resume") to add steps.`,
    ),
  unavailable: (store: string, detail: string, lastStep: number, role: 'written' | 'read', options?: { cause?: unknown }) =>
    new DeliveryError(
      'ERR_DELIVERY_STORE_UNAVAILABLE',
      `${cap(store)} is unavailable: ${detail}; the last step ${role} was ${lastStep < 0 ? 'none' : lastStep}. Check that the store can be reached, then ${role === 'written' ? 'resume the record run (ifExists "resume")' : `replay again from step ${lastStep + 1}`}.`,
      options,
    ),
  timeout: (store: string, step: number, ms: number, lastStep: number) =>
    new DeliveryError(
      'ERR_DELIVERY_STORE_UNAVAILABLE',
      `Step ${step} did not arrive from ${store} within ${ms} ms (the last step read was ${lastStep < 0 ? 'none' : lastStep}). Check that a record run is writing this rank, or raise the store's timeout.`,
    ),
  closed: (store: string) =>
    new DeliveryError('ERR_DELIVERY_STORE_UNAVAILABLE', `${cap(store)} was closed. Open it again to read or write it.`),
};


/** What deliveries say when they record to or replay from a store (src/link/store-link.ts, src/values/encode.ts). */
export const storeLinkErrors = {
  /** The text of the Error a store keeps in place of a thrown value it cannot keep. */
  thrownNotStored: (who: string, why: string) =>
    `${who} threw a value a store cannot keep, so the replay throws this error in its place (${why})`,
  phaseEnded: (store: string, step: number, recorded: 'threw' | 'returned', now: 'threw' | 'returned', options?: { cause?: unknown }) =>
    new DeliveryError(
      'ERR_DELIVERY_STORE_MISMATCH',
      `Cannot replay step ${step} of ${store}: its record phase ${recorded} in the record run, and this run's ${now}${now === 'threw' ? ' (the error is the cause)' : ''}. A replay must run as the record run did, failed phases included; replay the program and inputs it was recorded with, or record the store again.`,
      options,
    ),
  noTensorFlow: (who: string, tensors: number) =>
    new DeliveryError(
      'ERR_DELIVERY_STORE_MISMATCH',
      `Cannot replay ${who}: its stored output holds ${tensors} tensor(s), and this process has not loaded TensorFlow.js (no tfjs engine). Import @tensorflow/tfjs (or tfjs-core and a backend) before the first replayed call, as the record run did.`,
    ),
  otherDeliveries: (store: string, where: string, stored: unknown, given: unknown) =>
    new DeliveryError(
      'ERR_DELIVERY_STORE_MISMATCH',
      `${cap(store)} was recorded with other deliveries: at "${where}" it holds ${describe(stored)}, and this run gives ${describe(given)}. Replay with the deliveries it was recorded with, or record it again.`,
    ),
  call: (store: string, step: number, who: string, call: number, detail: string) =>
    new DeliveryError(
      'ERR_DELIVERY_STORE_MISMATCH',
      `Cannot replay step ${step} of ${store}: at call ${call + 1} of ${who} in that step, ${detail}. Replay the program and inputs it was recorded with, or record the store again.`,
    ),
  diverged: (store: string, step: number, who: string, call: number, path: string, shape: string) =>
    new DeliveryError(
      'ERR_DELIVERY_DIVERGED',
      `Cannot replay step ${step} of ${store}: call ${call + 1} of ${who} in that step has other contents than the recorded call, first at ${path} (both calls ${shape}), so its stored output belongs to other inputs. This run is fed other data than the record run at this step: probably another data seed, or a data loader that drifted (one that draws from a Math.random that a delivered function drew from in the record run, say, and that does not run in a replay). Replay with the record run's data, seeds and program, or record the store again from this data (a store recorded with check: "off" keeps nothing to compare).`,
    ),
  digestVersion: (store: string, step: number, who: string, call: number, version: number) =>
    new DeliveryError(
      'ERR_DELIVERY_STORE_MISMATCH',
      `Cannot replay step ${step} of ${store}: call ${call + 1} of ${who} in that step was recorded with a digest of its contents of version ${version}, and this version of distill-delivery reads version 1. Replay the store with the version that recorded it, or record it again.`,
    ),
  /** A step could not be written after its record phase had ended (a promise's value, the store's I/O): the cause's code. */
  failed: (store: string, step: number, cause: unknown) =>
    new DeliveryError(
      cause instanceof DeliveryError ? cause.code : 'ERR_DELIVERY_STORE_UNAVAILABLE',
      `Could not write step ${step} to ${store}: ${cause instanceof Error ? cause.message : String(cause)} No later step is written, so the store holds the steps before it; fix the cause, then record again.`,
      { cause },
    ),
};

/** `recorder "feat" ("./model.js#MLP.features")`, or just the quoted path when unnamed. */
export function recorderSubject(path: string, name?: string): string {
  return name === undefined ? `recorder "${path}"` : `recorder "${name}" ("${path}")`;
}

/** How far apart two names are (edits of one character), for the closest names first. */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length]!;
}

/** `names` quoted, the closest to `name` first. */
function closestFirst(name: string, names: readonly string[]): string {
  const sorted = [...names].sort((x, y) => distance(name.toLowerCase(), x.toLowerCase()) - distance(name.toLowerCase(), y.toLowerCase()));
  return list(sorted.map((n) => JSON.stringify(n)));
}

/** What recorders say (src/recorder/). */
export const recorderErrors = {
  badIndex: (who: string, option: 'recordIdx' | 'dataIdx', value: unknown) =>
    new DeliveryError(
      'ERR_DELIVERY_RECORD_INDEX',
      `Cannot read ${who}: ${option} must be a non-negative integer, but received ${describe(value)}.`,
    ),
  recordOutOfRange: (who: string, recordIdx: number, records: number) =>
    new DeliveryError(
      'ERR_DELIVERY_RECORD_INDEX',
      records === 0
        ? `Cannot read record ${recordIdx} of ${who}: it holds none, since no call reached its target while it was active (since it was last entered or cleared). Name the module where the function is used, and check that the phase or run() that activates it calls it.`
        : `Cannot read record ${recordIdx} of ${who}: it holds ${records} record(s), one per call since it was last entered or cleared. Read a record from 0 to ${records - 1}.`,
    ),
  notAList: (who: string, recordIdx: number, dataIdx: number, record: unknown) =>
    new DeliveryError(
      'ERR_DELIVERY_RECORD_INDEX',
      `Cannot read item ${dataIdx} of record ${recordIdx} of ${who}: that record is ${describe(record)}, not an array. Leave dataIdx out to get the whole record.`,
    ),
  dataOutOfRange: (who: string, recordIdx: number, dataIdx: number, length: number) =>
    new DeliveryError(
      'ERR_DELIVERY_RECORD_INDEX',
      `Cannot read item ${dataIdx} of record ${recordIdx} of ${who}: that record is an array of ${length}${length === 0 ? '' : `. Read an item from 0 to ${length - 1}`}.`,
    ),
  notFound: (name: unknown, where: string, names: readonly string[]) =>
    new DeliveryError(
      'ERR_DELIVERY_RECORDER_NOT_FOUND',
      typeof name !== 'string'
        ? `getRecorder() takes a recorder's name, a string, but received ${describe(name)}.${names.length > 0 ? ` ${cap(where)} has ${closestFirst('', names)}.` : ''}`
        : names.length === 0
          ? `There is no recorder ${JSON.stringify(name)}: ${where} has no recorders. Add it under "recorders", such as {"${name}": {"type": "MethodOutputs", "methodPath": "./model.js#MLP.features"}}.`
          : `There is no recorder ${JSON.stringify(name)} in ${where}, which has ${closestFirst(name, names)}. Use one of these names, or add it under "recorders".`,
    ),
  noAgent: (name: unknown) =>
    new DeliveryError(
      'ERR_DELIVERY_RECORDER_NOT_FOUND',
      `There is no recorder ${typeof name === 'string' ? JSON.stringify(name) : describe(name)}: getRecorder() gives the agent's recorders, and no agent runs in this process. Start node with --import distill-delivery/register and DISTILL_DELIVERY listing it under "recorders", or make a RecorderManager (or a recorder) in code.`,
    ),
};

/** What the store's tools say (src/store/open-store.ts, the command line): about a whole store, named by its url. */
export const storeToolErrors = {
  missing: (url: string, detail: string) =>
    new DeliveryError('ERR_DELIVERY_STORE_END', `There is no store at "${url}" (${detail}). Check the url: a folder a record run wrote, or redis://host:port/key.`),
  destinationExists: (from: string, to: string) =>
    new DeliveryError(
      'ERR_DELIVERY_STORE_EXISTS',
      `Cannot copy the store "${from}" to "${to}": a store is already there, and a copy never writes into one. Copy to a folder or key that holds no store, or delete that one first (distill-delivery store delete "${to}").`,
    ),
  copyDiffers: (to: string, rank: number, detail: string) =>
    new DeliveryError(
      'ERR_DELIVERY_STORE_CORRUPT',
      `The copy "${to}" (rank ${rank}) does not read back as it was written: ${detail}. Check the disk or server it is on, then delete the copy and copy again.`,
    ),
  noRank: (url: string, rank: number, ranks: readonly number[]) =>
    new DeliveryError('ERR_DELIVERY_STORE_END', `The store "${url}" has no rank ${rank}: it has ${ranks.length === 0 ? 'none' : `rank ${ranks.join(', ')}`}. Give one of those.`),
  shortOfRuns: (store: string, written: number, lastIntact: number) =>
    storeErrors.corrupt(store, `its record run wrote ${written} step(s), and ${lastIntact + 1} are there`, lastIntact),
};

/** What the command line says about how it was called (src/cli/): one line each, then its usage. */
export const cliMessages = {
  unknownCommand: (where: string, given: string, known: readonly string[]) => `"${given}" is not a command of ${where}; use ${known.join(', ')}.`,
  missingCommand: (where: string, known: readonly string[]) => `${where} needs a command: ${known.join(', ')}.`,
  positionals: (command: string, expected: string, given: number) => `${command} takes ${expected}, but received ${given} argument(s).`,
  badRank: (given: string) => `--rank must be a rank: a whole number from 0, but received "${given}".`,
  badTimeout: (given: string) => `--timeout must be a positive whole number of milliseconds, but received "${given}".`,
  deleteNeedsYes: (url: string) => `Refusing to delete the store "${url}" without --yes: standard input is not a terminal to ask on. Add --yes to delete it.`,
  deleteDeclined: (url: string) => `The store "${url}" was not deleted.`,
};
