/**
 * The memory a Redis writer copies payloads into and its worker thread sends them from:
 * a ring in a SharedArrayBuffer, so a step's bytes reach the worker without a copy, a
 * transfer or a new buffer (each new one costs page faults, and buffers crossing threads
 * cost both threads garbage collections). Steps take space in order and give it back in
 * order, once the server has stored them. When a step does not fit even with every
 * earlier step stored, the ring is replaced by a larger one: about four steps, at most
 * RING_MAX bytes unless one step needs more.
 */

/** The ring's first size, and the most it grows to for steps smaller than it. */
const RING_MIN = 1 << 20;
const RING_MAX = 64 << 20;

/** Where a payload is in the ring: [offset, length]. */
export type Slot = [offset: number, length: number];

export class PayloadRing {
  bytes: Uint8Array;
  #head = 0;
  /** Where the oldest step not yet stored starts. */
  #tail = 0;
  /** Bytes taken by stored-to-be steps and the open one, the ends skipped to wrap around included. */
  #used = 0;
  #openStart = 0;
  #openUsed = 0;
  /** Committed steps not yet stored: [step, bytes taken, where the next step starts]. */
  readonly #inFlight: [number, number, number][] = [];

  constructor() {
    this.bytes = new Uint8Array(new SharedArrayBuffer(RING_MIN));
  }

  /** Steps committed and not yet stored. */
  get inFlight(): number {
    return this.#inFlight.length;
  }

  /** A slot of `length` bytes for the open step, or undefined when the ring has no room for it now. */
  take(length: number): Slot | undefined {
    const size = this.bytes.length;
    if (this.#used === 0) this.#head = this.#tail = this.#openStart = 0;
    let at: number;
    let skipped = 0;
    if (this.#used === size) return undefined;
    if (this.#head >= this.#tail) {
      if (this.#head + length <= size) at = this.#head;
      else if (length <= this.#tail) (at = 0), (skipped = size - this.#head);
      else return undefined;
    } else if (this.#head + length <= this.#tail) at = this.#head;
    else return undefined;
    this.#head = at + length;
    this.#used += length + skipped;
    this.#openUsed += length + skipped;
    return [at, length];
  }

  /**
   * Replaces the ring by one with room for the open step (its slots given, and updated)
   * and `length` bytes more; only when no step is in flight. Returns the new buffer.
   */
  grow(open: Slot[], length: number): SharedArrayBuffer {
    let needed = length;
    for (const [, n] of open) needed += n;
    const size = Math.ceil(Math.max(needed, Math.min(4 * needed, RING_MAX)) / 65536) * 65536;
    const bytes = new Uint8Array(new SharedArrayBuffer(size));
    let at = 0;
    for (const slot of open) {
      bytes.set(this.bytes.subarray(slot[0], slot[0] + slot[1]), at);
      slot[0] = at;
      at += slot[1];
    }
    this.bytes = bytes;
    this.#head = this.#openUsed = this.#used = at;
    this.#tail = this.#openStart = 0;
    return bytes.buffer as SharedArrayBuffer;
  }

  commit(step: number): void {
    this.#inFlight.push([step, this.#openUsed, this.#head]);
    this.#openStart = this.#head;
    this.#openUsed = 0;
  }

  /** Gives back the open step's space. */
  discard(): void {
    this.#used -= this.#openUsed;
    this.#head = this.#openStart;
    this.#openUsed = 0;
  }

  /** Gives back the space of every step up to `step`, now stored. */
  stored(step: number): void {
    while (this.#inFlight.length > 0 && this.#inFlight[0]![0] <= step) {
      const [, used, next] = this.#inFlight.shift()!;
      this.#used -= used;
      this.#tail = next;
    }
  }
}
