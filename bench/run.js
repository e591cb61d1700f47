/**
 * `npm run bench`: every benchmark, printed as one Markdown table of figures, goals and
 * whether each goal holds, followed, for each goal that does not hold, by the profile that
 * shows where the time goes; and the same written into docs/performance.md, between its
 * `<!-- npm run bench: begin -->` and `<!-- npm run bench: end -->` lines (BENCH_WRITE=0:
 * print only).
 *
 * Nodes: Node 20 (the node running this) and Nodes 22 and 24 (the registry's `node`
 * packages pinned in .ci/node-versions, the ones CI tests on, installed on first use with
 * `npm ci`). Per call, queue, memory and start-up run on all three; random draws, the tfjs
 * example's replay and the store on Node 20 and 22 (the slow ones: each spawns dozens of
 * processes).
 *
 * Each figure is a ratio measured in one run against a floor measured in the same process
 * (per call, queue, memory, random draws in one process) or in the same interleaved rounds
 * of child processes (start-up, random draws across processes, the tfjs example).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { ciNode, runChild } from './lib.js';
import { profileCycle } from './profile-cycle.js';
import { randomBench } from './random.js';
import { replayBench } from './replay-tfjs.js';
import { startupBench } from './startup.js';
import { agentParts } from './startup-small.js';

const here = (file) => fileURLToPath(new URL(file, import.meta.url));
const docs = fileURLToPath(new URL('../docs/performance.md', import.meta.url));
const BEGIN = '<!-- npm run bench: begin -->';
const END = '<!-- npm run bench: end -->';

/** bench/store.js in a child of `node` (no agent: the store is used directly). */
function storeBench(node) {
  const result = spawnSync(node, [here('./store.js')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (result.status !== 0) throw new Error(`bench/store.js failed on ${node} (exit ${result.status ?? result.signal})`);
  return JSON.parse(result.stdout.trim().split('\n').at(-1));
}

function measure(node, { slow }) {
  const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
  const step = (what) => process.stderr.write(`bench: ${version}: ${what}\n`);
  step('per call');
  const perCall = runChild(node, here('./per-call.js'), { instrument: ['./target.cjs#f', './target.cjs#f4'] });
  step('queue');
  const queue = runChild(node, here('./queue.js'), { instrument: ['./target.cjs#f'] });
  step('memory');
  const memory = runChild(node, here('./memory.js'), { instrument: ['./target.cjs#f'], flags: ['--expose-gc'] });
  step('start-up');
  const startup = startupBench(node);
  const run = { version, major: Number(version.slice(1).split('.')[0]), perCall, queue, memory, startup };
  if (!slow) return run;
  run.random = randomBench(node);
  step('the tfjs example: replays and the student alone');
  run.tfjs = replayBench(node, { profile: true });
  step('store');
  run.store = storeBench(node);
  return run;
}

const x = (n) => `${n.toFixed(2)}×`;
const x3 = (n) => `${n.toFixed(3)}×`;
const ns = (n) => (n >= 1000 ? `${(n / 1000).toFixed(1)} µs` : `${n.toFixed(1)} ns`);
const s = (n) => `${n.toFixed(2)} s`;
const pct = (n) => `${(100 * n).toFixed(1)} %`;
/** Start-up: the wall-time ratio, and the CPU-time one beside it (what other work on the machine inflates less). */
const wallCpu = (r, key) => `${x(r.startup.ratios[key])}${r.startup.cpu ? ` (CPU ${x(r.startup.cpu.ratios[key])})` : ''}`;
const tfjs = (r) => (r.tfjs === undefined || r.tfjs.skipped ? undefined : r.tfjs);

/**
 * One row per figure: a label, how to show it for a run (undefined where it does not
 * apply), and optionally a goal: its text, a test of the run (true where it holds or does
 * not apply), and the name of the profile that shows where the time goes when it does not.
 */
const ROWS = [
  ['**Per call** (`x => x + 1`, CommonJS, instrumented by the agent; CPU time)'],
  ['(a) idle, vs closure wrapper', (r) => `${x(r.perCall.ratio.idle)} (${ns(r.perCall.ns.idle)} vs ${ns(r.perCall.ns.closure)})`, '≤ 1.30×', (r) => r.perCall.ratio.idle <= 1.3, 'idle'],
  ['  flag floor (check + non-inlined branch), vs closure', (r) => `${x(r.perCall.ratio.flag)} (${ns(r.perCall.ns.flag)})`],
  ['  idle, vs flag floor', (r) => x(r.perCall.ratio.idleVsFlag)],
  ['  idle before any delivery was active, vs closure', (r) => `${x(r.perCall.ratio.idleCold)} (${ns(r.perCall.ns.idleCold)})`],
  ['(b) sync `run()` record+override cycle, vs ring buffer', (r) => `${x(r.perCall.ratio.sync)} (${ns(r.perCall.ns.sync)} vs ${ns(r.perCall.ns.ring)})`, '≤ 3.00×', (r) => r.perCall.ratio.sync <= 3, 'cycle'],
  ['  the same with check "off", vs ring buffer', (r) => `${x(r.perCall.ratio.syncOff)} (${ns(r.perCall.ns.syncOff)})`],
  ['  check "shape" vs "off", `f(i)`', (r) => x(r.perCall.ratio.checkShape), '≤ 1.50×', (r) => r.perCall.ratio.checkShape <= 1.5, 'cycle'],
  ['  check "shape" vs "off", `f4(i, 1, 2, 3)`', (r) => `${x(r.perCall.ratio.checkShape4)} (${ns(r.perCall.ns.sync4)} vs ${ns(r.perCall.ns.sync4Off)})`, '≤ 1.50×', (r) => r.perCall.ratio.checkShape4 <= 1.5, 'cycle'],
  ['(c) async `run()` cycle (AsyncLocalStorage), vs ring buffer', (r) => `${x(r.perCall.ratio.async)} (${ns(r.perCall.ns.async)})`],
  ['(d) sync phase cycle (`recordPhase` + `overridePhase`, no store), vs ring buffer', (r) => `${x(r.perCall.ratio.phases)} (${ns(r.perCall.ns.phases)})`],
  ['(e) sync `run()` cycle with a FunctionOutputsRecorder, vs the delivered cycle (b)', (r) => `${x(r.perCall.ratio.recordedVsDelivered)} (${ns(r.perCall.ns.recorded)})`, '≤ 2.00×', (r) => r.perCall.ratio.recordedVsDelivered <= 2, 'recorded'],
  ['  the same with a FunctionInputsRecorder (an array kept per call), vs (b)', (r) => `${x(r.perCall.ratio.recordedInputsVsDelivered)} (${ns(r.perCall.ns.recordedInputs)})`],
  ['  peer: `sinon.spy`, vs closure', (r) => `${Math.round(r.perCall.ratio.sinon)}× (${ns(r.perCall.ns.sinon)})`],
  ['  peer: `node:test` `mock.fn`, vs closure', (r) => `${Math.round(r.perCall.ratio.mockFn)}× (${ns(r.perCall.ns.mockFn)})`],
  ['**Random draws** (`random: "advance"`, a seeded `Math.random` as training scripts install; `bench/random.js`)'],
  ['the program\'s own draws after counted cycles, vs after cycles with random "off" (one process)', (r) => r.random && `${x3(r.random.inProcess.ratio)} (${ns(r.random.inProcess.after)} vs ${ns(r.random.inProcess.afterOff)})`, '≤ 1.05×', (r) => r.random === undefined || r.random.inProcess.ratio <= 1.05, 'draws'],
  ['  the same draws, agent with "advance" vs no agent (separate processes)', (r) => r.random && `${x3(r.random.own.seeded.vsNone)} (${ns(r.random.own.seeded.advance)} vs ${ns(r.random.own.seeded.none)})`],
  ['  the engine\'s own `Math.random`, agent vs no agent (separate processes: their noise)', (r) => r.random && `${x3(r.random.own.native.vsNone)}`],
  ['sync cycle of `x => x + 1` with seeded draws counted (check "off"), vs ring buffer', (r) => r.random && `${x(r.random.cycle.f.vsRing)} (${ns(r.random.cycle.f.advance)} vs ${ns(r.random.cycle.ring)})`, '≤ 3.00×', (r) => r.random === undefined || r.random.cycle.f.vsRing <= 3, 'cycle'],
  ['  the same, "advance" vs "off"', (r) => r.random && x(r.random.cycle.f.ratio)],
  ['  `x => x + Math.random()`, "advance" vs "off"', (r) => r.random && x(r.random.cycle.r.ratio)],
  ['**The tfjs example** (`examples/distill-tfjs`, a student replaying a store; `bench/replay-tfjs.js`)'],
  ['replayed student vs the same student with no teacher at all, wall time', (r) => tfjs(r) && `${x(r.tfjs.ratio.wall)} (${s(r.tfjs.seconds.replay.wall)} vs ${s(r.tfjs.seconds.alone.wall)})`, '≤ 1.05×', (r) => tfjs(r) === undefined || r.tfjs.ratio.wall <= 1.05, 'tfjs'],
  ['  the same, CPU time', (r) => tfjs(r) && `${x(r.tfjs.ratio.cpu)} (${s(r.tfjs.seconds.replay.cpu)} vs ${s(r.tfjs.seconds.alone.cpu)})`, '≤ 1.05×', (r) => tfjs(r) === undefined || r.tfjs.ratio.cpu <= 1.05, 'tfjs'],
  ['argument digests: replay with the default checks vs a store with check "off", wall time', (r) => tfjs(r) && `${x(r.tfjs.checks.wall)} (${s(r.tfjs.seconds.replayOff.wall)} with "off")`, '≤ 1.05×', (r) => tfjs(r) === undefined || r.tfjs.checks.wall <= 1.05, 'digests'],
  ['  the same, CPU time', (r) => tfjs(r) && `${x(r.tfjs.checks.cpu)} (${s(r.tfjs.seconds.replayOff.cpu)} with "off")`],
  ['  the checks\' code in a profiled replay (share of its busy time)', (r) => tfjs(r) && `${pct(r.tfjs.checks.profile.replay.share)} (${s(r.tfjs.checks.profile.replay.checksSeconds)})`, '< 5 %', (r) => tfjs(r) === undefined || r.tfjs.checks.profile.replay.share < 0.05, 'digests'],
  ['**Queue** (record then replay, per item)'],
  ['1e3 / 1e5 / 1e6 items', (r) => [1e3, 1e5, 1e6].map((n) => ns(r.queue.ns[n])).join(' / ')],
  ['1e6 items, vs 1e3', (r) => x(r.queue.ratio[1e6]), '≤ 1.50×', (r) => r.queue.ratio[1e6] <= 1.5],
  ['**Memory**'],
  ['bytes per queued output (1e6 outputs)', (r) => `${r.memory.bytesPerOutput.toFixed(1)} B`, '≤ 16 B', (r) => r.memory.bytesPerOutput <= 16],
  ['**Start-up** (1000 ES + 1000 CommonJS modules; median wall time, CPU time beside the ratios)'],
  ['plain `node`', (r) => s(r.startup.seconds.plain)],
  ['no-op async `module.register` hook', (r) => s(r.startup.seconds.noopAsync)],
  ['no-op sync `module.registerHooks` hook', (r) => r.startup.seconds.noopSync && s(r.startup.seconds.noopSync)],
  ['import-in-the-middle, include-only', (r) => s(r.startup.seconds.iitmInclude)],
  ['agent, no targets', (r) => s(r.startup.seconds.agentNone)],
  ['agent, 1 ES + 1 CommonJS target', (r) => s(r.startup.seconds.agentTargets)],
  ['agent, no targets, vs plain', (r) => wallCpu(r, 'agentNone'), '≤ 1.05×', (r) => r.startup.ratios.agentNone <= 1.05, 'startup'],
  ['agent, targets, vs no-op async hook (Node 20)', (r) => (r.startup.registerHooks ? undefined : wallCpu(r, 'agentTargetsVsNoopAsync')), '≤ 1.10×', (r) => r.startup.registerHooks || r.startup.ratios.agentTargetsVsNoopAsync <= 1.1, 'startup'],
  ['agent, targets, vs import-in-the-middle include-only (Node 20)', (r) => (r.startup.registerHooks ? undefined : wallCpu(r, 'agentTargetsVsIitmInclude'))],
  ['agent, targets, vs plain (Node 22.15+)', (r) => (r.startup.registerHooks ? wallCpu(r, 'agentTargetsVsPlain') : undefined), '≤ 1.25×', (r) => !r.startup.registerHooks || r.startup.ratios.agentTargetsVsPlain <= 1.25, 'startup'],
  ['**Store** (32 MB a size in steps of 8 records; store / floor, CPU time; `bench/store.js`)'],
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
      const figure = (r) => r.store?.[backend][size];
      rows.push([
        `${backend} ${op}, ${KB[size]}, vs ${floor[op]}`,
        (r) => figure(r) && `${x(figure(r)[op])} (${mb(figure(r).store[op])} vs ${mb(figure(r).floor[op])})`,
        '≥ 0.80×',
        (r) => figure(r) === undefined || figure(r)[op] >= 0.8,
        'store',
      ]);
    }
  }
  return rows;
}

const nodeName = (r) => `Node ${r.major}`;

function table(runs) {
  const lines = [`| figure | ${runs.map((r) => `Node ${r.version.slice(1)}`).join(' | ')} | goal | holds |`, `|---|${runs.map(() => '---|').join('')}---|---|`];
  for (const [label, show, goal, holds] of ROWS) {
    if (show === undefined) {
      lines.push(`| ${label} |${runs.map(() => ' |').join('')} | |`);
      continue;
    }
    const cells = runs.map((r) => show(r) ?? '–');
    const verdict = goal === undefined ? '' : runs.every(holds) ? 'yes' : `**no** (${runs.filter((r) => !holds(r)).map(nodeName).join(', ')})`;
    lines.push(`| ${label} | ${cells.join(' | ')} | ${goal ?? ''} | ${verdict} |`);
  }
  return lines.join('\n');
}

/** The goals not held, by profile name: which nodes, and the rows. */
function failures(runs) {
  const failed = new Map();
  let main = '';
  for (const [label, show, goal, holds, profile] of ROWS) {
    // A row "  the same, CPU time" is named after the row it qualifies.
    if (!label.startsWith(' ')) main = label;
    if (goal === undefined || show === undefined) continue;
    const name = label.startsWith('  the same') ? `${main.replace(/, wall time$/, '')}, ${label.trim().replace(/^the same, /, '')}` : label.trim();
    for (const r of runs) {
      if (holds(r)) continue;
      const entry = failed.get(profile) ?? { rows: new Set(), runs: new Set() };
      entry.rows.add(name);
      entry.runs.add(r);
      failed.set(profile, entry);
    }
  }
  return failed;
}

const top = (profile) =>
  profile.top
    .slice(0, 6)
    .map((t) => `\`${t.function}\`${t.where ? ` (${t.where})` : ''} ${pct(t.share)}`)
    .join(', ');

/** The profile for each goal not held, measured now on the nodes where it does not hold. */
function whereTheTimeGoes(runs) {
  const failed = failures(runs);
  if (failed.size === 0) return 'Every goal holds in this run.';
  const out = [];
  const heading = (name, entry) => `- **${[...entry.rows].join('; ')}** (${[...entry.runs].map(nodeName).join(', ')}):`;
  for (const [name, entry] of failed) {
    out.push(heading(name, entry));
    for (const r of entry.runs) {
      const node = r.node;
      const who = `  - ${nodeName(r)}:`;
      if (name === 'cycle' || name === 'recorded') {
        process.stderr.write(`bench: ${r.version}: profile of the ${name === 'recorded' ? 'recorded' : 'delivered'} cycle\n`);
        const p = profileCycle(node, { recorder: name === 'recorded' });
        const d = p.dispatch;
        const carried = d.carried > 0 ? `; its own optimized code had inlined ${d.carried} more, which V8 counts too, against ${d.cumulative} for all a function inlines` : '';
        const inlining = Number.isNaN(d.bytecode)
          ? ''
          : ` The site's \`dispatch()\` is ${d.bytecode} bytes of bytecode, V8 inlines functions of at most ${d.limit}${carried}; TurboFan ${d.inlined ? 'inlined it into the loop' : `did not inline it into the loop (it runs in a frame of its own in ${pct(d.ownFrame)} of the samples)${d.refused.length > 0 ? ` (refused: reason ${d.refused.join(', ')})` : ''}, so each delivered call is a real call whose arguments become an array`}.`;
        const budget = p.budget ? ` The cycle against the ring buffer in one process: ${x(p.budget.asIs)} as V8 compiles it, ${x(p.budget.withRaised)} with V8's cumulative inlining budget raised to ${p.budget.raised} (\`--max-inlined-bytecode-size-cumulative\`): the rest is the path's own work.` : '';
        const tiers = p.status ? ` \`%GetOptimizationStatus\` after the warm-up: ${Object.entries(p.status).map(([fn, tier]) => `${fn} ${tier}`).join(', ')}.` : '';
        out.push(`${who} self time of the cycle's samples (${p.samples}): ${top(p)}.${inlining}${budget}${tiers}`);
      } else if (name === 'startup') {
        process.stderr.write(`bench: ${r.version}: the agent's start by part\n`);
        const parts = agentParts(node);
        const ms = (n) => `${n.toFixed(1)} ms`;
        out.push(
          `${who} the agent's start inside the process (CPU time of \`await import(loader)\`, a small app, median): no targets ${ms(parts.none)}; with the CommonJS target (acorn, the planner, the rewrite) ${ms(parts.cjs)}; with both targets ${ms(parts.both)}${
            r.startup.registerHooks ? '' : ' (Node 20: `module.register` boots the hooks thread for the ES module target)'
          }. Beside it, plain Node's whole start of the big app: ${s(r.startup.seconds.plain)} wall${r.startup.cpu ? `, ${s(r.startup.cpu.seconds.plain)} CPU` : ''}; the no-op hook floors are in the table.`,
        );
      } else if (name === 'tfjs') {
        const by = (p) =>
          Object.entries(p)
            .sort((a, b) => b[1] - a[1])
            .map(([origin, sec]) => `${origin} ${s(sec)}`)
            .join(', ');
        out.push(`${who} self time by origin of one profiled replay (\`--cpu-prof\`): ${by(r.tfjs.profiles.replay)}; of the student alone: ${by(r.tfjs.profiles.alone)}.`);
      } else if (name === 'digests') {
        const c = r.tfjs.checks.profile;
        out.push(`${who} in one profiled replay the checks' code (signature.js, digest.js, content-hash.js on the stack) took ${s(c.replay.checksSeconds)} of ${s(c.replay.busySeconds)} busy (${pct(c.replay.share)}); a replay of the store with check "off", ${pct(c.replayOff.share)}. The A/B ratio of whole runs moves with the machine by more than this share.`);
      } else if (name === 'draws') {
        out.push(`${who} after counted cycles ${ns(r.random.inProcess.after)} a draw, after cycles with random "off" ${ns(r.random.inProcess.afterOff)}; without the agent (another process) ${ns(r.random.own.seeded.none)}.`);
      } else if (name === 'idle') {
        out.push(`${who} the flag floor (a hand-written wrapper that can be switched on, one check of a counter) costs ${x(r.perCall.ratio.flag)} the closure, and the idle delivered call ${x(r.perCall.ratio.idleVsFlag)} the flag floor; before any delivery was active, ${x(r.perCall.ratio.idleCold)} the closure.`);
      } else if (name === 'store') {
        out.push(`${who} see [the store](#queue-memory-and-the-store): every byte written and read is checked, the floor checks none.`);
      }
    }
  }
  return out.join('\n');
}

const cpu = readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.*)$/m)?.[1] ?? cpus()[0]?.model ?? 'unknown CPU';
const load = readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
const started = Date.now();
const nodes = [
  { node: process.execPath, slow: true },
  { node: ciNode(22), slow: true },
  { node: ciNode(24), slow: false },
];
const runs = nodes.map(({ node, slow }) => ({ ...measure(node, { slow }), node }));
const where = whereTheTimeGoes(runs);
const minutes = Math.round((Date.now() - started) / 60000);
const block = [
  BEGIN,
  `One run of \`npm run bench\` (${minutes} min): ${cpus().length} × ${cpu}, ${new Date().toISOString().slice(0, 10)}, ${runs.map((r) => `Node ${r.version.slice(1)}`).join(', ')}; load average ${load} when it started.`,
  '',
  table(runs),
  '',
  '### Where the time goes, for each goal not held',
  '',
  'Measured by the same run, after the table, on the nodes where the goal does not hold.',
  '',
  where,
  END,
].join('\n');
console.log(block);
if (process.env.BENCH_WRITE !== '0') {
  const text = readFileSync(docs, 'utf8');
  const a = text.indexOf(BEGIN);
  const b = text.indexOf(END);
  if (a === -1 || b === -1) throw new Error(`docs/performance.md has no ${BEGIN} ... ${END} block to replace`);
  writeFileSync(docs, text.slice(0, a) + block + text.slice(b + END.length));
  process.stderr.write('bench: docs/performance.md updated\n');
}
