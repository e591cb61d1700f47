/**
 * The Redis Streams backend's reader: read(step) returns the step once it is in the
 * stream, waiting for it (XREAD BLOCK in the worker thread, redis-worker.ts) up to the
 * store's timeout (default 60 s), the worker reading ahead and posting the steps of each
 * reply together, their payloads transferred rather than copied. A server killed or
 * unreachable fails the call at once with ERR_DELIVERY_STORE_UNAVAILABLE and the last
 * step read; the writer's end mark ends it with ERR_DELIVERY_STORE_END, and so does a
 * record run that is gone without one (its lock expired: killed, stopped or cut off),
 * within LOCK_TTL_MS and a second of its last sign of life (redis-lock.ts).
 */
import { storeErrors, type DeliveryError } from '../errors.js';
import type { Bridge, BridgeMessage, PostedStep } from './bridge.js';
import { stepRecords } from './redis-entries.js';
import { LOCK_TTL_MS } from './redis-lock.js';
import { asError, start } from './redis-open.js';
import { isComplete, type RunRecord } from './runs.js';
import type { Opened, StoreReader, StoreRecord } from './types.js';
import type { RedisLocation } from './url.js';

/** Bytes of steps taken before the worker is told (it reads ahead up to 64 MB not yet taken). */
const REPORT_BYTES = 16 << 20;

interface Received {
  readonly heads: string;
  readonly parts: Uint8Array[];
  readonly bytes: number;
}

class RedisReader implements StoreReader {
  readonly subject: string;
  readonly rank: number;
  readonly metadata: unknown;
  readonly tail = undefined;
  readonly runs: readonly RunRecord[];
  readonly complete: boolean;
  lastStep: number;
  readonly #bridge: Bridge;
  readonly #timeout: number;
  /** Steps posted by the worker and not taken yet, in order. */
  readonly #received = new Map<number, Received>();
  /** Bytes of steps taken and not yet reported to the worker. */
  #taken = 0;
  #generation = 0;
  /** The step the worker reads from (-1: not reading), and the next one it will post. */
  #from = -1;
  #next = -1;
  /** The last step before the writer's end mark, once the worker found nothing after it (a snapshot: the last step it held). */
  #end: number | undefined;
  #snapshot = false;
  /** The last step there is, once the worker found no writer and nothing more. */
  #gone: number | undefined;
  #error: DeliveryError | undefined;
  #closed = false;
  /** The last step read() returned, for messages. */
  #lastRead = -1;

  constructor(opened: Opened<RedisLocation>, bridge: Bridge, reply: BridgeMessage) {
    this.subject = opened.subject;
    this.rank = opened.rank;
    this.metadata = reply.metadata;
    this.lastStep = reply.lastStep as number;
    this.runs = reply.runs as RunRecord[];
    this.complete = isComplete(this.runs);
    this.#bridge = bridge;
    this.#timeout = opened.timeout;
  }

  #take(message: BridgeMessage): void {
    if (message.type === 'error') this.#error ??= asError(message);
    if (message.generation !== this.#generation) return;
    if (message.type === 'gone') this.#gone = message.last as number;
    if (message.type !== 'steps') return;
    for (const [step, heads, parts] of message.steps as PostedStep[]) {
      let bytes = 0;
      for (const part of parts) bytes += part.byteLength;
      this.#received.set(step, { heads, parts, bytes });
      this.#next = step + 1;
      this.lastStep = Math.max(this.lastStep, step);
      if (this.#end !== undefined && step > this.#end) this.#end = undefined;
    }
    if (message.end !== undefined) this.#end = message.end as number;
    if (message.snapshot === true) this.#snapshot = true;
  }

  #restart(from: number): void {
    this.#generation++;
    this.#from = this.#next = from;
    this.#received.clear();
    this.#taken = 0;
    this.#end = undefined;
    this.#gone = undefined;
    this.#bridge.post({ type: 'start', generation: this.#generation, from });
  }

  read(step: number): StoreRecord[] {
    if (this.#closed) throw storeErrors.closed(this.subject);
    if (!Number.isSafeInteger(step) || step < 0) throw storeErrors.badOption('step', step, 'an integer from 0');
    for (let m = this.#bridge.poll(); m !== undefined; m = this.#bridge.poll()) this.#take(m);
    if (this.#error) throw this.#error;
    if (this.#from < 0 || step < this.#from || (step < this.#next && !this.#received.has(step))) this.#restart(step);
    const deadline = Date.now() + this.#timeout;
    for (;;) {
      const found = this.#received.get(step);
      if (found !== undefined) {
        this.#drop(step);
        // Reported in bulk: when the worker waits, 64 MB ahead, 48 MB of them are still here to take.
        if (this.#taken >= REPORT_BYTES) this.#report();
        const records = stepRecords(step, found.heads, found.parts);
        if (typeof records === 'string') throw storeErrors.corrupt(this.subject, records, this.#lastRead);
        this.#lastRead = step;
        return records;
      }
      if (this.#end !== undefined && step > this.#end) throw storeErrors.end(this.subject, step, this.#end, this.#snapshot ? 'all it held when read' : 'its record run closed it there');
      if (this.#gone !== undefined && step > this.#gone) throw storeErrors.writerGone(this.subject, step, this.#gone, this.#lastRead, LOCK_TTL_MS);
      // Before waiting: the steps before this one will not be asked for (a seek back restarts), and the worker must not wait for them to be taken.
      this.#drop(step - 1);
      this.#report();
      const message = this.#bridge.next(deadline);
      if (message === undefined) throw storeErrors.timeout(this.subject, step, this.#timeout, this.#lastRead);
      this.#take(message);
      if (this.#error) throw this.#error;
    }
  }

  /** Forgets the steps up to `last` (the map holds them in order), counting their bytes as taken. */
  #drop(last: number): void {
    for (const [n, got] of this.#received) {
      if (n > last) break;
      this.#taken += got.bytes;
      this.#received.delete(n);
    }
  }

  #report(): void {
    if (this.#taken === 0) return;
    this.#bridge.post({ type: 'consumed', bytes: this.#taken });
    this.#taken = 0;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#bridge.close();
  }
}

export function openRedisReader(opened: Opened<RedisLocation>, existing = false): StoreReader {
  // A snapshot takes the store as it is: it never waits for it to appear either.
  const { bridge, reply } = start(opened, 'reader', { existing: existing || opened.snapshot, snapshot: opened.snapshot });
  return new RedisReader(opened, bridge, reply);
}
