// Floor: a no-op async hook registered with module.register (every resolve and load
// makes a round trip to the hooks thread, which is what Node 20 costs at the least).
import { register } from 'node:module';

register('./noop-async-hooks.mjs', import.meta.url);
