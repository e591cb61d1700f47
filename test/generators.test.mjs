// Generator and async generator functions deliver their items: the student's call gets a
// generator of the same kind that yields the teacher's items and ends as the teacher's did.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import test from 'node:test';
import { DistillDeliveryManager, FunctionOutputsDelivery } from 'distill-delivery';

const require = createRequire(import.meta.url);
const items = require('./fixtures/values/items.cjs');
const base = import.meta.url;
const delivery = (name, options = {}) => new FunctionOutputsDelivery({ funcPath: `./fixtures/values/items.cjs#${name}`, base, ...options });

/** Runs `fn` as the teacher, then again as the student; returns both results. */
function both(d, fn) {
  d.overrideData = false;
  const teacher = d.run(fn);
  d.overrideData = true;
  return [teacher, d.run(fn)];
}

/** Every item and the return value, by next() calls. */
function drain(generator) {
  const got = [];
  let step;
  while (!(step = generator.next()).done) got.push(step.value);
  return { got, result: step.value };
}

async function drainAsync(generator) {
  const got = [];
  let step;
  while (!(step = await generator.next()).done) got.push(step.value);
  return { got, result: step.value };
}

test('a generator function delivers its items: the student gets a generator with the teacher\'s items and return value', () => {
  const [teacher, student] = both(delivery('crops'), () => drain(items.crops(3)));
  assert.equal(teacher.got.length, 3);
  assert.deepEqual(student, teacher);
  assert.equal(student.result, '3 crops');
});

test('an async generator function delivers its items, and both sides get async generators', async () => {
  const d = delivery('randomCrops');
  d.overrideData = false;
  const teacher = await d.run(async () => {
    const generator = items.randomCrops(3);
    return { tag: Object.prototype.toString.call(generator), ...(await drainAsync(generator)) };
  });
  d.overrideData = true;
  const student = await d.run(async () => {
    const generator = items.randomCrops(3);
    return { tag: Object.prototype.toString.call(generator), ...(await drainAsync(generator)) };
  });
  assert.equal(teacher.tag, '[object AsyncGenerator]');
  assert.deepEqual(student, teacher);
  assert.equal(d.stats().recorded, 1);
});

test('both sides get real generators: for...of, spread and Symbol.toStringTag work as on the original', () => {
  const [teacher, student] = both(delivery('crops'), () => {
    const generator = items.crops(2);
    return { tag: Object.prototype.toString.call(generator), got: [...generator] };
  });
  assert.equal(teacher.tag, '[object Generator]');
  assert.deepEqual(student, teacher);
});

test('items are recorded as the teacher consumes them: a student that pulls as far gets them all', () => {
  const d = delivery('crops');
  d.overrideData = false;
  const generator = d.run(() => items.crops(4));
  // Consumed after the call returned, outside run(): still this call's items.
  const first = generator.next().value;
  const second = generator.next().value;
  d.overrideData = true;
  const replay = d.run(() => items.crops(4));
  assert.deepEqual([replay.next().value, replay.next().value], [first, second]);
});

test('a student that pulls more items than the teacher did fails with ERR_DELIVERY_QUEUE_EMPTY', () => {
  const d = delivery('crops');
  d.overrideData = false;
  d.run(() => {
    for (const crop of items.crops(5)) if (crop.i === 1) break;
  });
  d.overrideData = true;
  d.run(() => {
    const generator = items.crops(5);
    generator.next();
    generator.next();
    assert.throws(() => generator.next(), (error) => {
      assert.equal(error.code, 'ERR_DELIVERY_QUEUE_EMPTY');
      assert.match(error.message, /item 3/);
      assert.match(error.message, /only 2/);
      return true;
    });
  });
});

test('a student that stops where the teacher stopped is fine', () => {
  const d = delivery('crops');
  const [teacher, student] = both(d, () => {
    const got = [];
    for (const crop of items.crops(5)) {
      got.push(crop);
      if (crop.i === 1) break;
    }
    return got;
  });
  assert.deepEqual(student, teacher);
});

test('a teacher\'s generator that throws after its items: the student gets the items, then the same error', () => {
  const [teacher, student] = both(delivery('flaky'), () => {
    const got = [];
    try {
      for (const value of items.flaky(2)) got.push(value);
    } catch (error) {
      return { got, error };
    }
    return { got };
  });
  assert.ok(teacher.error instanceof RangeError);
  assert.equal(student.error, teacher.error);
  assert.deepEqual(student.got, teacher.got);
});

test('a student that pulls past the end of a finished generator is told it is done, as the teacher was', () => {
  const [teacher, student] = both(delivery('crops'), () => {
    const generator = items.crops(1);
    return [generator.next().done, generator.next(), generator.next()];
  });
  assert.deepEqual(student, teacher);
  assert.deepEqual(student[1], { done: true, value: '1 crops' });
  assert.deepEqual(student[2], { done: true, value: undefined });
});

test('an ordinary function that returns an iterable is delivered as it is, by reference', () => {
  const d = delivery('draws');
  d.overrideData = false;
  const teacher = d.run(() => items.draws(3));
  d.overrideData = true;
  const student = d.run(() => items.draws(3));
  assert.equal(student, teacher);
});

test('delivered calls made inside the teacher\'s generator are part of its items: they run as they are, and nothing of theirs is queued', () => {
  const manager = new DistillDeliveryManager({
    labelled: { type: 'FunctionOutputs', funcPath: './fixtures/values/items.cjs#labelled' },
    label: { type: 'FunctionOutputs', funcPath: './fixtures/values/items.cjs#label' },
  }, { base });
  const teacher = manager.recordPhase(() => [...items.labelled(3)]);
  const student = manager.overridePhase(() => [...items.labelled(3)]);
  assert.deepEqual(student, teacher);
  assert.deepEqual(manager.stats().label, { recorded: 0, replayed: 0, pending: 0 });
});

test('with copy: true each item is copied when the teacher receives it: changing it afterwards does not reach the student', () => {
  const [teacher, student] = both(delivery('crops', { copy: true }), () => {
    const got = [];
    for (const crop of items.crops(2)) {
      got.push({ ...crop });
      crop.x = -1; // the teacher normalizes its item in place
    }
    return got;
  });
  assert.deepEqual(student, teacher);
});

test('generators in phases: each teacher step\'s items go to the student step that replays it', () => {
  const manager = new DistillDeliveryManager({ crops: { type: 'FunctionOutputs', funcPath: './fixtures/values/items.cjs#crops', maxKeepData: 2 } }, { base });
  for (let step = 0; step < 3; step++) {
    const teacher = manager.recordPhase(() => [[...items.crops(2)], [...items.crops(1)]]);
    const student = manager.overridePhase(() => [[...items.crops(2)], [...items.crops(1)]]);
    assert.deepEqual(student, teacher);
  }
  assert.deepEqual(manager.stats().crops, { recorded: 6, replayed: 6, pending: 0 });
});
