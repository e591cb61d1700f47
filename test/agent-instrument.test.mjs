// The config's `instrument` list: ES module bindings prepared at load time for deliveries
// that the app creates in code later (an ES module's binding can only be replaced while
// the module loads).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agentFixture, output, runNode } from './helpers/run-node.mjs';

const app = agentFixture('instrument', 'app.mjs');

async function run(config) {
  const { code, stdout, stderr } = await runNode(app, { config });
  assert.equal(stderr, '');
  assert.equal(code, 0);
  return output(stdout);
}

test('a delivery created in code on an ES module binding listed under instrument delivers; an unlisted binding of the same module does not', async () => {
  assert.deepEqual(await run({ instrument: ['./toy.mjs#toyFunc'] }), { toyFunc: true, otherFunc: 'ERR_DELIVERY_NOT_INSTRUMENTED' });
});

test('without the instrument entry the same delivery fails with ERR_DELIVERY_NOT_INSTRUMENTED', async () => {
  assert.deepEqual(await run({ instrument: [] }), { toyFunc: 'ERR_DELIVERY_NOT_INSTRUMENTED', otherFunc: 'ERR_DELIVERY_NOT_INSTRUMENTED' });
});
