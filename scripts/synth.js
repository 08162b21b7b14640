#!/usr/bin/env node
// `npm run synth`: `cdk8s synth` without its online upgrade check, followed by what changed in dist/
// (the app's summary), and without the stack trace the
// CLI prints after the app exits non-zero ("Error: command ... returned a non-zero exit code 1" and
// its "at ..." lines). After a config error the app's own lines are the whole message; they say
// what to fix, and a trace of the CLI's child process would only make them look like a crash.
// Plain JavaScript: it runs before every synth, and loading a TypeScript loader costs more than it.
'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

// The app writes what changed in dist/ here (lib/render/change-summary.ts); the CLI would swallow it on stdout.
const summary = path.join(os.tmpdir(), `cdk8s-wordpress-changes-${process.pid}.txt`);

const cli = path.join(path.dirname(require.resolve('cdk8s-cli/package.json')), 'bin', 'cdk8s');
const child = spawn(process.execPath, [cli, 'synth', '--check-upgrade=false', ...process.argv.slice(2)], {
  stdio: ['inherit', 'inherit', 'pipe'],
  env: { ...process.env, CDK8S_WORDPRESS_SUMMARY: summary },
});

const CLI_TRACE = /^Error: command ".*" at .* returned a non-zero exit code \d+$/;
let skipping = false;
let partial = '';
const forward = line => {
  if (CLI_TRACE.test(line)) skipping = true;
  else if (skipping && !/^\s+at /.test(line)) skipping = false;
  if (!skipping) process.stderr.write(`${line}\n`);
};
child.stderr.setEncoding('utf8');
child.stderr.on('data', chunk => {
  const lines = (partial + chunk).split('\n');
  partial = lines.pop();
  lines.forEach(forward);
});
child.on('close', (code, signal) => {
  if (partial) forward(partial);
  if (code === 0 && fs.existsSync(summary)) process.stdout.write(fs.readFileSync(summary, 'utf8'));
  fs.rmSync(summary, { force: true });
  process.exitCode = code ?? (signal ? 1 : 0);
});
