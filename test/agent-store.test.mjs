// The store through the agent, on unedited programs in real Node children: a record run
// writes each record phase as a step (to a folder or a real redis-server), and a replay
// run of the same program and config returns the stored outputs without running the
// delivered functions; a config or a call that differs, a step past the end, an output
// that cannot be stored, and a record run killed mid-run (SIGKILL; SIGTERM for Redis).
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openStoreReader } from '../dist/store/store.js';
import { coveredBlocks } from './helpers/readme.mjs';
import { agentFixture, lines, runNode } from './helpers/run-node.mjs';
import { needsRedis, startRedis } from './helpers/redis-server.mjs';
import { createClient } from '@redis/client';
import { tempDirs } from './helpers/temp-dirs.mjs';

const TIMEOUT = 60_000;
const app = agentFixture('store', 'app.mjs');
const tempDir = tempDirs('agent-store-');

/**
 * Writes the fixture's config.json into a folder of its own, its targets made absolute and
 * its store url left relative ("./outputs", resolved against that folder); `change` edits it.
 */
function configIn(dir, change = (c) => c, name = 'config.json') {
  const config = JSON.parse(readFileSync(agentFixture('store', 'config.json'), 'utf8'));
  const absolute = (path) => (path.startsWith('./') ? target(path.slice(2)) : path);
  for (const spec of Object.values(config.deliveries)) spec.funcPath = absolute(spec.funcPath);
  config.phases.record = config.phases.record.map(absolute);
  config.phases.override = config.phases.override.map(absolute);
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(change(config)));
  return file;
}

/** The absolute target path of `file#member` in the fixture's folder. */
function target(path) {
  const [file, member] = path.split('#');
  return `${agentFixture('store', file)}#${member}`;
}

const run = (script, config, mode, env = {}, options = {}) => runNode(script, { config, env: { DISTILL_DELIVERY_STORE_MODE: mode, ...env }, timeout: TIMEOUT, ...options });

/**
 * Records the app with `config` as rank 0, then replays it as `rank`, which no record run
 * wrote: the replay stops before the app runs, with ERR_DELIVERY_STORE_END naming the ranks
 * the store holds. Resolves with the replay.
 */
async function replayUnwrittenRank(config, rank) {
  assert.equal((await run(app, config, 'record')).code, 0);
  const replayed = await run(app, config, 'replay', { DISTILL_DELIVERY_RANK: String(rank) });
  assert.equal(replayed.code, 1);
  assert.equal(replayed.stdout, '');
  assert.equal(errorCode(replayed.stderr), 'ERR_DELIVERY_STORE_END');
  assert.match(replayed.stderr, new RegExp(`\\(rank ${rank}\\): no record run wrote rank ${rank}, and the store holds rank 0\\. `));
  return replayed;
}
const steps = (stdout) => lines(stdout).filter((line) => 'step' in line);
const runs = (stdout) => lines(stdout).find((line) => 'runs' in line)?.runs;
const errorCode = (stderr) => stderr.match(/\[(ERR_DELIVERY_[A-Z_]+)\]/)?.[1];
/** The report's findings: `warning [CODE]: message` lines. */
const findings = (stderr) => [...stderr.matchAll(/^warning \[([A-Z_]+)\]: (.*)$/gm)].map(([, code, message]) => ({ code, message }));

describe('a folder store', () => {
  let dir;
  let config;
  let recorded;

  before(async () => {
    dir = tempDir();
    config = configIn(dir);
    recorded = await run(app, config, 'record');
  });

  test('a record run works as usual and writes every record phase as a step', { timeout: TIMEOUT }, () => {
    assert.equal(recorded.code, 0, recorded.stderr);
    const out = steps(recorded.stdout);
    assert.equal(out.length, 3);
    for (const { teacher, student } of out) assert.deepEqual(student, teacher.inputs);
    assert.deepEqual(runs(recorded.stdout), { draw: 3, teacherLogits: 3, widget: 0 });
    assert.match(recorded.stderr, /^store: wrote 3 step\(s\) to "\.\/outputs" \(rank 0\): draw 3, logits 3 record\(s\)$/m);
    assert.ok(readFileSync(join(dir, 'outputs', 'meta.json'), 'utf8').includes('"deliveries"'));
  });

  test('a replay run returns the stored outputs in record and override phases without running the delivered functions', { timeout: TIMEOUT }, async () => {
    const { code, stdout, stderr } = await run(app, config, 'replay');
    assert.equal(code, 0, stderr);
    assert.deepEqual(steps(stdout), steps(recorded.stdout));
    assert.deepEqual(runs(stdout), { draw: 0, teacherLogits: 0, widget: 0 });
    assert.match(stderr, /^store: replayed 3 of 3 step\(s\) from "\.\/outputs" \(rank 0\): draw 3, logits 3 record\(s\)$/m);
    assert.doesNotMatch(stderr, /warning \[/);
  });

  test('once every delivery fired, a recordOnly one by its stored records, the agent lets go of the activation it holds to count calls outside the phases (record and replay)', { timeout: TIMEOUT }, async () => {
    // "logits" is recordOnly: it keeps nothing for the student, so only the store says it fired.
    const own = tempDir();
    const file = configIn(own);
    for (const mode of ['record', 'replay']) {
      const { code, stdout, stderr } = await run(app, file, mode, { ACTIVE: '1' });
      assert.equal(code, 0, stderr);
      assert.equal(steps(stdout).length, 3);
      assert.deepEqual(lines(stdout).find((line) => 'active' in line), { active: 0 }, mode);
    }
  });

  test('a replay of a rank no record run wrote stops before the app runs, naming the ranks the store holds (ERR_DELIVERY_STORE_END); auto records it', { timeout: TIMEOUT }, async () => {
    const own = configIn(tempDir());
    const replayed = await replayUnwrittenRank(own, 2);
    assert.doesNotMatch(replayed.stderr, /STORE_INCOMPLETE/);
    const auto = await run(app, own, 'auto', { DISTILL_DELIVERY_RANK: '2' });
    assert.equal(auto.code, 0, auto.stderr);
    assert.equal(steps(auto.stdout).length, 3);
  });

  test('a student-only program (override phases only) replays what the teacher program recorded', { timeout: TIMEOUT }, async () => {
    const student = configIn(dir, (c) => ({ ...c, phases: { override: [target('student.mjs#studentStep')] } }), 'student.json');
    const { code, stdout, stderr } = await run(agentFixture('store', 'student.mjs'), student, 'replay');
    assert.equal(code, 0, stderr);
    assert.deepEqual(
      steps(stdout).map((s) => s.student),
      steps(recorded.stdout).map((s) => s.student),
    );
  });

  test('a replay with other deliveries stops before the app runs, naming what differs', { timeout: TIMEOUT }, async () => {
    const other = configIn(dir, (c) => ({ ...c, deliveries: { ...c.deliveries, logits: { ...c.deliveries.logits, funcPath: target('lib.mjs#widget') } } }), 'other.json');
    const { code, stdout, stderr } = await run(app, other, 'replay');
    assert.equal(code, 1);
    assert.equal(stdout, '');
    assert.equal(errorCode(stderr), 'ERR_DELIVERY_STORE_MISMATCH');
    assert.match(stderr, /"metadata\.deliveries\.logits\.target"/);
  });

  test('a replayed call that differs from the recorded one fails there, naming the step, the delivery and the call', { timeout: TIMEOUT }, async () => {
    const { code, stdout, stderr } = await run(app, config, 'replay', { ARG: 'text' });
    assert.equal(code, 1);
    assert.equal(steps(stdout).length, 0);
    assert.equal(errorCode(stderr), 'ERR_DELIVERY_STORE_MISMATCH');
    assert.match(stderr, /step 0 of the store "\.\/outputs" \(rank 0\): at call 1 of delivery "draw" .*the recorded call was \(number\) and this one is \(string\)/);
  });

  test('replaying past the last stored step fails with ERR_DELIVERY_STORE_END, after the stored steps', { timeout: TIMEOUT }, async () => {
    const { code, stdout, stderr } = await run(app, config, 'replay', { STEPS: '4' });
    assert.equal(code, 1);
    assert.deepEqual(steps(stdout), steps(recorded.stdout));
    assert.equal(errorCode(stderr), 'ERR_DELIVERY_STORE_END');
  });

  test('an output that cannot be stored fails the record run at its call, naming the delivery and the path', { timeout: TIMEOUT }, async () => {
    const widget = configIn(dir, (c) => ({ ...c, store: { url: './widgets' }, deliveries: { ...c.deliveries, widget: { type: 'FunctionOutputs', funcPath: target('lib.mjs#widget') } } }), 'widget.json');
    const { code, stdout, stderr } = await run(app, widget, 'record', { WIDGET: '1' });
    assert.equal(code, 1);
    assert.equal(steps(stdout).length, 0);
    assert.equal(errorCode(stderr), 'ERR_DELIVERY_NOT_SERIALIZABLE');
    assert.match(stderr, /Cannot store the output of delivery "widget" \(".*lib\.mjs#widget"\): its \.parts\.get\("w"\) is an instance of Widget/);
  });

  test('a replay that replays fewer steps than the store holds says so (DISTILL_DELIVERY_STORE_UNREPLAYED), and strict mode fails it', { timeout: TIMEOUT }, async () => {
    const short = await run(app, config, 'replay', { STEPS: '2' });
    assert.equal(short.code, 0, short.stderr);
    assert.deepEqual(findings(short.stderr), [{ code: 'DISTILL_DELIVERY_STORE_UNREPLAYED', message: '2 of the 3 step(s) the store "./outputs" holds were replayed.' }]);
    const strict = await run(app, config, 'replay', { STEPS: '2', DISTILL_DELIVERY_STRICT: '1' });
    assert.equal(strict.code, 1);
    assert.deepEqual(findings(strict.stderr).map((f) => f.code), ['DISTILL_DELIVERY_STORE_UNREPLAYED']);
  });
});

test('a record run that ends while a record phase runs says that step was not written (DISTILL_DELIVERY_STORE_UNWRITTEN)', { timeout: TIMEOUT }, async () => {
  const config = configIn(tempDir());
  // The process exits inside the teacher's third step: steps 0 and 1 are written, step 2 never ended.
  const { code, stdout, stderr } = await run(app, config, 'record', { EXIT_AT: '2', STEPS: '5' });
  assert.equal(code, 0, stderr);
  assert.equal(steps(stdout).length, 2);
  assert.match(stderr, /^store: wrote 2 step\(s\) to "\.\/outputs" \(rank 0\): draw 2, logits 2 record\(s\)$/m);
  assert.deepEqual(findings(stderr).filter((f) => f.code.startsWith('DISTILL_DELIVERY_STORE_')), [{ code: 'DISTILL_DELIVERY_STORE_UNWRITTEN', message: '1 record phase(s) were not written to the store "./outputs": they had not ended, or their promises had not settled, when the store was closed.' }]);
});

test('a record run killed with SIGKILL mid-run leaves every complete step replayable', { timeout: TIMEOUT }, async () => {
  const dir = tempDir();
  const config = configIn(dir);
  const killed = await run(app, config, 'record', { STEPS: '1000000' }, { kill: { when: /^(.*\n){5}/, signal: 'SIGKILL' } });
  assert.equal(killed.signal, 'SIGKILL');
  const printed = steps(killed.stdout);
  assert.ok(printed.length >= 5);
  // Each step is printed once its record phase ended, so it is in the store; one more may be.
  const replayed = await run(app, config, 'replay', { STEPS: String(printed.length) });
  assert.equal(replayed.code, 0, replayed.stderr);
  assert.deepEqual(steps(replayed.stdout), printed);
  const past = await run(app, config, 'replay', { STEPS: '1000000' });
  assert.equal(errorCode(past.stderr), 'ERR_DELIVERY_STORE_END');
  assert.ok(steps(past.stdout).length >= printed.length);
});

test('tensors are stored by dtype, shape and data and replayed as tensors of the app\'s tfjs, leaking none', { timeout: TIMEOUT }, async () => {
  const dir = tempDir();
  const config = JSON.parse(readFileSync(agentFixture('store', 'tensors.json'), 'utf8'));
  config.store = { url: join(dir, 'tensors') };
  const script = agentFixture('store', 'tensors.mjs');
  const env = { DISTILL_DELIVERY_BASE: agentFixture('store') };
  const recordedRun = await run(script, config, 'record', env);
  assert.equal(recordedRun.code, 0, recordedRun.stderr);
  const replayed = await run(script, config, 'replay', env);
  assert.equal(replayed.code, 0, replayed.stderr);
  const out = steps(replayed.stdout);
  assert.deepEqual(out, steps(recordedRun.stdout));
  for (const { teacher, student } of out) {
    assert.deepEqual(student, teacher);
    for (const key of ['mixed', 'labels', 'flags', 'words', 'pair']) assert.equal(teacher[key].tensor, true, key);
    assert.deepEqual([teacher.mixed.dtype, teacher.labels.dtype, teacher.flags.dtype, teacher.words.dtype], ['float32', 'int32', 'bool', 'string']);
    assert.equal(teacher.same, true);
  }
  const { tensors } = lines(replayed.stdout).at(-1);
  assert.equal(tensors.atEnd, tensors.afterFirstStep);
});

describe('a Redis store', needsRedis, () => {
  let redis;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis?.stop();
  });

  test('a record run into Redis replays exactly, and replaying past its end fails at once', { timeout: TIMEOUT }, async () => {
    const config = configIn(tempDir(), (c) => ({ ...c, store: { url: redis.url('agent-store'), timeout: 20_000 } }));
    const recordedRun = await run(app, config, 'record');
    assert.equal(recordedRun.code, 0, recordedRun.stderr);
    const replayed = await run(app, config, 'replay', { STEPS: '4' });
    assert.deepEqual(steps(replayed.stdout), steps(recordedRun.stdout));
    assert.deepEqual(runs(recordedRun.stdout), { draw: 3, teacherLogits: 3, widget: 0 });
    // The record run closed its store at exit, so the replay knows step 3 will never come.
    assert.equal(errorCode(replayed.stderr), 'ERR_DELIVERY_STORE_END');
  });

  test('a replay of a rank no record run wrote, with no writer, stops at once before the app runs, naming the ranks the key holds', { timeout: 30_000 }, async () => {
    // Its timeout is four times the test's: the replay must not wait for the rank's steps.
    const config = configIn(tempDir(), (c) => ({ ...c, store: { url: redis.url('agent-ranks'), timeout: 120_000 } }));
    await replayUnwrittenRank(config, 3);
  });

  test('a record run ended by SIGTERM ends at once, and every step the server stored replays', { timeout: TIMEOUT }, async () => {
    // SIGTERM ends the run as it would without the agent (nothing of ours runs then: no end
    // mark); every step the server has is complete (docs/store.md). The signal goes once
    // the server holds the 20 steps the run printed.
    const client = createClient({ socket: { host: '127.0.0.1', port: redis.port, reconnectStrategy: false } });
    client.on('error', () => {});
    await client.connect();
    const held = async (n) => {
      while ((await client.xLen('agent-sigterm:rank-0')) < n) await new Promise((resolve) => setTimeout(resolve, 20));
    };
    const config = configIn(tempDir(), (c) => ({ ...c, report: false, store: { url: redis.url('agent-sigterm'), timeout: 5_000 } }));
    const killed = await run(app, config, 'record', { STEPS: '1000000' }, { kill: { when: /^(.*\n){20}/, signal: 'SIGTERM', before: () => held(20) } });
    await client.close();
    assert.equal(killed.signal, 'SIGTERM');
    const printed = steps(killed.stdout).slice(0, 20);
    const replayed = await run(app, config, 'replay', { STEPS: '20' });
    assert.equal(replayed.code, 0, replayed.stderr);
    assert.deepEqual(steps(replayed.stdout), printed);
  });
});

describe('a Redis store that fails', needsRedis, () => {
  let redis;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis?.stop();
  });

  test('a replay of a key nobody records fails at once with ERR_DELIVERY_STORE_END, before the app runs', { timeout: 30_000 }, async () => {
    // Its timeout is four times the test's: the replay must not wait for the store to appear.
    const config = configIn(tempDir(), (c) => ({ ...c, store: { url: redis.url('nobody'), timeout: 120_000 } }));
    const { code, stdout, stderr } = await run(app, config, 'replay');
    assert.equal(code, 1);
    assert.equal(stdout, '');
    assert.equal(errorCode(stderr), 'ERR_DELIVERY_STORE_END');
    assert.match(stderr, /there is no key "nobody:meta", and no record run is writing rank 0/);
  });

  test('a replay of a record run killed with SIGKILL ends with ERR_DELIVERY_STORE_END after its last step, not after the timeout', { timeout: TIMEOUT }, async () => {
    const config = configIn(tempDir(), (c) => ({ ...c, store: { url: redis.url('agent-killed'), timeout: 120_000 } }));
    // Killed once it has printed five steps and the server holds one at least (its worker stores them in the background).
    const stored = async () => {
      for (let i = 0; i < 1000 && (await redis.command('XLEN', 'agent-killed:rank-0')) === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    };
    const killed = await run(app, config, 'record', { STEPS: '1000000', YIELD: '1' }, { kill: { when: /^(.*\n){5}/, signal: 'SIGKILL', before: stored } });
    assert.equal(killed.signal, 'SIGKILL');
    const replayed = await run(app, config, 'replay', { STEPS: '1000000' });
    assert.equal(replayed.code, 1);
    assert.equal(errorCode(replayed.stderr), 'ERR_DELIVERY_STORE_END');
    assert.match(replayed.stderr, /no record run is writing it any more: its writer showed no sign of life for 8000 ms/);
    // Every step it printed had ended its record phase, and Redis stores steps in the background: the last ones may be
    // missing; and a step is stored before the app prints it, so the store may hold one step the kill kept from printing.
    const replayedSteps = steps(replayed.stdout);
    const printed = steps(killed.stdout);
    assert.ok(replayedSteps.length > 0);
    assert.ok(replayedSteps.length <= printed.length + 1, `${replayedSteps.length} replayed, ${printed.length} printed`);
    const both = Math.min(replayedSteps.length, printed.length);
    assert.deepEqual(replayedSteps.slice(0, both), printed.slice(0, both));
  });

  test('when the server stops storing (CLIENT PAUSE WRITE), the run fails and its report counts the steps the server holds, not those committed (DISTILL_DELIVERY_STORE_FAILED)', { timeout: TIMEOUT }, async () => {
    const config = configIn(tempDir(), (c) => ({ ...c, store: { url: redis.url('agent-paused'), timeout: 2_000 } }));
    let paused;
    const failed = await run(app, config, 'record', { STEPS: '1000000' }, { onStdout: (out) => (paused ??= /^(.*\n){5}/.test(out) ? redis.command('CLIENT', 'PAUSE', '60000', 'WRITE') : undefined) });
    await paused;
    let held;
    try {
      const reader = openStoreReader(redis.url('agent-paused'));
      held = reader.lastStep + 1;
      reader.close();
    } finally {
      await redis.command('CLIENT', 'UNPAUSE');
    }
    assert.equal(failed.code, 1);
    assert.equal(errorCode(failed.stderr), 'ERR_DELIVERY_STORE_UNAVAILABLE');
    // The run went on after the pause until the writer gave up (its ring of unacknowledged steps full): it committed steps the server never stored.
    const line = failed.stderr.match(/^store: wrote (\d+) step\(s\) to .*; (\d+) more step\(s\) were committed and never stored$/m);
    assert.ok(line, failed.stderr);
    assert.equal(Number(line[1]), held);
    assert.ok(Number(line[2]) > 0);
    const failure = findings(failed.stderr).find((f) => f.code === 'DISTILL_DELIVERY_STORE_FAILED');
    assert.match(failure?.message ?? '', new RegExp(`the server acknowledged no step for 2000 ms.* It holds ${held} step\\(s\\) of this run; ${line[2]} more were committed and never stored\\.$`));
  });

  test('a store that fails as it closes makes the exit status 1, and says why; a recordOnly delivery whose steps the server never stored still fired', { timeout: TIMEOUT }, async () => {
    const own = await startRedis();
    try {
      const config = configIn(tempDir(), (c) => ({ ...c, store: { url: own.url('closing'), timeout: 5_000 } }));
      let paused;
      let held = false;
      // The store is open and the app waits: the server stops storing (so it holds none of the steps), the app runs its
      // steps and waits again: the server goes away, then the app ends on its own (status 0 without the store).
      const result = await run(app, config, 'record', { WAIT: '1', HOLD: '1' }, {
        onStdout: (out, child) => {
          if (paused === undefined && out.includes('"waiting"')) {
            paused = own.command('CLIENT', 'PAUSE', '60000', 'WRITE').then(() => child.kill('SIGUSR2'));
          }
          if (held || !out.includes('"holding"')) return;
          held = true;
          own.kill('SIGKILL');
          own.exited.then(() => child.kill('SIGUSR2'));
        },
      });
      assert.equal(steps(result.stdout).length, 3, `${result.stdout}\n${result.stderr}`);
      assert.equal(result.signal, null, result.stderr);
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, /^distill-delivery: DeliveryError \[ERR_DELIVERY_STORE_UNAVAILABLE\]: The store ".*closing" \(rank 0\) is unavailable: /m);
      assert.match(result.stderr, /^store: wrote 0 step\(s\) to .*; 3 more step\(s\) were committed and never stored$/m);
      // "logits" is recordOnly: its outputs went to the store alone, which holds none of them; it fired all the same.
      assert.deepEqual(findings(result.stderr).map((f) => f.code), ['DISTILL_DELIVERY_STORE_FAILED'], result.stderr);
    } finally {
      await own.stop();
    }
  });
});

test('the README\'s store command, in an app made of examples/mixup with the package installed, records once, then replays with the mode it names', { timeout: TIMEOUT }, async () => {
  const [{ commands }] = coveredBlocks(import.meta.url);
  assert.equal(commands.length, 1);
  const [{ vars, program, args, comment }] = commands;
  assert.equal(program, 'node');
  const appDir = tempDir();
  cpSync(fileURLToPath(new URL('../examples/mixup', import.meta.url)), appDir, { recursive: true });
  mkdirSync(join(appDir, 'node_modules'));
  symlinkSync(fileURLToPath(new URL('..', import.meta.url)), join(appDir, 'node_modules', 'distill-delivery'), 'dir');
  // The config the command names: the example's, with a store.
  const config = JSON.parse(readFileSync(join(appDir, 'deliveries.json'), 'utf8'));
  writeFileSync(join(appDir, vars.DISTILL_DELIVERY), JSON.stringify({ ...config, store: { url: './outputs' } }));
  const command = (mode) => runNode(join(appDir, args.at(-1)), { agent: false, nodeArgs: args.slice(0, -1), cwd: appDir, env: { ...vars, DISTILL_DELIVERY_STORE_MODE: mode }, timeout: TIMEOUT });
  const recorded = await command(vars.DISTILL_DELIVERY_STORE_MODE);
  assert.equal(recorded.code, 0, recorded.stderr);
  assert.equal(vars.DISTILL_DELIVERY_STORE_MODE, 'record');
  assert.match(recorded.stderr, /^store: wrote 3 step\(s\)/m);
  // "then =replay per student": the same command with that mode.
  const replayMode = /then =(\w+)/.exec(comment)?.[1];
  assert.equal(replayMode, 'replay', comment);
  const replayed = await command(replayMode);
  assert.equal(replayed.code, 0, replayed.stderr);
  assert.match(replayed.stderr, /^store: replayed 3 of 3 step\(s\)/m);
  assert.equal(replayed.stdout, recorded.stdout);
  assert.match(replayed.stdout, /same mixed batch in 3 of 3 steps/);
});
