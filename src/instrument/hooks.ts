/**
 * Node 20's module hooks for target modules, run off-thread by `module.register`.
 * The main thread planned every rewrite at start-up and sent it here as data, so this
 * thread parses nothing unless another loader (tsx) changed a target's source first. Only
 * a `load` hook is defined: resolution is Node's own, untouched. The main thread registers
 * a fresh copy (`?generation=N`) after each later registration of hooks, so that it stays
 * the last; only the latest copy of an agent instruments, the others pass through.
 */
import { debuglog } from 'node:util';
import { loadedFormat, outcome, rewrite, text, type LoadResult, type PlanData, type Rewriter } from './loaded.js';

const debug = debuglog('delivery');

interface HooksData {
  /** The agent that registered this copy: one per thread that started it. */
  agent: string;
  generation: number;
  plans: PlanData[];
}

/** The latest generation registered, by agent, shared by the copies in this thread. */
const latest: Map<string, number> = ((globalThis as Record<symbol, unknown>)[Symbol.for('distill-delivery.hooks')] ??= new Map()) as Map<string, number>;
let self: HooksData | undefined;
let plans = new Map<string, PlanData>();

export function initialize(data: HooksData): void {
  self = data;
  plans = new Map(data.plans.map((plan) => [plan.url, plan]));
  latest.set(data.agent, Math.max(latest.get(data.agent) ?? 0, data.generation));
}

let rewriter: Promise<Rewriter> | undefined;
function loadRewriter(): Promise<Rewriter> {
  return (rewriter ??= Promise.all([import('./source.js'), import('./typescript.js')]).then(([{ instrumentSource }, { toJavaScript }]) => ({ instrument: instrumentSource, toJavaScript })));
}

export async function load(url: string, context: unknown, next: (url: string, context: unknown) => Promise<LoadResult>): Promise<LoadResult> {
  const plan = self !== undefined && latest.get(self.agent) === self.generation ? plans.get(url) : undefined;
  if (plan === undefined) return next(url, context);
  const result = await next(url, context);
  const loaded = loadedFormat(result.format, plan);
  // CommonJS without a source is read by the CommonJS loader, and rewritten there (Module.prototype._compile).
  if (loaded === undefined || result.source == null) return result;
  const what = outcome(plan, text(result.source), loaded.format, loaded.typescript);
  if (what === 'leave') return result;
  if ('code' in what) {
    debug('instrument %s (%s, module.register hooks)', url, loaded.format);
    return { ...result, format: loaded.format, source: what.code };
  }
  debug('instrument %s (%s, module.register hooks): its source differs from the one planned', url, loaded.format);
  try {
    return { ...result, format: loaded.format, source: rewrite(plan, what.rewrite, what.typescript, loaded.format, await loadRewriter()) };
  } catch (error) {
    // As the main thread does (ModulePlan.codeFor): a DeliveryError with its code, never a
    // half-instrumented module. Another loader or a write after start-up changed the source.
    const [{ ParseError }, { TypeScriptSyntaxError }, { errors }] = await Promise.all([import('./scan.js'), import('./typescript.js'), import('../errors.js')]);
    const who = `"${plan.targets[0]!.label}"`;
    if (error instanceof TypeScriptSyntaxError) throw errors.unparsable(who, plan.filename, 'typescript', error.message);
    if (error instanceof ParseError) throw errors.unparsable(who, plan.filename, loaded.format, error.message, loaded.typescript || plan.typescript);
    throw error;
  }
}
