/**
 * The store's metadata: JSON the caller gives (deliveries' names, targets, types and a
 * hash of them), kept once per store in an envelope that says what wrote it. Every
 * writer of every rank must give the same metadata; the first difference is reported
 * by its path inside the metadata.
 */
import { storeErrors } from '../errors.js';

const FORMAT = 'distill-delivery-store';
const VERSION = 2;

/** The metadata as JSON will give it back (undefined becomes null). */
export function normalize(metadata: unknown): unknown {
  const text = JSON.stringify(metadata);
  return text === undefined ? null : JSON.parse(text);
}

export function envelope(metadata: unknown): string {
  return JSON.stringify({ format: FORMAT, version: VERSION, metadata: normalize(metadata) }) + '\n';
}

/** The metadata in an envelope's text; ERR_DELIVERY_STORE_MISMATCH when it is not one of ours. */
export function openEnvelope(subject: string, text: string, where: string): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw storeErrors.notAStore(subject, `${where} is not JSON`);
  }
  const object = parsed as { format?: unknown; version?: unknown; metadata?: unknown } | null;
  if (object === null || typeof object !== 'object' || object.format !== FORMAT) {
    throw storeErrors.notAStore(subject, `${where} does not say "format": "${FORMAT}"`);
  }
  if (object.version !== VERSION) throw storeErrors.notAStore(subject, `${where} has version ${String(object.version)}, and this package reads version ${VERSION}`);
  return object.metadata;
}

/** The path of the first difference between two JSON values (`metadata.deliveries.mixup.type`), or undefined. */
export function firstDifference(stored: unknown, given: unknown, path = 'metadata'): { path: string; stored: unknown; given: unknown } | undefined {
  if (Object.is(stored, given)) return undefined;
  const bothObjects = stored !== null && given !== null && typeof stored === 'object' && typeof given === 'object';
  if (!bothObjects || Array.isArray(stored) !== Array.isArray(given)) return { path, stored, given };
  if (Array.isArray(stored) && Array.isArray(given) && stored.length !== given.length) {
    return { path: `${path}.length`, stored: stored.length, given: given.length };
  }
  const a = stored as Record<string, unknown>;
  const b = given as Record<string, unknown>;
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const inner = Array.isArray(stored) ? `${path}[${key}]` : `${path}.${key}`;
    if (!(key in a) || !(key in b)) return { path: inner, stored: a[key], given: b[key] };
    const found = firstDifference(a[key], b[key], inner);
    if (found) return found;
  }
  return undefined;
}

/** Throws ERR_DELIVERY_STORE_MISMATCH when the stored metadata is not the given one. */
export function checkSameMetadata(subject: string, stored: unknown, given: unknown): void {
  const found = firstDifference(stored, normalize(given));
  if (found) throw storeErrors.otherMetadata(subject, `"${found.path}"`, found.stored, found.given);
}
