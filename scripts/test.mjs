// `npm test` (after its pretest has built dist/): runs the test files with node:test and
// the project's reporter (test/helpers/reporter.mjs).
//   npm test                                                  every test/*.test.mjs
//   npm test -- test/record-replay.test.mjs                   one file (or several)
//   npm test -- --test-name-pattern="FIFO"                    the tests whose name matches, in every file
//   npm test -- --test-name-pattern="FIFO" test/record-replay.test.mjs
// Other arguments go to `node --test` as they are (`--test-reporter=spec` replaces the reporter).
// Files are named explicitly: on Node 20 a bare `node --test` also runs the fixtures as tests.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const named = args.some((arg) => !arg.startsWith('-') && existsSync(new URL(arg, `file://${root}`)));
const files = named ? [] : readdirSync(new URL('../test/', import.meta.url)).filter((name) => name.endsWith('.test.mjs')).sort().map((name) => `test/${name}`);
// One file more than there are cores: it fills the time the others spend waiting (servers, timeouts, npm).
const options = [`--test-concurrency=${availableParallelism() + 1}`];
if (!args.some((arg) => arg.startsWith('--test-reporter'))) options.push('--test-reporter=./test/helpers/reporter.mjs');
// Node 22.1+ keeps the code it compiled for the next process that loads the same file: the
// suite starts hundreds of processes that load the same modules. Node 20 ignores the variable.
const env = { NODE_COMPILE_CACHE: join(root, 'node_modules', '.cache', 'node-compile-cache'), ...process.env };
// NODE_EXTRA_CA_CERTS makes every Node process parse that certificate file as it starts
// (about 120 ms each on a machine that points it at the system's whole bundle), and the
// suite starts several hundred; no test makes a TLS connection (Redis is on loopback,
// npm runs --offline), so its processes start without it.
delete env.NODE_EXTRA_CA_CERTS;
const { status, signal } = spawnSync(process.execPath, ['--test', ...options, ...args, ...files], { cwd: root, env, stdio: 'inherit' });
process.exitCode = status ?? (signal ? 1 : 0);
