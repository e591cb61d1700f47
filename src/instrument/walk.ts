/**
 * Finds where a module uses chosen top-level names: every reference to a tracked name
 * (or `X.name` on a tracked module object) that resolves to the top-level binding,
 * skipping nested scopes that shadow it, with the role the reference plays there.
 */
import { hoistedNames, patternNames, type AnyNode, type Format } from './scan.js';

/** call: the callee of a call; value: read and passed on; shorthand: `{ f }`; skip: compared, typeof'd, constructed... */
export type Role = 'call' | 'value' | 'shorthand' | 'skip';

export interface Reference {
  readonly node: AnyNode;
  readonly parent: AnyNode;
  readonly role: Role;
  /** The tracked top-level name. */
  readonly name: string;
  /** For `X.p` on a tracked module object: p. */
  readonly property: string | undefined;
}

export interface Assignment {
  /** The AssignmentExpression whose left side is a tracked top-level name. */
  readonly node: AnyNode;
  readonly name: string;
}

export interface WalkResult {
  readonly references: Reference[];
  readonly assignments: Assignment[];
}

const COMPARISON = new Set(['==', '!=', '===', '!==', 'instanceof', 'in']);
const FUNCTION_METHODS = new Set(['call', 'apply', 'bind']);
const ASSIGNING = new Set(['=', '||=', '&&=', '??=']);

function roleOf(node: AnyNode, parent: AnyNode): Role {
  switch (parent.type) {
    case 'CallExpression':
      return parent.callee === node ? 'call' : 'value';
    case 'TaggedTemplateExpression':
      return parent.tag === node ? (node.type === 'Identifier' ? 'call' : 'skip') : 'value';
    case 'NewExpression':
      return parent.callee === node ? 'skip' : 'value';
    case 'MemberExpression':
      if (parent.object !== node) return 'value';
      return !parent.computed && FUNCTION_METHODS.has(parent.property.name) ? 'value' : 'skip';
    case 'UnaryExpression':
      return 'skip';
    case 'BinaryExpression':
      return COMPARISON.has(parent.operator) ? 'skip' : 'value';
    case 'Property':
      return parent.shorthand && parent.value === node ? 'shorthand' : 'value';
    default:
      return 'value';
  }
}

function memberName(node: AnyNode): string | undefined {
  if (!node.computed) return node.property.type === 'Identifier' ? node.property.name : undefined;
  return node.property.type === 'Literal' && typeof node.property.value === 'string' ? node.property.value : undefined;
}

/** Lexical names declared directly in a list of statements (let, const, class, function). */
function lexicalNames(statements: AnyNode[], out: string[] = []): string[] {
  for (const s of statements) {
    const d = s.type === 'ExportNamedDeclaration' || s.type === 'ExportDefaultDeclaration' ? s.declaration : s;
    if (!d) continue;
    if ((d.type === 'FunctionDeclaration' || d.type === 'ClassDeclaration') && d.id) out.push(d.id.name);
    else if (d.type === 'VariableDeclaration' && d.kind !== 'var') for (const x of d.declarations) for (const id of patternNames(x.id)) out.push(id.name);
  }
  return out;
}

/**
 * Walks the program. `names` are tracked top-level names (references reported);
 * `objects` maps tracked module-object names to the properties whose uses are reported.
 */
export function walkReferences(program: AnyNode, format: Format, names: ReadonlySet<string>, objects: ReadonlyMap<string, ReadonlySet<string>>): WalkResult {
  const references: Reference[] = [];
  const assignments: Assignment[] = [];
  const tracked = (name: string): boolean => names.has(name) || objects.has(name);

  function shadow(shadowed: ReadonlySet<string>, declared: Iterable<string>): ReadonlySet<string> {
    let next: Set<string> | undefined;
    for (const name of declared) {
      if (tracked(name) && !shadowed.has(name)) (next ??= new Set(shadowed)).add(name);
    }
    return next ?? shadowed;
  }

  function pattern(node: AnyNode | null, mode: 'bind' | 'assign', shadowed: ReadonlySet<string>, owner: AnyNode): void {
    if (!node) return;
    switch (node.type) {
      case 'Identifier':
        return;
      case 'MemberExpression':
        // a write to X.p: the object is read, the member itself is not a use of the function
        walk(node.object, node, shadowed, true);
        if (node.computed) walk(node.property, node, shadowed);
        return;
      case 'ObjectPattern':
        for (const p of node.properties) {
          if (p.type === 'RestElement') pattern(p.argument, mode, shadowed, owner);
          else {
            if (p.computed) walk(p.key, p, shadowed);
            pattern(p.value, mode, shadowed, owner);
          }
        }
        return;
      case 'ArrayPattern':
        for (const e of node.elements) pattern(e, mode, shadowed, owner);
        return;
      case 'RestElement':
        return pattern(node.argument, mode, shadowed, owner);
      case 'AssignmentPattern':
        pattern(node.left, mode, shadowed, owner);
        walk(node.right, node, shadowed);
        return;
      default:
        walk(node, owner, shadowed);
    }
  }

  function fn(node: AnyNode, shadowed: ReadonlySet<string>): void {
    const declared: string[] = [];
    if (node.type === 'FunctionExpression' && node.id) declared.push(node.id.name);
    if (node.type !== 'ArrowFunctionExpression') declared.push('arguments');
    for (const p of node.params) for (const id of patternNames(p)) declared.push(id.name);
    const body = node.body;
    if (body.type === 'BlockStatement') {
      for (const s of body.body) for (const id of hoistedNames(s)) declared.push(id.name);
      lexicalNames(body.body, declared);
    }
    const inner = shadow(shadowed, declared);
    for (const p of node.params) pattern(p, 'bind', inner, node);
    if (body.type === 'BlockStatement') for (const s of body.body) walk(s, body, inner);
    else walk(body, node, inner);
  }

  function walk(node: AnyNode | null | undefined, parent: AnyNode, shadowed: ReadonlySet<string>, writeTarget = false): void {
    if (!node || typeof node.type !== 'string') return;
    switch (node.type) {
      case 'Identifier':
        if (names.has(node.name) && !shadowed.has(node.name)) {
          references.push({ node, parent, role: writeTarget ? 'skip' : roleOf(node, parent), name: node.name, property: undefined });
        }
        return;
      case 'MemberExpression': {
        const object = node.object;
        if (object.type === 'Identifier' && objects.has(object.name) && !shadowed.has(object.name)) {
          const property = memberName(node);
          if (property !== undefined && objects.get(object.name)!.has(property)) {
            references.push({ node, parent, role: writeTarget ? 'skip' : roleOf(node, parent), name: object.name, property });
          }
        }
        walk(object, node, shadowed);
        if (node.computed) walk(node.property, node, shadowed);
        return;
      }
      case 'FunctionDeclaration':
      case 'FunctionExpression':
      case 'ArrowFunctionExpression':
        return fn(node, shadowed);
      case 'ClassDeclaration':
      case 'ClassExpression': {
        walk(node.superClass, node, shadowed);
        const inner = node.type === 'ClassExpression' && node.id ? shadow(shadowed, [node.id.name]) : shadowed;
        for (const element of node.body.body) {
          if (element.computed) walk(element.key, element, inner);
          if (element.type === 'StaticBlock') block(element.body, element, inner);
          else walk(element.value, element, inner);
        }
        return;
      }
      case 'BlockStatement':
        return block(node.body, node, shadowed);
      case 'StaticBlock':
        return block(node.body, node, shadowed);
      case 'SwitchStatement': {
        walk(node.discriminant, node, shadowed);
        const inner = shadow(shadowed, lexicalNames(node.cases.flatMap((c: AnyNode) => c.consequent)));
        for (const c of node.cases) {
          walk(c.test, c, inner);
          for (const s of c.consequent) walk(s, c, inner);
        }
        return;
      }
      case 'ForStatement':
      case 'ForInStatement':
      case 'ForOfStatement': {
        const head = node.type === 'ForStatement' ? node.init : node.left;
        const lexical = head && head.type === 'VariableDeclaration' && head.kind !== 'var';
        const inner = lexical ? shadow(shadowed, head.declarations.flatMap((d: AnyNode) => patternNames(d.id).map((id) => id.name))) : shadowed;
        if (node.type === 'ForStatement') {
          walk(node.init, node, inner);
          walk(node.test, node, inner);
          walk(node.update, node, inner);
        } else {
          if (head.type === 'VariableDeclaration') walk(head, node, inner);
          else pattern(head, 'assign', inner, node);
          walk(node.right, node, inner);
        }
        walk(node.body, node, inner);
        return;
      }
      case 'CatchClause': {
        const inner = shadow(shadowed, [...patternNames(node.param).map((id) => id.name), ...lexicalNames(node.body.body)]);
        pattern(node.param, 'bind', inner, node);
        for (const s of node.body.body) walk(s, node.body, inner);
        return;
      }
      case 'WithStatement':
        // names inside `with` may resolve to the object's properties: treat them all as shadowed
        walk(node.object, node, shadowed);
        walk(node.body, node, shadow(shadowed, [...names, ...objects.keys()]));
        return;
      case 'VariableDeclaration':
        for (const d of node.declarations) {
          pattern(d.id, 'bind', shadowed, d);
          walk(d.init, d, shadowed);
        }
        return;
      case 'AssignmentExpression':
        if (node.left.type === 'Identifier') {
          if (names.has(node.left.name) && !shadowed.has(node.left.name) && ASSIGNING.has(node.operator)) {
            assignments.push({ node, name: node.left.name });
          }
        } else if (node.left.type === 'MemberExpression') {
          walk(node.left, node, shadowed, true);
        } else {
          pattern(node.left, 'assign', shadowed, node);
        }
        walk(node.right, node, shadowed);
        return;
      case 'UpdateExpression':
        walk(node.argument, node, shadowed, true);
        return;
      case 'LabeledStatement':
        walk(node.body, node, shadowed);
        return;
      case 'BreakStatement':
      case 'ContinueStatement':
      case 'ImportDeclaration':
      case 'ExportAllDeclaration':
      case 'MetaProperty':
      case 'Literal':
      case 'ThisExpression':
      case 'Super':
      case 'PrivateIdentifier':
        return;
      case 'ExportNamedDeclaration':
      case 'ExportDefaultDeclaration':
        walk(node.declaration, node, shadowed);
        return;
      case 'Property':
      case 'MethodDefinition':
      case 'PropertyDefinition':
        if (node.computed) walk(node.key, node, shadowed);
        walk(node.value, node, shadowed);
        return;
    }
    for (const key of Object.keys(node)) {
      if (key === 'type' || key === 'start' || key === 'end' || key === 'loc' || key === 'range') continue;
      const child = node[key];
      if (Array.isArray(child)) for (const c of child) walk(c, node, shadowed);
      else if (child && typeof child === 'object' && typeof child.type === 'string') walk(child, node, shadowed);
    }
  }

  function block(statements: AnyNode[], owner: AnyNode, shadowed: ReadonlySet<string>): void {
    const inner = shadow(shadowed, lexicalNames(statements));
    for (const s of statements) walk(s, owner, inner);
  }

  for (const statement of program.body) walk(statement, program, new Set());
  void format;
  return { references, assignments };
}
