// The seed's anchor_head caveat, end to end: a defining module (utils.js), the head
// that imports anchorInsideFlags from it, another importer, and the entry. Which calls
// are delivered depends only on which module the target names ("where used").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agentFixture, output, runNode } from './helpers/run-node.mjs';

const phases = { record: ['./main.js#teacherStep'], override: ['./main.js#studentStep'] };
const teacher = { head: 'teacher:1', other: 'teacher:2', self: 'teacher:3', main: 'teacher:4' };

function config(target, maxKeepData = 1) {
  return { deliveries: { anchor: { type: 'FunctionOutputs', funcPath: target, maxKeepData } }, phases };
}

for (const [format, dir, entryTarget] of [
  ['ES module', 'anchor-head-esm', './main.js#anchorInsideFlags'],
  ['CommonJS', 'anchor-head-cjs', './main.js#utils.anchorInsideFlags'],
]) {
  const main = agentFixture(dir, 'main.js');

  test(`${format}: without the agent the teacher and the student draw different results`, async () => {
    const { code, stdout, stderr } = await runNode(main, { agent: false });
    assert.equal(stderr, '');
    assert.equal(code, 0);
    assert.deepEqual(output(stdout), {
      teacher,
      student: { head: 'student:5', other: 'student:6', self: 'student:7', main: 'student:8' },
      calls: 8,
    });
  });

  test(`${format}: targeting the head delivers only the head's calls`, async () => {
    const { code, stdout, stderr } = await runNode(main, { config: config('./head.js#anchorInsideFlags') });
    assert.equal(stderr, '');
    assert.equal(code, 0);
    assert.deepEqual(output(stdout), {
      teacher,
      student: { head: 'teacher:1', other: 'student:5', self: 'student:6', main: 'student:7' },
      calls: 7,
    });
  });

  test(`${format}: targeting another importer leaves the head's calls alone`, async () => {
    const { code, stdout, stderr } = await runNode(main, { config: config('./other.js#anchorInsideFlags') });
    assert.equal(stderr, '');
    assert.equal(code, 0);
    assert.deepEqual(output(stdout), {
      teacher,
      student: { head: 'student:5', other: 'teacher:2', self: 'student:6', main: 'student:7' },
      calls: 7,
    });
  });

  test(`${format}: targeting the defining module delivers its own calls and every importer's that goes through its export`, async () => {
    const { code, stdout, stderr } = await runNode(main, { config: config('./utils.js#anchorInsideFlags', 4) });
    assert.equal(stderr, '');
    assert.equal(code, 0);
    assert.deepEqual(output(stdout), { teacher, student: teacher, calls: 4 });
  });

  test(`${format}: targeting the entry delivers only the entry's own calls`, async () => {
    const { code, stdout, stderr } = await runNode(main, { config: config(entryTarget) });
    assert.equal(stderr, '');
    assert.equal(code, 0);
    assert.deepEqual(output(stdout), {
      teacher,
      student: { head: 'student:5', other: 'student:6', self: 'student:7', main: 'teacher:4' },
      calls: 7,
    });
  });
}
