/**
 * The agent's report: one row per delivery (recorded, replayed, left, discarded), the
 * phases that ran, and findings, each with a code, that strict mode fails a run for: a
 * delivery that never fired or had calls refused, outputs left or discarded (by cause),
 * a phase that never ran, no phases at all (strict only), divergences, outputs that were
 * all undefined (a function that works by side effect). Counts only:
 * recorded values may be private data. at-exit.ts prints it and decides the exit status.
 */
import type { DeliveryDetails, DistillDelivery } from '../delivery/distill-delivery.js';
import type { StoreSummary } from '../delivery/linked-store.js';
import { INCOMPLETE_STORE_WARNING, UNDEFINED_OUTPUTS_WARNING } from '../errors.js';
import { runtime } from '../runtime.js';
import type { Agent } from './agent.js';
import { targetOf } from '../recorder/recorder-manager.js';

/** hints.ts's retarget(), given by the agent's start where it may be needed (it loads the parser). */
export type Retarget = typeof import('./hints.js').retarget;

export interface Finding {
  readonly code: string;
  readonly delivery?: string;
  readonly message: string;
}

export interface DeliveryRow {
  readonly name: string;
  readonly target: string;
  readonly recorded: number;
  readonly replayed: number;
  readonly pending: number;
  readonly discarded: number;
  /** By cause: override phases that replayed less (leftover), failed record phases, late records. */
  readonly discardedBy: DeliveryDetails['discarded'];
  /** Calls that failed with ERR_DELIVERY_QUEUE_EMPTY or ERR_DELIVERY_QUEUE_FULL. */
  readonly refused: number;
  /** Recorded outputs that were undefined. */
  readonly undefinedOutputs: number;
  /** With a store: records written (record) or read (replay). */
  readonly stored?: number;
  /** Records of this delivery in steps committed that the store never held (a server that died): they fired all the same. */
  readonly unstored?: number;
}

export interface RecorderRow {
  readonly name: string;
  readonly target: string;
  /** The phases it is active in. */
  readonly phases: readonly ('record' | 'override')[];
  /** Calls it recorded in all. */
  readonly recorded: number;
  /** Records a store gave back in a replay's record phases. */
  readonly fromStore: number;
}

export interface Report {
  readonly deliveries: DeliveryRow[];
  /** The config's recorders (left out when it has none). */
  readonly recorders?: RecorderRow[];
  readonly phases: { readonly configured: { readonly record: readonly string[]; readonly override: readonly string[] }; readonly ran: { readonly record: number; readonly override: number } };
  readonly diverged: number;
  /** With a store: what was written or replayed. */
  readonly store?: StoreSummary;
  readonly findings: Finding[];
}

function deliveryTarget(delivery: DistillDelivery): string {
  const d = delivery as unknown as { funcPath?: string; methodPath?: string };
  return d.funcPath ?? d.methodPath!;
}

const quoted = (names: readonly string[]): string => names.map((n) => `"${n}"`).join(', ');

/**
 * Why a delivery never fired, and what to do: name the phases; run the phase that never
 * ran; call it inside the steps, when every call came outside them (a data loader called
 * between steps); aim it at the module the steps call it through (`retarget`: looked for
 * in the run's files, at the end only).
 */
function neverFired(agent: Agent, row: DeliveryRow, method: boolean, retarget: Retarget | undefined): string {
  const { names: configured, runs } = agent.phases;
  const head = `delivery "${row.name}" never fired: no call reached "${row.target}" during a phase or run()`;
  if (!agent.phases.configured) return `${head}, and the config has no phases; name the teacher's and the student's step functions in phases.record and phases.override.`;
  if (runs.record === 0 || runs.override === 0) return `${head}, since not every phase ran (see the ${runs.record === 0 ? 'record' : 'override'} phase's warning).`;
  const site = agent.sites.find((s) => s.label === row.target && s.role === 'delivery');
  const outside = site?.site.outside ?? 0;
  const nested = site?.site.nested ?? 0;
  const members = row.target.slice(row.target.lastIndexOf('#') + 1).split('.');
  const where = method || site === undefined || retarget === undefined ? undefined : retarget(site.module, members, agent.config.base);
  const paths = where === undefined ? [] : [...(where.source ? [where.source] : []), ...where.importers];
  const ran = `${runs.record} record and ${runs.override} override phase(s) ran`;
  if (nested > 0) {
    return `delivery "${row.name}" never fired, though ${ran}: each of its ${nested} call(s) in them came while another delivered function's call was being recorded, as part of that call's work, which the student replays whole; it needs no delivery of its own (or deliver it, and not the function that calls it).`;
  }
  const called = `it was called ${outside} time(s), each outside the phases (between steps, as a data loader is, or while modules loaded)`;
  if (paths.length > 0) {
    const why = outside > 0 ? `${called}, and this module imports the function` : `this module imports the function`;
    return `${head}, though ${ran}: ${why}, so only the calls made through this module are delivered, and the phases may call it through another module; name ${paths.map((p) => `"${p}"`).join(' or ')}.`;
  }
  if (outside > 0) {
    return `${head}, though ${ran}: ${called}, and only calls made while a phase function runs are delivered; make the call inside the steps named in phases.record (${quoted(configured.record)}) and phases.override (${quoted(configured.override)}), or deliver the function that makes it there.`;
  }
  return `${head}, though ${ran}, nor any call outside them: the steps named in phases.record (${quoted(configured.record)}) and phases.override (${quoted(configured.override)}) never call it${method || site?.site.onProperty ? '' : ' through this module'}; name the function as the module that calls it in the steps imports it, or one the steps call.`;
}

/**
 * Whether a delivery fired, refused calls aside: it recorded or replayed a call, or (a
 * store's recordOnly delivery, which keeps nothing for the student) its store read or
 * wrote records of it this run. What the report and the count of calls outside phases
 * (outside-calls.ts) both ask.
 */
export function fired(counts: Pick<DeliveryRow, 'recorded' | 'replayed' | 'stored' | 'unstored'>): boolean {
  return counts.recorded + counts.replayed > 0 || (counts.stored ?? 0) + (counts.unstored ?? 0) > 0;
}

function deliveryFindings(agent: Agent, row: DeliveryRow, method: boolean, retarget: Retarget | undefined): Finding[] {
  const found: Finding[] = [];
  const add = (code: string, message: string): void => void found.push({ code, delivery: row.name, message });
  if (row.refused > 0) add('DISTILL_DELIVERY_REFUSED', `delivery "${row.name}": ${row.refused} call(s) were refused (ERR_DELIVERY_QUEUE_EMPTY or ERR_DELIVERY_QUEUE_FULL); that error says why and what to do.`);
  else if (!fired(row)) add('DISTILL_DELIVERY_NEVER_FIRED', neverFired(agent, row, method, retarget));
  if (row.recorded > 0 && row.undefinedOutputs === row.recorded) {
    add(UNDEFINED_OUTPUTS_WARNING, `delivery "${row.name}": all ${row.recorded} recorded output(s) were undefined. A function that works by changing its arguments (as tf.util.shuffle does) cannot be delivered by its outputs; deliver a function that returns the result (the shuffled array, the permutation, the draws) instead.`);
  }
  if (row.pending > 0) add('DISTILL_DELIVERY_PENDING', `delivery "${row.name}": ${row.pending} recorded output(s) were never replayed; run the student's step (phases.override) after each teacher step, as often as the teacher's.`);
  const by = row.discardedBy;
  if (by.leftover > 0) add('DISTILL_DELIVERY_LEFTOVER', `delivery "${row.name}": ${by.leftover} output(s) were discarded because an override phase replayed fewer than its record phase made; make the student call it as often as the teacher.`);
  if (by.failed > 0) add('DISTILL_DELIVERY_FAILED_STEP', `delivery "${row.name}": ${by.failed} output(s) were discarded because a record phase threw or rejected; see that error.`);
  if (by.late > 0) add('DISTILL_DELIVERY_LATE_RECORD', `delivery "${row.name}": ${by.late} output(s) were discarded because a record phase recorded after its override phase had ended; let each teacher step finish (await it) before its student step starts.`);
  return found;
}

/** The report of the run so far; with `retarget`, where to aim a delivery that never fired (it reads the run's files: at the end only). */
export function buildReport(agent: Agent, strict: boolean, retarget?: Retarget): Report {
  const deliveries: DeliveryRow[] = [];
  const findings: Finding[] = [];
  const store = agent.manager.storeSummary();
  for (const [name, delivery] of Object.entries(agent.manager.deliveries)) {
    const stats = delivery.stats();
    const details = delivery.details();
    const row = { name, target: deliveryTarget(delivery), ...stats, discarded: stats.discarded, discardedBy: details.discarded, refused: details.refused, undefinedOutputs: stats.undefinedOutputs, stored: store?.records[name], unstored: store?.unstoredRecords[name] };
    deliveries.push(row);
    findings.push(...deliveryFindings(agent, row, (delivery as unknown as { methodPath?: string }).methodPath !== undefined, retarget));
  }
  const recorders = recorderRows(agent);
  for (const row of recorders) if (row.recorded === 0 && row.fromStore === 0) findings.push({ code: 'DISTILL_DELIVERY_RECORDER_NEVER_FIRED', message: recorderNeverFired(agent, row) });
  const { names, runs } = agent.phases;
  for (const kind of ['record', 'override'] as const) {
    if (names[kind].length > 0 && runs[kind] === 0) {
      findings.push({ code: 'DISTILL_DELIVERY_PHASE_NEVER_RAN', message: `no ${kind} phase ran: phases.${kind} (${quoted(names[kind])}) was never called; check that the program calls the ${kind === 'record' ? "teacher's" : "student's"} step, and that the path names it in the module that defines or calls it.` });
    }
  }
  if (strict && !agent.phases.configured) {
    findings.push({ code: 'DISTILL_DELIVERY_NO_PHASES', message: 'the config has no phases, so nothing aligns the teacher and the student; name their step functions in phases.record and phases.override.' });
  }
  const diverged = runtime.seen.diverged;
  if (diverged > 0) findings.push({ code: 'DISTILL_DELIVERY_DIVERGED', message: `${diverged} replayed call(s) diverged from the teacher's (ERR_DELIVERY_DIVERGED); make the student call it as the teacher does, or set check: "off" if the difference is intended.` });
  if (store !== undefined) findings.push(...storeFindings(store));
  return { deliveries, ...(recorders.length > 0 && { recorders }), phases: { configured: names, ran: { ...runs } }, diverged, store, findings };
}

function recorderRows(agent: Agent): RecorderRow[] {
  return Object.entries(agent.recorders.recorders).map(([name, recorder]) => ({ name, target: targetOf(recorder), phases: agent.recorders.phasesOf(recorder), ...recorder.counts() }));
}

/** Why a recorder recorded nothing (the usual reason its reader sees an empty dataBuffer). */
function recorderNeverFired(agent: Agent, row: RecorderRow): string {
  const head = `recorder "${row.name}" never recorded: no call reached "${row.target}" while it was active`;
  const { names, runs } = agent.phases;
  const during = row.phases.filter((kind) => names[kind].length > 0);
  if (during.length === 0) return `${head}, and the config names no ${row.phases.join(' or ')} phase to activate it; name the step functions in phases, or run it in code (getRecorder("${row.name}").run(fn)).`;
  if (during.every((kind) => runs[kind] === 0)) return `${head}, since its phases never ran (see below).`;
  return `${head}, though its phases ran: the steps named in ${during.map((kind) => `phases.${kind}`).join(' and ')} never call it through this path; name the module where the function is used (for a function), or check the class and method (for a method).`;
}

/** What strict mode fails a store run for: a store that stopped, steps not written, stored steps not replayed, an incomplete store. */
function storeFindings(store: StoreSummary): Finding[] {
  const found: Finding[] = [];
  if (store.error !== undefined) {
    const lost = store.unstored > 0 ? ` It holds ${store.written} step(s) of this run; ${store.unstored} more were committed and never stored.` : '';
    found.push({ code: 'DISTILL_DELIVERY_STORE_FAILED', message: `the store "${store.url}" stopped: ${store.error}${lost}` });
  }
  if (store.unwritten > 0) {
    found.push({ code: 'DISTILL_DELIVERY_STORE_UNWRITTEN', message: `${store.unwritten} record phase(s) were not written to the store "${store.url}": they had not ended, or their promises had not settled, when the store was closed.` });
  }
  const held = store.lastStep === undefined ? undefined : store.lastStep + 1;
  // Auto: a run that wrote nothing ended before the steps the store held ran out.
  if ((store.mode === 'replay' || (store.mode === 'auto' && store.written === 0)) && held !== undefined && store.read < held) {
    found.push({ code: 'DISTILL_DELIVERY_STORE_UNREPLAYED', message: `${store.read} of the ${held} step(s) the store "${store.url}" holds were replayed.` });
  }
  if (store.complete === false && store.mode === 'replay') {
    found.push({ code: INCOMPLETE_STORE_WARNING, message: `the store "${store.url}" (rank ${store.rank}) is incomplete: its record run did not finish (it was killed or failed, or is still writing), so this replay had at most its ${held ?? 0} step(s); finish it with a run in mode "auto", or record it again.` });
  } else if (store.complete === false && store.error === undefined && store.unwritten === 0) {
    found.push({ code: INCOMPLETE_STORE_WARNING, message: `the store "${store.url}" (rank ${store.rank}) was left incomplete, since this run did not end with exit status 0: a replay of it warns; finish it with a run in mode "auto", or record it again.` });
  }
  return found;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ').trimEnd()).join('\n');
}

export function renderReport(report: Report): string {
  const lines: string[] = ['', 'distill-delivery report'];
  const rows = [['delivery', 'target', 'recorded', 'replayed', 'left in queue', 'discarded']];
  for (const d of report.deliveries) rows.push([d.name, d.target, String(d.recorded), String(d.replayed), String(d.pending), String(d.discarded)]);
  lines.push(rows.length > 1 ? table(rows) : '(no deliveries configured)');
  if (report.recorders !== undefined) {
    const recorders = [['recorder', 'target', 'phases', 'recorded', 'from store']];
    for (const r of report.recorders) recorders.push([r.name, r.target, r.phases.join(', '), String(r.recorded), String(r.fromStore)]);
    lines.push(table(recorders));
  }
  const { configured, ran } = report.phases;
  if (configured.record.length > 0 || configured.override.length > 0) lines.push(`phases: ${ran.record} record, ${ran.override} override`);
  if (report.store !== undefined) lines.push(storeLine(report.store));
  for (const f of report.findings) lines.push(`warning [${f.code}]: ${f.message}`);
  return lines.join('\n') + '\n';
}

/**
 * `store: wrote 640 step(s) to "./outputs" (rank 0): mixup 640, logits 640`; auto: `replayed
 * 300 of 300 step(s) from and wrote 340 step(s) to`. Written: the steps the store holds (for
 * Redis, those the server acknowledged), then those it does not.
 */
function storeLine(store: StoreSummary): string {
  const held = store.lastStep === undefined ? '' : ` of ${store.lastStep + 1}`;
  const replayed = `replayed ${store.read}${held} step(s) from`;
  const what = store.mode === 'record' ? `wrote ${store.written} step(s) to` : store.mode === 'replay' ? replayed : `${replayed} and wrote ${store.written} step(s) to`;
  const records = Object.entries(store.records).map(([name, n]) => `${name} ${n}`).join(', ');
  const unstored = store.unstored > 0 ? `; ${store.unstored} more step(s) were committed and never stored` : '';
  return `store: ${what} "${store.url}" (rank ${store.rank})${records ? `: ${records} record(s)` : ''}${unstored}`;
}
