// Hostile DISTILL_DELIVERY values, in a real `node --import` child: the agent either
// refuses the config before the app starts (exit code 1, one `DeliveryError [ERR_...]`
// line, no crash stack) or runs the app, and nothing in the config is evaluated or leaks:
// no polluted prototype, no global set by code hidden in a string, no exit it asked for.
// The parsers themselves are fuzzed in process by test/fuzz-config.test.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agentFixture, output, runNode } from './helpers/run-node.mjs';

const app = agentFixture('hostile', 'app.js');
const TIMEOUT = 30_000;
const phases = { record: ['./app.js#teacherStep'], override: ['./app.js#studentStep'] };
const withTarget = (funcPath, extra = {}) => JSON.stringify({ deliveries: { x: { type: 'FunctionOutputs', funcPath, ...extra } }, phases });

/** What the child did: refused (with its error code) or ran (with what the app saw). */
async function outcome(config) {
  const { code, signal, stdout, stderr } = await runNode(app, { config, timeout: 20_000 });
  assert.equal(signal, null, 'the child was not killed (no hang)');
  assert.doesNotMatch(stderr, /\b(TypeError|RangeError|ReferenceError|SyntaxError)\b/);
  assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
  if (code === 0) {
    const seen = output(stdout);
    assert.deepEqual({ polluted: seen.polluted, hacked: seen.hacked, objectKeys: seen.objectKeys }, { polluted: null, hacked: null, objectKeys: 12 });
    return { ran: seen.delivered };
  }
  assert.equal(code, 1);
  assert.equal(stdout, '', 'the app did not start');
  assert.match(stderr, /^distill-delivery: stopped before the app started\.\n/);
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 2, stderr);
  return { refused: /^DeliveryError \[(ERR_DELIVERY_[A-Z_]+)\]: /.exec(lines[1])?.[1] };
}

const refused = [
  ['a top-level __proto__ key', '{"__proto__": {"polluted": true}}', 'ERR_DELIVERY_INVALID_CONFIG'],
  ['a __proto__ key inside a delivery spec', '{"deliveries": {"x": {"type": "FunctionOutputs", "funcPath": "./lib.js#f", "__proto__": {"polluted": true}}}}', 'ERR_DELIVERY_INVALID_CONFIG'],
  ['a __proto__ key inside phases', '{"phases": {"__proto__": {"polluted": true}}}', 'ERR_DELIVERY_INVALID_CONFIG'],
  ['a type named after an Object.prototype member', '{"deliveries": {"x": {"type": "constructor", "funcPath": "./lib.js#f"}}}', 'ERR_DELIVERY_INVALID_CONFIG'],
  ['a data: URL module holding code', withTarget('data:text/javascript,globalThis.hacked=1;process.exit(7)#f'), 'ERR_DELIVERY_MODULE_NOT_FOUND'],
  ['a path with code after the name', withTarget('./lib.js#f;process.exit(7)'), 'ERR_DELIVERY_TARGET_NOT_FOUND'],
  ['a path that closes a block and opens another', withTarget('./lib.js#f}process.exit(7);{'), 'ERR_DELIVERY_TARGET_NOT_FOUND'],
  ['a path that ends in a comment', withTarget('./lib.js#f)&&process.exit(7)//'), 'ERR_DELIVERY_TARGET_NOT_FOUND'],
  ['a path naming an Object.prototype member', withTarget('./lib.js#__defineGetter__'), 'ERR_DELIVERY_TARGET_NOT_FOUND'],
  ['a path segment __proto__', JSON.stringify({ instrument: ['./app.js#__proto__'] }), 'ERR_DELIVERY_INVALID_PATH'],
  ['a module specifier holding a NUL character', '{"deliveries": {"x": {"type": "FunctionOutputs", "funcPath": "./lib.js\\u0000#f"}}}', 'ERR_DELIVERY_MODULE_NOT_FOUND'],
  ['a maxKeepData of 1e308', withTarget('./lib.js#f', { maxKeepData: 1e308 }), 'ERR_DELIVERY_INVALID_OPTION'],
  ['a base that is a file: URL with a host', withTarget('./lib.js#f', { base: 'file://host/share' }), 'ERR_DELIVERY_INVALID_OPTION'],
  ['a delivery name of 100,000 characters', `{"deliveries": {"${'x'.repeat(100_000)}": {}}}`, 'ERR_DELIVERY_INVALID_CONFIG'],
  ['arrays nested 30,000 deep', '['.repeat(30_000) + ']'.repeat(30_000), 'ERR_DELIVERY_INVALID_CONFIG'],
  ['a config file name of 100,000 characters', 'x'.repeat(100_000), 'ERR_DELIVERY_INVALID_CONFIG'],
  ['a config file that is a device that never ends (/dev/zero)', '/dev/zero', 'ERR_DELIVERY_INVALID_CONFIG'],
  ['a config file that is a device (/dev/null)', '/dev/null', 'ERR_DELIVERY_INVALID_CONFIG'],
  ['JavaScript instead of JSON', '{deliveries: (globalThis.hacked = 1, {})}', 'ERR_DELIVERY_INVALID_CONFIG'],
];
for (const [what, config, code] of refused) {
  test(`a config with ${what} is refused with ${code} before the app starts`, { timeout: TIMEOUT }, async () => {
    assert.deepEqual(await outcome(config), { refused: code });
  });
}

const accepted = [
  ['a delivery named __proto__', '{"deliveries": {"__proto__": {"type": "FunctionOutputs", "funcPath": "./lib.js#f"}}, "phases": {"record": ["./app.js#teacherStep"], "override": ["./app.js#studentStep"]}}', [true, false]],
  ['a delivery in a list whose name is __proto__', JSON.stringify({ deliveries: [{ type: 'FunctionOutputs', funcPath: './lib.js#f', name: '__proto__' }], phases }), [true, false]],
  ['a bare spec object named __proto__ (the seed\'s form)', '{"__proto__": {"type": "FunctionOutputs", "funcPath": "./lib.js#f"}}', [false, false]],
  ['a target module whose file name is not ASCII', withTarget('./ünï-😀.js#f'), [false, true]],
  ['a path padded with Unicode line separators', '{"deliveries": {"x": {"type": "FunctionOutputs", "funcPath": "./lib.js#\\u2028f\\u2029"}}, "phases": {"record": ["./app.js#teacherStep"], "override": ["./app.js#studentStep"]}}', [true, false]],
];
for (const [what, config, delivered] of accepted) {
  test(`a config with ${what} runs the app, and nothing leaks into it`, { timeout: TIMEOUT }, async () => {
    assert.deepEqual(await outcome(config), { ran: delivered });
  });
}
