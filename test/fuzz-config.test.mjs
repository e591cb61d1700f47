// Bad input: the config and path parsers and the manager's constructor, fuzzed with
// fast-check (fixed seed, bounded runs) on random and mutated JSON, odd specifiers, Unicode,
// very long strings and prototype-pollution keys. Only DeliveryErrors with a code come out:
// never another error, a hang (each test has a timeout) or a polluted prototype.
// Spawned agent runs with hostile configs are in test/agent-hostile-config.test.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { DeliveryError, DistillDeliveryManager, FunctionOutputsDelivery, MethodOutputsDelivery } from 'distill-delivery';
import { parseConfig, readConfig } from '../dist/agent/config.js';
import { parseTargetPath } from '../dist/target-path.js';

const SEED = 20240229;
const RUNS = 300;
const TIMEOUT = 60_000;
const settings = { seed: SEED, numRuns: RUNS, endOnFailure: true };

// A folder of its own for relative targets and config files: nothing the fuzzer names can reach the repository.
const dir = mkdtempSync(join(tmpdir(), 'distill-delivery-fuzz-'));
writeFileSync(join(dir, 'x.js'), 'exports.f = () => 1;\nexports.K = class K { m() { return 1; } };\n');
writeFileSync(join(dir, 'config.json'), '{"deliveries": {"x": {"type": "FunctionOutputs", "funcPath": "./x.js#f"}}}');
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

const prototypes = [Object.prototype, Array.prototype, Function.prototype, String.prototype];
const snapshot = () => prototypes.map((p) => Reflect.ownKeys(p).length);
const before = snapshot();

/** Runs fn; a throw must be a DeliveryError with an ERR_DELIVERY_ code. Returns what fn returned, or the error. */
function onlyDeliveryErrors(fn) {
  try {
    return fn();
  } catch (error) {
    if (!(error instanceof DeliveryError)) throw new Error(`not a DeliveryError: ${error?.stack ?? error}`);
    assert.match(error.code, /^ERR_DELIVERY_[A-Z_]+$/);
    assert.equal(typeof error.message, 'string');
    return error;
  }
}

function assertClean() {
  assert.equal({}.polluted, undefined);
  assert.equal({}.maxKeepData, undefined);
  assert.equal({}.type, undefined);
  assert.deepEqual(snapshot(), before, 'a builtin prototype gained properties');
}

const hostileKeys = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__'];
const configKeys = ['deliveries', 'phases', 'instrument', 'report', 'strict', 'record', 'override', ...hostileKeys];
const specKeys = ['type', 'funcPath', 'methodPath', 'func_path', 'method_path', 'maxKeepData', 'max_keep_data', 'name', 'base', ...hostileKeys];
const types = ['FunctionOutputs', 'MethodOutputs', 'FunctionOutputsDelivery', 'MethodOutputsDelivery', ...hostileKeys];
const oddText = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: 'grapheme' }),
  fc.constantFrom('', ' ', '#', '##', '.#.', 'a#', '#a', 'a#b#c', 'a#.b', 'a#b.', 'a#b..c', 'a#__proto__', 'a#b.__proto__.c', 'a#constructor.prototype', '\u0000#f', 'a\u2028#b', '😀#😀', 'ä#ö'),
  fc.constantFrom('x'.repeat(100_000), 'a#' + 'b.'.repeat(20_000) + 'c', '.'.repeat(5000) + '#f'),
);
const specifiers = fc.oneof(
  fc.constantFrom('./x.js', './x', 'x.js', '../x.js', '/', '.', '..', 'node:crypto', 'crypto', 'node:', 'node:nope', 'file:', 'file:///', 'file://host/x', 'file:///%2F', 'file:///%00',
    'data:text/javascript,globalThis.hacked=1', 'http://127.0.0.1/x.js', 'lodash', 'no-such-package-fuzz', '@scope/', '@', '%2e%2e', '\\x.js', 'C:\\x.js', './x.js?query', './x.js\u0000'),
  fc.string(),
);
const members = fc.oneof(
  fc.constantFrom('f', 'K.m', 'K.prototype.m', 'default', 'randomUUID', 'Hash.prototype.update', 'constructor', '__proto__', 'K.constructor', 'f.call', 'toString', '😀'),
  fc.string(),
);
const targetPath = fc.oneof(fc.tuple(specifiers, members).map(([s, m]) => `${s}#${m}`), oddText);
const jsonish = fc.jsonValue({ maxDepth: 3 });
const spec = fc.dictionary(fc.oneof(fc.constantFrom(...specKeys), fc.string()), fc.oneof(
  fc.constantFrom(...types),
  targetPath,
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -1, 1.5, 1e300, Number.MAX_SAFE_INTEGER + 1, null, true, '2'),
  jsonish,
), { maxKeys: 5 }).chain((extra) =>
  fc.record({ type: fc.constantFrom(...types), path: targetPath, kind: fc.constantFrom('funcPath', 'methodPath', 'func_path', 'method_path') })
    .map(({ type, path, kind }) => ({ type, [kind]: path, ...extra })));
const phases = fc.dictionary(fc.oneof(fc.constantFrom('record', 'override', ...hostileKeys), fc.string()), fc.oneof(fc.array(targetPath, { maxLength: 3 }), targetPath, jsonish), { maxKeys: 3 });
const config = fc.dictionary(fc.constantFrom(...configKeys), fc.oneof(
  fc.dictionary(fc.oneof(fc.constantFrom(...hostileKeys), fc.string()), fc.oneof(spec, jsonish), { maxKeys: 3 }),
  fc.array(fc.oneof(spec, jsonish), { maxLength: 3 }),
  phases,
  fc.array(targetPath, { maxLength: 3 }),
  jsonish,
), { maxKeys: 4 });
/** JSON text, with "__proto__" as an own key where the object had it (JSON.stringify keeps it: it is own). */
const configText = fc.oneof(config.map((c) => JSON.stringify(c)), fc.array(spec, { maxLength: 3 }).map((c) => JSON.stringify(c)), fc.json({ maxDepth: 4 }));
const mutated = fc.tuple(configText, fc.array(fc.tuple(fc.nat(), fc.nat(3), fc.string({ maxLength: 3 })), { maxLength: 4 })).map(([text, edits]) => {
  let out = text;
  for (const [at, remove, insert] of edits) {
    const i = out.length === 0 ? 0 : at % out.length;
    out = out.slice(0, i) + insert + out.slice(i + remove);
  }
  return out;
});

test('parseConfig throws only DeliveryErrors on random JSON and random text', { timeout: TIMEOUT }, () => {
  fc.assert(fc.property(fc.oneof(configText, fc.string(), fc.string({ unit: 'binary' })), (text) => {
    onlyDeliveryErrors(() => parseConfig(text, 'DISTILL_DELIVERY', dir));
    assertClean();
  }), settings);
});

test('parseConfig throws only DeliveryErrors on mutated configs', { timeout: TIMEOUT }, () => {
  fc.assert(fc.property(mutated, (text) => {
    onlyDeliveryErrors(() => parseConfig(text, 'DISTILL_DELIVERY', dir));
    assertClean();
  }), settings);
});

test('parseConfig refuses a config that is not JSON with ERR_DELIVERY_INVALID_CONFIG, whatever JavaScript it holds', () => {
  for (const text of ['{deliveries: {}}', "{'report': true}", '{"report": !0}', '({"report": true})', '{"report": true} // comment', '{"report": process.exit(7)}', '[1, 2, ]', '{"a": 1,}', 'module.exports = {}', '`{}`']) {
    assert.throws(() => parseConfig(text, 'DISTILL_DELIVERY', dir), { code: 'ERR_DELIVERY_INVALID_CONFIG' }, text);
  }
});

test('readConfig throws only DeliveryErrors on random inline text and random file names', { timeout: TIMEOUT }, () => {
  fc.assert(fc.property(fc.oneof(configText, mutated, oddText, specifiers), (value) => {
    onlyDeliveryErrors(() => readConfig(value, dir));
    assertClean();
  }), settings);
});

test('readConfig reads a config file named by a relative path, and refuses a name that is too long', () => {
  assert.equal(readConfig('./config.json', dir).source.includes('config.json'), true);
  assert.throws(() => readConfig('y'.repeat(100_000), dir), { code: 'ERR_DELIVERY_INVALID_CONFIG' });
  assert.throws(() => readConfig('./x\u0000.json', dir), { code: 'ERR_DELIVERY_INVALID_CONFIG' });
});

test('a very deeply nested config is refused without a stack overflow', { timeout: TIMEOUT }, () => {
  const deep = '['.repeat(100_000) + ']'.repeat(100_000);
  const parsed = onlyDeliveryErrors(() => parseConfig(deep, 'DISTILL_DELIVERY', dir));
  if (!(parsed instanceof DeliveryError)) {
    assert.throws(() => new DistillDeliveryManager(parsed.deliveries, { base: dir }), { code: 'ERR_DELIVERY_INVALID_CONFIG' });
  }
  const nested = parseConfig('{"deliveries":'.repeat(50_000) + '{}' + '}'.repeat(50_000), 'DISTILL_DELIVERY', dir);
  assert.throws(() => new DistillDeliveryManager(nested.deliveries, { base: dir }), { code: 'ERR_DELIVERY_INVALID_CONFIG' });
});

test('parseTargetPath accepts a value or throws ERR_DELIVERY_INVALID_PATH, for anything', { timeout: TIMEOUT }, () => {
  fc.assert(fc.property(fc.oneof(targetPath, fc.anything()), (value) => {
    const result = onlyDeliveryErrors(() => parseTargetPath('funcPath', value));
    if (result instanceof DeliveryError) {
      assert.equal(result.code, 'ERR_DELIVERY_INVALID_PATH');
    } else {
      assert.equal(typeof value, 'string');
      assert.ok(result.specifier.length > 0);
      assert.ok(result.members.length > 0 && result.members.every((m) => m.length > 0 && !m.includes('.') && m !== '__proto__'));
      assert.equal(`${result.specifier}#${result.members.join('.')}`, value.slice(0, value.lastIndexOf('#')).trim() + '#' + value.slice(value.lastIndexOf('#') + 1).trim());
    }
  }), settings);
});

test('a path segment named __proto__ is refused with ERR_DELIVERY_INVALID_PATH', () => {
  for (const path of ['./x.js#__proto__', './x.js#K.__proto__.m', './x.js#__proto__.f']) {
    assert.throws(() => parseTargetPath('funcPath', path), { code: 'ERR_DELIVERY_INVALID_PATH' }, path);
  }
});

test('the manager constructor throws only DeliveryErrors on random specs', { timeout: TIMEOUT }, () => {
  fc.assert(fc.property(fc.oneof(
    fc.dictionary(fc.oneof(fc.constantFrom(...hostileKeys), fc.string()), fc.oneof(spec, jsonish), { maxKeys: 3 }),
    fc.array(fc.oneof(spec, jsonish), { maxLength: 3 }),
    configText.map((text) => { try { return JSON.parse(text); } catch { return text; } }),
    fc.anything({ maxDepth: 2, withNullPrototype: true, withBoxedValues: true, withMap: true, withSet: true }),
  ), (deliveries) => {
    const manager = onlyDeliveryErrors(() => new DistillDeliveryManager(deliveries, { base: dir }));
    if (manager instanceof DistillDeliveryManager) {
      assert.equal(Object.getPrototypeOf(manager.deliveries), null);
      onlyDeliveryErrors(() => manager.stats());
    }
    assertClean();
  }), settings);
});

test('the delivery constructors throw only DeliveryErrors on random options', { timeout: TIMEOUT }, () => {
  fc.assert(fc.property(fc.oneof(spec, fc.anything({ maxDepth: 2 })), fc.boolean(), (options, method) => {
    const plain = options !== null && typeof options === 'object' ? { ...options } : options;
    if (plain !== null && typeof plain === 'object') delete plain.type;
    onlyDeliveryErrors(() => (method ? new MethodOutputsDelivery(plain) : new FunctionOutputsDelivery(plain)));
    assertClean();
  }), settings);
});

test('a base that is a file: URL with a host is refused with ERR_DELIVERY_INVALID_OPTION', () => {
  for (const base of ['file://host/share', new URL('file://host/share/'), 'file:///a%2Fb']) {
    assert.throws(() => new FunctionOutputsDelivery({ funcPath: './x.js#f', base }), { code: 'ERR_DELIVERY_INVALID_OPTION' }, String(base));
  }
});

test('a delivery named __proto__ is an own entry of the manager, and no prototype changes', () => {
  const manager = new DistillDeliveryManager(JSON.parse('{"__proto__": {"type": "FunctionOutputs", "funcPath": "./x.js#f"}}'), { base: dir });
  assert.deepEqual(Object.keys(manager.deliveries), ['__proto__']);
  assert.ok(Object.hasOwn(manager.stats(), '__proto__'));
  assertClean();
});

test('a spec carrying a __proto__ key is refused as an unknown key', () => {
  const specs = JSON.parse('{"x": {"type": "FunctionOutputs", "funcPath": "./x.js#f", "__proto__": {"polluted": true, "maxKeepData": 0}}}');
  assert.throws(() => new DistillDeliveryManager(specs, { base: dir }), { code: 'ERR_DELIVERY_INVALID_CONFIG' });
  assertClean();
});
