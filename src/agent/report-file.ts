/**
 * `"report": "path.json"`: the report as JSON in a file, kept up to date while the run
 * goes on, since a signal (SIGINT, SIGTERM) ends the process without running anything of
 * ours (the agent installs no signal handler: one would delay the end of a synchronous
 * loop, at-exit.ts). The file is rewritten as phases end, at most once a second (and once
 * more when the program next yields, if a phase ended since), marked `"running": true`;
 * the exit rewrites it whole with `"running": false` and how the process ended. Each write
 * goes to a temporary file beside it, renamed over it, so a reader never sees half a file.
 */
import { dirname } from 'node:path';
import { builtin } from '../runtime.js';

// Taken without their ES module namespaces, whose lazy getters cost a start a few ms (runtime.ts builtin()).
const { mkdirSync, renameSync, rmSync, writeFileSync } = builtin('node:fs');
const { threadId } = builtin('node:worker_threads');
const debug = builtin('node:util').debuglog('delivery');

/** The least time between two writes while the run goes on. */
const EVERY_MS = 1000;

export class ReportFile {
  #last = -Infinity;
  #timer: NodeJS.Timeout | undefined;
  #folder = false;
  /** A write failed: later snapshots are not tried (the exit tries once more). */
  #failed = false;
  #complained = false;

  constructor(
    readonly path: string,
    /** The JSON of the run so far. */
    private readonly snapshot: () => object,
    /** Says on stderr that the file could not be written. */
    private readonly complain: (text: string) => void,
  ) {}

  /** A phase ended: the file is rewritten now, or within the second if it was a moment ago. */
  phaseEnded(): void {
    if (this.#failed) return;
    const wait = this.#last + EVERY_MS - performance.now();
    if (wait <= 0) {
      // A synchronous loop never lets the timer run: a later phase's end writes instead.
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.write(this.snapshot());
      return;
    }
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      if (!this.#failed) this.write(this.snapshot());
    }, wait).unref();
  }

  /** The report at the end of the run, whatever happened before. */
  final(json: object): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#failed = false;
    this.write(json);
  }

  private write(json: object): void {
    this.#last = performance.now();
    const temporary = `${this.path}.${process.pid}-${threadId}.tmp`;
    try {
      if (!this.#folder) mkdirSync(dirname(this.path), { recursive: true });
      this.#folder = true;
      writeFileSync(temporary, JSON.stringify(json, null, 2) + '\n');
      renameSync(temporary, this.path);
    } catch (error) {
      this.#failed = true;
      try {
        rmSync(temporary, { force: true });
      } catch {
        // nothing was written there
      }
      if (!this.#complained) this.complain(`distill-delivery: cannot write the report to ${this.path} (${(error as NodeJS.ErrnoException).code ?? String(error)}).\n`);
      this.#complained = true;
      debug('report file %s not written: %s', this.path, (error as Error).stack);
    }
  }
}
