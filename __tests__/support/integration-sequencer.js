// Jest's test sequencer for `npm run test:integration`, which runs on both cores: the Galera suite
// alone takes about as long as all the other suites together, so it has to start first, or the
// worker that picks it up last finishes minutes after the other one. Jest's own order needs the
// timings of an earlier run, which a clean clone (CI) does not have, and then goes by file size;
// so the suites named here come first, in this order, and jest's order applies to the rest.
// Plain JavaScript: jest loads it before any transform exists.
'use strict';
const path = require('path');
// Jest's default sequencer (a devDependency at jest's own version).
const Sequencer = require('@jest/test-sequencer').default;

const FIRST = ['galera.integration.test.ts'];

class IntegrationSequencer extends Sequencer {
  async sort(tests) {
    const rank = test => {
      const i = FIRST.indexOf(path.basename(test.path));
      return i < 0 ? FIRST.length : i;
    };
    // Array.prototype.sort is stable: within a rank, jest's order stays.
    return [...(await super.sort(tests))].sort((a, b) => rank(a) - rank(b));
  }
}

module.exports = IntegrationSequencer;
