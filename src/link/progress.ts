/**
 * One line of progress on stderr while a store is recorded or replayed: the steps, the
 * bytes and the rate, and in a replay how far through the store (the reader's last
 * step, which grows while a Redis store is still being recorded); a run in mode "auto"
 * says both (`replayed 120 of 120 steps, then recorded 30 steps`):
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
import { byteSize } from '../byte-size.js';

const EVERY_MS = 250;

export class Progress {
  #read = 0;
  #written = 0;
  #bytes = 0;
  /** The store's last complete step as the reader last knew it (-1: none, or no reader). */
  #lastStep = -1;
  #first = 0;
  #shown = -Infinity;
  /** The length of the line on screen, to blank what a shorter one leaves. */
  #width = 0;

  private constructor(private readonly subject: string) {}

  /** A progress line for a store, or undefined where it is not shown. */
  static start(subject: string, setting: boolean | undefined, rank: number): Progress | undefined {
    const shown = setting ?? (isMainThread && rank === 0 && isatty(2));
    return shown ? new Progress(subject) : undefined;
  }

  /** A step was read: its records, and the store's last complete step. */
  read(records: readonly { readonly payload: Uint8Array }[], lastStep: number): void {
    this.#read++;
    this.#lastStep = lastStep;
    this.step(records);
  }

  /** A step was written: its records. */
  wrote(records: readonly { readonly payload?: Uint8Array | undefined }[]): void {
    this.#written++;
    this.step(records);
  }

  private step(records: readonly { readonly payload?: Uint8Array | undefined }[]): void {
    const now = performance.now();
    if (this.#read + this.#written === 1) this.#first = now;
    for (const record of records) this.#bytes += record.payload?.byteLength ?? 0;
    if (now - this.#shown < EVERY_MS) return;
    this.#shown = now;
    this.show(this.line(now));
  }

  private line(now: number): string {
    const steps = (n: number): string => `${n} step${n === 1 ? '' : 's'}`;
    const done = this.#read + this.#written;
    const seconds = (now - this.#first) / 1000;
    const rate = seconds > 0 && done > 1 ? `, ${((done - 1) / seconds).toFixed(1)} steps/s, ${byteSize(this.#bytes / seconds)}/s` : '';
    const held = this.#lastStep + 1;
    const replayed = this.#read === 0 ? '' : held > 0 ? `replayed ${this.#read} of ${steps(held)}` : `replayed ${steps(this.#read)}`;
    if (this.#written === 0) {
      const share = held > 0 ? `${Math.floor((100 * this.#read) / held)}%, ` : '';
      return `distill-delivery: ${replayed} (${share}${byteSize(this.#bytes)}) from ${this.subject}${rate}`;
    }
    const recorded = `recorded ${steps(this.#written)}`;
    return `distill-delivery: ${replayed === '' ? recorded : `${replayed}, then ${recorded}`} (${byteSize(this.#bytes)}) to ${this.subject}${rate}`;
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
