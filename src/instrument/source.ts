/**
 * Rewrites one target module so that the calls it makes through a target name go
 * through the target's site ("where used"), whatever way the module got the name:
 *
 * - a function it declares: rebound once at the top, `f = site.wrap(f)`, so its own
 *   calls, its exports (live bindings) and `module.exports = { f }` all see the wrapper;
 * - `const f = <function>`: the initializer is wrapped, and so is any later assignment;
 * - a name it imports (named, renamed, default; CommonJS destructured require): each
 *   use becomes `site.fn(f)`, and an export of it holds the wrapper;
 * - a name a destructuring declares (`const { a } = make()`): the pattern binds a hidden
 *   name, and the declaration declares the name right after, holding the wrapper;
 * - a member of a module object (`import * as u`, `const u = require()`, tsc's
 *   `(0, u_1.f)(x)`): each use of `u.f` becomes `site.fn(u.f)`, calls keeping `this`;
 * - a method or property path: patched on its object right after the declaration, and
 *   again when the module has finished evaluating (a MethodOutputs `X.m` too, when X is a
 *   required or default-imported class);
 * - an anonymous `export default function`: given a name, so that it stays a hoisted
 *   declaration (a circular importer may call it before the module runs), and rebound;
 * - a name it only re-exports (`export { f } from`, `export *`): its export becomes a
 *   variable of the module that holds the wrapper (or the very value, if it is none), set
 *   at the top and again at the end, so importers see the kind of value they saw;
 * - tsc's CommonJS getter `Object.defineProperty(exports, "f", { get })`, or a name it
 *   assigns to `module.exports`: the getter's value, or module.exports.f once the module
 *   ran, goes through the site; `#default` of `module.exports = function () {}` is
 *   module.exports itself.
 *
 * What the source shows can never be a function (a literal, a class, a rest element) is
 * refused when the plan is made; what it does not show, when the module has run.
 *
 * Every edit is an insertion on an existing line or a replacement with as many line
 * breaks as the text it replaces; helpers go after the last line. Line numbers in stack
 * traces therefore stay the same. Nothing else in the module changes.
 *
 * plan.ts and plan-exports.ts plan each target, route.ts routes the module's uses of the
 * planned names, rewrite.ts holds the rewrite's state and assembles the result.
 */
import { scanModule, type Format, type ModuleScan } from './scan.js';
import { planTarget, type SourceTarget } from './plan.js';
import { Rewrite } from './rewrite.js';
import { routeUses } from './route.js';

export interface Instrumented {
  readonly code: string;
  /** One line per target saying how it was instrumented (NODE_DEBUG=delivery). */
  readonly notes: string[];
  /** Where a character of the source is in the code (to move a source map's columns). */
  readonly moved: (offset: number) => number;
}

export function instrumentSource(source: string, format: Format, url: string, targets: readonly SourceTarget[], scanned?: ModuleScan): Instrumented {
  const rewrite = new Rewrite(source, format, url, scanned ?? scanModule(source, format));
  targets.forEach((target, i) => planTarget(rewrite, target, i));
  routeUses(rewrite);
  return { code: rewrite.assemble(targets.length), notes: rewrite.notes, moved: (offset) => rewrite.edits.moved(offset) };
}
