/**
 * Children get the agent too: fork() and Worker inherit process.execArgv, and every
 * child inherits NODE_OPTIONS and DISTILL_DELIVERY. Paths in them that are relative to
 * the working directory would break in a child that runs elsewhere, so the agent makes
 * its own loader path and the config file path absolute, and pins what an inline
 * config's relative targets resolve against (DISTILL_DELIVERY_BASE).
 */
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ours = new Set(['../../loader.mjs', '../../loader.cjs', '../register.js', '../register.cjs'].map((p) => fileURLToPath(new URL(p, import.meta.url))));

/** Our loader as an absolute path: a file: URL for --import, a plain path for --require (which takes no URL). */
function absolute(value: string, flag: string): string {
  if (!value.startsWith('.') || !ours.has(resolve(value))) return value;
  return flag === '--import' ? pathToFileURL(resolve(value)).href : resolve(value);
}

function rewrite(args: string[]): boolean {
  let changed = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if ((arg === '--import' || arg === '--require' || arg === '-r') && i + 1 < args.length) {
      const next = absolute(args[i + 1]!, arg);
      if (next !== args[i + 1]) (args[i + 1] = next), (changed = true);
    } else if (arg.startsWith('--import=') || arg.startsWith('--require=')) {
      const eq = arg.indexOf('=');
      const next = absolute(arg.slice(eq + 1), arg.slice(0, eq));
      if (next !== arg.slice(eq + 1)) (args[i] = arg.slice(0, eq + 1) + next), (changed = true);
    }
  }
  return changed;
}

export function propagate(cwd = process.cwd()): void {
  rewrite(process.execArgv);
  const options = process.env.NODE_OPTIONS;
  if (options) {
    const parts = options.split(/\s+/).filter(Boolean);
    if (rewrite(parts)) process.env.NODE_OPTIONS = parts.join(' ');
  }
  const config = process.env.DISTILL_DELIVERY?.trim();
  if (!config) return;
  if (config.startsWith('{') || config.startsWith('[')) {
    process.env.DISTILL_DELIVERY_BASE ??= cwd;
  } else if (!isAbsolute(config)) {
    process.env.DISTILL_DELIVERY = resolve(cwd, config);
  }
}
