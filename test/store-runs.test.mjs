// What a store records of itself: each rank's record runs (when, how long, which steps,
// where from) and whether its last run ended complete. On both backends through the
// store's interface, through a manager, and through the agent in real children: a run
// that exits with status 0 marks its rank complete, one that fails leaves it incomplete,
// and a replay of an incomplete rank warns at open, replays it, and reports it.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DistillDeliveryManager, openStore, RecorderManager } from 'distill-delivery';
import { openStoreReader, openStoreWriter } from '../dist/store/store.js';
import { warningsDuring } from './helpers.mjs';
import { agentFixture, lines, nodeVersion, runNode } from './helpers/run-node.mjs';
import { needsRedis, startRedis } from './helpers/redis-server.mjs';
import { tempDirs } from './helpers/temp-dirs.mjs';

const TIMEOUT = 60_000;
const require = createRequire(import.meta.url);
const { version } = require('../package.json');
const metadata = { deliveries: { mixup: { type: 'MethodOutputs' } }, hash: 'h1' };
const tempDir = tempDirs('store-runs-');

function writeSteps(url, steps, options = {}) {
  const writer = openStoreWriter(url, { metadata, ...options });
  for (let i = 0; i < steps; i++) {
    writer.append({ delivery: 'mixup', call: 0, signature: '', payload: new Uint8Array([i]) });
    writer.commit();
  }
  return writer;
}

function readerOf(url) {
  const reader = openStoreReader(url, { snapshot: true });
  const { complete, runs, lastStep } = reader;
  reader.close();
  return { complete, runs, lastStep };
}

function backendRuns(place) {
  test('a rank is incomplete until its writer closes with complete: true; its run says when it started and ended, and how many steps it wrote', () => {
    const url = place();
    const writer = writeSteps(url, 3, { provenance: { script: '/x/train.js', configHash: 'abc' } });
    writer.flush();
    const open = readerOf(url);
    assert.equal(open.complete, false);
    assert.equal(open.runs.length, 1);
    assert.equal(open.runs[0].ended, undefined);
    writer.close({ complete: true });
    const { complete, runs } = readerOf(url);
    assert.equal(complete, true);
    const [run] = runs;
    assert.equal(run.opened, 'new');
    assert.equal(run.firstStep, 0);
    assert.equal(run.steps, 3);
    assert.equal(run.script, '/x/train.js');
    assert.equal(run.configHash, 'abc');
    assert.ok(Date.parse(run.ended) >= Date.parse(run.started));
    assert.equal(run.durationMs, Date.parse(run.ended) - Date.parse(run.started));
  });

  test('close() without complete leaves the rank incomplete', () => {
    const url = place();
    writeSteps(url, 2).close();
    assert.deepEqual([readerOf(url).complete, readerOf(url).lastStep], [false, 1]);
  });

  test('a resumed rank keeps every run, and is incomplete until the resumed run completes', () => {
    const url = place();
    writeSteps(url, 2).close();
    const resumed = writeSteps(url, 3, { ifExists: 'resume', provenance: { pid: 7 } });
    resumed.flush();
    assert.equal(readerOf(url).complete, false);
    resumed.close({ complete: true });
    const { complete, runs } = readerOf(url);
    assert.equal(complete, true);
    assert.deepEqual(runs.map((r) => [r.opened, r.firstStep, r.steps, r.pid]), [['new', 0, undefined, undefined], ['resume', 2, 3, 7]]);
  });

  test('overwriting a rank starts its runs anew', () => {
    const url = place();
    writeSteps(url, 2).close({ complete: true });
    writeSteps(url, 1, { ifExists: 'overwrite' }).close({ complete: true });
    const { runs } = readerOf(url);
    assert.deepEqual(runs.map((r) => [r.opened, r.firstStep, r.steps]), [['overwrite', 0, 1]]);
  });

  test("the provenance given cannot replace the store's own fields of a run", () => {
    const url = place();
    writeSteps(url, 1, { provenance: { started: 'never', firstStep: 99, host: 'h' } }).close();
    const [run] = readerOf(url).runs;
    assert.notEqual(run.started, 'never');
    assert.equal(run.firstStep, 0);
    assert.equal(run.host, 'h');
  });
}

describe('a folder store', () => backendRuns(() => join(tempDir(), 'outputs')));

describe('a Redis store', needsRedis, () => {
  let redis;
  let n = 0;
  before(async () => (redis = await startRedis()));
  after(() => redis?.stop());
  backendRuns(() => redis.url(`runs-${n++}`));
});

test('a store whose rank folders are gone (only its metadata left) is not complete', () => {
  const url = join(tempDir(), 'outputs');
  writeSteps(url, 1).close({ complete: true });
  rmSync(join(url, 'rank-0'), { recursive: true });
  const info = openStore(url).info();
  assert.deepEqual([info.ranks.length, info.complete], [0, false]);
});

test('a writer refuses provenance that is not an object', () => {
  assert.throws(() => openStoreWriter(join(tempDir(), 'outputs'), { metadata, provenance: 'me' }), { code: 'ERR_DELIVERY_INVALID_OPTION' });
});

describe('a manager', () => {
  const base = new URL('./fixtures/store-wiring/', import.meta.url);
  const targets = require('./fixtures/store-wiring/targets.cjs');
  const specs = { draw: { type: 'FunctionOutputs', funcPath: './targets.cjs#draw', maxKeepData: 10 } };
  const record = (url, steps) => {
    const manager = new DistillDeliveryManager(specs, { base, store: { url, mode: 'record' } });
    for (let i = 0; i < steps; i++) manager.recordPhase(() => targets.draw(3));
    return manager;
  };

  test("close() marks a record run's rank complete, with this package's and Node's versions", () => {
    const url = join(tempDir(), 'outputs');
    record(url, 2).close();
    const { complete, runs } = readerOf(url);
    assert.equal(complete, true);
    assert.equal(runs[0].package, version);
    assert.equal(runs[0].node, process.versions.node);
    assert.equal(runs[0].config, 'DistillDeliveryManager');
  });

  test('a replay of a rank left incomplete (close({ complete: false })) warns once with its step count, and replays it', async () => {
    const url = join(tempDir(), 'outputs');
    const recorder = record(url, 2);
    recorder.close({ complete: false });
    assert.equal(readerOf(url).complete, false);
    let replayer;
    const warnings = await warningsDuring(() => {
      replayer = new DistillDeliveryManager(specs, { base, store: { url, mode: 'replay' } });
    });
    assert.deepEqual(warnings.map((w) => w.code), ['DISTILL_DELIVERY_STORE_INCOMPLETE']);
    assert.match(warnings[0].message, /holds 2 step\(s\)/);
    const before = targets.calls.draw;
    replayer.recordPhase(() => targets.draw(3));
    assert.equal(targets.calls.draw, before, 'the replay returned the stored output without running draw');
    replayer.close();
  });

  test("store info shows a store's recorders (name, type, target) beside its deliveries, and list counts their records", () => {
    const url = join(tempDir(), 'outputs');
    const recorded = require('./fixtures/recorded.cjs');
    const recorders = new RecorderManager({ scaled: { type: 'FunctionOutputs', funcPath: './fixtures/recorded.cjs#scale', phase: 'record' } }, { base: new URL('.', import.meta.url) });
    const manager = new DistillDeliveryManager(specs, { base, store: { url, mode: 'record' }, recorders });
    manager.recordPhase(() => [targets.draw(3), recorded.scale(2)]);
    manager.close();
    const store = openStore(url);
    const info = store.info();
    assert.deepEqual(info.deliveries.map((d) => d.name), ['draw']);
    assert.deepEqual(info.recorders.map((r) => [r.name, r.type]), [['scaled', 'FunctionOutputs']]);
    assert.match(info.recorders[0].target, /recorded\.cjs#scale$/);
    assert.deepEqual([...store.steps(0)].map((s) => s.calls), [{ draw: 1, scaled: 1 }]);
  });

  test('a record run with a step it could not write is left incomplete at close(), though asked to mark it complete', async () => {
    const url = join(tempDir(), 'outputs');
    // In a child: the store's failure also fails the process's end (exit status 1).
    const { stdout, stderr } = await runNode(new URL('./fixtures/store-wiring/unwritable-step.mjs', import.meta.url).pathname, { agent: false, args: [url] });
    assert.deepEqual(JSON.parse(stdout), { first: 'none', second: 'ERR_DELIVERY_NOT_SERIALIZABLE', close: 'ERR_DELIVERY_NOT_SERIALIZABLE' }, stderr);
    assert.deepEqual([readerOf(url).complete, readerOf(url).lastStep], [false, 0]);
  });

  test('a replay of a complete rank does not warn', async () => {
    const url = join(tempDir(), 'outputs');
    record(url, 1).close();
    const warnings = await warningsDuring(() => new DistillDeliveryManager(specs, { base, store: { url, mode: 'replay' } }).close());
    assert.deepEqual(warnings, []);
  });
});

describe('the agent', () => {
  const app = agentFixture('store', 'app.mjs');
  const target = (path) => {
    const [file, member] = path.split('#');
    return `${agentFixture('store', file.slice(2))}#${member}`;
  };
  /** The fixture's config in a folder of its own, its store there: returns the config file. */
  const configIn = (dir) => {
    const config = JSON.parse(readFileSync(agentFixture('store', 'config.json'), 'utf8'));
    for (const spec of Object.values(config.deliveries)) spec.funcPath = target(spec.funcPath);
    config.phases.record = config.phases.record.map(target);
    config.phases.override = config.phases.override.map(target);
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify(config));
    return file;
  };
  const run = (config, mode, env = {}) => runNode(app, { config, env: { DISTILL_DELIVERY_STORE_MODE: mode, ...env }, timeout: TIMEOUT });
  const runsIn = (dir) => JSON.parse(readFileSync(join(dir, 'outputs', 'rank-0', 'runs.json'), 'utf8'));

  test('a record run that exits with status 0 marks its rank complete, with when, how long, and where it came from', { timeout: TIMEOUT }, async () => {
    const dir = tempDir();
    const config = configIn(dir);
    const child = await run(config, 'record');
    assert.equal(child.code, 0, child.stderr);
    const [runRecord] = runsIn(dir);
    assert.equal(runRecord.steps, 3);
    assert.equal(runRecord.node, nodeVersion.join('.'));
    assert.equal(runRecord.package, version);
    assert.equal(runRecord.script, app);
    assert.equal(runRecord.host, hostname());
    assert.equal(typeof runRecord.pid, 'number');
    // The agent's whole config text, hashed.
    assert.equal(runRecord.configHash, createHash('sha256').update(readFileSync(config, 'utf8')).digest('hex'));
    assert.match(runRecord.config, /config\.json/);
    assert.ok(runRecord.durationMs >= 0 && typeof runRecord.ended === 'string');
    assert.doesNotMatch(child.stderr, /STORE_INCOMPLETE/);
  });

  for (const [how, env, code] of [
    ['a non-zero exit status', { EXIT: '3' }, 3],
    ['an uncaught error', { THROW: '1' }, 1],
  ]) {
    test(`a record run that ends with ${how} leaves its rank incomplete, and its report says so`, { timeout: TIMEOUT }, async () => {
      const dir = tempDir();
      const child = await run(configIn(dir), 'record', env);
      assert.equal(child.code, code, child.stderr);
      const runs = runsIn(dir);
      assert.equal(runs.length, 1);
      assert.equal(runs[0].ended, undefined);
      assert.match(child.stderr, /warning \[DISTILL_DELIVERY_STORE_INCOMPLETE\]: the store "\.\/outputs" \(rank 0\) was left incomplete/);
    });
  }

  test('a run in mode "auto" finishes an incomplete store without a warning: the steps it records are a resumed run, and it ends complete', { timeout: TIMEOUT }, async () => {
    const dir = tempDir();
    const config = configIn(dir);
    assert.equal((await run(config, 'record', { EXIT: '3' })).code, 3);
    const finished = await run(config, 'auto', { STEPS: '5' });
    assert.equal(finished.code, 0, finished.stderr);
    assert.doesNotMatch(finished.stderr, /STORE_INCOMPLETE/);
    const runs = runsIn(dir);
    assert.deepEqual(runs.map((r) => [r.opened, r.firstStep, r.steps]), [['new', 0, undefined], ['resume', 3, 2]]);
  });

  test('a replay of an incomplete store warns at open with its step count, replays every step, and its report says so', { timeout: TIMEOUT }, async () => {
    const dir = tempDir();
    const config = configIn(dir);
    const recorded = await run(config, 'record', { EXIT: '3' });
    assert.equal(recorded.code, 3, recorded.stderr);
    const replayed = await run(config, 'replay');
    assert.equal(replayed.code, 0, replayed.stderr);
    const steps = (stdout) => lines(stdout).filter((line) => 'step' in line);
    assert.deepEqual(steps(replayed.stdout), steps(recorded.stdout));
    assert.equal(replayed.stderr.match(/\[DISTILL_DELIVERY_STORE_INCOMPLETE\] DistillDeliveryWarning: Replaying the store "\.\/outputs" \(rank 0\), whose record run did not finish: it holds 3 step\(s\)/g)?.length, 1, replayed.stderr);
    assert.match(replayed.stderr, /warning \[DISTILL_DELIVERY_STORE_INCOMPLETE\]: the store "\.\/outputs" \(rank 0\) is incomplete/);
  });
});
