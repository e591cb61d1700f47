// The Redis Streams store against a real redis-server: the backend contract, then what
// only a live server shows (a reader waiting for its step, the server killed or gone).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openStoreReader, openStoreWriter } from '../dist/store/store.js';
import { plain, readPlain, recordsOf } from './fixtures/store/records.mjs';
import { nodeBinary } from './helpers/run-node.mjs';
import { needsRedis, startRedis } from './helpers/redis-server.mjs';
import { assertSteps, storeContract } from './helpers/store-contract.mjs';

const writerFixture = fileURLToPath(new URL('./fixtures/store/writer.mjs', import.meta.url));
const hungFixture = fileURLToPath(new URL('./fixtures/store/hung.mjs', import.meta.url));
let server;
let count = 0;
const place = () => server.url(`t${count++}`);

describe('the Redis store', needsRedis, () => {
  before(async () => {
    server = await startRedis();
  });
  after(() => server?.stop());

  storeContract({ timeout: 5000 }, place);

  test('a reader started while the record run writes waits for each step (XREAD BLOCK)', async () => {
    const url = place();
    const child = spawn(nodeBinary, [writerFixture, url, 'error', '6'], { env: { ...process.env, STORE_DELAY: '1' }, stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      // Once its first step is out, the record run holds the rank: the reader waits for the steps to come.
      await once(child.stdout, 'data');
      const reader = openStoreReader(url, { timeout: 20_000 });
      assertSteps(reader, 0, 5);
      assert.throws(() => reader.read(6), { code: 'ERR_DELIVERY_STORE_END' }, 'the writer closed the store after step 5');
      reader.close();
    } finally {
      child.kill();
    }
  });

  test('a replay of a key that holds no store and that no record run writes fails at once with ERR_DELIVERY_STORE_END', { timeout: 30_000 }, () => {
    // Its timeout is far longer than the test's: it must not wait for the store to appear.
    assert.throws(() => openStoreReader(place(), { timeout: 120_000 }), (error) => error.code === 'ERR_DELIVERY_STORE_END' && /no record run is writing rank 0/.test(error.message));
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

describe('the Redis store when its server hangs (SIGSTOP)', needsRedis, () => {
  test('opening, writing and reading each give up after the timeout with ERR_DELIVERY_STORE_UNAVAILABLE, saying what did not come', { timeout: 90_000 }, async () => {
    const own = await startRedis();
    try {
      // In a child: a wait that never ended would block this thread, and the test's timeout with it.
      const child = spawn(nodeBinary, [hungFixture, own.url(''), String(own.pid)], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
      let out = '';
      let err = '';
      child.stdout.setEncoding('utf8').on('data', (chunk) => (out += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk) => (err += chunk));
      const [code, signal] = await once(child, 'close');
      assert.equal(signal, null, `killed after 60 s: a wait did not end (${err})`);
      assert.equal(code, 0, err);
      const results = JSON.parse(out);
      assert.match(results.flush, /^ERR_DELIVERY_STORE_UNAVAILABLE: .* the server acknowledged no step for 1000 ms; the last step written was 0\b/);
      assert.match(results.read, /^ERR_DELIVERY_STORE_UNAVAILABLE: Step 1 did not arrive from .* within 1000 ms \(the last step read was 0\)/);
      for (const open of ['openReader', 'openWriter']) assert.match(results[open], /^ERR_DELIVERY_STORE_UNAVAILABLE: .* no answer within 6000 ms of opening it/, open);
      assert.match(results.close, /^ERR_DELIVERY_STORE_UNAVAILABLE: /);
    } finally {
      own.kill('SIGCONT');
      await own.stop();
    }
  });
});

describe('one writer per rank on Redis', needsRedis, () => {
  let server;
  before(async () => (server = await startRedis()));
  after(() => server?.stop());

  test('a rank whose lock is held on another host is refused, saying when that lock expires', async () => {
    const url = server.url('elsewhere');
    await server.command('SET', 'elsewhere:rank-0:writer', JSON.stringify({ host: 'elsewhere.invalid', pid: 4242, token: 'x', since: '' }), 'PX', '60000');
    assert.throws(() => openStoreWriter(url, { metadata: 1 }), (error) => {
      assert.equal(error.code, 'ERR_DELIVERY_STORE_EXISTS');
      assert.match(error.message, /process 4242 on host "elsewhere\.invalid" holds the key "elsewhere:rank-0:writer", and this host cannot tell whether that process still runs; a writer's lock expires 8000 ms after its last sign of life \(this one in \d+ ms\)/);
      return true;
    });
    await server.command('DEL', 'elsewhere:rank-0:writer');
    const writer = openStoreWriter(url, { metadata: 1 });
    writer.close();
    assert.equal(await server.command('EXISTS', 'elsewhere:rank-0:writer'), 0, 'closing removes the lock');
  });

  test('a writer whose rank another writer took (its lock expired) writes nothing more: the server refuses its steps and its end mark', async () => {
    const other = JSON.stringify({ host: 'elsewhere.invalid', pid: 4242, token: 'other', since: '' });
    // What another writer leaves once it took the rank: its token as the owner, and its lock while it writes.
    for (const [key, lock] of [['taken', other], ['taken-closed', undefined]]) {
      const writer = openStoreWriter(server.url(key), { metadata: 1 });
      writer.commit();
      writer.flush();
      await server.command('SET', `${key}:rank-0:owner`, 'other');
      await (lock === undefined ? server.command('DEL', `${key}:rank-0:writer`) : server.command('SET', `${key}:rank-0:writer`, lock, 'PX', '60000'));
      // Sent at once, before the writer's next renewal could find out: the step's own transaction refuses it.
      writer.append({ delivery: 'd', call: 0, signature: '', payload: new Uint8Array([1]) });
      writer.commit();
      assert.throws(() => writer.flush(), (error) => error.code === 'ERR_DELIVERY_STORE_EXISTS' && /took this rank after this writer showed no sign of life for 8000 ms .* the last step it wrote is 0\)/.test(error.message), key);
      assert.throws(() => writer.close(), { code: 'ERR_DELIVERY_STORE_EXISTS' });
      assert.equal(await server.command('TYPE', `${key}:rank-0`), 'stream', key);
      assert.equal(await server.command('XLEN', `${key}:rank-0`), 1, `${key}: step 0 only, neither step 1 nor an end mark`);
      assert.equal(await server.command('EXISTS', `${key}:rank-0:fenced`), 0, key);
      assert.equal(await server.command('GET', `${key}:rank-0:writer`), lock ?? null, key);
    }
  });

  test('a writer whose lock expired while no other writer took the rank takes it back and goes on', async () => {
    const writer = openStoreWriter(server.url('expired'), { metadata: 1 });
    writer.commit();
    writer.flush();
    await server.command('DEL', 'expired:rank-0:writer');
    writer.commit();
    writer.flush();
    assert.match(await server.command('GET', 'expired:rank-0:writer'), new RegExp(`"pid":${process.pid}`));
    writer.close();
    const reader = openStoreReader(server.url('expired'));
    assert.deepEqual([reader.read(0), reader.read(1)], [[], []]);
    assert.throws(() => reader.read(2), { code: 'ERR_DELIVERY_STORE_END' });
    reader.close();
  });
});
