// Spawns a real `node --import <loader>` child for the agent tests (not itself a test).
// The Node binary is process.execPath, or DISTILL_DELIVERY_TEST_NODE when it is set, so
// the same suite runs on Node 20, 22 and 24.
import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const nodeBinary = process.env.DISTILL_DELIVERY_TEST_NODE || process.execPath;

/** The absolute file URL of the checkout's loader.mjs. */
export const loaderUrl = pathToFileURL(fileURLToPath(new URL('../../loader.mjs', import.meta.url))).href;

/** The absolute path of a fixture under test/fixtures/agent/. */
export function agentFixture(...parts) {
  return fileURLToPath(new URL(`../fixtures/agent/${parts.join('/')}`, import.meta.url));
}

// Variables of the parent (the test runner, a developer's shell) that would change what a child does
// (the agent warns of a DISTILL_DELIVERY_* variable it does not read, such as this helper's own).
const CLEARED = ['DISTILL_DELIVERY', 'DISTILL_DELIVERY_BASE', 'DISTILL_DELIVERY_REPORT', 'DISTILL_DELIVERY_FIRST_PID', 'DISTILL_DELIVERY_STRICT', 'DISTILL_DELIVERY_PROGRESS', 'DISTILL_DELIVERY_TEST_NODE', 'NODE_DEBUG', 'NODE_OPTIONS', 'NODE_TEST_CONTEXT', 'NODE_V8_COVERAGE', 'FORCE_COLOR', 'NO_COLOR'];

/**
 * Node flags (nodeArgs) for a run whose config names targets that no phase calls, on
 * purpose (a check that instrumented modules behave as before): they silence the agent's
 * warnings at exit that a delivery or a recorder never fired and a phase never ran, and
 * nothing else.
 */
export const unfired = ['--disable-warning=DISTILL_DELIVERY_NEVER_FIRED', '--disable-warning=DISTILL_DELIVERY_RECORDER_NEVER_FIRED', '--disable-warning=DISTILL_DELIVERY_PHASE_NEVER_RAN'];

/**
 * Runs `node [--import loader] [...nodeArgs] script [...args]` and resolves with
 * `{ code, signal, stdout, stderr }`.
 * - config: DISTILL_DELIVERY; an object or array is passed as inline JSON, a string as is;
 *   undefined leaves it unset (the agent then does nothing).
 * - agent: false runs without `--import` (the app as it is).
 * - cwd: the child's working directory (default: the script's folder).
 * - env: extra variables (a value of undefined removes one).
 * - kill: { when, signal, before }: sends the child `signal` once its stdout matches the RegExp
 *   `when` and the promise `before()` returns (if given) has resolved.
 * - onStdout: (stdout, child): called with all of stdout so far each time more comes.
 */
export function runNode(script, { config, agent = true, cwd, env = {}, args = [], nodeArgs = [], timeout = 60_000, kill, onStdout } = {}) {
  const childEnv = { ...process.env };
  for (const name of CLEARED) delete childEnv[name];
  if (config !== undefined) childEnv.DISTILL_DELIVERY = typeof config === 'string' ? config : JSON.stringify(config);
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete childEnv[name];
    else childEnv[name] = value;
  }
  const argv = [...(agent ? ['--import', loaderUrl] : []), ...nodeArgs, script, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(nodeBinary, argv, { cwd: cwd ?? fileURLToPath(new URL('.', pathToFileURL(script))), env: childEnv, stdio: ['ignore', 'pipe', 'pipe'], timeout });
    let stdout = '';
    let stderr = '';
    let killed = false;
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      stdout += chunk;
      if (kill !== undefined && !killed && kill.when.test(stdout)) {
        killed = true;
        Promise.resolve(kill.before?.()).then(() => child.kill(kill.signal), reject);
      }
      onStdout?.(stdout, child);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** The JSON a fixture printed: one value per line. */
export function lines(stdout) {
  return stdout.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line));
}

/** The one JSON value a fixture printed. */
export function output(stdout) {
  const all = lines(stdout);
  if (all.length !== 1) throw new Error(`expected one JSON line on stdout, got ${all.length}:\n${stdout}`);
  return all[0];
}

/** The lines NODE_DEBUG=delivery wrote (`DELIVERY <pid>: ...`), without the prefix. */
export function debugLines(stderr) {
  return stderr.split('\n').filter((l) => /^DELIVERY \d+:/.test(l)).map((l) => l.replace(/^DELIVERY \d+: /, ''));
}

/** The child binary's version, as [major, minor], for version gates (asked of the binary only when it is another one). */
export const nodeVersion = (nodeBinary === process.execPath ? process.versions.node : execFileSync(nodeBinary, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim()).split('.').map(Number);

/** The child binary has module.registerHooks (added in v23.5.0 and v22.15.0). */
export const childHasRegisterHooks = nodeVersion[0] > 23 || (nodeVersion[0] === 23 && nodeVersion[1] >= 5) || (nodeVersion[0] === 22 && nodeVersion[1] >= 15);
