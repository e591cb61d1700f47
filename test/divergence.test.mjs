// Divergence detection (`check`): each replayed call is compared with the teacher's call
// whose output it gets; a mismatch is ERR_DELIVERY_DIVERGED, with both signatures (or,
// for other contents, where they differ) and never the values. Contents at depth, tensors
// and stores: test/content-checks.test.mjs.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import test from 'node:test';
import { DistillDeliveryManager, FunctionOutputsDelivery, MethodOutputsDelivery } from 'distill-delivery';
import { renderSignature, signatureOf } from '../dist/values/signature.js';

const require = createRequire(import.meta.url);
const plain = require('./fixtures/values/plain.cjs');
const base = import.meta.url;
const score = (check) => new FunctionOutputsDelivery({ funcPath: './fixtures/values/plain.cjs#score', base, name: 'score', ...(check && { check }) });

/** Records plain.score(...teacher), then replays plain.score(...student); returns the error, if any. */
function replay(d, teacher, student) {
  d.overrideData = false;
  const recorded = d.run(() => plain.score(...teacher));
  d.overrideData = true;
  try {
    assert.equal(d.run(() => plain.score(...student)), recorded);
  } catch (error) {
    if (error.code !== 'ERR_DELIVERY_DIVERGED') throw error;
    return error;
  }
  return undefined;
}

const shapes = [
  ['the number of arguments', [1, 2], [1]],
  ['an argument\'s type', [1], ['1']],
  ['undefined against null', [undefined], [null]],
  ['an array\'s length', [[1, 2, 3]], [[1, 2]]],
  ['a typed array\'s type', [new Float32Array(3)], [new Float64Array(3)]],
  ['a typed array\'s length', [new Float32Array(3)], [new Float32Array(4)]],
  ['a plain object\'s keys', [{ a: 1, b: 2 }], [{ a: 1, c: 2 }]],
  ['a Map\'s size', [new Map([[1, 1]])], [new Map()]],
  ['a class instance against a plain object', [new plain.Scorer()], [{}]],
  ['five arguments, one of another type', [1, 2, 3, 4, 5], [1, 2, 3, 4, '5']],
];
for (const [what, teacher, student] of shapes) {
  test(`check "shape" (the default) catches a student call that differs in ${what}`, () => {
    assert.ok(replay(score(), teacher, student));
  });
}

// "values" compares the contents too, at any depth.
const sameShapes = [
  ['other numbers and strings', [1, 'a'], [2, 'b']],
  ['other typed array contents', [Float32Array.of(1, 2)], [Float32Array.of(3, 4)]],
  ['other array contents of the same length', [[1, 2]], [[3, 4]]],
  ['other values under the same keys, in another order', [{ a: 1, b: 2 }], [{ b: 3, a: 4 }]],
];
for (const [what, teacher, student] of sameShapes) {
  test(`check "shape" lets through a student call with ${what}; check "values" catches it`, () => {
    assert.equal(replay(score(), teacher, student), undefined);
    assert.ok(replay(score('values'), teacher, student));
  });
}

test('check "values" lets through a student call with the same values in other objects, keys in another order', () => {
  assert.equal(replay(score('values'), [1, 'a', Float32Array.of(1, 2), [5], { a: 1, b: [2] }], [1, 'a', Float32Array.of(1, 2), [5], { b: [2], a: 1 }]), undefined);
});

test('check "off" never compares', () => {
  for (const [, teacher, student] of shapes) assert.equal(replay(score('off'), teacher, student), undefined);
});

test('the message names the delivery, the call and both signatures side by side, and never the values', () => {
  const error = replay(score(), ['hunter2', 41], ['hunter2', '42']);
  assert.match(error.message, /delivery "score"/);
  assert.match(error.message, /call 1 replayed outside phases/);
  assert.match(error.message, /teacher \(string, number\), student \(string, string\)/);
  assert.doesNotMatch(error.message, /hunter2|41|42/);
});

test('for other contents the message names the delivery, the call and where in the arguments, and never the values', () => {
  const error = replay(score('values'), ['hunter2', 41], ['hunter2', 42]);
  assert.match(error.message, /delivery "score"/);
  assert.match(error.message, /call 1 replayed outside phases/);
  assert.match(error.message, /other contents .* first at arguments\[1\] \(both calls \(string, number\)\)/);
  assert.doesNotMatch(error.message, /hunter2|41|42|#v1/);
});

test('in phases the message names the step and the call within it; the output stays queued and the divergence is counted', () => {
  const manager = new DistillDeliveryManager({ score: { type: 'FunctionOutputs', funcPath: './fixtures/values/plain.cjs#score', maxKeepData: 3 } }, { base });
  for (let step = 1; step <= 2; step++) {
    manager.recordPhase(() => [plain.score(1), plain.score(2), plain.score(3)]);
    manager.overridePhase(() => [plain.score(1), plain.score(2), plain.score(3)]);
  }
  manager.recordPhase(() => [plain.score(1), plain.score(2), plain.score(3)]);
  assert.throws(() => manager.overridePhase(() => [plain.score(1), plain.score('2')]), (error) => {
    assert.equal(error.code, 'ERR_DELIVERY_DIVERGED');
    assert.match(error.message, /step 3, call 2/);
    assert.match(error.message, /teacher \(number\), student \(string\)/);
    return true;
  });
  assert.equal(manager.deliveries.score.stats().diverged, 1);
  assert.equal(manager.deliveries.score.stats().discarded, 2);
});

test('`this` must be of the same class for a method; a module object as `this` counts as none', () => {
  const d = new MethodOutputsDelivery({ methodPath: './fixtures/values/plain.cjs#Scorer.score', base });
  d.overrideData = false;
  d.run(() => new plain.Scorer().score(1));
  d.overrideData = true;
  assert.throws(() => d.run(() => new plain.OtherScorer().score(1)), (error) => {
    assert.match(error.message, /teacher Scorer \(number\), student OtherScorer \(number\)/);
    return true;
  });
  const f = score();
  f.overrideData = false;
  const recorded = f.run(() => plain.score(1)); // this: the module's exports
  f.overrideData = true;
  assert.equal(f.run(() => {
    const { score: bare } = plain; // the wrapper, while the delivery is active
    return bare(2); // this: undefined
  }), recorded);
});

test('check must be "shape", "values" or "off": other values are refused with ERR_DELIVERY_INVALID_OPTION', () => {
  for (const check of ['Shape', 'none', true, null]) {
    assert.throws(() => score(check ?? 'x'), { code: 'ERR_DELIVERY_INVALID_OPTION' });
    assert.throws(() => new DistillDeliveryManager({ s: { type: 'FunctionOutputs', funcPath: './fixtures/values/plain.cjs#score', check } }, { base }), { code: 'ERR_DELIVERY_INVALID_OPTION' });
  }
});

test('a signature renders as stable text, the same for its compact and its full form', () => {
  const render = (thisArg, args, values = false) => renderSignature(signatureOf(thisArg, args, values));
  assert.equal(typeof signatureOf(undefined, [1, 'a', undefined, false], false), 'number');
  assert.equal(render(undefined, [1, 'a', undefined, false]), '(number, string, undefined, boolean)');
  assert.equal(render(undefined, [null, Symbol('s')]), '(null, symbol)');
  assert.equal(render(new plain.Scorer(), [true, () => 1, 1n]), 'Scorer (boolean, function, bigint)');
  assert.equal(typeof signatureOf(undefined, [1, 2, 3, 4, 5], false), 'string');
  assert.equal(render(undefined, [1, 2, 3, 4, 5]), '(number, number, number, number, number)');
  assert.equal(render(new plain.Scorer(), [[1, 2], new Uint8Array(4), { b: 1, a: 2 }, new Set([1])]), 'Scorer (array[2], Uint8Array[4], {a, b}, Set[1])');
  assert.equal(signatureOf(new plain.Scorer(), [1], false), signatureOf(new plain.Scorer(), [2], false));
  assert.equal(render(undefined, [1], true), render(undefined, [1], true));
  assert.notEqual(render(undefined, [1], true), render(undefined, [2], true));
  assert.match(render(undefined, [1, 'a'], true), /^\(number, string\) #v1:[A-Za-z0-9_-]+$/);
});

test('an argument that cannot be described (a revoked proxy) does not break the call: it is "unreadable" on both sides', () => {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  assert.equal(replay(score(), [proxy], [proxy]), undefined);
  assert.equal(renderSignature(signatureOf(undefined, [proxy, 1], false)), '(unreadable, number)');
});
