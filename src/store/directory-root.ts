/**
 * A directory store's folder as a record run finds it: never someone else's folder, and
 * meta.json written once for every rank (the first writer links it in; the others
 * compare theirs with it).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, linkSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { storeErrors } from '../errors.js';
import { META, readWhole } from './directory-layout.js';
import { checkSameMetadata, envelope, openEnvelope } from './metadata.js';

/** Reads meta.json, or writes it when it is absent (link: only one writer wins), then compares. */
export function settleMetadata(subject: string, root: string, metadata: unknown, replace: boolean): unknown {
  const path = join(root, META);
  // Never Math.random: the program's own (a seeded one) must draw as it would without the store.
  const temp = join(root, `.${META}.${process.pid}.${randomBytes(6).toString('hex')}`);
  const text = envelope(metadata);
  const fd = openSync(temp, 'wx');
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  try {
    if (replace) {
      renameSync(temp, path);
      return openEnvelope(subject, text, META);
    }
    try {
      linkSync(temp, path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  } finally {
    rmSync(temp, { force: true });
  }
  const stored = openEnvelope(subject, readWhole(path)!.toString('utf8'), META);
  checkSameMetadata(subject, stored, metadata);
  return stored;
}

/** The folder must be absent, empty, or a store: never write into someone else's folder. */
export function prepareRoot(subject: string, root: string): void {
  mkdirSync(root, { recursive: true });
  const names = readdirSync(root);
  if (names.length > 0 && !names.includes(META)) {
    throw storeErrors.notAStore(subject, `the folder holds ${names.length} entries and no ${META}`);
  }
}

