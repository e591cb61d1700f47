/**
 * What a load hook knows of a planned target module, and the code it hands Node for the
 * source it was given: the code planned at start-up when that is the file as it was read,
 * or a fresh rewrite when another loader (tsx, a TypeScript compiler) changed it first.
 * Shared by the main thread (install.ts) and Node 20's hooks thread (hooks.ts).
 */
import type { Format } from './scan.js';
import type { SourceTarget } from './plan.js';
import { carrySourceMap } from './source-map.js';

export interface PlanData {
  readonly url: string;
  readonly filename: string;
  /** The format the module was planned in (of its JavaScript, for TypeScript). */
  readonly format: Format;
  /** The file as read at start-up (TypeScript as written, for a TypeScript module). */
  readonly original: string;
  /** Its instrumented JavaScript, marked. */
  readonly code: string;
  readonly typescript: boolean;
  /** Its JavaScript keeps every position of the TypeScript (false: enum, namespace... transformed). */
  readonly aligned: boolean;
  readonly targets: readonly SourceTarget[];
}

export interface LoadResult {
  format?: string | null;
  source?: string | ArrayBuffer | ArrayBufferView | null;
  shortCircuit?: boolean;
}

/** A load hook's source as text, whatever form it came in. */
export function text(source: LoadResult['source']): string {
  if (typeof source === 'string') return source;
  if (source === null || source === undefined) return '';
  const bytes = source instanceof ArrayBuffer ? new Uint8Array(source) : new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  return new TextDecoder().decode(bytes);
}

/** What rewrites a source the plan did not foresee (loaded lazily where it is needed). */
export interface Rewriter {
  toJavaScript(source: string, filename: string): { code: string };
  instrument(source: string, format: Format, url: string, targets: readonly SourceTarget[]): { code: string; moved: (offset: number) => number };
}

/**
 * Ends every code the agent hands Node: a source that ends with it was instrumented by
 * the agent already (by the load hook, before the CommonJS loader's `_compile` sees it).
 */
const MARK = '/*distill-delivery:instrumented*/';

export function mark(code: string): string {
  return code + MARK;
}

/**
 * A loaded module's format in the rewrite's terms, and whether its source is TypeScript
 * (Node's own type stripping loads `.ts` files as `module-typescript` or
 * `commonjs-typescript` and strips them after the hooks); undefined for a format the
 * rewrite leaves alone (json, wasm, builtin). require() may leave it undefined for the
 * CommonJS loader to decide: the plan knows it.
 */
export function loadedFormat(format: string | null | undefined, plan: PlanData): { format: Format; typescript: boolean } | undefined {
  switch (format) {
    case 'module':
    case 'commonjs':
      return { format, typescript: false };
    case 'module-typescript':
      return { format: 'module', typescript: true };
    case 'commonjs-typescript':
      return { format: 'commonjs', typescript: true };
    case 'typescript': // Node 22.6's name for a .ts file of either kind
      return { format: plan.format, typescript: true };
    case null:
    case undefined:
      return { format: plan.format, typescript: plan.typescript };
    default:
      return undefined;
  }
}

/**
 * What to do with `source`, loaded as `format` (`typescript`: the source is TypeScript, as
 * Node's type stripping hands it over): run the planned code or code instrumented already;
 * leave it as loaded (TypeScript that Node's strip-only mode refuses stays Node's to
 * refuse); or rewrite it, when another loader changed it.
 */
export function outcome(plan: PlanData, source: string, format: Format, typescript: boolean): { code: string } | 'leave' | { rewrite: string; typescript: boolean } {
  const text = source.replace(/^\uFEFF/, '');
  if (text.endsWith(MARK)) return { code: text };
  // The file as written, if TypeScript, is TypeScript whatever format a hook gave it.
  const asWritten = text === plan.original;
  const ts = typescript || (plan.typescript && asWritten);
  // process.features.typescript: added in v22.10.0 ('strip', 'transform' or false).
  if (ts && !plan.aligned && (process.features as { typescript?: unknown }).typescript !== 'transform') return 'leave';
  if (asWritten && format === plan.format) return { code: plan.code };
  return { rewrite: text, typescript: ts };
}

/** A rewrite of a source the plan did not foresee. Throws the rewriter's parse errors. */
export function rewrite(plan: PlanData, source: string, typescript: boolean, format: Format, rewriter: Rewriter): string {
  const javascript = typescript ? rewriter.toJavaScript(source, plan.filename).code : source;
  const { code, moved } = rewriter.instrument(javascript, format, plan.url, plan.targets);
  return mark(carrySourceMap(javascript, code, moved));
}

/** The code to run for `source` (see outcome), or undefined to leave it as loaded. */
export function codeFor(plan: PlanData, source: string, format: Format, typescript: boolean, rewriter: Rewriter): { code: string; fresh: boolean } | undefined {
  const what = outcome(plan, source, format, typescript);
  if (what === 'leave') return undefined;
  if ('code' in what) return { code: what.code, fresh: false };
  return { code: rewrite(plan, what.rewrite, what.typescript, format, rewriter), fresh: true };
}
