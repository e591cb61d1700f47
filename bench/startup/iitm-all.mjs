// import-in-the-middle wrapping every ES module (register without an include list).
import { register } from 'node:module';
import { Hook } from 'import-in-the-middle';
import { wrapFunctions } from './iitm-wrap.mjs';

register('import-in-the-middle/hook.mjs', import.meta.url);
new Hook(JSON.parse(process.env.BENCH_TARGETS ?? '[]'), wrapFunctions);
