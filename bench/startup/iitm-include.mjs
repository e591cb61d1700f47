// import-in-the-middle in include-only mode, set up as its README describes: a message
// channel tells the hooks thread which modules the Hook below names; only those are wrapped.
import { register } from 'node:module';
import { Hook, createAddHookMessageChannel } from 'import-in-the-middle';
import { wrapFunctions } from './iitm-wrap.mjs';

const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
register('import-in-the-middle/hook.mjs', import.meta.url, registerOptions);
new Hook(JSON.parse(process.env.BENCH_TARGETS ?? '[]'), wrapFunctions);
await waitForAllMessagesAcknowledged();
