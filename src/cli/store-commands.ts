/**
 * `distill-delivery store <command>`: each command parses its own arguments and calls the
 * store's library API (openStore, ../store/open-store.ts); what it returns is printed as a
 * short table, or with --json as one JSON object on stdout. A store's error (a
 * DeliveryError) is printed with its code on stderr (and as {"error": {code, message}}
 * with --json), exit status 1.
 */
import { createInterface } from 'node:readline/promises';
import { cliMessages, DeliveryError } from '../errors.js';
import { openStore, type OpenStoreOptions, type Store } from '../store/open-store.js';
import { parse, UsageError, type Options } from './args.js';
import { print, renderCopy, renderInfo, renderSteps, renderVerify } from './format.js';
import { progressLine, type ProgressMode } from './progress.js';

export interface Command {
  readonly usage: string;
  readonly summary: string;
  run(args: string[]): Promise<number> | number;
}

type Values = Record<string, unknown>;

const COMMON: Options = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
  timeout: { type: 'string' },
};
const RANK: Options = { rank: { type: 'string' } };
const PROGRESS: Options = { progress: { type: 'boolean' }, 'no-progress': { type: 'boolean' } };

interface Spec {
  readonly name: string;
  readonly usage: string;
  readonly summary: string;
  readonly details: string;
  readonly positionals: readonly string[];
  readonly options: Options;
  readonly optionHelp: readonly [string, string][];
  run(positionals: string[], values: Values): number | Promise<number>;
}

const COMMON_HELP: [string, string][] = [
  ['--json', 'print one JSON object on stdout (docs/store.md)'],
  ['--timeout <ms>', 'Redis: how long to wait for the server (default 60000)'],
  ['-h, --help', 'show this help'],
];

function helpOf(spec: Spec): string {
  const options = [...spec.optionHelp, ...COMMON_HELP].map(([flag, what]) => `  ${flag.padEnd(18)}${what}`).join('\n');
  return `Usage: distill-delivery store ${spec.usage}\n\n${spec.summary[0]!.toUpperCase()}${spec.summary.slice(1)}.\n${spec.details}\nOptions:\n${options}\n`;
}

function rankOf(values: Values): number | undefined {
  const text = values.rank as string | undefined;
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) throw new UsageError(cliMessages.badRank(text), '');
  return Number(text);
}

function storeOptions(values: Values): OpenStoreOptions {
  const text = values.timeout as string | undefined;
  if (text === undefined) return {};
  if (!/^\d+$/.test(text) || Number(text) <= 0 || !Number.isSafeInteger(Number(text))) throw new UsageError(cliMessages.badTimeout(text), '');
  return { timeout: Number(text) };
}

function progressMode(values: Values): ProgressMode {
  return values['no-progress'] === true ? 'off' : values.progress === true ? 'on' : 'auto';
}

const json = (value: unknown): number => print(JSON.stringify(value, null, 2) + '\n');

function command(spec: Spec): Command {
  const where = `distill-delivery store ${spec.name}`;
  return {
    usage: spec.usage,
    summary: spec.summary,
    async run(args) {
      const { values, positionals } = parse(args, { ...spec.options, ...COMMON }, true, where);
      if (values.help === true) return print(helpOf(spec));
      if (positionals.length !== spec.positionals.length) {
        throw new UsageError(cliMessages.positionals(spec.name, spec.positionals.map((p) => `<${p}>`).join(' '), positionals.length), where);
      }
      try {
        return await spec.run(positionals, values);
      } catch (error) {
        if (error instanceof UsageError) throw new UsageError(error.message, where);
        if (!(error instanceof DeliveryError)) throw error;
        if (values.json === true) json({ error: { code: error.code, message: error.message } });
        process.stderr.write(`distill-delivery: ${error.name} [${error.code}]: ${error.message}\n`);
        return 1;
      }
    },
  };
}

const info: Spec = {
  name: 'info',
  usage: 'info <url> [--json]',
  summary: 'what a store holds and where it came from',
  details: 'Its deliveries, its ranks (steps, bytes, complete) and each rank\'s record runs: when, how long, Node\'s and\nthe package\'s versions, the host, the script and the config\'s hash.\n',
  positionals: ['url'],
  options: {},
  optionHelp: [],
  run([url], values) {
    const found = openStore(url!, storeOptions(values)).info();
    return values.json === true ? json(found) : print(renderInfo(found));
  },
};

const verify: Spec = {
  name: 'verify',
  usage: 'verify <url> [--rank N] [--json]',
  summary: 'read every byte of every rank and check it',
  details: 'Exit status 0 when every rank is intact (an incomplete store is reported, not a failure), 1 when one is\ndamaged: ERR_DELIVERY_STORE_CORRUPT with the rank and its last intact step.\n',
  positionals: ['url'],
  options: { ...RANK, ...PROGRESS },
  optionHelp: [
    ['--rank <N>', 'only this rank'],
    ['--progress', 'show progress on stderr, also when it is not a terminal'],
    ['--no-progress', 'never show progress (default: on a terminal, for a store of 64 MB or more)'],
  ],
  run([url], values) {
    const rank = rankOf(values);
    const store = openStore(url!, storeOptions(values));
    const line = progressLine('verify', progressMode(values), store.info().bytes);
    const report = store.verify({ rank, onProgress: (p) => line.update(p) });
    line.done();
    if (values.json === true) json(report);
    else print(renderVerify(report));
    return report.intact ? 0 : 1;
  },
};

const list: Spec = {
  name: 'list',
  usage: 'list <url> [--rank N] [--json]',
  summary: 'the steps of each rank, their sizes and calls per delivery',
  details: 'Reads each step (and checks it, as a replay does).\n',
  positionals: ['url'],
  options: RANK,
  optionHelp: [['--rank <N>', 'only this rank']],
  run([url], values) {
    const rank = rankOf(values);
    const store = openStore(url!, storeOptions(values));
    const found = store.info();
    const ranks = (rank === undefined ? found.ranks.map((r) => r.rank) : [rank]).map((r) => ({ rank: r, steps: [...store.steps(r)] }));
    if (values.json === true) return json({ url: store.url, ranks });
    return print(ranks.map((r) => renderSteps(r.rank, r.steps, found.deliveries.map((d) => d.name))).join(''));
  },
};

const copy: Spec = {
  name: 'copy',
  usage: 'copy <from> <to> [--json]',
  summary: 'copy a store to a new url (a folder to Redis, Redis to a folder), checked as it copies',
  details: 'Every rank, its steps and record runs; each step is checked as it is read, and the copy is read back\nand compared. <to> must hold no store.\n',
  positionals: ['from', 'to'],
  options: PROGRESS,
  optionHelp: [
    ['--progress', 'show progress on stderr, also when it is not a terminal'],
    ['--no-progress', 'never show progress'],
  ],
  run([from, to], values) {
    const options = storeOptions(values);
    const store = openStore(from!, options);
    const line = progressLine('copy', progressMode(values), store.info().bytes);
    const report = store.copyTo(to!, { ...options, onProgress: (p) => line.update(p) });
    line.done();
    return values.json === true ? json(report) : print(renderCopy(report));
  },
};

/** Asks on the terminal; true for y or yes. */
async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

const remove: Spec = {
  name: 'delete',
  usage: 'delete <url> [--yes] [--json]',
  summary: 'delete a store: its files (the folder, once empty) or its Redis keys',
  details: 'Asks first on a terminal; elsewhere (a script, a pipe) it needs --yes.\n',
  positionals: ['url'],
  options: { yes: { type: 'boolean', short: 'y' } },
  optionHelp: [['-y, --yes', 'delete without asking']],
  async run([url], values) {
    const store: Store = openStore(url!, storeOptions(values));
    const found = store.info();
    if (values.yes !== true) {
      if (process.stdin.isTTY !== true) throw new UsageError(cliMessages.deleteNeedsYes(store.url), '');
      if (!(await confirm(`Delete the store "${store.url}" (${found.ranks.length} rank(s), ${found.steps} step(s))? [y/N] `))) {
        process.stderr.write(`distill-delivery: ${cliMessages.deleteDeclined(store.url)}\n`);
        return 1;
      }
    }
    const done = store.delete();
    return values.json === true ? json(done) : print(`deleted the store "${done.url}" (${done.deleted} ${store.kind === 'folder' ? 'file(s)' : 'key(s)'})\n`);
  },
};

export const STORE_COMMANDS: Record<string, Command> = Object.fromEntries([info, verify, list, copy, remove].map((spec) => [spec.name, command(spec)]));
