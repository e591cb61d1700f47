// TypeScript targets and phases (.ts, .mts, .cts), in an unedited TypeScript program run
// by Node's own type stripping and by tsx, before or after the agent. One child per way of
// running covers: phases and targets in .ts, .mts (ES module) and .cts (CommonJS, both
// required and imported), .ts phases with a .js target and the reverse, type-only imports,
// tsx-only syntax (enum, namespace, parameter properties) and stack trace line numbers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { agentFixture, debugLines, loaderUrl, nodeVersion, output, runNode } from './helpers/run-node.mjs';
import { planModule } from '../dist/instrument/module-plan.js';
import { Site } from '../dist/sites/site.js';

const train = agentFixture('typescript', 'train.ts');
const [major, minor] = nodeVersion;
const at = (a, b) => major > a || (major === a && minor >= b);
// Type stripping: added in v22.6.0 (--experimental-strip-types), on by default from v22.18.0 and v23.6.0.
const strips = at(22, 6);
const stripsByDefault = (major === 22 && at(22, 18)) || at(23, 6);

const fn = (funcPath) => ({ type: 'FunctionOutputs', funcPath });
const deliveries = {
  mixup: fn('./augment.ts#mixup'),
  label: fn('./augment.ts#label'),
  crop: fn('./crop.mts#crop'),
  jitter: fn('./legacy.cts#jitter'),
  scale: fn('./scale.cts#scale'),
  shift: fn('./shift.js#shift'),
};
const phases = { record: ['./train.ts#teacherStep', './steps.js#teacherJs'], override: ['./train.ts#studentStep', './steps.js#studentJs'] };
const tsxOnly = { tint: fn('./palette.ts#tint'), paint: { type: 'MethodOutputs', methodPath: './palette.ts#Painter.paint' } };

/**
 * Runs train.ts; asserts the student got every output the teacher recorded, each original
 * ran once, stack lines are as written, and each ES module target was instrumented once.
 */
async function aligned(options, { palette, tsx }) {
  const { code, stdout, stderr } = await runNode(train, { ...options, env: { NODE_DEBUG: 'delivery' } });
  assert.equal(code, 0, stderr);
  // Node >= 22.18 strips types without a warning; earlier it warns that type stripping is experimental.
  const said = stderr.split('\n').filter((l) => l !== '' && !/^DELIVERY \d+:/.test(l) && !/ExperimentalWarning: Type Stripping|--trace-warnings/.test(l));
  assert.deepEqual(said, []);
  const out = output(stdout);
  const names = Object.keys(deliveries).concat(palette ? Object.keys(tsxOnly) : []);
  assert.deepEqual(Object.keys(out.teacher).sort(), [...names].sort());
  assert.deepEqual(out.student, out.teacher);
  assert.deepEqual(out.js.student, out.js.teacher);
  // Every delivered original ran in the teacher only (mixup in both teacher steps).
  assert.deepEqual(out.calls, Object.fromEntries(names.map((n) => [n, n === 'mixup' ? 2 : 1])));
  // Line numbers in stack traces of instrumented TypeScript are the lines as written.
  assert.deepEqual(Object.keys(out.stack).sort(), palette ? ['augment', 'palette'] : ['augment']);
  for (const [file, [traced, written]] of Object.entries(out.stack)) assert.equal(traced, written, `${file}.ts`);
  // Only the agent's latest hook instruments, once per ES module; under type stripping, as planned at start-up.
  const log = debugLines(stderr);
  for (const file of ['train.ts', 'augment.ts', 'crop.mts', ...(palette ? ['palette.ts'] : [])]) {
    const url = pathToFileURL(agentFixture('typescript', file)).href;
    assert.equal(log.filter((l) => l.startsWith(`instrument ${url} (module`)).length, 1, file);
  }
  if (!tsx) assert.deepEqual(log.filter((l) => l.startsWith('re-instrument')), []);
}

test('under Node type stripping, .ts, .mts and .cts phases and targets (and .js with them) deliver, with stack lines as written', { skip: !strips && 'Node < 22.6 has no type stripping' }, async () => {
  const nodeArgs = stripsByDefault ? [] : ['--experimental-strip-types'];
  await aligned({ config: { deliveries, phases }, nodeArgs }, { palette: false, tsx: false });
});

test('under tsx imported before the agent, TypeScript phases and targets deliver, tsx-only syntax included, with stack lines as written', async () => {
  await aligned({ config: { deliveries: { ...deliveries, ...tsxOnly }, phases }, agent: false, nodeArgs: ['--import', 'tsx', '--import', loaderUrl], args: ['tsx-only'] }, { palette: true, tsx: true });
});

test('under tsx imported after the agent, TypeScript phases and targets deliver, tsx-only syntax included, with stack lines as written', async () => {
  await aligned({ config: { deliveries: { ...deliveries, ...tsxOnly }, phases }, nodeArgs: ['--import', 'tsx'], args: ['tsx-only'] }, { palette: true, tsx: true });
});

test('a missing target in a .ts module stops the process before the app runs, listing the names the module has', async () => {
  const { code, stdout, stderr } = await runNode(train, { config: { deliveries: { m: fn('./augment.ts#mixupp') } } });
  assert.equal(stdout, '', 'the app must not have started');
  assert.equal(code, 1);
  assert.match(stderr, /DeliveryError \[ERR_DELIVERY_TARGET_NOT_FOUND\]: DISTILL_DELIVERY deliveries\["m"\]: "\.\/augment\.ts#mixupp"/);
  // The names the TypeScript module has at run time: its functions and imports, not its types; the closest first.
  assert.match(stderr, /\(did you mean "mixup"\?\), which has mixup, draw, label, fail \(closest first\)\./);
});

// Planning a TypeScript module at start-up, in process: what may be called unparsable.
function plan(t, name, text) {
  const dir = mkdtempSync(join(tmpdir(), 'distill-delivery-ts-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, name);
  writeFileSync(join(dir, 'package.json'), '{}');
  writeFileSync(file, text);
  const target = { members: ['f'], label: `./${name}#f`, phase: false, key: 'DISTILL_DELIVERY deliveries["f"]', role: 'delivery', kind: 'function', site: new Site(`./${name}#f`) };
  return () => planModule(pathToFileURL(file).href, file, [target]).plan;
}

test('a .ts module that is not valid TypeScript is refused as not parsing as TypeScript', (t) => {
  assert.throws(plan(t, 'bad.ts', 'export function f(x: number {\n'), (error) => {
    assert.equal(error.code, 'ERR_DELIVERY_NOT_INSTRUMENTED');
    assert.match(error.message, /bad\.ts as loaded does not parse as TypeScript/);
    return true;
  });
});

test('valid TypeScript whose JavaScript the parser cannot read (decorators) is refused without being called unparsable', (t) => {
  assert.throws(plan(t, 'decorated.ts', 'function dec(t: any) { return t; }\nexport class A {\n  @dec m() {}\n}\nexport function f() {}\n'), (error) => {
    assert.equal(error.code, 'ERR_DELIVERY_NOT_INSTRUMENTED');
    assert.doesNotMatch(error.message, /does not parse/);
    assert.match(error.message, /is TypeScript, but its JavaScript \(types stripped\) uses syntax the agent cannot read/);
    return true;
  });
});

test('a .ts module keeps every position when stripped, and one with an enum is planned from its transformed JavaScript', (t) => {
  const stripped = plan(t, 'typed.ts', 'export function f(x: number): number {\n  return x;\n}\n')();
  assert.equal(stripped.aligned, true);
  assert.equal(stripped.format, 'module'); // no "type": ES module syntax decides, as Node does
  assert.equal(stripped.code.split('\n')[0].indexOf('return'), -1);
  const transformed = plan(t, 'enum.ts', 'export enum E { A }\nexport function f(): E {\n  return E.A;\n}\n')();
  assert.equal(transformed.aligned, false);
  assert.match(transformed.code, /sourceMappingURL=data:application\/json;base64,/);
});

test('an inline source map is carried through the rewrite, each generated column moved with its character', async () => {
  const { SourceMap } = await import('node:module');
  const { instrumentSource } = await import('../dist/instrument/source.js');
  const { carrySourceMap } = await import('../dist/instrument/source-map.js');
  // Minified the way tsx emits it: one line, mapped to four lines of a .ts file.
  const code = 'function a(){return 1}function b(){return a()}';
  const map = { version: 3, sources: ['x.ts'], names: [], mappings: 'AAAA,sBAGA' }; // col 0 -> line 0; col 22 -> line 3
  const source = `${code}\n//# sourceMappingURL=data:application/json;base64,${Buffer.from(JSON.stringify(map)).toString('base64')}\n`;
  const target = { members: ['a'], label: './x.ts#a', phase: false };
  const { code: rewritten, moved } = instrumentSource(source, 'module', 'file:///x.js', [target]);
  const carried = carrySourceMap(source, rewritten, moved);
  const payload = (text) => JSON.parse(Buffer.from(/base64,([A-Za-z0-9+/=]+)/.exec(text)[1], 'base64').toString());
  const b = carried.indexOf('function b');
  assert.ok(b > 22, 'the rewrite inserted text before function b');
  assert.equal(new SourceMap(payload(source)).findEntry(0, 22).originalLine, 3);
  assert.equal(new SourceMap(payload(carried)).findEntry(0, b).originalLine, 3);
  assert.equal(new SourceMap(payload(carried)).findEntry(0, b - 1).originalLine, 0);
});
