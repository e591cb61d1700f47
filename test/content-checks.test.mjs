// Content checks: `check: "values"` compares the contents of a replayed call's arguments
// with the teacher's at any depth (tensors by their data), naming where they first differ;
// with a store, every recorded call keeps a digest of its arguments' contents and every
// replayed one is compared with it unless `check: "off"`, so a replay fed other data
// fails with ERR_DELIVERY_DIVERGED at the first step that differs. The content hash's
// WebAssembly lanes and their JavaScript twin agree.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { DistillDeliveryManager, FunctionOutputsDelivery } from 'distill-delivery';
import { hash, hashBytes, jsHashBytes, usesWebAssembly, WASM_FROM } from '../dist/values/content-hash.js';
import { digestCall } from '../dist/values/digest.js';
import { encodeOutput, payloadDraws, VALUE } from '../dist/values/encode.js';
import { openStoreReader, openStoreWriter } from '../dist/store/store.js';
import { seeded, warningsDuring } from './helpers.mjs';
import { agentFixture, lines, runNode } from './helpers/run-node.mjs';
import { tempDirs } from './helpers/temp-dirs.mjs';

await tf.setBackend('cpu');
tf.enableProdMode(); // silences the notice about the native backend
const require = createRequire(import.meta.url);
const base = new URL('./fixtures/content/', import.meta.url);
const targets = require('./fixtures/content/targets.cjs');
const tempDir = tempDirs('content-checks-');

const look = (check) => new FunctionOutputsDelivery({ funcPath: './targets.cjs#look', base, name: 'look', ...(check && { check }) });

/** Records look(...teacher()), then replays look(...student()); returns the ERR_DELIVERY_DIVERGED error, if any. */
function replay(d, teacher, student) {
  d.overrideData = false;
  const recorded = d.run(() => targets.look(...teacher()));
  d.overrideData = true;
  try {
    assert.equal(d.run(() => targets.look(...student())), recorded);
  } catch (error) {
    if (error.code !== 'ERR_DELIVERY_DIVERGED') throw error;
    return error;
  }
  return undefined;
}

describe('check "values" in one process', () => {
  test('it sees a tensor of the same shape and other contents, which check "shape" lets through', () => {
    const teacher = () => [tf.tensor2d([1, 2, 3, 4], [2, 2])];
    const student = () => [tf.tensor2d([1, 2, 3, 5], [2, 2])];
    assert.equal(replay(look(), teacher, student), undefined);
    const error = replay(look('values'), teacher, student);
    assert.ok(error);
    assert.match(error.message, /first at arguments\[0\] \(both calls \(tensor float32\[2,2\]\)\)/);
    assert.equal(replay(look('values'), teacher, teacher), undefined, 'another tensor with the same data passes');
  });

  // Each: the teacher's arguments, the student's (the same shape at the top), and where the message says they differ.
  const deep = [
    ['nested arrays', () => [[1, [2, 3]]], () => [[1, [2, 4]]], 'arguments[0][1][1]'],
    ['plain objects', () => [{ imgs: Float32Array.of(1), meta: { ids: [1, 2], name: 'a' } }], () => [{ imgs: Float32Array.of(1), meta: { ids: [1, 3], name: 'a' } }], 'arguments[0].meta.ids[1]'],
    ['a Map', () => [new Map([['a', [1]], ['b', [2]]])], () => [new Map([['a', [1]], ['b', [3]]])], 'arguments[0].get("b")[0]'],
    ['a Set', () => [new Set([1, 2])], () => [new Set([1, 3])], 'arguments[0].values()[1]'],
    ['a tensor in an object', () => [{ imgs: tf.tensor1d([1, 2]), labels: [0, 1] }], () => [{ imgs: tf.tensor1d([1, 9]), labels: [0, 1] }], 'arguments[0].imgs'],
    ['a typed array in a Map in an array', () => [1, [new Map([[7, Int32Array.of(0, 1, 1, 0)]])]], () => [1, [new Map([[7, Int32Array.of(1, 0, 0, 1)]])]], 'arguments[1][0].get(7)'],
    ['the second of two arguments', () => ['a', { x: 1 }], () => ['a', { x: 2 }], 'arguments[1].x'],
    ['an entry past the first fifteen of a long array', () => [Array.from({ length: 64 }, (_, i) => i)], () => [Array.from({ length: 64 }, (_, i) => (i === 40 ? -1 : i))], 'arguments[0][15..63]'],
    ['one of the first entries of a long array of numbers', () => [Array.from({ length: 64 }, (_, i) => i)], () => [Array.from({ length: 64 }, (_, i) => (i === 3 ? 0.5 : i))], 'arguments[0][3]'],
    ['an entry of a long array of strings', () => [Array.from({ length: 20 }, (_, i) => `s${i}`)], () => [Array.from({ length: 20 }, (_, i) => (i === 2 ? 'x' : `s${i}`))], 'arguments[0][2]'],
    ['a value deeper than the digest names', () => [[[[[[1]]]]]], () => [[[[[[2]]]]]], 'arguments[0][0][0][0]'],
    ['a date', () => [{ when: new Date(1) }], () => [{ when: new Date(2) }], 'arguments[0].when'],
    ['a key renamed in an object inside an array', () => [{ opts: [{ lr: 1 }] }], () => [{ opts: [{ lR: 1 }] }], 'arguments[0].opts[0].lR'],
    ['a key renamed in an object inside a Map', () => [new Map([['k', { lr: 1 }]])], () => [new Map([['k', { lR: 1 }]])], 'arguments[0].get("k").lR'],
  ];
  for (const [what, teacher, student, path] of deep) {
    test(`it catches other contents deep in ${what}, naming ${path}`, () => {
      assert.equal(replay(look(), teacher, student), undefined, 'check "shape" lets it through');
      const error = replay(look('values'), teacher, student);
      assert.ok(error, 'check "values" catches it');
      assert.ok(error.message.includes(`first at ${path} (`), error.message);
    });
  }

  test('the same contents pass whatever holds them: copies, keys in another order, shared references against copies, cycles', () => {
    const shared = { n: [1, 2] };
    const cyclic = () => {
      const a = { name: 'x', list: [1] };
      a.self = a;
      return a;
    };
    const teacher = () => [{ a: shared, b: shared, c: Buffer.from('xy') }, cyclic(), new Map([[1, new Set(['s'])]]), NaN, -0, [NaN, 1, 2]];
    const student = () => [{ c: new Uint8Array([120, 121]), b: { n: [1, 2] }, a: { n: [1, 2] } }, cyclic(), new Map([[1, new Set(['s'])]]), 0 / 0, -0, [Math.sqrt(-1), 1, 2]];
    assert.equal(replay(look('values'), teacher, student), undefined);
  });

  test('contents that differ only in order are told apart where order is the contents: arrays, Maps, Sets, typed arrays', () => {
    for (const [teacher, student] of [
      [[1, 2], [2, 1]],
      [new Map([[1, 1], [2, 2]]), new Map([[2, 2], [1, 1]])],
      [new Set([1, 2]), new Set([2, 1])],
      // A permutation that a linear lane sum misses: the same words in one lane, in another order.
      [Int32Array.from({ length: 16 }, (_, i) => [0, 1, 1, 0][i >> 2]), Int32Array.from({ length: 16 }, (_, i) => [1, 0, 0, 1][i >> 2])],
    ]) {
      assert.ok(replay(look('values'), () => [teacher], () => [student]));
    }
  });

  test('the message names the delivery and the call, and never the values', () => {
    const error = replay(look('values'), () => [{ password: 'hunter2', n: 41 }], () => [{ password: 'hunter2', n: 42 }]);
    assert.match(error.message, /delivery "look"/);
    assert.match(error.message, /call 1 replayed outside phases/);
    assert.match(error.message, /first at arguments\[0\]\.n/);
    assert.doesNotMatch(error.message, /hunter2|41|42|#v1/);
  });

  test('an argument that cannot be read (a revoked proxy) does not break the call, on either side', () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    assert.equal(replay(look('values'), () => [proxy, 1], () => [proxy, 1]), undefined);
    assert.ok(replay(look('values'), () => [proxy, 1], () => [proxy, 2]));
  });
});

describe('the content hash', () => {
  test('its WebAssembly lanes equal its JavaScript twin for any bytes, length and offset', () => {
    assert.ok(usesWebAssembly(), 'this Node runs WebAssembly');
    const random = seeded(5);
    const buffer = new Uint8Array(1 << 20).map(() => Math.floor(random() * 256));
    const lengths = [0, 1, 7, 8, 31, 32, 33, WASM_FROM - 1, WASM_FROM, 1000, (1 << 18) - 1, 1 << 18, (1 << 18) + 33, 700_001];
    for (const length of lengths) {
      const offset = Math.floor(random() * 64);
      const bytes = buffer.subarray(offset, offset + length);
      hashBytes(bytes);
      const fast = [hash[0], hash[1]];
      jsHashBytes(bytes);
      assert.deepEqual(fast, [hash[0], hash[1]], `length ${length}, offset ${offset}`);
    }
  });

  test('every single flipped bit of a run changes it', () => {
    const bytes = new Uint8Array(300).map((_, i) => i * 7);
    hashBytes(bytes);
    const before = `${hash[0]}:${hash[1]}`;
    const seen = new Set([before]);
    for (let bit = 0; bit < bytes.length * 8; bit++) {
      bytes[bit >> 3] ^= 1 << (bit & 7);
      hashBytes(bytes);
      seen.add(`${hash[0]}:${hash[1]}`);
      bytes[bit >> 3] ^= 1 << (bit & 7);
    }
    assert.equal(seen.size, bytes.length * 8 + 1);
  });

  test('a process without WebAssembly (node --jitless) digests a call as this one does', async () => {
    const args = () => [{ imgs: new Float32Array(4096).map((_, i) => Math.sin(i)), labels: Int32Array.of(1, 2, 3) }, 'text', [1, 2n], Array.from({ length: 40 }, (_, i) => i / 3)];
    const script = fileURLToPath(new URL('./fixtures/content/digest-jitless.mjs', import.meta.url));
    const { code, stdout, stderr } = await runNode(script, { agent: false, nodeArgs: ['--jitless'] });
    assert.equal(code, 0, stderr);
    assert.deepEqual(JSON.parse(stdout), { webAssembly: false, digest: digestCall(args()) });
  });
});

// The store: a manager with a folder store, in this process.
const spec = (extra = {}) => ({ type: 'FunctionOutputs', funcPath: './targets.cjs#augment', maxKeepData: 100, ...extra });
const managerOf = (specs, url, mode) => new DistillDeliveryManager(specs, { base, store: { url, mode } });

/** Seeded batches: `{ imgs, labels }` per step, from `drift` on drawn from another seed. */
function batches(seed, steps, drift = Infinity) {
  const a = seeded(seed);
  const b = seeded(seed + 1000);
  return Array.from({ length: steps }, (_, step) => {
    const random = step >= drift ? b : a;
    return { imgs: Float32Array.from({ length: 6 }, () => random()), labels: Int32Array.from({ length: 3 }, () => Math.floor(random() * 4)) };
  });
}

/** Records `data` (one record phase a batch) into a new store; returns its url. */
function record(data, extra) {
  const url = join(tempDir(), 'outputs');
  const recorder = managerOf({ augment: spec(extra) }, url, 'record');
  for (const batch of data) recorder.recordPhase(() => targets.augment(batch));
  recorder.close();
  return url;
}

/** Replays `data` from `url`, a record phase a batch; returns how many steps replayed and the error that stopped it. */
function replayStore(url, data, extra) {
  const replayer = managerOf({ augment: spec(extra) }, url, 'replay');
  let steps = 0;
  try {
    for (const batch of data) {
      replayer.recordPhase(() => targets.augment(batch));
      steps++;
    }
    return { steps };
  } catch (error) {
    return { steps, error };
  } finally {
    replayer.close();
  }
}

describe('a store replay', () => {
  test('each stored call carries the digest of its arguments\' contents in its signature', () => {
    const url = record(batches(1, 2));
    const reader = openStoreReader(url);
    try {
      for (const step of [0, 1]) assert.match(reader.read(step)[0].signature, /^\(\{imgs, labels\}\) #v1:[A-Za-z0-9_-]+$/);
    } finally {
      reader.close();
    }
  });

  test('fed the record run\'s data, it replays every step without running the delivered function', () => {
    const url = record(batches(1, 5));
    const before = targets.calls.augment;
    assert.deepEqual(replayStore(url, batches(1, 5)), { steps: 5 });
    assert.equal(targets.calls.augment, before);
  });

  test('fed other data from some step on (check "shape", the default), it fails there with ERR_DELIVERY_DIVERGED, naming the step, the call and where', () => {
    const url = record(batches(1, 5));
    const { steps, error } = replayStore(url, batches(1, 5, 3));
    assert.equal(steps, 3);
    assert.equal(error?.code, 'ERR_DELIVERY_DIVERGED');
    assert.match(error.message, /^Cannot replay step 3 of the store ".*" \(rank 0\): call 1 of delivery "augment" .* other contents than the recorded call, first at arguments\[0\]\.imgs \(both calls \(\{imgs, labels\}\)\)/);
    assert.match(error.message, /another data seed, or a data loader that drifted/);
  });

  test('fed another seed\'s data, it fails at the first step', () => {
    const url = record(batches(1, 3), { check: 'values' });
    const { steps, error } = replayStore(url, batches(2, 3), { check: 'values' });
    assert.equal(steps, 0);
    assert.equal(error?.code, 'ERR_DELIVERY_DIVERGED');
    assert.match(error.message, /step 0 .*first at arguments\[0\]\.imgs/);
  });

  test('with check "off" (recorded and replayed so) nothing is compared and other data replays', () => {
    const url = record(batches(1, 3), { check: 'off' });
    assert.deepEqual(replayStore(url, batches(2, 3), { check: 'off' }), { steps: 3 });
    const reader = openStoreReader(url);
    try {
      assert.equal(reader.read(0)[0].signature, '');
    } finally {
      reader.close();
    }
  });

  test('a student-only replay (override phases only) compares its calls\' contents with the store\'s too', () => {
    const url = record(batches(1, 3));
    const student = managerOf({ augment: spec() }, url, 'replay');
    try {
      const data = batches(1, 3, 1);
      student.overridePhase(() => targets.augment(data[0]));
      assert.throws(() => student.overridePhase(() => targets.augment(data[1])), (error) => error.code === 'ERR_DELIVERY_DIVERGED' && /step 1 .*call 1 of delivery "augment".*first at arguments\[0\]\.imgs/.test(error.message));
    } finally {
      student.close();
    }
  });

  test('in a replay run, a student\'s call is compared with its teacher\'s as its check says: contents for "values", shapes for "shape"', () => {
    const data = batches(1, 1);
    const other = batches(2, 1);
    for (const check of ['shape', 'values']) {
      const url = record(data, { check });
      const run = managerOf({ augment: spec({ check }) }, url, 'replay');
      try {
        run.recordPhase(() => targets.augment(data[0]));
        const student = () => run.overridePhase(() => targets.augment(other[0]));
        if (check === 'shape') student();
        else assert.throws(student, (error) => error.code === 'ERR_DELIVERY_DIVERGED' && /step 1, call 1 the student's call has other contents/.test(error.message));
      } finally {
        run.close();
      }
    }
  });
});

describe('a store replay, with random draws, generators, failed phases and mode "auto"', () => {
  const random = Math.random;

  /**
   * A script's shape: a loader that shuffles from the seeded Math.random it shares with the
   * delivered augment, one record phase a batch; returns the batches the loader gave and
   * the error that stopped it.
   */
  function sharedLoader(manager, steps) {
    Math.random = seeded(11);
    const given = [];
    try {
      for (let step = 0; step < steps; step++) {
        const batch = { imgs: Float32Array.from({ length: 6 }, () => Math.random()), labels: Int32Array.of(step % 4, 1, 2) };
        given.push(Array.from(batch.imgs));
        manager.recordPhase(() => targets.augment(batch));
      }
      return { given };
    } catch (error) {
      return { given, error };
    } finally {
      Math.random = random;
      manager.close();
    }
  }

  test('each stored call keeps its draws in the payload\'s header and its digest in the signature', () => {
    const url = join(tempDir(), 'outputs');
    sharedLoader(managerOf({ augment: spec() }, url, 'record'), 2);
    const reader = openStoreReader(url);
    try {
      for (const step of [0, 1]) {
        const [stored] = reader.read(step);
        assert.equal(payloadDraws(stored.payload), 1, 'augment draws once');
        assert.match(stored.signature, /^\(\{imgs, labels\}\) #v1:[A-Za-z0-9_-]+$/);
      }
    } finally {
      reader.close();
    }
  });

  test('a loader sharing Math.random with a replayed call gets the record run\'s batches (random "advance"); with random "off" it drifts, and the digests stop the replay where it does', () => {
    for (const mode of ['advance', 'off']) {
      const url = join(tempDir(), 'outputs');
      const recorded = sharedLoader(managerOf({ augment: spec({ random: mode }) }, url, 'record'), 4);
      const before = targets.calls.augment;
      const replayed = sharedLoader(managerOf({ augment: spec({ random: mode }) }, url, 'replay'), 4);
      assert.equal(targets.calls.augment, before, 'no augment ran');
      if (mode === 'advance') {
        assert.deepEqual(replayed, recorded);
      } else {
        assert.equal(replayed.error?.code, 'ERR_DELIVERY_DIVERGED');
        assert.match(replayed.error.message, /^Cannot replay step 1 of the store .*: call 1 of delivery "augment" .*first at arguments\[0\]\.imgs/);
        assert.equal(replayed.given.length, 2);
      }
    }
  });

  test('a generator function\'s call is digested: a replay whose call has other contents fails with ERR_DELIVERY_DIVERGED before any item', () => {
    const url = join(tempDir(), 'outputs');
    const specs = { pieces: { ...spec(), funcPath: './targets.cjs#pieces' } };
    const data = batches(1, 2);
    const recorder = managerOf(specs, url, 'record');
    const recorded = data.map((batch) => recorder.recordPhase(() => [...targets.pieces(batch)]));
    recorder.close();
    const reader = openStoreReader(url);
    assert.match(reader.read(0)[0].signature, /^\(\{imgs, labels\}\) #v1:/);
    reader.close();
    const replayer = managerOf(specs, url, 'replay');
    try {
      const calls = targets.calls.pieces;
      assert.deepEqual(replayer.recordPhase(() => [...targets.pieces(data[0])]), recorded[0]);
      const other = batches(1, 2, 1)[1];
      assert.throws(() => replayer.recordPhase(() => [...targets.pieces(other)]), (error) => error.code === 'ERR_DELIVERY_DIVERGED' && /step 1 .*call 1 of delivery "pieces".*first at arguments\[0\]\.imgs/.test(error.message));
      assert.equal(targets.calls.pieces, calls, 'no generator ran');
    } finally {
      replayer.close();
    }
  });

  test('a step whose record phase threw is compared too: its replay fed other data fails with ERR_DELIVERY_DIVERGED, not with how the phase ended', () => {
    const url = join(tempDir(), 'outputs');
    const specs = { fails: { ...spec(), funcPath: './targets.cjs#fails' } };
    const [batch] = batches(1, 1);
    const recorder = managerOf(specs, url, 'record');
    assert.throws(() => recorder.recordPhase(() => targets.fails(batch)), RangeError);
    recorder.close();
    const replayer = managerOf(specs, url, 'replay');
    try {
      assert.throws(() => replayer.recordPhase(() => targets.fails(batches(2, 1)[0])), (error) => error.code === 'ERR_DELIVERY_DIVERGED' && /step 0 .*call 1 of delivery "fails"/.test(error.message));
    } finally {
      replayer.close();
    }
    const again = managerOf(specs, url, 'replay');
    try {
      assert.throws(() => again.recordPhase(() => targets.fails(batch)), (error) => error instanceof RangeError && /no batch of 3/.test(error.message));
    } finally {
      again.close();
    }
  });

  test('mode "auto" compares the steps it replays with their digests, then records the rest with digests', () => {
    const url = join(tempDir(), 'outputs');
    const first = managerOf({ augment: spec() }, url, 'auto');
    for (const batch of batches(1, 2)) first.recordPhase(() => targets.augment(batch));
    first.close();
    // Fed other data at the second step it holds: it stops there, and records nothing.
    const drifted = managerOf({ augment: spec() }, url, 'auto');
    const data = batches(1, 3, 1);
    drifted.recordPhase(() => targets.augment(data[0]));
    assert.throws(() => drifted.recordPhase(() => targets.augment(data[1])), (error) => error.code === 'ERR_DELIVERY_DIVERGED' && /step 1 of the store/.test(error.message));
    drifted.close();
    // Fed the record run's data: it replays both steps, then records the third, digested.
    const resumed = managerOf({ augment: spec() }, url, 'auto');
    for (const batch of batches(1, 3)) resumed.recordPhase(() => targets.augment(batch));
    assert.deepEqual([resumed.storeSummary().read, resumed.storeSummary().written], [2, 1]);
    resumed.close();
    const reader = openStoreReader(url);
    try {
      assert.equal(reader.lastStep, 2);
      assert.match(reader.read(2)[0].signature, /^\(\{imgs, labels\}\) #v1:/);
    } finally {
      reader.close();
    }
    assert.equal(replayStore(url, batches(1, 3, 2)).error?.code, 'ERR_DELIVERY_DIVERGED');
  });
});

describe('stores written before digests, and by other versions', () => {
  const target = fileURLToPath(new URL('./fixtures/content/targets.cjs', import.meta.url));

  /**
   * A store holding `data`'s calls, each signed `sign(shape)`, as the store link writes one
   * (its metadata as since random draws are stored: a store older than that is refused for its metadata).
   */
  async function storeWith(sign) {
    const { createHash } = await import('node:crypto');
    const deliveries = { augment: { type: 'FunctionOutputs', target: './targets.cjs#augment', check: 'shape', random: 'advance' } };
    const metadata = { deliveries, hash: createHash('sha256').update(JSON.stringify(deliveries)).digest('hex') };
    const url = join(tempDir(), 'outputs');
    const writer = openStoreWriter(url, { metadata });
    for (let step = 0; step < 2; step++) {
      writer.append({ delivery: 'augment', call: 0, signature: sign('({imgs, labels})'), payload: encodeOutput({ lam: step }, VALUE, 'augment') });
      writer.commit();
    }
    // A record run that ended: the store is complete (an incomplete one is said so with a warning of its own).
    writer.close({ complete: true });
    return url;
  }

  test('a store whose calls carry no digest replays, comparing shapes, and says once that contents go unchecked', async () => {
    assert.ok(target);
    const url = await storeWith((shape) => shape);
    let result;
    const warnings = await warningsDuring(() => {
      result = replayStore(url, batches(9, 2));
    });
    assert.deepEqual(result, { steps: 2 });
    assert.deepEqual(warnings.map((w) => w.code), ['DISTILL_DELIVERY_STORE_WITHOUT_DIGESTS']);
    assert.match(warnings[0].message, /kept no digest of its calls' contents/);
  });

  test('a digest of a version this package does not read is refused with ERR_DELIVERY_STORE_MISMATCH', async () => {
    const url = await storeWith((shape) => `${shape} #v9:AAAAAAAAAAAA`);
    const { steps, error } = replayStore(url, batches(1, 2));
    assert.equal(steps, 0);
    assert.equal(error?.code, 'ERR_DELIVERY_STORE_MISMATCH');
    assert.match(error.message, /digest of its contents of version 9/);
  });
});

describe('through the agent, a seeded loader', () => {
  const TIMEOUT = 60_000;
  const script = agentFixture('content', 'train.mjs');
  const configOf = (url, check) => {
    const config = { deliveries: { mix: { type: 'FunctionOutputs', funcPath: './augment.mjs#mix', ...(check && { check }) } }, phases: { record: ['./train.mjs#teacherStep'], override: ['./train.mjs#studentStep'] }, store: { url } };
    return config;
  };
  const run = (config, mode, env = {}) => runNode(script, { config, env: { DISTILL_DELIVERY_STORE_MODE: mode, DISTILL_DELIVERY_BASE: agentFixture('content'), ...env }, timeout: TIMEOUT });
  const steps = (stdout) => lines(stdout).filter((line) => 'step' in line);
  const errorCode = (stderr) => stderr.match(/\[(ERR_DELIVERY_[A-Z_]+)\]/)?.[1];

  test('a replay given another seed fails with ERR_DELIVERY_DIVERGED at the first step, and one whose loader drifts at the step it drifts', { timeout: TIMEOUT }, async () => {
    const config = configOf(join(tempDir(), 'outputs'));
    const recorded = await run(config, 'record');
    assert.equal(recorded.code, 0, recorded.stderr);
    const same = await run(config, 'replay');
    assert.equal(same.code, 0, same.stderr);
    assert.deepEqual(steps(same.stdout), steps(recorded.stdout));
    assert.deepEqual(lines(same.stdout).at(-1), { runs: { mix: 0 } });
    const seed = await run(config, 'replay', { SEED: '2' });
    assert.equal(seed.code, 1);
    assert.equal(steps(seed.stdout).length, 0);
    assert.equal(errorCode(seed.stderr), 'ERR_DELIVERY_DIVERGED');
    assert.match(seed.stderr, /Cannot replay step 0 of the store .*: call 1 of delivery "mix" .* first at arguments\[0\]\.imgs \(both calls \(\{imgs, labels\}\)\)/);
    const drift = await run(config, 'replay', { DRIFT: '2' });
    assert.equal(drift.code, 1);
    assert.deepEqual(steps(drift.stdout), steps(recorded.stdout).slice(0, 2));
    assert.equal(errorCode(drift.stderr), 'ERR_DELIVERY_DIVERGED');
    assert.match(drift.stderr, /Cannot replay step 2 of the store /);
  });

  test('a store replay that diverged is counted in the report (DISTILL_DELIVERY_DIVERGED), as a divergence in one process is', { timeout: TIMEOUT }, async () => {
    const config = { ...configOf(join(tempDir(), 'outputs')), report: true };
    const recorded = await run(config, 'record');
    assert.equal(recorded.code, 0, recorded.stderr);
    const seed = await run(config, 'replay', { SEED: '2' });
    assert.equal(errorCode(seed.stderr), 'ERR_DELIVERY_DIVERGED');
    assert.match(seed.stderr, /^warning \[DISTILL_DELIVERY_DIVERGED\]: 1 replayed call\(s\) diverged/m);
  });

  test('with check "off" a replay given another seed runs to the end', { timeout: TIMEOUT }, async () => {
    const config = configOf(join(tempDir(), 'outputs'), 'off');
    const recorded = await run(config, 'record');
    assert.equal(recorded.code, 0, recorded.stderr);
    const seed = await run(config, 'replay', { SEED: '2' });
    assert.equal(seed.code, 0, seed.stderr);
    assert.equal(steps(seed.stdout).length, 4);
  });
});
