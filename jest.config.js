/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/__tests__'],
  testMatch: ['**/*.test.ts'],
  // Type checking is done once by `tsc --noEmit` in `npm test`; with isolatedModules in
  // tsconfig.json ts-jest only transpiles.
  transform: { '^.+\\.ts$': ['ts-jest', {}] },
  snapshotFormat: { escapeString: false, printBasicPrototype: false },
};
