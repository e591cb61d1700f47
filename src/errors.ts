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
  | 'ERR_DELIVERY_OUTPUT_DISPOSED'
  | 'ERR_DELIVERY_DIVERGED'
  | 'ERR_DELIVERY_NOT_SERIALIZABLE';

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
      `${who} received the unknown option ${JSON.stringify(key)}. Use only ${list(known)}.`,
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
  notCallable: (who: string, option: string, value: unknown) =>
    new DeliveryError('ERR_DELIVERY_INVALID_OPTION', `${who} expects ${option} to be a function, but received ${describe(value)}.`),

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
      `${who}: "${missing}" is not in ${where}, which has ${list(available)}. Check the path after "#"; name the module where the function is used, or one of these.`,
    ),
  notAClass: (who: string, owner: string, value: unknown) =>
    new DeliveryError(
      'ERR_DELIVERY_TARGET_NOT_FOUND',
      `${who}: "${owner}" should be a class, but it is ${describe(value)}. A methodPath names "<Class>.<method>".`,
    ),
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
  unparsable: (who: string, file: string, format: 'module' | 'commonjs', detail: string) =>
    new DeliveryError(
      'ERR_DELIVERY_NOT_INSTRUMENTED',
      `${who} cannot be instrumented: ${file} as loaded does not parse as ${format === 'module' ? 'an ES module' : 'CommonJS'} (${detail}), so it was not run. Only JavaScript can be instrumented: fix its syntax, or point the target at the compiled JavaScript.`,
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
  stepExhausted: (who: string, recordedInStep: number) =>
    new DeliveryError(
      'ERR_DELIVERY_QUEUE_EMPTY',
      `Cannot replay ${who}: this override phase already replayed all ${recordedInStep} outputs its record phase made. The student calls it more often than the teacher; make both take the same path.`,
    ),
  noStep: (who: string) =>
    new DeliveryError(
      'ERR_DELIVERY_QUEUE_EMPTY',
      `Cannot replay ${who}: this override phase started when no record phase was waiting to be replayed. Run the teacher's phase before the student's.`,
    ),

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
  notSerializable: (who: string, path: string, what: string, purpose: 'copy' | 'store') =>
    new DeliveryError(
      'ERR_DELIVERY_NOT_SERIALIZABLE',
      `Cannot ${purpose} the output of ${who}: ${path === '' ? 'the output itself' : `its ${path}`} is ${what}, which cannot be ${purpose === 'copy' ? 'copied' : 'stored'}. Return plain data (objects, arrays, Maps, Sets, typed arrays, Dates) and tensors${purpose === 'copy' ? ', or set copy: false to deliver it by reference' : ''}.`,
    ),
};

/** Warnings: things that did not stop the program but that a user must hear about. */
export const warnings = {
  failedStep: (who: string, dropped: number) =>
    `${who}: a record phase threw or rejected, so the ${dropped} output(s) it recorded were discarded: no override phase will replay them, and the next one replays the next record phase (counted in stats().discarded).`,
  tooLate: (who: string) =>
    `${who}: a record phase recorded after the override phase replaying it had ended; the output was discarded (counted in stats().discarded). Let the teacher's step finish before the student's starts.`,
  allUndefined: (who: string, recorded: number) =>
    `${who}: all ${recorded} output(s) it recorded so far are undefined, so the student receives only undefined. A function that works by changing its arguments (as tf.util.shuffle shuffles its array in place) cannot be delivered by its outputs: deliver a function that returns the result instead (the shuffled array, the permutation, the random draws), or the function whose output uses it.`,
  leftover: (who: string, replayed: number, recorded: number) =>
    `${who}: an override phase replayed ${replayed} of the ${recorded} outputs its record phase made; the ${recorded - replayed} left were discarded so the next step stays aligned. The student calls it less often than the teacher; make both take the same path (further cases are counted in stats().discarded).`,
};
