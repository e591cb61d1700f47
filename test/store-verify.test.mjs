// verify (openStore(url).verify(), the library API the command line uses) reads every
// byte of a folder store: a flipped byte anywhere in a step (its frames, its index entry),
// in a segment's header or in its runs is found, with the last intact step; a store that
// is only incomplete, or has a torn tail from a killed writer, is intact.
import assert from 'node:assert/strict';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { openStore } from 'distill-delivery';
import { openStoreWriter } from '../dist/store/store.js';
import { tempDirs } from './helpers/temp-dirs.mjs';

const tempDir = tempDirs('store-verify-');

const STEPS = 4;
/** Step s holds s + 1 records (delivery, call, signature, payload of 5 + 7s bytes). */
function record(url, { complete = true, steps = STEPS, rank = 0 } = {}) {
  const writer = openStoreWriter(url, { metadata: { deliveries: { a: {}, b: {} } }, rank });
  for (let step = 0; step < steps; step++) {
    for (let call = 0; call <= step; call++) writer.append({ delivery: call % 2 ? 'b' : 'a', call, signature: `f(${step})`, payload: new Uint8Array(5 + 7 * step).fill(step + 1) });
    writer.commit();
  }
  writer.close({ complete });
}

/** Where each step is: [offset, length] in 000000.seg, and where its index entry is in 000000.idx. */
function layout(url) {
  const index = readFileSync(join(url, 'rank-0', '000000.idx'));
  return Array.from({ length: STEPS }, (_, step) => {
    const entry = 16 + 32 * step;
    return { entry, offset: index.readDoubleLE(entry + 16), length: index.readDoubleLE(entry + 24) };
  });
}

/** Verifies a copy of `url` with the byte at `at` of `file` flipped. */
function verifyFlipped(url, file, at) {
  const copy = join(tempDir(), 'store');
  cpSync(url, copy, { recursive: true });
  const path = join(copy, 'rank-0', file);
  const bytes = readFileSync(path);
  bytes[at] ^= 0xff;
  writeFileSync(path, bytes);
  const [rank] = openStore(copy).verify().ranks;
  rmSync(copy, { recursive: true });
  return rank;
}

describe('a complete folder store', () => {
  let url;
  let steps;
  before(() => {
    url = join(tempDir(), 'store');
    record(url);
    steps = layout(url);
  });

  test('is intact: every step read, the last one named', () => {
    const report = openStore(url).verify();
    assert.deepEqual([report.intact, report.complete], [true, true]);
    assert.deepEqual(report.ranks.map((r) => [r.rank, r.intact, r.lastIntactStep, r.lastStep]), [[0, true, STEPS - 1, STEPS - 1]]);
    assert.equal(report.ranks[0].bytes, steps.reduce((sum, s) => sum + s.length, 0));
  });

  for (const step of [1, STEPS - 1]) {
    test(`a flipped byte anywhere in step ${step}'s frames is found, with step ${step - 1} the last intact`, () => {
      const { offset, length } = steps[step];
      for (let at = offset; at < offset + length; at++) {
        const rank = verifyFlipped(url, '000000.seg', at);
        assert.deepEqual([rank.intact, rank.error?.code, rank.lastIntactStep], [false, 'ERR_DELIVERY_STORE_CORRUPT', step - 1], `byte ${at - offset} of step ${step}`);
      }
    });

    test(`a flipped byte anywhere in step ${step}'s index entry is found, with step ${step - 1} the last intact`, () => {
      const { entry } = steps[step];
      for (let at = entry; at < entry + 32; at++) {
        const rank = verifyFlipped(url, '000000.idx', at);
        assert.deepEqual([rank.intact, rank.error?.code, rank.lastIntactStep], [false, 'ERR_DELIVERY_STORE_CORRUPT', step - 1], `byte ${at - entry} of step ${step}'s entry`);
      }
    });
  }

  test("a flipped byte in a segment's or an index's header, or in the runs, is found", () => {
    for (const [file, at] of [['000000.seg', 3], ['000000.idx', 9], ['runs.json', 2]]) {
      const rank = verifyFlipped(url, file, at);
      assert.deepEqual([rank.intact, rank.error?.code], [false, 'ERR_DELIVERY_STORE_CORRUPT'], file);
    }
  });
});

test('an incomplete store is intact, and says it is incomplete', () => {
  const url = join(tempDir(), 'store');
  record(url, { complete: false });
  const report = openStore(url).verify();
  assert.deepEqual([report.intact, report.complete, report.ranks[0].lastIntactStep], [true, false, STEPS - 1]);
});

test("a killed writer's torn tail (bytes of a step not committed) is reported, not damage", () => {
  const url = join(tempDir(), 'store');
  record(url, { complete: false });
  writeFileSync(join(url, 'rank-0', '000000.seg'), Buffer.concat([readFileSync(join(url, 'rank-0', '000000.seg')), Buffer.alloc(48, 1)]));
  const [rank] = openStore(url).verify().ranks;
  assert.equal(rank.intact, true);
  assert.match(rank.tail, /48 bytes of a step that was not committed/);
});

test('progress is reported after each step, with the bytes read so far', () => {
  const url = join(tempDir(), 'store');
  record(url);
  const seen = [];
  openStore(url).verify({ onProgress: (p) => seen.push([p.rank, p.step, p.lastStep]) });
  assert.deepEqual(seen, [0, 1, 2, 3].map((step) => [0, step, STEPS - 1]));
});

test('a store with one damaged rank among intact ones is not intact', () => {
  const url = join(tempDir(), 'store');
  record(url);
  record(url, { rank: 1 });
  const path = join(url, 'rank-1', '000000.seg');
  const bytes = readFileSync(path);
  bytes[layout(url)[1].offset + 4] ^= 0xff; // rank 1's steps lie as rank 0's do
  writeFileSync(path, bytes);
  const report = openStore(url).verify();
  assert.deepEqual(report.ranks.map((r) => [r.rank, r.intact]), [[0, true], [1, false]]);
  assert.equal(report.intact, false);
});
