/**
 * Rewrites one target module so that the calls it makes through a target name go
 * through the target's site ("where used"), whatever way the module got the name:
 *
 * - a function it declares: rebound once at the top, `f = site.wrap(f)`, so its own
 *   calls, its exports (live bindings) and `module.exports = { f }` all see the wrapper;
 * - `const f = <function>`: the initializer is wrapped, and so is any later assignment;
 * - a name it imports (named, renamed, default; CommonJS destructured require): each
 *   use becomes `site.fn(f)`, and a re-export of it goes through a hoisted shim;
 * - a member of a module object (`import * as u`, `const u = require()`, tsc's
 *   `(0, u_1.f)(x)`): each use of `u.f` becomes `site.fn(u.f)`, calls keeping `this`;
 * - a method or property path: patched on its object right after the declaration, and
 *   again when the module has finished evaluating (a MethodOutputs `X.m` too, when X is a
 *   required or default-imported class);
 * - an anonymous `export default function`: given a name, so that it stays a hoisted
 *   declaration (a circular importer may call it before the module runs), and rebound;
 * - a name it only re-exports (`export { f } from`, `export *`, tsc's CommonJS getter
 *   `Object.defineProperty(exports, "f", { get })`) or assigns to `module.exports`: its
 *   export is routed through the site.
 *
 * Every edit is an insertion on an existing line or a replacement with as many line
 * breaks as the text it replaces; helpers go after the last line. Line numbers in stack
 * traces therefore stay the same. Nothing else in the module changes.
 */
import { errors } from './errors.js';
import { commonjsExportNames, commonjsGetters, commonjsLexedNames, parameterListAt, scanModule, type AnyNode, type Binding, type Format, type ModuleScan } from './instrument-scan.js';
import { Edits } from './instrument-edits.js';
import { walkReferences } from './instrument-walk.js';

export interface SourceTarget {
  /** The path after "#", split on dots. */
  readonly members: readonly string[];
  /** The path as the user wrote it, for messages. */
  readonly label: string;
  /** A phase function rather than a delivery target (classes are refused only for deliveries). */
  readonly phase: boolean;
  /** A MethodOutputs target: `X.m` on a required or default-imported X names the class method, patched on X. */
  readonly kind?: 'function' | 'method';
}

export interface Instrumented {
  readonly code: string;
  /** One line per target saying how it was instrumented (NODE_DEBUG=delivery). */
  readonly notes: string[];
}

function isFunctionNode(node: AnyNode | null | undefined): boolean {
  return !!node && (node.type === 'FunctionExpression' || node.type === 'ArrowFunctionExpression');
}

/** For a `const` initializer that can never hold a function, a value like the one it holds (for the message). */
function neverAFunction(init: AnyNode): { value: unknown } | undefined {
  switch (init.type) {
    case 'Literal':
      return { value: init.regex ? new RegExp('') : init.value };
    case 'TemplateLiteral':
      return init.expressions.length === 0 ? { value: init.quasis[0].value.cooked } : undefined;
    case 'ObjectExpression':
      return { value: {} };
    case 'ArrayExpression':
      return { value: new Array(init.elements.length) };
    default:
      return undefined;
  }
}

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

export function instrumentSource(source: string, format: Format, url: string, targets: readonly SourceTarget[], scanned?: ModuleScan): Instrumented {
  const scan = scanned ?? scanModule(source, format);
  let P = '__dd$';
  for (let n = 1; source.includes(P); n++) P = `__dd${n}$`;
  const H = (i: number): string => `${P}(${i})`;

  const edits = new Edits(source);
  const insert = (at: number, text: string, order: number): void => edits.insert(at, text, order);
  const prologue: string[] = [];
  const prologueImports: string[] = [];
  const epilogue: string[] = [];
  const shims: string[] = [];
  const notes: string[] = [];
  /** Returned expressions of CommonJS export getters, moved to a holder: no use inside is rewritten in place. */
  const getterRanges: [number, number][] = [];
  /** Targets whose uses in this module were rewritten: if routing the export fails, they still deliver something. */
  const used = new Set<number>();
  /** CommonJS: where each target's `exports(module, used)` call goes in the epilogue. */
  const exportsCalls = new Map<number, number>();

  const names = new Map<string, number>();
  const objects = new Map<string, Map<string, number>>();
  const wrapAssignments = new Map<string, number>();
  let selfImported = false;
  const self = (): string => {
    if (!selfImported) {
      prologueImports.push(`import * as ${P}self from ${JSON.stringify(url)};`);
      selfImported = true;
    }
    return `${P}self`;
  };
  const trackObject = (object: string, property: string, i: number): void => {
    let byProperty = objects.get(object);
    if (byProperty === undefined) objects.set(object, (byProperty = new Map()));
    byProperty.set(property, i);
  };
  /** The same function reached other ways from the same module: renamed imports or requires, module-object members. */
  const sameImport = (source: string, importedName: string, except: Binding, i: number): void => {
    for (const other of scan.bindings.values()) {
      if (other === except) continue;
      const otherSource = other.kind === 'import' || other.kind === 'variable' ? other.source : undefined;
      if (otherSource !== source) continue;
      const moduleObject = (other.kind === 'import' && other.importedName === '*') || (other.kind === 'variable' && other.moduleObject);
      if (moduleObject) {
        trackObject(other.name, importedName, i);
      } else if ((other.kind === 'import' || other.kind === 'variable') && other.importedName === importedName) {
        names.set(other.name, i);
      }
    }
  };
  const available = (): string[] => {
    const all = new Set<string>([...scan.bindings.keys(), ...scan.localExports.keys(), ...scan.reExports.keys(), ...scan.declaredExports]);
    for (const b of scan.bindings.values()) if (b.kind === 'import' && b.importedName !== '*' && b.importedName !== 'default') all.add(b.importedName);
    return [...all].filter((n) => !n.startsWith(P));
  };
  const where = `${format === 'module' ? 'ES module' : 'CommonJS module'} ${url}`;
  /** Patches a property path: right after `after` (a statement end) or at the top, and finally at the end. */
  const patchPath = (i: number, getter: string, skip: number, after: number | 'prologue' | undefined): void => {
    const call = (final: boolean): string => `${H(i)}.patch(function(){return ${getter}},${final},${skip});`;
    if (after === 'prologue') prologue.push(call(false));
    else if (after !== undefined) insert(after, `;${call(false)}`, 5);
    epilogue.push(call(true));
  };

  targets.forEach((target, i) => handle(target, i));

  function handle(target: SourceTarget, i: number): void {
    const [root, ...rest] = target.members as [string, ...string[]];
    const binding: Binding | undefined = scan.bindings.get(root);
    if (binding !== undefined) {
      if (rest.length > 0) {
        const moduleObject =
          (binding.kind === 'import' && (binding.importedName === '*' || binding.importedName === 'default')) ||
          (binding.kind === 'variable' && binding.moduleObject);
        const namespace = binding.kind === 'import' && binding.importedName === '*';
        if (moduleObject && rest.length === 1 && target.kind === 'method' && !namespace) {
          patchPath(i, root, 1, binding.kind === 'import' ? 'prologue' : binding.statement.end);
          notes.push(`${target.label}: ${target.members.join('.')} patched on the class ${root} holds`);
        } else if (moduleObject && rest.length === 1) {
          trackObject(root, rest[0]!, i);
          notes.push(`${target.label}: uses of ${root}.${rest[0]} in this module`);
        } else if (binding.kind === 'class' || binding.kind === 'function') {
          if (binding.kind === 'class') checkClassMember(binding.node, root, rest, target);
          patchPath(i, root, 1, binding.kind === 'class' ? binding.statement.end : 'prologue');
          notes.push(`${target.label}: ${target.members.join('.')} patched on ${binding.kind} ${root}`);
        } else if (binding.kind === 'variable') {
          patchPath(i, root, 1, binding.statement.end);
          notes.push(`${target.label}: ${target.members.join('.')} patched on ${root}`);
        } else {
          patchPath(i, root, 1, 'prologue');
          notes.push(`${target.label}: ${target.members.join('.')} patched on imported ${root}`);
        }
        return;
      }
      switch (binding.kind) {
        case 'class':
          throw errors.classTarget(`"${target.label}"`, root);
        case 'function':
          patchRebind();
          return;
        case 'variable':
          if (binding.simple && binding.declarator.init && !binding.moduleObject) {
            const init = binding.declarator.init;
            if (init.type === 'ClassExpression' && !target.phase) throw errors.classTarget(`"${target.label}"`, root);
            const never = binding.declaration.kind === 'const' ? neverAFunction(init) : undefined;
            if (never !== undefined) throw errors.notAFunction(`"${target.label}"`, root, never.value);
            const strict = isFunctionNode(init) || init.type === 'ClassExpression';
            insert(init.start, `${H(i)}.${strict ? 'wrap' : 'fn'}(`, 0);
            insert(init.end, `,${JSON.stringify(root)})`, 2);
            if (!strict) epilogue.push(`${H(i)}.check(function(){return ${root}});`);
            wrapAssignments.set(root, i);
            notes.push(`${target.label}: the value of ${binding.declaration.kind ?? 'var'} ${root} wrapped`);
          } else {
            names.set(root, i);
            notes.push(`${target.label}: uses of ${root} in this module`);
            if (binding.importedName !== undefined && binding.source !== undefined) sameImport(binding.source, binding.importedName, binding, i);
          }
          return;
        case 'import':
          if (binding.importedName === '*') throw errors.notAFunction(`"${target.label}"`, root, {});
          names.set(root, i);
          notes.push(`${target.label}: uses of ${root} (imported from ${binding.source}) in this module`);
          if (binding.importedName !== 'default') sameImport(binding.source, binding.importedName, binding, i);
          return;
      }
      function patchRebind(): void {
        prologue.push(`${root}=${H(i)}.wrap(${root});`);
        wrapAssignments.set(root, i);
        notes.push(`${target.label}: ${binding!.kind} ${root} rebound to its wrapper`);
      }
    }

    // Not a top-level name: an export name of a local binding, the name as imported, a
    // member of module objects, or an export only.
    const alias = scan.localExports.get(root);
    if (alias !== undefined && scan.bindings.has(alias.local) && alias.local !== root) {
      return handle({ ...target, members: [alias.local, ...rest] }, i);
    }
    if (root === 'default' && format === 'module') {
      const declaration = scan.program.body.find((s: AnyNode) => s.type === 'ExportDefaultDeclaration')?.declaration;
      if (declaration?.id) return handle({ ...target, members: [declaration.id.name, ...rest] }, i);
      if (declaration?.type === 'FunctionDeclaration' && rest.length === 0) {
        // Still a declaration, so still hoisted (a circular importer may call it first): named, then rebound.
        const local = `${P}d${i}`;
        insert(parameterListAt(source, declaration), ` ${local}`, 0);
        prologue.push(`Object.defineProperty(${local},"name",{value:"default"});${local}=${H(i)}.wrap(${local});`);
        notes.push(`${target.label}: the default export function named ${local} and rebound to its wrapper`);
        return;
      }
      if (declaration !== undefined && rest.length === 0) {
        if (declaration.type === 'ClassDeclaration' && !target.phase) throw errors.classTarget(`"${target.label}"`, root);
        const strict = declaration.type === 'FunctionDeclaration' || isFunctionNode(declaration) || declaration.type === 'ClassDeclaration';
        insert(declaration.start, `${H(i)}.${strict ? 'wrap' : 'fn'}(`, 0);
        insert(declaration.end, ',"default")', 2);
        notes.push(`${target.label}: the default export wrapped`);
        return;
      }
    }
    let found = false;
    if (rest.length === 0) {
      for (const b of scan.bindings.values()) {
        const moduleObject = (b.kind === 'import' && (b.importedName === '*' || b.importedName === 'default')) || (b.kind === 'variable' && b.moduleObject);
        const imported = b.kind === 'import' && !moduleObject ? b.importedName : b.kind === 'variable' ? b.importedName : undefined;
        if (imported === root) {
          names.set(b.name, i);
          found = true;
          notes.push(`${target.label}: uses of ${b.name} (imported as ${root}) in this module`);
        }
        if (moduleObject) {
          trackObject(b.name, root, i);
          found = true;
          notes.push(`${target.label}: uses of ${b.name}.${root} in this module`);
        }
      }
    }
    if (format === 'commonjs') {
      // Found only after the module ran, unless the module cannot have it: the name is nowhere
      // in its text and it takes no exports from elsewhere (require, import(), eval).
      const mentioned = new RegExp(`(^|[^\\w$])${escapeRegExp(root)}([^\\w$]|$)`).test(source);
      if (!found && !mentioned && !/\b(require|import|eval)\s*\(/.test(source)) {
        throw errors.targetNotFound(`"${target.label}"`, target.members.join('.'), where, [...new Set([...commonjsExportNames(scan.program), ...available()])]);
      }
      const getter = rest.length === 0 ? commonjsGetters(scan.program).get(root) : undefined;
      if (getter !== undefined && lexable(getter, source.slice(getter.start, getter.end))) {
        // Node lexes `get: function () { return m.y; }` for the names an ES importer sees,
        // and drops a name whose getter returns anything else: the getter keeps that shape,
        // returning a property of a holder (set up at the top) that returns the wrapper.
        const holder = `${P}g${i}`;
        const original = source.slice(getter.start, getter.end);
        edits.replace(getter.start, getter.end, `${holder}.v`);
        prologue.push(`var ${holder}={get v(){return ${H(i)}.fn(${original.replace(/\s+/g, ' ')})}};`);
        getterRanges.push([getter.start, getter.end]);
        found = true;
        used.add(i);
        notes.push(`${target.label}: the value the exports.${root} getter returns wrapped`);
      } else if (getter !== undefined) {
        insert(getter.start, `${H(i)}.fn(`, 1);
        insert(getter.end, ')', 1);
        found = true;
        used.add(i);
        notes.push(`${target.label}: the value the exports.${root} getter returns wrapped`);
      }
      // Whether the module itself uses the name is known once its references are walked.
      exportsCalls.set(i, epilogue.push('') - 1);
      notes.push(`${target.label}: module.exports.${target.members.join('.')} patched after the module ran`);
      return;
    }
    if (rest.length === 0) {
      const reExport = scan.reExports.get(root);
      if (reExport !== undefined && reExport.local !== '*') {
        rewriteReExport(i, reExport.source, reExport.local, root, reExport.declaration, reExport.specifier);
        notes.push(`${target.label}: the re-export of ${root} from ${reExport.source} routed through the site`);
        return;
      }
      if (found) return;
      if (scan.starSources.length > 0) {
        const spaces = scan.starSources.map((s, k) => {
          prologueImports.push(`import * as ${P}s${i}_${k} from ${JSON.stringify(s)};`);
          return `${P}s${i}_${k}`;
        });
        const pick = `${H(i)}.pick(${JSON.stringify(root)},[${spaces.join(',')}]`;
        shims.push(`function ${P}e${i}(){return ${H(i)}.fn(${pick})).apply(this,arguments)}`);
        shims.push(`export { ${P}e${i} as ${JSON.stringify(root)} };`);
        prologue.push(`Object.defineProperty(${P}e${i},"name",{value:${JSON.stringify(root)}});`);
        epilogue.push(`${pick},true);`);
        notes.push(`${target.label}: the export * of ${root} routed through the site`);
        return;
      }
    } else if (root === 'default' || scan.declaredExports.has(root) || scan.reExports.has(root) || scan.localExports.has(root) || scan.starSources.length > 0) {
      epilogue.push(`${H(i)}.patch(function(){return ${self()}},true,0);`);
      notes.push(`${target.label}: ${target.members.join('.')} patched on the module's exports`);
      return;
    }
    throw errors.targetNotFound(`"${target.label}"`, target.members.join('.'), where, available());
  }

  /** A class without a superclass whose body lacks the method, and that no later code adds it to, is a config error now. */
  function checkClassMember(cls: AnyNode, root: string, rest: string[], target: SourceTarget): void {
    const method = rest[rest.length - 1]!;
    if (cls.superClass || !(rest.length === 1 || (rest.length === 2 && rest[0] === 'prototype'))) return;
    const members = cls.body.body
      .filter((e: AnyNode) => e.key && !e.computed)
      .map((e: AnyNode) => `${e.static ? 'static ' : ''}${e.key.name ?? e.key.value}`);
    if (members.some((m: string) => m === method || m === `static ${method}`)) return;
    if (cls.body.body.some((e: AnyNode) => e.computed)) return;
    if (new RegExp(`(^|[^\\w$])${escapeRegExp(root)}\\s*\\.\\s*(prototype\\s*\\.\\s*)?${escapeRegExp(method)}([^\\w$]|$)`).test(source)) return;
    throw errors.targetNotFound(`"${target.label}"`, `${root}.${method}`, `class ${root}`, members);
  }

  function rewriteReExport(i: number, from: string, local: string, exported: string, declaration: AnyNode, specifier: AnyNode): void {
    const keep = declaration.specifiers.filter((s: AnyNode) => s !== specifier).map((s: AnyNode) => source.slice(s.start, s.end));
    const imported = `${P}i${i}`;
    const text =
      `export { ${keep.join(', ')} } from ${JSON.stringify(from)};` +
      `import { ${JSON.stringify(local)} as ${imported} } from ${JSON.stringify(from)};` +
      `export { ${P}e${i} as ${JSON.stringify(exported)} };`;
    edits.replace(declaration.start, declaration.end, text);
    shims.push(`function ${P}e${i}(){return ${H(i)}.fn(${imported}).apply(this,arguments)}`);
    prologue.push(`Object.defineProperty(${P}e${i},"name",{value:${JSON.stringify(exported)}});`);
  }

  // Uses of tracked names and module-object members.
  const objectProperties = new Map<string, Set<string>>([...objects].map(([o, m]) => [o, new Set(m.keys())]));
  const tracked = new Set<string>([...names.keys(), ...wrapAssignments.keys()]);
  const { references, assignments } = walkReferences(scan.program, format, tracked, objectProperties);
  for (const ref of references) {
    if (ref.role === 'skip') continue;
    if (getterRanges.some(([start, end]) => ref.node.start >= start && ref.node.end <= end)) continue;
    const i = ref.property === undefined ? names.get(ref.name) : objects.get(ref.name)?.get(ref.property);
    if (i === undefined) continue; // a declared function or wrapped const: the binding already holds the wrapper
    const node = ref.node;
    used.add(i);
    if (ref.role === 'shorthand') {
      insert(node.start, `${ref.name}: ${H(i)}.fn(`, 1);
      insert(node.end, ')', 1);
    } else if (ref.role === 'call' && node.type === 'MemberExpression' && ref.parent.type === 'CallExpression') {
      const call = ref.parent;
      insert(node.start, `${H(i)}.fn(`, 1);
      insert(node.end, `)${call.optional ? '?.' : '.'}call`, 1);
      if (call.arguments.length > 0) insert(call.arguments[0].start, `${ref.name}, `, -1);
      else insert(call.end - 1, ref.name, -1);
    } else {
      insert(node.start, `${H(i)}.fn(`, 1);
      insert(node.end, ')', 1);
    }
  }
  for (const { node, name } of assignments) {
    const i = names.get(name) ?? wrapAssignments.get(name);
    if (i === undefined) continue;
    used.add(i);
    insert(node.right.start, `${H(i)}.fn(`, 0);
    insert(node.right.end, ')', 2);
  }
  // `export { f }` of a name whose uses are rewritten: export a shim instead.
  for (const [exported, { local, specifier }] of scan.localExports) {
    const i = names.get(local);
    if (i === undefined) continue;
    const shim = `${P}x${i}_${shims.length}`;
    edits.replace(specifier.start, specifier.end, `${shim} as ${JSON.stringify(exported)}`);
    const binding = scan.bindings.get(local);
    if (binding?.kind === 'variable' && binding.declaration.kind === 'const') {
      // A const never changes: export its wrapper as a constant, declared right after it, so
      // the export is the very function another target module exported (tslib's ESM wrapper).
      insert(binding.statement.end, `;const ${shim}=${H(i)}.fn(${local});`, 5);
      continue;
    }
    shims.push(`function ${shim}(){return ${H(i)}.fn(${local}).apply(this,arguments)}`);
    prologue.push(`Object.defineProperty(${shim},"name",{value:${JSON.stringify(local)}});`);
  }

  // A module that neither uses the name nor can route its export would deliver nothing: the
  // handle then fails loudly when the module has run, instead of leaving the delivery silent.
  for (const [i, at] of exportsCalls) epilogue[at] = `${H(i)}.exports(module,${used.has(i)});`;

  const count = targets.length;
  const helper =
    `function ${P}(i){var s=${P}.s;if(s===void 0){var g=globalThis[Symbol.for("distill-delivery")];` +
    `s=${P}.s=g&&g.agent?g.agent.handles(${JSON.stringify(url)},${count}):null}return s===null?${P}n():s[i]}` +
    `function ${P}n(){return{wrap:function(f){return f},fn:function(f){return f},patch:function(){},exports:function(){},check:function(){},` +
    `pick:function(k,n){for(var j=0;j<n.length;j++)if(k in n[j])return n[j][k]}}}`;

  const head = prologueImports.join('') + (prologue.length > 0 ? `${P}(0);` + prologue.join('') : '');
  if (head !== '') {
    let at = scan.prologueAt;
    let text = head;
    if (at > 0 && source[at - 1] !== '\n') text = ';' + text;
    insert(at, text, -10);
  }
  // Node lexes a CommonJS module's code for the named exports an ES module may import; a
  // rewritten `module.exports = { f }` or export getter would hide names from it, so they
  // are restated where the lexer finds them and nothing runs them.
  const lexed = format === 'commonjs' ? commonjsLexedNames(scan.program) : [];
  const hint = lexed.length > 0 ? `if(0){${lexed.map((n) => `exports[${JSON.stringify(n)}]=0;`).join('')}}` : '';
  const tail = '\n;' + epilogue.join('') + helper + shims.join('') + hint + '\n';
  return { code: edits.apply() + tail, notes };
}
