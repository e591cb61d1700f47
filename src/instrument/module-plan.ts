/**
 * Plans one target module at start-up, from the file as it is on disk: its JavaScript
 * (types stripped, for TypeScript), the format Node will load it in, its instrumented
 * code, so that a config error stops the process before the app runs. The plan then hands
 * each load hook the code to run for the source that hook sees (loaded.ts). Loaded by the
 * agent only when some module is a target: it brings the parser.
 */
import { dirname, extname, join } from 'node:path';
import { errors, inContext } from '../errors.js';
import { builtin } from '../runtime.js';
import type { Site } from '../sites/site.js';
import { TargetHandle } from './handles.js';
import { codeFor, loadedFormat, mark, type PlanData, type Rewriter } from './loaded.js';
import type { SourceTarget } from './plan.js';
import { ParseError, parseModule, type Format } from './scan.js';
import { instrumentSource } from './source.js';
import { carrySourceMap } from './source-map.js';
import { isTypeScriptFile, toJavaScript, TypeScriptSyntaxError } from './typescript.js';

export interface PlannedTarget extends SourceTarget {
  /** Where the config names it: `DISTILL_DELIVERY deliveries["mixup"]`. */
  readonly key: string;
  readonly role: 'delivery' | 'recorder' | 'record' | 'override' | 'instrument';
  readonly kind: 'function' | 'method';
  readonly site: Site;
}

const debug = builtin('node:util').debuglog('delivery');
const { readFileSync } = builtin('node:fs');
const rewriter: Rewriter = { toJavaScript, instrument: instrumentSource };

/** The plan for one target module: the file as read, its instrumented code, its targets. */
export class ModulePlan implements PlanData {
  private handleList: TargetHandle[] | undefined;

  constructor(
    readonly url: string,
    readonly filename: string,
    readonly format: Format,
    readonly original: string,
    readonly code: string,
    readonly typescript: boolean,
    readonly aligned: boolean,
    readonly targets: PlannedTarget[],
  ) {}

  /**
   * What to hand Node for the source a hook or the CommonJS loader got, loaded as Node's
   * `format`: the planned code, or a fresh rewrite if another loader changed the source;
   * undefined to leave it as loaded (a format the rewrite leaves alone).
   */
  codeFor(source: string, format: string | null | undefined): { source: string; format: Format } | undefined {
    const loaded = loadedFormat(format, this);
    if (loaded === undefined) return undefined;
    try {
      const result = codeFor(this, source, loaded.format, loaded.typescript, rewriter);
      if (result?.fresh) debug('re-instrument %s: its source or format (%s) differs from the one planned', this.url, format);
      return result && { source: result.code, format: loaded.format };
    } catch (error) {
      throw unparsable(error, this.targets[0]!, this.filename, loaded.format, loaded.typescript || this.typescript) ?? error;
    }
  }

  handles(): TargetHandle[] {
    return (this.handleList ??= this.targets.map((t) => new TargetHandle(t.site, this.url, t.members, t.kind)));
  }
}

/** A parse failure as the DeliveryError that says which, for `target`; undefined for any other error. */
function unparsable(error: unknown, target: SourceTarget, filename: string, format: Format, typescript: boolean): Error | undefined {
  if (error instanceof TypeScriptSyntaxError) return errors.unparsable(`"${target.label}"`, filename, 'typescript', error.message);
  if (error instanceof ParseError) return errors.unparsable(`"${target.label}"`, filename, format, error.message, typescript);
  return undefined;
}

/** The format Node will load a file in: by extension, the package "type", then by syntax. */
function formatOf(filename: string, javascript: string): Format {
  const ext = extname(filename);
  if (ext === '.mjs' || ext === '.mts') return 'module';
  if (ext === '.cjs' || ext === '.cts') return 'commonjs';
  for (let dir = dirname(filename); ; dir = dirname(dir)) {
    try {
      const type = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { type?: unknown }).type;
      if (type === 'module') return 'module';
      if (type === 'commonjs') return 'commonjs';
      break;
    } catch {
      // no (readable) package.json here: look further up
    }
    if (dirname(dir) === dir) break;
  }
  // No "type": Node 20.19+ and 22+ detect ES module syntax in such files (.ts files too).
  try {
    parseModule(javascript, 'commonjs');
    return 'commonjs';
  } catch {
    return 'module';
  }
}

/** Reads, strips and instruments one target module; throws the config error that stops the agent. */
export function planModule(url: string, filename: string, targets: PlannedTarget[]): { plan: ModulePlan; notes: string[] } {
  let source: string;
  try {
    source = readFileSync(filename, 'utf8').replace(/^\uFEFF/, '');
  } catch (error) {
    throw errors.config(targets[0]!.key, `cannot read ${filename} (${(error as NodeJS.ErrnoException).code ?? String(error)}).`);
  }
  const typescript = isTypeScriptFile(filename);
  let javascript = { code: source, aligned: true };
  let format: Format = 'module';
  try {
    if (typescript) javascript = toJavaScript(source, filename);
    format = formatOf(filename, javascript.code);
    const { code, notes, moved } = instrumentSource(javascript.code, format, url, targets);
    const planned = mark(carrySourceMap(javascript.code, code, moved));
    return { plan: new ModulePlan(url, filename, format, source, planned, typescript, javascript.aligned, targets), notes };
  } catch (error) {
    const target = targets.find((t) => error instanceof Error && error.message.includes(`"${t.label}"`)) ?? targets[0]!;
    throw inContext(unparsable(error, target, filename, format, typescript) ?? error, target.key);
  }
}
