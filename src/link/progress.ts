/**
 * One line of progress on stderr while a store is recorded or replayed: the steps, the
 * bytes and the rate, and in a replay how far through the store (the reader's last
 * step, which grows while a Redis store is still being recorded):
 *
 *   distill-delivery: recorded 1200 steps (356.2 MB) to the store "./outputs" (rank 0), 41.3 steps/s, 12.2 MB/s
 *   distill-delivery: replayed 1200 of 5000 steps (24%, 356.2 MB) from the store "./outputs" (rank 0), 95.0 steps/s, 28.2 MB/s
 *
 * Rewritten in place (`\r`) at the first step, then at most four times a second, when a
 * step ends; erased when the store closes. Shown by default only where a person watches:
 * stderr a terminal, the main thread, rank 0 (other ranks of a data-parallel run share the
 * terminal). The store's `progress` option (DISTILL_DELIVERY_PROGRESS=1 or 0) forces it on,
 * even on a pipe, or off. A signal ends the process with the line as it was.
 */
import { writeSync } from 'node:fs';
import { isatty } from 'node:tty';
import { isMainThread } from 'node:worker_threads';

const EVERY_MS = 250;

function size(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) (value /= 1000), unit++;
  return `${value.toFixed(1)} ${units[unit]}`;
}

export class Progress {
  #steps = 0;
  #bytes = 0;
  #first = 0;
  #shown = -Infinity;
  /** The length of the line on screen, to blank what a shorter one leaves. */
  #width = 0;

  private constructor(
    private readonly mode: 'record' | 'replay',
    private readonly subject: string,
  ) {}

  /** A progress line for a store opened to `mode`, or undefined where it is not shown. */
  static start(mode: 'record' | 'replay', subject: string, setting: boolean | undefined, rank: number): Progress | undefined {
    const shown = setting ?? (isMainThread && rank === 0 && isatty(2));
    return shown ? new Progress(mode, subject) : undefined;
  }

  /** A step was written or read: its records' payloads, and in a replay the store's last step. */
  step(records: readonly { readonly payload?: Uint8Array | undefined }[], lastStep?: number): void {
    const now = performance.now();
    if (this.#steps === 0) this.#first = now;
    this.#steps++;
    for (const record of records) this.#bytes += record.payload?.byteLength ?? 0;
    if (now - this.#shown < EVERY_MS) return;
    this.#shown = now;
    this.show(this.line(now, lastStep));
  }

  private line(now: number, lastStep: number | undefined): string {
    const seconds = (now - this.#first) / 1000;
    const rate = seconds > 0 && this.#steps > 1 ? `, ${((this.#steps - 1) / seconds).toFixed(1)} steps/s, ${size(this.#bytes / seconds)}/s` : '';
    const steps = (n: number): string => `${n} step${n === 1 ? '' : 's'}`;
    if (this.mode === 'record') return `distill-delivery: recorded ${steps(this.#steps)} (${size(this.#bytes)}) to ${this.subject}${rate}`;
    if (lastStep === undefined || lastStep < 0) return `distill-delivery: replayed ${steps(this.#steps)} (${size(this.#bytes)}) from ${this.subject}${rate}`;
    const held = lastStep + 1;
    return `distill-delivery: replayed ${this.#steps} of ${steps(held)} (${Math.floor((100 * this.#steps) / held)}%, ${size(this.#bytes)}) from ${this.subject}${rate}`;
  }

  private show(text: string): void {
    const columns = isatty(2) ? (process.stderr.columns ?? 0) : 0;
    const line = columns > 1 && text.length >= columns ? text.slice(0, columns - 1) : text;
    this.write(`\r${line.padEnd(this.#width)}`);
    this.#width = line.length;
  }

  /** Erases the line (the store closed). */
  end(): void {
    if (this.#width > 0) this.write(`\r${' '.repeat(this.#width)}\r`);
    this.#width = 0;
  }

  private write(text: string): void {
    try {
      writeSync(2, text);
    } catch {
      // stderr closed or full: the line is only a courtesy
    }
  }
}
