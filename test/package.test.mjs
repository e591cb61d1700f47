// The package by its own name: the exports map, import and require(), DeliveryError.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as api from 'distill-delivery';
import { DeliveryError, DistillDelivery, FunctionOutputsDelivery, MethodOutputsDelivery } from 'distill-delivery';
import { childHasRegisterHooks, runNode } from './helpers/run-node.mjs';

const require = createRequire(import.meta.url);

test('the package exports the public names of the design', () => {
  for (const name of ['DeliveryError', 'DistillDelivery', 'DistillDeliveryManager', 'FunctionOutputsDelivery', 'MethodOutputsDelivery', 'deliveries']) {
    assert.ok(name in api, name);
  }
  assert.equal(typeof api.FunctionOutputsDelivery, 'function');
  assert.equal(typeof api.deliveries, 'object');
});

test('require() of the package gives the same classes as import', () => {
  const cjs = require('distill-delivery');
  assert.equal(cjs.FunctionOutputsDelivery, api.FunctionOutputsDelivery);
  assert.equal(cjs.MethodOutputsDelivery, api.MethodOutputsDelivery);
  assert.equal(cjs.DistillDeliveryManager, api.DistillDeliveryManager);
  assert.equal(cjs.DeliveryError, api.DeliveryError);
  assert.equal(cjs.deliveries, api.deliveries);
});

test('the package.json subpath is exported', () => {
  assert.equal(require('distill-delivery/package.json').name, 'distill-delivery');
});

test('a file inside the package is not reachable past the exports map', () => {
  assert.throws(() => require.resolve('distill-delivery/dist/delivery/delivery-queue.js'), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' });
});

test('both deliveries extend DistillDelivery', () => {
  const base = import.meta.url;
  assert.ok(new FunctionOutputsDelivery({ funcPath: './fixtures/targets.cjs#nextId', base }) instanceof DistillDelivery);
  assert.ok(new MethodOutputsDelivery({ methodPath: './fixtures/toy_module.cjs#ToyClass.call', base }) instanceof DistillDelivery);
});

test('errors are DeliveryError instances with a code, and Error instances', () => {
  assert.throws(
    () => new FunctionOutputsDelivery({ funcPath: 42 }),
    (error) => {
      assert.ok(error instanceof DeliveryError);
      assert.ok(error instanceof Error);
      assert.equal(error.name, 'DeliveryError');
      assert.equal(error.code, 'ERR_DELIVERY_INVALID_PATH');
      assert.equal(typeof error.message, 'string');
      assert.notEqual(error.message, '');
      return true;
    },
  );
});

test('a module-not-found error keeps the resolver\'s error as its cause', () => {
  const delivery = new FunctionOutputsDelivery({ funcPath: './fixtures/missing.cjs#f', base: import.meta.url });
  assert.throws(
    () => delivery.enter(),
    (error) => {
      assert.equal(error.code, 'ERR_DELIVERY_MODULE_NOT_FOUND');
      assert.equal(error.cause?.code, 'MODULE_NOT_FOUND');
      return true;
    },
  );
});

for (const entry of ['distill-delivery/register', 'distill-delivery/loader']) {
  test(`node --require ${entry} starts the agent by the package's name where Node has module.registerHooks`, { skip: !childHasRegisterHooks && 'needs module.registerHooks' }, async () => {
    const root = fileURLToPath(new URL('..', import.meta.url));
    const child = await runNode('examples/mixup/train.js', { agent: false, nodeArgs: ['--require', entry], cwd: root, config: 'examples/mixup/deliveries.json' });
    assert.equal(child.code, 0, child.stderr);
    assert.match(child.stdout, /same mixed batch in 3 of 3 steps/);
  });
}

test('node --require distill-delivery/register without module.registerHooks stops with a message saying to use --import', { skip: childHasRegisterHooks && 'this Node has module.registerHooks' }, async () => {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const child = await runNode('examples/mixup/train.js', { agent: false, nodeArgs: ['--require', 'distill-delivery/register'], cwd: root, config: 'examples/mixup/deliveries.json' });
  assert.equal(child.code, 1);
  assert.equal(child.stdout, '');
  assert.match(child.stderr, /DeliveryError \[ERR_DELIVERY_REQUIRE_UNSUPPORTED\]/);
  assert.match(child.stderr, /--import distill-delivery\/register/);
});

for (const entry of ['distill-delivery/register', 'distill-delivery/loader']) {
  test(`node --import ${entry} starts the agent by the package's name`, async () => {
    const root = fileURLToPath(new URL('..', import.meta.url));
    const child = await runNode('examples/mixup/train.js', { agent: false, nodeArgs: ['--import', entry], cwd: root, config: 'examples/mixup/deliveries.json' });
    assert.equal(child.code, 0, child.stderr);
    assert.match(child.stdout, /same mixed batch in 3 of 3 steps/);
  });
}
