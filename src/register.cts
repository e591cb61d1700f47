/**
 * `node --require distill-delivery/register app.js` (or `--require ./loader.cjs`): starts
 * the agent synchronously, before the app loads, where Node can (module.registerHooks,
 * Node >= 22.15, which also loads the agent's ES modules by require()). Elsewhere it stops
 * the process with a message saying to start with --import. Without DISTILL_DELIVERY
 * nothing else is loaded, unless a variable named like the package's is set (a warning
 * says when it is none of those it reads).
 */
import Module = require('node:module');
import threads = require('node:worker_threads');

// --require preloads also run in the thread of module.register's hooks (another loader's): not there.
const hooksThread = (threads as { isInternalThread?: boolean }).isInternalThread === true;

if ((process.env.DISTILL_DELIVERY ?? '').trim() !== '' && !hooksThread) {
  // module.registerHooks: added in v23.5.0 and v22.15.0.
  if (typeof (Module as { registerHooks?: unknown }).registerHooks === 'function') {
    (require('./agent/start.js') as typeof import('./agent/start.js')).startSync();
  } else {
    let detail: string;
    try {
      const error = (require('./errors.js') as typeof import('./errors.js')).errors.requireUnsupported(process.versions.node);
      detail = `${error.name} [${error.code}]: ${error.message}`;
    } catch {
      // Node < 20.19 cannot require() an ES module at all.
      detail = `[ERR_DELIVERY_REQUIRE_UNSUPPORTED]: --require cannot start the agent on Node ${process.versions.node}; start node with --import distill-delivery/register instead.`;
    }
    process.stderr.write(`distill-delivery: stopped before the app started.\n${detail}\n`);
    process.exit(1);
  }
} else if (!hooksThread && typeof (Module as { registerHooks?: unknown }).registerHooks === 'function' && Object.keys(process.env).some((name) => /^DISTILL_DELIVER/i.test(name))) {
  // A variable named like the package's, without DISTILL_DELIVERY: a typo of one? (Where require() loads the ES module that says so.)
  (require('./agent/environment.js') as typeof import('./agent/environment.js')).warnUnknownVariables();
}
