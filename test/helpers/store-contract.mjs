// What every store backend must do, as tests registered for one backend (not itself a test).
// `place()` gives a fresh url (an empty folder, an unused Redis key) for each test.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openStoreReader, openStoreWriter } from '../../dist/store/store.js';
import { plain, readPlain, recordsOf } from '../fixtures/store/records.mjs';
import { nodeBinary } from './run-node.mjs';

const rivalFixture = fileURLToPath(new URL('../fixtures/store/rival.mjs', import.meta.url));

/**
 * Starts test/fixtures/store/rival.mjs: { child, first (its first line, parsed: opened or
 * refused), exited ({ code, signal, out }) }. Closing its stdin lets a writer that opened close.
 */
export function startRival(url, ifExists, steps, name, env = {}) {
  const child = spawn(nodeBinary, [rivalFixture, url, ifExists, String(steps), name], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (chunk) => (err += chunk));
  const first = new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      out += chunk;
      if (out.includes('\n')) resolve(JSON.parse(out.slice(0, out.indexOf('\n'))));
    });
    child.on('exit', (code) => reject(new Error(`rival ${name} exited ${code} before saying whether it opened: ${err}`)));
  });
  first.catch(() => {});
  const exited = once(child, 'exit').then(([code, signal]) => ({ code, signal, out, err }));
  return { child, first, exited };
}

/** The signatures of every record of steps 0 to `last`, read back. */
function signatures(reader, last) {
  return Array.from({ length: last + 1 }, (_, step) => reader.read(step).map((r) => r.signature)).flat();
}

export function write(url, steps, options = {}) {
  const writer = openStoreWriter(url, { metadata: { deliveries: { mixup: { type: 'MethodOutputs' } }, hash: 'h1' }, ...options });
  const first = writer.nextStep;
  for (let step = first; step < first + steps; step++) {
    for (const record of recordsOf(step)) writer.append(record);
    assert.equal(writer.commit(), step);
  }
  writer.close();
  return first;
}

export function assertSteps(reader, from, to) {
  for (let step = from; step <= to; step++) assert.deepEqual(readPlain(reader.read(step)), plain(recordsOf(step), step), `step ${step}`);
}

export function storeContract(options, place) {
  const metadata = { deliveries: { mixup: { type: 'MethodOutputs' } }, hash: 'h1' };
  const open = (url, more = {}) => openStoreReader(url, { ...options, ...more });

  test('gives back every record of every committed step exactly, empty steps and a 4.5 MB payload included', () => {
    const url = place();
    write(url, 8, options);
    const reader = open(url);
    assert.deepEqual(reader.metadata, metadata);
    assert.equal(reader.lastStep, 7);
    assertSteps(reader, 0, 7);
    assert.deepEqual(reader.read(4), [], 'a step with no records is a step');
    reader.close();
  });

  test('replaying past the last stored step fails with ERR_DELIVERY_STORE_END', () => {
    const url = place();
    write(url, 3, options);
    const reader = open(url);
    assertSteps(reader, 0, 2);
    assert.throws(() => reader.read(3), { code: 'ERR_DELIVERY_STORE_END' });
    reader.close();
  });

  test('a payload changed after append() is stored as it was when appended', () => {
    const url = place();
    const writer = openStoreWriter(url, { ...options, metadata });
    const small = new Uint8Array([1, 2, 3]);
    const large = new Uint8Array(300 << 10).fill(7);
    writer.append({ delivery: 'd', call: 0, signature: '', payload: small });
    writer.append({ delivery: 'd', call: 1, signature: '', payload: large });
    small.fill(0);
    large.fill(0);
    writer.commit();
    writer.close();
    const reader = open(url);
    const [a, b] = reader.read(0);
    assert.deepEqual([...a.payload], [1, 2, 3]);
    assert.ok(b.payload.length === 300 << 10 && b.payload.every((x) => x === 7));
    reader.close();
  });

  test('a step is invisible until it is committed, and discard() drops it', () => {
    const url = place();
    const writer = openStoreWriter(url, { ...options, metadata });
    for (const record of recordsOf(1)) writer.append(record);
    writer.discard();
    writer.commit();
    writer.append(recordsOf(3)[0]);
    writer.flush();
    const reader = open(url);
    assert.deepEqual(reader.read(0), []);
    reader.close();
    // Redis waits for a step that is not there until its timeout; the directory says at once that it is not.
    const early = open(url, { timeout: 300 });
    assert.throws(() => early.read(1), { code: /^ERR_DELIVERY_STORE_(END|UNAVAILABLE)$/ });
    early.close();
    writer.commit();
    writer.close();
    const again = open(url);
    assert.deepEqual(readPlain(again.read(1)), plain([recordsOf(3)[0]], 1));
    again.close();
  });

  test('a record run does not overwrite an existing store unless told to (ERR_DELIVERY_STORE_EXISTS)', () => {
    const url = place();
    write(url, 2, options);
    // The message says what the store holds and how to go on.
    assert.throws(() => openStoreWriter(url, { ...options, metadata }), (error) => error.code === 'ERR_DELIVERY_STORE_EXISTS' && /holds steps 0 to 1\b.*ifExists/.test(error.message));
    assert.equal(write(url, 1, { ...options, ifExists: 'overwrite' }), 0);
    const reader = open(url);
    assert.equal(reader.lastStep, 0);
    assertSteps(reader, 0, 0);
    assert.throws(() => reader.read(1), { code: 'ERR_DELIVERY_STORE_END' });
    reader.close();
  });

  test('a record run resumes a store after its last complete step', () => {
    const url = place();
    write(url, 3, options);
    assert.equal(write(url, 2, { ...options, ifExists: 'resume' }), 3);
    const reader = open(url);
    assertSteps(reader, 0, 4);
    assert.throws(() => reader.read(5), { code: 'ERR_DELIVERY_STORE_END' });
    reader.close();
  });

  test('the metadata is written once: a writer with other metadata fails with ERR_DELIVERY_STORE_MISMATCH naming where it differs', () => {
    const url = place();
    write(url, 1, options);
    const other = { deliveries: { mixup: { type: 'FunctionOutputs' } }, hash: 'h2' };
    for (const ifExists of ['resume', 'error']) {
      assert.throws(() => openStoreWriter(url, { ...options, metadata: other, ifExists, rank: 1 }), (error) => {
        assert.equal(error.code, 'ERR_DELIVERY_STORE_MISMATCH');
        assert.match(error.message, /"metadata\.deliveries\.mixup\.type"/);
        return true;
      });
    }
    const reader = open(url);
    assert.deepEqual(reader.metadata, metadata);
    reader.close();
  });

  test('each rank writes and replays its own steps; ranks share the metadata', () => {
    const url = place();
    const writers = [0, 1, 2].map((rank) => openStoreWriter(url, { ...options, metadata, rank }));
    for (let step = 0; step < 3; step++) {
      for (const [rank, writer] of writers.entries()) {
        writer.append({ delivery: 'd', call: 0, signature: `rank ${rank}`, payload: new Uint8Array([rank, step]) });
        writer.commit();
      }
    }
    for (const writer of writers) writer.close();
    for (const rank of [2, 0, 1]) {
      const reader = open(url, { rank });
      assert.deepEqual([0, 1, 2].map((step) => [...reader.read(step)[0].payload]), [[rank, 0], [rank, 1], [rank, 2]]);
      assert.equal(reader.read(1)[0].signature, `rank ${rank}`);
      reader.close();
    }
    assert.throws(() => open(url, { rank: 3, timeout: 200 }).read(0), { code: /^ERR_DELIVERY_STORE_(END|UNAVAILABLE)$/ });
  });

  test('a second writer of a rank is refused at open, whatever its ifExists, naming the one that holds it; closing frees the rank', () => {
    const url = place();
    const first = openStoreWriter(url, { ...options, metadata });
    for (const ifExists of ['error', 'overwrite', 'resume']) {
      assert.throws(() => openStoreWriter(url, { ...options, metadata, ifExists }), (error) => {
        assert.equal(error.code, 'ERR_DELIVERY_STORE_EXISTS', ifExists);
        assert.match(error.message, new RegExp(`another writer is writing the same rank \\(process ${process.pid} on host "`));
        return true;
      });
    }
    first.commit();
    first.close();
    const next = openStoreWriter(url, { ...options, metadata, ifExists: 'resume' });
    assert.equal(next.nextStep, 1);
    next.close();
  });

  test('a rank holding no complete step is not existing data: a record run into it needs no ifExists', () => {
    const url = place();
    const failed = openStoreWriter(url, { ...options, metadata });
    failed.append(recordsOf(1)[0]); // never committed
    failed.close();
    assert.equal(write(url, 2, options), 0);
    const reader = open(url);
    assertSteps(reader, 0, 1);
    assert.throws(() => reader.read(2), { code: 'ERR_DELIVERY_STORE_END' });
    reader.close();
  });

  test('two record runs started together on one rank: one wins, the other is refused, and the store holds the winner\'s steps only', { timeout: 60_000 }, async () => {
    const url = place();
    write(url, 3, options);
    const rivals = ['a', 'b'].map((name) => startRival(url, 'overwrite', 4, name));
    let said;
    try {
      said = await Promise.all(rivals.map((r) => r.first));
    } finally {
      // Each said whether it opened before either closes: the loser tried while the winner held the rank.
      for (const r of rivals) r.child.stdin.end();
    }
    const winners = said.flatMap((s, i) => (s.opened ? [['a', 'b'][i]] : []));
    assert.equal(winners.length, 1, JSON.stringify(said));
    const refused = said.find((s) => !s.opened);
    assert.equal(refused.refused, 'ERR_DELIVERY_STORE_EXISTS', refused.message);
    for (const { code, err } of await Promise.all(rivals.map((r) => r.exited))) assert.equal(code, 0, err);
    const reader = open(url);
    assert.deepEqual(reader.metadata, { test: 'rival' });
    assert.deepEqual(signatures(reader, 3), Array(4).fill(winners[0]));
    assert.throws(() => reader.read(4), { code: 'ERR_DELIVERY_STORE_END' });
    reader.close();
  });

  test('record runs of different ranks started together all write, each its own rank', { timeout: 60_000 }, async () => {
    const url = place();
    const rivals = [0, 1, 2].map((rank) => startRival(url, 'error', 3, `rank ${rank}`, { DISTILL_DELIVERY_RANK: String(rank) }));
    let said;
    try {
      said = await Promise.all(rivals.map((r) => r.first));
    } finally {
      for (const r of rivals) r.child.stdin.end();
    }
    assert.deepEqual(said.map((s) => s.opened ?? s.message), [true, true, true]);
    for (const { code, err } of await Promise.all(rivals.map((r) => r.exited))) assert.equal(code, 0, err);
    for (const rank of [0, 1, 2]) {
      const reader = open(url, { rank });
      assert.deepEqual(signatures(reader, 2), Array(3).fill(`rank ${rank}`));
      reader.close();
    }
  });

  test('a record run killed (SIGKILL) before its first step leaves nothing that blocks the next one', { timeout: 60_000 }, async () => {
    const url = place();
    const killed = startRival(url, 'error', 0, 'killed');
    try {
      assert.deepEqual(await killed.first, { opened: true });
    } finally {
      killed.child.kill('SIGKILL');
    }
    assert.equal((await killed.exited).signal, 'SIGKILL');
    // Same host and its process gone: its lock is broken; it holds no complete step: no ifExists needed.
    const writer = openStoreWriter(url, { ...options, metadata: { test: 'rival' } });
    assert.equal(writer.nextStep, 0);
    writer.commit();
    writer.close();
    const reader = open(url);
    assert.equal(reader.lastStep, 0);
    reader.close();
  });

  test('a closed writer or reader refuses further use', () => {
    const url = place();
    const writer = openStoreWriter(url, { ...options, metadata });
    writer.close();
    writer.close();
    assert.throws(() => writer.commit(), { code: 'ERR_DELIVERY_STORE_UNAVAILABLE' });
    const reader = open(url);
    reader.close();
    assert.throws(() => reader.read(0), { code: 'ERR_DELIVERY_STORE_UNAVAILABLE' });
  });

  test('records are checked before they are taken', () => {
    const writer = openStoreWriter(place(), { ...options, metadata });
    const good = { delivery: 'd', call: 0, signature: '', payload: new Uint8Array(1) };
    for (const bad of [{ ...good, delivery: 3 }, { ...good, call: -1 }, { ...good, call: 1.5 }, { ...good, signature: 3 }, { ...good, payload: [1, 2] }]) {
      assert.throws(() => writer.append(bad), { code: 'ERR_DELIVERY_INVALID_OPTION' });
    }
    writer.close();
  });

  test('a record named "" (the link marks a failed record phase\'s step with it) is kept and read back', () => {
    const url = place();
    const writer = openStoreWriter(url, { ...options, metadata });
    writer.append({ delivery: 'd', call: 0, signature: 's', payload: Uint8Array.of(1) });
    writer.append({ delivery: '', call: 0, signature: '', payload: Uint8Array.of(2) });
    writer.commit();
    writer.close();
    const reader = open(url);
    assert.deepEqual(reader.read(0).map((r) => [r.delivery, r.call, r.signature, [...r.payload]]), [['d', 0, 's', [1]], ['', 0, '', [2]]]);
    reader.close();
  });
}
