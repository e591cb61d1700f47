// What a copy (`copy: true`) and a store keep of a value, where structured clone is the
// reference: an own `__proto__` key stays a key, an array keeps its holes and its named
// properties, a view keeps its own bytes and never the rest of its backing buffer (Node's
// Buffer pool, a large buffer it is a window on), and a sparse array is walked by its keys.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { DistillDeliveryManager, FunctionOutputsDelivery } from 'distill-delivery';
import { tempDirs } from './helpers/temp-dirs.mjs';

await tf.setBackend('cpu');
tf.enableProdMode(); // silences the notice about the native backend
const require = createRequire(import.meta.url);
const target = require('./fixtures/values/echo.cjs');
const base = new URL('./fixtures/values/', import.meta.url);
const tempDir = tempDirs('value-fidelity-');

/** What the student gets for `make()` with `copy: true` (or `copy`): recorded, then replayed. */
function copied(make, copy = true) {
  const d = new FunctionOutputsDelivery({ funcPath: './echo.cjs#echo', base, copy });
  d.overrideData = false;
  d.run(() => target.echo(make));
  d.overrideData = true;
  return d.run(() => target.echo(() => 'not replayed'));
}

function storeDir() {
  return join(tempDir(), 'outputs');
}

/** Every file of the store folder, as [path, bytes]. */
function storeFiles(url) {
  const files = [];
  const visit = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) visit(path);
      else files.push([path, readFileSync(path)]);
    }
  };
  visit(url);
  return files;
}

/** What a replay run gives back for `make()`, recorded into a fresh folder store; and the folder. */
function stored(make) {
  const url = storeDir();
  const specs = { echo: { type: 'FunctionOutputs', funcPath: './echo.cjs#echo' } };
  const recorder = new DistillDeliveryManager(specs, { base, store: { url, mode: 'record' } });
  recorder.recordPhase(() => target.echo(make));
  recorder.close();
  const replayer = new DistillDeliveryManager(specs, { base, store: { url, mode: 'replay' } });
  try {
    return { value: replayer.recordPhase(() => target.echo(make)), url };
  } finally {
    replayer.close();
  }
}

const ways = [
  ['a copy', copied],
  ['a store', (make) => stored(make).value],
];

for (const [way, keep] of ways) {
  test(`an own __proto__ key stays an own key in ${way}: JSON.parse's object does not get a prototype that says isAdmin`, () => {
    const json = '{"user": "ann", "__proto__": {"isAdmin": true}, "nested": [{"__proto__": {"polluted": 1}}]}';
    const value = keep(() => JSON.parse(json));
    assert.equal(Object.getPrototypeOf(value), Object.prototype);
    assert.equal(value.isAdmin, undefined);
    assert.ok(Object.hasOwn(value, '__proto__'));
    assert.deepEqual(Object.getOwnPropertyDescriptor(value, '__proto__'), { value: { isAdmin: true }, writable: true, enumerable: true, configurable: true });
    assert.equal(Object.getPrototypeOf(value.nested[0]), Object.prototype);
    assert.equal(value.nested[0].polluted, undefined);
    assert.deepStrictEqual(value, structuredClone(JSON.parse(json)));
    assert.equal({}.isAdmin, undefined);
  });

  test(`an own __proto__ key stays an own key in ${way} of a null-prototype object and as an array's named property`, () => {
    const value = keep(() => {
      const bare = Object.create(null);
      bare.__proto__ = { isAdmin: true };
      const list = [1];
      Object.defineProperty(list, '__proto__', { value: { isAdmin: true }, enumerable: true, writable: true, configurable: true });
      return { bare, list };
    });
    // A copy keeps the null prototype; a store gives Object.prototype back, as structuredClone does.
    assert.ok([null, Object.prototype].includes(Object.getPrototypeOf(value.bare)));
    assert.equal(value.bare.isAdmin, undefined);
    assert.deepEqual(Object.keys(value.bare), ['__proto__']);
    assert.equal(Object.getPrototypeOf(value.list), Array.prototype);
    assert.equal(value.list.isAdmin, undefined);
    assert.deepEqual(Object.keys(value.list), ['0', '__proto__']);
  });

  test(`an array keeps its holes and its named properties in ${way}, as structuredClone keeps them`, () => {
    const make = () => {
      const list = [1, , { x: 2 }]; // eslint-disable-line no-sparse-arrays
      list.label = 'batch';
      list.meta = { size: 3 };
      list[Symbol('skipped')] = 'symbols are not copied';
      return { list, empty: Object.assign([], { tag: 't' }) };
    };
    const value = keep(make);
    assert.deepEqual(Object.keys(value.list), ['0', '2', 'label', 'meta']);
    assert.equal(value.list.label, 'batch');
    assert.deepEqual(value.list.meta, { size: 3 });
    assert.equal(1 in value.list, false);
    assert.equal(value.list.length, 3);
    assert.equal(value.empty.tag, 't');
    assert.deepStrictEqual(value, structuredClone(make()));
  });

  test(`a sparse array of length 2^27 with three elements keeps its length, elements and holes in ${way}`, () => {
    const value = keep(() => {
      const sparse = [];
      sparse[3] = 'a';
      sparse[2 ** 20] = { b: 1 };
      sparse[2 ** 27 - 1] = 'c';
      return sparse;
    });
    assert.equal(value.length, 2 ** 27);
    assert.deepEqual(Object.keys(value), ['3', String(2 ** 20), String(2 ** 27 - 1)]);
    assert.deepEqual([value[3], value[2 ** 20], value[2 ** 27 - 1]], ['a', { b: 1 }, 'c']);
    assert.equal(0 in value, false);
  });

  test(`a sparse array is walked by its own keys in ${way}, never index by index up to its length`, () => {
    // A proxy counts what the walk asks of the array: an index-by-index walk asks 2^20 times.
    const asked = { has: 0, get: 0, ownKeys: 0 };
    const sparse = [];
    sparse[5] = 'a';
    sparse[2 ** 20 - 1] = 'b';
    sparse.name = 'n';
    const counted = new Proxy(sparse, {
      has: (t, k) => (asked.has++, Reflect.has(t, k)),
      get: (t, k, r) => (asked.get++, Reflect.get(t, k, r)),
      ownKeys: (t) => (asked.ownKeys++, Reflect.ownKeys(t)),
    });
    const value = keep(() => counted);
    assert.deepEqual(Object.keys(value), ['5', String(2 ** 20 - 1), 'name']);
    assert.ok(asked.has + asked.get < 1000, `the walk asked the array ${asked.has} times "has" and ${asked.get} times "get"`);
  });
}

test('a copy gives a Buffer from Node\'s pool a buffer of its own bytes, without the pool\'s other contents', () => {
  const marker = 'TOKEN-made-elsewhere-9f27c4';
  let secret;
  const value = copied(() => {
    const out = Buffer.from('hi');
    secret = Buffer.from(marker);
    return { out };
  });
  assert.equal(secret.buffer.byteLength > secret.length, true, 'the marker lives in a pool');
  assert.ok(Buffer.isBuffer(value.out));
  assert.equal(value.out.toString(), 'hi');
  assert.equal(value.out.buffer.byteLength, 2);
  assert.equal(Buffer.from(value.out.buffer).includes(marker), false);
});

test('a store keeps a view\'s own bytes: a marker elsewhere in Node\'s Buffer pool, or outside the views of a buffer, reaches no file of the store', () => {
  const marker = 'TOKEN-made-elsewhere-3b81d0';
  const pooled = {};
  const { value, url } = stored(() => {
    // Small Buffers share Node's pool: the marker sits beside the output's bytes.
    const before = Buffer.from(marker);
    const out = Buffer.from('hi');
    const after = Buffer.from(marker);
    pooled.shared = before.buffer === out.buffer || after.buffer === out.buffer;
    const backing = new ArrayBuffer(4096);
    const bytes = new Uint8Array(backing);
    bytes.set(Buffer.from(marker), 0);
    bytes.set(Buffer.from(marker), 100);
    bytes.set(Buffer.from(marker), 4000);
    const error = new RangeError('bad batch', { cause: Buffer.from('cause') });
    return { out, a: new Uint8Array(backing, 64, 4), b: new Float64Array(backing, 512, 2), view: new DataView(backing, 1024, 8), error };
  });
  assert.equal(pooled.shared, true, 'the marker was allocated in the output\'s pool');
  assert.equal(Buffer.from(value.out).toString(), 'hi');
  assert.equal(value.a.length, 4);
  assert.equal(value.error.cause.byteLength, 5);
  for (const [path, bytes] of storeFiles(url)) assert.equal(bytes.includes(marker), false, `the marker reached ${path}`);
});

test('a store of a 4-byte view of a 100 MB buffer writes a few bytes, not the 100 MB', () => {
  const big = new ArrayBuffer(100 * 2 ** 20);
  const { value, url } = stored(() => ({ window: new Uint8Array(big, 50 * 2 ** 20, 4).fill(7) }));
  assert.deepEqual([...value.window], [7, 7, 7, 7]);
  assert.equal(value.window.buffer.byteLength, 4);
  const total = storeFiles(url).reduce((sum, [path]) => sum + statSync(path).size, 0);
  assert.ok(total < 64 * 1024, `the store holds ${total} bytes`);
});

for (const [way, keep] of ways) {
  test(`views of one buffer stay views of one buffer in ${way}, holding the bytes they view: overlapping views still share their bytes`, () => {
    const value = keep(() => {
      const backing = new ArrayBuffer(4096);
      new Uint8Array(backing).fill(0xee);
      const head = new Uint8Array(backing, 8, 8).fill(1);
      const wide = new Uint16Array(backing, 12, 4).fill(0x0101); // overlaps head's last 4 bytes
      const far = new Float64Array(backing, 2048, 1);
      far[0] = 0.5;
      const map = new Map([[far, head]]);
      return { head, wide, far, again: head, map, set: new Set([wide]) };
    });
    assert.equal(value.head.buffer, value.wide.buffer);
    assert.equal(value.far.buffer, value.head.buffer);
    assert.equal(value.again, value.head);
    assert.equal([...value.map.keys()][0], value.far);
    assert.equal(value.map.get(value.far), value.head);
    assert.equal([...value.set][0], value.wide);
    assert.ok(value.head.buffer.byteLength < 64, `the buffer holds ${value.head.buffer.byteLength} bytes`);
    assert.equal(new Uint8Array(value.head.buffer).includes(0xee), false, 'the bytes between the views are not in the copy');
    assert.equal(value.far[0], 0.5);
    value.head[4] = 2;
    assert.equal(new Uint8Array(value.wide.buffer, value.wide.byteOffset, 1)[0], 2, 'a write through one view shows through the view it overlaps');
  });

  test(`an ArrayBuffer held in the value is kept whole in ${way}, and the value's views of it view that copy`, () => {
    const value = keep(() => {
      const buffer = new ArrayBuffer(32);
      return { view: new Uint8Array(buffer, 4, 4), buffer, after: new DataView(buffer, 16, 4) };
    });
    assert.equal(value.buffer.byteLength, 32);
    assert.equal(value.view.buffer, value.buffer);
    assert.equal(value.after.buffer, value.buffer);
    assert.deepEqual([value.view.byteOffset, value.after.byteOffset], [4, 16]);
  });
}

test('an error met again inside its own cause is refused with ERR_DELIVERY_NOT_SERIALIZABLE, which V8 could not read back', () => {
  const error = new Error('loop');
  error.cause = { again: error };
  assert.throws(() => copied(() => ({ error })), { code: 'ERR_DELIVERY_NOT_SERIALIZABLE' });
});

test('a store gives back tensors held in an array\'s named property and in a sparse array', () => {
  const value = stored(() => {
    const list = [tf.tensor1d([1, 2])];
    list.extra = tf.tensor1d([3]);
    const sparse = [];
    sparse[2 ** 27 - 1] = tf.scalar(4);
    return { list, sparse };
  }).value;
  assert.ok(value.list[0] instanceof tf.Tensor && value.list.extra instanceof tf.Tensor && value.sparse[2 ** 27 - 1] instanceof tf.Tensor);
  assert.deepEqual([[...value.list[0].dataSync()], [...value.list.extra.dataSync()], [...value.sparse[2 ** 27 - 1].dataSync()]], [[1, 2], [3], [4]]);
  assert.equal(value.sparse.length, 2 ** 27);
  tf.dispose([value.list[0], value.list.extra, value.sparse[2 ** 27 - 1]]);
});

test('a delivery by reference that keeps the tensors of an output keeps its arrays\' named properties too', () => {
  const value = copied(() => {
    const list = [tf.tensor1d([1, 2])];
    list.label = 'batch';
    return { list };
  }, false);
  assert.equal(value.list.label, 'batch');
  assert.deepEqual([...value.list[0].dataSync()], [1, 2]);
  value.list[0].dispose();
});
