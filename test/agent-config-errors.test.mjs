// A bad DISTILL_DELIVERY stops the process before the app prints anything, with a non-zero
// exit code and a message naming DISTILL_DELIVERY, the offending key or target, and the
// error code. The fixture app prints a line first and loads its target modules after it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agentFixture, lines, runNode, unfired } from './helpers/run-node.mjs';

const app = agentFixture('config-errors', 'app.js');
const dir = agentFixture('config-errors');

/** Runs the app with a config that must be refused; returns stderr. */
async function refused(config, options = {}) {
  const { code, signal, stdout, stderr } = await runNode(app, { config, ...options });
  assert.equal(stdout, '', 'the app must not have started');
  assert.equal(signal, null);
  assert.notEqual(code, 0);
  assert.match(stderr, /DISTILL_DELIVERY/);
  return stderr;
}

/** The error code the agent printed: `DeliveryError [CODE]: ...`. */
function codeOf(stderr) {
  return /DeliveryError \[(ERR_[A-Z_]+)\]/.exec(stderr)?.[1];
}

const delivery = (spec) => ({ deliveries: { x: { type: 'FunctionOutputs', funcPath: './lib.js#f', ...spec } } });

test('a good config lets the app run (the baseline of this file)', async () => {
  const { code, stdout, stderr } = await runNode(app, { config: { ...delivery({}), instrument: ['./lib.cjs#f', './dynamic.cjs#f'] }, nodeArgs: unfired });
  assert.equal(stderr, '');
  assert.equal(code, 0);
  assert.deepEqual(lines(stdout), [{ started: true }, { f: 1, forward: 2, cjs: 3, dynamic: 4 }]);
});

test('a config file that cannot be read is refused with ERR_DELIVERY_INVALID_CONFIG, naming the file', async () => {
  const stderr = await refused('./no-such-config.json');
  assert.equal(codeOf(stderr), 'ERR_DELIVERY_INVALID_CONFIG');
  assert.ok(stderr.includes(`${dir}/no-such-config.json`), stderr);
  assert.match(stderr, /ENOENT/);
});

test('a folder given as the config file is refused with ERR_DELIVERY_INVALID_CONFIG', async () => {
  const stderr = await refused(dir);
  assert.equal(codeOf(stderr), 'ERR_DELIVERY_INVALID_CONFIG');
  assert.match(stderr, /EISDIR/);
});

test('inline config that is not valid JSON is refused with ERR_DELIVERY_INVALID_CONFIG', async () => {
  const stderr = await refused('{"deliveries": {');
  assert.equal(codeOf(stderr), 'ERR_DELIVERY_INVALID_CONFIG');
  assert.match(stderr, /not valid JSON/);
});

test('a config file that is not valid JSON is refused with ERR_DELIVERY_INVALID_CONFIG, naming the file', async () => {
  const stderr = await refused('./bad.json');
  assert.equal(codeOf(stderr), 'ERR_DELIVERY_INVALID_CONFIG');
  assert.ok(stderr.includes(`${dir}/bad.json`), stderr);
});

test('a list of deliveries holding something other than a spec is refused with ERR_DELIVERY_INVALID_CONFIG', async () => {
  const stderr = await refused('[42]');
  assert.equal(codeOf(stderr), 'ERR_DELIVERY_INVALID_CONFIG');
  assert.match(stderr, /deliveries\["0"\]/);
});

test('deliveries that are not an object or array are refused with ERR_DELIVERY_INVALID_CONFIG, naming "deliveries"', async () => {
  const stderr = await refused({ deliveries: 42 });
  assert.equal(codeOf(stderr), 'ERR_DELIVERY_INVALID_CONFIG');
  assert.match(stderr, /\bdeliveries\b/);
});

test('an unknown delivery type is refused with ERR_DELIVERY_INVALID_CONFIG, naming the delivery and "type"', async () => {
  const stderr = await refused(delivery({ type: 'FunctionOutputz' }));
  assert.equal(codeOf(stderr), 'ERR_DELIVERY_INVALID_CONFIG');
  assert.match(stderr, /deliveries\["x"\]/);
  assert.match(stderr, /"type"/);
});

test('an unknown top-level key is refused with ERR_DELIVERY_INVALID_CONFIG, naming the key', async () => {
  const stderr = await refused({ ...delivery({}), phase: { record: [] } });
  assert.equal(codeOf(stderr), 'ERR_DELIVERY_INVALID_CONFIG');
  assert.match(stderr, /\bphase\b/);
});

test('an unknown key in a delivery spec is refused with ERR_DELIVERY_INVALID_CONFIG, naming the key', async () => {
  const stderr = await refused(delivery({ maxKeep: 2 }));
  assert.equal(codeOf(stderr), 'ERR_DELIVERY_INVALID_CONFIG');
  assert.match(stderr, /deliveries\["x"\]/);
  assert.match(stderr, /"maxKeep"/);
});

test('an unknown key in phases is refused with ERR_DELIVERY_INVALID_CONFIG, naming the key', async () => {
  const stderr = await refused({ ...delivery({}), phases: { teacher: ['./app.js#teacherStep'] } });
  assert.equal(codeOf(stderr), 'ERR_DELIVERY_INVALID_CONFIG');
  assert.match(stderr, /phases\.teacher/);
});

test('a report that is not a boolean is refused with ERR_DELIVERY_INVALID_CONFIG, naming "report"', async () => {
  const stderr = await refused({ ...delivery({}), report: 'yes' });
  assert.equal(codeOf(stderr), 'ERR_DELIVERY_INVALID_CONFIG');
  assert.match(stderr, /\breport\b/);
});

test('a path without "#" is refused with ERR_DELIVERY_INVALID_PATH, naming the path', async () => {
  const stderr = await refused(delivery({ funcPath: './lib.js' }));
  assert.equal(codeOf(stderr), 'ERR_DELIVERY_INVALID_PATH');
  assert.match(stderr, /"\.\/lib\.js"/);
});

test('a module that does not resolve is refused with ERR_DELIVERY_MODULE_NOT_FOUND, naming the specifier and the delivery', async () => {
  const stderr = await refused(delivery({ funcPath: './no-such-module.js#f' }));
  assert.equal(codeOf(stderr), 'ERR_DELIVERY_MODULE_NOT_FOUND');
  assert.match(stderr, /deliveries\["x"\]/);
  assert.match(stderr, /"\.\/no-such-module\.js"/);
});

test('a package that is not installed is refused with ERR_DELIVERY_MODULE_NOT_FOUND', async () => {
  const stderr = await refused(delivery({ funcPath: 'no-such-package-for-distill-delivery#f' }));
  assert.equal(codeOf(stderr), 'ERR_DELIVERY_MODULE_NOT_FOUND');
  assert.match(stderr, /"no-such-package-for-distill-delivery"/);
});

test('a phase in a module that does not resolve is refused with ERR_DELIVERY_MODULE_NOT_FOUND, naming phases.record[i]', async () => {
  const stderr = await refused({ ...delivery({}), phases: { record: ['./app.js#teacherStep', './no-such-module.js#teacherStep'] } });
  assert.equal(codeOf(stderr), 'ERR_DELIVERY_MODULE_NOT_FOUND');
  assert.match(stderr, /phases\.record\[1\]/);
});

test('a target missing from an ES module is refused with ERR_DELIVERY_TARGET_NOT_FOUND, naming it', async () => {
  const stderr = await refused(delivery({ funcPath: './lib.js#nope' }));
  assert.equal(codeOf(stderr), 'ERR_DELIVERY_TARGET_NOT_FOUND');
  assert.match(stderr, /deliveries\["x"\]/);
  assert.match(stderr, /"nope"/);
});

test('a method missing from a class is refused with ERR_DELIVERY_TARGET_NOT_FOUND, naming it', async () => {
  const stderr = await refused({ deliveries: { m: { type: 'MethodOutputs', methodPath: './lib.js#Model.backward' } } });
  assert.equal(codeOf(stderr), 'ERR_DELIVERY_TARGET_NOT_FOUND');
  assert.match(stderr, /deliveries\["m"\]/);
  assert.match(stderr, /Model\.backward/);
});

test('a target missing from a CommonJS module is refused with ERR_DELIVERY_TARGET_NOT_FOUND, naming it', async () => {
  const stderr = await refused(delivery({ funcPath: './lib.cjs#nope' }));
  assert.equal(codeOf(stderr), 'ERR_DELIVERY_TARGET_NOT_FOUND');
  assert.match(stderr, /"nope"/);
});

test('a target missing from a CommonJS module that assigns its exports is refused with ERR_DELIVERY_TARGET_NOT_FOUND', async () => {
  const stderr = await refused(delivery({ funcPath: './dynamic.cjs#nope' }));
  assert.equal(codeOf(stderr), 'ERR_DELIVERY_TARGET_NOT_FOUND');
  assert.match(stderr, /"nope"/);
});

test('a phase missing from its module is refused with ERR_DELIVERY_TARGET_NOT_FOUND, naming phases.override[i]', async () => {
  const stderr = await refused({ ...delivery({}), phases: { record: ['./app.js#teacherStep'], override: ['./app.js#studentStep'] } });
  assert.equal(codeOf(stderr), 'ERR_DELIVERY_TARGET_NOT_FOUND');
  assert.match(stderr, /phases\.override\[0\]/);
  assert.match(stderr, /"studentStep"/);
});

test('a target that is a number is refused with ERR_DELIVERY_NOT_A_FUNCTION', async () => {
  const stderr = await refused(delivery({ funcPath: './lib.js#answer' }));
  assert.equal(codeOf(stderr), 'ERR_DELIVERY_NOT_A_FUNCTION');
  assert.match(stderr, /"answer"/);
});

test('a target that is an object literal in a CommonJS module is refused with ERR_DELIVERY_NOT_A_FUNCTION', async () => {
  const stderr = await refused(delivery({ funcPath: './lib.cjs#answer' }));
  assert.equal(codeOf(stderr), 'ERR_DELIVERY_NOT_A_FUNCTION');
  assert.match(stderr, /"answer"/);
});

test('a class as a FunctionOutputs target is refused with ERR_DELIVERY_NOT_A_FUNCTION', async () => {
  const stderr = await refused(delivery({ funcPath: './lib.js#Model' }));
  assert.equal(codeOf(stderr), 'ERR_DELIVERY_NOT_A_FUNCTION');
  assert.match(stderr, /"Model"/);
});

for (const [what, value] of [
  ['zero', 0],
  ['negative', -1],
  ['fractional', 1.5],
  ['a string', '2'],
  ['a boolean', true],
]) {
  test(`a maxKeepData that is ${what} is refused with ERR_DELIVERY_INVALID_OPTION, naming maxKeepData and the delivery`, async () => {
    const stderr = await refused(delivery({ maxKeepData: value }));
    assert.equal(codeOf(stderr), 'ERR_DELIVERY_INVALID_OPTION');
    assert.match(stderr, /maxKeepData/);
    assert.match(stderr, /deliveries\["x"\]/);
  });
}

test('a random option other than "advance" or "off" is refused with ERR_DELIVERY_INVALID_OPTION, naming the delivery', async () => {
  const stderr = await refused(delivery({ random: 'sometimes' }));
  assert.equal(codeOf(stderr), 'ERR_DELIVERY_INVALID_OPTION');
  assert.match(stderr, /random of .* must be "advance"/);
  assert.match(stderr, /deliveries\["x"\]/);
});

test("MMRazor's max_keep_data is checked the same way", async () => {
  const stderr = await refused({ deliveries: { x: { type: 'FunctionOutputs', func_path: './lib.js#f', max_keep_data: 0 } } });
  assert.equal(codeOf(stderr), 'ERR_DELIVERY_INVALID_OPTION');
  assert.match(stderr, /maxKeepData|max_keep_data/);
});

// Names not found: the closest first, and "did you mean" when one is near.

test('a misspelt target lists the module\'s names closest first, even past a dozen, and says which one was likely meant', async () => {
  const stderr = await refused({ ...delivery({}), phases: { record: ['./steps.js#teacherstep'], override: ['./steps.js#studentStep'] } });
  assert.equal(codeOf(stderr), 'ERR_DELIVERY_TARGET_NOT_FOUND');
  assert.match(stderr, /phases\.record\[0\]/);
  assert.match(stderr, /\(did you mean "teacherStep"\?\), which has teacherStep, /);
  assert.match(stderr, /and \d+ more \(closest first\)/);
});

test('a misspelt top-level key, spec key, type, store key and store mode each say which name was likely meant', async () => {
  const cases = [
    [{ ...delivery({}), phase: { record: [] } }, /"phases"/],
    [delivery({ maxKeep: 2 }), /did you mean "maxKeepData"\?/],
    [delivery({ type: 'FunctionOutput' }), /did you mean "FunctionOutputs"\?/],
    [{ ...delivery({}), store: { url: './out', mdoe: 'record' } }, /did you mean "mode"\?/],
    [{ ...delivery({}), store: { url: './out', mode: 'recrod' } }, /did you mean "record"\?/],
  ];
  for (const [config, meant] of cases) {
    const stderr = await refused(config);
    assert.equal(codeOf(stderr), 'ERR_DELIVERY_INVALID_CONFIG', stderr);
    assert.match(stderr, meant);
  }
});

/** The DistillDeliveryWarnings on stderr, in Node's format. */
const nodeWarnings = (stderr) => [...stderr.matchAll(/^\(node:\d+\) \[([A-Z_]+)\] DistillDeliveryWarning: (.*)$/gm)].map(([, code, message]) => ({ code, message }));

test('an unknown DISTILL_DELIVERY_* variable is a warning at start naming the known ones, the closest first, and the app runs', async () => {
  const { code, stdout, stderr } = await runNode(app, { config: { instrument: ['./lib.cjs#f'] }, env: { DISTILL_DELIVERY_STORE_MOD: 'record' } });
  assert.equal(code, 0, stderr);
  assert.deepEqual(lines(stdout)[0], { started: true });
  const found = nodeWarnings(stderr);
  assert.deepEqual(found.map((w) => w.code), ['DISTILL_DELIVERY_UNKNOWN_VARIABLE']);
  assert.match(found[0].message, /^DISTILL_DELIVERY_STORE_MOD is set, .*\(did you mean DISTILL_DELIVERY_STORE_MODE\?\).* reads are DISTILL_DELIVERY_STORE_MODE, /);
});

test('a variable named like the package\'s in lower case (distill_delivery_store_mode) is warned of too, since only the upper-case name is read', async () => {
  const { code, stderr } = await runNode(app, { config: { instrument: ['./lib.cjs#f'] }, env: { distill_delivery_store_mode: 'record' } });
  assert.equal(code, 0, stderr);
  const found = nodeWarnings(stderr);
  assert.deepEqual(found.map((w) => w.code), ['DISTILL_DELIVERY_UNKNOWN_VARIABLE']);
  assert.match(found[0].message, /^distill_delivery_store_mode is set, /);
});

test('a config error a misspelt variable explains (no store mode: DISTILL_DELIVERY_STORE_MOD is set) names the variable with the error, once, though the process stops before a warning prints', async () => {
  const stderr = await refused({ ...delivery({}), store: { url: './out' } }, { env: { DISTILL_DELIVERY_STORE_MOD: 'record' } });
  assert.equal(codeOf(stderr), 'ERR_DELIVERY_INVALID_CONFIG', stderr);
  assert.match(stderr, /store\.mode: must be/);
  assert.equal(stderr.match(/DISTILL_DELIVERY_STORE_MOD is set, .*\(did you mean DISTILL_DELIVERY_STORE_MODE\?\)/g)?.length, 1, stderr);
  assert.match(stderr, /^\[DISTILL_DELIVERY_UNKNOWN_VARIABLE\] DISTILL_DELIVERY_STORE_MOD is set/m);
});

test('without DISTILL_DELIVERY, a variable named like the package\'s is a warning that the agent is off', async () => {
  const { code, stderr } = await runNode(app, { env: { DISTILL_DELIVERY_CONFIG: './deliveries.json' } });
  assert.equal(code, 0, stderr);
  const found = nodeWarnings(stderr);
  assert.deepEqual(found.map((w) => w.code), ['DISTILL_DELIVERY_UNKNOWN_VARIABLE']);
  assert.match(found[0].message, /DISTILL_DELIVERY_CONFIG is set.*DISTILL_DELIVERY is not set, so the agent is off/);
});
