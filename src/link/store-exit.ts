/**
 * Stores are closed when the process exits (the program ends, or calls process.exit(),
 * from a signal handler of its own too): closing flushes what a Redis store still has in
 * flight and marks its end. A record run's rank is marked complete when the process exits
 * with status 0, and left incomplete otherwise (an uncaught error, a non-zero exit). A
 * store that could not write everything says so on stderr, and the exit status becomes 1.
 *
 * SIGINT and SIGTERM get no handler (one would wait for a synchronous loop to yield, see
 * ../agent/at-exit.ts): they end the process at once, and what a store holds then is what
 * it had stored: a folder store every committed step, a Redis store every step the server
 * has (docs/store.md); its rank is left incomplete.
 */
import { writeAllSync } from '../write-sync.js';

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
    writeAllSync(2, `distill-delivery: ${text}\n`);
  }
  open.clear();
  return failed;
}

function install(): void {
  installed = true;
  process.on('exit', (code: number) => {
    if (closeAll(code === 0) && code === 0) process.exitCode = 1;
  });
}
