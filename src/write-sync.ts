/**
 * Writing to stderr while the process exits, when nothing asynchronous runs any more.
 *
 * A pipe Node opened for stdout or stderr (a parent reading the child's output, `node app
 * 2>&1 | tee log`) is non-blocking on Linux: once the reader falls behind and the pipe's
 * buffer is full, `writeSync` throws EAGAIN, or writes part of the text. A report or an
 * error printed at exit would then be lost, in part or whole, whenever the program had
 * written much just before (NODE_DEBUG, warnings) and the machine was busy.
 */
import { builtin } from './runtime.js';

// Taken without their ES module namespaces, whose lazy getters cost a start a few ms (runtime.ts builtin()).
const { writeSync } = builtin('node:fs');

/** How long, in all, a write at exit waits for a full pipe to drain. */
const PATIENCE_MS = 10_000;
/** How long it sleeps between two tries. */
const PAUSE_MS = 2;

let pause: Int32Array | undefined;

/**
 * Writes all of `text` to `fd` now, waiting (up to 10 s in all) while a full pipe drains.
 * Returns false if not all of it could be written (the reader is gone, or stuck).
 */
export function writeAllSync(fd: number, text: string): boolean {
  const bytes = Buffer.from(text);
  let offset = 0;
  let waited = 0;
  while (offset < bytes.length) {
    try {
      offset += writeSync(fd, bytes, offset, bytes.length - offset);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN' || waited >= PATIENCE_MS) return false;
      pause ??= new Int32Array(new SharedArrayBuffer(4));
      Atomics.wait(pause, 0, 0, PAUSE_MS);
      waited += PAUSE_MS;
    }
  }
  return true;
}
