/**
 * The worker thread behind the Redis stores of a process (see bridge.ts): a session per
 * store holds its connection (node-redis, `@redis/client`) and runs its commands. A
 * writer's steps go out as they are committed, one XADD each (a transaction of several
 * for a large one), pipelined, their payloads sent from the writer's shared ring, and
 * are acknowledged in batches (the last step stored, once per turn of the event loop);
 * a reader reads ahead with XREAD BLOCK and posts the steps of each reply in one
 * message, keeping at most READ_AHEAD bytes that the caller has not taken. The client never reconnects and keeps no offline
 * queue: a server that goes away fails every command at once, which the caller reports.
 * Commands have no timeout of their own: the caller never waits longer than the store's.
 */
import { createClient, MultiErrorReply, RESP_TYPES } from '@redis/client';
import { parentPort, type MessagePort } from 'node:worker_threads';
import { DeliveryError, storeErrors } from '../errors.js';
import { transferable, workerPoster, type BridgeMessage, type PostedStep } from './bridge.js';
import { checkSameMetadata, envelope, openEnvelope } from './metadata.js';
import { StepAssembler, cursorBefore, endId, entryId, lastStepOf, metaKey, parseEntry, stepEntries, streamKey } from './redis-entries.js';
import type { Slot } from './redis-ring.js';
import type { IfExists } from './types.js';
import type { RedisLocation } from './url.js';

/** How long one XREAD waits on the server before the reader asks again. */
const BLOCK_MS = 1000;
/** Bytes of payload a reader fetches ahead of the steps taken. */
const READ_AHEAD = 64 << 20;
/** Entries one XREAD asks for: about READ_BATCH bytes of them, from 1 to 512. */
const READ_BATCH = 8 << 20;
const BUFFERS = { [RESP_TYPES.BLOB_STRING]: Buffer } as const;

interface OpenMessage {
  role: 'writer' | 'reader';
  location: RedisLocation;
  rank: number;
  subject: string;
  timeout: number;
  metadata?: unknown;
  ifExists?: IfExists;
  /** A reader: fail at once when the store does not exist (mode "auto"), instead of waiting for it. */
  existing?: boolean;
}

type Client = ReturnType<typeof createClient>;

/** One store's connection and state, on its own channel. */
class Session {
  readonly post: (message: BridgeMessage, transfer?: ArrayBuffer[]) => void;
  client: Client | undefined;
  open: OpenMessage | undefined;
  stream = '';
  lastWritten = -1;
  lastRead = -1;
  readonly commits = new Set<Promise<void>>();
  /** An acknowledgement is due at the next turn of the event loop. */
  acking = false;
  /** A writer's payloads, in shared memory (redis-ring.ts). */
  ring: Buffer = Buffer.alloc(0);
  generation = 0;
  ahead = 0;
  wake: (() => void) | undefined;
  pumping = false;

  constructor(port: MessagePort, signal: Int32Array) {
    this.post = workerPoster(port, signal);
    port.on('message', (message: BridgeMessage) => {
      this.handle(message).catch((error: unknown) => this.fail(error));
    });
    // The caller closed the store, or its thread ended: drop the connection at once.
    port.on('close', () => {
      this.generation = -1;
      this.wake?.();
      this.client?.destroy();
    });
  }

  send<T>(args: (string | Buffer)[], buffers = false): Promise<T> {
    return this.client!.sendCommand(args, buffers ? { typeMapping: BUFFERS } : undefined) as Promise<T>;
  }

  fail(error: unknown): void {
    if (this.generation < 0) return;
    const detail = `${(error as Error)?.name ?? 'Error'}: ${(error as Error)?.message ?? String(error)}`;
    const subject = this.open?.subject ?? 'the store';
    const reported =
      error instanceof DeliveryError
        ? error
        : this.open?.role === 'writer'
          ? storeErrors.unavailable(subject, `the server failed or went away (${detail})`, this.lastWritten, 'written')
          : storeErrors.unavailable(subject, `the server failed or went away (${detail})`, this.lastRead, 'read');
    this.post({ type: 'error', code: reported.code, message: reported.message });
  }

  async connect(message: OpenMessage): Promise<void> {
    const { location } = message;
    this.client = createClient({
      socket: { host: location.host, port: location.port, connectTimeout: message.timeout, reconnectStrategy: false },
      username: location.username,
      password: location.password,
      database: location.db,
      RESP: 2,
      disableOfflineQueue: true,
      // No timeout per command (node-redis's default is 5 s, and each costs an AbortSignal): the caller's deadline bounds every wait.
      commandOptions: { timeout: 0 },
    });
    this.client.on('error', () => {}); // every command in flight is rejected with the error, and reported from there
    try {
      await this.client.connect();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      throw storeErrors.unavailable(message.subject, `cannot connect to ${location.host}:${location.port} (${code})`, -1, message.role === 'writer' ? 'written' : 'read');
    }
    this.stream = streamKey(location.key, message.rank);
  }

  async lastStep(): Promise<number> {
    const last = await this.send<[string, unknown][]>(['XREVRANGE', this.stream, '+', '-', 'COUNT', '1']);
    return lastStepOf(last[0]?.[0]);
  }

  async openWriter(message: OpenMessage): Promise<void> {
    const key = metaKey(message.location.key);
    const last = await this.lastStep();
    const holds = (await this.send<number>(['EXISTS', this.stream])) === 1;
    if (holds && message.ifExists === 'error') throw storeErrors.exists(message.subject, last);
    const text = envelope(message.metadata);
    let stored: unknown;
    if (message.ifExists === 'overwrite') {
      await this.send(['SET', key, text]);
      stored = openEnvelope(message.subject, text, key);
    } else if ((await this.send<string | null>(['SET', key, text, 'NX'])) === null) {
      stored = openEnvelope(message.subject, (await this.send<string | null>(['GET', key])) ?? '', key);
      checkSameMetadata(message.subject, stored, message.metadata);
    } else {
      stored = openEnvelope(message.subject, text, key);
    }
    if (holds && message.ifExists === 'overwrite') await this.send(['DEL', this.stream]);
    this.lastWritten = message.ifExists === 'resume' ? last : -1;
    this.post({ type: 'opened', metadata: stored, nextStep: this.lastWritten + 1 });
  }

  /** Sends a step, its payloads at `slots` of the ring, atomically (one XADD, or a transaction of several, see redis-entries.ts); acknowledges it once stored. */
  commit(step: number, heads: string, slots: Slot[]): void {
    const entries = stepEntries(heads, slots.map(([at, length]) => this.ring.subarray(at, at + length)));
    const xadd = (fields: (string | Buffer)[], i: number): (string | Buffer)[] => ['XADD', this.stream, entryId(step, i), ...fields];
    let sent: Promise<unknown>;
    if (entries.length === 1) sent = this.send(xadd(entries[0]!, 0));
    else {
      const multi = this.client!.multi();
      entries.forEach((fields, i) => multi.addCommand(xadd(fields, i)));
      sent = multi.exec();
    }
    const done = sent.then(
      () => {
        // A transaction's reply settles later than a single command's sent after it: the server stored them in order all the same.
        this.lastWritten = Math.max(this.lastWritten, step);
        // One acknowledgement for every step stored in this turn of the event loop.
        if (!this.acking) {
          this.acking = true;
          setImmediate(() => {
            this.acking = false;
            this.post({ type: 'ack', step: this.lastWritten });
          });
        }
      },
      (error: Error) => {
        const errors = error instanceof MultiErrorReply ? [...error.errors()] : [error];
        if (errors.some((e) => /equal or smaller/.test(e.message))) this.fail(storeErrors.otherWriter(this.open!.subject, `step ${step} is already in the stream`));
        else this.fail(error);
      },
    );
    this.commits.add(done);
    void done.finally(() => this.commits.delete(done));
  }

  async closeWriter(): Promise<void> {
    await Promise.all(this.commits);
    try {
      await this.send(['XADD', this.stream, endId(this.lastWritten), 'e', '1']);
    } catch (error) {
      // The end mark of a resumed run that added no step is already there.
      if (!/equal or smaller/.test((error as Error).message)) throw error;
    }
    await this.client!.close();
    this.post({ type: 'closed' });
  }

  async openReader(message: OpenMessage): Promise<void> {
    const key = metaKey(message.location.key);
    const deadline = Date.now() + message.timeout;
    let text = await this.send<string | null>(['GET', key]);
    // A reader may start before the record run: wait for the store to appear.
    while (text === null && message.existing !== true && Date.now() < deadline && this.generation >= 0) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      text = await this.send<string | null>(['GET', key]);
    }
    if (text === null) throw storeErrors.missing(message.subject, message.existing === true ? `no key "${key}"` : `no key "${key}" appeared within ${message.timeout} ms`);
    this.post({ type: 'opened', metadata: openEnvelope(message.subject, text, key), lastStep: await this.lastStep() });
  }

  /**
   * Reads steps from `from` on and posts those of each reply in one message, until a
   * newer start replaces this one. An end mark is posted once nothing follows it (a
   * resumed run adds steps after it): it ended a reply shorter than asked for, or the
   * reply after it was empty.
   */
  async pump(mine: number, from: number): Promise<void> {
    let cursor = cursorBefore(from);
    let next = from;
    let count = 8;
    let endBefore: number | undefined;
    const assembler = new StepAssembler();
    while (mine === this.generation) {
      if (this.ahead >= READ_AHEAD) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        continue;
      }
      const reply = await this.send<[Buffer, [Buffer, Buffer[]][]][] | null>(['XREAD', 'COUNT', String(count), 'BLOCK', String(BLOCK_MS), 'STREAMS', this.stream, cursor], true);
      if (mine !== this.generation) return;
      const entries = reply?.[0]?.[1] ?? [];
      const steps: PostedStep[] = [];
      let bytes = 0;
      let entryBytes = 0;
      let end = entries.length === 0 ? endBefore : undefined;
      endBefore = undefined;
      for (const [id, fields] of entries) {
        cursor = id.toString('latin1');
        for (const field of fields) entryBytes += field.byteLength;
        const entry = parseEntry(id, fields);
        if (typeof entry !== 'string' && entry.kind === 'end') {
          endBefore = entry.last;
          continue;
        }
        endBefore = undefined;
        const done = typeof entry === 'string' ? entry : assembler.add(entry);
        const wrong = typeof done === 'string' ? done : done !== undefined && done.step !== next ? `step ${done.step} follows step ${next - 1}` : undefined;
        if (wrong !== undefined) throw storeErrors.corrupt(this.open!.subject, wrong, this.lastRead);
        if (done === undefined || typeof done === 'string') continue; // the step goes on in the next entries
        for (const part of done.parts) bytes += part.byteLength;
        steps.push([next++, done.heads, done.parts]);
      }
      if (endBefore !== undefined && entries.length < count) end = endBefore;
      if (entries.length > 0) count = Math.max(1, Math.min(512, Math.floor(READ_BATCH / Math.max(1, entryBytes / entries.length))));
      if (steps.length > 0) {
        this.lastRead = next - 1;
        this.ahead += bytes;
      }
      if (steps.length > 0 || end !== undefined) this.post({ type: 'steps', generation: mine, steps, end }, transferable(steps));
    }
  }

  async handle(message: BridgeMessage): Promise<void> {
    switch (message.type) {
      case 'open':
        this.open = message as unknown as OpenMessage;
        await this.connect(this.open);
        await (this.open.role === 'writer' ? this.openWriter(this.open) : this.openReader(this.open));
        return;
      case 'commit':
        return this.commit(message.step as number, message.heads as string, message.slots as Slot[]);
      case 'ring':
        this.ring = Buffer.from(message.buffer as SharedArrayBuffer);
        return;
      case 'close':
        return this.closeWriter();
      case 'start': {
        const mine = (this.generation = message.generation as number);
        this.ahead = 0;
        this.wake?.();
        // A seek: the running pump's XREAD may block for BLOCK_MS; a new connection need not wait for it.
        if (this.pumping) {
          this.client!.destroy();
          await this.connect(this.open!);
        }
        this.pumping = true;
        try {
          await this.pump(mine, message.from as number);
        } catch (error) {
          if (mine === this.generation) throw error;
        } finally {
          if (mine === this.generation) this.pumping = false;
        }
        return;
      }
      case 'consumed':
        this.ahead -= message.bytes as number;
        this.wake?.();
        return;
    }
  }
}

parentPort!.on('message', ({ port, signal }: { port: MessagePort; signal: Int32Array }) => {
  new Session(port, signal);
});
