// Record runs killed with SIGKILL at random moments, on real files and a real redis-server:
// every complete step replays exactly, the partial one never does, and a resumed run goes on
// from the last complete step.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openStoreReader } from '../dist/store/store.js';
import { seeded } from './helpers.mjs';
import { nodeBinary } from './helpers/run-node.mjs';
import { needsRedis, startRedis } from './helpers/redis-server.mjs';
import { plain, readPlain, recordsOf } from './fixtures/store/records.mjs';
import { write } from './helpers/store-contract.mjs';

const writer = fileURLToPath(new URL('./fixtures/store/writer.mjs', import.meta.url));
const seed = Number(process.env.STORE_CRASH_SEED ?? Date.now() % 1e9);
const random = seeded(seed);

/** Runs the writer until it has printed `steps` committed steps and `delay` ms more, then SIGKILLs it. Resolves with the last step it printed. */
function killWhileWriting(url, ifExists, steps, delay, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(nodeBinary, [writer, url, ifExists], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let last = -1;
    let killing = false;
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const lines = out.split('\n').filter(Boolean);
      last = Number(lines.at(-1));
      if (!killing && lines.length >= steps) {
        killing = true;
        setTimeout(() => child.kill('SIGKILL'), delay);
      }
    });
    child.stderr.on('data', (chunk) => (err += chunk));
    child.on('error', reject);
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve(last) : reject(new Error(`writer exited ${code}: ${err}`))));
  });
}

/**
 * Writes 3 steps, then kills the writer 0 to 30 ms after it says `after` ("big": it starts
 * appending a 64 MB step; "sent": it committed it, and Redis is sent it). The large step
 * is then stored whole or not at all, and a resumed run writes the next step after it.
 * A step that was partly stored would make the resumed run fail or replay other records.
 */
async function killDuringLargeStep(url, { after }) {
  const delay = Math.floor(random() * 30);
  const outcome = await new Promise((resolve, reject) => {
    const child = spawn(nodeBinary, [writer, url, 'error', '3'], { env: { ...process.env, STORE_BIG: '1', STORE_FLUSH: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => {
      const before = out.includes(after);
      out += chunk;
      if (!before && out.includes(after)) setTimeout(() => child.kill('SIGKILL'), delay);
    });
    child.stderr.on('data', (chunk) => (err += chunk));
    child.on('error', reject);
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve(out) : reject(new Error(`writer exited ${code}: ${err}`))));
  });
  const why = `seed ${seed}: killed ${delay} ms after "${after}"`;
  const reader = openStoreReader(url);
  const stored = reader.lastStep;
  assert.ok(stored === 2 || stored === 3, `${why}: ${stored + 1} steps stored`);
  assert.ok(stored === 3 || !outcome.includes('big done'), why);
  if (stored === 3) assert.deepEqual(reader.read(3).map((r) => [r.call, r.payload.length, r.payload[0], r.payload.at(-1)]), Array.from({ length: 64 }, (_, call) => [call, 1 << 20, call, call]), why);
  reader.close();
  assert.equal(write(url, 1, { ifExists: 'resume', metadata: { test: 'crash' } }), stored + 1, why);
  const again = openStoreReader(url);
  assert.deepEqual(readPlain(again.read(stored + 1)), plain(recordsOf(stored + 1), stored + 1), why);
  again.close();
}

/** Kills `rounds` record runs, each resuming the last; checks the store after each. */
async function crashRounds(url, rounds, { endCode, timeout, env }) {
  let before = -1;
  for (let round = 0; round < rounds; round++) {
    const steps = 1 + Math.floor(random() * 30);
    const delay = Math.floor(random() * 15);
    const printed = await killWhileWriting(url, round === 0 ? 'error' : 'resume', steps, delay, env);
    const why = `seed ${seed}, round ${round}: killed ${delay} ms after ${steps} steps`;
    const reader = openStoreReader(url);
    try {
      assert.ok(reader.lastStep >= printed && printed > before, `${why}: ${reader.lastStep} steps stored, ${printed} printed`);
      for (let step = 0; step <= reader.lastStep; step++) assert.deepEqual(readPlain(reader.read(step)), plain(recordsOf(step), step), `${why}: step ${step}`);
      before = reader.lastStep;
    } finally {
      reader.close();
    }
    // Past the last step: the directory says so at once; Redis waits for the step (a killed writer wrote no end mark) until the timeout.
    const past = openStoreReader(url, { timeout });
    assert.throws(() => past.read(before + 1), { code: endCode }, why);
    past.close();
  }
}

describe('a record run killed with SIGKILL', () => {
  const root = mkdtempSync(join(tmpdir(), 'dd-crash-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  test('leaves a directory store whose complete steps replay exactly and whose partial step never does', async () => {
    await crashRounds(join(root, 'store'), 3, { endCode: 'ERR_DELIVERY_STORE_END' });
  });

  test('while it writes a large step leaves a directory store without any of that step', async () => {
    await killDuringLargeStep(join(root, 'large'), { after: 'big' });
  });

  describe('on Redis', needsRedis, () => {
    let server;
    before(async () => (server = await startRedis()));
    after(() => server?.stop());

    test('leaves a Redis store whose complete steps replay exactly and whose partial step never does', async () => {
      // Flushing after each commit makes each printed step one the server acknowledged.
      await crashRounds(server.url('crash'), 2, { endCode: 'ERR_DELIVERY_STORE_UNAVAILABLE', timeout: 200, env: { STORE_FLUSH: '1' } });
    });

    test('while it sends a large step leaves a Redis store without any of that step', async () => {
      await killDuringLargeStep(server.url('large'), { after: 'sent' });
    });
  });
});
