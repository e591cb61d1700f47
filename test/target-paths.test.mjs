// Target paths "<module>#<path>": syntax, module resolution and its base, what the path
// names, and builtins. Errors are checked by code.
import assert from 'node:assert/strict';
import crypto, { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, relative, sep } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DistillDeliveryManager, FunctionOutputsDelivery, MethodOutputsDelivery } from 'distill-delivery';
import * as toyEsm from './fixtures/toy_module.mjs';
import { fixture, own, within } from './helpers.mjs';

const require = createRequire(import.meta.url);
const targets = require('./fixtures/targets.cjs');
const toyCjs = require('./fixtures/toy_module.cjs');
const base = import.meta.url;
const here = dirname(fileURLToPath(import.meta.url));

/** A fixture as a relative specifier from the working directory. */
function fromCwd(name) {
  const path = relative(process.cwd(), fixture(name)).split(sep).join('/');
  return path.startsWith('.') ? path : `./${path}`;
}

/** Records one nextId() through a delivery built from `options`, and checks it replays. */
function deliversNextId(options) {
  const delivery = new FunctionOutputsDelivery({ maxKeepData: 1, ...options });
  const teacher = within(delivery, () => targets.nextId());
  delivery.overrideData = true;
  assert.equal(within(delivery, () => targets.nextId()), teacher);
}

// ERR_DELIVERY_INVALID_PATH

for (const [what, funcPath] of [
  ['a number', 1],
  ['undefined', undefined],
  ['an object', { module: './x.cjs', path: 'f' }],
  ['a string without "#"', 'toy_module.toyFunc'],
  ['an empty module part', '#toyFunc'],
  ['a blank module part', '   #toyFunc'],
  ['an empty path part', './fixtures/targets.cjs#'],
  ['an empty segment', './fixtures/targets.cjs#Sub..greet'],
  ['a __proto__ segment', './fixtures/targets.cjs#__proto__.greet'],
]) {
  test(`a funcPath with ${what} is rejected as an invalid path`, () => {
    assert.throws(() => new FunctionOutputsDelivery({ funcPath, base }), { code: 'ERR_DELIVERY_INVALID_PATH' });
  });
}

test('a methodPath with an empty module part is rejected as an invalid path', () => {
  assert.throws(() => new MethodOutputsDelivery({ methodPath: '#ToyClass.call', base }), { code: 'ERR_DELIVERY_INVALID_PATH' });
});

// ERR_DELIVERY_MODULE_NOT_FOUND and the base option

test('a relative module that does not exist fails a function delivery at enter()', () => {
  const delivery = new FunctionOutputsDelivery({ funcPath: './fixtures/missing.cjs#f', base });
  assert.throws(() => delivery.enter(), { code: 'ERR_DELIVERY_MODULE_NOT_FOUND' });
});

test('a relative module that does not exist fails a method delivery at construction', () => {
  assert.throws(() => new MethodOutputsDelivery({ methodPath: './fixtures/missing.cjs#A.f', base }), { code: 'ERR_DELIVERY_MODULE_NOT_FOUND' });
});

test('a bare package that is not installed fails with module not found', () => {
  const delivery = new FunctionOutputsDelivery({ funcPath: 'no-such-package-here#f', base });
  assert.throws(() => delivery.enter(), { code: 'ERR_DELIVERY_MODULE_NOT_FOUND' });
});

test('a relative module resolves against a base folder', () => {
  deliversNextId({ funcPath: './targets.cjs#nextId', base: fixture('') });
});

test('a relative module resolves against a base folder given without a trailing separator', () => {
  deliversNextId({ funcPath: './targets.cjs#nextId', base: fixture('').replace(/[\\/]$/, '') });
});

test('a relative module resolves against the folder of a base file path', () => {
  deliversNextId({ funcPath: './fixtures/targets.cjs#nextId', base: fileURLToPath(import.meta.url) });
});

test('a relative module resolves against the folder of import.meta.url', () => {
  deliversNextId({ funcPath: './fixtures/targets.cjs#nextId', base: import.meta.url });
});

test('a relative module resolves against a base given as a URL object', () => {
  deliversNextId({ funcPath: './targets.cjs#nextId', base: new URL('./fixtures/', import.meta.url) });
});

test('a relative module resolves against the working directory without a base', () => {
  deliversNextId({ funcPath: `${fromCwd('targets.cjs')}#nextId` });
});

test('a relative module is not resolved against the test file without a base', { skip: process.cwd() === here && 'the working directory is the test folder' }, () => {
  const delivery = new FunctionOutputsDelivery({ funcPath: './fixtures/targets.cjs#nextId' });
  assert.throws(() => delivery.enter(), { code: 'ERR_DELIVERY_MODULE_NOT_FOUND' });
});

test('a relative module is resolved against the base, not the working directory', { skip: process.cwd() === fixture('').replace(/[\\/]$/, '') && 'the working directory is the fixtures folder' }, () => {
  const delivery = new FunctionOutputsDelivery({ funcPath: `${fromCwd('targets.cjs')}#nextId`, base: fixture('') });
  assert.throws(() => delivery.enter(), { code: 'ERR_DELIVERY_MODULE_NOT_FOUND' });
});

test('a base ending in a separator for a folder that does not exist is that folder, and the error names it', () => {
  const missing = fixture('no-such-folder');
  for (const given of [`${missing}${sep}`, pathToFileURL(`${missing}${sep}`).href]) {
    const delivery = new FunctionOutputsDelivery({ funcPath: './missing.cjs#f', base: given });
    assert.throws(() => delivery.enter(), (error) => error.code === 'ERR_DELIVERY_MODULE_NOT_FOUND' && error.message.includes(`from ${missing}.`));
  }
});

test('a manager spec\'s relative base resolves against the manager\'s base, not the working directory', () => {
  const manager = new DistillDeliveryManager({ ids: { type: 'FunctionOutputs', funcPath: './targets.cjs#nextId', base: './fixtures/' } }, { base: import.meta.url });
  const teacher = manager.run(() => targets.nextId());
  manager.overrideData = true;
  assert.equal(manager.run(() => targets.nextId()), teacher);
});

test('an absolute module path needs no base', () => {
  deliversNextId({ funcPath: `${fixture('targets.cjs')}#nextId` });
});

test('a file: URL module needs no base', () => {
  deliversNextId({ funcPath: `${pathToFileURL(fixture('targets.cjs')).href}#nextId` });
});

test('a bare package resolves through node_modules', () => {
  const acorn = require('acorn');
  const delivery = new FunctionOutputsDelivery({ funcPath: 'acorn#parse', base });
  const teacher = within(delivery, () => acorn.parse('1', { ecmaVersion: 2022 }));
  delivery.overrideData = true;
  assert.equal(within(delivery, () => acorn.parse('2', { ecmaVersion: 2022 })), teacher);
});

// ERR_DELIVERY_TARGET_NOT_FOUND

test('a missing export fails with target not found', () => {
  const delivery = new FunctionOutputsDelivery({ funcPath: './fixtures/targets.cjs#missing', base });
  assert.throws(() => delivery.enter(), { code: 'ERR_DELIVERY_TARGET_NOT_FOUND' });
});

test('a missing member of an export fails with target not found', () => {
  const delivery = new FunctionOutputsDelivery({ funcPath: './fixtures/targets.cjs#calls.missing.deeper', base });
  assert.throws(() => delivery.enter(), { code: 'ERR_DELIVERY_TARGET_NOT_FOUND' });
});

test('a missing method of a class fails with target not found', () => {
  const delivery = new FunctionOutputsDelivery({ funcPath: './fixtures/toy_module.cjs#ToyClass.missing', base });
  assert.throws(() => delivery.enter(), { code: 'ERR_DELIVERY_TARGET_NOT_FOUND' });
});

test('Object.prototype members are not targets', () => {
  const delivery = new FunctionOutputsDelivery({ funcPath: './fixtures/targets.cjs#toString', base });
  assert.throws(() => delivery.enter(), { code: 'ERR_DELIVERY_TARGET_NOT_FOUND' });
});

// ERR_DELIVERY_NOT_A_FUNCTION

test('a string export of a CommonJS module is not a function', () => {
  const delivery = new FunctionOutputsDelivery({ funcPath: './fixtures/targets.cjs#label', base });
  assert.throws(() => delivery.enter(), { code: 'ERR_DELIVERY_NOT_A_FUNCTION' });
});

test('an export defined by a getter is not a function target', () => {
  const delivery = new FunctionOutputsDelivery({ funcPath: './fixtures/targets.cjs#lazy', base });
  assert.throws(() => delivery.enter(), { code: 'ERR_DELIVERY_NOT_A_FUNCTION' });
  assert.equal(typeof targets.lazy, 'function');
});

test('a class exported by a CommonJS module is not a function target', () => {
  const delivery = new FunctionOutputsDelivery({ funcPath: './fixtures/toy_module.cjs#ToyClass', base });
  assert.throws(() => delivery.enter(), { code: 'ERR_DELIVERY_NOT_A_FUNCTION' });
  assert.equal(typeof new toyCjs.ToyClass().call, 'function');
});

test('a class exported by an ES module is not a function target', () => {
  const delivery = new FunctionOutputsDelivery({ funcPath: './fixtures/toy_module.mjs#ToyClass', base });
  assert.throws(() => delivery.enter(), { code: 'ERR_DELIVERY_NOT_A_FUNCTION' });
  assert.equal(new toyEsm.ToyClass().call(), 1);
});

// Builtins

test('a builtin export is delivered to both crypto.randomUUID and an ES named import', () => {
  const delivery = new FunctionOutputsDelivery({ maxKeepData: 2, funcPath: 'node:crypto#randomUUID' });
  const [viaObject, viaImport] = within(delivery, () => [crypto.randomUUID(), randomUUID()]);
  assert.equal(delivery.size, 2);
  delivery.overrideData = true;
  assert.deepEqual(within(delivery, () => [randomUUID(), crypto.randomUUID()]), [viaObject, viaImport]);
});

test('a builtin export is visible through an ES named import only while entered', () => {
  const original = crypto.randomUUID;
  const before = own(crypto, 'randomUUID');
  assert.equal(randomUUID, original);
  const delivery = new FunctionOutputsDelivery({ funcPath: 'node:crypto#randomUUID' });
  within(delivery, () => {
    assert.notEqual(randomUUID, original);
    assert.equal(randomUUID, crypto.randomUUID);
  });
  assert.equal(randomUUID, original);
  assert.deepEqual(own(crypto, 'randomUUID'), before);
});

test('a builtin may be named without the node: prefix', () => {
  const delivery = new FunctionOutputsDelivery({ funcPath: 'crypto#randomUUID' });
  const teacher = within(delivery, () => crypto.randomUUID());
  delivery.overrideData = true;
  assert.equal(within(delivery, () => randomUUID()), teacher);
});

test('a missing builtin export fails with target not found', () => {
  const delivery = new FunctionOutputsDelivery({ funcPath: 'node:crypto#noSuchFunction' });
  assert.throws(() => delivery.enter(), { code: 'ERR_DELIVERY_TARGET_NOT_FOUND' });
});
