/**
 * The pass over a target module once every target is planned: routes each use of a
 * tracked name or module-object member through its site, wraps writes to names that hold
 * a wrapper, and gives `export { f }` of such a name the export it needs; then writes the
 * export bindings (re-exports, `export *`, imported names exported again) into the rewrite.
 */
import type { AnyNode } from './scan.js';
import { isAnonymousDefinition } from './plan-exports.js';
import type { Rewrite } from './rewrite.js';
import { walkReferences } from './walk.js';

export function routeUses(r: Rewrite): void {
  const { scan, names, objects, wrapAssignments } = r;
  const objectProperties = new Map<string, Set<string>>([...objects].map(([o, m]) => [o, new Set(m.keys())]));
  const tracked = new Set<string>([...names.keys(), ...wrapAssignments.keys()]);
  const { references, assignments } = walkReferences(scan.program, r.format, tracked, objectProperties);
  for (const ref of references) {
    if (ref.role === 'skip') continue;
    if (r.getterRanges.some(([start, end]) => ref.node.start >= start && ref.node.end <= end)) continue;
    const i = ref.property === undefined ? names.get(ref.name) : objects.get(ref.name)?.get(ref.property);
    if (i === undefined) continue; // a declared function or wrapped const: the binding already holds the wrapper
    const node = ref.node;
    r.used.add(i);
    if (ref.role === 'shorthand') {
      r.insert(node.start, `${ref.name}: ${r.F(i)}(`, 1);
      r.insert(node.end, ')', 1);
    } else if (ref.role === 'call' && node.type === 'MemberExpression' && ref.parent.type === 'CallExpression') {
      const call = ref.parent;
      r.insert(node.start, `${r.F(i)}(`, 1);
      r.insert(node.end, `)${call.optional ? '?.' : '.'}call`, 1);
      if (call.arguments.length > 0) r.insert(call.arguments[0].start, `${ref.name}, `, -1);
      else r.insert(call.end - 1, ref.name, -1);
    } else {
      r.insert(node.start, `${r.F(i)}(`, 1);
      r.insert(node.end, ')', 1);
    }
  }
  for (const { node, name, value } of assignments) {
    const i = names.get(name) ?? wrapAssignments.get(name);
    const binding = scan.bindings.get(name);
    if (i === undefined || (binding?.kind === 'variable' && binding.declarator === node)) continue; // planned with its binding
    r.used.add(i);
    // An anonymous function assigned to a name is named after it: moved into a call, it is named by the handle.
    r.insert(value.start, `${r.F(i)}(`, 0);
    r.insert(value.end, isAnonymousDefinition(value) ? `,${JSON.stringify(name)})` : ')', 2);
  }
  routeLocalExports(r);
  writeExportBindings(r);
  // A module that neither uses the name nor can route its export would deliver nothing: the
  // handle then fails loudly when the module has run, instead of leaving the delivery silent.
  for (const [i, at] of r.exportsCalls) r.epilogue[at] = `${r.H(i)}.exports(module,${r.used.has(i)});`;
}

/** `export { f as g }` of a name whose uses are routed: an export that holds the wrapper. */
function routeLocalExports(r: Rewrite): void {
  const { scan, names } = r;
  for (const [exported, { local, specifier }] of scan.localExports) {
    const i = names.get(local);
    if (i === undefined) continue;
    const binding = scan.bindings.get(local);
    if (binding?.kind === 'variable' && binding.declaration.kind === 'const') {
      // A const never changes: export its wrapper as a constant, declared right after it, so
      // the export is the very function another target module exported (tslib's ESM wrapper).
      const shim = `${r.P}x${i}_${r.shims.length}`;
      r.edits.replace(specifier.start, specifier.end, `${shim} as ${JSON.stringify(exported)}`);
      r.insert(binding.statement.end, `;const ${shim}=${r.F(i)}(${local});`, 5);
    } else if (binding?.kind === 'variable' && (binding.declarator.type !== 'VariableDeclarator' || !binding.declarator.init)) {
      // `var f` (declared without a value, or in a block): every write to it is wrapped, so it is exported as it is.
    } else {
      // An imported name (or one a require destructures): exported as a binding of its own that holds the wrapper.
      const shim = r.exportBinding(i, exported, local);
      r.edits.replace(specifier.start, specifier.end, `${shim} as ${JSON.stringify(exported)}`);
    }
  }
}

/** The export bindings' variables, and the lines that set them; the re-export declarations they replace. */
function writeExportBindings(r: Rewrite): void {
  for (const { i, exported, local, read, spaces } of r.exportBindings) {
    const H = r.H(i);
    r.shims.push(`var ${local};`);
    r.prologue.push(`${local}=${H}.value(function(){return ${read}});`);
    if (spaces !== undefined) {
      r.shims.push(`export { ${local} as ${JSON.stringify(exported)} };`);
      // No star source has the name, and the module does not use it either: nothing would be delivered.
      r.epilogue.push(`${H}.pick(${JSON.stringify(exported)},[${spaces.join(',')}],${!r.used.has(i)});`);
    }
    r.epilogue.push(`${H}.settle(function(){return ${read}},function(v){${local}=v});`);
  }
  for (const [declaration, targeted] of r.reExported) {
    const keep = declaration.specifiers.filter((s: AnyNode) => !targeted.some((t) => t.specifier === s)).map((s: AnyNode) => r.source.slice(s.start, s.end));
    const from = r.source.slice(declaration.source.start, declaration.end).replace(/;\s*$/, '');
    const text = `export { ${keep.join(', ')} } from ${from};` + targeted.map((t) => `${t.line}${from};${t.exported}`).join('');
    r.edits.replace(declaration.start, declaration.end, text);
  }
}
