/**
 * The Redis Streams backend's writer, for a teacher on one machine feeding students on
 * others while it runs (layout in redis-entries.ts). commit() hands the step to the
 * worker thread (redis-worker.ts) and returns; steps are written in the background,
 * pipelined, and acknowledged. At most IN_FLIGHT bytes wait unacknowledged before
 * commit() waits; flush() and close() wait for all of them, never longer than the
 * store's timeout without progress. A server killed or unreachable fails the next call
 * with ERR_DELIVERY_STORE_UNAVAILABLE and the last step written.
 */
import { storeErrors, type DeliveryError } from '../errors.js';
import type { Bridge, BridgeMessage } from './bridge.js';
import { checkRecord } from './records.js';
import { asError, start } from './redis-open.js';
import type { IfExists, NewRecord, Opened, StoreWriter } from './store.js';
import type { RedisLocation } from './url.js';

/** Bytes of committed steps that may wait for the server's acknowledgement. */
const IN_FLIGHT = 64 << 20;
/** Payloads under a quarter of this are copied into a stage buffer shared by the step; a stage is at most this large. */
const STAGE_BYTES = 1 << 20;

class RedisWriter implements StoreWriter {
  readonly subject: string;
  readonly rank: number;
  readonly metadata: unknown;
  nextStep: number;
  readonly #bridge: Bridge;
  readonly #timeout: number;
  #records: NewRecord[] = [];
  #recordBytes = 0;
  /** The buffers the open step's payloads are in, transferred to the worker at commit(). */
  #buffers: ArrayBuffer[] = [];
  #stage: Buffer | undefined;
  #staged = 0;
  #stepStaged = 0;
  #stageSize = 64 << 10;
  /** Committed, not yet acknowledged: [step, bytes], oldest first. */
  readonly #inFlight: [number, number][] = [];
  #inFlightBytes = 0;
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
  }

  #take(message: BridgeMessage): void {
    if (message.type === 'ack') {
      const [, bytes] = this.#inFlight.shift()!;
      this.#inFlightBytes -= bytes;
      this.#acked = message.step as number;
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
    // A copy now: the caller may change its bytes before commit(); the copy is transferred, not copied again.
    const size = record.payload.byteLength;
    let payload: Buffer;
    if (size >= STAGE_BYTES / 4) {
      // allocUnsafeSlow: a buffer of its own (transferable, not the pool's), not zero-filled first.
      payload = Buffer.allocUnsafeSlow(size);
      this.#buffers.push(payload.buffer as ArrayBuffer);
    } else {
      // Small payloads share a stage: one buffer and one transfer for many of them.
      if (this.#stage === undefined || this.#staged + size > this.#stage.length) {
        // Sized by what the last step staged: usually one buffer a step, with nothing to spare.
        this.#stage = Buffer.allocUnsafeSlow(Math.max(size, this.#stageSize));
        this.#staged = 0;
        this.#buffers.push(this.#stage.buffer as ArrayBuffer);
      }
      payload = this.#stage.subarray(this.#staged, this.#staged + size);
      this.#staged += size;
      this.#stepStaged += size;
    }
    payload.set(record.payload);
    this.#records.push({ delivery: record.delivery, call: record.call, signature: record.signature, payload });
    this.#recordBytes += size;
  }

  commit(): number {
    this.#check();
    const step = this.nextStep;
    this.#bridge.post({ type: 'commit', step, records: this.#records }, this.#buffers);
    this.#stageSize = Math.min(STAGE_BYTES, Math.max(4096, Math.ceil(this.#stepStaged * 1.25)));
    this.#inFlight.push([step, this.#recordBytes]);
    this.#inFlightBytes += this.#recordBytes;
    this.discard();
    this.nextStep++;
    this.#wait(() => this.#inFlightBytes > IN_FLIGHT);
    return step;
  }

  discard(): void {
    this.#records = [];
    this.#recordBytes = 0;
    this.#buffers = [];
    this.#stage = undefined;
    this.#stepStaged = 0;
  }

  flush(): void {
    this.#check();
    this.#wait(() => this.#inFlight.length > 0);
  }

  close(): void {
    if (this.#closed) return;
    try {
      this.flush();
      this.#bridge.post({ type: 'close' });
      this.#wait(() => !this.#workerClosed);
    } finally {
      this.#closed = true;
      this.#bridge.close();
    }
  }
}

export function openRedisWriter(opened: Opened<RedisLocation>, metadata: unknown, ifExists: IfExists): StoreWriter {
  const { bridge, reply } = start(opened, 'writer', { metadata, ifExists });
  return new RedisWriter(opened, bridge, reply);
}

