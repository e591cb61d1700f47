// A config file's relative paths, a spec's `base` included, resolve against the file's
// folder whatever the working directory. The app runs from another folder here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { agentFixture, output, runNode } from './helpers/run-node.mjs';

const dir = agentFixture('config-base');
const app = join(dir, 'app.cjs');
const elsewhere = agentFixture();

test('a relative base in a config file resolves against the file\'s folder, from another working directory', async () => {
  const { code, stdout, stderr } = await runNode(app, { config: join(dir, 'deliveries.json'), cwd: elsewhere });
  assert.equal(stderr, '');
  assert.equal(code, 0);
  assert.deepEqual(output(stdout), { same: true });
});

test('a base ending in "/" for a missing folder is that folder, and the error names it', async () => {
  const { code, stdout, stderr } = await runNode(app, { config: join(dir, 'missing-base.json'), cwd: elsewhere });
  assert.equal(stdout, '');
  assert.notEqual(code, 0);
  assert.match(stderr, /DeliveryError \[ERR_DELIVERY_MODULE_NOT_FOUND\]/);
  assert.ok(stderr.includes(`from ${join(dir, 'nowhere')}.`), stderr);
});
