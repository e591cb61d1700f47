/**
 * A store's rank and what a record run does with an existing store: what the options of
 * the manager and the config check before any store is opened, apart from the backends so
 * that checking them loads nothing else of the store.
 */
import { storeErrors } from '../errors.js';

/** What a record run does when the store already holds steps of its rank. */
export type IfExists = 'error' | 'overwrite' | 'resume';

export const RANK_VARIABLE = 'DISTILL_DELIVERY_RANK';

/** The rank: the option, else DISTILL_DELIVERY_RANK, else 0. */
export function storeRank(option: unknown, env: NodeJS.ProcessEnv = process.env): number {
  if (option !== undefined) {
    if (!Number.isSafeInteger(option) || (option as number) < 0) throw storeErrors.badRank('The store option rank', option);
    return option as number;
  }
  const text = env[RANK_VARIABLE];
  if (text === undefined || text.trim() === '') return 0;
  if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(Number(text))) throw storeErrors.badRank(RANK_VARIABLE, text);
  return Number(text);
}
