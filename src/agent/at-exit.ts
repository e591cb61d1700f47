/**
 * The end of a run with `"report"` or strict mode: the report goes to stderr (and, with
 * `"report": "path.json"`, as JSON to that file) when the process exits, and when SIGINT
 * or SIGTERM would end it; then the process ends as the signal would have ended it.
 * Strict mode (`"strict": true`, DISTILL_DELIVERY_STRICT=1) turns an exit status of 0
 * into 1 when the report has findings; it prints the report then, even without "report".
 * It judges the process the user started, and each child process or worker thread (they
 * inherit the config) where a phase ran or a delivery fired: one that never touched the
 * targets (a data loader, a helper) is left alone.
 */
import { mkdirSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, extname } from 'node:path';
import { debuglog } from 'node:util';
import { isMainThread, threadId } from 'node:worker_threads';
import type { Agent } from './agent.js';
import { buildReport, renderReport, type Report } from './report.js';
import { appHandles, ownListener } from '../runtime.js';

const debug = debuglog('delivery');

export interface EndOptions {
  /** Print the report to stderr. */
  readonly print: boolean;
  /** Also write it as JSON here (an absolute path). */
  readonly file: string | undefined;
  readonly strict: boolean;
}

/** The main thread of the process the user started (not a child that inherited the agent, nor a worker). */
function first(): boolean {
  return isMainThread && process.env.DISTILL_DELIVERY_FIRST_PID === String(process.pid);
}

/** Whether anything reached the agent in this thread: a phase, or a call to a delivery's or recorder's target. */
function active(report: Report): boolean {
  const { ran } = report.phases;
  return (
    ran.record + ran.override > 0 ||
    report.deliveries.some((d) => d.recorded + d.replayed + d.refused > 0) ||
    (report.recorders ?? []).some((r) => r.recorded + r.fromStore > 0) ||
    (report.store?.steps ?? 0) > 0
  );
}

/** Children and worker threads inherit the config: each writes its own file next to the first process's. */
function fileFor(file: string): string {
  if (first()) return file;
  const ext = extname(file);
  return `${file.slice(0, file.length - ext.length)}.${process.pid}${isMainThread ? '' : `-${threadId}`}${ext}`;
}

function write(text: string): void {
  try {
    writeSync(2, text);
  } catch {
    // stderr closed: nothing to report to
  }
}

export function installEnd(agent: Agent, options: EndOptions): void {
  if (isMainThread) process.env.DISTILL_DELIVERY_FIRST_PID ??= String(process.pid);
  let done = false;
  const end = (ended: { exitCode: number } | { signal: NodeJS.Signals }): boolean => {
    if (done) return false;
    done = true;
    // The store first, so that the report says what it holds (its error is printed where stores close: ../link/store-exit.ts).
    try {
      // A record run's rank is complete when the process ends with status 0 (not on an error, a non-zero exit or a signal).
      agent.manager.close({ complete: 'exitCode' in ended && ended.exitCode === 0 });
    } catch {
      // in the report
    }
    const report = buildReport(agent, options.strict);
    const failed = options.strict && report.findings.length > 0 && (first() || active(report));
    if (options.print || failed) write(renderReport(report));
    if (failed) write(`distill-delivery: strict mode: ${report.findings.length} finding(s) above, so the run fails${'exitCode' in ended ? ' (exit status 1)' : ''}.\n`);
    if (options.file !== undefined) writeJson(fileFor(options.file), report, options.strict, failed, ended);
    return failed;
  };
  process.on(
    'exit',
    ownListener((exitCode: number) => {
      if (end({ exitCode }) && exitCode === 0) process.exitCode = 1;
    }),
  );
  // Worker threads get no signals (only the main thread does).
  if (!isMainThread) return;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    const onSignal = ownListener((): void => {
      // The app has its own handler: it decides whether to exit, and the exit prints the report.
      if (appHandles(signal)) return;
      end({ signal });
      process.off(signal, onSignal);
      process.kill(process.pid, signal);
    });
    process.on(signal, onSignal);
  }
}

function writeJson(file: string, report: Report, strict: boolean, failed: boolean, ended: { exitCode: number } | { signal: NodeJS.Signals }): void {
  const json = { ...report, strict: strict ? { failed } : undefined, ended, pid: process.pid, threadId };
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(json, null, 2) + '\n');
  } catch (error) {
    write(`distill-delivery: cannot write the report to ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)}).\n`);
    debug('report file %s not written: %s', file, (error as Error).stack);
  }
}
