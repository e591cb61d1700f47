/**
 * The state of one target module's rewrite, shared by the planning of each target
 * (plan.ts, plan-exports.ts) and the final pass over the module's references (route.ts):
 * the pending edits, the lines that go before and after the module's code, and which
 * names and module-object members route through which target's site; and its assembly.
 */
import { commonjsExportLiterals, type AnyNode, type Binding, type Format, type ModuleScan } from './scan.js';
import { Edits } from './edits.js';

/** A target as a module's rewrite sees it (plan.ts and plan-exports.ts plan it). */
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

export interface ExportBinding {
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
  readonly exportBindings: ExportBinding[] = [];
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
