/**
 * The store's tools on a Redis store as a whole (redis-commands.ts does the work in the
 * process's worker thread): what it holds, rank by rank, and deleting it.
 */
import { storeErrors } from '../errors.js';
import { openEnvelope } from './metadata.js';
import type { RedisInspection } from './redis-commands.js';
import { metaKey } from './redis-entries.js';
import { asError, start } from './redis-open.js';
import type { Opened } from './types.js';
import type { RedisLocation } from './url.js';

export type { RedisInspection, RedisRank } from './redis-commands.js';

/** Asks the worker one question on a channel of its own, within the store's timeout. */
function ask(opened: Opened<RedisLocation>, type: 'inspect' | 'delete', answer: string): Record<string, unknown> {
  const { bridge } = start(opened, 'admin', {});
  try {
    bridge.post({ type });
    const reply = bridge.next(Date.now() + opened.timeout);
    if (reply?.type === 'error') throw asError(reply);
    if (reply?.type !== answer) throw storeErrors.unavailable(opened.subject, `no answer within ${opened.timeout} ms`, -1, 'read');
    return reply;
  } finally {
    bridge.close();
  }
}

/** What the store holds now: its metadata (undefined when it does not exist) and its ranks. */
export function inspectRedis(opened: Opened<RedisLocation>): { metadata: unknown; exists: boolean; ranks: RedisInspection['ranks'] } {
  const reply = ask(opened, 'inspect', 'inspected') as unknown as RedisInspection;
  const key = metaKey(opened.location.key);
  return { exists: reply.meta !== null, metadata: reply.meta === null ? undefined : openEnvelope(opened.subject, reply.meta, key), ranks: reply.ranks };
}

/** Deletes the store's keys; returns how many there were. */
export function deleteRedis(opened: Opened<RedisLocation>): number {
  return ask(opened, 'delete', 'deleted').keys as number;
}
