/** What every backend checks of a record before it takes it. */
import { storeErrors } from '../errors.js';
import type { NewRecord } from './types.js';

export function checkRecord(subject: string, record: NewRecord): void {
  if (record === null || typeof record !== 'object') throw storeErrors.badRecord(subject, 'record', record, 'an object');
  // "" is no delivery's name: the link marks a step whose record phase threw with it (src/link/store-link.ts).
  if (typeof record.delivery !== 'string') throw storeErrors.badRecord(subject, 'delivery', record.delivery, 'a string');
  if (!Number.isInteger(record.call) || record.call < 0 || record.call > 0xffffffff) throw storeErrors.badRecord(subject, 'call', record.call, 'an integer from 0');
  if (typeof record.signature !== 'string') throw storeErrors.badRecord(subject, 'signature', record.signature, 'a string');
  if (!(record.payload instanceof Uint8Array)) throw storeErrors.badRecord(subject, 'payload', record.payload, 'a Uint8Array (bytes)');
}
