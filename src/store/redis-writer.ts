/**
 * The Redis Streams backend's writer, for a teacher on one machine feeding students on
 * others while it runs (layout in redis-entries.ts). append() copies the payload into a
 * ring of shared memory (redis-ring.ts); commit() tells the worker thread
 * (redis-worker.ts) where the step's bytes are, and returns; steps are written in the
 * background, pipelined, and acknowledged. append() waits while the ring is full of
 * unacknowledged steps; flush() and close() wait for all of them; no wait lasts longer
 * than the store's timeout without progress. A server killed or unreachable fails the
 * next call with ERR_DELIVERY_STORE_UNAVAILABLE and the last step written.
 */
import { storeErrors, type DeliveryError } from '../errors.js';
import type { Bridge, BridgeMessage } from './bridge.js';
import { checkRecord } from './records.js';
import { ENTRY_BYTES, type Head } from './redis-entries.js';
import { asError, start } from './redis-open.js';
import { PayloadRing, type Slot } from './redis-ring.js';
import type { CloseOptions, IfExists, NewRecord, Opened, RunStart, StoreWriter } from './types.js';
import type { RedisLocation } from './url.js';

class RedisWriter implements StoreWriter {
  readonly subject: string;
  readonly rank: number;
  readonly metadata: unknown;
  nextStep: number;
  readonly #bridge: Bridge;
  readonly #timeout: number;
  readonly #ring = new PayloadRing();
  /** The open step: its records' heads, and where their payloads are in the ring (side by side ones in one slot). */
  #heads: Head[] = [];
  #slots: Slot[] = [];
  #acked: number;
  #error: DeliveryError | undefined;
  #closed = false;
  #workerClosed = false;

  constructor(opened: Opened<RedisLocation>, bridge: Bridge, reply: BridgeMessage) {
    this.subject = opened.subject;
    this.rank = opened.rank;
    this.metadata = reply.metadata;
    this.nextStep = reply.nextStep as number;
    this.#acked = this.nextStep - 1;
    this.#bridge = bridge;
    this.#timeout = opened.timeout;
    bridge.post({ type: 'ring', buffer: this.#ring.bytes.buffer });
  }

  /** The last step the server acknowledged: what it holds of this run, whatever was committed. */
  get lastStored(): number {
    if (!this.#closed) for (let m = this.#bridge.poll(); m !== undefined; m = this.#bridge.poll()) this.#take(m);
    return this.#acked;
  }

  #take(message: BridgeMessage): void {
    if (message.type === 'ack') {
      // One acknowledgement covers every step up to its own.
      this.#acked = message.step as number;
      this.#ring.stored(this.#acked);
    } else if (message.type === 'error') {
      this.#error ??= asError(message);
    } else if (message.type === 'closed') {
      this.#workerClosed = true;
    }
  }

  #check(): void {
    if (this.#closed) throw storeErrors.closed(this.subject);
    for (let m = this.#bridge.poll(); m !== undefined; m = this.#bridge.poll()) this.#take(m);
    if (this.#error) throw this.#error;
  }

  /** Waits while `busy()`, for at most the timeout without progress. */
  #wait(busy: () => boolean): void {
    let deadline = Date.now() + this.#timeout;
    while (busy()) {
      const message = this.#bridge.next(deadline);
      if (message === undefined) {
        this.#error ??= storeErrors.unavailable(this.subject, `the server acknowledged no step for ${this.#timeout} ms`, this.#acked, 'written');
      } else {
        this.#take(message);
        deadline = Date.now() + this.#timeout;
      }
      if (this.#error) throw this.#error;
    }
  }

  append(record: NewRecord): void {
    this.#check();
    checkRecord(this.subject, record);
    const size = record.payload.byteLength;
    if (size > 0) {
      let slot = this.#ring.take(size);
      // The ring is full: wait for steps to be stored, and when that leaves no room, take a larger ring.
      this.#wait(() => (slot ??= this.#ring.take(size)) === undefined && this.#ring.inFlight > 0);
      if (slot === undefined) {
        this.#bridge.post({ type: 'ring', buffer: this.#ring.grow(this.#slots, size) });
        slot = this.#ring.take(size)!;
      }
      // A copy now: the caller may change its bytes before commit().
      this.#ring.bytes.set(record.payload, slot[0]);
      // Payloads side by side go as one part (one field of the entry), up to an entry's size.
      const last = this.#slots.at(-1);
      if (last !== undefined && last[0] + last[1] === slot[0] && last[1] + size <= ENTRY_BYTES) last[1] += size;
      else this.#slots.push(slot);
    }
    this.#heads.push([record.delivery, record.call, record.signature, size]);
  }

  commit(): number {
    this.#check();
    const step = this.nextStep;
    this.#bridge.post({ type: 'commit', step, heads: JSON.stringify(this.#heads), slots: this.#slots });
    this.#ring.commit(step);
    this.#heads = [];
    this.#slots = [];
    this.nextStep++;
    return step;
  }

  discard(): void {
    this.#ring.discard();
    this.#heads = [];
    this.#slots = [];
  }

  flush(): void {
    this.#check();
    this.#wait(() => this.#ring.inFlight > 0);
  }

  close(options: CloseOptions = {}): void {
    if (this.#closed) return;
    try {
      this.flush();
      this.#bridge.post({ type: 'close', complete: options.complete === true });
      this.#wait(() => !this.#workerClosed);
    } finally {
      this.#closed = true;
      this.#bridge.close();
    }
  }
}

export function openRedisWriter(opened: Opened<RedisLocation>, metadata: unknown, ifExists: IfExists, run: RunStart = { provenance: undefined, runs: undefined }): StoreWriter {
  const { bridge, reply } = start(opened, 'writer', { metadata, ifExists, provenance: run.provenance, runs: run.runs });
  return new RedisWriter(opened, bridge, reply);
}
