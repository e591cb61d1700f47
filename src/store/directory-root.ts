/**
 * A directory store's folder as a record run finds it: never someone else's folder, and
 * meta.json written once for every rank (the first writer links it in; the others
 * compare theirs with it).
 */
import { linkSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { storeErrors } from '../errors.js';
import { META, readWhole } from './directory-layout.js';
import { temporaryBeside, writeNewFile } from './directory-lock.js';
import { checkSameMetadata, envelope, openEnvelope } from './metadata.js';

/** What a store's writers put in its folder: meta.json, rank folders, and meta.json's temporary files (`.meta.json.<pid>.<random>`, left behind when a writer died while writing one). */
const OURS = new RegExp(`^(${META.replace('.', '\\.')}|rank-\\d+|\\.${META.replace('.', '\\.')}\\..+)$`);

/** Reads meta.json, or writes it when it is absent (link: only one writer wins), then compares. */
export function settleMetadata(subject: string, root: string, metadata: unknown, replace: boolean): unknown {
  const path = join(root, META);
  const temp = temporaryBeside(root, META);
  const text = envelope(metadata);
  // A write that fails (a full disk) removes its file: a temporary file left behind never blocks a later run.
  writeNewFile(temp, text);
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

/** The folder must be absent, empty, or a store (or one a writer began): never write into someone else's folder. */
export function prepareRoot(subject: string, root: string): void {
  mkdirSync(root, { recursive: true });
  const names = readdirSync(root);
  if (names.includes(META)) return;
  const others = names.filter((name) => !OURS.test(name));
  if (others.length > 0) {
    throw storeErrors.notAStore(subject, `the folder holds ${others.length} entries that are not a store's (${others.slice(0, 3).map((n) => `"${n}"`).join(', ')}${others.length > 3 ? ', ...' : ''}) and no ${META}`);
  }
}
