export async function resolve(specifier, context, next) {
  return next(specifier, context);
}

export async function load(url, context, next) {
  return next(url, context);
}
