/**
 * The Redis Streams backend, for a teacher on one machine feeding students on others
 * while it runs (layout in redis-entries.ts). The connection lives in a worker thread
 * (redis-worker.ts) so that this side can stay synchronous (bridge.ts):
 *
 * - a writer's commit() hands the step to the worker and returns; steps are written in
 *   the background, pipelined, and acknowledged. At most IN_FLIGHT bytes wait
 *   unacknowledged before commit() waits; flush() and close() wait for all of them.
 * - a reader's read(step) returns the step once it is in the stream, waiting for it
 *   (XREAD BLOCK in the worker) up to the store's timeout (default 60 s).
 *
 * No wait outlasts the timeout; a server killed or unreachable fails the next call with
 * ERR_DELIVERY_STORE_UNAVAILABLE and the last step written or read.
 */
import { DeliveryError, storeErrors, type DeliveryErrorCode } from '../errors.js';
import { Bridge, unpack, type BridgeMessage, type PackedHead } from './bridge.js';
import { checkRecord } from './records.js';
import type { IfExists, NewRecord, Opened, StoreReader, StoreRecord, StoreWriter } from './store.js';
import type { RedisLocation } from './url.js';

const WORKER = new URL('./redis-worker.js', import.meta.url);
/** Bytes of committed steps that may wait for the server's acknowledgement. */
const IN_FLIGHT = 64 << 20;
/** Payloads under a quarter of this are copied into a stage buffer shared by the step; a stage is at most this large. */
const STAGE_BYTES = 1 << 20;
/** Time the worker may take to start, on top of the store's timeout for connecting. */
const STARTUP_MS = 5000;

const asError = (message: BridgeMessage): DeliveryError => new DeliveryError(message.code as DeliveryErrorCode, message.message as string);

function start(opened: Opened<RedisLocation>, role: 'writer' | 'reader', extra: Record<string, unknown>): { bridge: Bridge; reply: BridgeMessage } {
  const bridge = new Bridge(WORKER);
  bridge.post({ type: 'open', role, location: opened.location, rank: opened.rank, subject: opened.subject, timeout: opened.timeout, ...extra });
  const reply = bridge.next(Date.now() + opened.timeout + STARTUP_MS);
  if (reply?.type === 'opened') return { bridge, reply };
  bridge.close();
  if (reply?.type === 'error') throw asError(reply);
  throw storeErrors.unavailable(opened.subject, `no answer within ${opened.timeout + STARTUP_MS} ms of opening it`, -1, role === 'writer' ? 'written' : 'read');
}

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

class RedisReader implements StoreReader {
  readonly subject: string;
  readonly rank: number;
  readonly metadata: unknown;
  readonly tail = undefined;
  lastStep: number;
  readonly #bridge: Bridge;
  readonly #timeout: number;
  readonly #received = new Map<number, { records: StoreRecord[]; bytes: number }>();
  #generation = 0;
  /** The step the worker reads from (-1: not reading), and the next one it will post. */
  #from = -1;
  #next = -1;
  /** The last step before the writer's end mark, once the worker found nothing after it. */
  #end: number | undefined;
  #error: DeliveryError | undefined;
  #closed = false;
  /** The last step read() returned, for messages. */
  #lastRead = -1;

  constructor(opened: Opened<RedisLocation>, bridge: Bridge, reply: BridgeMessage) {
    this.subject = opened.subject;
    this.rank = opened.rank;
    this.metadata = reply.metadata;
    this.lastStep = reply.lastStep as number;
    this.#bridge = bridge;
    this.#timeout = opened.timeout;
  }

  #take(message: BridgeMessage): void {
    if (message.type === 'error') this.#error ??= asError(message);
    if (message.generation !== this.#generation) return;
    if (message.type === 'step') {
      const step = message.step as number;
      this.#received.set(step, { records: unpack(step, message.heads as PackedHead[], message.bytes as ArrayBuffer), bytes: (message.bytes as ArrayBuffer).byteLength });
      this.#next = step + 1;
      this.lastStep = Math.max(this.lastStep, step);
      if (this.#end !== undefined && step > this.#end) this.#end = undefined;
    } else if (message.type === 'end') {
      this.#end = message.last as number;
    }
  }

  #restart(from: number): void {
    this.#generation++;
    this.#from = this.#next = from;
    this.#received.clear();
    this.#end = undefined;
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
        let freed = 0;
        for (const [n, got] of this.#received) if (n <= step) (freed += got.bytes), this.#received.delete(n);
        this.#bridge.post({ type: 'consumed', bytes: freed });
        this.#lastRead = step;
        return found.records;
      }
      if (this.#end !== undefined && step > this.#end) throw storeErrors.end(this.subject, step, this.#end, 'its record run closed it there');
      const message = this.#bridge.next(deadline);
      if (message === undefined) throw storeErrors.timeout(this.subject, step, this.#timeout, this.#lastRead);
      this.#take(message);
      if (this.#error) throw this.#error;
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#bridge.close();
  }
}

export function openRedisReader(opened: Opened<RedisLocation>): StoreReader {
  const { bridge, reply } = start(opened, 'reader', {});
  return new RedisReader(opened, bridge, reply);
}
