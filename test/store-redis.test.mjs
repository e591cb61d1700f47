// The Redis Streams store against a real redis-server: the backend contract, then what
// only a live server shows (a reader waiting for its step, the server killed or gone).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openStoreReader, openStoreWriter } from '../dist/store/store.js';
import { plain, readPlain, recordsOf } from './fixtures/store/records.mjs';
import { nodeBinary } from './helpers/run-node.mjs';
import { needsRedis, startRedis } from './helpers/redis-server.mjs';
import { assertSteps, storeContract } from './helpers/store-contract.mjs';

const writerFixture = fileURLToPath(new URL('./fixtures/store/writer.mjs', import.meta.url));
let server;
let count = 0;
const place = () => server.url(`t${count++}`);

describe('the Redis store', needsRedis, () => {
  before(async () => {
    server = await startRedis();
  });
  after(() => server?.stop());

  storeContract({ timeout: 5000 }, place);

  test('a reader started before the record run waits for the store, then for each step (XREAD BLOCK)', async () => {
    const url = place();
    const child = spawn(nodeBinary, [writerFixture, url, 'error', '6'], { env: { ...process.env, STORE_DELAY: '1' }, stdio: 'ignore' });
    try {
      const reader = openStoreReader(url, { timeout: 20_000 });
      assertSteps(reader, 0, 5);
      assert.throws(() => reader.read(6), { code: 'ERR_DELIVERY_STORE_END' }, 'the writer closed the store after step 5');
      reader.close();
    } finally {
      child.kill();
    }
  });

  test('a step that never comes fails after the timeout with ERR_DELIVERY_STORE_UNAVAILABLE, never hanging', () => {
    const url = place();
    const writer = openStoreWriter(url, { metadata: 1 });
    writer.commit();
    writer.flush();
    const reader = openStoreReader(url, { timeout: 1000 });
    assert.deepEqual(reader.read(0), []);
    assert.throws(() => reader.read(1), (error) => error.code === 'ERR_DELIVERY_STORE_UNAVAILABLE' && /within 1000 ms \(the last step read was 0\)/.test(error.message));
    reader.close();
    writer.close();
  });

  test('an unreachable server fails at once with ERR_DELIVERY_STORE_UNAVAILABLE', () => {
    assert.throws(() => openStoreReader('redis://127.0.0.1:1/none', { timeout: 2000 }), (error) => error.code === 'ERR_DELIVERY_STORE_UNAVAILABLE' && /cannot connect to 127\.0\.0\.1:1/.test(error.message));
    assert.throws(() => openStoreWriter('redis://127.0.0.1:1/none', { metadata: 1, timeout: 2000 }), { code: 'ERR_DELIVERY_STORE_UNAVAILABLE' });
  });

  test('seeking back and forth re-reads the steps asked for', () => {
    const url = place();
    const writer = openStoreWriter(url, { metadata: 1 });
    for (let step = 0; step < 10; step++) {
      writer.append({ delivery: 'd', call: 0, signature: '', payload: new Uint8Array([step]) });
      writer.commit();
    }
    writer.close();
    const reader = openStoreReader(url);
    assert.deepEqual([7, 2, 3, 9, 0].map((step) => reader.read(step)[0].payload[0]), [7, 2, 3, 9, 0]);
    reader.close();
  });
});

describe('the Redis store when its server dies', needsRedis, () => {
  test('a writer reports the last step written; a waiting reader fails at once, never hanging', async () => {
    const own = await startRedis();
    try {
      const url = own.url('dies');
      // Its timeout is far longer than the test: an error before it means the client did not wait to reconnect.
      const writer = openStoreWriter(url, { metadata: 1, timeout: 20_000 });
      for (let step = 0; step < 3; step++) {
        for (const record of recordsOf(step)) writer.append(record);
        writer.commit();
      }
      writer.flush();
      const reader = openStoreReader(url, { timeout: 30_000 });
      assert.deepEqual(readPlain(reader.read(2)), plain(recordsOf(2), 2));
      // The reader waits for step 3 while a separate process kills the server.
      spawn('sh', ['-c', `sleep 0.3; kill -KILL ${own.pid}`], { stdio: 'ignore' });
      assert.throws(() => reader.read(3), (error) => error.code === 'ERR_DELIVERY_STORE_UNAVAILABLE' && /went away.*the last step read was 2/.test(error.message));
      await own.exited;
      assert.throws(() => {
        writer.commit();
        writer.flush();
      }, (error) => error.code === 'ERR_DELIVERY_STORE_UNAVAILABLE' && /went away.*the last step written was 2\b/.test(error.message));
      assert.throws(() => writer.close(), { code: 'ERR_DELIVERY_STORE_UNAVAILABLE' });
      reader.close();
    } finally {
      await own.stop();
    }
  });
});
