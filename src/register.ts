/**
 * `node --import distill-delivery/register app.js` (or `--import ./loader.mjs`): starts
 * the agent from DISTILL_DELIVERY before the app loads. A bad config stops the process
 * here, before the app runs, with the error's code and the config key at fault.
 */
import { isMainThread } from 'node:worker_threads';
import { startAgent } from './agent.js';
import { readConfig } from './config.js';
import { DeliveryError } from './errors.js';
import { installReport } from './report.js';
import { runtime } from './runtime.js';
import { propagate } from './propagate.js';

function start(): void {
  if (runtime.agent !== undefined) return; // already started in this thread
  let config;
  try {
    config = readConfig(process.env.DISTILL_DELIVERY);
    if (config === undefined) return;
    const agent = startAgent(config);
    propagate();
    if (config.report || process.env.DISTILL_DELIVERY_REPORT === '1') installReport(agent);
  } catch (error) {
    const where = isMainThread ? '' : ' (worker thread)';
    if (error instanceof DeliveryError) {
      process.stderr.write(`distill-delivery${where}: stopped before the app started.\n${error.name} [${error.code}]: ${error.message}\n`);
    } else {
      process.stderr.write(`distill-delivery${where}: stopped before the app started.\n${error instanceof Error ? error.stack : String(error)}\n`);
    }
    process.exit(1);
  }
}

start();

export {};
