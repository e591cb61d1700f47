/**
 * `node --import distill-delivery/register app.js` (or `--import ./loader.mjs`): starts the
 * agent from DISTILL_DELIVERY before the app loads. Without DISTILL_DELIVERY nothing else
 * is loaded. (Top-level await: start with --import, not --require.)
 */
if ((process.env.DISTILL_DELIVERY ?? '').trim() !== '') await (await import('./agent/start.js')).start();

export {};
