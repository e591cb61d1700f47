/**
 * Helpers shared by the benchmarks: medians, timing, and starting a benchmark script in
 * a child process with the agent, so the measured function is really instrumented.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('..', import.meta.url));
export const loader = fileURLToPath(new URL('../loader.mjs', import.meta.url));
export const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * CPU time of this process in nanoseconds (user + system, all its threads). Per-call
 * figures use it rather than the wall clock: other processes on a shared machine then
 * cost the measured code nothing, while its own garbage collection still counts.
 */
export function cpuNow() {
  const { user, system } = process.cpuUsage();
  return (user + system) * 1000;
}

/** CPU nanoseconds fn() took. */
export function time(fn) {
  const start = cpuNow();
  fn();
  return cpuNow() - start;
}

/** CPU nanoseconds the promise fn() returns took to settle. */
export async function timeAsync(fn) {
  const start = cpuNow();
  await fn();
  return cpuNow() - start;
}

/**
 * Runs `rounds` rounds of every candidate (name → () => ns), in an order that rotates
 * each round so no candidate always runs first; the first `warmup` rounds are dropped.
 * Returns the samples per candidate.
 */
export async function rounds(candidates, { rounds: count, warmup }) {
  const names = Object.keys(candidates);
  const samples = Object.fromEntries(names.map((name) => [name, []]));
  for (let r = 0; r < warmup + count; r++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(r + k) % names.length];
      const ns = await candidates[name]();
      if (r >= warmup) samples[name].push(ns);
    }
  }
  return samples;
}

/** Median over the rounds of sample[a][i] / sample[b][i]: a ratio measured in each round. */
export function ratio(samples, a, b) {
  return median(samples[a].map((ns, i) => ns / samples[b][i]));
}

/**
 * A fresh copy of `loop(fn, n)` per name: each candidate gets its own call site and type
 * feedback (the tag keeps V8's compilation cache from sharing one function), so every
 * candidate is called the same way without the others polluting its inlining. `args` is
 * the argument list of the call (default `i`).
 */
export function loopFor(tag, args = 'i') {
  return new Function('fn', 'n', `// ${tag}\nlet s = 0;\nfor (let i = 0; i < n; i++) s += fn(${args});\nreturn s;`);
}

/**
 * The floor of the record+override cycles: a wrapper of `original` that, switched by a
 * plain flag, pushes each output into a preallocated ring buffer, or shifts the oldest out
 * instead of calling `original`. What a record/override wrapper costs at the least.
 * `capacity` is a power of two, at least the calls of one record phase.
 */
export function ringFloor(original, capacity = 1 << 17) {
  const mask = capacity - 1;
  const ring = new Array(capacity).fill(undefined);
  let head = 0;
  let size = 0;
  let override = false;
  const wrapper = function (...args) {
    if (!override) {
      const output = original.apply(this, args);
      ring[(head + size) & mask] = output;
      size++;
      return output;
    }
    const output = ring[head];
    ring[head] = undefined;
    head = (head + 1) & mask;
    size--;
    return output;
  };
  return {
    /**
     * `count` cycles of `block` calls through `loop` (a loopFor() loop of its own), each a
     * record phase then a replay phase; `check(phase, sum)` gets each phase's sum.
     */
    cycles(loop, block, count, check = () => {}) {
      for (let c = 0; c < count; c++) {
        override = false;
        check('record', loop(wrapper, block));
        override = true;
        check('override', loop(wrapper, block));
      }
    },
  };
}

/**
 * Runs a benchmark script in a child: `node [flags] --import loader.mjs script` with the
 * agent told to instrument `instrument`. Returns the JSON the script prints last.
 */
export function runChild(node, script, { instrument = [], flags = [], env = {} } = {}) {
  const config = JSON.stringify({ instrument });
  const result = spawnSync(node, [...flags, '--import', loader, script], {
    cwd: fixtures,
    env: { ...process.env, ...env, DISTILL_DELIVERY: config, BENCH_CHILD: '1' },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status !== 0) {
    throw new Error(`${script} failed on ${node} (exit ${result.status ?? result.signal}):\n${result.stderr}`);
  }
  const lines = result.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

/** Runs this script again in a child with the agent, unless it is that child; prints its result. */
export function selfSpawn(script, options) {
  if (process.env.BENCH_CHILD === '1') return false;
  console.log(JSON.stringify(runChild(process.execPath, fileURLToPath(script), options), null, 2));
  return true;
}

/** A Node binary of .ci/node-versions (`major` 22 or 24), installed from its lockfile when missing. */
export function ciNode(major) {
  const versions = fileURLToPath(new URL('../.ci/node-versions', import.meta.url));
  const bin = `${versions}/node_modules/node${major}/bin/node`;
  if (!existsSync(bin)) {
    process.stderr.write('bench: installing Node 22 and 24 (npm ci --prefix .ci/node-versions)\n');
    execFileSync('npm', ['ci', '--prefix', versions, '--no-audit', '--no-fund'], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  return bin;
}

/** The Node 22 binary of .ci/node-versions, installed from its lockfile when missing. */
export function node22() {
  return ciNode(22);
}

/** The Node 24 binary of .ci/node-versions, installed from its lockfile when missing. */
export function node24() {
  return ciNode(24);
}

const bash = ['/bin/bash', '/usr/bin/bash'].find((path) => existsSync(path));
const quote = (arg) => `'${arg.replace(/'/g, `'\\''`)}'`;

/**
 * Runs `node ...args` to its end, as spawnSync does, and also returns its CPU time: user +
 * system of the process and every thread it had (the child's getrusage, which bash's
 * `times` prints to the millisecond once the child has exited), so that other work on the
 * machine does not count. `cpuMs` is undefined where bash is missing. `wallMs` is the wall
 * time of the whole spawn. stdout and stderr come back as text, as with `encoding: 'utf8'`.
 */
export function spawnTimed(node, args, { cwd, env }) {
  const started = process.hrtime.bigint();
  if (bash === undefined) {
    const result = spawnSync(node, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    return { ...result, wallMs: Number(process.hrtime.bigint() - started) / 1e6, cpuMs: undefined };
  }
  // The child's output goes to descriptors 3 and 4, so that what `times` prints is apart.
  const script = `${[node, ...args].map(quote).join(' ')} >&3 2>&4; status=$?; times; exit $status`;
  const result = spawnSync(bash, ['-c', script], { cwd, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'] });
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  // `times`: the shell's own user and system time, then its children's ("0m0.412s 0m0.031s").
  const children = result.stdout.trim().split('\n').at(-1) ?? '';
  const seconds = [...children.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  return { status: result.status, signal: result.signal, stdout: result.output[3], stderr: result.output[4], wallMs, cpuMs: seconds.length === 2 ? (seconds[0] + seconds[1]) * 1000 : undefined };
}

/** The content checks' code: a profile sample whose stack holds one of these files is the checks' time. */
const CHECKS = ['/dist/values/signature.js', '/dist/values/digest.js', '/dist/values/content-hash.js'];

/** Of a CPU profile's busy samples (not idle), the time and the share whose stack holds the checks' code. */
export function checksShare(file) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inChecks = new Map();
  const checks = (id) => {
    if (!inChecks.has(id)) {
      const url = nodes.get(id).callFrame.url;
      inChecks.set(id, CHECKS.some((f) => url.endsWith(f)) || (parent.has(id) && checks(parent.get(id))));
    }
    return inChecks.get(id);
  };
  let busy = 0;
  let spent = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    if (nodes.get(id).callFrame.functionName === '(idle)') return;
    busy += dt;
    if (checks(id)) spent += dt;
  });
  return { busySeconds: busy / 1e6, checksSeconds: spent / 1e6, share: spent / busy };
}
