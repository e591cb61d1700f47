/**
 * `node --import distill-delivery/register app.js` (or `--import ./loader.mjs`): starts the
 * agent from DISTILL_DELIVERY before the app loads. Without DISTILL_DELIVERY nothing else
 * is loaded, unless a variable named like the package's is set (a typo of one: a warning
 * says so). (Top-level await: start with --import, not --require.)
 */
if ((process.env.DISTILL_DELIVERY ?? '').trim() !== '') await (await import('./agent/start.js')).start();
else if (Object.keys(process.env).some((name) => /^DISTILL_DELIVER/i.test(name))) (await import('./agent/environment.js')).warnUnknownVariables();

export {};
