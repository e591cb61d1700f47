/**
 * A rank's record runs: where its steps came from. Each writer that opens a rank (new,
 * resumed or overwritten) adds a run, with when it started, the step it started at and
 * the provenance its caller gives (Node's and the package's versions, the script, the
 * host, a hash of the config); a close with `complete: true` ends it (when, how long, how
 * many steps). A rank is complete when its last run ended so. Kept as one JSON array per
 * rank (directory: `rank-<r>/runs.json`, replaced whole; Redis: `<key>:runs-<r>`).
 */
import { storeErrors } from '../errors.js';

export type Opening = 'new' | 'resume' | 'overwrite';

/** One record run of a rank, as `store info` shows it. */
export interface RunRecord {
  /** When the writer opened the rank (ISO 8601). */
  readonly started: string;
  /** How it opened the rank: a new one, resumed after its last complete step, or overwritten. */
  readonly opened: Opening;
  /** The first step this run wrote. */
  readonly firstStep: number;
  /** Once the run ended complete: when, how long it took, and how many steps it wrote. */
  readonly ended?: string;
  readonly durationMs?: number;
  readonly steps?: number;
  /** What the caller gave (WriterOptions.provenance): the link gives node, package, script, host, pid, configHash. */
  readonly [key: string]: unknown;
}

/** The runs after a writer opened the rank: those kept (none when it overwrote), then its own. */
export function startRun(kept: readonly RunRecord[], provenance: Record<string, unknown> | undefined, firstStep: number, opened: Opening, now = new Date()): RunRecord[] {
  const own = { started: now.toISOString(), opened, firstStep };
  // The store's own fields first and never replaced by the caller's.
  return [...kept, { ...own, ...provenance, ...own }];
}

/** The runs once the last one ended complete, having written up to `nextStep` (exclusive). */
export function endRun(runs: readonly RunRecord[], nextStep: number, now = new Date()): RunRecord[] {
  const last = runs.at(-1);
  if (last === undefined) return [...runs];
  const durationMs = Math.max(0, now.getTime() - Date.parse(last.started));
  return [...runs.slice(0, -1), { ...last, ended: now.toISOString(), durationMs, steps: nextStep - last.firstStep }];
}

/** What a copy writes at open: the source's runs as if none had ended yet (each end comes back at a complete close). */
export function unended(runs: readonly RunRecord[]): RunRecord[] {
  return runs.map(({ ended: _ended, durationMs: _durationMs, steps: _steps, ...run }) => run as RunRecord);
}

/** A rank is complete when its last run ended complete. */
export function isComplete(runs: readonly RunRecord[]): boolean {
  return typeof runs.at(-1)?.ended === 'string';
}

export function serializeRuns(runs: readonly RunRecord[]): string {
  return JSON.stringify(runs, null, 1) + '\n';
}

/** The runs in a runs file or key (none when it is absent); ERR_DELIVERY_STORE_CORRUPT when it holds something else. */
export function parseRuns(subject: string, text: string | undefined, where: string, lastGood: number): RunRecord[] {
  if (text === undefined) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw storeErrors.corrupt(subject, `${where} is not JSON`, lastGood);
  }
  const valid = (run: unknown): boolean => run !== null && typeof run === 'object' && typeof (run as RunRecord).started === 'string' && Number.isSafeInteger((run as RunRecord).firstStep);
  if (!Array.isArray(parsed) || !parsed.every(valid)) throw storeErrors.corrupt(subject, `${where} is not a list of record runs`, lastGood);
  return parsed as RunRecord[];
}
