// Jest's transform for TypeScript: esbuild only strips the types (`npm test` type-checks with
// `tsc --noEmit` first), so a cold run transpiles lib/, imports/ and the suites in a fraction of
// what ts-jest took (BENCHMARKS.md). Plain JavaScript: jest loads it before any transform exists.
'use strict';
const crypto = require('crypto');
const esbuild = require('esbuild');

module.exports = {
  process(source, file) {
    const { code, map } = esbuild.transformSync(source, { loader: 'ts', format: 'cjs', target: 'node20', sourcemap: 'external', sourcefile: file });
    return { code, map };
  },
  getCacheKey(source, file, options) {
    return crypto.createHash('sha256').update(esbuild.version).update('\0').update(file).update('\0').update(options.configString).update('\0').update(source).digest('hex');
  },
};
