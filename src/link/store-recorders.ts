/**
 * Recorders with a store (docs/store.md): a record run writes what each recorder of the
 * record phases recorded in a phase with that phase's step, one record per call, after the
 * deliveries' records; a replay's record phase gives each of them back the records of its
 * step, in place of the calls it would record (which do not run when the teacher's forward
 * pass is delivered). A record's `delivery` field names the recorder (names are unique
 * across deliveries and recorders); the metadata lists the recorders under `recorders`.
 * Recorders of override phases only are not stored: a replay's students record as usual.
 */
import type { StoredRecorder } from '../delivery/phase-recorders.js';
import { recorderSubject } from '../errors.js';
import type { StoreRecord } from '../store/types.js';
import { encodeOutput, restoreOutput, REJECTED, RESOLVED, VALUE } from '../values/encode.js';
import type { Write } from './store-calls.js';

/** What the metadata says of the recorders: their types and targets, by name. */
export function recorderMetadata(recorders: readonly StoredRecorder[]): Record<string, { type: string; target: string }> {
  return Object.fromEntries(recorders.map((r) => [r.name, { type: r.type, target: r.target }]));
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function';
}

/** One record as a write: its bytes now, a promise's once it settles; what cannot be stored is the write's error. */
function recordWrite(name: string, call: number, value: unknown): Write {
  const who = recorderSubject(name);
  const write: Write = { delivery: name, call, signature: '', payload: undefined, settled: undefined, error: undefined };
  const encode = (output: unknown, kind: typeof VALUE | typeof RESOLVED | typeof REJECTED): void => {
    try {
      write.payload = encodeOutput(output, kind, who);
    } catch (error) {
      write.error = error;
    }
  };
  if (isThenable(value)) {
    write.settled = Promise.resolve(value).then(
      (resolved) => encode(resolved, RESOLVED),
      (reason: unknown) => encode(reason, REJECTED),
    );
  } else {
    encode(value, VALUE);
  }
  return write;
}

/** A record phase ends: the writes of what each recorder recorded in it. */
export function recorderWrites(recorders: readonly StoredRecorder[]): Write[] {
  return recorders.flatMap((r) => r.recorder.dataBuffer.map((value, call) => recordWrite(r.name, call, value)));
}

/** A replay's record phase starts: each recorder gets the records its step holds (none if it recorded none). */
export function feedRecorders(recorders: readonly StoredRecorder[], byName: ReadonlyMap<string, readonly StoreRecord[]>): void {
  for (const r of recorders) {
    const records = byName.get(r.name) ?? [];
    r.recorder.feed(
      records.map((record) => {
        const value = restoreOutput(record.payload, recorderSubject(r.name), false);
        // A rejected promise the record run recorded (and its code handled): not an unhandled rejection here.
        if (value instanceof Promise) value.catch(() => {});
        return value;
      }),
    );
  }
}
