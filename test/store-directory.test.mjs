// The directory store: the backend contract on real files, then what only files can show
// (torn and corrupted tails, segments, urls, a folder that is not a store).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { openStoreReader, openStoreWriter, storeRank } from '../dist/store/store.js';
import { plain, readPlain, recordsOf } from './fixtures/store/records.mjs';
import { nodeBinary } from './helpers/run-node.mjs';
import { assertSteps, storeContract, write } from './helpers/store-contract.mjs';

const root = mkdtempSync(join(tmpdir(), 'dd-store-'));
after(() => rmSync(root, { recursive: true, force: true }));
let count = 0;
const place = () => join(root, `s${count++}`);

storeContract({}, place);

const segment = (url, rank = 0, seq = 0) => join(url, `rank-${rank}`, `${String(seq).padStart(6, '0')}.seg`);
const index = (url, rank = 0, seq = 0) => join(url, `rank-${rank}`, `${String(seq).padStart(6, '0')}.idx`);

function flipByte(file, fromEnd) {
  const bytes = readFileSync(file);
  bytes[bytes.length - fromEnd] ^= 0x40;
  writeFileSync(file, bytes);
}

test('a torn tail (the last step cut short) is reported with the last good step, and never replayed', () => {
  const url = place();
  write(url, 4);
  truncateSync(segment(url), statSync(segment(url)).size - 100);
  const reader = openStoreReader(url);
  assert.equal(reader.lastStep, 2);
  assert.match(reader.tail, /points past the end of its segment/);
  assertSteps(reader, 0, 2);
  assert.throws(() => reader.read(3), (error) => error.code === 'ERR_DELIVERY_STORE_END' && /holds steps 0 to 2 \(/.test(error.message));
  reader.close();
});

test('uncommitted bytes after the last step are reported and ignored', () => {
  const url = place();
  write(url, 3);
  const fd = openSync(segment(url), 'a');
  writeSync(fd, Buffer.alloc(77, 1));
  closeSync(fd);
  const reader = openStoreReader(url);
  assert.equal(reader.lastStep, 2);
  assert.match(reader.tail, /77 bytes of a step that was not committed/);
  assertSteps(reader, 0, 2);
  reader.close();
});

test('a torn index entry is reported and its step is absent', () => {
  const url = place();
  write(url, 3);
  truncateSync(index(url), statSync(index(url)).size - 10);
  const reader = openStoreReader(url);
  assert.equal(reader.lastStep, 1);
  assert.match(reader.tail, /torn entry/);
  reader.close();
});

test('a corrupted last step fails its checksum: reported at open, ERR_DELIVERY_STORE_CORRUPT when read', () => {
  const url = place();
  write(url, 4);
  flipByte(segment(url), 1);
  const reader = openStoreReader(url);
  assert.equal(reader.lastStep, 2);
  assert.match(reader.tail, /step 3 is corrupted: record 2 of step 3 fails its checksum/);
  assertSteps(reader, 0, 2);
  assert.throws(() => reader.read(3), (error) => error.code === 'ERR_DELIVERY_STORE_CORRUPT' && /steps 0 to 2 intact/.test(error.message));
  reader.close();
});

test('a corrupted step inside the store fails with ERR_DELIVERY_STORE_CORRUPT; the steps around it still replay', () => {
  const url = place();
  write(url, 4);
  // Step 2's place in the segment, from its index entry (after the 16-byte header: 32 bytes a step, offset at 16, length at 24).
  const entry = readFileSync(index(url)).subarray(16 + 2 * 32);
  const [offset, length] = [entry.readDoubleLE(16), entry.readDoubleLE(24)];
  flipByte(segment(url), statSync(segment(url)).size - (offset + Math.floor(length / 2))); // a byte in the middle of step 2
  const reader = openStoreReader(url);
  assert.equal(reader.lastStep, 3);
  assert.throws(() => reader.read(2), { code: 'ERR_DELIVERY_STORE_CORRUPT' });
  assertSteps(reader, 0, 1);
  assertSteps(reader, 3, 3);
  reader.close();
});

test('a corrupted index entry followed by good ones is ERR_DELIVERY_STORE_CORRUPT at open', () => {
  const url = place();
  write(url, 3);
  const bytes = readFileSync(index(url));
  bytes[16 + 32 + 9] ^= 1; // step 1's entry
  writeFileSync(index(url), bytes);
  assert.throws(() => openStoreReader(url), { code: 'ERR_DELIVERY_STORE_CORRUPT' });
});

test('a resume after a torn or corrupted tail starts a new segment at the first missing step', () => {
  const url = place();
  write(url, 4);
  flipByte(segment(url), 1);
  assert.equal(write(url, 2, { ifExists: 'resume' }), 3);
  assert.ok(existsSync(segment(url, 0, 1)), 'the old segment is left as it was; the resume writes a new one');
  const reader = openStoreReader(url);
  assert.equal(reader.lastStep, 4);
  assert.equal(reader.tail, undefined);
  assertSteps(reader, 0, 4);
  reader.close();
});

test('segments roll over at segmentBytes and read back as one sequence', () => {
  const url = place();
  write(url, 12, { segmentBytes: 4096 });
  assert.ok(readdirSync(join(url, 'rank-0')).filter((name) => name.endsWith('.seg')).length > 3);
  const reader = openStoreReader(url);
  assertSteps(reader, 0, 11);
  reader.close();
});

test('a reader sees steps committed after it opened', () => {
  const url = place();
  const writer = openStoreWriter(url, { metadata: null });
  writer.commit();
  const reader = openStoreReader(url);
  assert.equal(reader.lastStep, 0);
  writer.append(recordsOf(1)[0]);
  writer.commit();
  assert.deepEqual(readPlain(reader.read(1)), plain([recordsOf(1)[0]], 1));
  writer.close();
  reader.close();
});

test('a folder that is not a store is never written into, even with ifExists "overwrite"', () => {
  const url = place();
  mkdirSync(url);
  writeFileSync(join(url, 'notes.txt'), 'mine');
  assert.throws(() => openStoreWriter(url, { metadata: 1, ifExists: 'overwrite' }), { code: 'ERR_DELIVERY_STORE_MISMATCH' });
  assert.deepEqual(readdirSync(url), ['notes.txt']);
  writeFileSync(join(url, 'meta.json'), '{"format":"something-else"}');
  assert.throws(() => openStoreReader(url), { code: 'ERR_DELIVERY_STORE_MISMATCH' });
  assert.throws(() => openStoreReader(join(url, 'absent')), { code: 'ERR_DELIVERY_STORE_END' });
});

test('a url is a folder relative to the base, an absolute path or a file: URL', () => {
  const folder = place();
  write(pathToFileURL(folder).href, 1);
  const relative = openStoreReader(`./${folder.split('/').at(-1)}`, { base: pathToFileURL(join(root, 'any-file.js')) });
  assertSteps(relative, 0, 0);
  relative.close();
  const viaFolder = openStoreReader(`./${folder.split('/').at(-1)}`, { base: root });
  assert.equal(viaFolder.subject, `the store "./${folder.split('/').at(-1)}" (rank 0)`);
  viaFolder.close();
  for (const bad of ['', 3, 'http://example.com/x', 'redis://127.0.0.1:1', 'redis://:6379/k', 'redis://h:1/k?db=x', 'rediss://h:1/k']) {
    assert.throws(() => openStoreReader(bad), { code: 'ERR_DELIVERY_INVALID_OPTION' }, String(bad));
  }
});

test('the rank is the option, else DISTILL_DELIVERY_RANK, else 0; anything but a whole number from 0 is refused', () => {
  assert.equal(storeRank(undefined, {}), 0);
  assert.equal(storeRank(undefined, { DISTILL_DELIVERY_RANK: '3' }), 3);
  assert.equal(storeRank(2, { DISTILL_DELIVERY_RANK: '3' }), 2);
  for (const bad of ['-1', '1.5', 'one', '0x2']) assert.throws(() => storeRank(undefined, { DISTILL_DELIVERY_RANK: bad }), { code: 'ERR_DELIVERY_INVALID_OPTION' });
  for (const bad of [-1, 1.5, '1']) assert.throws(() => storeRank(bad, {}), { code: 'ERR_DELIVERY_INVALID_OPTION' });
  for (const [option, value] of [['timeout', 0], ['ifExists', 'replace'], ['segmentBytes', -5]]) {
    assert.throws(() => openStoreWriter(place(), { metadata: 1, [option]: value }), { code: 'ERR_DELIVERY_INVALID_OPTION' }, option);
  }
});

// One writer per rank: rank-<r>/writer.lock (src/store/directory-lock.ts).
const lockFile = (url, rank = 0) => join(url, `rank-${rank}`, 'writer.lock');
const lockText = (holder) => JSON.stringify({ format: 'distill-delivery-writer-lock', token: 'x', since: '2020-01-01T00:00:00.000Z', ...holder });

test('a rank locked by a writer on another host is refused, with the lock file to delete if that writer is gone', () => {
  const url = place();
  write(url, 1);
  writeFileSync(lockFile(url), lockText({ host: 'elsewhere.invalid', pid: 4242 }));
  assert.throws(() => openStoreWriter(url, { metadata: null, ifExists: 'resume' }), (error) => {
    assert.equal(error.code, 'ERR_DELIVERY_STORE_EXISTS');
    assert.ok(error.message.includes(`process 4242 on host "elsewhere.invalid"`), error.message);
    assert.ok(error.message.includes(`${lockFile(url)}, and this host cannot tell whether that process still runs; if it does not, delete that file`), error.message);
    return true;
  });
  rmSync(lockFile(url));
  const writer = openStoreWriter(url, { metadata: { deliveries: { mixup: { type: 'MethodOutputs' } }, hash: 'h1' }, ifExists: 'resume' });
  assert.equal(writer.nextStep, 1);
  writer.close();
  assert.equal(existsSync(lockFile(url)), false, 'closing removes the lock');
});

test('a lock whose pid now belongs to another process (it started at another time) is broken', { skip: !existsSync('/proc/self/stat') && 'needs /proc' }, () => {
  const url = place();
  write(url, 1);
  // This test's own pid, alive, but not started at that time: the holder was another process.
  writeFileSync(lockFile(url), lockText({ host: hostname(), pid: process.pid, start: '1' }));
  const writer = openStoreWriter(url, { metadata: { deliveries: { mixup: { type: 'MethodOutputs' } }, hash: 'h1' }, ifExists: 'resume' });
  assert.equal(JSON.parse(readFileSync(lockFile(url), 'utf8')).pid, process.pid);
  assert.notEqual(JSON.parse(readFileSync(lockFile(url), 'utf8')).start, '1');
  writer.close();
});

test('a writer whose lock was deleted and taken by another writer leaves that writer\'s lock in place when it closes', () => {
  const url = place();
  write(url, 1);
  const metadata = { deliveries: { mixup: { type: 'MethodOutputs' } }, hash: 'h1' };
  const first = openStoreWriter(url, { metadata, ifExists: 'resume' });
  rmSync(lockFile(url)); // as a refused writer's message says to, for a lock it cannot judge
  const second = openStoreWriter(url, { metadata, ifExists: 'resume' });
  const held = readFileSync(lockFile(url), 'utf8');
  first.close();
  assert.equal(readFileSync(lockFile(url), 'utf8'), held, 'the second writer still holds the rank');
  assert.throws(() => openStoreWriter(url, { metadata, ifExists: 'resume' }), { code: 'ERR_DELIVERY_STORE_EXISTS' });
  second.close();
  assert.equal(existsSync(lockFile(url)), false);
});

test('a lock that names no holder is refused, with the file to delete', () => {
  const url = place();
  mkdirSync(join(url, 'rank-0'), { recursive: true });
  writeFileSync(lockFile(url), 'not json');
  assert.throws(() => openStoreWriter(url, { metadata: 1 }), (error) => error.code === 'ERR_DELIVERY_STORE_EXISTS' && error.message.includes('does not name its holder'));
});

// A failed metadata write (issue 18, point 6): a real file-size limit (RLIMIT_FSIZE, with
// SIGXFSZ ignored so the write fails with EFBIG instead of killing the process).
const bigMetadata = { deliveries: {}, notes: 'x'.repeat(64 << 10) };

test('a metadata write that fails (a full disk, a file-size limit) leaves nothing that blocks the next record run', () => {
  const url = place();
  const script = `import { openStoreWriter } from ${JSON.stringify(pathToFileURL(fileURLToPath(new URL('../dist/store/store.js', import.meta.url))).href)};
try { openStoreWriter(process.argv[1], { metadata: JSON.parse(process.env.META) }); console.log('opened'); }
catch (error) { console.log(error.code, error.message); }`;
  const child = spawnSync('sh', ['-c', `trap '' XFSZ; ulimit -f 4; exec "$0" --input-type=module -e "$1" "$2"`, nodeBinary, script, url], { encoding: 'utf8', env: { ...process.env, META: JSON.stringify(bigMetadata) } });
  assert.match(child.stdout, /^ERR_DELIVERY_STORE_UNAVAILABLE .*EFBIG/, child.stdout + child.stderr);
  assert.deepEqual(readdirSync(url), ['rank-0'], 'no temporary meta.json is left');
  assert.deepEqual(readdirSync(join(url, 'rank-0')), [], 'nor the rank\'s lock');
  for (const ifExists of ['error', 'overwrite']) {
    const writer = openStoreWriter(url, { metadata: bigMetadata, ifExists });
    writer.commit();
    writer.close();
  }
  const reader = openStoreReader(url);
  assert.deepEqual(reader.metadata, bigMetadata);
  reader.close();
});

test('a temporary metadata file left by a writer that died while writing it does not block a record run', () => {
  for (const ifExists of ['error', 'overwrite']) {
    const url = place();
    mkdirSync(url);
    writeFileSync(join(url, '.meta.json.4242.abc'), '{"format":"distill-del');
    mkdirSync(join(url, 'rank-1'));
    const writer = openStoreWriter(url, { metadata: 1, ifExists });
    writer.commit();
    writer.close();
    assert.equal(openStoreReader(url).lastStep, 0, ifExists);
  }
});
