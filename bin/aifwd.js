#!/usr/bin/env node
// The CLI as one bundled module (`npm run build:bundle`): Node loads one file instead of ~90.
import { main } from '../dist/aifwd.js';

main(process.argv.slice(2));
