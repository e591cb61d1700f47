/**
 * Runs in a worker started with --experimental-import-meta-resolve (Node < 22.12): resolves
 * each [specifier, parent URL] with the ES module resolver and posts the URLs back.
 */
import { parentPort, workerData } from 'node:worker_threads';

const resolve = import.meta.resolve as unknown as (specifier: string, parent: string) => string;
parentPort!.postMessage(
  (workerData as [string, string][]).map(([specifier, parent]) => {
    try {
      return resolve(specifier, parent);
    } catch {
      return null;
    }
  }),
);
