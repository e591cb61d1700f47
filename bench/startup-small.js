/**
 * Start-up of a small app: app.mjs importing one ES module and one CommonJS module, both
 * targets of the agent (bench/startup.js's generator with one module of each kind).
 * - Wall time of the whole process under the variants of bench/startup.js, alternating,
 *   the median of 15 rounds after one warm-up round; ratios are medians of the ratios
 *   within each round.
 * - The agent's start inside the process, by part: the CPU time (all threads) that
 *   `await import(loader.mjs)` takes (bench/startup/time-agent.mjs) with no targets (the
 *   agent's own modules), with the CommonJS target only (adds acorn, the rewrite and
 *   rewriting that module), and with both (adds the ES module target and, on Node 20,
 *   module.register's hooks thread). The parts are differences of medians over the same
 *   rounds. CPU time, unlike wall time, is not inflated by other processes on the machine.
 *
 * `node bench/startup-small.js` (after `npm run build`) prints a Markdown table for the
 * node running it (Node 20 here) and Node 22 (.ci/node-versions, installed on first use).
 * BENCH_SMALL_ROUNDS changes the rounds (default 15).
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loader, median, node22, ratio } from './lib.js';
import { generateApp, spawnApp, variants, verify } from './startup.js';

const ROUNDS = Number(process.env.BENCH_SMALL_ROUNDS ?? 15);
const timeAgent = new URL('./startup/time-agent.mjs', import.meta.url);

/** The agent configs of the in-process parts. */
function partConfigs(app) {
  const { deliveries } = JSON.parse(app.config);
  return {
    none: '{"deliveries":{}}',
    cjs: JSON.stringify({ deliveries: { cjs: deliveries.cjs } }),
    both: app.config,
  };
}

/** CPU milliseconds of the agent's start in a fresh process. */
function timeImport(node, app, config) {
  const env = { ...process.env, DISTILL_DELIVERY: config, BENCH_LOADER_URL: pathToFileURL(loader).href };
  delete env.NODE_OPTIONS;
  // A machine may point NODE_EXTRA_CA_CERTS at a certificate bundle, which every Node process
  // then parses as it starts (about 100 ms here): it would pad every variant alike and shrink
  // the ratios. No variant makes a TLS connection.
  delete env.NODE_EXTRA_CA_CERTS;
  const result = spawnSync(node, [new URL(timeAgent).pathname, app.app], { cwd: app.dir, env, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`time-agent failed: ${result.stderr}`);
  return JSON.parse(result.stdout).cpuMs;
}

/**
 * The agent's start inside the process, by part (CPU ms, medians of `rounds` alternating
 * rounds): its own modules (no targets), + the CommonJS target (acorn, the rewrite,
 * rewriting it), + the ES module target (Node 20: and module.register's thread). What
 * npm run bench prints under its table where a start-up goal does not hold.
 */
export function agentParts(node, rounds = ROUNDS) {
  const app = generateApp(1);
  try {
    const configs = partConfigs(app);
    const samples = Object.fromEntries(Object.keys(configs).map((name) => [name, []]));
    for (let r = 0; r < rounds + 1; r++) {
      for (const [name, config] of Object.entries(configs)) {
        const ms = timeImport(node, app, config);
        if (r > 0) samples[name].push(ms);
      }
    }
    return Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, median(values)]));
  } finally {
    rmSync(app.dir, { recursive: true, force: true });
  }
}

function measure(node) {
  const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
  process.stderr.write(`bench: ${version}: small app start-up\n`);
  const app = generateApp(1);
  try {
    const sync = spawnSync(node, ['-p', 'typeof require("node:module").registerHooks'], { encoding: 'utf8' }).stdout.trim() === 'function';
    const all = variants(app);
    const chosen = Object.fromEntries(['plain', 'noopAsync', ...(sync ? ['noopSync'] : []), 'iitmInclude', 'agentNone', 'agentTargets'].map((name) => [name, all[name]]));
    verify(node, app, chosen);
    const configs = partConfigs(app);
    const runs = [
      ...Object.entries(chosen).map(([name, variant]) => [`wall:${name}`, () => spawnApp(node, app, variant).ns / 1e6]),
      ...Object.entries(configs).map(([name, config]) => [`part:${name}`, () => timeImport(node, app, config)]),
    ];
    const samples = Object.fromEntries(runs.map(([name]) => [name, []]));
    for (let r = 0; r < ROUNDS + 1; r++) {
      for (let k = 0; k < runs.length; k++) {
        const [name, run] = runs[(r + k) % runs.length];
        const ms = run();
        if (r > 0) samples[name].push(ms); // round 0 warms the file cache
      }
    }
    const ms = Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, median(values)]));
    const ratios = {
      none: ratio(samples, 'wall:agentNone', 'wall:plain'),
      plain: ratio(samples, 'wall:agentTargets', 'wall:plain'),
      noopAsync: ratio(samples, 'wall:agentTargets', 'wall:noopAsync'),
      iitmInclude: ratio(samples, 'wall:agentTargets', 'wall:iitmInclude'),
    };
    return { version, sync, ms, ratios };
  } finally {
    rmSync(app.dir, { recursive: true, force: true });
  }
}

const x = (n) => `${n.toFixed(2)}×`;
const f = (n) => (n === undefined ? '–' : `${Math.round(n)} ms`);
const ROWS = [
  ['**Wall time of the process** (median)'],
  ['plain `node`', (r) => f(r.ms['wall:plain'])],
  ['no-op async `module.register` hook', (r) => f(r.ms['wall:noopAsync'])],
  ['no-op sync `module.registerHooks` hook', (r) => (r.sync ? f(r.ms['wall:noopSync']) : '–')],
  ['import-in-the-middle, include-only', (r) => f(r.ms['wall:iitmInclude'])],
  ['agent, no targets', (r) => f(r.ms['wall:agentNone'])],
  ['agent, 1 ES + 1 CommonJS target', (r) => f(r.ms['wall:agentTargets'])],
  ['agent, no targets, vs plain', (r) => x(r.ratios.none)],
  ['agent, targets, vs plain', (r) => x(r.ratios.plain)],
  ['agent, targets, vs no-op async hook', (r) => x(r.ratios.noopAsync)],
  ['agent, targets, vs import-in-the-middle include-only', (r) => x(r.ratios.iitmInclude)],
  ['**The agent\'s start inside the process** (CPU time of `await import(loader)`, all threads, median)'],
  ['no targets: the agent\'s own modules', (r) => f(r.ms['part:none'])],
  ['+ the CommonJS target: acorn, the rewrite, rewriting it', (r) => f(r.ms['part:cjs'] - r.ms['part:none'])],
  ['+ the ES module target (Node 20: and `module.register`)', (r) => f(r.ms['part:both'] - r.ms['part:cjs'])],
  ['all', (r) => f(r.ms['part:both'])],
];

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const results = [measure(process.execPath), measure(node22())];
  console.log(`${ROUNDS} rounds\n`);
  console.log(`| figure | ${results.map((r) => `Node ${r.version.slice(1)}`).join(' | ')} |`);
  console.log(`|---|${results.map(() => '---|').join('')}`);
  for (const [label, show] of ROWS) console.log(`| ${label} | ${results.map((r) => (show ? show(r) : '')).join(' | ')} |`);
}
