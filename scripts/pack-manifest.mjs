// `npm pack` / `npm publish` helper: the tarball ships a package.json without the
// `prepare` script (which builds dist/ in a checkout), so installing the package runs
// nothing and npm 11 has no install script to warn about.
//   node scripts/pack-manifest.mjs strip    (prepack: keeps the checkout's file aside)
//   node scripts/pack-manifest.mjs restore  (postpack: puts it back, byte for byte)
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

const manifest = 'package.json';
const kept = 'package.json.prepack';

switch (process.argv[2]) {
  case 'strip': {
    if (existsSync(kept)) throw new Error(`${kept} exists: an earlier pack did not finish; restore it as package.json first (node scripts/pack-manifest.mjs restore).`);
    const text = readFileSync(manifest, 'utf8');
    const pkg = JSON.parse(text);
    writeFileSync(kept, text);
    delete pkg.scripts.prepare;
    writeFileSync(manifest, JSON.stringify(pkg, null, 2) + '\n');
    break;
  }
  case 'restore':
    if (existsSync(kept)) renameSync(kept, manifest);
    break;
  default:
    throw new Error('usage: node scripts/pack-manifest.mjs strip|restore');
}
