// The directory store's frame checksum (src/store/checksum.ts): the WebAssembly lane sum
// and its JavaScript twin agree, every flipped bit of a frame is found, and a runtime
// without WebAssembly reads and writes the same stores.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { jsLaneSum, laneSum } from '../dist/store/checksum.js';
import { parseFrames } from '../dist/store/frames.js';
import { openStoreReader, openStoreWriter } from '../dist/store/store.js';
import { seeded } from './helpers.mjs';
import { runNode } from './helpers/run-node.mjs';
import { assertSteps, write } from './helpers/store-contract.mjs';
import { plain, readPlain, recordsOf } from './fixtures/store/records.mjs';

const root = mkdtempSync(join(tmpdir(), 'dd-sum-'));
after(() => rmSync(root, { recursive: true, force: true }));
const random = seeded(13);

/** Both sums of bytes[0, length) of each, added in pieces of random multiples of 16 bytes. */
function sums(fill, length) {
  const sums = [laneSum(), jsLaneSum()];
  for (const sum of sums) {
    sum.reserve(length + 8);
    fill(sum.bytes, length);
    sum.reset();
  }
  for (let at = 0; at < length; ) {
    const piece = Math.min(length - at, 16 * Math.floor(random() * 200));
    for (const sum of sums) sum.add(at, piece);
    at += piece;
  }
  return sums.map((sum) => (sum.finish(length), sum.bytes.readBigUInt64LE(length)));
}

test('the WebAssembly lane sum equals the JavaScript one for any bytes, length and split into pieces', () => {
  assert.notEqual(laneSum().constructor.name, 'JsLaneSum', 'this Node runs WebAssembly SIMD');
  for (let round = 0; round < 40; round++) {
    const bytes = Array.from({ length: 16 * Math.floor(random() * 400) }, () => (random() < 0.2 ? 0xff : Math.floor(random() * 256)));
    const [wasm, js] = sums((target) => target.set(bytes), bytes.length);
    assert.equal(wasm, js, `${bytes.length} bytes`);
  }
  // All ones, 1 MB: every 64-bit sum carries.
  const [wasm, js] = sums((target, length) => target.fill(0xff, 0, length), 1 << 20);
  assert.equal(wasm, js);
});

/** Step 0's bytes from a directory store holding `records`, and a reader of them for parseFrames. */
function stepOf(records) {
  const url = join(root, `s${random().toString(36).slice(2)}`);
  const writer = openStoreWriter(url, { metadata: null });
  for (const record of records) writer.append(record);
  writer.commit();
  writer.close();
  const entry = readFileSync(join(url, 'rank-0', '000000.idx')).subarray(16);
  const [offset, length] = [entry.readDoubleLE(16), entry.readDoubleLE(24)];
  const bytes = readFileSync(join(url, 'rank-0', '000000.seg')).subarray(offset, offset + length);
  const sum = laneSum();
  return { bytes, parse: (b) => parseFrames({ bytes: b, ensure: () => b.length }, 0, records.length, sum) };
}

test('every flipped bit of a step\'s frames is found, in a small step and in a frame read in pieces', () => {
  const small = stepOf([recordsOf(3)[0], recordsOf(3)[1]]);
  assert.equal(typeof small.parse(small.bytes), 'object', 'the step as written parses');
  for (let bit = 0; bit < small.bytes.length * 8; bit++) {
    const copy = Buffer.from(small.bytes);
    copy[bit >> 3] ^= 1 << (bit & 7);
    assert.equal(typeof small.parse(copy), 'string', `bit ${bit} flipped`);
  }
  // Larger than the 256 KB a reader sums at a time, with a tail that is not a whole 16 bytes.
  const large = stepOf([{ delivery: 'teacher-logits', call: 0, signature: 'f(Tensor[1])', payload: Uint8Array.from({ length: 300_001 }, (_, i) => i * 7) }]);
  assert.equal(typeof large.parse(large.bytes), 'object');
  for (const at of [0, 40, 262_143, 262_144, 262_160, large.bytes.length - 17, large.bytes.length - 1, ...Array.from({ length: 200 }, () => Math.floor(random() * large.bytes.length))]) {
    const copy = Buffer.from(large.bytes);
    copy[at] ^= 1 << Math.floor(random() * 8);
    assert.equal(typeof large.parse(copy), 'string', `byte ${at}`);
  }
});

test('without WebAssembly (node --jitless) the JavaScript lane sum reads and writes the same stores', async () => {
  const written = join(root, 'wasm');
  write(written, 4);
  const byChild = join(root, 'js');
  const child = await runNode(fileURLToPath(new URL('./fixtures/store/jitless.mjs', import.meta.url)), { agent: false, nodeArgs: ['--jitless', '--no-warnings'], args: [written, byChild] });
  assert.equal(child.code, 0, child.stderr);
  const { sum, steps } = JSON.parse(child.stdout);
  assert.equal(sum, 'JsLaneSum');
  assert.deepEqual(steps, Array.from({ length: 4 }, (_, step) => plain(recordsOf(step), step).map((r) => ({ ...r, payload: r.payload.toString('base64') }))));
  const reader = openStoreReader(byChild);
  assertSteps(reader, 0, 3);
  reader.close();
});
