/**
 * The worker thread behind a Redis store (see bridge.ts): it holds the connection
 * (node-redis, `@redis/client`) and runs the store's commands. A writer's steps go out
 * as they are committed, pipelined, each acknowledged in order; a reader reads ahead
 * with XREAD BLOCK and posts each complete step, keeping at most READ_AHEAD bytes that
 * the caller has not taken. The client never reconnects and keeps no offline queue: a
 * server that goes away fails every command at once, which the caller reports.
 */
import { createClient, RESP_TYPES } from '@redis/client';
import { workerData, type MessagePort } from 'node:worker_threads';
import { DeliveryError, storeErrors } from '../errors.js';
import { pack, unpack, workerPoster, type BridgeMessage, type PackedHead } from './bridge.js';
import { checkSameMetadata, envelope, openEnvelope } from './metadata.js';
import { ADD_STEP, StepAssembler, cursorBefore, endId, lastStepOf, metaKey, parseEntry, stepMs, streamKey } from './redis-entries.js';
import type { IfExists, StoreRecord } from './store.js';
import type { RedisLocation } from './url.js';

/** How long one XREAD waits on the server before the reader asks again. */
const BLOCK_MS = 1000;
/** Bytes of payload a reader fetches ahead of the steps taken. */
const READ_AHEAD = 64 << 20;
/** Entries one XREAD returns at most. */
const COUNT = 256;
const BUFFERS = { [RESP_TYPES.BLOB_STRING]: Buffer } as const;

const { port, signal } = workerData as { port: MessagePort; signal: Int32Array };
const post = workerPoster(port, signal);

interface OpenMessage {
  role: 'writer' | 'reader';
  location: RedisLocation;
  rank: number;
  subject: string;
  timeout: number;
  metadata?: unknown;
  ifExists?: IfExists;
}

let client: ReturnType<typeof createClient>;
let open: OpenMessage;
let stream = '';
let lastWritten = -1;
let lastRead = -1;
let sha = '';
const commits = new Set<Promise<void>>();
let generation = 0;
let ahead = 0;
let wake: (() => void) | undefined;

const send = <T>(args: (string | Buffer)[], buffers = false): Promise<T> => client.sendCommand(args, buffers ? { typeMapping: BUFFERS } : undefined) as Promise<T>;

function fail(error: unknown): void {
  const known = error instanceof DeliveryError;
  const detail = `${(error as Error)?.name ?? 'Error'}: ${(error as Error)?.message ?? String(error)}`;
  const reported = known
    ? error
    : open?.role === 'writer'
      ? storeErrors.unavailable(open.subject, `the server failed or went away (${detail})`, lastWritten, 'written')
      : storeErrors.unavailable(open?.subject ?? 'the store', `the server failed or went away (${detail})`, lastRead, 'read');
  post({ type: 'error', code: (reported as DeliveryError).code, message: (reported as DeliveryError).message });
}

async function connect(message: OpenMessage): Promise<void> {
  const { location } = message;
  client = createClient({
    socket: { host: location.host, port: location.port, connectTimeout: message.timeout, reconnectStrategy: false },
    username: location.username,
    password: location.password,
    database: location.db,
    RESP: 2,
    disableOfflineQueue: true,
  });
  client.on('error', () => {}); // every command in flight is rejected with the error, and reported from there
  try {
    await client.connect();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw storeErrors.unavailable(message.subject, `cannot connect to ${location.host}:${location.port} (${code})`, -1, message.role === 'writer' ? 'written' : 'read');
  }
  stream = streamKey(location.key, message.rank);
}

async function lastStep(): Promise<number> {
  const last = await send<[string, unknown][]>(['XREVRANGE', stream, '+', '-', 'COUNT', '1']);
  return lastStepOf(last[0]?.[0]);
}

async function openWriter(message: OpenMessage): Promise<void> {
  const key = metaKey(message.location.key);
  const last = await lastStep();
  const holds = (await send<number>(['EXISTS', stream])) === 1;
  if (holds && message.ifExists === 'error') throw storeErrors.exists(message.subject, last);
  const text = envelope(message.metadata);
  let stored: unknown;
  if (message.ifExists === 'overwrite') {
    await send(['SET', key, text]);
    stored = openEnvelope(message.subject, text, key);
  } else if ((await send<string | null>(['SET', key, text, 'NX'])) === null) {
    stored = openEnvelope(message.subject, (await send<string | null>(['GET', key])) ?? '', key);
    checkSameMetadata(message.subject, stored, message.metadata);
  } else {
    stored = openEnvelope(message.subject, text, key);
  }
  if (holds && message.ifExists === 'overwrite') await send(['DEL', stream]);
  sha = await send<string>(['SCRIPT', 'LOAD', ADD_STEP]);
  lastWritten = message.ifExists === 'resume' ? last : -1;
  post({ type: 'opened', metadata: stored, nextStep: lastWritten + 1 });
}

function commit(step: number, records: StoreRecord[]): void {
  const args: (string | Buffer)[] = ['EVALSHA', sha, '1', stream, String(stepMs(step)), String(records.length)];
  for (const r of records) args.push(r.delivery, String(r.call), r.signature, r.payload as Buffer);
  const done = send(args).then(
    () => {
      lastWritten = step;
      post({ type: 'ack', step });
    },
    (error: Error) => {
      if (/equal or smaller/.test(error.message)) fail(storeErrors.otherWriter(open.subject, `step ${step} is already in the stream`));
      else fail(error);
    },
  );
  commits.add(done);
  void done.finally(() => commits.delete(done));
}

async function closeWriter(): Promise<void> {
  await Promise.all(commits);
  try {
    await send(['XADD', stream, endId(lastWritten), 'e', '1']);
  } catch (error) {
    // The end mark of a resumed run that added no step is already there.
    if (!/equal or smaller/.test((error as Error).message)) throw error;
  }
  await client.close();
  post({ type: 'closed' });
}

async function openReader(message: OpenMessage): Promise<void> {
  const key = metaKey(message.location.key);
  const deadline = Date.now() + message.timeout;
  let text = await send<string | null>(['GET', key]);
  // A reader may start before the record run: wait for the store to appear.
  while (text === null && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    text = await send<string | null>(['GET', key]);
  }
  if (text === null) throw storeErrors.missing(message.subject, `no key "${key}" appeared within ${message.timeout} ms`);
  post({ type: 'opened', metadata: openEnvelope(message.subject, text, key), lastStep: await lastStep() });
}

/** Reads steps from `from` on and posts them, until a newer start replaces this one. */
async function pump(mine: number, from: number): Promise<void> {
  let cursor = cursorBefore(from);
  const steps = new StepAssembler();
  while (mine === generation) {
    if (ahead >= READ_AHEAD) {
      await new Promise<void>((resolve) => (wake = resolve));
      continue;
    }
    const reply = await send<[Buffer, [Buffer, Buffer[]][]][] | null>(['XREAD', 'COUNT', String(COUNT), 'BLOCK', String(BLOCK_MS), 'STREAMS', stream, cursor], true);
    if (mine !== generation) return;
    const entries = reply?.[0]?.[1] ?? [];
    for (const [i, [id, fields]] of entries.entries()) {
      cursor = id.toString('latin1');
      const entry = parseEntry(id, fields);
      const done = typeof entry === 'string' ? entry : steps.add(entry);
      if (typeof done === 'string') throw storeErrors.corrupt(open.subject, done, lastRead);
      // An end mark counts only when nothing follows it yet (a resumed run adds steps after it).
      if (typeof entry !== 'string' && entry.kind === 'end' && i === entries.length - 1 && entries.length < COUNT) post({ type: 'end', generation: mine, last: entry.last });
      if (done === undefined || done.step < from) continue;
      lastRead = done.step;
      ahead += done.bytes;
      const packed = pack(done.records);
      post({ type: 'step', generation: mine, step: done.step, heads: packed.heads, bytes: packed.bytes }, [packed.bytes]);
    }
  }
}

async function handle(message: BridgeMessage): Promise<void> {
  switch (message.type) {
    case 'open':
      open = message as unknown as OpenMessage;
      await connect(open);
      await (open.role === 'writer' ? openWriter(open) : openReader(open));
      return;
    case 'commit':
      return commit(message.step as number, unpack(message.step as number, message.heads as PackedHead[], message.bytes as ArrayBuffer));
    case 'close':
      if (open.role === 'writer') return closeWriter();
      client.destroy(); // a reader's XREAD may block for BLOCK_MS: do not wait for it
      post({ type: 'closed' });
      return;
    case 'start':
      generation = message.generation as number;
      ahead = 0;
      wake?.();
      return pump(generation, message.from as number);
    case 'consumed':
      ahead -= message.bytes as number;
      wake?.();
      return;
  }
}

port.on('message', (message: BridgeMessage) => {
  handle(message).catch(fail);
});
process.on('unhandledRejection', fail);
process.on('uncaughtException', fail);
