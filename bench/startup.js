/**
 * Start-up: wall time of `node app.mjs` for a generated app of 1000 ES modules and 1000
 * CommonJS modules (each a binary tree of imports, ESM by `import`, CommonJS by
 * `require`), with one target of each kind, under each way of hooking the module loader.
 * Variants run in alternation, several rounds, and each figure is the median; ratios
 * are medians over rounds of the ratio within the round.
 *
 * Run alone with `node bench/startup.js` (measures the node running it). bench/startup-small.js
 * uses the same variants on an app of one module of each kind.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loader, median, ratio, spawnTimed } from './lib.js';

const MODULES = 1000;
const here = (file) => fileURLToPath(new URL(`./startup/${file}`, import.meta.url));

/** Writes the app of `modules` ES and `modules` CommonJS modules into a fresh temporary folder; returns its paths. */
export function generateApp(modules = MODULES) {
  const target = Math.min(7, modules - 1);
  const dir = mkdtempSync(join(tmpdir(), 'distill-delivery-bench-'));
  mkdirSync(join(dir, 'esm'));
  mkdirSync(join(dir, 'cjs'));
  for (let i = 0; i < modules; i++) {
    const kids = [2 * i + 1, 2 * i + 2].filter((k) => k < modules);
    const esm = kids.map((k) => `import { f${k} } from './m${k}.mjs';\n`).join('');
    const cjs = kids.map((k) => `const { g${k} } = require('./c${k}.cjs');\n`).join('');
    const sum = (p) => (kids.length === 0 ? 'x + 1' : kids.map((k) => `${p}${k}(x)`).join(' + ') + ' + 1');
    writeFileSync(join(dir, 'esm', `m${i}.mjs`), `${esm}export function f${i}(x) {\n  return ${sum('f')};\n}\n`);
    writeFileSync(join(dir, 'cjs', `c${i}.cjs`), `${cjs}function g${i}(x) {\n  return ${sum('g')};\n}\nmodule.exports = { g${i} };\n`);
  }
  writeFileSync(join(dir, 'app.mjs'), `import { f0 } from './esm/m0.mjs';\nimport c from './cjs/c0.cjs';\nconsole.log(f0(1) + c.g0(1));\n`);
  return {
    dir,
    app: join(dir, 'app.mjs'),
    target: target,
    targets: [join(dir, 'esm', `m${target}.mjs`), join(dir, 'cjs', `c${target}.cjs`)],
    config: JSON.stringify({
      deliveries: {
        esm: { type: 'FunctionOutputs', funcPath: `./esm/m${target}.mjs#f${target}` },
        cjs: { type: 'FunctionOutputs', funcPath: `./cjs/c${target}.cjs#g${target}` },
      },
    }),
  };
}

/** Every variant; `sync` ones need module.registerHooks (Node >= 22.15), `node20` ones are only run there. */
export function variants(app) {
  return {
    plain: { args: [] },
    noopAsync: { args: ['--import', here('noop-async.mjs')] },
    noopSync: { args: ['--import', here('noop-sync.mjs')], sync: true },
    iitmInclude: { args: ['--import', here('iitm-include.mjs')], env: { BENCH_TARGETS: JSON.stringify(app.targets) } },
    iitmAll: { args: ['--import', here('iitm-all.mjs')], env: { BENCH_TARGETS: JSON.stringify(app.targets) }, node20: true },
    agentNone: { args: ['--import', loader], env: { DISTILL_DELIVERY: '{"deliveries":{}}' } },
    agentTargets: { args: ['--import', loader], env: { DISTILL_DELIVERY: app.config } },
  };
}

export function spawnApp(node, app, variant, extraEnv = {}) {
  const env = { ...process.env, ...variant.env, ...extraEnv };
  delete env.NODE_OPTIONS;
  // A machine may point NODE_EXTRA_CA_CERTS at a certificate bundle, which every Node process
  // then parses as it starts (about 100 ms here): it would pad every variant alike and shrink
  // the ratios. No variant makes a TLS connection.
  delete env.NODE_EXTRA_CA_CERTS;
  if (variant.env?.DISTILL_DELIVERY === undefined) delete env.DISTILL_DELIVERY;
  const result = spawnTimed(node, [...variant.args, app.app], { cwd: app.dir, env });
  if (result.status !== 0) throw new Error(`start-up app failed (${variant.args.join(' ')}): ${result.stderr}`);
  return { ns: result.wallMs * 1e6, cpuNs: result.cpuMs === undefined ? undefined : result.cpuMs * 1e6, stdout: result.stdout, stderr: result.stderr };
}

/** One run of each variant that checks it does what it is meant to (the targets are hooked). */
export function verify(node, app, chosen) {
  const expected = spawnApp(node, app, chosen.plain).stdout;
  for (const [name, variant] of Object.entries(chosen)) {
    const { stdout, stderr } = spawnApp(node, app, variant, { BENCH_VERIFY: '1', NODE_DEBUG: 'delivery' });
    if (stdout !== expected) throw new Error(`${name}: printed ${stdout}, expected ${expected}`);
    if (name === 'agentTargets' && !(stderr.includes(`m${app.target}.mjs (module)`) && stderr.includes(`c${app.target}.cjs (commonjs)`))) {
      throw new Error(`agentTargets: the agent did not instrument both targets:\n${stderr}`);
    }
    // At least the ES module target (the small app also imports its CommonJS target, which import-in-the-middle then wraps too).
    if (name.startsWith('iitm') && !/iitm wrapped [1-9]/.test(stderr)) throw new Error(`${name}: import-in-the-middle did not wrap the ES module target:\n${stderr}`);
  }
}

/** Measures every variant that applies to `node`; returns seconds (median) and ratios. */
export function startupBench(node, { rounds = Number(process.env.BENCH_STARTUP_ROUNDS ?? 11) } = {}) {
  const app = generateApp();
  try {
    const probe = spawnSync(node, ['-p', 'JSON.stringify([process.version, typeof require("node:module").registerHooks])'], { encoding: 'utf8' });
    const [version, hooksType] = JSON.parse(probe.stdout);
    const sync = hooksType === 'function';
    const chosen = Object.fromEntries(Object.entries(variants(app)).filter(([, v]) => (v.sync ? sync : true) && (v.node20 ? !sync : true)));
    verify(node, app, chosen);
    const names = Object.keys(chosen);
    const samples = Object.fromEntries(names.map((name) => [name, []]));
    const cpuSamples = Object.fromEntries(names.map((name) => [name, []]));
    for (let r = 0; r < rounds + 1; r++) {
      for (let k = 0; k < names.length; k++) {
        const name = names[(r + k) % names.length];
        const { ns, cpuNs } = spawnApp(node, app, chosen[name]);
        if (r > 0) {
          // round 0 warms the file cache
          samples[name].push(ns);
          cpuSamples[name].push(cpuNs);
        }
      }
    }
    const seconds = Object.fromEntries(names.map((name) => [name, median(samples[name]) / 1e9]));
    const ratiosOf = (s) => ({
      agentNone: ratio(s, 'agentNone', 'plain'),
      agentTargetsVsPlain: ratio(s, 'agentTargets', 'plain'),
      agentTargetsVsNoopAsync: ratio(s, 'agentTargets', 'noopAsync'),
      agentTargetsVsIitmInclude: ratio(s, 'agentTargets', 'iitmInclude'),
    });
    // CPU time (user + system, every thread, the child's own rusage): what other work on the machine does not inflate.
    const cpu = cpuSamples.plain.every((ns) => ns !== undefined)
      ? { seconds: Object.fromEntries(names.map((name) => [name, median(cpuSamples[name]) / 1e9])), ratios: ratiosOf(cpuSamples) }
      : undefined;
    return { node: version, registerHooks: sync, rounds, seconds, ratios: ratiosOf(samples), cpu };
  } finally {
    rmSync(app.dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(startupBench(process.execPath), null, 2));
}
