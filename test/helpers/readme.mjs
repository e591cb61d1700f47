// The README's tested blocks, for test/readme.test.mjs and for the test files that cover a
// block (`<!-- readme-test: covered by test/x.test.mjs -->`): such a file reads its blocks
// through coveredBlocks(import.meta.url) and runs or asserts what they say, and
// readme.test.mjs checks that it does. Not itself a test.
import { readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Every block after a `<!-- readme-test: ... -->` comment: the comment's spec, the block's language and body. */
export function readmeBlocks() {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  return [...readme.matchAll(/<!-- readme-test: (.+?) -->\n```(\w+)\n([\s\S]*?)```/g)].map(([, spec, lang, body]) => ({ spec, lang, body }));
}

/** A command line as a shell splits it: `A=b node --flag 'two words' x.js  # comment`; `code` is what comes before the comment. */
export function parseCommand(line) {
  const words = [];
  let word;
  let comment = '';
  let code = line;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      word = (word ?? '') + line.slice(i + 1, end);
      i = end;
    } else if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (c === '#' && word === undefined) {
      comment = line.slice(i + 1).trim();
      code = line.slice(0, i);
      break;
    } else {
      word = (word ?? '') + c;
    }
  }
  if (word !== undefined) words.push(word);
  const vars = {};
  while (/^[A-Z_]+=/.test(words[0] ?? '')) {
    const [name, ...value] = words.shift().split('=');
    vars[name] = value.join('=');
  }
  return { vars, program: words.shift(), args: words, comment, code };
}

/**
 * The README's blocks covered by the test file at `url` (its import.meta.url), each with its
 * commands: every `a && b` part of a line as parseCommand gives it, the line's comment on
 * each. Throws when the README names no block as covered by that file.
 */
export function coveredBlocks(url) {
  const file = relative(root, fileURLToPath(url)).split(sep).join('/');
  const blocks = readmeBlocks().filter(({ spec }) => spec === `covered by ${file}`);
  if (blocks.length === 0) throw new Error(`The README names no block as covered by ${file}.`);
  return blocks.map((block) => ({
    ...block,
    commands: block.body
      .split('\n')
      .filter((line) => line.trim() !== '')
      .flatMap((line) => {
        const { code, comment } = parseCommand(line);
        return code.split('&&').map((part) => ({ ...parseCommand(part), comment }));
      }),
  }));
}
