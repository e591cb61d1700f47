/**
 * Plans the targets a module reaches through its exports or a destructuring rather than
 * a plain binding: an ES module's default export, `export { f } from`, `export *`, and
 * names a destructuring declares. Each export keeps its kind of binding, so importers
 * see the wrapper where they saw a function and the very value they saw otherwise.
 */
import { errors } from '../errors.js';
import { parameterListAt, patternNames, type AnyNode, type Binding, type ReExport } from './scan.js';
import type { Rewrite, SourceTarget } from './rewrite.js';

export function isFunctionNode(node: AnyNode | null | undefined): boolean {
  return !!node && (node.type === 'FunctionExpression' || node.type === 'ArrowFunctionExpression');
}

/** For an expression that can never evaluate to a function, a value like the one it makes (for the message). */
export function neverAFunction(init: AnyNode): { value: unknown } | undefined {
  switch (init.type) {
    case 'Literal':
      return { value: init.regex ? new RegExp('') : init.value };
    case 'TemplateLiteral':
      return init.expressions.length === 0 ? { value: init.quasis[0].value.cooked } : undefined;
    case 'ObjectExpression':
      return { value: {} };
    case 'ArrayExpression':
      return { value: new Array(init.elements.length) };
    case 'UnaryExpression':
      if (init.operator === 'void') return { value: undefined };
      if ((init.operator === '-' || init.operator === '+') && init.argument.type === 'Literal' && typeof init.argument.value === 'number') {
        return { value: init.operator === '-' ? -init.argument.value : init.argument.value };
      }
      return undefined;
    default:
      return undefined;
  }
}

/** An anonymous function or class expression: the binding it initializes names it. */
export function isAnonymousDefinition(node: AnyNode | null | undefined): boolean {
  return !!node && (node.type === 'ArrowFunctionExpression' || ((node.type === 'FunctionExpression' || node.type === 'ClassExpression') && !node.id));
}

/**
 * `#default` of an ES module; returns false when the default export is a name the
 * module declares, to be planned as that name (both exports stay one function).
 */
export function planDefault(r: Rewrite, target: SourceTarget, i: number, rest: string[]): boolean {
  const declaration = r.scan.program.body.find((s: AnyNode) => s.type === 'ExportDefaultDeclaration')?.declaration;
  if (declaration === undefined || declaration.id || (declaration.type === 'Identifier' && r.scan.bindings.has(declaration.name))) return false;
  if (rest.length > 0) return false;
  if (declaration.type === 'FunctionDeclaration') {
    // Still a declaration, so still hoisted (a circular importer may call it first): named, then rebound.
    const local = r.shortName('d', i);
    const at = parameterListAt(r.source, declaration);
    r.insert(at, /\s/.test(r.source[at - 1]!) ? local : ` ${local}`, 0);
    r.prologue.push(`Object.defineProperty(${local},"name",{value:"default"});${local}=${r.H(i)}.wrap(${local});`);
    r.notes.push(`${target.label}: the default export function named ${local} and rebound to its wrapper`);
    return true;
  }
  if ((declaration.type === 'ClassDeclaration' || declaration.type === 'ClassExpression') && !target.phase) throw errors.classTarget(`"${target.label}"`, 'default');
  const never = neverAFunction(declaration);
  if (never !== undefined) throw errors.notAFunction(`"${target.label}"`, 'default', never.value);
  // Evaluated once, where it stands: anything but a function there is refused as the module loads.
  r.insert(declaration.start, `${r.W(i)}(`, 0);
  r.insert(declaration.end, isAnonymousDefinition(declaration) ? ',"default")' : ')', 2);
  r.notes.push(`${target.label}: the default export wrapped`);
  return true;
}

/** `export { L as E } from 'S'`: E becomes an export of a binding that holds S's L, wrapped. */
export function planReExport(r: Rewrite, target: SourceTarget, i: number, reExport: ReExport): void {
  if (reExport.local === '*') throw errors.notAFunction(`"${target.label}"`, reExport.exported, {}, 'It is a namespace object (export * as).');
  const imported = `${r.P}i${i}`;
  const local = r.exportBinding(i, reExport.exported, imported);
  let list = r.reExported.get(reExport.declaration);
  if (list === undefined) r.reExported.set(reExport.declaration, (list = []));
  list.push({
    specifier: reExport.specifier,
    line: `import { ${JSON.stringify(reExport.local)} as ${imported} } from `,
    exported: `export { ${local} as ${JSON.stringify(reExport.exported)} };`,
  });
  r.notes.push(`${target.label}: the re-export of ${reExport.local} from ${reExport.source} holds its wrapper`);
}

/** A name only `export *` exports: an explicit export of a binding that holds the first star source's value, wrapped. */
export function planStar(r: Rewrite, target: SourceTarget, i: number, name: string): void {
  const spaces = r.scan.starSources.map((s, k) => {
    const space = `${r.P}s${i}_${k}`;
    r.prologueImports.push(`import * as ${space} from ${JSON.stringify(s)};`);
    return space;
  });
  r.exportBinding(i, name, `${r.H(i)}.pick(${JSON.stringify(name)},[${spaces.join(',')}])`, spaces);
  r.notes.push(`${target.label}: the export * of ${name} holds its wrapper`);
}

/** Where a name sits in a binding pattern: `{ a }` (shorthand), under a rest element, or elsewhere. */
function findInPattern(node: AnyNode | null, name: string, rest = false): { id: AnyNode; shorthand: boolean; rest: boolean; initializer: AnyNode | undefined } | undefined {
  if (!node) return undefined;
  switch (node.type) {
    case 'Identifier':
      return node.name === name ? { id: node, shorthand: false, rest, initializer: undefined } : undefined;
    case 'ObjectPattern':
      for (const p of node.properties) {
        const found = p.type === 'RestElement' ? findInPattern(p.argument, name, true) : findInPattern(p.value, name);
        if (found) return p.shorthand ? { ...found, shorthand: true } : found;
      }
      return undefined;
    case 'ArrayPattern':
      for (const e of node.elements) {
        const found = e?.type === 'RestElement' ? findInPattern(e.argument, name, true) : findInPattern(e, name);
        if (found) return found;
      }
      return undefined;
    case 'AssignmentPattern': {
      const found = findInPattern(node.left, name, rest);
      return found && node.left.type === 'Identifier' ? { ...found, initializer: node.right } : found;
    }
    default:
      return undefined;
  }
}

/**
 * A name a destructuring declares (`const { a, b } = make()`): the pattern binds a
 * hidden name instead, and the declaration declares the name itself right after,
 * holding the wrapper, so its uses and its export see the wrapper.
 */
export function planDestructured(r: Rewrite, target: SourceTarget, i: number, binding: Binding & { kind: 'variable' }, root: string): void {
  const found = findInPattern(binding.declarator.id, root)!;
  if (found.rest) throw errors.notAFunction(`"${target.label}"`, root, binding.declarator.id.type === 'ObjectPattern' ? {} : [], 'A rest element always holds an object or an array.');
  const local = `${r.P}v${i}`;
  if (found.shorthand) r.insert(found.id.end, `: ${local}`, 0);
  else r.edits.replace(found.id.start, found.id.end, local);
  // A function the default makes takes the name of the binding it initializes.
  const named = isAnonymousDefinition(found.initializer) ? `,${JSON.stringify(root)},${JSON.stringify(local)}` : '';
  r.insert(binding.declarator.end, `, ${root}=${r.F(i)}(${local}${named})`, 5);
  const statement = binding.statement;
  if (statement.type === 'ExportNamedDeclaration' && !r.unexported.has(statement)) {
    // `export const { a } = ...` would export the hidden name too: the names are exported by a list instead.
    r.unexported.add(statement);
    r.edits.replace(statement.start, statement.declaration.start, ' '.repeat(statement.declaration.start - statement.start));
    const names = binding.declaration.declarations.flatMap((d: AnyNode) => patternNames(d.id).map((id) => id.name));
    r.insert(statement.end, `;export { ${names.join(', ')} };`, 6);
  }
  r.epilogue.push(`${r.H(i)}.check(function(){return ${root}},${binding.declaration.kind === 'const'});`);
  r.wrapAssignments.set(root, i);
  r.notes.push(`${target.label}: ${root}, declared by a destructuring, holds its wrapper`);
}
