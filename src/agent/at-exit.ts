/**
 * The end of an agent run, when the process exits (the program ends, or calls
 * process.exit(), from a signal handler of its own too):
 * - with `"report"`, the report goes to stderr (and, with `"report": "path.json"`, as JSON
 *   to that file);
 * - without it, each finding of the report is a DistillDeliveryWarning with its code,
 *   one line each; `process.emitWarning` would print it on a tick that never comes after
 *   'exit', so it is emitted as the 'warning' event at once, which Node's own listener
 *   prints in its format and which --no-warnings, NODE_NO_WARNINGS=1 and
 *   --disable-warning silence, as they do any warning; a finding already given as a
 *   warning while the run went on (a leftover, a store found incomplete) is not given twice;
 * - strict mode (`"strict": true`, DISTILL_DELIVERY_STRICT=1) turns an exit status of 0
 *   into 1 when the report has findings, and prints the report then, even without "report".
 * It judges the process the user started, and each child process or worker thread (they
 * inherit the config) where a phase ran or a delivery fired: one that never touched the
 * targets (a data loader, a helper) is left alone.
 *
 * SIGINT and SIGTERM get no handler: a listener replaces Node's own ending, and runs only
 * when the event loop turns, which a synchronous training loop never lets it do, so the
 * signal would wait for the loop to finish, or be lost. The signal ends the process at
 * once, as without the agent, and nothing of ours runs then: the report file is kept up
 * to date as phases end instead (report-file.ts), and a store's committed steps are
 * already stored (docs/store.md).
 */
import { extname } from 'node:path';
import type { Agent } from './agent.js';
import { buildReport, renderReport, type Report, type Retarget } from './report.js';
import { ReportFile } from './report-file.js';
import { builtin } from '../runtime.js';
import { writeAllSync } from '../write-sync.js';

// Taken without their ES module namespaces, whose lazy getters cost a start a few ms (runtime.ts builtin()).
const { isMainThread, threadId } = builtin('node:worker_threads');

export interface EndOptions {
  /** Print the report to stderr. */
  readonly print: boolean;
  /** Also write it as JSON here (an absolute path). */
  readonly file: string | undefined;
  readonly strict: boolean;
  /** Where else to aim a delivery that never fired (hints.ts), when the config can have one. */
  readonly retarget: Retarget | undefined;
  /** The codes of the DistillDeliveryWarnings given while the run went on (from before the store opened). */
  readonly given: ReadonlySet<string>;
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

/** To stderr, all of it, though it be a full pipe (../write-sync.ts); if stderr is closed, there is nothing to report to. */
function write(text: string): void {
  writeAllSync(2, text);
}

/** Each finding as a DistillDeliveryWarning, but those given as warnings while the run went on: by its delivery, or (no delivery) of its code. */
function warnFindings(agent: Agent, report: Report, given: ReadonlySet<string>): void {
  for (const finding of report.findings) {
    const delivery = finding.delivery === undefined ? undefined : agent.manager.deliveries[finding.delivery];
    if (delivery === undefined ? given.has(finding.code) : delivery.details().warned.includes(finding.code)) continue;
    // As process.emitWarning makes one, emitted now: its own would wait for a tick.
    const warning = Object.assign(new Error(finding.message), { name: 'DistillDeliveryWarning', code: finding.code });
    process.emit('warning', warning);
  }
}

export function installEnd(agent: Agent, options: EndOptions): void {
  if (isMainThread) process.env.DISTILL_DELIVERY_FIRST_PID ??= String(process.pid);
  const json = (report: Report, running: boolean, strict: { failed: boolean } | undefined, ended: { exitCode: number } | null): object => ({ ...report, running, strict, ended, pid: process.pid, threadId });
  const file = options.file === undefined ? undefined : new ReportFile(fileFor(options.file), () => json(buildReport(agent, options.strict), true, undefined, null), write);
  if (file !== undefined) agent.phases.onEnd(() => file.phaseEnded());
  process.on('exit', (exitCode: number) => {
    // The store first, so that the report says what it holds (its error is printed where stores close: ../link/store-exit.ts).
    try {
      // A record run's rank is complete when the process ends with status 0 (not on an error or a non-zero exit; a signal runs none of this).
      agent.manager.close({ complete: exitCode === 0 });
    } catch {
      // in the report
    }
    const report = buildReport(agent, options.strict, options.retarget);
    const judged = first() || active(report);
    const failed = options.strict && report.findings.length > 0 && judged;
    const printed = options.print || failed;
    if (printed) write(renderReport(report));
    if (failed) write(`distill-delivery: strict mode: ${report.findings.length} finding(s) above, so the run fails (exit status 1).\n`);
    file?.final(json(report, false, options.strict ? { failed } : undefined, { exitCode }));
    if (failed && exitCode === 0) process.exitCode = 1;
    // Last: an app's 'warning' listener that throws cannot keep the rest from being done.
    if (!printed && judged) {
      // Node prints a warning to stderr through its stream: on a pipe, a write the reader has no room for yet is
      // queued for an event loop that no longer runs. Blocking, the stream writes it now (what is queued before it stays queued).
      try {
        (process.stderr as unknown as { _handle?: { setBlocking?: (blocking: boolean) => unknown } })._handle?.setBlocking?.(true);
      } catch {
        // no stderr to block
      }
      warnFindings(agent, report, options.given);
    }
  });
}
