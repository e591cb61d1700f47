// run(fn): a delivery active only in fn's async context, until a returned promise settles.
import assert from 'node:assert/strict';
import { AsyncResource } from 'node:async_hooks';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { setImmediate as immediate, setTimeout as delay } from 'node:timers/promises';
import { FunctionOutputsDelivery } from 'distill-delivery';
import { own, within } from './helpers.mjs';

const require = createRequire(import.meta.url);
const targets = require('./fixtures/targets.cjs');
const base = import.meta.url;
const at = (name, maxKeepData = 1) => new FunctionOutputsDelivery({ funcPath: `./fixtures/targets.cjs#${name}`, maxKeepData, base });

test('run() returns what fn returns', () => {
  const delivery = at('nextId');
  assert.equal(delivery.run(() => 'result'), 'result');
});

test('run() records only the calls made inside fn', () => {
  const delivery = at('nextId', 3);
  targets.nextId();
  const inside = delivery.run(() => targets.nextId());
  targets.nextId();
  assert.equal(delivery.size, 1);
  delivery.overrideData = true;
  assert.equal(delivery.run(() => targets.nextId()), inside);
});

test('run() restores the target when fn returns', () => {
  const before = own(targets, 'nextId');
  const delivery = at('nextId');
  delivery.run(() => {
    assert.notDeepEqual(own(targets, 'nextId'), before);
  });
  assert.deepEqual(own(targets, 'nextId'), before);
});

test('an exception inside run() is rethrown, the target restored and the next call passes through', () => {
  const before = own(targets, 'nextId');
  const delivery = at('nextId', 2);
  const boom = new Error('boom');
  assert.throws(
    () => delivery.run(() => {
      targets.nextId();
      throw boom;
    }),
    (error) => error === boom,
  );
  assert.deepEqual(own(targets, 'nextId'), before);
  targets.nextId();
  assert.equal(delivery.size, 1);
});

test('a returned promise keeps the delivery active across awaits until it settles', async () => {
  const delivery = at('nextId', 3);
  await delivery.run(async () => {
    targets.nextId();
    await immediate();
    targets.nextId();
    await delay(1);
    targets.nextId();
  });
  assert.equal(delivery.size, 3);
});

test('run() of an async fn resolves to its value and restores the target once settled', async () => {
  const before = own(targets, 'nextId');
  const delivery = at('nextId');
  const pending = delivery.run(async () => {
    await immediate();
    return 'done';
  });
  assert.notDeepEqual(own(targets, 'nextId'), before);
  assert.equal(await pending, 'done');
  assert.deepEqual(own(targets, 'nextId'), before);
});

test('a rejected run() restores the target and the next call passes through', async () => {
  const before = own(targets, 'nextId');
  const delivery = at('nextId', 2);
  await assert.rejects(
    delivery.run(async () => {
      targets.nextId();
      await immediate();
      throw new Error('later');
    }),
    { message: 'later' },
  );
  assert.deepEqual(own(targets, 'nextId'), before);
  targets.nextId();
  assert.equal(delivery.size, 1);
});

test('calls outside any run() pass through while a run() is pending', async () => {
  const delivery = at('nextId', 5);
  const outside = [];
  let release;
  const gate = new Promise((resolve) => {
    release = resolve;
  });
  const running = delivery.run(async () => {
    await gate;
  });
  for (let i = 0; i < 3; i++) {
    outside.push(targets.nextId());
    await immediate();
  }
  release();
  await running;
  assert.equal(delivery.size, 0);
  assert.equal(outside[2], outside[0] + 2);
});

test('a timer set inside a synchronous run() fires after it ended and passes through', async () => {
  const delivery = at('nextId');
  let fired;
  const done = new Promise((resolve) => {
    delivery.run(() => {
      setTimeout(() => {
        fired = targets.nextId();
        resolve();
      }, 0);
    });
  });
  await done;
  assert.equal(typeof fired, 'number');
  assert.equal(delivery.size, 0);
});

test('a timer set inside an async run() that is still pending is delivered', async () => {
  const delivery = at('nextId');
  await delivery.run(async () => {
    await new Promise((resolve) => setTimeout(() => {
      targets.nextId();
      resolve();
    }, 0));
  });
  assert.equal(delivery.size, 1);
});

test('run() of one delivery does not activate another delivery on the same target', () => {
  const running = at('nextId');
  const idle = at('nextId');
  idle.overrideData = true;
  running.run(() => targets.nextId());
  assert.equal(running.size, 1);
  assert.equal(idle.size, 0);
});

test('run() inside another run() activates both deliveries', () => {
  const outer = at('inner');
  const inner = at('nextId');
  outer.run(() => {
    inner.run(() => targets.nextId());
    targets.inner(1);
  });
  assert.equal(inner.size, 1);
  assert.equal(outer.size, 1);
});

test('run() inside enter() leaves the delivery entered when it ends', () => {
  const delivery = at('nextId', 2);
  within(delivery, () => {
    delivery.run(() => targets.nextId());
    targets.nextId();
  });
  assert.equal(delivery.size, 2);
});

test('two concurrent run() contexts, one recording and one replaying, do not see each other', async () => {
  const recorder = at('nextId', 3);
  const replayer = at('nextId', 3);
  const prefilled = replayer.run(() => [targets.nextId(), targets.nextId(), targets.nextId()]);
  replayer.overrideData = true;
  const calls = targets.calls.nextId;

  const seenA = [];
  const seenB = [];
  const seenC = [];
  const a = recorder.run(async () => {
    for (let i = 0; i < 3; i++) {
      seenA.push(targets.nextId());
      await immediate();
    }
  });
  const b = replayer.run(async () => {
    for (let i = 0; i < 3; i++) {
      await immediate();
      seenB.push(targets.nextId());
      await immediate();
    }
  });
  const c = (async () => {
    for (let i = 0; i < 3; i++) {
      await immediate();
      seenC.push(targets.nextId());
    }
  })();
  await Promise.all([a, b, c]);

  assert.deepEqual(seenB, prefilled);
  assert.equal(targets.calls.nextId - calls, 6);
  assert.equal(replayer.size, 0);
  assert.equal(recorder.size, 3);
  for (const value of [...seenA, ...seenC]) assert.ok(!prefilled.includes(value));
  recorder.overrideData = true;
  assert.deepEqual(recorder.run(() => [targets.nextId(), targets.nextId(), targets.nextId()]), seenA);
});

test('two concurrent run() contexts of different deliveries record only their own calls', async () => {
  const ids = at('nextId', 3);
  const incs = at('inner', 3);
  await Promise.all([
    ids.run(async () => {
      for (let i = 0; i < 3; i++) {
        targets.nextId();
        await immediate();
        targets.inner(0);
      }
    }),
    incs.run(async () => {
      for (let i = 0; i < 3; i++) {
        await immediate();
        targets.inner(i);
        targets.nextId();
      }
    }),
  ]);
  assert.equal(ids.size, 3);
  assert.equal(incs.size, 3);
  incs.overrideData = true;
  assert.deepEqual(incs.run(() => [targets.inner(9), targets.inner(9), targets.inner(9)]), [1, 2, 3]);
});

test('a callback bound to an outside async context passes through in a synchronous run()', () => {
  const delivery = at('nextId');
  const bound = AsyncResource.bind(() => targets.nextId());
  delivery.run(() => bound());
  assert.equal(delivery.size, 0);
});

test('a callback bound to an outside async context passes through in an async run()', async () => {
  const delivery = at('nextId');
  const bound = AsyncResource.bind(() => targets.nextId());
  await delivery.run(async () => {
    await immediate();
    bound();
  });
  assert.equal(delivery.size, 0);
});

test('a callback bound inside a run() is delivered when called from outside while it is pending', async () => {
  const delivery = at('nextId');
  let bound;
  let release;
  const running = delivery.run(async () => {
    bound = AsyncResource.bind(() => targets.nextId());
    await new Promise((resolve) => {
      release = resolve;
    });
  });
  bound();
  release();
  await running;
  assert.equal(delivery.size, 1);
});

test('a callback bound inside a pending run() keeps that run\'s context inside another synchronous run()', async () => {
  const recorder = at('nextId');
  let bound;
  let release;
  const running = recorder.run(async () => {
    bound = AsyncResource.bind(() => targets.nextId());
    await new Promise((resolve) => {
      release = resolve;
    });
  });
  const idle = at('nextId');
  idle.run(() => bound());
  release();
  await running;
  assert.equal(recorder.size, 1);
  assert.equal(idle.size, 0);
});
