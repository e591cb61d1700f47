// The command line, `distill-delivery store info | verify | list | copy | delete`, as a
// user runs it: the package's bin in a real child process, on a folder and on a real
// redis-server, each store recorded by the agent from an unedited program. Exit statuses
// and --json output asserted; a copy folder -> Redis -> folder replays; a damaged store
// fails verify; delete asks on a terminal (a pty from script(1)) and refuses on a pipe.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openStoreWriter } from '../dist/store/store.js';
import { agentFixture, lines, nodeBinary, runNode } from './helpers/run-node.mjs';
import { needsRedis, startRedis } from './helpers/redis-server.mjs';
import { coveredBlocks } from './helpers/readme.mjs';
import { tempDirs } from './helpers/temp-dirs.mjs';

const TIMEOUT = 60_000;
const bin = fileURLToPath(new URL('../bin/distill-delivery.mjs', import.meta.url));
const { version } = createRequire(import.meta.url)('../package.json');
const app = agentFixture('store', 'app.mjs');
const hasScript = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;
const tempDir = tempDirs('store-cli-');

/** `distill-delivery ...args` in a child: { code, stdout, stderr }; stdin a pipe holding `input` (default: closed at once). */
function cli(args, { input = '', cwd } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(nodeBinary, [bin, ...args], { cwd, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    // A command that exits before reading its stdin (most do) closes the pipe: EPIPE there is not the test's failure.
    child.stdin.on('error', (error) => error.code !== 'EPIPE' && reject(error));
    child.stdin.end(input);
  });
}

/** The same on a terminal (script(1) gives the child a pty): what the terminal showed, and the exit status. */
function onTerminal(args, input = '') {
  const command = [nodeBinary, bin, ...args].map((word) => `'${word.replaceAll("'", "'\\''")}'`).join(' ');
  const result = spawnSync('script', ['-qec', command, '/dev/null'], { input, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' }, timeout: TIMEOUT });
  return { code: result.status, output: result.stdout };
}

const json = (result) => JSON.parse(result.stdout);

/** Records the fixture program's store at `url` through the agent: its config file, and the steps it printed. */
async function record(url, dir = tempDir()) {
  const target = (path) => `${agentFixture('store', path.slice(2).split('#')[0])}#${path.split('#')[1]}`;
  const config = JSON.parse(readFileSync(agentFixture('store', 'config.json'), 'utf8'));
  for (const spec of Object.values(config.deliveries)) spec.funcPath = target(spec.funcPath);
  config.phases.record = config.phases.record.map(target);
  config.phases.override = config.phases.override.map(target);
  config.store.url = url;
  config.report = false;
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(config));
  const child = await runNode(app, { config: file, env: { DISTILL_DELIVERY_STORE_MODE: 'record' }, timeout: TIMEOUT });
  assert.equal(child.code, 0, child.stderr);
  return { config: file, steps: lines(child.stdout).filter((line) => 'step' in line) };
}

const replay = (config, url) => runNode(app, { config: JSON.stringify({ ...JSON.parse(readFileSync(config, 'utf8')), store: { url } }), env: { DISTILL_DELIVERY_STORE_MODE: 'replay' }, timeout: TIMEOUT });

describe('usage', () => {
  for (const args of [['--help'], ['store', '--help'], ...['info', 'verify', 'list', 'copy', 'delete'].map((c) => ['store', c, '--help'])]) {
    test(`distill-delivery ${args.join(' ')} prints its usage and exits 0`, async () => {
      const { code, stdout, stderr } = await cli(args);
      assert.equal(code, 0, stderr);
      assert.match(stdout, new RegExp(`^Usage: distill-delivery ${args.length > 2 ? `store ${args[1]} ` : args.length > 1 ? 'store ' : ''}`));
      assert.equal(stderr, '');
    });
  }

  test('--version prints the package version', async () => {
    const { code, stdout } = await cli(['--version']);
    assert.equal(code, 0);
    assert.equal(stdout, `${version}\n`);
  });

  for (const [args, where] of [
    [[], 'distill-delivery'],
    [['stor'], 'distill-delivery'],
    [['--bogus', 'store'], 'distill-delivery'],
    [['store'], 'distill-delivery store'],
    [['store', 'inspect', './x'], 'distill-delivery store'],
    [['store', 'info'], 'distill-delivery store info'],
    [['store', 'info', './a', './b'], 'distill-delivery store info'],
    [['store', 'info', './x', '--bogus'], 'distill-delivery store info'],
    [['store', 'copy', './x'], 'distill-delivery store copy'],
    [['store', 'list', './x', '--rank', 'one'], 'distill-delivery store list'],
    [['store', 'verify', './x', '--rank'], 'distill-delivery store verify'],
    [['store', 'info', './x', '--timeout', '0'], 'distill-delivery store info'],
  ]) {
    test(`distill-delivery ${args.length > 0 ? args.join(' ') : '(no arguments)'} is a usage error: exit status 2, and where its usage is`, async () => {
      const { code, stdout, stderr } = await cli(args);
      assert.equal(code, 2, stderr);
      assert.equal(stdout, '');
      assert.match(stderr, new RegExp(`^distill-delivery: .+\\nRun "${where} --help" for its usage\\.\\n$`));
    });
  }
});

/** The commands on one backend: `place(name)` gives a url where no store is. */
function commands(place) {
  let url;
  let recorded;

  before(async () => {
    url = place('teacher');
    recorded = await record(url);
  });

  test('info --json: the deliveries, the rank with its steps, bytes and complete, and the record run that wrote it', { timeout: TIMEOUT }, async () => {
    const result = await cli(['store', 'info', url, '--json']);
    assert.equal(result.code, 0, result.stderr);
    const info = json(result);
    assert.deepEqual(info.deliveries.map((d) => [d.name, d.type, d.check]), [['draw', 'FunctionOutputs', 'shape'], ['logits', 'FunctionOutputs', 'shape']]);
    assert.match(info.deliveries[0].target, /lib\.mjs#draw$/);
    assert.deepEqual(info.recorders, []);
    assert.equal(info.complete, true);
    assert.equal(info.steps, 3);
    assert.equal(info.ranks.length, 1);
    const [rank] = info.ranks;
    assert.deepEqual([rank.rank, rank.steps, rank.lastStep, rank.complete], [0, 3, 2, true]);
    assert.ok(rank.bytes > 0);
    assert.equal(info.bytes, rank.bytes);
    const [run] = rank.runs;
    assert.deepEqual([run.firstStep, run.steps, run.package, run.script], [0, 3, version, app]);
    assert.ok(typeof run.started === 'string' && typeof run.ended === 'string' && run.durationMs >= 0);
  });

  test('info prints a short table: the deliveries, the ranks and the record runs', { timeout: TIMEOUT }, async () => {
    const { code, stdout, stderr } = await cli(['store', 'info', url]);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^store ".+" \((folder|redis)\): complete, 1 rank\(s\), 3 step\(s\), /);
    assert.match(stdout, /^ {2}draw +FunctionOutputs +\S+lib\.mjs#draw +shape$/m);
    assert.match(stdout, /^ {2}0 +3 +\S+ \S+ +yes$/m);
    assert.match(stdout, /^record runs:\n.*\n {2}0 +0-2 +\S+ +\S+ \S+ +\S+ +\S+ +\S+ +\S+ +\S+app\.mjs +[0-9a-f]{12}$/m);
  });

  test('verify --json: every rank read and intact, exit status 0', { timeout: TIMEOUT }, async () => {
    const result = await cli(['store', 'verify', url, '--json']);
    assert.equal(result.code, 0, result.stderr);
    const report = json(result);
    assert.deepEqual([report.intact, report.complete], [true, true]);
    assert.deepEqual(report.ranks.map((r) => [r.rank, r.intact, r.lastIntactStep, r.lastStep, r.complete]), [[0, true, 2, 2, true]]);
    assert.ok(report.ranks[0].bytes > 0);
    assert.equal(result.stderr, '', 'no progress on a pipe');
  });

  test('verify --progress shows progress on stderr, also on a pipe', { timeout: TIMEOUT }, async () => {
    const { code, stdout, stderr } = await cli(['store', 'verify', url, '--progress']);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^rank 0: intact, steps 0 to 2 \(.+ read\), complete$/m);
    assert.match(stderr, /^verify: rank 0, step 2 of 2, /m);
  });

  test('list --json: each step with its records, bytes and calls per delivery', { timeout: TIMEOUT }, async () => {
    const result = await cli(['store', 'list', url, '--json']);
    assert.equal(result.code, 0, result.stderr);
    const { ranks } = json(result);
    assert.equal(ranks.length, 1);
    assert.deepEqual(ranks[0].steps.map((s) => [s.step, s.records, s.calls, s.failed]), [0, 1, 2].map((step) => [step, 2, { draw: 1, logits: 1 }, false]));
    assert.ok(ranks[0].steps.every((s) => s.bytes > 0));
    const table = await cli(['store', 'list', url, '--rank', '0']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^rank 0: 3 step\(s\)\n {2}step +records +bytes +draw +logits +phase\n {2}0 +2 +\d+ B +1 +1$/m);
  });

  test('a command on a url with no store fails with ERR_DELIVERY_STORE_END, exit status 1 (and --json says so too)', { timeout: TIMEOUT }, async () => {
    for (const command of ['info', 'verify', 'list']) {
      const result = await cli(['store', command, place('nothing'), '--json']);
      assert.equal(result.code, 1, `${command}: ${result.stderr}`);
      assert.equal(json(result).error.code, 'ERR_DELIVERY_STORE_END');
      assert.match(result.stderr, /^distill-delivery: DeliveryError \[ERR_DELIVERY_STORE_END\]: There is no store at /);
    }
  });

  test('delete refuses without --yes when stdin is not a terminal (exit status 2), and deletes with it', { timeout: TIMEOUT }, async () => {
    const doomed = place('doomed');
    await record(doomed);
    const refused = await cli(['store', 'delete', doomed]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /without --yes/);
    assert.equal((await cli(['store', 'info', doomed])).code, 0, 'still there');
    const deleted = await cli(['store', 'delete', doomed, '--yes', '--json']);
    assert.equal(deleted.code, 0, deleted.stderr);
    // Folder: meta.json, a segment, its index, the runs; Redis: meta, the stream, the runs, the rank's owner.
    assert.equal(json(deleted).deleted, 4);
    const gone = await cli(['store', 'info', doomed]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /ERR_DELIVERY_STORE_END/);
  });

  test('delete asks on a terminal: n keeps the store (exit status 1), y deletes it', { skip: !hasScript && 'needs script(1)', timeout: TIMEOUT }, async () => {
    const asked = place('asked');
    await record(asked);
    const kept = onTerminal(['store', 'delete', asked], 'n\n');
    assert.equal(kept.code, 1, kept.output);
    assert.match(kept.output, /Delete the store ".+" \(1 rank\(s\), 3 step\(s\)\)\? \[y\/N\]/);
    assert.equal((await cli(['store', 'info', asked])).code, 0, 'still there');
    const deleted = onTerminal(['store', 'delete', asked], 'y\n');
    assert.equal(deleted.code, 0, deleted.output);
    assert.equal((await cli(['store', 'info', asked])).code, 1, 'deleted');
  });

  return {
    get url() {
      return url;
    },
    get recorded() {
      return recorded;
    },
  };
}

describe('on a folder', () => {
  const root = tempDir();
  const store = commands((name) => join(root, name));

  test('copy --json to a folder that holds a store fails with ERR_DELIVERY_STORE_EXISTS, exit status 1', { timeout: TIMEOUT }, async () => {
    const result = await cli(['store', 'copy', store.url, store.url, '--json']);
    assert.equal(result.code, 1);
    assert.equal(json(result).error.code, 'ERR_DELIVERY_STORE_EXISTS');
  });

  test('verify finds a flipped byte in a step: exit status 1, ERR_DELIVERY_STORE_CORRUPT with the rank and the last intact step', { timeout: TIMEOUT }, async () => {
    const damaged = join(root, 'damaged');
    spawnSync('cp', ['-r', store.url, damaged]);
    const segment = join(damaged, 'rank-0', '000000.seg');
    const bytes = readFileSync(segment);
    // Step 1's first frame starts where step 0's frames end: the index's second entry says where (offset at byte 16 of the entry).
    const index = readFileSync(join(damaged, 'rank-0', '000000.idx'));
    const offset = index.readDoubleLE(16 + 32 + 16);
    bytes[offset + 40] ^= 0x10;
    writeFileSync(segment, bytes);
    const text = await cli(['store', 'verify', damaged]);
    assert.equal(text.code, 1);
    assert.match(text.stdout, /^rank 0: ERR_DELIVERY_STORE_CORRUPT: .+ Last intact step: 0\.$/m);
    assert.match(text.stdout, /^store ".+": damaged \(rank 0\)$/m);
    const result = await cli(['store', 'verify', damaged, '--json']);
    assert.equal(result.code, 1);
    const report = json(result);
    assert.equal(report.intact, false);
    assert.deepEqual([report.ranks[0].intact, report.ranks[0].lastIntactStep, report.ranks[0].error.code], [false, 0, 'ERR_DELIVERY_STORE_CORRUPT']);
  });

  test('verify reports an incomplete store (its record run did not finish) and exits 0; --rank verifies one rank', { timeout: TIMEOUT }, async () => {
    const url = join(root, 'ranks');
    for (const rank of [0, 1]) {
      const writer = openStoreWriter(url, { metadata: { deliveries: {} }, rank });
      for (let step = 0; step <= rank; step++) {
        writer.append({ delivery: 'd', call: 0, signature: '', payload: new Uint8Array(8) });
        writer.commit();
      }
      writer.close({ complete: rank === 0 });
    }
    const result = await cli(['store', 'verify', url, '--json']);
    assert.equal(result.code, 0, result.stderr);
    const report = json(result);
    assert.deepEqual([report.intact, report.complete], [true, false]);
    assert.deepEqual(report.ranks.map((r) => [r.rank, r.lastIntactStep, r.complete]), [[0, 0, true], [1, 1, false]]);
    const one = json(await cli(['store', 'verify', url, '--rank', '1', '--json']));
    assert.deepEqual(one.ranks.map((r) => r.rank), [1]);
    const info = json(await cli(['store', 'info', url, '--json']));
    assert.deepEqual([info.complete, info.ranks.map((r) => [r.rank, r.steps, r.complete])], [false, [[0, 1, true], [1, 2, false]]]);
    const list = json(await cli(['store', 'list', url, '--rank', '1', '--json']));
    assert.deepEqual(list.ranks.map((r) => [r.rank, r.steps.length]), [[1, 2]]);
  });

  test('copy stops at a damaged step with ERR_DELIVERY_STORE_CORRUPT (exit status 1), and never copies a complete rank that lacks a step as complete', { timeout: TIMEOUT }, async () => {
    const damaged = join(root, 'damaged-last');
    spawnSync('cp', ['-r', store.url, damaged]);
    // The last step's frames flipped: a replay sees two steps (the last one as a damaged tail), and the run says it wrote three.
    const index = readFileSync(join(damaged, 'rank-0', '000000.idx'));
    const segment = join(damaged, 'rank-0', '000000.seg');
    const bytes = readFileSync(segment);
    bytes[index.readDoubleLE(16 + 64 + 16) + 40] ^= 0x10;
    writeFileSync(segment, bytes);
    const result = await cli(['store', 'copy', damaged, join(root, 'copy-of-damaged'), '--json']);
    assert.equal(result.code, 1, result.stderr);
    assert.equal(json(result).error.code, 'ERR_DELIVERY_STORE_CORRUPT');
    assert.match(json(result).error.message, /its record run wrote 3 step\(s\), and 2 are there/);
  });

  test('a rank the store does not have is ERR_DELIVERY_STORE_END, exit status 1', { timeout: TIMEOUT }, async () => {
    for (const command of ['list', 'verify']) {
      const result = await cli(['store', command, store.url, '--rank', '7']);
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, /\[ERR_DELIVERY_STORE_END\]: The store ".+" has no rank 7: it has rank 0\./);
    }
  });

  test('delete removes the store\'s own files only: a file of the user\'s in the folder stays, and so does the folder', { timeout: TIMEOUT }, async () => {
    const url = join(root, 'shared');
    await record(url);
    writeFileSync(join(url, 'notes.txt'), 'mine');
    const result = await cli(['store', 'delete', url, '--yes']);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(readdirSync(url), ['notes.txt']);
  });

  test('a large verify shows a progress line on a terminal; a small one does not', { skip: !hasScript && 'needs script(1)', timeout: TIMEOUT }, () => {
    const url = join(root, 'large');
    const writer = openStoreWriter(url, { metadata: { deliveries: {} } });
    for (let step = 0; step < 5; step++) {
      writer.append({ delivery: 'd', call: 0, signature: '', payload: new Uint8Array(14e6) });
      writer.commit();
    }
    writer.close({ complete: true });
    const large = onTerminal(['store', 'verify', url]);
    assert.equal(large.code, 0, large.output);
    assert.match(large.output, /\rverify: rank 0, step \d of 4, /);
    assert.match(large.output, /rank 0: intact, steps 0 to 4/);
    const small = onTerminal(['store', 'verify', store.url]);
    assert.equal(small.code, 0, small.output);
    assert.doesNotMatch(small.output, /verify: rank/);
  });
});

describe('on a Redis server', needsRedis, () => {
  let redis;
  let n = 0;
  before(async () => (redis = await startRedis()));
  after(() => redis?.stop());
  const store = commands((name) => redis.url(`${name}-${n++}`));

  test('copy: a folder to Redis and back, each copy verified, complete, and replayed by the agent as the record run ran', { timeout: 2 * TIMEOUT }, async () => {
    const dir = tempDir();
    const { config, steps } = await record(join(dir, 'teacher'), dir);
    const shared = redis.url(`shared-${n++}`);
    const up = await cli(['store', 'copy', join(dir, 'teacher'), shared, '--json']);
    assert.equal(up.code, 0, up.stderr);
    assert.deepEqual(json(up).ranks, [{ rank: 0, steps: 3, complete: true }]);
    const down = await cli(['store', 'copy', shared, join(dir, 'archive')]);
    assert.equal(down.code, 0, down.stderr);
    assert.match(down.stdout, /^copied ".+" to ".+archive": 1 rank\(s\), 3 step\(s\), .+, each step read back and compared\n$/);
    // The bytes of the archive are the teacher's: the same frames, the same runs.
    assert.deepEqual(readFileSync(join(dir, 'archive', 'rank-0', '000000.seg')), readFileSync(join(dir, 'teacher', 'rank-0', '000000.seg')));
    assert.deepEqual(json(await cli(['store', 'info', join(dir, 'archive'), '--json'])).ranks[0].runs, json(await cli(['store', 'info', join(dir, 'teacher'), '--json'])).ranks[0].runs);
    for (const url of [shared, join(dir, 'archive')]) {
      assert.equal((await cli(['store', 'verify', url])).code, 0);
      const replayed = await replay(config, url);
      assert.equal(replayed.code, 0, replayed.stderr);
      assert.deepEqual(lines(replayed.stdout).filter((line) => 'step' in line), steps);
      assert.deepEqual(lines(replayed.stdout).find((line) => 'runs' in line).runs, { draw: 0, teacherLogits: 0, widget: 0 });
      assert.doesNotMatch(replayed.stderr, /INCOMPLETE/);
    }
  });

  test('verify finds a step deleted from the middle of a stream, and one deleted from its end: exit status 1, the last intact step', { timeout: TIMEOUT }, async () => {
    for (const [deleted, lastIntact] of [[1, 0], [2, 1]]) {
      const url = redis.url(`cut-${n++}`);
      await record(url);
      const key = new URL(url).pathname.slice(1);
      const xdel = spawnSync('redis-cli', ['-p', String(redis.port), 'XDEL', `${key}:rank-0`, `${2 * deleted + 1}-0`], { encoding: 'utf8' });
      assert.equal(xdel.stdout.trim(), '1', xdel.stderr);
      const result = await cli(['store', 'verify', url, '--json']);
      assert.equal(result.code, 1, result.stderr);
      const [rank] = json(result).ranks;
      assert.deepEqual([rank.intact, rank.lastIntactStep, rank.error.code], [false, lastIntact, 'ERR_DELIVERY_STORE_CORRUPT']);
    }
  });

  test('copy into a key that holds a store fails with ERR_DELIVERY_STORE_EXISTS, exit status 1', { timeout: TIMEOUT }, async () => {
    const result = await cli(['store', 'copy', store.url, store.url]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /ERR_DELIVERY_STORE_EXISTS/);
  });

  test('a command on a server that is not there fails with ERR_DELIVERY_STORE_UNAVAILABLE, exit status 1', { timeout: TIMEOUT }, async () => {
    const result = await cli(['store', 'info', 'redis://127.0.0.1:1/nothing', '--timeout', '2000', '--json']);
    assert.equal(result.code, 1);
    assert.equal(json(result).error.code, 'ERR_DELIVERY_STORE_UNAVAILABLE');
  });
});

test("the README's store command, run with npx in an app where the package is installed, shows the store its record run wrote there", { timeout: TIMEOUT }, async () => {
  const [{ commands }] = coveredBlocks(import.meta.url);
  assert.equal(commands.length, 1);
  const [{ program, args }] = commands;
  assert.deepEqual([program, args.slice(0, 3)], ['npx', ['distill-delivery', 'store', 'info']]);
  // The package installed as npm links it: its folder in node_modules, its bin in node_modules/.bin.
  const appDir = tempDir();
  writeFileSync(join(appDir, 'package.json'), JSON.stringify({ name: 'user-app', private: true, type: 'module' }));
  mkdirSync(join(appDir, 'node_modules', '.bin'), { recursive: true });
  symlinkSync(fileURLToPath(new URL('..', import.meta.url)), join(appDir, 'node_modules', 'distill-delivery'), 'dir');
  symlinkSync(join('..', 'distill-delivery', 'bin', 'distill-delivery.mjs'), join(appDir, 'node_modules', '.bin', 'distill-delivery'));
  await record(join(appDir, args[3]));
  const result = spawnSync('npx', ['--no', ...args], { cwd: appDir, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' }, timeout: TIMEOUT });
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, new RegExp(`^store "${args[3].replace(/[.]/g, '\\.')}" \\(folder\\): complete, 1 rank\\(s\\), 3 step\\(s\\)`));
});

test('the bin is a file the package ships, with a shebang', () => {
  const text = readFileSync(bin, 'utf8');
  assert.match(text, /^#!\/usr\/bin\/env node\n/);
  assert.ok(existsSync(bin));
});
