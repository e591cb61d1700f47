// DeliveryQueue, the internal FIFO ring buffer (imported from dist/ by path: not public).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DeliveryQueue } from '../dist/delivery/delivery-queue.js';
import { seeded } from './helpers.mjs';

const drain = (queue) => {
  const out = [];
  while (queue.size > 0) out.push(queue.shift());
  return out;
};

test('a new queue is empty', () => {
  assert.equal(new DeliveryQueue().size, 0);
});

test('items come out in the order they went in', () => {
  const queue = new DeliveryQueue();
  queue.push('a');
  queue.push('b');
  queue.push('c');
  assert.equal(queue.size, 3);
  assert.deepEqual(drain(queue), ['a', 'b', 'c']);
});

test('order is kept when the queue grows past its first capacity', () => {
  const queue = new DeliveryQueue();
  const items = Array.from({ length: 100 }, (_, i) => i);
  for (const item of items) queue.push(item);
  assert.equal(queue.size, 100);
  assert.deepEqual(drain(queue), items);
});

test('order is kept when the queue grows while its head has wrapped around', () => {
  const queue = new DeliveryQueue(4);
  const expected = [];
  let next = 0;
  // Fill, then shift some and push more so that the live items wrap past the end.
  for (let i = 0; i < 4; i++) queue.push(next++);
  assert.equal(queue.shift(), 0);
  assert.equal(queue.shift(), 1);
  assert.equal(queue.shift(), 2);
  for (let i = 0; i < 3; i++) queue.push(next++);
  // Items 3..6 now straddle the end of a 4-slot ring; the next push grows it.
  for (let i = 0; i < 6; i++) queue.push(next++);
  for (let i = 3; i < next; i++) expected.push(i);
  assert.equal(queue.size, expected.length);
  assert.deepEqual(drain(queue), expected);
});

test('items are stored by reference', () => {
  const queue = new DeliveryQueue();
  const item = { big: true };
  queue.push(item);
  assert.equal(queue.shift(), item);
});

test('undefined and null are items like any other', () => {
  const queue = new DeliveryQueue();
  queue.push(undefined);
  queue.push(null);
  assert.equal(queue.size, 2);
  assert.deepEqual(drain(queue), [undefined, null]);
});

test('clear() drops every item and returns how many there were', () => {
  const queue = new DeliveryQueue();
  for (let i = 0; i < 9; i++) queue.push(i);
  queue.shift();
  assert.equal(queue.clear(), 8);
  assert.equal(queue.size, 0);
  assert.equal(queue.clear(), 0);
});

test('a cleared queue works as a new one', () => {
  const queue = new DeliveryQueue();
  for (let i = 0; i < 9; i++) queue.push(i);
  queue.shift();
  queue.clear();
  for (let i = 0; i < 6; i++) queue.push(`x${i}`);
  assert.deepEqual(drain(queue), ['x0', 'x1', 'x2', 'x3', 'x4', 'x5']);
});

test('a shifted item is no longer referenced by the queue', () => {
  const queue = new DeliveryQueue();
  const items = Array.from({ length: 10 }, (_, i) => ({ i }));
  for (const item of items) queue.push(item);
  drain(queue);
  // The backing store is private; reading it here is what makes this a unit test.
  assert.ok(queue.items.every((slot) => slot === undefined));
});

test('a thousand random pushes, shifts and clears agree with an array model', () => {
  for (const seed of [1, 2, 3, 42, 2024]) {
    const random = seeded(seed);
    const queue = new DeliveryQueue(1 + Math.floor(random() * 8));
    const model = [];
    let next = 0;
    for (let step = 0; step < 1000; step++) {
      const r = random();
      if (r < 0.55) {
        queue.push(next);
        model.push(next);
        next++;
      } else if (r < 0.98) {
        if (model.length === 0) continue;
        assert.equal(queue.shift(), model.shift(), `seed ${seed}, step ${step}`);
      } else {
        assert.equal(queue.clear(), model.length, `seed ${seed}, step ${step}`);
        model.length = 0;
      }
      assert.equal(queue.size, model.length, `seed ${seed}, step ${step}`);
    }
    assert.deepEqual(drain(queue), model, `seed ${seed}`);
  }
});

test('the seeded generator repeats its sequence', () => {
  const a = seeded(7);
  const b = seeded(7);
  const first = [a(), a(), a()];
  assert.deepEqual([b(), b(), b()], first);
  assert.ok(first.every((x) => x >= 0 && x < 1));
  assert.notEqual(first[0], first[1]);
});
