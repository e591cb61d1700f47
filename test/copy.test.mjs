// The `copy` option: false (the default) delivers outputs by reference, as MMRazor; true
// keeps a deep copy taken when the teacher's call returns and gives it to the student.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import test from 'node:test';
import { DistillDeliveryManager, FunctionOutputsDelivery, MethodOutputsDelivery } from 'distill-delivery';

const require = createRequire(import.meta.url);
const plain = require('./fixtures/values/plain.cjs');
const base = import.meta.url;
const delivery = (name, options = {}) => new FunctionOutputsDelivery({ funcPath: `./fixtures/values/plain.cjs#${name}`, base, ...options });

/** Records `teacher()` then replays `student()` on `d`; returns both results. */
function both(d, teacher, student = teacher) {
  d.overrideData = false;
  const t = d.run(teacher);
  d.overrideData = true;
  return [t, d.run(student)];
}

test('copy is false by default: the student gets the very object the teacher got', () => {
  const d = delivery('mix');
  assert.equal(d.copy, false);
  const [teacher, student] = both(d, () => plain.mix([1, 2, 3]));
  assert.equal(student, teacher);
});

test('with copy: true the teacher\'s in-place changes after its call do not reach the student', () => {
  const [teacher, student] = both(
    delivery('mix', { copy: true }),
    () => {
      const out = plain.mix([1, 2, 3]);
      const seen = Array.from(out.mixed);
      out.mixed.forEach((x, i) => (out.mixed[i] = x / 10)); // normalizes in place
      return seen;
    },
    () => Array.from(plain.mix([1, 2, 3]).mixed),
  );
  assert.deepEqual(student, teacher);
});

test('with copy: true the student\'s changes do not reach the teacher: each has an object of its own', () => {
  const [teacher, student] = both(delivery('mix', { copy: true }), () => plain.mix([1, 2, 3]));
  assert.notEqual(student, teacher);
  assert.deepEqual(student, teacher);
  student.pairs.push(9);
  student.mixed[0] = -1;
  assert.deepEqual(teacher.pairs, [0, 1, 2]);
  assert.notEqual(teacher.mixed[0], -1);
});

test('a copy keeps what structured clone keeps: Maps, Sets, Dates, RegExps, typed arrays sharing a buffer, Buffers, errors, holes, cycles and shared references', () => {
  const [teacher, student] = both(delivery('graph', { copy: true }), () => plain.graph());
  assert.notEqual(student, teacher);
  assert.deepEqual(student, teacher);
  assert.equal(student.self, student);
  assert.equal(student.a, student.b);
  assert.equal(student.map.get('k'), student.a);
  assert.ok(student.set.has(student.a));
  assert.equal(student.floats.buffer, student.bytes.buffer);
  assert.equal(student.view.buffer, student.floats.buffer);
  assert.notEqual(student.floats.buffer, teacher.floats.buffer);
  assert.ok(Buffer.isBuffer(student.buf));
  assert.ok(student.error instanceof RangeError);
  assert.equal(Object.getPrototypeOf(student.bare), null);
  assert.equal(1 in student.holes, false);
});

test('a value that cannot be copied fails when the teacher\'s call returns, with ERR_DELIVERY_NOT_SERIALIZABLE naming the delivery and the path inside it', () => {
  const cases = [
    ['withFunction', '[1].fn', /a function \(fn\)/],
    ['withInstance', '.model', /an instance of Model/],
    ['withSymbol', '.tag', /a symbol/],
  ];
  for (const [name, path, what] of cases) {
    const d = new FunctionOutputsDelivery({ funcPath: `./fixtures/values/plain.cjs#${name}`, base, copy: true, name });
    d.overrideData = false;
    assert.throws(() => d.run(() => plain[name]()), (error) => {
      assert.equal(error.code, 'ERR_DELIVERY_NOT_SERIALIZABLE');
      assert.ok(error.message.includes(`delivery "${name}"`), error.message);
      assert.ok(error.message.includes(`its ${path} is`), error.message);
      assert.match(error.message, what);
      return true;
    });
    assert.equal(d.size, 0, name);
  }
});

test('with copy: true an async function\'s value is copied when its promise settles, before the teacher can change it', async () => {
  const d = delivery('later', { copy: true });
  d.overrideData = false;
  const teacher = await d.run(async () => {
    const out = await plain.later();
    const seen = [...out.values];
    out.values.fill(0);
    return seen;
  });
  d.overrideData = true;
  const student = await d.run(async () => (await plain.later()).values);
  assert.deepEqual(student, teacher);
});

test('copy must be a boolean: other values are refused with ERR_DELIVERY_INVALID_OPTION, by both constructors and the manager', () => {
  for (const copy of ['yes', 1, null]) {
    assert.throws(() => delivery('mix', { copy }), { code: 'ERR_DELIVERY_INVALID_OPTION' });
    assert.throws(() => new MethodOutputsDelivery({ methodPath: './fixtures/values/plain.cjs#Scorer.score', base, copy }), { code: 'ERR_DELIVERY_INVALID_OPTION' });
    assert.throws(() => new DistillDeliveryManager({ mix: { type: 'FunctionOutputs', funcPath: './fixtures/values/plain.cjs#mix', copy } }, { base }), { code: 'ERR_DELIVERY_INVALID_OPTION' });
  }
});

test('copy and check in the manager\'s specs reach the deliveries; a misspelled option is refused with ERR_DELIVERY_INVALID_CONFIG', () => {
  const manager = new DistillDeliveryManager([
    { type: 'FunctionOutputs', funcPath: './fixtures/values/plain.cjs#mix', copy: true, check: 'values', name: 'mix' },
    { type: 'MethodOutputs', methodPath: './fixtures/values/plain.cjs#Scorer.score', check: 'off', name: 'score' },
  ], { base });
  assert.equal(manager.deliveries.mix.copy, true);
  assert.equal(manager.deliveries.mix.check, 'values');
  assert.equal(manager.deliveries.score.copy, false);
  assert.equal(manager.deliveries.score.check, 'off');
  assert.throws(() => new DistillDeliveryManager({ mix: { type: 'FunctionOutputs', funcPath: './fixtures/values/plain.cjs#mix', deepcopy: true } }, { base }), { code: 'ERR_DELIVERY_INVALID_CONFIG' });
});
