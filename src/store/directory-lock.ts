/**
 * One writer per rank of a directory store: `rank-<r>/writer.lock`, a file that names its
 * holder (holder.ts). It is created whole or not at all: written under a name of its own,
 * then hard-linked to writer.lock, which fails when that name exists (link(2) is atomic
 * on local filesystems and over NFS, where the server decides; Node has no flock, and
 * flock does not reach across NFS clients anyway). It is removed at close. A lock left by a
 * process of this host that has ended (SIGKILL, a crash) is broken by the next writer: it
 * renames the lock to a name of its own, checks that what it moved is the lock it judged
 * (another writer may have broken and retaken it meanwhile; then it puts that back), and
 * removes it. A lock held on another host is never broken: the message says how to remove it.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { storeErrors } from '../errors.js';
import { describeHolder, holderState, parseHolder, thisHolder, type Holder } from './holder.js';

export const LOCK = 'writer.lock';

/** A rank's lock, held by this writer. */
export interface RankLock {
  readonly path: string;
  readonly holder: Holder;
  /** Removes the lock, if it is still this writer's. */
  release(): void;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * A new temporary name beside `path` (`.<name>.<pid>.<random>`), for a file written whole
 * and then renamed or linked to `path`. Never Math.random: the program's own (a seeded
 * one) must draw as it would without the store.
 */
export function temporaryBeside(folder: string, name: string): string {
  return join(folder, `.${name}.${process.pid}.${randomBytes(6).toString('hex')}`);
}

/** Writes a new file whole (exclusive create, every byte, even after a short write); removes it when that fails. */
export function writeNewFile(path: string, text: string): void {
  const bytes = Buffer.from(text);
  const fd = openSync(path, 'wx');
  try {
    for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done, done);
  } catch (error) {
    closeSync(fd);
    unlinkSync(path);
    throw error;
  }
  closeSync(fd);
}

/** Links `temp` to `path`: false when `path` exists. Over NFS a link whose reply was lost fails although it was made: the link count tells. */
function tryLink(temp: string, path: string): boolean {
  try {
    linkSync(temp, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    if (statSync(temp).nlink === 2) return true;
    throw error;
  }
}

/** Removes the lock whose text is `stale`, unless another writer replaced it in the meantime. */
function breakStale(path: string, stale: string, token: string): void {
  const moved = `${path}.${token}.stale`;
  try {
    renameSync(path, moved);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return; // another writer broke it first
    throw error;
  }
  if (readText(moved) !== stale) {
    // A lock another writer took after breaking the stale one: it goes back where it was.
    try {
      linkSync(moved, path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  unlinkSync(moved);
}

/** Takes the writer lock of the rank folder `folder` (created if absent), or throws ERR_DELIVERY_STORE_EXISTS naming its holder. */
export function lockRank(subject: string, folder: string): RankLock {
  mkdirSync(folder, { recursive: true });
  const holder = thisHolder();
  const path = join(folder, LOCK);
  const text = JSON.stringify({ format: 'distill-delivery-writer-lock', ...holder }) + '\n';
  const temp = join(folder, `.${LOCK}.${holder.token}`);
  writeNewFile(temp, text);
  try {
    for (let attempt = 0; attempt < 8; attempt++) {
      if (tryLink(temp, path)) return { path, holder, release: () => release(path, holder.token) };
      const held = readText(path);
      if (held === undefined) continue; // released in the meantime
      const other = parseHolder(held);
      const state = other === undefined ? 'unknown' : holderState(other);
      if (state === 'gone') {
        breakStale(path, held, holder.token);
        continue;
      }
      throw other === undefined
        ? storeErrors.otherWriter(subject, `${path} exists and does not name its holder; if no process is writing this rank, delete that file`)
        : state === 'alive'
          ? storeErrors.otherWriter(subject, `${describeHolder(other)} holds ${path}`)
          : storeErrors.otherWriter(subject, `${describeHolder(other)} holds ${path}, and this host cannot tell whether that process still runs; if it does not, delete that file`);
    }
    throw storeErrors.otherWriter(subject, `${path} changed hands again and again while this writer tried to take it`);
  } finally {
    unlinkSync(temp);
  }
}

function release(path: string, token: string): void {
  if (parseHolder(readText(path))?.token !== token) return;
  try {
    unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
