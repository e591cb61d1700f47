/**
 * Finds where a module uses chosen top-level names: every reference to a tracked name
 * (or `X.name` on a tracked module object) that resolves to the top-level binding,
 * skipping nested scopes that shadow it, with the role the reference plays there.
 *
 * Written as acorn-walk's base visitors are: one switch over node types, each case a
 * named method that visits the node's children in the scope they see; node types with
 * nothing special are walked child by child.
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
  /** The AssignmentExpression whose left side is a tracked top-level name, or a `var` declarator of one in a block. */
  readonly node: AnyNode;
  readonly name: string;
  /** The value written. */
  readonly value: AnyNode;
}

export interface WalkResult {
  readonly references: Reference[];
  readonly assignments: Assignment[];
}

/** The tracked names a nested scope declares again: references to them there are not to the top-level binding. */
type Shadowed = ReadonlySet<string>;

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

/** The names a function's own scope declares: its name (expressions), `arguments`, parameters, body declarations. */
function functionScopeNames(node: AnyNode): string[] {
  const declared: string[] = [];
  if (node.type === 'FunctionExpression' && node.id) declared.push(node.id.name);
  if (node.type !== 'ArrowFunctionExpression') declared.push('arguments');
  for (const p of node.params) for (const id of patternNames(p)) declared.push(id.name);
  if (node.body.type === 'BlockStatement') {
    for (const s of node.body.body) for (const id of hoistedNames(s)) declared.push(id.name);
    lexicalNames(node.body.body, declared);
  }
  return declared;
}

class ReferenceWalker {
  readonly references: Reference[] = [];
  readonly assignments: Assignment[] = [];

  constructor(
    /** Tracked top-level names: their references are reported. */
    private readonly names: ReadonlySet<string>,
    /** Tracked module-object names, with the properties whose uses are reported. */
    private readonly objects: ReadonlyMap<string, ReadonlySet<string>>,
  ) {}

  /** `writeTarget`: the node is written (`X.p = v`, `f++`), so it is no use of the function. */
  walk(node: AnyNode | null | undefined, parent: AnyNode, shadowed: Shadowed, writeTarget = false): void {
    if (!node || typeof node.type !== 'string') return;
    switch (node.type) {
      case 'Identifier':
        return this.identifier(node, parent, shadowed, writeTarget);
      case 'MemberExpression':
        return this.member(node, parent, shadowed, writeTarget);
      case 'FunctionDeclaration':
      case 'FunctionExpression':
      case 'ArrowFunctionExpression':
        return this.fn(node, shadowed);
      case 'ClassDeclaration':
      case 'ClassExpression':
        return this.cls(node, shadowed);
      case 'BlockStatement':
      case 'StaticBlock':
        return this.block(node.body, node, shadowed);
      case 'SwitchStatement':
        return this.switchStatement(node, shadowed);
      case 'ForStatement':
      case 'ForInStatement':
      case 'ForOfStatement':
        return this.forStatement(node, shadowed);
      case 'CatchClause':
        return this.catchClause(node, shadowed);
      case 'WithStatement':
        return this.withStatement(node, shadowed);
      case 'VariableDeclaration':
        return this.variableDeclaration(node, shadowed);
      case 'AssignmentExpression':
        return this.assignment(node, shadowed);
      case 'UpdateExpression':
        return this.walk(node.argument, node, shadowed, true);
      case 'LabeledStatement':
        return this.walk(node.body, node, shadowed);
      case 'ExportNamedDeclaration':
      case 'ExportDefaultDeclaration':
        return this.walk(node.declaration, node, shadowed);
      case 'Property':
      case 'MethodDefinition':
      case 'PropertyDefinition':
        return this.property(node, shadowed);
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
      default:
        return this.children(node, shadowed);
    }
  }

  /** A node with nothing special: each child, in the same scope. */
  private children(node: AnyNode, shadowed: Shadowed): void {
    for (const key of Object.keys(node)) {
      if (key === 'type' || key === 'start' || key === 'end' || key === 'loc' || key === 'range') continue;
      const child = node[key];
      if (Array.isArray(child)) for (const c of child) this.walk(c, node, shadowed);
      else if (child && typeof child === 'object' && typeof child.type === 'string') this.walk(child, node, shadowed);
    }
  }

  private identifier(node: AnyNode, parent: AnyNode, shadowed: Shadowed, writeTarget: boolean): void {
    if (this.names.has(node.name) && !shadowed.has(node.name)) {
      this.references.push({ node, parent, role: writeTarget ? 'skip' : roleOf(node, parent), name: node.name, property: undefined });
    }
  }

  /** `X.p`: a use of a tracked member when X is a tracked module object; X (and a computed p) are walked too. */
  private member(node: AnyNode, parent: AnyNode, shadowed: Shadowed, writeTarget: boolean): void {
    const object = node.object;
    if (object.type === 'Identifier' && this.objects.has(object.name) && !shadowed.has(object.name)) {
      const property = memberName(node);
      if (property !== undefined && this.objects.get(object.name)!.has(property)) {
        this.references.push({ node, parent, role: writeTarget ? 'skip' : roleOf(node, parent), name: object.name, property });
      }
    }
    this.walk(object, node, shadowed);
    if (node.computed) this.walk(node.property, node, shadowed);
  }

  private fn(node: AnyNode, shadowed: Shadowed): void {
    const inner = this.shadow(shadowed, functionScopeNames(node));
    for (const p of node.params) this.pattern(p, inner, node);
    const body = node.body;
    if (body.type === 'BlockStatement') for (const s of body.body) this.walk(s, body, inner);
    else this.walk(body, node, inner);
  }

  /** The superclass is outside the class scope; a class expression's own name is inside it. */
  private cls(node: AnyNode, shadowed: Shadowed): void {
    this.walk(node.superClass, node, shadowed);
    const inner = node.type === 'ClassExpression' && node.id ? this.shadow(shadowed, [node.id.name]) : shadowed;
    for (const element of node.body.body) {
      if (element.computed) this.walk(element.key, element, inner);
      if (element.type === 'StaticBlock') this.block(element.body, element, inner);
      else this.walk(element.value, element, inner);
    }
  }

  private block(statements: AnyNode[], owner: AnyNode, shadowed: Shadowed): void {
    const inner = this.shadow(shadowed, lexicalNames(statements));
    for (const s of statements) this.walk(s, owner, inner);
  }

  /** Every case of a switch shares one block scope. */
  private switchStatement(node: AnyNode, shadowed: Shadowed): void {
    this.walk(node.discriminant, node, shadowed);
    const inner = this.shadow(shadowed, lexicalNames(node.cases.flatMap((c: AnyNode) => c.consequent)));
    for (const c of node.cases) {
      this.walk(c.test, c, inner);
      for (const s of c.consequent) this.walk(s, c, inner);
    }
  }

  /** A `let`/`const` head scopes the whole loop; a head without a declaration is written to. */
  private forStatement(node: AnyNode, shadowed: Shadowed): void {
    const head = node.type === 'ForStatement' ? node.init : node.left;
    const lexical = head && head.type === 'VariableDeclaration' && head.kind !== 'var';
    const inner = lexical ? this.shadow(shadowed, head.declarations.flatMap((d: AnyNode) => patternNames(d.id).map((id) => id.name))) : shadowed;
    if (node.type === 'ForStatement') {
      this.walk(node.init, node, inner);
      this.walk(node.test, node, inner);
      this.walk(node.update, node, inner);
    } else {
      if (head.type === 'VariableDeclaration') this.walk(head, node, inner);
      else this.pattern(head, inner, node);
      this.walk(node.right, node, inner);
    }
    this.walk(node.body, node, inner);
  }

  private catchClause(node: AnyNode, shadowed: Shadowed): void {
    const inner = this.shadow(shadowed, [...patternNames(node.param).map((id) => id.name), ...lexicalNames(node.body.body)]);
    this.pattern(node.param, inner, node);
    for (const s of node.body.body) this.walk(s, node.body, inner);
  }

  /** Names inside `with` may resolve to the object's properties: all of them count as shadowed there. */
  private withStatement(node: AnyNode, shadowed: Shadowed): void {
    this.walk(node.object, node, shadowed);
    this.walk(node.body, node, this.shadow(shadowed, [...this.names, ...this.objects.keys()]));
  }

  /** A `var` declarator that gives a tracked top-level name a value writes it (one in a block or a loop head is still top-level). */
  private variableDeclaration(node: AnyNode, shadowed: Shadowed): void {
    for (const d of node.declarations) {
      if (node.kind === 'var' && d.init && d.id.type === 'Identifier' && this.names.has(d.id.name) && !shadowed.has(d.id.name)) {
        this.assignments.push({ node: d, name: d.id.name, value: d.init });
      }
      this.pattern(d.id, shadowed, d);
      this.walk(d.init, d, shadowed);
    }
  }

  /** `f = v` to a tracked top-level name is reported; `X.p = v` writes X's member; patterns are walked for their defaults. */
  private assignment(node: AnyNode, shadowed: Shadowed): void {
    const left = node.left;
    if (left.type === 'Identifier') {
      if (this.names.has(left.name) && !shadowed.has(left.name) && ASSIGNING.has(node.operator)) {
        this.assignments.push({ node, name: left.name, value: node.right });
      }
    } else if (left.type === 'MemberExpression') {
      this.walk(left, node, shadowed, true);
    } else {
      this.pattern(left, shadowed, node);
    }
    this.walk(node.right, node, shadowed);
  }

  private property(node: AnyNode, shadowed: Shadowed): void {
    if (node.computed) this.walk(node.key, node, shadowed);
    this.walk(node.value, node, shadowed);
  }

  /** A binding or assignment pattern: its names are declared or written, not used; its defaults and computed keys are uses. */
  private pattern(node: AnyNode | null, shadowed: Shadowed, owner: AnyNode): void {
    if (!node) return;
    switch (node.type) {
      case 'Identifier':
        return;
      case 'MemberExpression':
        // a write to X.p: the object is read, the member itself is not a use of the function
        this.walk(node.object, node, shadowed, true);
        if (node.computed) this.walk(node.property, node, shadowed);
        return;
      case 'ObjectPattern':
        for (const p of node.properties) {
          if (p.type === 'RestElement') this.pattern(p.argument, shadowed, owner);
          else {
            if (p.computed) this.walk(p.key, p, shadowed);
            this.pattern(p.value, shadowed, owner);
          }
        }
        return;
      case 'ArrayPattern':
        for (const e of node.elements) this.pattern(e, shadowed, owner);
        return;
      case 'RestElement':
        return this.pattern(node.argument, shadowed, owner);
      case 'AssignmentPattern':
        this.pattern(node.left, shadowed, owner);
        this.walk(node.right, node, shadowed);
        return;
      default:
        this.walk(node, owner, shadowed);
    }
  }

  /** `shadowed` plus the tracked names among `declared` (the same set when there are none). */
  private shadow(shadowed: Shadowed, declared: Iterable<string>): Shadowed {
    let next: Set<string> | undefined;
    for (const name of declared) {
      if ((this.names.has(name) || this.objects.has(name)) && !shadowed.has(name)) (next ??= new Set(shadowed)).add(name);
    }
    return next ?? shadowed;
  }
}

/**
 * Walks the program. `names` are tracked top-level names (references reported);
 * `objects` maps tracked module-object names to the properties whose uses are reported.
 */
export function walkReferences(program: AnyNode, format: Format, names: ReadonlySet<string>, objects: ReadonlyMap<string, ReadonlySet<string>>): WalkResult {
  void format;
  const walker = new ReferenceWalker(names, objects);
  for (const statement of program.body) walker.walk(statement, program, new Set());
  return { references: walker.references, assignments: walker.assignments };
}
