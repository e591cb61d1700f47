/**
 * Starts the agent from DISTILL_DELIVERY in this thread: reads the config, plans and
 * installs, propagates to children, arranges the report. A bad config stops the process
 * here, before the app runs, with the error's code and the config key at fault.
 */
import { readConfig } from './config.js';
import { DeliveryError } from '../errors.js';
import { propagate } from './propagate.js';
import { runtime } from '../runtime.js';

export async function start(): Promise<void> {
  if (runtime.agent !== undefined) return; // already started in this thread
  try {
    const config = readConfig(process.env.DISTILL_DELIVERY);
    if (config === undefined) return;
    const { startAgent } = await import('./agent.js');
    const agent = await startAgent(config);
    propagate();
    if (config.report || process.env.DISTILL_DELIVERY_REPORT === '1') {
      const { installReport } = await import('./report.js');
      installReport(agent);
    }
  } catch (error) {
    const { isMainThread } = await import('node:worker_threads');
    const where = isMainThread ? '' : ' (worker thread)';
    const detail = error instanceof DeliveryError ? `${error.name} [${error.code}]: ${error.message}` : error instanceof Error ? error.stack : String(error);
    process.stderr.write(`distill-delivery${where}: stopped before the app started.\n${detail}\n`);
    process.exit(1);
  }
}
