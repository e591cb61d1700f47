/**
 * Plans one target of a module's rewrite: finds how the module gets the target's name
 * (a declaration, an import, a module object's member, an export only) and records the
 * edits that route it through the target's site. The ways, and what each becomes, are
 * listed at the top of source.ts.
 */
import { errors } from '../errors.js';
import { commonjsExportNames, commonjsGetters, type AnyNode, type Binding } from './scan.js';
import { isAnonymousDefinition, isFunctionNode, neverAFunction, planDefault, planDestructured, planReExport, planStar } from './plan-exports.js';
import type { Rewrite, SourceTarget } from './rewrite.js';

export type { SourceTarget };

/** `x`, `m.y` or `m["y"]` (no comments): a getter's return that Node's CommonJS lexer accepts as an export. */
function lexable(node: AnyNode, text: string): boolean {
  if (/\/[/*]/.test(text)) return false;
  if (node.type === 'Identifier') return true;
  return (
    node.type === 'MemberExpression' &&
    node.object.type === 'Identifier' &&
    (node.computed ? node.property.type === 'Literal' && typeof node.property.value === 'string' : node.property.type === 'Identifier')
  );
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Plans target i; throws a DeliveryError where the module cannot have it. */
export function planTarget(r: Rewrite, target: SourceTarget, i: number): void {
  const [root, ...rest] = target.members as [string, ...string[]];
  const binding = r.scan.bindings.get(root);
  if (binding !== undefined) {
    if (rest.length > 0) planPath(r, target, i, binding, root, rest);
    else planName(r, target, i, binding, root);
    return;
  }
  // Not a top-level name: an export name of a local binding, the name as imported, a
  // member of module objects, or an export only.
  const { scan, format } = r;
  const alias = scan.localExports.get(root);
  if (alias !== undefined && scan.bindings.has(alias.local) && alias.local !== root && !exportedModuleObject(r, alias.local, rest)) {
    return planTarget(r, { ...target, members: [alias.local, ...rest] }, i);
  }
  if (root === 'default' && format === 'module') {
    const declaration = scan.program.body.find((s: AnyNode) => s.type === 'ExportDefaultDeclaration')?.declaration;
    const name: string | undefined = declaration?.id?.name ?? (declaration?.type === 'Identifier' && scan.bindings.has(declaration.name) ? declaration.name : undefined);
    // `export default f` of a name the module declares: the name is the target, so both exports stay one function.
    if (name !== undefined && !exportedModuleObject(r, name, rest)) return planTarget(r, { ...target, members: [name, ...rest] }, i);
    if (planDefault(r, target, i, rest)) return;
  }
  const found = rest.length === 0 && planImportedAs(r, target, i, root);
  if (format === 'commonjs') return planCommonjsExport(r, target, i, root, rest, found);
  if (rest.length === 0) {
    const reExport = scan.reExports.get(root);
    if (reExport !== undefined) return planReExport(r, target, i, reExport);
    // Planned even when the module also reaches the name on module objects: both routes deliver.
    if (scan.starSources.length > 0 && !scan.declaredExports.has(root) && !scan.localExports.has(root)) return planStar(r, target, i, root);
    if (found) return;
  } else if (root === 'default' || scan.declaredExports.has(root) || scan.reExports.has(root) || scan.localExports.has(root) || scan.starSources.length > 0) {
    r.epilogue.push(`${r.H(i)}.patch(function(){return ${r.self()}},true,0);`);
    r.notes.push(`${target.label}: ${target.members.join('.')} patched on the module's exports`);
    return;
  }
  throw errors.targetNotFound(`"${target.label}"`, target.members.join('.'), r.where, r.available());
}

/**
 * `E.m` where export E is `local`, an object the module imports whole (a default or
 * namespace import, a required module): `local.m` would name only this module's own uses,
 * but calls reach E.m through the export (`import idx from './index.js'; idx.answer()`), so
 * it is patched on the object the export holds (refused if that is a namespace object).
 */
function exportedModuleObject(r: Rewrite, local: string, rest: readonly string[]): boolean {
  const binding = r.scan.bindings.get(local);
  if (rest.length === 0 || binding === undefined) return false;
  return (binding.kind === 'import' && (binding.importedName === '*' || binding.importedName === 'default')) || (binding.kind === 'variable' && binding.moduleObject === true);
}

/** `X.m` (or longer) where X is a top-level name of the module. */
function planPath(r: Rewrite, target: SourceTarget, i: number, binding: Binding, root: string, rest: string[]): void {
  const moduleObject =
    (binding.kind === 'import' && (binding.importedName === '*' || binding.importedName === 'default')) ||
    (binding.kind === 'variable' && binding.moduleObject);
  const namespace = binding.kind === 'import' && binding.importedName === '*';
  if (moduleObject && rest.length === 1 && target.kind === 'method' && !namespace) {
    r.patchPath(i, root, 1, binding.kind === 'import' ? 'prologue' : binding.statement.end);
    r.notes.push(`${target.label}: ${target.members.join('.')} patched on the class ${root} holds`);
  } else if (moduleObject && rest.length === 1) {
    r.trackObject(root, rest[0]!, i);
    r.epilogue.push(`${r.H(i)}.check(function(){return ${root}},false,${JSON.stringify(rest[0])});`);
    r.notes.push(`${target.label}: uses of ${root}.${rest[0]} in this module`);
  } else if (target.kind === 'method' && rest.length === 1 && holdsInstance(binding)) {
    // `x.m` where x holds an instance, not a class: there is no class to patch, so
    // the module's calls through x.m are delivered, as a module object's member's are.
    r.trackObject(root, rest[0]!, i);
    r.notes.push(`${target.label}: uses of ${root}.${rest[0]} in this module (${root} holds an instance)`);
  } else if (binding.kind === 'class' || binding.kind === 'function') {
    if (binding.kind === 'class') checkClassMember(r, binding.node, root, rest, target);
    r.patchPath(i, root, 1, binding.kind === 'class' ? binding.statement.end : 'prologue');
    r.notes.push(`${target.label}: ${target.members.join('.')} patched on ${binding.kind} ${root}`);
  } else if (binding.kind === 'variable') {
    r.patchPath(i, root, 1, binding.statement.end);
    r.notes.push(`${target.label}: ${target.members.join('.')} patched on ${root}`);
  } else {
    r.patchPath(i, root, 1, 'prologue');
    r.notes.push(`${target.label}: ${target.members.join('.')} patched on imported ${root}`);
  }
}

/** A top-level variable set to `new X(...)`, or declared without a value (assigned later, as `x = new X()` usually is). */
function holdsInstance(binding: Binding): boolean {
  if (binding.kind !== 'variable' || !binding.simple || binding.moduleObject) return false;
  const init = binding.declarator.init;
  return init === null || init === undefined || init.type === 'NewExpression' || (init.type === 'Literal' && init.value === null);
}

/** `f` where f is a top-level name of the module: declared, a variable, or imported. */
function planName(r: Rewrite, target: SourceTarget, i: number, binding: Binding, root: string): void {
  switch (binding.kind) {
    case 'class':
      throw errors.classTarget(`"${target.label}"`, root);
    case 'function':
      r.prologue.push(`${root}=${r.H(i)}.wrap(${root});`);
      r.wrapAssignments.set(root, i);
      r.notes.push(`${target.label}: function ${root} rebound to its wrapper`);
      return;
    case 'variable':
      if (binding.simple && binding.declarator.init?.type === 'Identifier' && r.scan.bindings.get(binding.declarator.init.name)?.kind === 'function') {
        // `var main_default = main` (esbuild's default export): the declared function is the target, so both names stay one function.
        return planTarget(r, { ...target, members: [binding.declarator.init.name] }, i);
      }
      if (binding.simple && binding.declarator.init && !binding.moduleObject) {
        const init = binding.declarator.init;
        if (init.type === 'ClassExpression' && !target.phase) throw errors.classTarget(`"${target.label}"`, root);
        const never = binding.declaration.kind === 'const' ? neverAFunction(init) : undefined;
        if (never !== undefined) throw errors.notAFunction(`"${target.label}"`, root, never.value);
        const strict = isFunctionNode(init) || init.type === 'ClassExpression';
        r.insert(init.start, `${strict ? r.W(i) : r.F(i)}(`, 0);
        r.insert(init.end, isAnonymousDefinition(init) ? `,${JSON.stringify(root)})` : ')', 2);
        if (!strict) r.epilogue.push(`${r.H(i)}.check(function(){return ${root}},${binding.declaration.kind === 'const'});`);
        r.wrapAssignments.set(root, i);
        r.notes.push(`${target.label}: the value of ${binding.declaration.kind ?? 'var'} ${root} wrapped`);
      } else if (!binding.simple && binding.source === undefined && binding.declarator.type === 'VariableDeclarator') {
        planDestructured(r, target, i, binding, root);
      } else {
        r.names.set(root, i);
        r.epilogue.push(`${r.H(i)}.check(function(){return ${root}});`);
        r.notes.push(`${target.label}: uses of ${root} in this module`);
        if (binding.importedName !== undefined && binding.source !== undefined) r.sameImport(binding.source, binding.importedName, binding, i);
      }
      return;
    case 'import':
      if (binding.importedName === '*') throw errors.notAFunction(`"${target.label}"`, root, {});
      r.names.set(root, i);
      r.epilogue.push(`${r.H(i)}.check(function(){return ${root}});`);
      r.notes.push(`${target.label}: uses of ${root} (imported from ${binding.source}) in this module`);
      if (binding.importedName !== 'default') r.sameImport(binding.source, binding.importedName, binding, i);
      return;
  }
}

/** The export name `root` as the module imports it (renamed) or reaches it on module objects; whether any was found. */
function planImportedAs(r: Rewrite, target: SourceTarget, i: number, root: string): boolean {
  let found = false;
  for (const b of r.scan.bindings.values()) {
    const moduleObject = (b.kind === 'import' && (b.importedName === '*' || b.importedName === 'default')) || (b.kind === 'variable' && b.moduleObject);
    const imported = b.kind === 'import' && !moduleObject ? b.importedName : b.kind === 'variable' ? b.importedName : undefined;
    if (imported === root) {
      r.names.set(b.name, i);
      found = true;
      r.notes.push(`${target.label}: uses of ${b.name} (imported as ${root}) in this module`);
    }
    if (moduleObject) {
      r.trackObject(b.name, root, i);
      found = true;
      r.notes.push(`${target.label}: uses of ${b.name}.${root} in this module`);
    }
  }
  return found;
}

/** A CommonJS export that is not a top-level name: patched on module.exports once the module ran. */
function planCommonjsExport(r: Rewrite, target: SourceTarget, i: number, root: string, rest: string[], found: boolean): void {
  const { scan, source } = r;
  // Found only after the module ran, unless the module cannot have it: the name is nowhere
  // in its text and it takes no exports from elsewhere (require, import(), eval).
  const mentioned =
    new RegExp(`(^|[^\\w$])${escapeRegExp(root)}([^\\w$]|$)`).test(source) ||
    (root === 'default' && rest.length === 0 && /(^|[^\w$.])module\s*\.\s*exports\s*=[^=]/.test(source));
  if (!found && !mentioned && !/\b(require|import|eval)\s*\(/.test(source)) {
    throw errors.targetNotFound(`"${target.label}"`, target.members.join('.'), r.where, [...new Set([...commonjsExportNames(scan.program), ...r.available()])]);
  }
  const getter = rest.length === 0 ? commonjsGetters(scan.program).get(root) : undefined;
  if (getter !== undefined && lexable(getter, source.slice(getter.start, getter.end))) {
    // Node lexes `get: function () { return m.y; }` for the names an ES importer sees,
    // and drops a name whose getter returns anything else: the getter keeps that shape,
    // returning a property of a holder (set up at the top) that returns the wrapper.
    const holder = `${r.P}g${i}`;
    const original = source.slice(getter.start, getter.end);
    r.edits.replace(getter.start, getter.end, `${holder}.v`);
    r.prologue.push(`var ${holder}={get v(){return ${r.H(i)}.fn(${original.replace(/\s+/g, ' ')})}};`);
    r.getterRanges.push([getter.start, getter.end]);
    r.used.add(i);
    r.notes.push(`${target.label}: the value the exports.${root} getter returns wrapped`);
  } else if (getter !== undefined) {
    r.insert(getter.start, `${r.F(i)}(`, 1);
    r.insert(getter.end, ')', 1);
    r.used.add(i);
    r.notes.push(`${target.label}: the value the exports.${root} getter returns wrapped`);
  }
  // Whether the module itself uses the name is known once its references are walked.
  r.exportsCalls.set(i, r.epilogue.push('') - 1);
  r.notes.push(`${target.label}: module.exports.${target.members.join('.')} patched after the module ran`);
}

/** A class without a superclass whose body lacks the method, and that no later code adds it to, is a config error now. */
function checkClassMember(r: Rewrite, cls: AnyNode, root: string, rest: string[], target: SourceTarget): void {
  const method = rest[rest.length - 1]!;
  if (cls.superClass || !(rest.length === 1 || (rest.length === 2 && rest[0] === 'prototype'))) return;
  const members = cls.body.body
    .filter((e: AnyNode) => e.key && !e.computed)
    .map((e: AnyNode) => `${e.static ? 'static ' : ''}${e.key.name ?? e.key.value}`);
  if (members.some((m: string) => m === method || m === `static ${method}`)) return;
  if (cls.body.body.some((e: AnyNode) => e.computed)) return;
  if (new RegExp(`(^|[^\\w$])${escapeRegExp(root)}\\s*\\.\\s*(prototype\\s*\\.\\s*)?${escapeRegExp(method)}([^\\w$]|$)`).test(r.source)) return;
  throw errors.targetNotFound(`"${target.label}"`, `${root}.${method}`, `class ${root}`, members);
}
