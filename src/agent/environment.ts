/**
 * The environment variables the package reads, and a warning for one it does not: a typo
 * (DISTILL_DELIVERY_STORE_MOD) would otherwise change nothing, silently. Given once, in
 * the process the user started, whose children inherit the same variables.
 */
import { closest, likelyMeant, warnings, UNKNOWN_VARIABLE_WARNING } from '../errors.js';
import { builtin } from '../runtime.js';

/** Every variable the package reads (docs/configuration.md#environment-variables). */
export const VARIABLES: readonly string[] = [
  'DISTILL_DELIVERY',
  'DISTILL_DELIVERY_REPORT',
  'DISTILL_DELIVERY_STRICT',
  'DISTILL_DELIVERY_STORE_MODE',
  'DISTILL_DELIVERY_RANK',
  'DISTILL_DELIVERY_PROGRESS',
  'DISTILL_DELIVERY_BASE',
  'DISTILL_DELIVERY_FIRST_PID',
];

const PREFIX = /^DISTILL_DELIVER(?:Y_?)?/i;
/** What is compared: the part after the prefix, so `_STORE_MOD` is one edit from `_STORE_MODE`. */
const rest = (name: string): string => name.replace(PREFIX, '') || '(none)';

/** The variables set whose names look like the package's but are none of them. */
export function unknownVariables(env: NodeJS.ProcessEnv = process.env): string[] {
  return Object.keys(env).filter((name) => PREFIX.test(name) && !VARIABLES.includes(name));
}

/** What to say of each unknown variable: its name, the known ones (the closest first), and whether the agent is off. */
function unknownVariableMessages(env: NodeJS.ProcessEnv): string[] {
  const agentOff = (env.DISTILL_DELIVERY ?? '').trim() === '';
  const byRest = new Map(VARIABLES.map((name) => [rest(name), name]));
  return unknownVariables(env).map((name) => {
    const ranked = closest(rest(name), [...byRest.keys()]).map((key) => byRest.get(key)!);
    const meantRest = likelyMeant(rest(name), [...byRest.keys()]);
    const meant = name.toUpperCase() === 'DISTILL_DELIVERY' ? 'DISTILL_DELIVERY' : meantRest === undefined ? undefined : byRest.get(meantRest);
    return warnings.unknownVariable(name, meant, ranked, agentOff);
  });
}

/**
 * Warns of each unknown variable, naming the known ones, the closest first. Returns what
 * gives the warnings not printed yet, for a start that fails at once: a warning is printed
 * a tick after it is emitted, and process.exit() does not wait for it.
 */
export function warnUnknownVariables(env: NodeJS.ProcessEnv = process.env): () => readonly string[] {
  // Loading node:worker_threads costs a start 2 to 4 ms: only where there is something to say.
  if (unknownVariables(env).length === 0 || !builtin('node:worker_threads').isMainThread) return () => [];
  const firstPid = env.DISTILL_DELIVERY_FIRST_PID;
  if (firstPid !== undefined && firstPid !== String(process.pid)) return () => [];
  const pending = new Set(unknownVariableMessages(env));
  if (pending.size === 0) return () => [];
  const printed = (warning: Error): void => {
    pending.delete(warning.message);
    if (pending.size === 0) process.off('warning', printed);
  };
  process.on('warning', printed);
  for (const message of pending) process.emitWarning(message, { type: 'DistillDeliveryWarning', code: UNKNOWN_VARIABLE_WARNING });
  return () => [...pending];
}
