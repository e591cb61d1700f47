#!/usr/bin/env node
// The package's command line (src/cli/main.ts): `npx distill-delivery store info ./teacher-outputs`.
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
