/**
 * A worker thread that does asynchronous work (a Redis client) for a caller that waits
 * synchronously, as a delivery's synchronous record and replay paths must. The worker
 * posts to a MessagePort and then bumps a shared counter; the caller takes messages with
 * receiveMessageOnPort and sleeps in Atomics.wait on the counter until one comes or its
 * deadline passes, so no wait outlasts its deadline, whatever the worker does.
 *
 * One worker serves every store of the process, each store on its own channel. It starts
 * without the parent's --import flags (execArgv: []), so the agent is not loaded into it,
 * and is unref'ed: it never keeps a process alive on its own.
 */
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';

export interface BridgeMessage {
  readonly type: string;
  readonly [key: string]: unknown;
}

/** One worker per script for the whole process: starting one and loading a client costs ~0.5 s. */
const workers = new Map<string, Worker>();

function workerFor(script: URL): Worker {
  let worker = workers.get(script.href);
  // threadId is -1 once a worker has stopped.
  if (worker === undefined || worker.threadId < 0) {
    worker = new Worker(script, { execArgv: [] });
    worker.unref();
    workers.set(script.href, worker);
  }
  return worker;
}

/** A channel to the worker for one store: its own port, and a counter the worker bumps after each message. */
export class Bridge {
  readonly #port: MessagePort;
  readonly #signal: Int32Array;
  /** The counter when the port was last found empty: while it stays there, nothing new was posted. */
  #seen = 0;

  constructor(script: URL) {
    const { port1, port2 } = new MessageChannel();
    this.#signal = new Int32Array(new SharedArrayBuffer(4));
    workerFor(script).postMessage({ port: port2, signal: this.#signal }, [port2]);
    this.#port = port1;
  }

  post(message: BridgeMessage, transfer: ArrayBuffer[] = []): void {
    this.#port.postMessage(message, transfer);
  }

  /** A message the worker has posted, or undefined. Never waits; costs an atomic read when nothing came (a look at the port costs 0.3 µs). */
  poll(): BridgeMessage | undefined {
    const count = Atomics.load(this.#signal, 0);
    if (count === this.#seen) return undefined;
    const message = receiveMessageOnPort(this.#port)?.message as BridgeMessage | undefined;
    if (message === undefined) this.#seen = count;
    return message;
  }

  /** The next message, waiting until `deadline` (a Date.now() value); undefined when it passed. */
  next(deadline: number): BridgeMessage | undefined {
    for (;;) {
      const seen = Atomics.load(this.#signal, 0);
      const message = this.poll();
      if (message !== undefined) return message;
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      Atomics.wait(this.#signal, 0, seen, left);
    }
  }

  /** Closes the channel; the worker then drops the store's connection. */
  close(): void {
    this.#port.close();
  }
}

/** The worker's end: posts a message and wakes the waiting caller. */
export function workerPoster(port: MessagePort, signal: Int32Array): (message: BridgeMessage, transfer?: ArrayBuffer[]) => void {
  return (message, transfer = []) => {
    port.postMessage(message, transfer);
    Atomics.add(signal, 0, 1);
    Atomics.notify(signal, 0);
  };
}

/** A step as the worker posts it to a reader: its number, its h field, and its parts. */
export type PostedStep = [step: number, heads: string, parts: Uint8Array[]];

/**
 * The buffers to transfer with the parts of `steps`, rewriting the parts as needed: a
 * part that has its ArrayBuffer to itself (node-redis's reply for a blob that came in
 * several socket reads) goes as it is; the others (views into a socket chunk, which
 * posting would clone whole) are copied into one buffer shared by all of them.
 */
export function transferable(steps: PostedStep[]): ArrayBuffer[] {
  const transfer: ArrayBuffer[] = [];
  let shared = 0;
  for (const [, , parts] of steps) {
    for (const part of parts) {
      if (part.byteOffset === 0 && part.byteLength === part.buffer.byteLength && part.byteLength > 0) transfer.push(part.buffer as ArrayBuffer);
      else shared += part.byteLength;
    }
  }
  if (shared === 0) return transfer;
  const bytes = new Uint8Array(shared);
  let at = 0;
  for (const [, , parts] of steps) {
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      if (part.byteOffset === 0 && part.byteLength === part.buffer.byteLength && part.byteLength > 0) continue;
      bytes.set(part, at);
      parts[i] = bytes.subarray(at, at + part.byteLength);
      at += part.byteLength;
    }
  }
  transfer.push(bytes.buffer);
  return transfer;
}
