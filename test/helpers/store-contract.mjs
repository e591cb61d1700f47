// What every store backend must do, as tests registered for one backend (not itself a test).
// `place()` gives a fresh url (an empty folder, an unused Redis key) for each test.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openStoreReader, openStoreWriter } from '../../dist/store/store.js';
import { plain, readPlain, recordsOf } from '../fixtures/store/records.mjs';

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

  test('a second writer of the same rank is refused (ERR_DELIVERY_STORE_EXISTS)', () => {
    const url = place();
    const first = openStoreWriter(url, { ...options, metadata });
    let second;
    assert.throws(() => {
      second = openStoreWriter(url, { ...options, metadata });
      first.commit();
      first.flush();
      second.commit();
      second.flush();
    }, { code: 'ERR_DELIVERY_STORE_EXISTS' });
    first.close();
    // Redis finds the second writer at its first step; its close() says so again.
    if (second) assert.throws(() => second.close(), { code: 'ERR_DELIVERY_STORE_EXISTS' });
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
