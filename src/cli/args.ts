/** Parsing a level of the command line with node:util's parseArgs, and its usage errors (exit status 2). */
import { parseArgs } from 'node:util';

/** A wrong command line: exit status 2, and `where --help` named. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly where: string,
  ) {
    super(message);
  }
}

export type Options = NonNullable<NonNullable<Parameters<typeof parseArgs>[0]>['options']>;

/** parseArgs in strict mode, its errors (an unknown option, a missing value) as usage errors. */
export function parse(args: string[], options: Options, allowPositionals: boolean, where: string): { values: Record<string, unknown>; positionals: string[] } {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true }) as { values: Record<string, unknown>; positionals: string[] };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_')) throw new UsageError((error as Error).message, where);
    throw error;
  }
}

/**
 * Splits `args` at the first positional (the command): the options before it are this
 * level's (checked strictly), the rest go to the command.
 */
export function split(args: string[], options: Options, where: string): { values: Record<string, unknown>; command: string | undefined; rest: string[] } {
  const { tokens } = parseArgs({ args, options, allowPositionals: true, strict: false, tokens: true });
  const first = tokens.find((t) => t.kind === 'positional');
  const head = first === undefined ? args : args.slice(0, first.index);
  const { values } = parse(head, options, false, where);
  return { values, command: first?.kind === 'positional' ? first.value : undefined, rest: first === undefined ? [] : args.slice(first.index + 1) };
}
