/**
 * Starts the agent from DISTILL_DELIVERY in this thread: warns of variables it does not
 * know, reads the config, plans and installs, propagates to children, arranges the end
 * (the report, or the findings as warnings, and strict mode's verdict). A bad config
 * stops the process here, before the app runs, with the error's code and the config key
 * at fault. `start` is the --import start; `startSync` the --require one, which loads the
 * rest of the agent by require() (ES modules without top-level await).
 */
import { createRequire } from 'node:module';
import type { Agent } from './agent.js';
import { readConfig, type AgentConfig } from './config.js';
import { DeliveryError, UNKNOWN_VARIABLE_WARNING } from '../errors.js';
import { warnUnknownVariables } from './environment.js';
import { propagate } from './propagate.js';
import { builtin, runtime } from '../runtime.js';

const debug = builtin('node:util').debuglog('delivery');

type AtExit = typeof import('./at-exit.js');
type Hints = typeof import('./hints.js');
type OutsideCalls = typeof import('./outside-calls.js');

/** Whether the report may look for where else to aim a function delivery that never fired (hints.ts loads the parser). */
const mayRetarget = (config: AgentConfig): boolean => Object.keys(config.deliveries).length > 0 && config.record.length > 0 && config.override.length > 0;

/**
 * The codes of the DistillDeliveryWarnings given from now on (a replayed store found
 * incomplete as it opens, a leftover), so that the end does not give them again; from
 * before the store opens, since a warning's event comes a tick after it is emitted.
 */
function warningsGiven(): ReadonlySet<string> {
  const given = new Set<string>();
  process.on('warning', (warning: Error & { code?: unknown }) => {
    if (warning.name === 'DistillDeliveryWarning' && typeof warning.code === 'string') given.add(warning.code);
  });
  return given;
}

/** The unknown variables' warnings of this start not printed yet: a start that fails says them with its error. */
let unknown: () => readonly string[] = () => [];

export async function start(): Promise<void> {
  if (runtime.agent !== undefined) return; // already started in this thread
  try {
    unknown = warnUnknownVariables();
    const config = readConfig(process.env.DISTILL_DELIVERY);
    if (config === undefined) return;
    if (idle(config)) return startIdle(config);
    const given = warningsGiven();
    // The end's modules load with the agent's, before it installs its hooks: loaded after, each
    // would go through them (on Node 20, a round trip to module.register's thread each).
    const [{ startAgent }, atExit, outsideCalls, hints] = await Promise.all([
      import('./agent.js'),
      import('./at-exit.js'),
      import('./outside-calls.js'),
      mayRetarget(config) ? import('./hints.js') : undefined,
    ]);
    const agent = await startAgent(config);
    propagate();
    arrangeEnd(agent, config, given, atExit, outsideCalls, hints);
  } catch (error) {
    fail(error);
  }
}

export function startSync(): void {
  if (runtime.agent !== undefined) return;
  try {
    unknown = warnUnknownVariables();
    const config = readConfig(process.env.DISTILL_DELIVERY);
    if (config === undefined) return;
    if (idle(config)) return startIdle(config);
    const given = warningsGiven();
    const load = createRequire(import.meta.url);
    const { startAgentSync } = load('./agent.js') as typeof import('./agent.js');
    const agent = startAgentSync(config);
    propagate();
    arrangeEnd(agent, config, given, load('./at-exit.js') as AtExit, load('./outside-calls.js') as OutsideCalls, mayRetarget(config) ? (load('./hints.js') as Hints) : undefined);
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

/** Whether the end of the run has work however little was delivered: a printed report, or strict mode's verdict. */
function ending(config: AgentConfig): boolean {
  return strict(config) || printed(config);
}

/** The end of the run (the report, or its findings as warnings; strict mode), and the count of calls outside phases its hints use. */
function arrangeEnd(agent: Agent, config: AgentConfig, given: ReadonlySet<string>, { installEnd }: AtExit, { countOutsideCalls }: OutsideCalls, hints: Hints | undefined): void {
  installEnd(agent, { print: printed(config), file: config.reportFile, strict: strict(config), retarget: hints?.retarget, given });
  countOutsideCalls(agent);
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
  // A typo in a variable's name is the likely cause of a config error (a mode that is not set): say it here, as the warning may never print.
  const typos = unknown().map((message) => `\n[${UNKNOWN_VARIABLE_WARNING}] ${message}`).join('');
  process.stderr.write(`distill-delivery${where}: stopped before the app started.\n${detail}\n${typos === '' ? '' : `Also:${typos}\n`}`);
  process.exit(1);
}
