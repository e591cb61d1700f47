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
import { createClient, RESP_TYPES } from '@redis/client';
import { parentPort, type MessagePort } from 'node:worker_threads';
import { DeliveryError, storeErrors } from '../errors.js';
import { transferable, workerPoster, type BridgeMessage, type PostedStep } from './bridge.js';
import { describeHolder, holderState, parseHolder, thisHolder } from './holder.js';
import { checkSameMetadata, envelope, openEnvelope } from './metadata.js';
import { StepAssembler, cursorBefore, endId, entryId, lastStepOf, metaKey, parseEntry, runsKey, stepEntries, streamKey } from './redis-entries.js';
import { deleteStore, inspectStore, ranksOf } from './redis-commands.js';
import { BEAT_MS, LOCK_TTL_MS, LOST, SCRIPTS, asideKey, lockKey, ownerKey, type ScriptName } from './redis-lock.js';
import type { Slot } from './redis-ring.js';
import { endRun, parseRuns, serializeRuns, startRun, unended, type RunRecord } from './runs.js';
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
  role: 'writer' | 'reader' | 'admin';
  location: RedisLocation;
  rank: number;
  subject: string;
  timeout: number;
  metadata?: unknown;
  ifExists?: IfExists;
  /** A reader: fail at once when the store does not exist (mode "auto"), instead of waiting for it. */
  existing?: boolean;
  /** A reader that reads what the stream holds now and never waits for more (the store's tools). */
  snapshot?: boolean;
  provenance?: Record<string, unknown>;
  /** A copy's runs (runs.ts). */
  runs?: RunRecord[];
}

/** A client that never reconnects and queues nothing offline; commands have no timeout of their own (node-redis's default is 5 s, and each costs an AbortSignal): the caller's deadline bounds every wait. */
function makeClient(location: RedisLocation, timeout: number) {
  const client = createClient({
    socket: { host: location.host, port: location.port, connectTimeout: timeout, reconnectStrategy: false },
    username: location.username,
    password: location.password,
    database: location.db,
    RESP: 2,
    disableOfflineQueue: true,
    commandOptions: { timeout: 0 },
  });
  client.on('error', () => {}); // every command in flight is rejected with the error, and reported from there
  return client;
}

type Client = ReturnType<typeof makeClient>;

/** A writer's hold on its rank (redis-lock.ts): the keys, its holder's text and token, and the connection that renews it. */
interface WriterLock {
  readonly keys: [lock: string, owner: string];
  readonly holder: string;
  readonly token: string;
  beat: NodeJS.Timeout | undefined;
  beatClient: Client | undefined;
  beating: boolean;
}

/** Steps to send in one transaction: their entries ([id, fields] each), the first and last step, their bytes. */
interface Batch {
  readonly entries: [string, (string | Buffer)[]][];
  readonly first: number;
  last: number;
  bytes: number;
}

/** A batch is sent at once when it holds this many bytes; else at the end of the turn. */
const BATCH_BYTES = 2 << 20;

/** A transaction whose commands failed: their errors. */
class TransactionError extends Error {
  constructor(readonly errors: Error[]) {
    super(errors.map((e) => e.message).join('; '));
  }
}

/** The errors of a transaction's commands, or the error itself. */
const errorsOf = (error: Error): Error[] => (error instanceof TransactionError ? error.errors : [error]);
/** XADD refused an id: the stream holds that step (or a later one) already. */
const idTaken = (error: Error): boolean => errorsOf(error).some((e) => /equal or smaller/.test(e.message));

/** One store's connection and state, on its own channel. */
class Session {
  readonly post: (message: BridgeMessage, transfer?: ArrayBuffer[]) => void;
  client: Client | undefined;
  open: OpenMessage | undefined;
  stream = '';
  /** A writer's rank's runs, its own last; a copy's runs as they ended. */
  runs: RunRecord[] = [];
  copied: RunRecord[] | undefined;
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
  /** Steps committed in this turn of the event loop, not sent yet: they go in one transaction. */
  batch: Batch | undefined;
  /** The scripts' SHA1s, once loaded (SCRIPT LOAD). */
  shas: Partial<Record<ScriptName, string>> = {};
  lock: WriterLock | undefined;

  constructor(port: MessagePort, signal: Int32Array) {
    this.post = workerPoster(port, signal);
    port.on('message', (message: BridgeMessage) => {
      this.handle(message).catch((error: unknown) => this.fail(error));
    });
    // The caller closed the store, or its thread ended: drop the connection at once.
    port.on('close', () => {
      this.generation = -1;
      this.wake?.();
      this.stopBeating();
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
    this.client = await this.connected(message);
    this.stream = streamKey(message.location.key, message.rank);
  }

  async connected(message: OpenMessage): Promise<Client> {
    const { location } = message;
    const client = makeClient(location, message.timeout);
    try {
      await client.connect();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      throw storeErrors.unavailable(message.subject, `cannot connect to ${location.host}:${location.port} (${code})`, -1, message.role === 'writer' ? 'written' : 'read');
    }
    return client;
  }

  /** Runs one of redis-lock.ts's scripts (loaded at open) on `client`. */
  script<T>(name: ScriptName, keys: readonly string[], args: readonly (string | Buffer)[], client = this.client!): Promise<T> {
    return client.sendCommand(['EVALSHA', this.shas[name]!, String(keys.length), ...keys, ...args]) as Promise<T>;
  }

  async loadScripts(): Promise<void> {
    for (const name of Object.keys(SCRIPTS) as ScriptName[]) this.shas[name] = await this.send<string>(['SCRIPT', 'LOAD', SCRIPTS[name]]);
  }

  async lastStep(): Promise<number> {
    const last = await this.send<[string, unknown][]>(['XREVRANGE', this.stream, '+', '-', 'COUNT', '1']);
    return lastStepOf(last[0]?.[0]);
  }

  async openWriter(message: OpenMessage): Promise<void> {
    await this.loadScripts();
    await this.acquire(message);
    try {
      const key = metaKey(message.location.key);
      const last = await this.lastStep();
      // Existing data is a complete step: a stream with an end mark and no step (a record run that wrote none) is not.
      const holds = last >= 0;
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
      if (message.ifExists !== 'resume') await this.send(['DEL', this.stream]);
      this.lastWritten = message.ifExists === 'resume' ? last : -1;
      await this.startRun(message, holds);
      await this.startBeating(message);
      this.post({ type: 'opened', metadata: stored, nextStep: this.lastWritten + 1 });
    } catch (error) {
      await this.release().catch(() => {});
      throw error;
    }
  }

  /** Adds this writer's run to the rank's runs (runs.ts), or a copy's runs; while it holds the rank's lock. */
  async startRun(message: OpenMessage, holds: boolean): Promise<void> {
    const key = runsKey(message.location.key, message.rank);
    const resume = holds && message.ifExists === 'resume';
    const kept = resume ? parseRuns(message.subject, (await this.send<string | null>(['GET', key])) ?? undefined, key, this.lastWritten) : [];
    this.copied = message.runs;
    this.runs = message.runs !== undefined ? unended(message.runs) : startRun(kept, message.provenance, this.lastWritten + 1, holds && message.ifExists !== 'error' ? message.ifExists! : 'new');
    await this.send(['SET', key, serializeRuns(this.runs)]);
  }

  /** Takes the rank's lock: at once when it is free or its holder is a process of this host that has ended; else ERR_DELIVERY_STORE_EXISTS naming the holder. */
  async acquire(message: OpenMessage): Promise<void> {
    const { location, rank, subject } = message;
    const holder = thisHolder();
    const lock: WriterLock = { keys: [lockKey(location.key, rank), ownerKey(location.key, rank)], holder: JSON.stringify(holder), token: holder.token, beat: undefined, beatClient: undefined, beating: false };
    const args = [lock.holder, lock.token, String(LOCK_TTL_MS)];
    for (let attempt = 0; attempt < 8; attempt++) {
      const reply = await this.script<number | string>('acquire', lock.keys, args);
      if (reply === 1) {
        this.lock = lock;
        return;
      }
      if (reply === 0) continue; // it expired in the meantime
      const other = parseHolder(String(reply));
      const state = other === undefined ? 'unknown' : holderState(other);
      if (state === 'gone') {
        await this.script('release', [lock.keys[0]], [String(reply)]);
        continue;
      }
      const left = await this.send<number>(['PTTL', lock.keys[0]]);
      const who = other === undefined ? 'a writer this package cannot read' : describeHolder(other);
      throw storeErrors.otherWriter(
        subject,
        state === 'alive'
          ? `${who} holds the key "${lock.keys[0]}"`
          : `${who} holds the key "${lock.keys[0]}", and this host cannot tell whether that process still runs; a writer's lock expires ${LOCK_TTL_MS} ms after its last sign of life (this one in ${left} ms), so if it was killed, record again after that`,
      );
    }
    throw storeErrors.otherWriter(subject, `the key "${lock.keys[0]}" changed hands again and again while this writer tried to take it`);
  }

  /** Renews the lock every BEAT_MS on a connection of its own; a rank found taken by another writer fails the writer. */
  async startBeating(message: OpenMessage): Promise<void> {
    const lock = this.lock!;
    lock.beatClient = await this.connected(message);
    const args = [lock.holder, lock.token, String(LOCK_TTL_MS)];
    lock.beat = setInterval(() => {
      if (lock.beating) return; // the last one has not been answered yet
      lock.beating = true;
      this.script<number | string>('renew', lock.keys, args, lock.beatClient).then(
        (reply) => {
          lock.beating = false;
          if (reply !== 1) {
            this.stopBeating();
            this.fail(this.lost(reply));
          }
        },
        (error: unknown) => {
          lock.beating = false;
          this.stopBeating();
          this.fail(error);
        },
      );
    }, BEAT_MS);
  }

  stopBeating(): void {
    const lock = this.lock;
    if (lock === undefined) return;
    clearInterval(lock.beat);
    lock.beat = undefined;
    lock.beatClient?.destroy();
    lock.beatClient = undefined;
  }

  /** Removes the lock if it is still this writer's, and stops renewing it. */
  async release(): Promise<void> {
    const lock = this.lock;
    if (lock === undefined) return;
    this.stopBeating();
    this.lock = undefined;
    await this.script('release', [lock.keys[0]], [lock.holder]);
  }

  /** The error for a rank another writer took while this one could not renew its lock. */
  lost(holder: unknown): DeliveryError {
    const other = parseHolder(typeof holder === 'string' ? holder : undefined);
    return storeErrors.otherWriter(
      this.open!.subject,
      `${other === undefined ? 'another writer' : describeHolder(other)} took this rank after this writer showed no sign of life for ${LOCK_TTL_MS} ms (stopped, or cut off from the server), so this writer writes no more; the last step it wrote is ${this.lastWritten < 0 ? 'none' : this.lastWritten}`,
    );
  }

  /**
   * Sends a step, its payloads at `slots` of the ring, in a transaction that writes it
   * whole and only while this writer holds the rank: FENCE, the XADDs (one, or several
   * for a large step, see redis-entries.ts), UNFENCE (redis-lock.ts). The steps committed
   * in one turn of the event loop (a main thread that commits faster than they are sent)
   * share one transaction, so that the fence costs a step little. Acknowledged once stored.
   */
  commit(step: number, heads: string, slots: Slot[]): void {
    const entries = stepEntries(heads, slots.map(([at, length]) => this.ring.subarray(at, at + length)));
    let batch = this.batch;
    if (batch === undefined) {
      const opened: Batch = (batch = this.batch = { entries: [], first: step, last: step, bytes: 0 });
      setImmediate(() => this.sendBatch(opened));
    }
    entries.forEach((fields, i) => batch.entries.push([entryId(step, i), fields]));
    for (const [, length] of slots) batch.bytes += length;
    batch.last = step;
    if (batch.bytes >= BATCH_BYTES) this.sendBatch(batch);
  }

  /** Sends `batch` unless it was sent; acknowledges its steps once stored. */
  sendBatch(batch: Batch): void {
    if (this.batch !== batch) return;
    this.batch = undefined;
    const done = this.fenced(batch.entries).then(
      () => {
        // A transaction's reply settles later than a single command's sent after it: the server stored them in order all the same.
        this.lastWritten = Math.max(this.lastWritten, batch.last);
        // One acknowledgement for every step stored in this turn of the event loop.
        if (!this.acking) {
          this.acking = true;
          setImmediate(() => {
            this.acking = false;
            this.post({ type: 'ack', step: this.lastWritten });
          });
        }
      },
      (error: Error) => this.fail(this.commitError(error, batch.first)),
    );
    this.commits.add(done);
    void done.finally(() => this.commits.delete(done));
  }

  /**
   * Adds `entries` ([id, fields] each) to the stream in one transaction, fenced by the
   * lock; rejects with the errors of its commands. The commands go out as they are,
   * pipelined (node-redis's multi() costs the worker ~5 µs more a step): only commits
   * and the end mark use the writer's connection, each sent whole in one go.
   */
  async fenced(entries: [string, (string | Buffer)[]][]): Promise<void> {
    const { keys, holder, token } = this.lock!;
    const aside = asideKey(this.stream);
    const queued = [this.send(['MULTI']), this.send(['EVALSHA', this.shas.fence!, '4', ...keys, this.stream, aside, holder, token, String(LOCK_TTL_MS)])];
    for (const [id, fields] of entries) queued.push(this.send(['XADD', this.stream, id, ...fields]));
    queued.push(this.send(['EVALSHA', this.shas.unfence!, '2', this.stream, aside, token]));
    // Their failures are EXEC's too.
    for (const reply of queued) reply.catch(() => {});
    const replies = await this.send<unknown[]>(['EXEC']);
    const errors = replies.filter((reply): reply is Error => reply instanceof Error);
    if (errors.length > 0) throw new TransactionError(errors);
  }

  /** What a refused step means: the rank taken by another writer, or the step already in the stream; else the error as it is. */
  commitError(error: Error, step: number): unknown {
    const lost = errorsOf(error).find((e) => e.message.startsWith(LOST));
    if (lost !== undefined) return this.lost(lost.message.slice(LOST.length + 1));
    if (idTaken(error)) return storeErrors.otherWriter(this.open!.subject, `step ${step} is already in the stream`);
    return error;
  }

  async closeWriter(complete: boolean): Promise<void> {
    if (this.batch !== undefined) this.sendBatch(this.batch);
    await Promise.all(this.commits);
    try {
      await this.fenced([[endId(this.lastWritten), ['e', '1']]]);
    } catch (error) {
      // The end mark of a resumed run that added no step is already there.
      if (!idTaken(error as Error)) throw this.commitError(error as Error, this.lastWritten + 1);
    }
    if (complete) {
      // While the lock is still this writer's.
      this.runs = this.copied ?? endRun(this.runs, this.lastWritten + 1);
      await this.send(['SET', runsKey(this.open!.location.key, this.open!.rank), serializeRuns(this.runs)]);
    }
    await this.release();
    await this.client!.close();
    this.post({ type: 'closed' });
  }

  /** Whether a record run is writing this rank: its lock is there (redis-lock.ts). */
  async writing(): Promise<boolean> {
    return (await this.send<number>(['EXISTS', lockKey(this.open!.location.key, this.open!.rank)])) === 1;
  }

  async openReader(message: OpenMessage): Promise<void> {
    const key = metaKey(message.location.key);
    const deadline = Date.now() + message.timeout;
    let text = await this.send<string | null>(['GET', key]);
    // A reader may start while the record run opens the store: it waits while that run's lock says it is writing (not in mode "auto", nor a snapshot).
    while (text === null && message.existing !== true && Date.now() < deadline && this.generation >= 0) {
      if (!(await this.writing())) throw storeErrors.missing(message.subject, `there is no key "${key}", and no record run is writing rank ${message.rank}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      text = await this.send<string | null>(['GET', key]);
    }
    if (text === null) throw storeErrors.missing(message.subject, message.existing === true ? `no key "${key}"` : `no key "${key}" appeared within ${message.timeout} ms`);
    const metadata = openEnvelope(message.subject, text, key);
    const lastStep = await this.lastStep();
    const runsText = await this.send<string | null>(['GET', runsKey(message.location.key, message.rank)]);
    // A replay of a rank no record run ever opened (no runs, no stream) and none is writing now: nothing will come.
    if (message.existing !== true && runsText === null && lastStep < 0 && (await this.send<number>(['EXISTS', this.stream])) === 0 && !(await this.writing())) {
      throw storeErrors.noRank(message.subject, message.rank, await ranksOf((args) => this.send(args), message.location.key));
    }
    const runs = parseRuns(message.subject, runsText ?? undefined, runsKey(message.location.key, message.rank), -1);
    this.post({ type: 'opened', metadata, lastStep, runs });
  }

  /**
   * Reads steps from `from` on and posts those of each reply in one message, until a
   * newer start replaces this one. An end mark is posted once nothing follows it (a
   * resumed run adds steps after it): it ended a reply shorter than asked for, or the
   * reply after it was empty. When nothing came and no end mark closes the stream, the
   * rank's lock says whether a record run is still writing it: when it is gone, one more
   * look (the writer writes its end mark before it removes its lock) and then `gone`
   * is posted, with the last step there is: no step will come.
   */
  async pump(mine: number, from: number): Promise<void> {
    let cursor = cursorBefore(from);
    let next = from;
    let count = 8;
    let endBefore: number | undefined;
    /** The last entry read is an end mark. */
    let ended = false;
    /** The lock was found gone: the next read is the last, without waiting. */
    let lastLook = false;
    const assembler = new StepAssembler();
    while (mine === this.generation) {
      if (this.ahead >= READ_AHEAD) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        continue;
      }
      const snapshot = this.open!.snapshot === true;
      const wait = lastLook || snapshot ? [] : ['BLOCK', String(BLOCK_MS)];
      const reply = await this.send<[Buffer, [Buffer, Buffer[]][]][] | null>(['XREAD', 'COUNT', String(count), ...wait, 'STREAMS', this.stream, cursor], true);
      if (mine !== this.generation) return;
      const entries = reply?.[0]?.[1] ?? [];
      if (snapshot && entries.length === 0) {
        // All the stream holds now: a step begun in it and not finished is damage, since a step is written whole.
        const unfinished = assembler.unfinished();
        if (unfinished !== undefined) throw storeErrors.corrupt(this.open!.subject, unfinished, this.lastRead);
        this.post({ type: 'steps', generation: mine, steps: [], end: next - 1, snapshot: true });
        return;
      }
      const steps: PostedStep[] = [];
      let bytes = 0;
      let entryBytes = 0;
      let end = entries.length === 0 ? endBefore : undefined;
      endBefore = undefined;
      for (const [id, fields] of entries) {
        cursor = id.toString('latin1');
        for (const field of fields) entryBytes += field.byteLength;
        const entry = parseEntry(id, fields);
        ended = typeof entry !== 'string' && entry.kind === 'end';
        if (typeof entry !== 'string' && entry.kind === 'end') {
          endBefore = entry.last;
          continue;
        }
        endBefore = undefined;
        const done = typeof entry === 'string' ? entry : assembler.add(entry);
        const wrong = typeof done === 'string' ? done : done !== undefined && done.step !== next ? `step ${done.step} follows step ${next - 1}` : undefined;
        if (wrong !== undefined) {
          // The steps before it in this reply are whole: the caller gets them, then the error.
          if (steps.length > 0) this.post({ type: 'steps', generation: mine, steps }, transferable(steps));
          throw storeErrors.corrupt(this.open!.subject, wrong, next - 1);
        }
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
      if (entries.length > 0 || ended) lastLook = false;
      else if (lastLook) {
        this.post({ type: 'gone', generation: mine, last: next - 1 });
        return;
      } else lastLook = !(await this.writing());
      if (mine !== this.generation) return;
    }
  }

  async handle(message: BridgeMessage): Promise<void> {
    switch (message.type) {
      case 'open':
        this.open = message as unknown as OpenMessage;
        await this.connect(this.open);
        if (this.open.role === 'admin') return this.post({ type: 'opened' });
        await (this.open.role === 'writer' ? this.openWriter(this.open) : this.openReader(this.open));
        return;
      case 'inspect':
        return this.post({ type: 'inspected', ...(await inspectStore((args) => this.send(args), this.open!.location.key)) });
      case 'delete':
        return this.post({ type: 'deleted', keys: await deleteStore((args) => this.send(args), this.open!.location.key) });
      case 'commit':
        return this.commit(message.step as number, message.heads as string, message.slots as Slot[]);
      case 'ring':
        this.ring = Buffer.from(message.buffer as SharedArrayBuffer);
        return;
      case 'close':
        return this.closeWriter(message.complete === true);
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
