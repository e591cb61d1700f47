/**
 * Opening a Redis store (redis-writer.ts, redis-reader.ts): a channel to the process's
 * worker (bridge.ts, redis-worker.ts), the open message, and its answer within the
 * store's timeout.
 */
import { DeliveryError, storeErrors, type DeliveryErrorCode } from '../errors.js';
import { Bridge, type BridgeMessage } from './bridge.js';
import type { Opened } from './types.js';
import type { RedisLocation } from './url.js';

const WORKER = new URL('./redis-worker.js', import.meta.url);
/** Time the worker may take to start, on top of the store's timeout for connecting. */
const STARTUP_MS = 5000;

export const asError = (message: BridgeMessage): DeliveryError => new DeliveryError(message.code as DeliveryErrorCode, message.message as string);

export function start(opened: Opened<RedisLocation>, role: 'writer' | 'reader' | 'admin', extra: Record<string, unknown>): { bridge: Bridge; reply: BridgeMessage } {
  const bridge = new Bridge(WORKER);
  bridge.post({ type: 'open', role, location: opened.location, rank: opened.rank, subject: opened.subject, timeout: opened.timeout, ...extra });
  const reply = bridge.next(Date.now() + opened.timeout + STARTUP_MS);
  if (reply?.type === 'opened') return { bridge, reply };
  bridge.close();
  if (reply?.type === 'error') throw asError(reply);
  throw storeErrors.unavailable(opened.subject, `no answer within ${opened.timeout + STARTUP_MS} ms of opening it`, -1, role === 'writer' ? 'written' : 'read');
}

