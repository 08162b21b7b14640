#!/usr/bin/env node
// `npm test`: the type check (`tsc --noEmit`) and the unit suites (jest) at the same time. jest's
// transform only strips types, so neither needs the other's result, and on two cores the type
// check's 10-12 s overlap jest's instead of adding to them (BENCHMARKS.md). Arguments go to jest
// (e.g. `npm test -- --json --outputFile=...`, as .ci/run passes them). The exit code is non-zero
// when either fails; the type errors are printed after jest's report, whole.
'use strict';
const { spawn } = require('child_process');
const path = require('path');

const bin = name => path.join(__dirname, '..', 'node_modules', '.bin', name);

const tsc = spawn(bin('tsc'), ['--noEmit'], { stdio: ['ignore', 'pipe', 'pipe'] });
let typeErrors = '';
tsc.stdout.on('data', d => { typeErrors += d; });
tsc.stderr.on('data', d => { typeErrors += d; });
const tscDone = new Promise(resolve => tsc.on('close', code => resolve(code ?? 1)));

const jest = spawn(bin('jest'), process.argv.slice(2), { stdio: 'inherit' });
const jestDone = new Promise(resolve => jest.on('close', code => resolve(code ?? 1)));

Promise.all([tscDone, jestDone]).then(([tscCode, jestCode]) => {
  if (tscCode !== 0) process.stderr.write(`\ntsc --noEmit failed (exit ${tscCode}):\n${typeErrors}\n`);
  else process.stderr.write('tsc --noEmit: no type errors\n');
  process.exitCode = tscCode !== 0 ? tscCode : jestCode;
});
