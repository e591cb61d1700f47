/**
 * The report printed to stderr at exit (`"report": true` or DISTILL_DELIVERY_REPORT=1):
 * one row per delivery, and warnings for deliveries that never fired (with the modules
 * that import the name, since targeting the defining module is the usual mistake) and
 * for outputs left unreplayed. Counts only: recorded values may be private data.
 */
import { readdirSync, readFileSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Agent } from './agent.js';

function display(url: string): string {
  if (!url.startsWith('file:')) return url;
  const rel = relative(process.cwd(), fileURLToPath(url));
  return rel.startsWith('..') ? fileURLToPath(url) : `./${rel}`;
}

/** Source files under `root` (not node_modules, not dot folders), at most `limit`. */
function sourceFiles(root: string, limit = 4000): string[] {
  const out: string[] = [];
  const stack = [root];
  while (stack.length > 0 && out.length < limit) {
    const dir = stack.pop()!;
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) stack.push(path);
      else if (/\.[cm]?js$/.test(entry.name)) out.push(path);
    }
  }
  return out;
}

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|\bimport\s+)(['"])([^'"\n]+)\1/g;

/** Files that import `name` from the module at `url` (a quick scan, done only when warning). */
export function importersOf(url: string, name: string): string[] {
  if (!url.startsWith('file:')) return [];
  const target = fileURLToPath(url);
  const entry = process.argv[1];
  const candidates = new Set<string>(sourceFiles(entry ? dirname(entry) : process.cwd()));
  const cache = createRequire(import.meta.url).cache;
  for (const file of Object.keys(cache)) if (!file.includes('node_modules')) candidates.add(file);
  const word = new RegExp(`(^|[^\\w$])${name.replace(/[$]/g, '\\$')}([^\\w$]|$)`);
  const found: string[] = [];
  for (const file of candidates) {
    if (file === target) continue;
    let source: string;
    try {
      source = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    if (!word.test(source)) continue;
    const require = createRequire(file);
    for (const match of source.matchAll(SPECIFIER)) {
      try {
        if (require.resolve(match[2]!) === target) {
          found.push(display(`file://${file}`));
          break;
        }
      } catch {
        // not resolvable from here: not an import of the target
      }
    }
  }
  return found.sort();
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ').trimEnd()).join('\n');
}

export function renderReport(agent: Agent): string {
  const lines: string[] = ['', 'distill-delivery report'];
  const deliveries = agent.manager.deliveries;
  const rows = [['delivery', 'target', 'recorded', 'replayed', 'left in queue', 'discarded']];
  const warnings: string[] = [];
  for (const [name, delivery] of Object.entries(deliveries)) {
    const target = (delivery as unknown as { funcPath?: string; methodPath?: string }).funcPath ?? (delivery as unknown as { methodPath: string }).methodPath;
    const stats = delivery.stats();
    rows.push([name, target, String(stats.recorded), String(stats.replayed), String(stats.pending), String(stats.discarded)]);
    if (stats.recorded === 0 && stats.replayed === 0) {
      const site = agent.sites.find((s) => s.label === target && s.role === 'delivery');
      const member = target.slice(target.lastIndexOf('#') + 1).split('.')[0]!;
      const importers = site ? importersOf(site.module, member) : [];
      warnings.push(
        `delivery "${name}" never fired: no call reached "${target}" during a phase or run().` +
          (importers.length > 0
            ? ` These modules import "${member}" from it: ${importers.join(', ')}. Name the module where the function is used, e.g. "${importers[0]}#${member}" (the anchor_head caveat).`
            : ''),
      );
    }
    if (stats.recorded > 0 && stats.undefinedOutputs === stats.recorded) {
      warnings.push(`delivery "${name}": all ${stats.recorded} recorded output(s) were undefined. A function that works by changing its arguments (as tf.util.shuffle does) cannot be delivered by its outputs; deliver a function that returns the result (the shuffled array, the permutation, the draws) instead.`);
    }
    if (stats.pending > 0) warnings.push(`delivery "${name}": ${stats.pending} recorded output(s) were never replayed.`);
    if (stats.discarded > 0) warnings.push(`delivery "${name}": ${stats.discarded} output(s) were discarded because an override phase left them unreplayed.`);
  }
  lines.push(rows.length > 1 ? table(rows) : '(no deliveries configured)');
  const phases = agent.sites.filter((s) => s.role === 'record' || s.role === 'override');
  if (phases.length > 0) {
    lines.push(`phases: ${agent.phaseRuns.record} record, ${agent.phaseRuns.override} override`);
    if (agent.phaseRuns.record === 0 && phases.some((s) => s.role === 'record')) warnings.push('no record phase ran: none of phases.record was called.');
    if (agent.phaseRuns.override === 0 && phases.some((s) => s.role === 'override')) warnings.push('no override phase ran: none of phases.override was called.');
  }
  for (const w of warnings) lines.push(`warning: ${w}`);
  return lines.join('\n') + '\n';
}

export function installReport(agent: Agent): void {
  process.on('exit', () => {
    try {
      writeSync(2, renderReport(agent));
    } catch {
      // stderr closed: nothing to report to
    }
  });
}
