/**
 * The Redis Streams backend's reader: read(step) returns the step once it is in the
 * stream, waiting for it (XREAD BLOCK in the worker thread, redis-worker.ts) up to the
 * store's timeout (default 60 s), the worker reading ahead. A server killed or
 * unreachable fails the call at once with ERR_DELIVERY_STORE_UNAVAILABLE and the last
 * step read; the writer's end mark ends it with ERR_DELIVERY_STORE_END.
 */
import { storeErrors, type DeliveryError } from '../errors.js';
import { unpack, type Bridge, type BridgeMessage, type PackedHead } from './bridge.js';
import { asError, start } from './redis-open.js';
import type { Opened, StoreReader, StoreRecord } from './store.js';
import type { RedisLocation } from './url.js';

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
