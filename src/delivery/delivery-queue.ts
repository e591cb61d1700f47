/**
 * A FIFO ring buffer: push and shift are O(1) however long it gets (Array#shift is
 * O(n)). Capacity is a power of two that doubles when full, so the backing store
 * holds at most two pointers per queued output. A shifted slot is cleared at once, so
 * a replayed output is released to the garbage collector as soon as the caller drops it.
 */
export class DeliveryQueue<T> {
  private items: (T | undefined)[];
  private head = 0;
  private mask: number;
  size = 0;

  constructor(initialCapacity = 4) {
    let capacity = 4;
    while (capacity < initialCapacity) capacity *= 2;
    this.items = new Array<T | undefined>(capacity);
    this.mask = capacity - 1;
  }

  push(value: T): void {
    if (this.size > this.mask) this.grow();
    this.items[(this.head + this.size) & this.mask] = value;
    this.size++;
  }

  /** Removes and returns the oldest item; the caller checks `size` first. */
  shift(): T {
    const value = this.items[this.head] as T;
    this.items[this.head] = undefined;
    this.head = (this.head + 1) & this.mask;
    this.size--;
    return value;
  }

  /** Drops every item, releasing the references, and returns how many there were. */
  clear(): number {
    const dropped = this.size;
    this.items = new Array<T | undefined>(4);
    this.mask = 3;
    this.head = 0;
    this.size = 0;
    return dropped;
  }

  private grow(): void {
    const old = this.items;
    const capacity = old.length * 2;
    const next = new Array<T | undefined>(capacity);
    for (let i = 0; i < this.size; i++) next[i] = old[(this.head + i) & this.mask];
    this.items = next;
    this.head = 0;
    this.mask = capacity - 1;
  }
}

/**
 * The signatures of the calls whose outputs wait in a queue, in the same order, run-length
 * encoded: the calls of a step nearly always share one signature, so keeping them costs
 * a compare per call and no memory per output. The same for their Math.random draws
 * (most functions draw none, or always as many).
 */
export class SignatureRuns<S> {
  private signatures: S[] = [];
  private counts: number[] = [];
  private head = 0;

  push(signature: S): void {
    const last = this.signatures.length - 1;
    if (last >= this.head && this.signatures[last] === signature) this.counts[last]!++;
    else {
      this.signatures.push(signature);
      this.counts.push(1);
    }
  }

  /** The oldest waiting call's signature; the caller checks the queue's size first. */
  peek(): S {
    return this.signatures[this.head]!;
  }

  shift(): void {
    if (--this.counts[this.head]! === 0) this.nextRun();
  }

  /** The oldest waiting call's value, removed; the caller checks the queue's size first. */
  take(): S {
    const value = this.signatures[this.head]!;
    this.shift();
    return value;
  }

  private nextRun(): void {
    this.head++;
    if (this.head === this.signatures.length) this.clear();
    else if (this.head >= 1024 && this.head * 2 >= this.signatures.length) {
      this.signatures = this.signatures.slice(this.head);
      this.counts = this.counts.slice(this.head);
      this.head = 0;
    }
  }

  clear(): void {
    this.signatures = [];
    this.counts = [];
    this.head = 0;
  }
}
