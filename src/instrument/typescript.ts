/**
 * TypeScript target modules (`.ts`, `.mts`, `.cts`): the JavaScript the rewrite plans on.
 *
 * Types are stripped by @swc/wasm-typescript, the engine of amaro, which is the stripper
 * Node itself runs for its type stripping (amaro 1.2.1 bundles this very version). It is
 * pinned in package.json, rather than amaro, because amaro declares `engines: node >=22`
 * and npm warns about that when the package is installed on Node 20; depending on the
 * engine itself, every Node version (20 has no stripper of its own) plans the same way and
 * nothing prints an experimental warning. Strip-only mode blanks each type
 * with spaces, so every position, and so every line, stays where it was. Syntax that
 * needs code generated (enum, namespace, parameter properties: tsx compiles them, Node's
 * strip-only mode refuses them) is transformed instead; lines may then move, so the
 * result carries an inline source map. The stripper is loaded only when a target is TypeScript.
 */
import { createRequire } from 'node:module';

interface Stripper {
  transformSync(source: string, options: Record<string, unknown>): { code: string; map?: string };
}

/** swc's error for source that is not valid TypeScript, or that strip-only mode refuses. */
interface SwcError {
  code: 'InvalidSyntax' | 'UnsupportedSyntax' | string;
  message: string;
  startLine?: number;
  startColumn?: number;
}

/** The source is not valid TypeScript. */
export class TypeScriptSyntaxError extends Error {}

export interface JavaScript {
  readonly code: string;
  /** Every position is where it was in the TypeScript (strip-only); false when transformed. */
  readonly aligned: boolean;
}

let stripper: Stripper | undefined;

/** A file Node and tsx treat as TypeScript by its extension. */
export function isTypeScriptFile(filename: string): boolean {
  return /\.[cm]?ts$/.test(filename);
}

function isSwcError(error: unknown): error is SwcError {
  return error !== null && typeof error === 'object' && typeof (error as SwcError).code === 'string' && typeof (error as SwcError).message === 'string';
}

function describe(error: SwcError): string {
  return error.startLine === undefined ? error.message : `${error.message} (${error.startLine}:${error.startColumn ?? 0})`;
}

/** The JavaScript of a TypeScript source; throws TypeScriptSyntaxError when it is not valid TypeScript. */
export function toJavaScript(source: string, filename: string): JavaScript {
  stripper ??= createRequire(import.meta.url)('@swc/wasm-typescript') as Stripper;
  try {
    return { code: stripper.transformSync(source, { mode: 'strip-only', filename }).code, aligned: true };
  } catch (error) {
    if (!isSwcError(error)) throw error;
    if (error.code !== 'UnsupportedSyntax') throw new TypeScriptSyntaxError(describe(error));
  }
  try {
    const { code, map } = stripper.transformSync(source, {
      mode: 'transform',
      filename,
      sourceMap: true,
      // As Node's --experimental-transform-types: imports and class fields stay as written.
      transform: { verbatimModuleSyntax: true, nativeClassProperties: true, noEmptyExport: true },
    });
    const inline = map === undefined ? '' : `\n//# sourceMappingURL=data:application/json;base64,${Buffer.from(map).toString('base64')}`;
    return { code: code + inline, aligned: false };
  } catch (error) {
    if (isSwcError(error)) throw new TypeScriptSyntaxError(describe(error));
    throw error;
  }
}
