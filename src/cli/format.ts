/** What the command line prints: short tables for people, sizes and durations. */
import type { CopyReport, RankVerdict, StepInfo, StoreInfo, VerifyReport } from '../store/open-store.js';
import type { RunRecord } from '../store/runs.js';
import { byteSize } from '../byte-size.js';

/** Writes `text` to stdout; returns exit status 0. */
export function print(text: string): number {
  process.stdout.write(text);
  return 0;
}

/** `1.2 MB` (powers of 1000, as ls -h --si and npm do). */
export function size(bytes: number | null): string {
  return bytes === null ? '?' : byteSize(bytes, true);
}

/** `850 ms`, `12.3 s`, `4 min 05 s`, `2 h 03 min`. */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor(s / 60) % 60).padStart(2, '0')} min`;
}

/** Columns padded to their widest cell; the header row first. */
export function table(rows: string[][], indent = '  '): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => indent + r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()).join('\n') + '\n';
}

const steps = (first: number, count: number): string => (count === 0 ? 'none' : count === 1 ? `${first}` : `${first}-${first + count - 1}`);
const text = (value: unknown): string => (value === undefined || value === null ? '-' : String(value));

function runRow(rank: number, run: RunRecord, next: RunRecord | undefined, lastStep: number): string[] {
  // A run that did not end wrote the steps up to the next run's first, or to the rank's last.
  const count = typeof run.steps === 'number' ? run.steps : (next?.firstStep ?? lastStep + 1) - run.firstStep;
  const took = typeof run.durationMs === 'number' ? duration(run.durationMs) : 'did not end';
  const hash = typeof run.configHash === 'string' ? run.configHash.slice(0, 12) : '-';
  return [String(rank), steps(run.firstStep, Math.max(0, count)), run.started, took, text(run.node), text(run.package), text(run.host), text(run.pid), text(run.script), hash];
}

export function renderInfo(info: StoreInfo): string {
  const out = [`store "${info.url}" (${info.kind}): ${info.complete ? 'complete' : 'incomplete'}, ${info.ranks.length} rank(s), ${info.steps} step(s), ${size(info.bytes)}\n`];
  for (const [title, list] of [['deliveries', info.deliveries], ['recorders', info.recorders]] as const) {
    if (list.length === 0) continue;
    out.push(`${title}:\n`, table([['name', 'type', 'target', 'check'], ...list.map((d) => [d.name, text(d.type), text(d.target), text(d.check)])]));
  }
  out.push('ranks:\n', table([['rank', 'steps', 'bytes', 'complete', 'note'], ...info.ranks.map((r) => [String(r.rank), String(r.steps), size(r.bytes), r.complete ? 'yes' : 'no', r.error ? `${r.error.code}: ${r.error.message}` : (r.tail ?? '')])]));
  const runs = info.ranks.flatMap((r) => r.runs.map((run, i) => runRow(r.rank, run, r.runs[i + 1], r.lastStep)));
  if (runs.length > 0) out.push('record runs:\n', table([['rank', 'steps', 'started', 'took', 'node', 'package', 'host', 'pid', 'script', 'config hash'], ...runs]));
  return out.join('');
}

function verdictLine(v: RankVerdict): string {
  const held = v.lastIntactStep < 0 ? 'no step' : v.lastIntactStep === 0 ? 'step 0' : `steps 0 to ${v.lastIntactStep}`;
  const state = v.complete ? 'complete' : 'incomplete';
  if (v.intact) return `rank ${v.rank}: intact, ${held} (${size(v.bytes)} read), ${state}${v.tail ? `; after it: ${v.tail}` : ''}\n`;
  return `rank ${v.rank}: ${v.error!.code}: ${v.error!.message} Last intact step: ${v.lastIntactStep < 0 ? 'none' : v.lastIntactStep}.\n`;
}

export function renderVerify(report: VerifyReport): string {
  const lines = report.ranks.map(verdictLine);
  const damaged = report.ranks.filter((v) => !v.intact).map((v) => v.rank);
  lines.push(damaged.length > 0 ? `store "${report.url}": damaged (rank ${damaged.join(', ')})\n` : `store "${report.url}": intact, ${report.complete ? 'complete' : 'incomplete (a record run did not finish)'}\n`);
  return lines.join('');
}

/** One rank's steps: step, records, bytes, then calls per delivery (the store's deliveries first, in order). */
export function renderSteps(rank: number, list: readonly StepInfo[], deliveries: readonly string[]): string {
  const names = [...deliveries];
  for (const s of list) for (const name of Object.keys(s.calls)) if (!names.includes(name)) names.push(name);
  const rows = [['step', 'records', 'bytes', ...names, 'phase'], ...list.map((s) => [String(s.step), String(s.records), size(s.bytes), ...names.map((n) => String(s.calls[n] ?? 0)), s.failed ? 'threw' : ''])];
  return `rank ${rank}: ${list.length} step(s)\n${list.length > 0 ? table(rows) : ''}`;
}

export function renderCopy(report: CopyReport): string {
  const incomplete = report.ranks.filter((r) => !r.complete).map((r) => r.rank);
  return `copied "${report.from}" to "${report.to}": ${report.ranks.length} rank(s), ${report.steps} step(s), ${size(report.bytes)}, each step read back and compared${incomplete.length > 0 ? `; rank ${incomplete.join(', ')} incomplete, as in the store copied` : ''}\n`;
}
