/**
 * Reads a target module: parses it (acorn, loaded only for target modules), lists its
 * top-level bindings, imports and exports (CommonJS ones too, as far as they are written
 * in plain sight), and finds the references to chosen top-level names throughout the
 * module, skipping every place where a nested scope shadows them.
 */
import { Parser, tokenizer } from 'acorn';

// ESTree nodes are used structurally; acorn's own types are too narrow for a generic walk.
export type AnyNode = { type: string; start: number; end: number; [key: string]: any };

export type Format = 'module' | 'commonjs';

export type Binding =
  | { kind: 'function'; name: string; node: AnyNode }
  | { kind: 'class'; name: string; node: AnyNode; statement: AnyNode }
  | {
      kind: 'variable';
      name: string;
      declaration: AnyNode;
      declarator: AnyNode;
      statement: AnyNode;
      /** The identifier is the whole declarator id (not a destructuring pattern). */
      simple: boolean;
      /** `const u = require('x')` (also wrapped in __importStar/__importDefault/__toESM). */
      moduleObject: boolean;
      /** `const { f: g } = require('x')`: the property destructured into this name. */
      importedName: string | undefined;
      /** The specifier a `require()` in the initializer loads. */
      source: string | undefined;
    }
  | { kind: 'import'; name: string; importedName: string; source: string; node: AnyNode; declaration: AnyNode };

export interface ReExport {
  exported: string;
  local: string;
  source: string;
  specifier: AnyNode;
  declaration: AnyNode;
}

export interface ModuleScan {
  readonly format: Format;
  readonly program: AnyNode;
  readonly bindings: Map<string, Binding>;
  /** ESM `export { local as exported }` without a source, by exported name. */
  readonly localExports: Map<string, { local: string; specifier: AnyNode; declaration: AnyNode }>;
  /** ESM `export { a as b } from 's'`, by exported name. */
  readonly reExports: Map<string, ReExport>;
  readonly starSources: string[];
  /** ESM export names declared in place (export function/class/const, export default). */
  readonly declaredExports: Set<string>;
  /** Where the first statement may be inserted: after a hashbang and the directive prologue. */
  readonly prologueAt: number;
}

export class ParseError extends Error {}

export function parseModule(source: string, format: Format): AnyNode {
  try {
    return Parser.parse(source, {
      ecmaVersion: 'latest',
      sourceType: format === 'module' ? 'module' : 'script',
      allowHashBang: true,
      allowReturnOutsideFunction: format === 'commonjs',
      allowAwaitOutsideFunction: format === 'module',
    }) as unknown as AnyNode;
  } catch (error) {
    throw new ParseError((error as Error).message);
  }
}

/** Where the parameter list of a function node opens: the place of the name an anonymous declaration lacks. */
export function parameterListAt(source: string, fn: AnyNode): number {
  for (const token of tokenizer(source.slice(fn.start, fn.body.start), { ecmaVersion: 'latest' })) {
    if (token.type.label === '(') return fn.start + token.start;
  }
  return fn.start;
}

/** CommonJS export names a module assigns in plain sight: `exports.x =`, `module.exports = { x }`, `Object.defineProperty(exports, 'x', ...)`. */
export function commonjsExportNames(program: AnyNode): string[] {
  const names = new Set<string>();
  const isExports = (node: AnyNode): boolean =>
    (node.type === 'Identifier' && node.name === 'exports') ||
    (node.type === 'MemberExpression' && !node.computed && node.object.type === 'Identifier' && node.object.name === 'module' && node.property.name === 'exports');
  for (const statement of program.body) {
    const expression = statement.type === 'ExpressionStatement' ? statement.expression : undefined;
    if (expression?.type === 'AssignmentExpression' && expression.left.type === 'MemberExpression' && isExports(expression.left.object)) {
      const key = expression.left.computed ? (expression.left.property.type === 'Literal' ? String(expression.left.property.value) : undefined) : expression.left.property.name;
      if (key !== undefined) names.add(key);
    } else if (expression?.type === 'AssignmentExpression' && isExports(expression.left) && expression.right.type === 'ObjectExpression') {
      for (const property of expression.right.properties) if (property.type === 'Property' && keyName(property) !== undefined) names.add(keyName(property)!);
    } else if (expression?.type === 'CallExpression' && expression.callee.type === 'MemberExpression' && expression.callee.property.name === 'defineProperty' && expression.arguments.length >= 2 && isExports(expression.arguments[0]) && expression.arguments[1].type === 'Literal') {
      names.add(String(expression.arguments[1].value));
    }
  }
  names.delete('__esModule');
  return [...names];
}

/**
 * The `module.exports = { a, b: c }` literals of a module, with the names Node's CommonJS
 * export lexer (cjs-module-lexer, which gives an ES module importer its named imports)
 * reads from each: the form a rewrite can hide names from, by editing the literal.
 */
export function commonjsExportLiterals(program: AnyNode): { node: AnyNode; names: string[] }[] {
  const literals: { node: AnyNode; names: string[] }[] = [];
  for (const statement of program.body) {
    const e = statement.type === 'ExpressionStatement' ? statement.expression : undefined;
    const left = e?.type === 'AssignmentExpression' ? e.left : undefined;
    if (left?.type !== 'MemberExpression' || left.computed || left.object.type !== 'Identifier' || left.object.name !== 'module' || left.property.name !== 'exports' || e.right.type !== 'ObjectExpression') continue;
    const names: string[] = [];
    for (const p of e.right.properties) {
      if (p.type === 'SpreadElement') continue;
      if (p.computed || p.kind !== 'init' || p.method || p.value.type !== 'Identifier' || keyName(p) === undefined) break;
      names.push(keyName(p)!);
    }
    literals.push({ node: e.right, names });
  }
  return literals;
}

/** tsc's CommonJS re-exports, `Object.defineProperty(exports, "x", { get: function () { return m.y; } })`: the returned expression by export name. */
export function commonjsGetters(program: AnyNode): Map<string, AnyNode> {
  const getters = new Map<string, AnyNode>();
  for (const statement of program.body) {
    const call = statement.type === 'ExpressionStatement' ? statement.expression : undefined;
    if (call?.type !== 'CallExpression' || call.callee.type !== 'MemberExpression' || call.callee.property.name !== 'defineProperty') continue;
    const [target, key, descriptor] = call.arguments;
    if (target?.type !== 'Identifier' || target.name !== 'exports' || key?.type !== 'Literal' || descriptor?.type !== 'ObjectExpression') continue;
    const get = descriptor.properties.find((p: AnyNode) => p.type === 'Property' && keyName(p) === 'get')?.value;
    if (!get || (get.type !== 'FunctionExpression' && get.type !== 'ArrowFunctionExpression')) continue;
    const body = get.body;
    const returned = body.type !== 'BlockStatement' ? body : body.body.length === 1 && body.body[0].type === 'ReturnStatement' ? body.body[0].argument : undefined;
    if (returned) getters.set(String(key.value), returned);
  }
  return getters;
}

/** Every identifier a binding pattern declares. */
export function patternNames(pattern: AnyNode | null | undefined, out: AnyNode[] = []): AnyNode[] {
  if (!pattern) return out;
  switch (pattern.type) {
    case 'Identifier':
      out.push(pattern);
      break;
    case 'ObjectPattern':
      for (const p of pattern.properties) patternNames(p.type === 'RestElement' ? p.argument : p.value, out);
      break;
    case 'ArrayPattern':
      for (const e of pattern.elements) patternNames(e, out);
      break;
    case 'RestElement':
      patternNames(pattern.argument, out);
      break;
    case 'AssignmentPattern':
      patternNames(pattern.left, out);
      break;
  }
  return out;
}

function isRequireCall(node: AnyNode | null | undefined): string | undefined {
  if (!node || node.type !== 'CallExpression') return undefined;
  if (node.callee.type === 'Identifier' && node.callee.name === 'require' && node.arguments.length === 1) {
    const arg = node.arguments[0];
    if (arg.type === 'Literal' && typeof arg.value === 'string') return arg.value;
    if (arg.type === 'TemplateLiteral' && arg.expressions.length === 0) return arg.quasis[0].value.cooked;
  }
  // __importStar(require('x')), __importDefault(require('x')), __toESM(require('x')), ...
  if (node.arguments.length >= 1) return isRequireCall(node.arguments[0]);
  return undefined;
}

function keyName(property: AnyNode): string | undefined {
  if (property.computed) return property.key.type === 'Literal' ? String(property.key.value) : undefined;
  return property.key.type === 'Identifier' ? property.key.name : property.key.type === 'Literal' ? String(property.key.value) : undefined;
}

function addVariable(bindings: Map<string, Binding>, declaration: AnyNode, statement: AnyNode): void {
  for (const declarator of declaration.declarations) {
    const source = isRequireCall(declarator.init);
    const simple = declarator.id.type === 'Identifier';
    const add = (name: string, moduleObject: boolean, importedName: string | undefined): void => {
      bindings.set(name, {
        kind: 'variable',
        name,
        declaration,
        declarator,
        statement,
        simple,
        moduleObject,
        importedName,
        source,
      });
    };
    if (declarator.id.type === 'ObjectPattern' && source !== undefined) {
      for (const property of declarator.id.properties) {
        if (property.type === 'RestElement') {
          for (const id of patternNames(property.argument)) add(id.name, false, undefined);
          continue;
        }
        const imported = keyName(property);
        const value = property.value.type === 'AssignmentPattern' ? property.value.left : property.value;
        if (value.type === 'Identifier') add(value.name, false, imported);
        else for (const id of patternNames(value)) add(id.name, false, undefined);
      }
      continue;
    }
    for (const id of patternNames(declarator.id)) add(id.name, simple && source !== undefined, undefined);
  }
}

export function scanModule(source: string, format: Format): ModuleScan {
  const program = parseModule(source, format);
  const bindings = new Map<string, Binding>();
  const localExports: ModuleScan['localExports'] = new Map();
  const reExports = new Map<string, ReExport>();
  const starSources: string[] = [];
  const declaredExports = new Set<string>();

  const declare = (node: AnyNode, statement: AnyNode): void => {
    if (node.type === 'FunctionDeclaration' && node.id) bindings.set(node.id.name, { kind: 'function', name: node.id.name, node });
    else if (node.type === 'ClassDeclaration' && node.id) bindings.set(node.id.name, { kind: 'class', name: node.id.name, node, statement });
    else if (node.type === 'VariableDeclaration') addVariable(bindings, node, statement);
  };

  for (const statement of program.body) {
    switch (statement.type) {
      case 'ImportDeclaration':
        for (const s of statement.specifiers) {
          const importedName =
            s.type === 'ImportNamespaceSpecifier' ? '*' : s.type === 'ImportDefaultSpecifier' ? 'default' : s.imported.name ?? s.imported.value;
          bindings.set(s.local.name, { kind: 'import', name: s.local.name, importedName, source: statement.source.value, node: s, declaration: statement });
        }
        break;
      case 'ExportNamedDeclaration':
        if (statement.declaration) {
          declare(statement.declaration, statement);
          const d = statement.declaration;
          if (d.id) declaredExports.add(d.id.name);
          else for (const decl of d.declarations ?? []) for (const id of patternNames(decl.id)) declaredExports.add(id.name);
        }
        for (const s of statement.specifiers ?? []) {
          const exported = s.exported.name ?? s.exported.value;
          const local = s.local.name ?? s.local.value;
          if (statement.source) reExports.set(exported, { exported, local, source: statement.source.value, specifier: s, declaration: statement });
          else localExports.set(exported, { local, specifier: s, declaration: statement });
        }
        break;
      case 'ExportDefaultDeclaration':
        declaredExports.add('default');
        if (statement.declaration.id) declare(statement.declaration, statement);
        break;
      case 'ExportAllDeclaration':
        if (statement.exported) {
          const exported = statement.exported.name ?? statement.exported.value;
          reExports.set(exported, { exported, local: '*', source: statement.source.value, specifier: statement, declaration: statement });
        } else starSources.push(statement.source.value);
        break;
      default:
        declare(statement, statement);
    }
  }
  // Hoisted `var`s and sloppy-mode block functions inside top-level blocks are top-level too.
  for (const statement of program.body) {
    if (statement.type !== 'VariableDeclaration' && !statement.type.endsWith('Declaration')) {
      for (const id of hoistedNames(statement, [], format === 'commonjs')) if (!bindings.has(id.name)) addHoisted(bindings, id, statement);
    }
  }

  let prologueAt = 0;
  for (const statement of program.body) {
    if (statement.type === 'ExpressionStatement' && typeof statement.directive === 'string') prologueAt = statement.end;
    else break;
  }
  if (prologueAt === 0 && source.startsWith('#!')) {
    const eol = source.indexOf('\n');
    prologueAt = eol === -1 ? source.length : eol + 1;
  }
  return { format, program, bindings, localExports, reExports, starSources, declaredExports, prologueAt };
}

function addHoisted(bindings: Map<string, Binding>, id: AnyNode, statement: AnyNode): void {
  bindings.set(id.name, {
    kind: 'variable',
    name: id.name,
    declaration: statement,
    declarator: statement,
    statement,
    simple: false,
    moduleObject: false,
    importedName: undefined,
    source: undefined,
  });
}

/** `var` names (and block-level function declarations) in a statement, outside nested functions. */
export function hoistedNames(node: AnyNode, out: AnyNode[] = [], blockFunctions = true): AnyNode[] {
  if (!node || typeof node !== 'object') return out;
  switch (node.type) {
    case 'FunctionDeclaration':
      if (node.id && blockFunctions) out.push(node.id);
      return out;
    case 'FunctionExpression':
    case 'ArrowFunctionExpression':
    case 'ClassDeclaration':
    case 'ClassExpression':
      return out;
    case 'VariableDeclaration':
      if (node.kind === 'var') for (const d of node.declarations) patternNames(d.id, out);
      return out;
  }
  for (const key of Object.keys(node)) {
    const child = node[key];
    if (Array.isArray(child)) {
      for (const c of child) if (c && typeof c.type === 'string' && isStatementLike(c)) hoistedNames(c, out, blockFunctions);
    } else if (child && typeof child.type === 'string' && isStatementLike(child)) hoistedNames(child, out, blockFunctions);
  }
  return out;
}

function isStatementLike(node: AnyNode): boolean {
  return node.type.endsWith('Statement') || node.type === 'VariableDeclaration' || node.type === 'FunctionDeclaration' || node.type === 'SwitchCase' || node.type === 'CatchClause';
}
