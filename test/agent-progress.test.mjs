// The store's progress line: a record or replay run whose stderr is a terminal shows one
// line on stderr, rewritten in place (\r): steps, bytes and rate, and in a replay how far
// through the store; erased when the store closes. Never on a pipe unless asked for
// ("progress": true, DISTILL_DELIVERY_PROGRESS=1); "progress": false turns it off. The
// terminal is a real pseudo-terminal: util-linux's `script` runs the child in one.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { agentFixture, loaderUrl, nodeBinary, runNode } from './helpers/run-node.mjs';

const hasScript = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;
const train = agentFixture('signals', 'train.js');
const STEPS = 3;

let dir;
before(() => (dir = mkdtempSync(join(tmpdir(), 'distill-delivery-progress-'))));
after(() => rmSync(dir, { recursive: true, force: true }));

const config = (store) => ({
  deliveries: { draw: { type: 'FunctionOutputs', funcPath: `${agentFixture('signals', 'sampler.js')}#draw` } },
  phases: { record: [`${train}#teacherStep`], override: [`${train}#studentStep`] },
  store,
});

const quote = (text) => `'${text.replaceAll("'", "'\\''")}'`;

/** Runs the fixture (`replay` mode: STEPS steps) with the agent in a pseudo-terminal; resolves with what the terminal got (stdout and stderr, in order). */
async function inTerminal(value, env = {}) {
  const command = [nodeBinary, '--import', loaderUrl, train, 'replay', String(STEPS)].map(quote).join(' ');
  const childEnv = { ...process.env, DISTILL_DELIVERY: JSON.stringify(value), ...env };
  for (const name of ['NODE_OPTIONS', 'NODE_TEST_CONTEXT', 'DISTILL_DELIVERY_TEST_NODE', 'DISTILL_DELIVERY_PROGRESS']) if (!(name in env)) delete childEnv[name];
  const { stdout } = await promisify(execFile)('script', ['-qec', command, '/dev/null'], { cwd: dir, env: childEnv });
  return stdout;
}

/** The progress lines the output shows: each text written after a \r, up to the next \r or the app's output. */
const progress = (output) => [...output.matchAll(/\r(distill-delivery: [^\r{]*)/g)].map((m) => m[1].trimEnd());

describe('in a terminal', { skip: !hasScript && 'needs util-linux script' }, () => {
  let store;
  let recorded;
  let replayed;
  before(async () => {
    store = { url: join(dir, 'store') };
    recorded = await inTerminal(config({ ...store, mode: 'record' }));
    replayed = await inTerminal(config({ ...store, mode: 'replay' }));
  });

  test('a record run shows its progress on one line: steps, bytes, the store', () => {
    const [first] = progress(recorded);
    assert.match(first, /^distill-delivery: recorded 1 step \(\d+ B\) to the store ".*store" \(rank 0\)/, JSON.stringify(recorded));
  });

  test('a replay run shows how far through the store it is', () => {
    const [first] = progress(replayed);
    assert.match(first, new RegExp(`^distill-delivery: replayed 1 of ${STEPS} steps \\(33%, \\d+ B\\) from the store`), JSON.stringify(replayed));
  });

  test('the line is erased when the store closes', () => {
    for (const output of [recorded, replayed]) assert.match(output, /\r {20,}\r$/, JSON.stringify(output));
  });

  test('"progress": false turns it off', async () => {
    const output = await inTerminal(config({ url: join(dir, 'off'), mode: 'record', progress: false }));
    assert.match(output, /"replayed":3/);
    assert.doesNotMatch(output, /distill-delivery/);
  });

  test('a rank other than 0 shows no line, though its stderr is a terminal (the ranks of a data-parallel run share it)', async () => {
    const output = await inTerminal(config({ url: join(dir, 'rank-1'), mode: 'record' }), { DISTILL_DELIVERY_RANK: '1' });
    assert.match(output, /"replayed":3/);
    assert.doesNotMatch(output, /distill-delivery/);
  });

  test('the line is rewritten at most four times a second, not at every step', async () => {
    // Bounded by the run's own length as this process saw it: the first step, then at most one update a quarter second.
    const steps = 400;
    const command = [nodeBinary, '--import', loaderUrl, train, 'replay', String(steps)].map(quote).join(' ');
    const env = { ...process.env, DISTILL_DELIVERY: JSON.stringify(config({ url: join(dir, 'many'), mode: 'record' })) };
    for (const name of ['NODE_OPTIONS', 'NODE_TEST_CONTEXT', 'DISTILL_DELIVERY_TEST_NODE', 'DISTILL_DELIVERY_PROGRESS']) delete env[name];
    const started = performance.now();
    const { stdout } = await promisify(execFile)('script', ['-qec', command, '/dev/null'], { cwd: dir, env, maxBuffer: 1 << 26 });
    const most = 1 + Math.ceil((performance.now() - started) / 250);
    assert.match(stdout, new RegExp(`"replayed":${steps}`));
    const shown = progress(stdout).length;
    assert.ok(shown >= 1 && shown <= most, `${shown} updates for ${steps} steps, at most ${most} expected`);
  });

  test('DISTILL_DELIVERY_PROGRESS=0 turns it off', async () => {
    const output = await inTerminal(config({ url: join(dir, 'env-off'), mode: 'record' }), { DISTILL_DELIVERY_PROGRESS: '0' });
    assert.doesNotMatch(output, /distill-delivery/);
  });
});

describe('on a pipe', () => {
  test('no progress line by default', async () => {
    const { code, stderr } = await runNode(train, { config: config({ url: join(dir, 'pipe'), mode: 'record' }), cwd: dir, args: ['replay', String(STEPS)] });
    assert.equal(code, 0, stderr);
    assert.equal(stderr, '');
  });

  test('"progress": true shows it even there', async () => {
    const { code, stderr } = await runNode(train, { config: config({ url: join(dir, 'forced'), mode: 'record', progress: true }), cwd: dir, args: ['replay', String(STEPS)] });
    assert.equal(code, 0, stderr);
    assert.match(progress(stderr)[0], /^distill-delivery: recorded 1 step /);
    assert.match(stderr, /\r {20,}\r$/);
  });

  test('DISTILL_DELIVERY_PROGRESS=1 shows it even there', async () => {
    const { stderr } = await runNode(train, { config: config({ url: join(dir, 'env-forced'), mode: 'record' }), cwd: dir, args: ['replay', String(STEPS)], env: { DISTILL_DELIVERY_PROGRESS: '1' } });
    assert.match(progress(stderr)[0], /^distill-delivery: recorded 1 step /);
  });
});

test('a run in mode "auto" says both what it replayed and what it then recorded', async () => {
  // The line module alone, forced on, in a child whose stderr is a pipe: a step read, then,
  // once the quarter second between two updates has certainly passed, a step written.
  const script = `
    import { Progress } from ${JSON.stringify(new URL('../dist/link/progress.js', import.meta.url).href)};
    import { setTimeout as sleep } from 'node:timers/promises';
    const progress = Progress.start('the store "./s" (rank 0)', true, 0);
    progress.read([{ payload: new Uint8Array(10) }], 2);
    await sleep(300);
    progress.wrote([{ payload: new Uint8Array(5) }]);
    progress.end();
  `;
  const { stderr } = await promisify(execFile)(nodeBinary, ['--input-type=module', '-e', script]);
  assert.deepEqual(progress(stderr).map((line) => line.replace(/, [\d.]+ steps\/s.*$/, '')), [
    'distill-delivery: replayed 1 of 3 steps (33%, 10 B) from the store "./s" (rank 0)',
    'distill-delivery: replayed 1 of 3 steps, then recorded 1 step (15 B) to the store "./s" (rank 0)',
  ]);
});
