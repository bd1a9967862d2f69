import { createRequire } from 'node:module';
import { PACKAGE_ROOT } from './package-root.js';

const require = createRequire(PACKAGE_ROOT);

/** The package version (read once from package.json). */
export const VERSION: string = (require('./package.json') as { version: string }).version;
