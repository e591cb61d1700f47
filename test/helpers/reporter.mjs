// The reporter `npm test` uses (not itself a test): a dot per test, then each failure in
// full with what its file wrote to stdout and stderr, then one summary line that counts
// the skipped tests and says why each was skipped. Node's own reporters count skips
// without their reasons (spec prints them only in the stream) and print a file's output
// even when all its tests pass (the library's warnings, expected by the tests).
import { inspect } from 'node:util';
import { relative } from 'node:path';

const WIDTH = 80;
const FILTERED = 'test name does not match pattern';
const COUNTS = ['tests', 'suites', 'pass', 'fail', 'cancelled', 'skipped', 'todo', 'duration_ms'];

/** Where a test is, relative to the working directory: `test/x.test.mjs:12`. */
function where({ file, line }) {
  if (file === undefined) return '';
  return line === undefined ? relative('.', file) : `${relative('.', file)}:${line}`;
}

/** A failure's error, without the runner's wrapper around it (ERR_TEST_FAILURE with the thrown value as its cause). */
function thrown(error) {
  return error?.code === 'ERR_TEST_FAILURE' && error.cause !== undefined ? error.cause : error;
}

const reason = (test) => (test.skip === true ? 'no reason given' : test.skip);

/** `tests 650, pass 644, ..., skipped 2 (needs X: 1, needs Y: 1), 97.1 s`: the reasons in the line, most frequent first. */
function summary(counts, skipped) {
  const reasons = new Map();
  for (const test of skipped) reasons.set(reason(test), (reasons.get(reason(test)) ?? 0) + 1);
  const why = [...reasons].sort((a, b) => b[1] - a[1]).map(([text, n]) => `${text}: ${n}`).join('; ');
  const seconds = ((counts.duration_ms ?? 0) / 1000).toFixed(1);
  return `${counts.fail ? '✖' : '✔'} tests ${counts.tests}, pass ${counts.pass}, fail ${counts.fail}, cancelled ${counts.cancelled}, todo ${counts.todo}, skipped ${counts.skipped}${why ? ` (${why})` : ''}, ${seconds} s`;
}

export default async function* reporter(source) {
  const failures = [];
  const skipped = [];
  /** What each test file wrote outside its tests' reports, by file. */
  const output = new Map();
  const counts = {};
  /** Diagnostics other than the final counts: a test's t.diagnostic(), the runner's warnings. */
  const notes = [];
  let column = 0;
  for await (const { type, data } of source) {
    if (type === 'test:pass' || type === 'test:fail') {
      // A suite or test that failed only because tests inside it failed: those are listed.
      if (type === 'test:fail' && data.details?.error?.failureType !== 'subtestsFailed') failures.push(data);
      else if (data.skip !== undefined) skipped.push(data);
      yield type === 'test:fail' ? 'X' : data.skip !== undefined ? 's' : '.';
      if (++column === WIDTH) {
        column = 0;
        yield '\n';
      }
    } else if (type === 'test:stdout' || type === 'test:stderr') {
      // Node 20 names the file by its path, Node 22 and later relative to the working directory.
      const file = relative('.', data.file ?? '');
      output.set(file, (output.get(file) ?? '') + data.message);
    } else if (type === 'test:diagnostic') {
      const [name, value] = data.message.split(' ');
      if (data.nesting === 0 && COUNTS.includes(name) && /^[\d.]+$/.test(value)) counts[name] = Number(value);
      else notes.push(data);
    }
  }
  if (column !== 0) yield '\n';
  const failedFiles = new Set(failures.map((failure) => relative('.', failure.file ?? '')));
  for (const failure of failures) {
    yield `\n✖ ${failure.name} (${where(failure)})\n`;
    const error = thrown(failure.details?.error);
    yield `${typeof error === 'string' ? error : inspect(error, { depth: 6 })}\n`;
  }
  for (const [file, text] of output) {
    if (failedFiles.has(file)) yield `\n── what ${file} wrote to stdout and stderr:\n${text}`;
  }
  for (const note of notes) yield `\nℹ ${note.message} (${where(note)})\n`;
  yield `\n${summary(counts, skipped)}\n`;
  // Node 20 reports each test left out by --test-name-pattern as skipped: counted above, not listed.
  for (const test of skipped) if (test.skip !== FILTERED) yield `  - ${test.name} (${where(test)}): ${reason(test)}\n`;
}
