// A corpus of module shapes (test/fixtures/agent/fidelity/: ESM and CommonJS, and the
// output of esbuild, tsc and Babel), each targeted: delivered by value in a real child, or
// refused with a code (at start-up where the source shows it, else as its module loads).
// Every module is also loaded as a bystander, and again with every target instrumented but
// no phase running: what an importer observes (digest.mjs) must be what it observes
// without the agent, but for the differences listed here (and in docs/how-it-works.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pathToFileURL } from 'node:url';
import { instrumentSource } from '../dist/instrument/source.js';
import { agentFixture, debugLines, output, runNode, unfired } from './helpers/run-node.mjs';

const dir = agentFixture('fidelity');
const fixture = (name) => agentFixture('fidelity', name);

/** Every deliverable target, with the calls one step makes through it. */
const deliverable = {
  './star-default.mjs#starred': 1, // export * beside a default import
  './star-namespace.mjs#starred': 1, // export * beside a namespace import
  './reexport.mjs#fn': 1, // export { fn, ... } from, with values that are not functions beside it
  './reexport.mjs#renamed': 1, // a second target in the same declaration
  './destructured.mjs#a': 1, // export const { a, ... } = make()
  './destructured.mjs#renamed': 1,
  './destructured.mjs#c': 1, // a destructuring default: c = (t) => ...
  './destructured.mjs#first': 1, // export let [first] = [...]
  './default-expression.mjs#default': 1, // export default make()
  './baz.mjs#default': 2, // export function baz; export default baz: both exports, one function
  './baz-barrel.mjs#baz': 1,
  './cycle-a.mjs#b.inB': 1, // a member of a module in an import cycle
  './cycle-barrel.mjs#late': 1, // a re-export of a binding not initialized when the barrel finishes
  './esbuild-lazy.mjs#scale': 1, // esbuild: var scale; export { scale }, set by a lazy __esm init
  './esbuild-esm.mjs#default': 2, // esbuild: var main_default = main; export { main_default as default, main as named }
  './kinds.mjs#fetchValue': 1, // async
  './kinds.mjs#arrow': 1,
  './kinds.mjs#obj.method': 1,
  'M:./kinds.mjs#Model.run': 1,
  './esbuild-cjs.cjs#f': 1, // esbuild CommonJS: __export getters, __toCommonJS
  './esbuild-cjs.cjs#g': 1,
  './tsc-cjs.cjs#tscF': 1, // tsc: exports.tscF = tscF
  './tsc-cjs.cjs#g': 1, // tsc: Object.defineProperty(exports, "g", { get })
  './tsc-cjs.cjs#lib_1.libF': 1, // tsc: (0, lib_1.libF)(t)
  './babel-cjs.cjs#named': 1, // Babel: exports.named = named
  './babel-cjs.cjs#default': 1, // Babel: var _default = exports.default = function ...
  './cjs-function.cjs#default': 2, // module.exports = function bar() {}
  './cjs-destructured.cjs#a': 1, // const { a, b: bee } = make(); module.exports = { a, bee }
  './cjs-destructured.cjs#bee': 1,
  './cjs-accessor.cjs#plain': 2, // beside accessors Node's export lexer does not find
  './kinds.cjs#sloppy': 1, // sloppy mode
  './block-var.mjs#blockVar': 1, // a var declared in a block, exported by a list
  './default-object-barrel.mjs#default.answer': 1, // import object from; export default object: a member importers reach through the export
  './default-object-alias.mjs#tools.question': 1, // the same object as export { object as tools }
  './prototypes.mjs#mixed': 1, // a function whose prototype is a mixin's (Object.setPrototypeOf)
  './prototypes.mjs#bare': 1, // a function with a null prototype: no call, apply or bind of its own
  './prototypes.mjs#bareArrow': 1,
  './prototypes.mjs#classy': 1, // a function whose prototype is a class: it inherits the class's statics
  './prototypes.mjs#boundBare': 1, // a bound function with a null prototype
};
/** Deliverable in the digest run only (no phase calls them): the kinds a wrapper must keep. */
const kindTargets = ['./lazy-barrel.mjs#scale', './default-expression.mjs#made', './kinds.mjs#items', './kinds.mjs#stream', './kinds.mjs#Point', './kinds.mjs#Ctor', './kinds.mjs#thisOf', './esbuild-esm.mjs#named', './kinds.cjs#bound', './columns.mjs#arrow', './columns.mjs#default'];

function spec(path, maxKeepData = 1) {
  return path.startsWith('M:') ? { type: 'MethodOutputs', methodPath: path.slice(2), maxKeepData } : { type: 'FunctionOutputs', funcPath: path, maxKeepData };
}
const configOf = (paths) => ({ deliveries: Object.fromEntries(paths.map((p, i) => [`d${i}`, spec(p)])) });

async function ok(promise) {
  const { code, signal, stdout, stderr } = await promise;
  assert.equal(stderr, '');
  assert.equal(signal, null);
  assert.equal(code, 0);
  return output(stdout);
}

test('every deliverable shape is delivered by value in the student step, and runs again outside the phases', async () => {
  const config = {
    deliveries: Object.fromEntries(Object.entries(deliverable).map(([p, n], i) => [`d${i}`, spec(p, n)])),
    phases: { record: ['./deliver.mjs#teacherStep'], override: ['./deliver.mjs#studentStep'] },
  };
  const { teacher, student, after } = await ok(runNode(fixture('deliver.mjs'), { config }));
  const keys = Object.keys(teacher);
  assert.ok(keys.length >= 35, `${keys.length} calls`);
  assert.deepEqual(keys.filter((k) => student[k] !== teacher[k]), [], 'every call of the student step is delivered');
  assert.deepEqual(keys.filter((k) => after[k] === teacher[k]), [], 'every call outside the phases runs');
  assert.equal(new Set(Object.values(teacher)).size, keys.length, 'every teacher call draws a fresh value');
});

// No phase calls the digest's targets: the agent's warnings that they never fired are silenced.
const digest = (options) => ok(runNode(fixture('digest.mjs'), { nodeArgs: unfired, ...options }));
let plain;
const withoutAgent = () => (plain ??= digest({ agent: false }));

/** The paths at which two JSON values differ. */
function differences(a, b, path = '', out = []) {
  if (JSON.stringify(a) === JSON.stringify(b)) return out;
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) differences(a[k], b[k], `${path}.${k}`, out);
  } else out.push(path);
  return out;
}

test('every module of the corpus, loaded as a bystander, observes exactly what it does without the agent', async () => {
  const config = configOf(['./elsewhere.mjs#unused']);
  const { code, stdout, stderr } = await runNode(fixture('digest.mjs'), { config, env: { NODE_DEBUG: 'delivery' }, nodeArgs: unfired });
  assert.equal(code, 0, stderr);
  assert.deepEqual(output(stdout), await withoutAgent());
  // The agent was active in that run, and rewrote only the module it targets.
  const instrumented = debugLines(stderr).filter((l) => l.startsWith('instrument ')).map((l) => l.split(' ')[1]);
  assert.deepEqual([...new Set(instrumented)], [pathToFileURL(fixture('elsewhere.mjs')).href]);
});

let targeted;
const withTargets = () =>
  (targeted ??= digest({
    config: { ...configOf([...Object.keys(deliverable), ...kindTargets]), phases: { record: ['./phases.mjs#asyncStep', './phases.mjs#generatorStep'], override: ['./phases.mjs#arrowStep'] } },
  }));

test('with every target of the corpus instrumented (phase functions of each kind too) and no phase running, importers observe what they do without the agent, but for the listed differences', async () => {
  // shimmer marks a wrapper it installs on a property (__original, __unwrap, __wrapped), so
  // that other shimmer-based instrumentation (OpenTelemetry's) sees it is wrapped.
  const found = differences(await withoutAgent(), await withTargets()).filter((p) => !/__(original|unwrap|wrapped)/.test(p) && !/\.own\.\d+$/.test(p));
  assert.deepEqual(found, [
    // A re-export of a binding still uninitialized when the barrel finishes (an import cycle)
    // is a function that forwards calls until the modules evaluating have run.
    '.modules.cycleBarrel.members.late.value.length',
    // "Where used": the barrel's export is delivered, the defining module's is not.
    '.identity.bazBarrel',
    '.identity.reexport',
    // The rewrite inserts a few characters before a one-line arrow, and a name in an
    // anonymous default export function: columns after them on that line shift (next test).
    '.columns.arrow',
    '.columns.default',
  ]);
});

test('an edited line shifts its columns by 8 after a wrapped one-line arrow, and by 7 in an anonymous default export function', async () => {
  const column = (frame) => Number(/:(\d+)\)$/.exec(frame)[1]);
  const before = (await withoutAgent()).columns;
  const after = (await withTargets()).columns;
  assert.equal(column(after.arrow) - column(before.arrow), '__dd$w0('.length);
  assert.equal(column(after.default) - column(before.default), '__dd$d0'.length);
});

test('every target refused as its module loads is refused with its code, and the module does not load', async () => {
  const refused = {
    './reexport.mjs#label': ['./reexport.mjs', 'ERR_DELIVERY_NOT_A_FUNCTION'], // a re-exported string
    './reexport-class.mjs#K': ['./reexport-class.mjs', 'ERR_DELIVERY_NOT_A_FUNCTION'], // a re-exported class
    './reexport-number.mjs#num': ['./reexport-number.mjs', 'ERR_DELIVERY_NOT_A_FUNCTION'],
    './star-namespace.mjs#starValue': ['./star-namespace.mjs', 'ERR_DELIVERY_NOT_A_FUNCTION'], // a number through export *
    './star-default.mjs#nothing': ['./star-default.mjs', 'ERR_DELIVERY_TARGET_NOT_FOUND'], // in no star source
    './destructured.mjs#n': ['./destructured.mjs', 'ERR_DELIVERY_NOT_A_FUNCTION'], // a destructured number
    './default-number.mjs#default': ['./default-number.mjs', 'ERR_DELIVERY_NOT_A_FUNCTION'], // export default compute()
    './default-class-expression.mjs#default': ['./default-class-expression.mjs', 'ERR_DELIVERY_NOT_A_FUNCTION'],
    './import-string.mjs#label': ['./import-string.mjs', 'ERR_DELIVERY_NOT_A_FUNCTION'], // an imported string
    './namespace-member.mjs#v.num': ['./namespace-member.mjs', 'ERR_DELIVERY_NOT_A_FUNCTION'],
    './esbuild-esm.mjs#tools.tool': ['./esbuild-esm.mjs', 'ERR_DELIVERY_NOT_A_FUNCTION'], // an __export getter
    './cjs-values.cjs#label': ['./cjs-values.cjs', 'ERR_DELIVERY_NOT_A_FUNCTION'],
    './cjs-function.cjs#bar': ['./cjs-function.cjs', 'ERR_DELIVERY_TARGET_NOT_FOUND'], // the function's own name: "#default" names it
    './cjs-derived.cjs#foo': ['./cjs-derived.cjs', 'ERR_DELIVERY_NOT_A_FUNCTION'], // exports.foo = root.foo + 1, though the module reads root.foo
    './default-namespace.mjs#default.next': ['./default-namespace.mjs', 'ERR_DELIVERY_NOT_INSTRUMENTED'], // a namespace object exported as the default
  };
  // A member of a module further down an import cycle is checked once the cycle has run:
  // cycle-b.mjs loads, then the refusal is an uncaught error.
  const config = configOf([...Object.keys(refused), './cycle-a.mjs#b.bValue']);
  const { codes, uncaught } = await ok(runNode(fixture('refusals.mjs'), { config, nodeArgs: unfired }));
  assert.deepEqual(codes, { ...Object.fromEntries(Object.values(refused)), './cycle-b.mjs': 'loaded' });
  assert.deepEqual(uncaught, ['ERR_DELIVERY_NOT_A_FUNCTION']);
  const loaded = await ok(runNode(fixture('refusals.mjs'), { agent: false }));
  assert.ok(Object.values(loaded.codes).every((c) => c === 'loaded'), 'without the agent every module loads');
});

test('a member of the object a module exports as its default that no phase calls is reported as called only outside the phases, not as missed through this module', async () => {
  const config = {
    deliveries: { d0: spec('./default-object-barrel.mjs#default.answer') },
    phases: { record: ['./default-object-idle.mjs#teacherStep'], override: ['./default-object-idle.mjs#studentStep'] },
    report: true,
  };
  const { code, stdout, stderr } = await runNode(fixture('default-object-idle.mjs'), { config });
  assert.equal(code, 0, stderr);
  assert.match(output(stdout).outside, /^answer:outside:\d+$/);
  const warning = stderr.split('\n').find((line) => line.includes('DISTILL_DELIVERY_NEVER_FIRED'));
  assert.ok(warning, stderr);
  // The member is patched on the object: a call from any module is delivered, so "through this module" would mislead.
  assert.doesNotMatch(warning, /through this module/);
  // Its one call (printed as "outside") came outside the phases, which the hint says (issue 20, point 3).
  assert.match(warning, /called 1 time\(s\), each outside the phases/);
});

test('targets the source shows are no function are refused when the plan is made, before the app runs', () => {
  const cases = [
    ['module', "export default 'text';", 'default'],
    ['module', 'export default -1;', 'default'],
    ['module', 'export default [1, 2];', 'default'],
    ['module', 'export default class {}', 'default'],
    ['module', 'class A {}\nexport default A;', 'default'],
    ['module', 'export default (class {});', 'default'],
    ['module', 'export const { ...rest } = {};', 'rest'],
    ['commonjs', 'const [...all] = [];\nmodule.exports = { all };', 'all'],
    ['module', "export * as ns from './values.mjs';", 'ns'],
    ['module', 'export const x = 1;', 'x'],
  ];
  for (const [format, source, member] of cases) {
    const target = { members: [member], label: `./m.js#${member}`, phase: false };
    assert.throws(() => instrumentSource(source, format, 'file:///m.js', [target]), { code: 'ERR_DELIVERY_NOT_A_FUNCTION' }, source);
  }
});

test('a target refused at start-up stops the process before the app runs', async () => {
  const { code, stdout, stderr } = await runNode(fixture('digest.mjs'), { config: configOf(['./default-string.mjs#default']) });
  assert.equal(stdout, '');
  assert.notEqual(code, 0);
  assert.match(stderr, /DeliveryError \[ERR_DELIVERY_NOT_A_FUNCTION\].*default-string\.mjs#default/);
});
