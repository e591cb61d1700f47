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

/** Kills `rounds` record runs, each resuming the last; checks the store after each. */
async function crashRounds(url, rounds, { endCode, timeout, env }) {
  let before = -1;
  for (let round = 0; round < rounds; round++) {
    const steps = 1 + Math.floor(random() * 30);
    const delay = Math.floor(random() * 15);
    const printed = await killWhileWriting(url, round === 0 ? 'error' : 'resume', steps, delay, env);
    const why = `seed ${seed}, round ${round}: killed ${delay} ms after ${steps} steps`;
    const reader = openStoreReader(url, { timeout });
    try {
      assert.ok(reader.lastStep >= printed && printed > before, `${why}: ${reader.lastStep} steps stored, ${printed} printed`);
      for (let step = 0; step <= reader.lastStep; step++) assert.deepEqual(readPlain(reader.read(step)), plain(recordsOf(step), step), `${why}: step ${step}`);
      assert.throws(() => reader.read(reader.lastStep + 1), { code: endCode }, why);
      before = reader.lastStep;
    } finally {
      reader.close();
    }
  }
}

describe('a record run killed with SIGKILL', () => {
  const root = mkdtempSync(join(tmpdir(), 'dd-crash-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  test('leaves a directory store whose complete steps replay exactly and whose partial step never does', async () => {
    await crashRounds(join(root, 'store'), 4, { endCode: 'ERR_DELIVERY_STORE_END' });
  });

  describe('on Redis', needsRedis, () => {
    let server;
    before(async () => (server = await startRedis()));
    after(() => server?.stop());

    test('leaves a Redis store whose complete steps replay exactly and whose partial step never does', async () => {
      // Flushing after each commit makes each printed step one the server acknowledged.
      await crashRounds(server.url('crash'), 2, { endCode: 'ERR_DELIVERY_STORE_UNAVAILABLE', timeout: 200, env: { STORE_FLUSH: '1' } });
    });
  });
});
