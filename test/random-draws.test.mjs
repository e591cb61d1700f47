// Math.random draws of delivered calls (`random: "advance"`, the default), in this process:
// a call that returns a kept output instead of running advances Math.random, whatever it
// is then, by the draws its recorded call made, so the program goes on drawing what it
// would have drawn without the delivery. What is counted: synchronous calls, generator
// items, the synchronous part of an async function, nested delivered calls.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { DistillDeliveryManager, FunctionOutputsDelivery } from 'distill-delivery';
import { runNode } from './helpers/run-node.mjs';
import { seeded } from './helpers.mjs';

const require = createRequire(import.meta.url);
const base = new URL('./fixtures/random/', import.meta.url);
const targets = require('./fixtures/random/targets.cjs');
const fixture = (name) => new URL(`./fixtures/random/${name}`, import.meta.url).pathname;
const own = Math.random;

/** Runs `program` with a seeded Math.random installed, then puts the test process's own back. */
function withSeed(program) {
  Math.random = seeded(42);
  try {
    return program();
  } finally {
    Math.random = own;
  }
}

/** A Math.random that counts its calls (and draws from a seeded generator). */
function counting() {
  const next = seeded(7);
  const fn = () => {
    fn.calls++;
    return next();
  };
  fn.calls = 0;
  return fn;
}

const delivery = (name, extra = {}) => new FunctionOutputsDelivery({ funcPath: `./targets.cjs#${name}`, base, maxKeepData: 10, ...extra });

/** A teacher then a student call per step, each `call`; the program's own draws between them are what it returns. */
function program(record, replay, steps = [1, 3, 0, 2]) {
  const drawn = [];
  for (const n of steps) {
    drawn.push(Math.random());
    record(n);
    drawn.push(Math.random());
    replay(n);
  }
  drawn.push(Math.random());
  return drawn;
}

test('a replayed call advances Math.random by the draws its recorded call made, so the program draws what it draws without the delivery', () => {
  const plain = withSeed(() => program((n) => targets.draw(n), (n) => targets.draw(n)));
  const d = delivery('draw');
  let replayed;
  const delivered = withSeed(() =>
    program(
      (n) => {
        d.overrideData = false;
        d.run(() => targets.draw(n));
      },
      (n) => {
        d.overrideData = true;
        replayed = d.run(() => targets.draw(n));
      },
    ),
  );
  assert.deepEqual(delivered, plain);
  assert.equal(replayed.length, 2, 'the student got the teacher\'s output');
});

test('random "off": a replayed call draws nothing', () => {
  const d = delivery('draw', { random: 'off' });
  assert.equal(d.random, 'off');
  assert.equal(delivery('draw').random, 'advance');
  const random = counting();
  Math.random = random;
  try {
    d.run(() => targets.draw(3));
    assert.equal(random.calls, 3);
    d.overrideData = true;
    d.run(() => targets.draw(3));
    assert.equal(random.calls, 3);
  } finally {
    Math.random = own;
  }
});

test('during a recorded call Math.random counts and calls the script\'s own function, which is back in place when the call returns or throws', () => {
  const d = delivery('draw');
  const random = counting();
  Math.random = random;
  try {
    let during;
    d.run(() => targets.draw(2) && (during = Math.random));
    assert.equal(Math.random, random);
    assert.equal(random.calls, 2);
    const f = delivery('fails');
    assert.throws(() => f.run(() => targets.fails(3)), RangeError);
    assert.equal(Math.random, random);
    assert.equal(random.calls, 5);
    assert.equal(during, random, 'outside the delivered call itself, Math.random is the script\'s');
  } finally {
    Math.random = own;
  }
});

test('a replacement of Math.random made by the recorded call stays, and draws through it are not counted', () => {
  const d = delivery('reseed');
  const replacement = counting();
  Math.random = own;
  try {
    d.run(() => targets.reseed(replacement));
    assert.equal(Math.random, replacement);
    assert.equal(replacement.calls, 1);
    const random = counting();
    Math.random = random;
    d.overrideData = true;
    d.run(() => targets.reseed(replacement));
    assert.equal(random.calls, 0, 'the recorded call made no draw through the function it began with');
  } finally {
    Math.random = own;
  }
});

/** Every item of a sync or async generator, and its return value. */
async function collect(generator) {
  const values = [];
  for (;;) {
    const { value, done } = await generator.next();
    if (done) return { values, result: value };
    values.push(value);
  }
}

test('a generator\'s items advance Math.random as the student pulls them, and so does its return value (sync and async generators)', async () => {
  for (const name of ['items', 'asyncItems']) {
    const d = delivery(name);
    const random = counting();
    Math.random = random;
    try {
      const teacher = await collect(d.run(() => targets[name](3)));
      assert.equal(random.calls, 1 + 2 + 3 + 3, name);
      d.overrideData = true;
      const student = d.run(() => targets[name](3));
      assert.deepEqual((await student.next()).value, teacher.values[0]);
      assert.equal(random.calls, 9 + 1, `${name}: the first item advanced its one draw`);
      await student.next();
      await student.next();
      assert.equal(random.calls, 9 + 6, name);
      assert.deepEqual(await student.next(), { value: teacher.result, done: true });
      assert.equal(random.calls, 9 + 9, name);
    } finally {
      Math.random = own;
    }
  }
});

test('a delivered call made while another is recorded counts in the outer call, and is replayed with it', () => {
  const manager = new DistillDeliveryManager({ outer: { type: 'FunctionOutputs', funcPath: './targets.cjs#outer' }, draw: { type: 'FunctionOutputs', funcPath: './targets.cjs#draw' } }, { base });
  const plain = withSeed(() => program((n) => targets.outer(n), (n) => targets.outer(n)));
  const delivered = withSeed(() =>
    program(
      (n) => manager.recordPhase(() => targets.outer(n)),
      (n) => manager.overridePhase(() => targets.outer(n)),
    ),
  );
  assert.deepEqual(delivered, plain);
  assert.deepEqual(manager.stats().draw, { recorded: 0, replayed: 0, pending: 0 }, 'the inner call ran as part of the outer one');
});

test('only the synchronous part of an async function is counted: draws after its first await are not replayed', async () => {
  const d = delivery('later');
  const random = counting();
  Math.random = random;
  try {
    await d.run(() => targets.later(2, 3));
    assert.equal(random.calls, 5);
    d.overrideData = true;
    const replayed = await d.run(() => targets.later(2, 3));
    assert.equal(replayed.length, 5);
    assert.equal(random.calls, 5 + 2);
  } finally {
    Math.random = own;
  }
});

test('an outer delivery that records a call an inner one replays keeps the draws the replay advanced', () => {
  const inner = delivery('draw');
  const outer = delivery('draw');
  const random = counting();
  Math.random = random;
  try {
    inner.run(() => targets.draw(4));
    assert.equal(random.calls, 4);
    // Both active: the inner one (attached first) replays, the outer one records what it gives.
    inner.overrideData = true;
    inner.enter();
    outer.enter();
    try {
      targets.draw(4);
    } finally {
      outer.exit();
      inner.exit();
    }
    assert.equal(random.calls, 8);
    outer.overrideData = true;
    outer.run(() => targets.draw(4));
    assert.equal(random.calls, 12);
  } finally {
    Math.random = own;
  }
});

test('the random option is checked in constructors and manager specs', () => {
  assert.throws(() => delivery('draw', { random: 'sometimes' }), (error) => error.code === 'ERR_DELIVERY_INVALID_OPTION' && /random of "\.\/targets\.cjs#draw" must be "advance"/.test(error.message));
  assert.throws(() => delivery('draw', { random: true }), { code: 'ERR_DELIVERY_INVALID_OPTION' });
  const manager = new DistillDeliveryManager({ d: { type: 'FunctionOutputs', funcPath: './targets.cjs#draw', random: 'off' } }, { base });
  assert.equal(manager.deliveries.d.random, 'off');
  assert.throws(() => new DistillDeliveryManager({ d: { type: 'FunctionOutputs', funcPath: './targets.cjs#draw', random: 'no' } }, { base }), { code: 'ERR_DELIVERY_INVALID_OPTION' });
});

test('with a frozen Math a delivered call records and replays, and draws are not counted', async () => {
  const { code, stdout, stderr } = await runNode(fixture('frozen.mjs'), { agent: false });
  assert.equal(code, 0, stderr);
  assert.equal(stderr, '');
  assert.deepEqual(JSON.parse(stdout), { same: true, calls: 2, kept: true });
});

test('the engine\'s own, unseeded Math.random is never replaced: a recorded call sees it as it is', async () => {
  const { code, stdout, stderr } = await runNode(fixture('engine.mjs'), { agent: false, env: { DELIVERY: '1' } });
  assert.equal(code, 0, stderr);
  assert.equal(JSON.parse(stdout).untouched, true);
});

test('with node --random-seed the engine\'s own Math.random repeats, and a replayed call advances it as it would have drawn', async () => {
  const run = (delivery) => runNode(fixture('engine.mjs'), { agent: false, nodeArgs: ['--random-seed=7'], env: { DELIVERY: delivery } });
  const [plain, delivered] = await Promise.all([run('0'), run('1')]);
  assert.equal(delivered.code, 0, delivered.stderr);
  assert.equal(JSON.parse(delivered.stdout).untouched, false, 'counted through the counting function');
  assert.deepEqual(JSON.parse(delivered.stdout).after, JSON.parse(plain.stdout).after);
});
