// A replay is the record run: on the shape of a real training script (a seeded Math.random
// the script installs, a loader that shuffles from it, a mixup and a teacher's dropout that
// draw from it too), in real Node children with the agent. With the agent in one process
// the script draws what it draws without it; a store replay gives the record run's
// batches and outputs step by step; a record run killed with SIGKILL is finished by a run
// in mode "auto" into the store an uninterrupted record run writes, record for record.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openStoreReader } from '../dist/store/store.js';
import { agentFixture, lines, runNode } from './helpers/run-node.mjs';
import { needsRedis, startRedis } from './helpers/redis-server.mjs';
import { tempDirs } from './helpers/temp-dirs.mjs';

const TIMEOUT = 60_000;
const train = agentFixture('replay', 'train.mjs');
const tempDir = tempDirs('agent-replay-');

/** The fixture's config `name` with its targets made absolute, in a folder of its own; `change` edits it. */
function configIn(name, change = (c) => c) {
  const dir = tempDir();
  const config = JSON.parse(readFileSync(agentFixture('replay', name), 'utf8'));
  const absolute = (path) => {
    const [file, member] = path.slice(2).split('#');
    return `${agentFixture('replay', file)}#${member}`;
  };
  for (const spec of Object.values(config.deliveries)) spec.funcPath = absolute(spec.funcPath);
  config.phases.record = config.phases.record.map(absolute);
  config.phases.override = config.phases.override.map(absolute);
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(change(config)));
  return { file, store: join(dir, 'outputs') };
}

const run = (config, env = {}, options = {}) => runNode(train, { config, env, timeout: TIMEOUT, ...options });
const steps = (stdout) => lines(stdout).filter((line) => 'step' in line);
const batches = (stdout) => steps(stdout).map((s) => s.batch);
const after_ = (stdout) => lines(stdout).find((line) => 'after' in line)?.after;

/** Every step of a store, its records as [delivery, call, signature, payload bytes]. */
function storeSteps(url) {
  const reader = openStoreReader(url);
  try {
    return Array.from({ length: reader.lastStep + 1 }, (_, step) => reader.read(step).map((r) => [r.delivery, r.call, r.signature, Buffer.from(r.payload).toString('hex')]));
  } finally {
    reader.close();
  }
}

describe('in one process', () => {
  test('with the agent the script draws the same Math.random values as without it', { timeout: TIMEOUT }, async () => {
    const env = { MIXUP: 'fixed' };
    const plain = await run(undefined, env, { agent: false });
    const { file } = configIn('config.json');
    const agent = await run(file, env);
    assert.equal(agent.code, 0, agent.stderr);
    assert.equal(agent.stderr, '');
    assert.equal(steps(agent.stdout).length, 12);
    assert.deepEqual(batches(agent.stdout), batches(plain.stdout));
    assert.deepEqual(after_(agent.stdout), after_(plain.stdout));
    // The student was fed the teacher's mix (delivered), which without the agent it was not.
    for (const s of steps(agent.stdout)) assert.deepEqual(s.student, s.teacher.mixed);
    assert.notDeepEqual(steps(plain.stdout).map((s) => s.student), steps(agent.stdout).map((s) => s.student));
  });

  test('with random "off" a replayed call draws nothing, and the loader hands out other batches from the second epoch', { timeout: TIMEOUT }, async () => {
    const env = { MIXUP: 'fixed' };
    const plain = await run(undefined, env, { agent: false });
    const { file } = configIn('config.json', (c) => ({ ...c, deliveries: { mixup: { ...c.deliveries.mixup, random: 'off' } } }));
    const off = await run(file, env);
    assert.equal(off.code, 0, off.stderr);
    assert.deepEqual(batches(off.stdout).slice(0, 4), batches(plain.stdout).slice(0, 4));
    assert.notDeepEqual(batches(off.stdout).slice(4), batches(plain.stdout).slice(4));
  });
});

describe('a folder store', () => {
  test('a replay gives, step by step, the record run\'s batches and outputs, though the mixup and the teacher\'s forward pass do not run', { timeout: TIMEOUT }, async () => {
    const { file } = configIn('store.json');
    const recorded = await run(file, { DISTILL_DELIVERY_STORE_MODE: 'record' });
    assert.equal(recorded.code, 0, recorded.stderr);
    assert.equal(steps(recorded.stdout).length, 12);
    const replayed = await run(file, { DISTILL_DELIVERY_STORE_MODE: 'replay', DISTILL_DELIVERY_REPORT: '1' });
    assert.equal(replayed.code, 0, replayed.stderr);
    assert.deepEqual(steps(replayed.stdout), steps(recorded.stdout));
    assert.deepEqual(after_(replayed.stdout), after_(recorded.stdout));
    assert.match(replayed.stderr, /^store: replayed 12 of 12 step\(s\) from .*: mixup 12, forward 12 record\(s\)$/m);
  });

  test('with random "off" the same replay hands out other batches from the second epoch: the content checks stop it there; with check "off" too, it goes on with the record run\'s mixes', { timeout: TIMEOUT }, async () => {
    const off = (extra) => configIn('store.json', (c) => ({ ...c, deliveries: Object.fromEntries(Object.entries(c.deliveries).map(([name, spec]) => [name, { ...spec, random: 'off', ...extra }])) }));
    const checked = off({});
    const recorded = await run(checked.file, { DISTILL_DELIVERY_STORE_MODE: 'record' });
    assert.equal(recorded.code, 0, recorded.stderr);
    const replayed = await run(checked.file, { DISTILL_DELIVERY_STORE_MODE: 'replay' });
    assert.equal(replayed.code, 1);
    assert.deepEqual(steps(replayed.stdout), steps(recorded.stdout).slice(0, 4));
    assert.match(replayed.stderr, /\[ERR_DELIVERY_DIVERGED\]: Cannot replay step 4 of the store .*: call 1 of delivery "mixup" .*first at arguments\[0\]/);
    // Nothing compared: the loader's batches drift in silence, and the store still gives the record run's mixes.
    const unchecked = off({ check: 'off' });
    const recordedUnchecked = await run(unchecked.file, { DISTILL_DELIVERY_STORE_MODE: 'record' });
    assert.equal(recordedUnchecked.code, 0, recordedUnchecked.stderr);
    const drifted = await run(unchecked.file, { DISTILL_DELIVERY_STORE_MODE: 'replay' });
    assert.equal(drifted.code, 0, drifted.stderr);
    assert.deepEqual(batches(drifted.stdout).slice(0, 4), batches(recordedUnchecked.stdout).slice(0, 4));
    assert.notDeepEqual(batches(drifted.stdout).slice(4), batches(recordedUnchecked.stdout).slice(4));
    assert.deepEqual(steps(drifted.stdout).map((s) => s.teacher), steps(recordedUnchecked.stdout).map((s) => s.teacher));
  });

  test('a record run killed with SIGKILL mid-run, then finished in mode "auto", leaves the store an uninterrupted record run writes, record for record', { timeout: TIMEOUT }, async () => {
    const whole = configIn('store.json');
    const uninterrupted = await run(whole.file, { DISTILL_DELIVERY_STORE_MODE: 'record' });
    assert.equal(uninterrupted.code, 0, uninterrupted.stderr);
    const split = configIn('store.json');
    // Killed inside the teacher's step 7: steps 0 to 6 are in the store, step 7 is not.
    const killed = await run(split.file, { DISTILL_DELIVERY_STORE_MODE: 'record', PAUSE_AT: '7' }, { kill: { when: /"paused":7/, signal: 'SIGKILL' } });
    assert.equal(killed.signal, 'SIGKILL');
    assert.equal(storeSteps(split.store).length, 7);
    const finished = await run(split.file, { DISTILL_DELIVERY_STORE_MODE: 'auto', DISTILL_DELIVERY_REPORT: '1' });
    assert.equal(finished.code, 0, finished.stderr);
    assert.match(finished.stderr, /^store: replayed 7 of 7 step\(s\) from and wrote 5 step\(s\) to .*: mixup 12, forward 12 record\(s\)$/m);
    assert.deepEqual(steps(finished.stdout), steps(uninterrupted.stdout));
    const expected = storeSteps(whole.store);
    const got = storeSteps(split.store);
    assert.equal(got.length, 12);
    expected.forEach((records, step) => assert.deepEqual(got[step], records, `step ${step}`));
  });

  test('mode "auto" (the config\'s store.mode) records into a store that does not exist, and replays a complete one, recording the steps after its end', { timeout: TIMEOUT }, async () => {
    const { file, store } = configIn('store.json', (c) => ({ ...c, store: { ...c.store, mode: 'auto' } }));
    const first = await run(file, { DISTILL_DELIVERY_REPORT: '1' });
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /^store: replayed 0 of 0 step\(s\) from and wrote 12 step\(s\) to /m);
    const longer = await run(file, { DISTILL_DELIVERY_REPORT: '1', EPOCHS: '4' });
    assert.equal(longer.code, 0, longer.stderr);
    assert.match(longer.stderr, /^store: replayed 12 of 12 step\(s\) from and wrote 4 step\(s\) to /m);
    assert.deepEqual(steps(longer.stdout).slice(0, 12), steps(first.stdout));
    assert.equal(storeSteps(store).length, 16);
    const plain = await run(file, { DISTILL_DELIVERY_STORE_MODE: 'replay', EPOCHS: '4' });
    assert.equal(plain.code, 0, plain.stderr);
    assert.deepEqual(steps(plain.stdout), steps(longer.stdout));
  });
});

describe('a Redis store', needsRedis, () => {
  let redis;
  before(async () => {
    redis = await startRedis();
  });
  after(() => redis?.stop());

  // A timeout far beyond the test's: a run that waited for a key to appear would never finish in time.
  const onRedis = (key) => (c) => ({ ...c, store: { url: redis.url(key), timeout: 600_000 } });

  test('mode "auto" records at once into a key that holds no store, and finishes a record run killed with SIGKILL into the uninterrupted run\'s store', { timeout: TIMEOUT }, async () => {
    const whole = configIn('store.json', onRedis('whole'));
    const uninterrupted = await run(whole.file, { DISTILL_DELIVERY_STORE_MODE: 'auto' });
    assert.equal(uninterrupted.code, 0, uninterrupted.stderr);
    const split = configIn('store.json', onRedis('split'));
    const killed = await run(split.file, { DISTILL_DELIVERY_STORE_MODE: 'record', PAUSE_AT: '7' }, { kill: { when: /"paused":7/, signal: 'SIGKILL' } });
    assert.equal(killed.signal, 'SIGKILL');
    const finished = await run(split.file, { DISTILL_DELIVERY_STORE_MODE: 'auto' });
    assert.equal(finished.code, 0, finished.stderr);
    assert.deepEqual(steps(finished.stdout), steps(uninterrupted.stdout));
    const expected = storeSteps(redis.url('whole'));
    const got = storeSteps(redis.url('split'));
    assert.equal(got.length, 12);
    expected.forEach((records, step) => assert.deepEqual(got[step], records, `step ${step}`));
  });
});
