/**
 * `npm run bench`: every benchmark on Node 20 (the node running this) and Node 22 (the
 * registry's `node` package pinned in .ci/node-versions, the one CI tests on, installed
 * on first use with `npm ci`), printed as one Markdown table of figures, goals and
 * whether each goal holds.
 *
 * Each figure is a ratio measured in one run against a floor measured in the same
 * process (per call, queue, memory) or in the same interleaved rounds (start-up).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { node22, runChild } from './lib.js';
import { startupBench } from './startup.js';

const here = (file) => fileURLToPath(new URL(file, import.meta.url));

/** bench/store.js in a child of `node` (no agent: the store is used directly). */
function storeBench(node) {
  const result = spawnSync(node, [here('./store.js')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (result.status !== 0) throw new Error(`bench/store.js failed on ${node} (exit ${result.status ?? result.signal})`);
  return JSON.parse(result.stdout.trim().split('\n').at(-1));
}

function measure(node) {
  const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
  process.stderr.write(`bench: ${version}: per call\n`);
  const perCall = runChild(node, here('./per-call.js'), { instrument: ['./target.cjs#f', './target.cjs#f4'] });
  process.stderr.write(`bench: ${version}: queue\n`);
  const queue = runChild(node, here('./queue.js'), { instrument: ['./target.cjs#f'] });
  process.stderr.write(`bench: ${version}: memory\n`);
  const memory = runChild(node, here('./memory.js'), { instrument: ['./target.cjs#f'], flags: ['--expose-gc'] });
  process.stderr.write(`bench: ${version}: start-up\n`);
  const startup = startupBench(node);
  process.stderr.write(`bench: ${version}: store\n`);
  const store = storeBench(node);
  return { version, perCall, queue, memory, startup, store };
}

const x = (n) => `${n.toFixed(2)}×`;
const ns = (n) => (n >= 1000 ? `${(n / 1000).toFixed(1)} µs` : `${n.toFixed(1)} ns`);
const s = (n) => `${n.toFixed(2)} s`;

/**
 * One row per figure: a label, how to show it for a run (or undefined where it does not
 * apply), and optionally a goal: its text and a test of the run.
 */
const ROWS = [
  ['**Per call** (`x => x + 1`, CommonJS, instrumented by the agent)'],
  ['(a) idle, vs closure wrapper', (r) => `${x(r.perCall.ratio.idle)} (${ns(r.perCall.ns.idle)} vs ${ns(r.perCall.ns.closure)})`, '≤ 1.30×', (r) => r.perCall.ratio.idle <= 1.3],
  ['  flag floor (check + non-inlined branch), vs closure', (r) => `${x(r.perCall.ratio.flag)} (${ns(r.perCall.ns.flag)})`],
  ['  idle, vs flag floor', (r) => x(r.perCall.ratio.idleVsFlag)],
  ['  idle before any delivery was active, vs closure', (r) => `${x(r.perCall.ratio.idleCold)} (${ns(r.perCall.ns.idleCold)})`],
  ['(b) sync `run()` record+override cycle, vs ring buffer', (r) => `${x(r.perCall.ratio.sync)} (${ns(r.perCall.ns.sync)} vs ${ns(r.perCall.ns.ring)})`, '≤ 3.00×', (r) => r.perCall.ratio.sync <= 3],
  ['  the same with check "off", vs ring buffer', (r) => `${x(r.perCall.ratio.syncOff)} (${ns(r.perCall.ns.syncOff)})`],
  ['  check "shape" vs "off", `f(i)`', (r) => x(r.perCall.ratio.checkShape), '≤ 1.50×', (r) => r.perCall.ratio.checkShape <= 1.5],
  ['  check "shape" vs "off", `f4(i, 1, 2, 3)`', (r) => `${x(r.perCall.ratio.checkShape4)} (${ns(r.perCall.ns.sync4)} vs ${ns(r.perCall.ns.sync4Off)})`, '≤ 1.50×', (r) => r.perCall.ratio.checkShape4 <= 1.5],
  ['(c) async `run()` cycle (AsyncLocalStorage), vs ring buffer', (r) => `${x(r.perCall.ratio.async)} (${ns(r.perCall.ns.async)})`],
  ['(d) sync phase cycle (`recordPhase` + `overridePhase`, no store), vs ring buffer', (r) => `${x(r.perCall.ratio.phases)} (${ns(r.perCall.ns.phases)})`],
  ['(e) sync `run()` cycle with a FunctionOutputsRecorder, vs the delivered cycle (b)', (r) => `${x(r.perCall.ratio.recordedVsDelivered)} (${ns(r.perCall.ns.recorded)})`, '≤ 2.00×', (r) => r.perCall.ratio.recordedVsDelivered <= 2],
  ['  the same with a FunctionInputsRecorder (an array kept per call), vs (b)', (r) => `${x(r.perCall.ratio.recordedInputsVsDelivered)} (${ns(r.perCall.ns.recordedInputs)})`],
  ['  peer: `sinon.spy`, vs closure', (r) => `${Math.round(r.perCall.ratio.sinon)}× (${ns(r.perCall.ns.sinon)})`],
  ['  peer: `node:test` `mock.fn`, vs closure', (r) => `${Math.round(r.perCall.ratio.mockFn)}× (${ns(r.perCall.ns.mockFn)})`],
  ['**Queue** (record then replay, per item)'],
  ['1e3 / 1e5 / 1e6 items', (r) => [1e3, 1e5, 1e6].map((n) => ns(r.queue.ns[n])).join(' / ')],
  ['1e5 items, vs 1e3', (r) => x(r.queue.ratio[1e5])],
  ['1e6 items, vs 1e3', (r) => x(r.queue.ratio[1e6]), '≤ 1.50×', (r) => r.queue.ratio[1e6] <= 1.5],
  ['**Memory**'],
  ['bytes per queued output (1e6 outputs)', (r) => `${r.memory.bytesPerOutput.toFixed(1)} B`, '≤ 16 B', (r) => r.memory.bytesPerOutput <= 16],
  ['**Start-up** (1000 ES + 1000 CommonJS modules, median wall time)'],
  ['plain `node`', (r) => s(r.startup.seconds.plain)],
  ['no-op async `module.register` hook', (r) => s(r.startup.seconds.noopAsync)],
  ['no-op sync `module.registerHooks` hook', (r) => r.startup.seconds.noopSync && s(r.startup.seconds.noopSync)],
  ['import-in-the-middle, include-only', (r) => s(r.startup.seconds.iitmInclude)],
  ['import-in-the-middle, wrap-all', (r) => r.startup.seconds.iitmAll && s(r.startup.seconds.iitmAll)],
  ['agent, no targets', (r) => s(r.startup.seconds.agentNone)],
  ['agent, 1 ES + 1 CommonJS target', (r) => s(r.startup.seconds.agentTargets)],
  ['agent, no targets, vs plain', (r) => x(r.startup.ratios.agentNone), '≤ 1.10×', (r) => r.startup.ratios.agentNone <= 1.1],
  ['agent, targets, vs no-op async hook (Node 20)', (r) => (r.startup.registerHooks ? undefined : x(r.startup.ratios.agentTargetsVsNoopAsync)), '≤ 1.10×', (r) => r.startup.registerHooks || r.startup.ratios.agentTargetsVsNoopAsync <= 1.1],
  ['agent, targets, vs import-in-the-middle include-only (Node 20)', (r) => (r.startup.registerHooks ? undefined : x(r.startup.ratios.agentTargetsVsIitmInclude)), '< 1.00×', (r) => r.startup.registerHooks || r.startup.ratios.agentTargetsVsIitmInclude < 1],
  ['agent, targets, vs plain (Node 22.15+)', (r) => (r.startup.registerHooks ? x(r.startup.ratios.agentTargetsVsPlain) : undefined), '≤ 1.25×', (r) => !r.startup.registerHooks || r.startup.ratios.agentTargetsVsPlain <= 1.25],
  ['**Store** (32 MB a size in steps of 8 records; store / floor, CPU time)'],
  ...storeRows('directory', { write: 'raw `fs` appends', read: 'raw `fs` reads' }),
  ...storeRows('redis', { write: 'the same client\'s pipelined XADD', read: 'its pipelined XRANGE' }),
];

/** Rows for one store backend: write and read throughput per payload size, against its floor ('–': not measured, no redis-server). */
function storeRows(backend, floor) {
  const KB = { 1024: '1 KB', 65536: '64 KB', 1048576: '1 MB' };
  const mb = (n) => `${Math.round(n)} MB/s`;
  const rows = [];
  for (const op of ['write', 'read']) {
    for (const size of Object.keys(KB)) {
      const figure = (r) => r.store[backend][size];
      rows.push([
        `${backend} ${op}, ${KB[size]}, vs ${floor[op]}`,
        (r) => figure(r) && `${x(figure(r)[op])} (${mb(figure(r).store[op])} vs ${mb(figure(r).floor[op])})`,
        '≥ 0.80×',
        (r) => figure(r) === undefined || figure(r)[op] >= 0.8,
      ]);
    }
  }
  return rows;
}

function table(runs) {
  const lines = [`| figure | ${runs.map((r) => `Node ${r.version.slice(1)}`).join(' | ')} | goal | holds |`, `|---|${runs.map(() => '---|').join('')}---|---|`];
  for (const [label, show, goal, holds] of ROWS) {
    if (show === undefined) {
      lines.push(`| ${label} |${runs.map(() => ' |').join('')} | |`);
      continue;
    }
    const cells = runs.map((r) => show(r) ?? '–');
    const verdict = goal === undefined ? '' : runs.every(holds) ? 'yes' : `**no** (${runs.filter((r) => !holds(r)).map((r) => `Node ${r.version.split('.')[0].slice(1)}`).join(', ')})`;
    lines.push(`| ${label} | ${cells.join(' | ')} | ${goal ?? ''} | ${verdict} |`);
  }
  return lines.join('\n');
}

const cpu = readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.*)$/m)?.[1] ?? cpus()[0]?.model ?? 'unknown CPU';
const runs = [measure(process.execPath), measure(node22())];
console.log(`${cpus().length} × ${cpu}, ${new Date().toISOString().slice(0, 10)}\n`);
console.log(table(runs));
