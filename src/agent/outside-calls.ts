/**
 * Counting the calls a delivery's target gets outside the phases, for the report's hint
 * on a delivery that never fired: a function called only between steps (a data loader)
 * needs another fix than one that is never called. The idle path of a delivered function
 * (one load and one compare while no delivery is active, ../sites/wrappers.ts) gets
 * nothing added: while some configured delivery has not fired yet, the agent holds one
 * activation of its own (runtime.state.active), so calls take the path of an active
 * delivery's, where the site counts those made outside every phase and run()
 * (Site.outside). Once every delivery has fired, as a working run's do in its first steps,
 * the activation is let go and the idle path is what it was; a delivery that never fires
 * keeps it for the whole run, and so the count of its calls is whole.
 */
import type { DistillDelivery } from '../delivery/distill-delivery.js';
import type { StoreSummary } from '../delivery/linked-store.js';
import { runtime } from '../runtime.js';
import type { Agent } from './agent.js';
import { fired } from './report.js';

/** Whether `delivery` fired as the report judges it (report.ts fired()), or had a call refused; the store is asked last. */
function firedHere(delivery: DistillDelivery, name: string, store: () => StoreSummary | undefined): boolean {
  const { recorded, replayed } = delivery.stats();
  if (fired({ recorded, replayed }) || delivery.details().refused > 0) return true;
  const summary = store();
  return fired({ recorded, replayed, stored: summary?.records[name], unstored: summary?.unstoredRecords[name] });
}

export function countOutsideCalls(agent: Agent): void {
  const deliveries = Object.entries(agent.manager.deliveries);
  if (deliveries.length === 0) return;
  const state = runtime.state;
  state.active++;
  let held = true;
  agent.phases.onEnd(() => {
    if (!held) return;
    // The store's summary once per phase end at most, and only while a delivery has not fired by its own counts.
    let summary: StoreSummary | undefined | null = null;
    const store = (): StoreSummary | undefined => (summary === null ? (summary = agent.manager.storeSummary()) : summary);
    if (!deliveries.every(([name, delivery]) => firedHere(delivery, name, store))) return;
    held = false;
    state.active--;
  });
}
