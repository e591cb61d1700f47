/**
 * The command line's entry (bin/distill-delivery.mjs calls main): `distill-delivery
 * <command> ...`, each level parsed by node:util's parseArgs, with --help at every level.
 * Returns the exit status: 0 done, 1 failed, 2 a usage error (the message and where to
 * find the usage on stderr).
 */
import { createRequire } from 'node:module';
import { cliMessages } from '../errors.js';
import { split, UsageError } from './args.js';
import { print } from './format.js';
import { STORE_COMMANDS, type Command } from './store-commands.js';

const VERSION = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

const TOP_HELP = `Usage: distill-delivery <command> [options]

Commands:
  store     look into, check, copy and delete the stores record runs write

Options:
  -h, --help     show this help (each command has its own: distill-delivery store --help)
  -v, --version  print the package's version

Documentation: docs/store.md in the package.
`;

const STORE_HELP = `Usage: distill-delivery store <command> <url> [options]

<url> is a store as in the config's "store.url": a folder (relative to the working
directory) or redis://[user:password@]host:port/key.

Commands:
${Object.values(STORE_COMMANDS)
  .map((c) => `  ${c.usage.padEnd(34)}${c.summary}`)
  .join('\n')}

Every command takes --help, and --json to print one JSON object (docs/store.md).
Exit status: 0 done, 1 failed (verify: the store is damaged), 2 a usage error.
`;

const HELP = { type: 'boolean', short: 'h' } as const;

export async function main(argv: string[]): Promise<number> {
  try {
    const top = split(argv, { help: HELP, version: { type: 'boolean', short: 'v' } }, 'distill-delivery');
    if (top.values.version === true) return print(`${VERSION}\n`);
    if (top.values.help === true) return print(TOP_HELP);
    if (top.command !== 'store') {
      throw new UsageError(top.command === undefined ? cliMessages.missingCommand('distill-delivery', ['store']) : cliMessages.unknownCommand('distill-delivery', top.command, ['store']), 'distill-delivery');
    }
    const store = split(top.rest, { help: HELP }, 'distill-delivery store');
    if (store.values.help === true) return print(STORE_HELP);
    const names = Object.keys(STORE_COMMANDS);
    if (store.command === undefined) throw new UsageError(cliMessages.missingCommand('distill-delivery store', names), 'distill-delivery store');
    const command: Command | undefined = Object.hasOwn(STORE_COMMANDS, store.command) ? STORE_COMMANDS[store.command] : undefined;
    if (command === undefined) throw new UsageError(cliMessages.unknownCommand('distill-delivery store', store.command, names), 'distill-delivery store');
    return await command.run(store.rest);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`distill-delivery: ${error.message}\nRun "${error.where} --help" for its usage.\n`);
    return 2;
  }
}
