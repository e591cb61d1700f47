/**
 * Store: write and read throughput of the directory store and of the Redis store for
 * 1 KB, 64 KB and 1 MB payloads, each against its floor on the same bytes:
 * - directory: raw `fs` appends (writeSync of each payload to a file opened for
 *   appending) and raw reads (readSync of each payload into a fresh buffer);
 * - Redis: the same client (@redis/client) writing each payload with XADD, all
 *   pipelined, and reading them back with pipelined XRANGEs of a step's ids each.
 * Every round moves BENCH_STORE_MB (default 32) MB per size, in steps of 8 records, over
 * BENCH_STORE_ROUNDS (default 9) rounds after one warm-up round (BENCH_STORE_ONLY:
 * `directory` or `redis` to measure one backend; BENCH_STORE_SIZES: sizes in bytes, by commas);
 * candidates alternate, and a figure is the median over rounds of the per-round ratio
 * of throughputs (store / floor: 1.00× is as fast as the floor). Times are CPU time, so
 * other processes on a shared machine do not count: this process's (all its threads,
 * the store's worker included; writing into the page cache is its system time) and, for
 * Redis, the server's too (from /proc, each thread's run time in ns). Wall-clock MB/s are printed
 * beside them. Opening a store or a connection is not timed; closing a store (its
 * flush) is.
 *
 * Reads return fresh memory, on both sides, and whether glibc's malloc hands back
 * memory freed by the last garbage collection or new pages (a page fault per 4 KB)
 * depends on when that collection ran: alone, that tripled the floor's read time from
 * one round to the next. The script so runs itself again with malloc's mmap and trim
 * thresholds raised (GLIBC_TUNABLES), so freed memory is reused: the figures are the
 * steady state, without page faults, on both sides.
 *
 * Needs `redis-server` on the PATH for the Redis figures (started on a free loopback
 * port, no persistence). Prints one JSON line. Run alone with `node bench/store.js`
 * after `npm run build`.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient, RESP_TYPES } from '@redis/client';
import { openStoreReader, openStoreWriter } from '../dist/store/store.js';
import { hasRedis, startRedis } from '../test/helpers/redis-server.mjs';
import { median } from './lib.js';

const TUNABLES = 'glibc.malloc.mmap_threshold=268435456:glibc.malloc.trim_threshold=1073741824';
if (process.env.GLIBC_TUNABLES !== TUNABLES) {
  const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], { stdio: 'inherit', env: { ...process.env, GLIBC_TUNABLES: TUNABLES } });
  process.exit(child.status ?? 1);
}

const SIZES = process.env.BENCH_STORE_SIZES?.split(',').map(Number) ?? [1024, 64 * 1024, 1024 * 1024];
const PER_STEP = 8;
const TOTAL = Number(process.env.BENCH_STORE_MB ?? 32) << 20;
const ROUNDS = Number(process.env.BENCH_STORE_ROUNDS ?? 9);
/** `directory` or `redis` to measure one backend only. */
const ONLY = process.env.BENCH_STORE_ONLY;
const BUFFERS = { [RESP_TYPES.BLOB_STRING]: Buffer };

const wall = () => Number(process.hrtime.bigint()) / 1e6;
/**
 * CPU milliseconds of this process (getrusage: every thread, to the microsecond), plus
 * the Redis server's once it runs: the time each of its threads has run, in
 * nanoseconds, from /proc/<pid>/task/<tid>/schedstat (/proc/<pid>/stat counts 10 ms
 * ticks, too coarse for a write of 32 MB that takes the server about 30 ms).
 */
let serverPid;
function serverCpu() {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${serverPid}/task`)) ns += Number(readFileSync(`/proc/${serverPid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
  return ns / 1e6;
}
function cpu() {
  const { user, system } = process.cpuUsage();
  return { self: (user + system) / 1000, server: serverPid === undefined ? 0 : serverCpu() };
}
/** Times fn(): { cpu, wall, server } in ms (cpu includes server, the Redis server's part). */
async function timed(fn) {
  const c = cpu();
  const w = wall();
  await fn();
  const d = cpu();
  const server = d.server - c.server;
  return { cpu: d.self - c.self + server, wall: wall() - w, server };
}
const root = mkdtempSync(join(tmpdir(), 'dd-bench-store-'));

function payloads(size) {
  const count = Math.max(PER_STEP, Math.floor(TOTAL / size / PER_STEP) * PER_STEP);
  return Array.from({ length: count }, (_, i) => {
    const p = new Uint8Array(size);
    for (let j = 0; j < size; j += 512) p[j] = (i + j) & 0xff;
    return p;
  });
}

function check(got, want) {
  if (got.length !== want.length || got[got.length - 1] !== want[want.length - 1] || got[0] !== want[0]) throw new Error('read back other bytes');
}

/** Writes `data` to the store at `url` and reads it back: { write, read } timings. */
async function storeRound(url, data) {
  const writer = openStoreWriter(url, { metadata: { bench: true }, ifExists: 'overwrite' });
  const write = await timed(() => {
    for (let i = 0; i < data.length; i++) {
      writer.append({ delivery: 'bench', call: i % PER_STEP, signature: '', payload: data[i] });
      if (i % PER_STEP === PER_STEP - 1) writer.commit();
    }
    writer.close();
  });
  const reader = openStoreReader(url);
  const read = await timed(() => {
    for (let step = 0; step < data.length / PER_STEP; step++) {
      const records = reader.read(step);
      check(records[PER_STEP - 1].payload, data[step * PER_STEP + PER_STEP - 1]);
    }
  });
  reader.close();
  return { write, read };
}

async function fsRound(data) {
  const file = join(root, 'raw.bin');
  rmSync(file, { force: true });
  let fd = openSync(file, 'a');
  const write = await timed(() => {
    for (const p of data) writeSync(fd, p);
    closeSync(fd);
  });
  fd = openSync(file, 'r');
  const read = await timed(() => {
    let at = 0;
    for (let i = 0; i < data.length; i++) {
      const size = data[i].byteLength;
      const bytes = Buffer.allocUnsafe(size);
      readSync(fd, bytes, 0, size, at);
      at += size;
      if (i % PER_STEP === PER_STEP - 1) check(bytes, data[i]);
    }
  });
  closeSync(fd);
  return { write, read };
}

async function redisRound(client, data) {
  const key = 'bench:raw';
  await client.sendCommand(['DEL', key]);
  const write = await timed(() => Promise.all(data.map((p, i) => client.sendCommand(['XADD', key, `${i + 1}-0`, 'p', Buffer.from(p.buffer, p.byteOffset, p.byteLength)]))));
  let steps;
  const read = await timed(async () => {
    const replies = [];
    for (let first = 1; first <= data.length; first += PER_STEP) {
      replies.push(client.sendCommand(['XRANGE', key, `${first}-0`, `${first + PER_STEP - 1}-0`], { typeMapping: BUFFERS }));
    }
    steps = await Promise.all(replies);
  });
  check(steps.at(-1).at(-1)[1][1], data.at(-1));
  return { write, read };
}

async function measure(name, candidates) {
  const samples = {};
  const names = Object.keys(candidates);
  for (let round = 0; round < ROUNDS + 1; round++) {
    for (let k = 0; k < names.length; k++) {
      const candidate = names[(round + k) % names.length];
      const ms = await candidates[candidate]();
      if (round > 0) (samples[candidate] ??= []).push(ms);
    }
  }
  const [store, floor] = names;
  const ratioOf = (op) => median(samples[store].map((s, i) => samples[floor][i][op].cpu / s[op].cpu));
  const mbps = (who, op, clock) => TOTAL / (1 << 20) / (median(samples[who].map((s) => s[op][clock])) / 1000);
  const figures = (who) => ({ write: mbps(who, 'write', 'cpu'), read: mbps(who, 'read', 'cpu'), writeWall: mbps(who, 'write', 'wall'), readWall: mbps(who, 'read', 'wall') });
  process.stderr.write(`bench: store: ${name} done\n`);
  const share = (who, op) => median(samples[who].map((s) => s[op].server / s[op].cpu));
  const result = { write: ratioOf('write'), read: ratioOf('read'), store: figures(store), floor: figures(floor) };
  // The Redis server's share of each CPU time, to see which side a change moved.
  if (serverPid !== undefined) result.serverShare = { store: { write: share(store, 'write'), read: share(store, 'read') }, floor: { write: share(floor, 'write'), read: share(floor, 'read') } };
  return result;
}

const result = { directory: {}, redis: {} };
try {
  for (const size of ONLY === 'redis' ? [] : SIZES) {
    const data = payloads(size);
    result.directory[size] = await measure(`directory ${size}`, { store: () => storeRound(join(root, 'store'), data), fs: () => fsRound(data) });
  }
  if (hasRedis && ONLY !== 'directory') {
    const server = await startRedis();
    serverPid = server.pid;
    // No per-command timeout: node-redis fails a command still queued after 5 s by default, and the floor queues all of its commands at once.
    const client = createClient({ socket: { host: '127.0.0.1', port: server.port }, RESP: 2, commandOptions: { timeout: 0 } });
    client.on('error', () => {});
    await client.connect();
    try {
      for (const size of SIZES) {
        const data = payloads(size);
        result.redis[size] = await measure(`redis ${size}`, { store: () => storeRound(server.url('bench'), data), raw: () => redisRound(client, data) });
        await client.sendCommand(['FLUSHALL']);
      }
    } finally {
      await client.close();
      serverPid = undefined;
      await server.stop();
    }
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
console.log(JSON.stringify(result));
