// What the import-in-the-middle variants do with a target: wrap its exported functions.
let wrapped = 0;
if (process.env.BENCH_VERIFY === '1') process.on('exit', () => process.stderr.write(`iitm wrapped ${wrapped}\n`));

export function wrapFunctions(exported) {
  for (const key of Object.keys(exported)) {
    const original = exported[key];
    if (typeof original !== 'function') continue;
    exported[key] = function (...args) {
      return original.apply(this, args);
    };
    wrapped++;
  }
}
