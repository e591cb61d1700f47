/**
 * What the store's tools ask of a Redis store as a whole, in the worker thread
 * (redis-worker.ts): its keys found by SCAN, never by KEYS (which blocks the server), and
 * only the keys of its layout (redis-entries.ts, redis-lock.ts): `<key>:meta`,
 * `<key>:rank-<r>` (and its `:writer`, `:owner`, `:fenced`), `<key>:runs-<r>`.
 */
import { lastStepOf, metaKey, runsKey, streamKey } from './redis-entries.js';
import { asideKey, lockKey, ownerKey } from './redis-lock.js';

type Send = <T>(args: string[]) => Promise<T>;

/** One rank as the server holds it now: runs as their JSON text (checked by the caller). */
export interface RedisRank {
  readonly rank: number;
  readonly lastStep: number;
  /** MEMORY USAGE of its stream, or null where the server does not say (a stream not created yet, a command not allowed). */
  readonly bytes: number | null;
  readonly runs: string | null;
}

export interface RedisInspection {
  /** The metadata envelope's text, or null when the store does not exist. */
  readonly meta: string | null;
  readonly ranks: RedisRank[];
}

/** A key as a SCAN pattern that matches it alone: glob characters escaped. */
const literal = (key: string): string => key.replace(/[\\*?[\]]/g, '\\$&');

/** The ranks that have a stream or runs. */
export async function ranksOf(send: Send, key: string): Promise<number[]> {
  const own = new RegExp(`^${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:(?:rank|runs)-(\\d+)$`);
  const ranks = new Set<number>();
  let cursor = '0';
  do {
    const [next, keys] = await send<[string, string[]]>(['SCAN', cursor, 'MATCH', `${literal(key)}:r[au]n[ks]-*`, 'COUNT', '1000']);
    cursor = next;
    for (const found of keys) {
      const match = own.exec(found);
      if (match !== null) ranks.add(Number(match[1]));
    }
  } while (cursor !== '0');
  return [...ranks].sort((a, b) => a - b);
}

export async function inspectStore(send: Send, key: string): Promise<RedisInspection> {
  const meta = await send<string | null>(['GET', metaKey(key)]);
  const ranks: RedisRank[] = [];
  for (const rank of await ranksOf(send, key)) {
    const stream = streamKey(key, rank);
    const last = await send<[string, unknown][]>(['XREVRANGE', stream, '+', '-', 'COUNT', '1']);
    let bytes: number | null = null;
    try {
      bytes = await send<number | null>(['MEMORY', 'USAGE', stream, 'SAMPLES', '0']);
    } catch {
      // MEMORY USAGE may be renamed or refused on a managed server: the size is then unknown.
    }
    ranks.push({ rank, lastStep: lastStepOf(last[0]?.[0]), bytes, runs: await send<string | null>(['GET', runsKey(key, rank)]) });
  }
  return { meta, ranks };
}

/** Deletes the store's keys; returns how many there were. */
export async function deleteStore(send: Send, key: string): Promise<number> {
  const keys = [metaKey(key)];
  // With each rank, its writer's lock and owner (redis-lock.ts), and the name a fenced stream takes for a moment.
  for (const rank of await ranksOf(send, key)) keys.push(streamKey(key, rank), runsKey(key, rank), lockKey(key, rank), ownerKey(key, rank), asideKey(streamKey(key, rank)));
  return send<number>(['DEL', ...keys]);
}
