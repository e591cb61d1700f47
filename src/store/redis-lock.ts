/**
 * One writer per rank of a Redis store, and a sign that it lives. Two keys per rank:
 *
 *   <key>:rank-<r>:writer   the lock: its holder (holder.ts) as JSON, set with NX and an
 *                           expiry (PX LOCK_TTL_MS) that the writer renews every BEAT_MS
 *                           from its worker thread, on a connection of its own (so a step
 *                           being sent does not hold a beat back, and a main thread busy
 *                           in a synchronous loop does not stop it: alive means the
 *                           process lives). A writer killed, stopped or cut off stops
 *                           renewing, and the key expires LOCK_TTL_MS later.
 *   <key>:rank-<r>:owner    the token of the last writer that took the rank (no expiry).
 *
 * Every step is written in a transaction (MULTI/EXEC: nothing of another client runs in
 * between, and nobody sees it half done; steps committed together share one): FENCE
 * checks the lock, then the steps' XADDs, then UNFENCE. When the lock is not this
 * writer's, FENCE moves the stream aside and puts a string in its place, so the XADDs
 * fail (WRONGTYPE) and add nothing, and UNFENCE puts the stream back: a writer that lost
 * its lock writes nothing, even bytes that reach the server late (a network that comes
 * back). The payloads go to XADD as they are: a script that took them as arguments would
 * copy each twice more on the server. A writer whose lock expired while no other writer
 * took the rank (the owner is still its token: it was stopped, or cut off a while) takes
 * it back and goes on. A writer that finds the lock of a process of this host that has
 * ended removes it (compared and deleted in one script); a lock held on another host is
 * left to expire. Readers (redis-worker.ts) take a missing lock as "no record run is
 * writing this rank".
 */
import { streamKey } from './redis-entries.js';

/** How long the lock outlives its holder's last sign of life. */
export const LOCK_TTL_MS = 8000;
/** How often the writer renews it. */
export const BEAT_MS = 2000;

export const lockKey = (key: string, rank: number): string => `${streamKey(key, rank)}:writer`;
export const ownerKey = (key: string, rank: number): string => `${streamKey(key, rank)}:owner`;

/** Where FENCE moves a stream while a writer that lost its lock tries to write. */
export const asideKey = (stream: string): string => `${stream}:fenced`;

/** FENCE's error reply, at the start of its message. */
export const LOST = 'DDLOST';

export const SCRIPTS = {
  /** KEYS lock, owner; ARGV holder, token, ttl. 1, or the holder's text. */
  acquire: `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[3]) then
  redis.call('SET', KEYS[2], ARGV[2])
  return 1
end
return redis.call('GET', KEYS[1]) or 0`,
  /** KEYS lock, owner; ARGV holder, token, ttl. 1 while the rank is this writer's (taken back when the lock expired and nobody took it), else the other holder's text or 0. */
  renew: `
local held = redis.call('GET', KEYS[1])
if held == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return 1
end
if not held and redis.call('GET', KEYS[2]) == ARGV[2] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
  return 1
end
return held or 0`,
  /** KEYS lock; ARGV text. Deletes the lock if it holds exactly that text (the writer's own at close, or a holder found gone). */
  release: `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`,
  /**
   * KEYS lock, owner, stream, the stream's name aside; ARGV holder, token, ttl. 1 while
   * the rank is this writer's (taken back if need be); else the fence, and an error.
   */
  fence: `
local held = redis.call('GET', KEYS[1])
if held == ARGV[1] then return 1 end
if not held and redis.call('GET', KEYS[2]) == ARGV[2] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
  return 1
end
if redis.call('EXISTS', KEYS[3]) == 1 then redis.call('RENAME', KEYS[3], KEYS[4]) end
redis.call('SET', KEYS[3], ARGV[2])
return redis.error_reply('${LOST} ' .. (held or 'none'))`,
  /** KEYS stream, the stream's name aside; ARGV token. Undoes this writer's fence, if it put one up. */
  unfence: `
if redis.call('TYPE', KEYS[1]).ok ~= 'string' or redis.call('GET', KEYS[1]) ~= ARGV[1] then return 1 end
redis.call('DEL', KEYS[1])
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('RENAME', KEYS[2], KEYS[1]) end
return 1`,
} as const;

export type ScriptName = keyof typeof SCRIPTS;

