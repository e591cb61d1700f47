/**
 * The state of one target module's rewrite, shared by the planning of each target
 * (plan.ts) and the final pass over the module's references: the pending
 * edits, the lines that go before and after the module's code, and which names and
 * module-object members route through which target's site.
 */
import { commonjsExportLiterals, type AnyNode, type Binding, type Format, type ModuleScan } from './scan.js';
import { Edits } from './edits.js';
import { walkReferences } from './walk.js';
import { isAnonymousDefinition } from './plan-exports.js';

interface ExportBinding {
  readonly i: number;
  /** The export name. */
  readonly exported: string;
  /** The module's variable the export is a binding of. */
  readonly local: string;
  /** The expression that reads the binding from elsewhere. */
  readonly read: string;
  /** For `export *`: the namespaces of the star sources. */
  readonly spaces: readonly string[] | undefined;
}

export class Rewrite {
  /** The prefix of every name the rewrite adds: `__dd$`, or `__ddN$` if the source already has it. */
  readonly P: string;
  readonly edits: Edits;
  /** Imports the prologue needs (ES modules). */
  readonly prologueImports: string[] = [];
  /** Runs at the top, before the module's own code (after its directives and hoisted imports). */
  readonly prologue: string[] = [];
  /** Runs after the module's own code. */
  readonly epilogue: string[] = [];
  /** Declarations after the last line: export shims. */
  readonly shims: string[] = [];
  /** The short helpers F() and W() declared. */
  private readonly helpers = new Set<string>();
  /** One line per target saying how it was instrumented (NODE_DEBUG=delivery). */
  readonly notes: string[] = [];
  /** Returned expressions of CommonJS export getters, moved to a holder: no use inside is rewritten in place. */
  readonly getterRanges: [number, number][] = [];
  /** Targets whose uses in this module were rewritten: if routing the export fails, they still deliver something. */
  readonly used = new Set<number>();
  /** CommonJS: where each target's `exports(module, used)` call goes in the epilogue. */
  readonly exportsCalls = new Map<number, number>();
  /** Names whose every use goes through a target's site. */
  readonly names = new Map<string, number>();
  /** Module objects (namespace, required module) whose members' uses go through a target's site. */
  readonly objects = new Map<string, Map<string, number>>();
  /** Names that hold a wrapper: a later assignment to them is wrapped too. */
  readonly wrapAssignments = new Map<string, number>();
  /** `export { ... } from` declarations with targeted specifiers, and the import each of those becomes. */
  readonly reExported = new Map<AnyNode, { specifier: AnyNode; line: string; exported: string }[]>();
  /** `export` declarations whose names are exported by a list instead (a destructuring that binds a hidden name). */
  readonly unexported = new Set<AnyNode>();
  /** Exports of a binding from elsewhere, held in a variable of this module (see exportBinding). */
  private readonly exportBindings: ExportBinding[] = [];
  /** "ES module <url>" or "CommonJS module <url>", for messages. */
  readonly where: string;
  private selfImported = false;

  constructor(
    readonly source: string,
    readonly format: Format,
    readonly url: string,
    readonly scan: ModuleScan,
  ) {
    let P = '__dd$';
    for (let n = 1; source.includes(P); n++) P = `__dd${n}$`;
    this.P = P;
    this.edits = new Edits(source);
    this.where = `${format === 'module' ? 'ES module' : 'CommonJS module'} ${url}`;
  }

  /** The expression for target i's handle. */
  H(i: number): string {
    return `${this.P}(${i})`;
  }

  /**
   * Short names for target i's `fn` and `wrap`, for what is inserted within the module's
   * lines (each shifts what follows it on its line): functions declared after the last line.
   */
  F(i: number): string {
    this.helpers.add(`function ${this.P}${i}(v,n,m){return ${this.H(i)}.fn(v,n,m)}`);
    return `${this.P}${i}`;
  }

  W(i: number): string {
    this.helpers.add(`function ${this.P}w${i}(v,n){return ${this.H(i)}.wrap(v,n)}`);
    return `${this.P}w${i}`;
  }

  insert(at: number, text: string, order: number): void {
    this.edits.insert(at, text, order);
  }

  /** A namespace import of the module itself (ES modules), added once. */
  self(): string {
    if (!this.selfImported) {
      this.prologueImports.push(`import * as ${this.P}self from ${JSON.stringify(this.url)};`);
      this.selfImported = true;
    }
    return `${this.P}self`;
  }

  trackObject(object: string, property: string, i: number): void {
    let byProperty = this.objects.get(object);
    if (byProperty === undefined) this.objects.set(object, (byProperty = new Map()));
    byProperty.set(property, i);
  }

  /** The same function reached other ways from the same module: renamed imports or requires, module-object members. */
  sameImport(source: string, importedName: string, except: Binding, i: number): void {
    for (const other of this.scan.bindings.values()) {
      if (other === except) continue;
      const otherSource = other.kind === 'import' || other.kind === 'variable' ? other.source : undefined;
      if (otherSource !== source) continue;
      const moduleObject = (other.kind === 'import' && other.importedName === '*') || (other.kind === 'variable' && other.moduleObject);
      if (moduleObject) {
        this.trackObject(other.name, importedName, i);
      } else if ((other.kind === 'import' || other.kind === 'variable') && other.importedName === importedName) {
        this.names.set(other.name, i);
      }
    }
  }

  /** The names a target path could start with, for a "not found" message. */
  available(): string[] {
    const scan = this.scan;
    const all = new Set<string>([...scan.bindings.keys(), ...scan.localExports.keys(), ...scan.reExports.keys(), ...scan.declaredExports]);
    for (const b of scan.bindings.values()) if (b.kind === 'import' && b.importedName !== '*' && b.importedName !== 'default') all.add(b.importedName);
    return [...all].filter((n) => !n.startsWith(this.P));
  }

  /** A name the rewrite adds, of a kind and for target i. */
  shortName(kind: string, i: number): string {
    return `${this.P}${kind}${i}`;
  }

  /**
   * Exports `exported` as a variable of this module that holds what `read` reads (a
   * binding of another module), wrapped if a function: set at the top and settled at the
   * end (handles.ts: value, settle). Unlike a function that forwards calls, the export
   * keeps the value's kind, identity and absence (undefined before its module ran).
   */
  exportBinding(i: number, exported: string, read: string, spaces?: string[]): string {
    const local = `${this.shortName('e', i)}_${this.exportBindings.length}`;
    this.exportBindings.push({ i, exported, local, read, spaces });
    return local;
  }

  /** Patches a property path: right after `after` (a statement end) or at the top, and finally at the end. */
  patchPath(i: number, getter: string, skip: number, after: number | 'prologue' | undefined): void {
    const call = (final: boolean): string => `${this.H(i)}.patch(function(){return ${getter}},${final},${skip});`;
    if (after === 'prologue') this.prologue.push(call(false));
    else if (after !== undefined) this.insert(after, `;${call(false)}`, 5);
    this.epilogue.push(call(true));
  }

  /**
   * Once every target is planned: routes each use of a tracked name or module-object
   * member through its site, wraps assignments to names that hold a wrapper, and exports
   * a shim for `export { f }` of a name whose uses are rewritten.
   */
  rewriteUses(): void {
    const { scan, names, objects, wrapAssignments } = this;
    const objectProperties = new Map<string, Set<string>>([...objects].map(([o, m]) => [o, new Set(m.keys())]));
    const tracked = new Set<string>([...names.keys(), ...wrapAssignments.keys()]);
    const { references, assignments } = walkReferences(scan.program, this.format, tracked, objectProperties);
    for (const ref of references) {
      if (ref.role === 'skip') continue;
      if (this.getterRanges.some(([start, end]) => ref.node.start >= start && ref.node.end <= end)) continue;
      const i = ref.property === undefined ? names.get(ref.name) : objects.get(ref.name)?.get(ref.property);
      if (i === undefined) continue; // a declared function or wrapped const: the binding already holds the wrapper
      const node = ref.node;
      this.used.add(i);
      if (ref.role === 'shorthand') {
        this.insert(node.start, `${ref.name}: ${this.F(i)}(`, 1);
        this.insert(node.end, ')', 1);
      } else if (ref.role === 'call' && node.type === 'MemberExpression' && ref.parent.type === 'CallExpression') {
        const call = ref.parent;
        this.insert(node.start, `${this.F(i)}(`, 1);
        this.insert(node.end, `)${call.optional ? '?.' : '.'}call`, 1);
        if (call.arguments.length > 0) this.insert(call.arguments[0].start, `${ref.name}, `, -1);
        else this.insert(call.end - 1, ref.name, -1);
      } else {
        this.insert(node.start, `${this.F(i)}(`, 1);
        this.insert(node.end, ')', 1);
      }
    }
    for (const { node, name, value } of assignments) {
      const i = names.get(name) ?? wrapAssignments.get(name);
      const binding = scan.bindings.get(name);
      if (i === undefined || (binding?.kind === 'variable' && binding.declarator === node)) continue; // planned with its binding
      this.used.add(i);
      // An anonymous function assigned to a name is named after it: moved into a call, it is named by the handle.
      this.insert(value.start, `${this.F(i)}(`, 0);
      this.insert(value.end, isAnonymousDefinition(value) ? `,${JSON.stringify(name)})` : ')', 2);
    }
    for (const [exported, { local, specifier }] of scan.localExports) {
      const i = names.get(local);
      if (i === undefined) continue;
      const binding = scan.bindings.get(local);
      if (binding?.kind === 'variable' && binding.declaration.kind === 'const') {
        // A const never changes: export its wrapper as a constant, declared right after it, so
        // the export is the very function another target module exported (tslib's ESM wrapper).
        const shim = `${this.P}x${i}_${this.shims.length}`;
        this.edits.replace(specifier.start, specifier.end, `${shim} as ${JSON.stringify(exported)}`);
        this.insert(binding.statement.end, `;const ${shim}=${this.F(i)}(${local});`, 5);
      } else if (binding?.kind === 'variable' && (binding.declarator.type !== 'VariableDeclarator' || !binding.declarator.init)) {
        // `var f` (declared without a value, or in a block): every write to it is wrapped, so it is exported as it is.
      } else {
        // An imported name (or one a require destructures): exported as a binding of its own that holds the wrapper.
        const shim = this.exportBinding(i, exported, local);
        this.edits.replace(specifier.start, specifier.end, `${shim} as ${JSON.stringify(exported)}`);
      }
    }
    this.assembleExports();
    // A module that neither uses the name nor can route its export would deliver nothing: the
    // handle then fails loudly when the module has run, instead of leaving the delivery silent.
    for (const [i, at] of this.exportsCalls) this.epilogue[at] = `${this.H(i)}.exports(module,${this.used.has(i)});`;
  }

  /** The export bindings' variables, and the lines that set them; the re-export declarations they replace. */
  private assembleExports(): void {
    for (const { i, exported, local, read, spaces } of this.exportBindings) {
      const H = this.H(i);
      this.shims.push(`var ${local};`);
      this.prologue.push(`${local}=${H}.value(function(){return ${read}});`);
      if (spaces !== undefined) {
        this.shims.push(`export { ${local} as ${JSON.stringify(exported)} };`);
        // No star source has the name, and the module does not use it either: nothing would be delivered.
        this.epilogue.push(`${H}.pick(${JSON.stringify(exported)},[${spaces.join(',')}],${!this.used.has(i)});`);
      }
      this.epilogue.push(`${H}.settle(function(){return ${read}},function(v){${local}=v});`);
    }
    for (const [declaration, targeted] of this.reExported) {
      const keep = declaration.specifiers.filter((s: AnyNode) => !targeted.some((t) => t.specifier === s)).map((s: AnyNode) => this.source.slice(s.start, s.end));
      const from = this.source.slice(declaration.source.start, declaration.end).replace(/;\s*$/, '');
      const text = `export { ${keep.join(', ')} } from ${from};` + targeted.map((t) => `${t.line}${from};${t.exported}`).join('');
      this.edits.replace(declaration.start, declaration.end, text);
    }
  }

  /**
   * The rewritten module: its code with every edit applied, the prologue on the line where
   * its own code starts, and after its last line the epilogue, the `__dd$(i)` helper (it
   * finds the agent's handles for this module's `count` targets through the `Symbol.for`
   * global, or passes everything through if no agent runs in this thread) and the shims.
   */
  assemble(count: number): string {
    const { P, url, scan } = this;
    const helper =
      `function ${P}(i){var s=${P}.s;if(s===void 0){var g=globalThis[Symbol.for("distill-delivery")];` +
      `s=${P}.s=g&&g.agent?g.agent.handles(${JSON.stringify(url)},${count}):null}return s===null?${P}n():s[i]}` +
      `function ${P}n(){return{wrap:function(f){return f},fn:function(f){return f},patch:function(){},exports:function(){},check:function(){},` +
      `value:function(g){try{return g()}catch(e){}},settle:function(g,s){try{s(g())}catch(e){queueMicrotask(function(){try{s(g())}catch(e){}})}},` +
      `pick:function(k,n){for(var j=0;j<n.length;j++)if(k in n[j])return n[j][k]}}}`;

    const head = this.prologueImports.join('') + (this.prologue.length > 0 ? `${P}(0);` + this.prologue.join('') : '');
    if (head !== '') {
      const at = scan.prologueAt;
      let text = head;
      if (at > 0 && this.source[at - 1] !== '\n') text = ';' + text;
      this.insert(at, text, -10);
    }
    // Node lexes a CommonJS module's code for the named exports an ES module may import; an
    // edited `module.exports = { f }` would hide names from it, so they are restated where
    // the lexer finds them and nothing runs them. (Export getters keep their lexed shape.)
    const literals = this.format === 'commonjs' ? commonjsExportLiterals(scan.program) : [];
    const lexed = literals.filter(({ node }) => this.edits.touches(node.start, node.end)).flatMap(({ names }) => names);
    const hint = lexed.length > 0 ? `if(0){${lexed.map((n) => `exports[${JSON.stringify(n)}]=0;`).join('')}}` : '';
    const tail = '\n;' + this.epilogue.join('') + helper + [...this.helpers].join('') + this.shims.join('') + hint + '\n';
    return this.edits.apply() + tail;
  }
}
