/**
 * Node 20's module hooks for ES module targets, run off-thread by `module.register`.
 * The main thread planned every rewrite at start-up and sent it here as data, so this
 * thread parses nothing unless another loader changed a target's source first. Only a
 * `load` hook is defined: resolution is Node's own, untouched.
 */
import { debuglog } from 'node:util';
import type { SourceTarget } from './plan.js';

const debug = debuglog('delivery');

interface PlanData {
  url: string;
  format: 'module' | 'commonjs';
  original: string;
  code: string;
  targets: SourceTarget[];
}

export interface LoadResult {
  format?: string;
  source?: string | ArrayBuffer | ArrayBufferView | null;
  shortCircuit?: boolean;
}

let plans = new Map<string, PlanData>();

export function initialize(data: { plans: PlanData[] }): void {
  plans = new Map(data.plans.map((plan) => [plan.url, plan]));
}

/** A load hook's source as text, whatever form it came in. */
export function text(source: LoadResult['source']): string {
  if (typeof source === 'string') return source;
  if (source === null || source === undefined) return '';
  const bytes = source instanceof ArrayBuffer ? new Uint8Array(source) : new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  return new TextDecoder().decode(bytes);
}

export async function load(url: string, context: unknown, next: (url: string, context: unknown) => Promise<LoadResult>): Promise<LoadResult> {
  const plan = plans.get(url);
  if (plan === undefined) return next(url, context);
  const result = await next(url, context);
  // CommonJS targets are rewritten by the CommonJS loader (Module.prototype._compile).
  if (result.format !== 'module') return result;
  const source = text(result.source).replace(/^\uFEFF/, '');
  debug('instrument %s (module, module.register hooks)', url);
  if (source === plan.original && plan.format === 'module') return { ...result, source: plan.code };
  const { instrumentSource } = await import('./source.js');
  try {
    return { ...result, source: instrumentSource(source, 'module', url, plan.targets).code };
  } catch (error) {
    // As the main thread does (ModulePlan.codeFor): a DeliveryError with its code, never a
    // half-instrumented module. Another loader or a write after start-up changed the source.
    const [{ ParseError }, { errors }, { fileURLToPath }] = await Promise.all([import('./scan.js'), import('../errors.js'), import('node:url')]);
    if (!(error instanceof ParseError)) throw error;
    throw errors.unparsable(`"${plan.targets[0]!.label}"`, fileURLToPath(url), 'module', error.message);
  }
}
