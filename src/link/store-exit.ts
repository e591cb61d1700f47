/**
 * Stores are closed when the process ends: at exit, and on SIGINT and SIGTERM when the
 * app has no handler of its own (then the process ends as the signal would have ended
 * it, as the agent's report does). Closing flushes what a Redis store still has in
 * flight. A record run's rank is marked complete when the process exits with status 0, and
 * left incomplete otherwise (an uncaught error, a non-zero exit, a signal). A store that
 * could not write everything says so on stderr, and the exit status becomes 1.
 */
import { writeSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';
import { appHandles, ownListener } from '../runtime.js';

interface Closable {
  close(options?: { complete?: boolean }): unknown;
}

const open = new Set<Closable>();
let installed = false;

/** Closes `store` when the process ends, unless it was closed before. */
export function closeAtExit(store: Closable): void {
  open.add(store);
  if (!installed) install();
}

/** Closes every store still open, marking record runs complete or not; true if one of them failed. */
function closeAll(complete: boolean): boolean {
  let failed = false;
  for (const store of open) {
    const error = store.close({ complete });
    if (error === undefined) continue;
    failed = true;
    const text = error instanceof Error ? `${error.name}${'code' in error ? ` [${String(error.code)}]` : ''}: ${error.message}` : String(error);
    try {
      writeSync(2, `distill-delivery: ${text}\n`);
    } catch {
      // stderr closed
    }
  }
  open.clear();
  return failed;
}

function install(): void {
  installed = true;
  process.on(
    'exit',
    ownListener((code: number) => {
      if (closeAll(code === 0) && code === 0) process.exitCode = 1;
    }),
  );
  // Worker threads get no signals (only the main thread does).
  if (!isMainThread) return;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    const onSignal = ownListener((): void => {
      if (appHandles(signal)) return; // the app decides whether to exit; the exit closes the stores
      closeAll(false);
      process.off(signal, onSignal);
      process.kill(process.pid, signal);
    });
    process.on(signal, onSignal);
  }
}
