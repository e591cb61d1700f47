/**
 * What an `import` of a bare specifier resolves to from a given folder, when that differs
 * from what `require()` gives (a dual package's ES module build) or when `require()` gives
 * nothing (a package that exports only to `import`). Node's own resolvers answer:
 * - Node >= 22.12: the CommonJS resolver honours a `conditions` option, synchronously;
 * - before that: `import.meta.resolve(specifier, parent)`, which needs
 *   --experimental-import-meta-resolve, in a short-lived worker started with that flag,
 *   only when a config names a bare package (about 70 ms, once, at start-up).
 */
import Module from 'node:module';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface ImportRequest {
  readonly specifier: string;
  /** The folder or file the specifier resolves from (a path ending with a separator for a folder). */
  readonly parent: string;
}

const IMPORT_CONDITIONS = new Set(['node', 'import', 'module-sync']);

function conditionsHonoured(): boolean {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  return major > 22 || (major === 22 && minor >= 12);
}

export function isBareSpecifier(specifier: string): boolean {
  return !/^(\.|\/|file:|node:)/.test(specifier) && !isAbsolute(specifier) && !Module.isBuiltin(specifier);
}

/** The files an `import` of each request resolves to (undefined where it does not resolve). */
export async function resolveImports(requests: readonly ImportRequest[]): Promise<(string | undefined)[]> {
  if (requests.length === 0) return [];
  if (conditionsHonoured()) return resolveImportsSync(requests);
  return resolveInWorker(requests);
}

/** The same, synchronously: Node >= 22.12 only (the --require start needs Node >= 22.15). */
export function resolveImportsSync(requests: readonly ImportRequest[]): (string | undefined)[] {
  if (requests.length === 0) return [];
  if (!conditionsHonoured()) throw new Error(`distill-delivery: resolving an import synchronously needs Node >= 22.12 (this is ${process.versions.node}).`);
  const resolver = Module as unknown as {
    new (id: string, parent: null): { filename: string; paths: string[] };
    _resolveFilename(request: string, parent: object, isMain: boolean, options: object): string;
    _nodeModulePaths(folder: string): string[];
  };
  return requests.map(({ specifier, parent }) => {
    // A module in that folder asks, so that node_modules lookup and package self-references both apply.
    const asker = new resolver(join(parent, '[distill-delivery]'), null);
    asker.filename = join(parent, '[distill-delivery]');
    asker.paths = resolver._nodeModulePaths(parent);
    try {
      const file = resolver._resolveFilename(specifier, asker, false, { conditions: IMPORT_CONDITIONS });
      return isAbsolute(file) ? file : undefined;
    } catch {
      return undefined;
    }
  });
}

async function resolveInWorker(requests: readonly ImportRequest[]): Promise<(string | undefined)[]> {
  const { Worker } = await import('node:worker_threads');
  const worker = new Worker(new URL('./resolve-import-worker.js', import.meta.url), {
    execArgv: ['--experimental-import-meta-resolve', '--no-warnings'],
    env: {},
    stdout: true,
    stderr: true,
    workerData: requests.map(({ specifier, parent }) => [specifier, pathToFileURL(parent).href]),
  });
  const urls = await new Promise<(string | null)[]>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  void worker.terminate();
  return urls.map((url) => (url !== null && url.startsWith('file:') ? fileURLToPath(url) : undefined));
}
