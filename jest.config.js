// Suites named `*.integration.test.ts` start real servers: they run only under INTEGRATION=1
// (`npm run test:integration`), and plain `jest` / `npm test` leaves them out. An env var rather
// than a CLI path filter keeps the split independent of the flag's name, which jest 30 changed.
const integration = process.env.INTEGRATION === '1';

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/__tests__'],
  testMatch: [integration ? '**/*.integration.test.ts' : '**/*.test.ts'],
  testPathIgnorePatterns: integration ? ['/node_modules/'] : ['/node_modules/', '\\.integration\\.test\\.ts$'],
  // Type checking is done once by `tsc --noEmit` in `npm test` (scripts/test.js, beside jest);
  // with isolatedModules in tsconfig.json, stripping the types (esbuild) is all a file needs.
  transform: { '^.+\\.ts$': '<rootDir>/__tests__/support/esbuild-transform.js' },
  // As in tsconfig.json's paths: examples/ import the package by name, as a consumer would.
  moduleNameMapper: { '^cdk8s-wordpress$': '<rootDir>/lib/index.ts' },
  // Both cores: `npm test` runs the type check beside jest, and once it is done jest has both. The
  // integration suites run two at a time too; each has its own temporary folders, free ports and,
  // under the pod emulator, network namespaces. The sequencer starts the longest suite first.
  maxWorkers: 2,
  ...(integration && { testSequencer: '<rootDir>/__tests__/support/integration-sequencer.js' }),
  snapshotFormat: { escapeString: false, printBasicPrototype: false },
};
