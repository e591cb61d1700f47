/**
 * How a Redis store lays out its data. Keys: `<key>:meta` (the metadata envelope, set
 * once), `<key>:rank-<r>` (a stream per rank) and `<key>:runs-<r>` (its record runs). Entry ids carry the step, so a step
 * is found by its id and a second writer of a rank is refused by Redis itself (XADD
 * fails on an id not above the last one):
 *
 *   step s            (2s+1)-0     fields h (JSON [[delivery, call, signature, length], ...]),
 *                                  n (entries, when more than one), then p (bytes) per part
 *   step s, more      (2s+1)-i     fields p, for a step of more than ENTRY_BYTES
 *   end after step L  (2L+2)-1     field e (the writer closed; a resume adds steps after it)
 *
 * The parts of a step's entries, concatenated, are its payloads in order, none split
 * between two parts. A step is written atomically, so it is in the stream whole or not
 * at all, even when its writer dies: by one XADD (Redis runs a command only once it
 * has all of it) up to STEP_BYTES of payloads, by XADDs of about ENTRY_BYTES each in a
 * MULTI/EXEC transaction above that (Redis builds an entry by growing it field by
 * field, which costs it more than the bytes once entries pass a few MB).
 */
import type { StoreRecord } from './types.js';

/** Steps with at most this many bytes of payloads are one entry. */
export const STEP_BYTES = 2 << 20;
/** Larger steps are entries of about this many bytes (a larger payload is one entry). */
export const ENTRY_BYTES = 1 << 20;

export const metaKey = (key: string): string => `${key}:meta`;
export const streamKey = (key: string, rank: number): string => `${key}:rank-${rank}`;
/** A rank's record runs (runs.ts), as one JSON string. */
export const runsKey = (key: string, rank: number): string => `${key}:runs-${rank}`;
export const entryId = (step: number, index: number): string => `${2 * step + 1}-${index}`;
export const endId = (last: number): string => `${2 * last + 2}-1`;
/** XREAD's cursor (exclusive) to read from step `from` on, the end mark before it included. */
export const cursorBefore = (from: number): string => (from === 0 ? '0-0' : `${2 * from}-0`);

/** A record's head in a step's h field. */
export type Head = [delivery: string, call: number, signature: string, length: number];

/** The last complete step of a stream from its last entry's id (-1 when empty). */
export function lastStepOf(lastId: string | undefined): number {
  if (lastId === undefined) return -1;
  const ms = Number(lastId.slice(0, lastId.indexOf('-')));
  return ms % 2 === 1 ? (ms - 1) / 2 : ms / 2 - 1;
}

/**
 * The entries of a step's XADDs: the first holds the heads; parts go in order, an entry
 * taking parts until it holds ENTRY_BYTES (one entry for a step of up to STEP_BYTES).
 */
export function stepEntries(heads: string, parts: readonly Buffer[]): (string | Buffer)[][] {
  let total = 0;
  for (const part of parts) total += part.byteLength;
  const entries: (string | Buffer)[][] = [['h', heads]];
  let size = 0;
  for (const part of parts) {
    if (total > STEP_BYTES && size > 0 && size + part.byteLength > ENTRY_BYTES) {
      entries.push([]);
      size = 0;
    }
    entries.at(-1)!.push('p', part);
    size += part.byteLength;
  }
  if (entries.length > 1) entries[0]!.splice(2, 0, 'n', String(entries.length));
  return entries;
}

export type Entry =
  | { kind: 'head'; step: number; heads: string; entries: number; parts: Buffer[] }
  | { kind: 'more'; step: number; index: number; parts: Buffer[] }
  | { kind: 'end'; last: number };

/** One stream entry as XREAD gives it with blob strings as Buffers, or what is wrong with it. */
export function parseEntry(id: Buffer, fields: Buffer[]): Entry | string {
  const text = id.toString('latin1');
  const dash = text.indexOf('-');
  const ms = Number(text.slice(0, dash));
  const index = Number(text.slice(dash + 1));
  // Field names are one byte: h, n and p in a step, e in an end mark.
  if (ms % 2 === 0) return index === 1 && fields[0]?.[0] === 0x65 ? { kind: 'end', last: ms / 2 - 1 } : `entry ${text} is not an end mark`;
  const step = (ms - 1) / 2;
  let at = 0;
  let heads: string | undefined;
  let entries = 1;
  if (index === 0 && fields[0]?.[0] === 0x68) {
    heads = fields[1]!.toString('utf8');
    at = 2;
    if (fields[2]?.[0] === 0x6e) (entries = Number(fields[3]!.toString('latin1'))), (at = 4);
  }
  const parts: Buffer[] = [];
  for (; at + 1 < fields.length && fields[at]![0] === 0x70; at += 2) parts.push(fields[at + 1]!);
  if ((index === 0 && heads === undefined) || at !== fields.length || !(entries >= 1)) return `entry ${text} is not a part of step ${step}`;
  return heads === undefined ? { kind: 'more', step, index, parts } : { kind: 'head', step, heads, entries, parts };
}

/** Assembles steps from entries in stream order: a step is done once it has all its entries. */
export class StepAssembler {
  #open: { step: number; heads: string; entries: number; received: number; parts: Buffer[] } | undefined;

  /** What is wrong when the entries ended here: a step begun and not finished, or undefined. */
  unfinished(): string | undefined {
    const open = this.#open;
    return open === undefined ? undefined : `step ${open.step} has ${open.received} of its ${open.entries} entries`;
  }

  /** The step `entry` completes, undefined while one is open, or what is wrong. */
  add(entry: Exclude<Entry, { kind: 'end' }>): { step: number; heads: string; parts: Buffer[] } | undefined | string {
    let open = this.#open;
    if (entry.kind === 'head') {
      if (open !== undefined) return `step ${open.step} has ${open.received} of its ${open.entries} entries where step ${entry.step} begins`;
      open = { step: entry.step, heads: entry.heads, entries: entry.entries, received: 1, parts: entry.parts };
    } else {
      if (open === undefined || open.step !== entry.step || entry.index !== open.received) return `entry ${entry.index} of step ${entry.step} does not follow the entries before it`;
      open.parts.push(...entry.parts);
      open.received++;
    }
    this.#open = open.received < open.entries ? open : undefined;
    return this.#open === undefined ? { step: open.step, heads: open.heads, parts: open.parts } : undefined;
  }
}

/** A step's records from its h field and parts (payloads are views into the parts), or what is wrong. */
export function stepRecords(step: number, headsText: string, parts: readonly Uint8Array[]): StoreRecord[] | string {
  let heads: unknown;
  try {
    heads = JSON.parse(headsText);
  } catch {}
  if (!Array.isArray(heads)) return `step ${step} has no list of records`;
  const records: StoreRecord[] = [];
  let part = 0;
  let at = 0;
  for (const head of heads as unknown[]) {
    const [delivery, call, signature, length] = (Array.isArray(head) ? head : []) as Partial<Head>;
    if (typeof delivery !== 'string' || typeof call !== 'number' || typeof signature !== 'string' || typeof length !== 'number') return `record ${records.length} of step ${step} has no head`;
    // A part holds whole payloads: move to the next one once this one is used up.
    while (part < parts.length && at === parts[part]!.byteLength && length > 0) (part++, (at = 0));
    const bytes = parts[part];
    if (length > 0 && (bytes === undefined || at + length > bytes.byteLength)) return `record ${records.length} of step ${step} is cut short`;
    const payload = length === 0 ? Buffer.alloc(0) : Buffer.from(bytes!.buffer, bytes!.byteOffset + at, length);
    at += length;
    records.push({ step, delivery, call, signature, payload });
  }
  if (part < parts.length - 1 || (parts.length > 0 && at !== parts.at(-1)!.byteLength)) return `step ${step} holds bytes after its last record`;
  return records;
}
