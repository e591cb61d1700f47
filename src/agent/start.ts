/**
 * Starts the agent from DISTILL_DELIVERY in this thread: reads the config, plans and
 * installs, propagates to children, arranges the report. A bad config stops the process
 * here, before the app runs, with the error's code and the config key at fault.
 * `start` is the --import start; `startSync` the --require one, which loads the rest of
 * the agent by require() (ES modules without top-level await).
 */
import { createRequire } from 'node:module';
import type { Agent } from './agent.js';
import { readConfig, type AgentConfig } from './config.js';
import { DeliveryError } from '../errors.js';
import { propagate } from './propagate.js';
import { builtin, runtime } from '../runtime.js';

const debug = builtin('node:util').debuglog('delivery');

type AtExit = typeof import('./at-exit.js');

export async function start(): Promise<void> {
  if (runtime.agent !== undefined) return; // already started in this thread
  try {
    const config = readConfig(process.env.DISTILL_DELIVERY);
    if (config === undefined) return;
    if (idle(config)) return startIdle(config);
    const { startAgent } = await import('./agent.js');
    const agent = await startAgent(config);
    propagate();
    if (ending(config)) arrangeEnd(agent, config, await import('./at-exit.js'));
  } catch (error) {
    fail(error);
  }
}

export function startSync(): void {
  if (runtime.agent !== undefined) return;
  try {
    const config = readConfig(process.env.DISTILL_DELIVERY);
    if (config === undefined) return;
    if (idle(config)) return startIdle(config);
    const load = createRequire(import.meta.url);
    const { startAgentSync } = load('./agent.js') as typeof import('./agent.js');
    const agent = startAgentSync(config);
    propagate();
    if (ending(config)) arrangeEnd(agent, config, load('./at-exit.js') as AtExit);
  } catch (error) {
    fail(error);
  }
}

/**
 * Whether the config asks for nothing: no delivery, recorder, phase, target or store, no report and
 * no strict mode. The agent then loads nothing more (its manager, sites and hooks would
 * have nothing to do; a program that imports the package gets an empty manager as without
 * the agent) and only passes the config on to children.
 */
function idle(config: AgentConfig): boolean {
  const targets = Object.keys(config.deliveries).length + Object.keys(config.recorders).length + config.record.length + config.override.length + config.instrument.length;
  const nothing = targets === 0;
  return nothing && config.store === undefined && !ending(config);
}

function startIdle(config: AgentConfig): void {
  // What the rest of the package reads of an agent: that it started, and what bare targets resolved to (none).
  runtime.agent = { config, resolved: new Map<string, string>(), handles: () => null };
  propagate();
}

const strict = (config: AgentConfig): boolean => config.strict || process.env.DISTILL_DELIVERY_STRICT === '1';
const printed = (config: AgentConfig): boolean => config.report || process.env.DISTILL_DELIVERY_REPORT === '1';

/** Whether anything happens at the end of the run: a report, or strict mode's verdict. */
function ending(config: AgentConfig): boolean {
  return strict(config) || printed(config);
}

function arrangeEnd(agent: Agent, config: AgentConfig, { installEnd }: AtExit): void {
  installEnd(agent, { print: printed(config), file: config.reportFile, strict: strict(config) });
}

/** An error with its stack and causes (a resolver's error, a parse error), for NODE_DEBUG=delivery. */
function story(error: unknown): string {
  const lines: string[] = [];
  for (let e = error, n = 0; e !== undefined && n < 4; n++) {
    lines.push((n > 0 ? 'caused by: ' : '') + (e instanceof Error ? (e.stack ?? e.message) : String(e)));
    e = e instanceof Error ? e.cause : undefined;
  }
  return lines.join('\n');
}

function fail(error: unknown): never {
  if (debug.enabled) debug('start-up failed: %s', story(error));
  const where = builtin('node:worker_threads').isMainThread ? '' : ' (worker thread)';
  const detail = error instanceof DeliveryError ? `${error.name} [${error.code}]: ${error.message}` : error instanceof Error ? error.stack : String(error);
  process.stderr.write(`distill-delivery${where}: stopped before the app started.\n${detail}\n`);
  process.exit(1);
}
