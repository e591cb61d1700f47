/**
 * A progress line on stderr for a long verify or copy: on a terminal, for a store of
 * LARGE bytes or more, one line rewritten in place at most four times a second; never on
 * a pipe or a file unless asked (--progress: then a line each time, at the same pace).
 * --no-progress turns it off.
 */
import type { Progress } from '../store/open-store.js';
import { size } from './format.js';

/** A store this large shows progress on a terminal without being asked. */
export const LARGE = 64e6;
const EVERY_MS = 250;

export type ProgressMode = 'auto' | 'on' | 'off';

export interface ProgressLine {
  update(progress: Progress): void;
  /** Clears the line (a terminal) once the work is done. */
  done(): void;
}

export function progressLine(verb: string, mode: ProgressMode, totalBytes: number | null): ProgressLine {
  const terminal = process.stderr.isTTY === true;
  const shown = mode === 'on' || (mode === 'auto' && terminal && totalBytes !== null && totalBytes >= LARGE);
  if (!shown) return { update() {}, done() {} };
  const started = Date.now();
  let last = -Infinity;
  let written = false;
  const write = (p: Progress): void => {
    const seconds = (Date.now() - started) / 1000;
    const rate = seconds > 0 ? `, ${size(Math.round(p.bytes / seconds))}/s` : '';
    const line = `${verb}: rank ${p.rank}, step ${p.step} of ${p.lastStep}, ${size(p.bytes)}${totalBytes !== null ? ` of ${size(totalBytes)}` : ''}${rate}`;
    process.stderr.write(terminal ? `\r${line}\x1b[K` : `${line}\n`);
    written = true;
  };
  let pending: Progress | undefined;
  return {
    update(p) {
      const now = Date.now();
      pending = p;
      if (now - last < EVERY_MS) return;
      last = now;
      pending = undefined;
      write(p);
    },
    done() {
      // The last step is always shown, so the line ends where the work did.
      if (pending !== undefined) write(pending);
      if (terminal && written) process.stderr.write('\r\x1b[K');
    },
  };
}
