/**
 * A store's url: a folder (`./teacher-outputs` against the caller's base, an absolute
 * path, or a `file:` URL) or Redis Streams (`redis://[user:password@]host:port/key`).
 * In a Redis url the path is the key the store's streams are named after, not a database
 * number as elsewhere; `?db=N` picks a database.
 */
import { dirname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { storeErrors } from '../errors.js';
import { toBase } from '../target-path.js';

export interface DirectoryLocation {
  readonly kind: 'directory';
  readonly path: string;
  /** The url as given, for messages. */
  readonly display: string;
}

export interface RedisLocation {
  readonly kind: 'redis';
  readonly host: string;
  readonly port: number;
  readonly key: string;
  readonly db: number;
  readonly username: string | undefined;
  readonly password: string | undefined;
  /** The url without its password, for messages. */
  readonly display: string;
}

export type StoreLocation = DirectoryLocation | RedisLocation;

function redisLocation(text: string): RedisLocation {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw storeErrors.badRedisUrl(text, 'does not parse as a URL');
  }
  const shown = url.password ? text.replace(`:${url.password}@`, ':***@') : text;
  const key = decodeURIComponent(url.pathname.slice(1));
  if (!url.hostname) throw storeErrors.badRedisUrl(shown, 'has no host');
  if (key === '') throw storeErrors.badRedisUrl(shown, 'has no key after the port');
  const db = url.searchParams.get('db') ?? '0';
  if (!/^\d+$/.test(db)) throw storeErrors.badRedisUrl(shown, `has the database "${db}", not a number`);
  return {
    kind: 'redis',
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port ? Number(url.port) : 6379,
    key,
    db: Number(db),
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    display: shown,
  };
}

export function parseStoreUrl(url: unknown, base: string | URL | undefined): StoreLocation {
  const text = url instanceof URL ? url.href : url;
  if (typeof text !== 'string' || text.trim() === '') throw storeErrors.badUrl(url);
  if (/^rediss?:/i.test(text)) {
    if (/^rediss:/i.test(text)) throw storeErrors.badRedisUrl(text, 'asks for TLS (rediss:), which the store does not support yet');
    return redisLocation(text);
  }
  if (text.startsWith('file:')) {
    try {
      return { kind: 'directory', path: fileURLToPath(text), display: text };
    } catch {
      throw storeErrors.badUrl(url);
    }
  }
  if (/^[a-z][a-z0-9+.-]+:\/\//i.test(text)) throw storeErrors.badUrl(url);
  // toBase gives a folder ending with a separator, or a file whose folder is meant.
  const parent = toBase(base).parent;
  return { kind: 'directory', path: resolve(parent.endsWith(sep) ? parent : dirname(parent), text), display: text };
}
