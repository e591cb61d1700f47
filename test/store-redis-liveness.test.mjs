// A Redis writer shows it is alive (its lock, renewed by its worker thread; see
// src/store/redis-lock.ts), with real record runs stopped and killed by real signals: a
// replay waiting for a step fails once the writer is gone, with the last step it got; a
// writer whose main thread is blocked is not gone; a stopped writer that comes back goes
// on, unless another writer took its rank meanwhile, and then it writes nothing more.
// Each waits for a lock to expire (8 s): they are a file of their own so that other
// files run meanwhile.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openStoreReader, openStoreWriter } from '../dist/store/store.js';
import { nodeBinary } from './helpers/run-node.mjs';
import { needsRedis, startRedis } from './helpers/redis-server.mjs';
import { assertSteps } from './helpers/store-contract.mjs';

const writerFixture = fileURLToPath(new URL('./fixtures/store/writer.mjs', import.meta.url));
const TIMEOUT = 90_000;

/**
 * A record run (test/fixtures/store/writer.mjs) that writes 3 steps, then waits with its
 * main thread blocked until its stdin is closed, then writes the rest of `steps`. Killed
 * when the test `t` ends, if it has not ended by then.
 */
async function holdingWriter(t, url, steps = 6) {
  const child = spawn(nodeBinary, [writerFixture, url, 'error', String(steps)], { env: { ...process.env, STORE_HOLD: '3' }, stdio: ['pipe', 'pipe', 'pipe'] });
  t.after(() => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'));
  let out = '';
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (chunk) => (err += chunk));
  const exited = once(child, 'exit').then(([code, signal]) => ({ code, signal, out, err }));
  await new Promise((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      out += chunk;
      if (out.includes('holding\n')) resolve();
    });
    child.once('exit', () => reject(new Error(`the writer exited before holding: ${err}`)));
  });
  return { child, exited, signal: (name) => spawn('sh', ['-c', `sleep 0.3; kill -${name} ${child.pid}`], { stdio: 'ignore' }) };
}

/** Resolves once the rank's lock has expired (the server says so; nothing is timed here). */
async function lockGone(server, key) {
  while ((await server.command('EXISTS', `${key}:rank-0:writer`)) === 1) await new Promise((resolve) => setTimeout(resolve, 200));
}

describe('a Redis writer shows it is alive', needsRedis, () => {
  let server;
  before(async () => (server = await startRedis()));
  after(() => server?.stop());

  test('a replay waiting for a step of a writer that is killed fails with ERR_DELIVERY_STORE_END and the last step it got, not after its timeout', { timeout: TIMEOUT }, async (t) => {
    const url = server.url('killed');
    const writer = await holdingWriter(t, url);
    // Its timeout is longer than the test's: only the writer's silence can end the wait.
    const reader = openStoreReader(url, { timeout: 120_000 });
    assertSteps(reader, 0, 2);
    writer.signal('KILL');
    assert.throws(() => reader.read(3), (error) => {
      assert.equal(error.code, 'ERR_DELIVERY_STORE_END');
      assert.match(error.message, /it holds steps 0 to 2, and no record run is writing it any more: its writer showed no sign of life for 8000 ms and did not close it .* the last step read was 2\./);
      return true;
    });
    reader.close();
    assert.equal((await writer.exited).signal, 'SIGKILL');
  });

  test('a writer whose main thread is blocked stays alive: a waiting replay times out instead (ERR_DELIVERY_STORE_UNAVAILABLE)', { timeout: TIMEOUT }, async (t) => {
    const url = server.url('blocked');
    const writer = await holdingWriter(t, url);
    // Longer than the lock lives without renewal: its worker thread renews it while the main thread waits.
    const reader = openStoreReader(url, { timeout: 12_000 });
    assertSteps(reader, 0, 2);
    assert.throws(() => reader.read(3), (error) => error.code === 'ERR_DELIVERY_STORE_UNAVAILABLE' && /Step 3 did not arrive .* within 12000 ms/.test(error.message));
    writer.child.stdin.end();
    assert.equal((await writer.exited).code, 0);
    assertSteps(reader, 3, 5);
    reader.close();
  });

  test('a writer stopped (SIGSTOP) is gone for a waiting replay; continued (SIGCONT), it takes its rank back and the store is whole', { timeout: TIMEOUT }, async (t) => {
    const url = server.url('stopped');
    const writer = await holdingWriter(t, url);
    const reader = openStoreReader(url, { timeout: 120_000 });
    assertSteps(reader, 0, 2);
    writer.signal('STOP');
    assert.throws(() => reader.read(3), (error) => error.code === 'ERR_DELIVERY_STORE_END' && /no sign of life for 8000 ms .* the last step read was 2\./.test(error.message));
    reader.close();
    writer.child.kill('SIGCONT');
    writer.child.stdin.end();
    const { code, err } = await writer.exited;
    assert.equal(code, 0, err);
    const again = openStoreReader(url);
    assertSteps(again, 0, 5);
    assert.throws(() => again.read(6), { code: 'ERR_DELIVERY_STORE_END' });
    again.close();
  });

  test('a writer that lost its rank to another while stopped writes nothing more and fails with ERR_DELIVERY_STORE_EXISTS', { timeout: TIMEOUT }, async (t) => {
    const url = server.url('taken');
    const writer = await holdingWriter(t, url);
    writer.child.kill('SIGSTOP');
    await lockGone(server, 'taken');
    const other = openStoreWriter(url, { metadata: { test: 'crash' }, ifExists: 'overwrite' });
    for (const byte of [7, 8]) {
      other.append({ delivery: 'other', call: 0, signature: '', payload: new Uint8Array([byte]) });
      other.commit();
    }
    other.flush();
    // The stopped writer goes on while the other holds the rank: it finds the rank taken (its renewal, or its next step's transaction) and writes nothing more.
    writer.child.kill('SIGCONT');
    writer.child.stdin.end();
    const { code, err } = await writer.exited;
    assert.equal(code, 1);
    assert.match(err, /ERR_DELIVERY_STORE_EXISTS/);
    assert.match(err, /took this rank after this writer showed no sign of life for 8000 ms \(stopped, or cut off from the server\), so this writer writes no more; the last step it wrote is 2/);
    other.close();
    const reader = openStoreReader(url);
    assert.deepEqual([0, 1].map((step) => [...reader.read(step)[0].payload]), [[7], [8]]);
    assert.throws(() => reader.read(2), (error) => error.code === 'ERR_DELIVERY_STORE_END' && /closed it there/.test(error.message));
    reader.close();
    assert.equal(await server.command('XLEN', 'taken:rank-0'), 3, 'two steps and the end mark, nothing of the stopped writer');
    assert.equal(await server.command('EXISTS', 'taken:rank-0:fenced'), 0);
  });
});
