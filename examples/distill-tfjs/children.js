// Runs train.js as a child process, as run.js and teacher-once.js do: its progress echoed
// with a prefix, its last JSON line and the agent's exit report returned, and its wall time.
import { spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const here = dirname(fileURLToPath(import.meta.url));
export const loader = resolve(here, '../../loader.mjs');

/**
 * Runs train.js once: `nodeArgs` before it (the agent's --import, or none) and `env` on top
 * of this process's (DISTILL_DELIVERY only where given). Resolves to its final JSON line,
 * plus `report` (the agent's report, or null), `wallSeconds` and `stderr`.
 */
export function train(label, { nodeArgs = [], env = {}, quick = false }) {
  const prefix = `[${label}]`;
  const childEnv = { ...process.env, QUICK: quick ? '1' : '0', ...env };
  delete childEnv.NODE_OPTIONS; // the agent only where asked for
  for (const name of ['DISTILL_DELIVERY', 'DISTILL_DELIVERY_BASE', 'DISTILL_DELIVERY_STORE_MODE']) if (env[name] === undefined) delete childEnv[name];
  const started = performance.now();
  const child = spawn(process.execPath, [...nodeArgs, 'train.js'], { cwd: here, env: childEnv });
  let stdout = '';
  let stderr = '';
  let pending = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => {
    stdout += chunk;
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop();
    for (const line of lines) if (!line.startsWith('{')) console.log(`${prefix} ${line}`);
  });
  child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
  return new Promise((done, fail) => {
    child.on('error', fail);
    child.on('close', (code, signal) => {
      const wallSeconds = (performance.now() - started) / 1000;
      if (stderr.trim()) console.log(stderr.trim().split('\n').map((line) => `${prefix} ${line}`).join('\n'));
      if (code !== 0) return fail(new Error(`${prefix} train.js exited with ${signal ?? code}`));
      const last = stdout.trimEnd().split('\n').at(-1);
      done({ ...JSON.parse(last), report: parseReport(stderr), wallSeconds, stderr });
    });
  });
}

/** The agent's exit report (DISTILL_DELIVERY "report": true), as numbers, or null. */
export function parseReport(stderr) {
  const lines = stderr.split('\n');
  const at = lines.findIndex((line) => line.startsWith('distill-delivery report'));
  if (at < 0) return null;
  const row = lines.slice(at + 2).find((line) => line.startsWith('mixup '));
  const phases = lines.slice(at).find((line) => line.startsWith('phases:'))?.match(/(\d+) record, (\d+) override/);
  if (!row) return null;
  const [recorded, replayed, left, discarded] = row.trim().split(/\s+/).slice(-4).map(Number);
  const store = lines.slice(at).find((line) => line.startsWith('store: '))?.slice('store: '.length);
  return { recorded, replayed, left, discarded, recordPhases: Number(phases?.[1]), overridePhases: Number(phases?.[2]), ...(store && { store }) };
}
