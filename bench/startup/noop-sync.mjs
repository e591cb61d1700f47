// Floor on Node >= 22.15: a no-op synchronous hook registered with module.registerHooks.
import { registerHooks } from 'node:module';

registerHooks({
  resolve: (specifier, context, next) => next(specifier, context),
  load: (url, context, next) => next(url, context),
});
