/**
 * The package's root directory (where package.json and wasm/ are), as a file URL ending in `/`.
 *
 * This module sits one level below the root, as src/package-root.ts, dist/package-root.js and the
 * bundle the CLI runs (dist/aifwd.js, `npm run build:bundle`) do, so `..` from it is the root in
 * all three. Paths to the package's files are made from this, not from the `import.meta.url` of a
 * module deeper down, which in the bundle is the bundle's own.
 */
export const PACKAGE_ROOT = new URL('../', import.meta.url);
