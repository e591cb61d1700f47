// SIGINT and SIGTERM end an agent run as they end the program without the agent: at once,
// with the signal's status, in every mode, even while a synchronous loop (no await, as tfjs
// on the CPU backend runs) never lets the event loop turn, and while a Redis replay waits
// for a step in Atomics.wait. What a run leaves then: the report file as of a recent phase's
// end, marked as still running; every step a folder store committed; every step a Redis
// server stored. Real children (fixtures/agent/signals), real signals, a real redis-server.
// The loop would run 60 s: each test requires only that the signal ended it (no
// {"loopEnded": true}), never a time.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from '@redis/client';
import { agentFixture, lines, loaderUrl, nodeBinary, runNode } from './helpers/run-node.mjs';
import { needsRedis, startRedis } from './helpers/redis-server.mjs';

const train = agentFixture('signals', 'train.js');
const config = (extra = {}) => ({
  deliveries: { draw: { type: 'FunctionOutputs', funcPath: `${agentFixture('signals', 'sampler.js')}#draw` } },
  phases: { record: [`${train}#teacherStep`], override: [`${train}#studentStep`] },
  ...extra,
});
/** Steps done before the signal. */
const READY = 5;

let dir;
before(() => (dir = mkdtempSync(join(tmpdir(), 'distill-delivery-signals-'))));
after(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Runs the fixture with the agent and sends it `signal` once its stdout matches `when` (null:
 * never) and `ready()` (if given) has resolved; resolves with { code, signal, stdout,
 * stderr }, and has the child process as `child`.
 * A child the signal did not end is killed (SIGKILL) after two minutes.
 */
function signalled(args, { config: value, env = {}, signal, when = /"ready"|"waiting"/, ready }) {
  const childEnv = { ...process.env, DISTILL_DELIVERY: JSON.stringify(value), ...env };
  for (const name of ['NODE_OPTIONS', 'NODE_DEBUG', 'NODE_TEST_CONTEXT', 'DISTILL_DELIVERY_TEST_NODE', 'DISTILL_DELIVERY_STRICT', 'DISTILL_DELIVERY_REPORT']) if (!(name in env)) delete childEnv[name];
  const child = spawn(nodeBinary, ['--import', loaderUrl, train, ...args], { cwd: dir, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000, killSignal: 'SIGKILL' });
  let stdout = '';
  let stderr = '';
  let sent = false;
  child.stdout.setEncoding('utf8').on('data', async (chunk) => {
    stdout += chunk;
    if (sent || when === null || !when.test(stdout)) return;
    sent = true;
    await ready?.();
    child.kill(signal);
  });
  child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
  const ended = new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, end) => resolve({ code, signal: end, stdout, stderr }));
  });
  return Object.assign(ended, { child });
}

/** The child was ended by `signal` inside its loop, not after it. */
function endedBy(result, signal) {
  assert.equal(result.signal, signal, `exit code ${result.code}, stderr:\n${result.stderr}`);
  assert.equal(result.code, null);
  assert.doesNotMatch(result.stdout, /loopEnded/, 'the loop ran to its end before the signal took effect');
}

/** A replay of the first n steps gives the outputs the record run drew: teacher i drew "t<i>:<i + 1>"; the store is incomplete. */
async function replaysSteps(store, n) {
  const { code, stdout, stderr } = await runNode(train, { config: config({ store }), cwd: dir, args: ['replay', String(n)], env: { DISTILL_DELIVERY_STORE_MODE: 'replay' } });
  assert.equal(code, 0, stderr);
  // The record run did not finish: the replay says so once (as its store opens, not again at exit). The
  // store may hold more steps than replayed here (the loop went on until the signal came): that is said too.
  const warned = [...stderr.matchAll(/^\(node:\d+\) \[([A-Z_]+)\] DistillDeliveryWarning/gm)].map((m) => m[1]);
  assert.deepEqual(warned.filter((c) => c !== 'DISTILL_DELIVERY_STORE_UNREPLAYED'), ['DISTILL_DELIVERY_STORE_INCOMPLETE'], stderr);
  const steps = lines(stdout).filter((l) => 'step' in l);
  assert.equal(steps.length, n);
  for (const { step, teacher, student } of steps) {
    assert.equal(teacher, `t${step}:${step + 1}`);
    assert.equal(student, teacher);
  }
}

describe('a synchronous loop', () => {
  test('with "report": "file.json" and strict mode, SIGINT ends it at once, leaving the report of a recent phase marked as running', async () => {
    // The loop goes on until the file, rewritten as phases end, says READY record phases ran.
    const result = await signalled(['loop', String(READY), join(dir, 'loop.json')], { config: config({ report: 'loop.json', strict: true }), signal: 'SIGINT' });
    endedBy(result, 'SIGINT');
    assert.equal(result.stderr, '', 'nothing of the agent runs at a signal');
    const report = JSON.parse(readFileSync(join(dir, 'loop.json'), 'utf8'));
    assert.equal(report.running, true);
    assert.equal(report.ended, null);
    assert.equal(report.strict, undefined);
    assert.ok(report.phases.ran.record >= READY, JSON.stringify(report.phases));
    assert.ok(report.deliveries[0].recorded >= READY, JSON.stringify(report.deliveries));
    assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('loop.json.')), [], 'no temporary file is left');
  });

  test('in strict mode, SIGTERM ends it at once', async () => {
    endedBy(await signalled(['loop', String(READY)], { config: config({ strict: true }), signal: 'SIGTERM' }), 'SIGTERM');
  });

  test('with "report": true, SIGTERM ends it at once', async () => {
    endedBy(await signalled(['loop', String(READY)], { config: config({ report: true }), signal: 'SIGTERM' }), 'SIGTERM');
  });

  test('with the findings as warnings (no report), SIGINT ends it at once', async () => {
    endedBy(await signalled(['loop', String(READY)], { config: config(), signal: 'SIGINT' }), 'SIGINT');
  });

  test('recording into a folder store, SIGINT ends it at once, and every committed step replays afterwards', async () => {
    const store = { url: join(dir, 'folder-store'), mode: 'record' };
    endedBy(await signalled(['loop', String(READY)], { config: config({ store }), signal: 'SIGINT' }), 'SIGINT');
    await replaysSteps(store, READY);
  });
});

describe('a Redis store', needsRedis, () => {
  let redis;
  let client;
  before(async () => {
    redis = await startRedis();
    client = createClient({ socket: { host: '127.0.0.1', port: redis.port, reconnectStrategy: false } });
    client.on('error', () => {});
    await client.connect();
  });
  after(async () => {
    await client?.close();
    await redis?.stop();
  });

  /** Resolves once the server holds n steps of `key` (rank 0): one entry a step, these steps being small. */
  async function stored(key, n) {
    while ((await client.xLen(`${key}:rank-0`)) < n) await sleep(20);
  }

  test('a synchronous record loop ends at once on SIGTERM, and the steps the server stored replay afterwards', async () => {
    const store = { url: redis.url('killed-loop'), mode: 'record' };
    const run = signalled(['loop', String(READY)], { config: config({ store }), signal: 'SIGTERM', ready: () => stored('killed-loop', READY) });
    const result = await run;
    endedBy(result, 'SIGTERM');
    await replaysSteps(store, READY);
  });

  test('a replay waiting in Atomics.wait for a step that never comes ends at once on SIGINT', async () => {
    const store = { url: redis.url('waiting'), mode: 'record' };
    // A record run that stays alive (idle in the event loop) after READY steps: the replay waits for more.
    const writer = signalled(['idle', String(READY)], { config: config({ store }), signal: 'SIGTERM', when: null });
    await Promise.race([stored('waiting', READY), writer.then((r) => assert.fail(`the record run ended before its steps were stored:\n${r.stderr}`))]);
    const replay = await signalled(['wait', String(READY)], { config: config({ store: { ...store, mode: 'replay' } }), signal: 'SIGINT' });
    assert.equal(replay.signal, 'SIGINT', `exit code ${replay.code}, stderr:\n${replay.stderr}`);
    assert.doesNotMatch(replay.stderr, /ERR_DELIVERY_STORE/);
    assert.doesNotMatch(replay.stdout, /gotStep/);
    // The writer, idle in the event loop, ends by SIGTERM too.
    writer.child.kill('SIGTERM');
    const ended = await writer;
    assert.equal(ended.signal, 'SIGTERM', ended.stderr);
  });
});
