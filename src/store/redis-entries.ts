/**
 * How a Redis store lays out its data. Keys: `<key>:meta` (the metadata envelope, set
 * once) and `<key>:rank-<r>` (a stream per rank). Entry ids carry the step, so a step
 * is found by its id and a second writer of a rank is refused by Redis itself:
 *
 *   step s, record i   (2s+1)-i     fields h (JSON [delivery, call, signature]), p (payload)
 *   step s, commit     (2s+1)-n     field n (the number of records)
 *   end after step L   (2L+2)-1     field e (the writer closed; a resume adds steps after it)
 *
 * A step is written atomically, so it is in the stream whole or not at all, even when
 * its writer dies: by one script (ADD_STEP) when it is small, in a MULTI/EXEC
 * transaction when it is large (a script copies its arguments twice more, which costs
 * more than the round trip it saves once payloads are large).
 */
import type { StoreRecord } from './store.js';

export const metaKey = (key: string): string => `${key}:meta`;
export const streamKey = (key: string, rank: number): string => `${key}:rank-${rank}`;
export const stepMs = (step: number): number => 2 * step + 1;
export const endId = (last: number): string => `${2 * last + 2}-1`;
/** XREAD's cursor (exclusive) to read from step `from` on, the end mark before it included. */
export const cursorBefore = (from: number): string => (from === 0 ? '0-0' : `${2 * from}-0`);

/**
 * KEYS[1] the stream; ARGV: the id's time part, the record count n, then the head and
 * payload of each record. The first XADD fails when the stream already holds this step
 * or a later one (another writer), and then nothing is added.
 */
export const ADD_STEP = `
local key = KEYS[1]
local ms = ARGV[1]
local n = tonumber(ARGV[2])
for i = 0, n - 1 do
  redis.call('XADD', key, ms .. '-' .. i, 'h', ARGV[3 + 2 * i], 'p', ARGV[4 + 2 * i])
end
redis.call('XADD', key, ms .. '-' .. n, 'n', ARGV[2])
return n
`;

/** A record's head field: what the store keeps of it besides the payload. */
export const recordHead = (r: { delivery: string; call: number; signature: string }): string => JSON.stringify([r.delivery, r.call, r.signature]);

/** The last complete step of a stream from its last entry's id (-1 when empty). */
export function lastStepOf(lastId: string | undefined): number {
  if (lastId === undefined) return -1;
  const ms = Number(lastId.slice(0, lastId.indexOf('-')));
  return ms % 2 === 1 ? (ms - 1) / 2 : ms / 2 - 1;
}

export type Entry =
  | { kind: 'record'; step: number; index: number; record: StoreRecord }
  | { kind: 'commit'; step: number; count: number }
  | { kind: 'end'; last: number };

/** One stream entry as XREAD/XRANGE give it with blob strings as Buffers. */
export function parseEntry(id: Buffer, fields: Buffer[]): Entry | string {
  const text = id.toString('latin1');
  const dash = text.indexOf('-');
  const ms = Number(text.slice(0, dash));
  const seq = Number(text.slice(dash + 1));
  if (ms % 2 === 0) return { kind: 'end', last: ms / 2 - 1 };
  const step = (ms - 1) / 2;
  let head: Buffer | undefined;
  let payload: Buffer | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    // Field names are one byte: h, p, n (and e in an end mark).
    const name = fields[i]![0];
    if (name === 0x6e) return { kind: 'commit', step, count: Number(fields[i + 1]!.toString('latin1')) };
    if (name === 0x68) head = fields[i + 1];
    else if (name === 0x70) payload = fields[i + 1];
  }
  let parsed: unknown;
  try {
    parsed = head && JSON.parse(head.toString('utf8'));
  } catch {}
  if (!payload || !Array.isArray(parsed) || parsed.length !== 3) return `entry ${text} is not a record of step ${step}`;
  const [delivery, call, signature] = parsed as [string, number, string];
  return { kind: 'record', step, index: seq, record: { step, delivery, call, signature, payload } };
}

/** Assembles steps from entries in stream order; a commit returns its step's records. */
export class StepAssembler {
  #step = -1;
  #records: StoreRecord[] = [];
  bytes = 0;

  /** The records of a completed step, undefined while one is open, or what is wrong. */
  add(entry: Entry): { step: number; records: StoreRecord[]; bytes: number } | undefined | string {
    if (entry.kind === 'end') return undefined;
    if (entry.step !== this.#step) {
      this.#step = entry.step;
      this.#records = [];
      this.bytes = 0;
    }
    if (entry.kind === 'record') {
      if (entry.index !== this.#records.length) return `step ${entry.step} has record ${entry.index} where record ${this.#records.length} belongs`;
      this.#records.push(entry.record);
      this.bytes += entry.record.payload.byteLength;
      return undefined;
    }
    if (entry.count !== this.#records.length) return `step ${entry.step} holds ${this.#records.length} records where its commit says ${entry.count}`;
    const done = { step: entry.step, records: this.#records, bytes: this.bytes };
    this.#step = -1;
    this.#records = [];
    this.bytes = 0;
    return done;
  }
}
