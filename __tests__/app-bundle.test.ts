// What `cdk8s synth` loads before it renders anything is part of its start-up time (BENCHMARKS.md):
// the app bundle, built exactly as cdk8s.yaml's `app:` builds it, must require only these packages.
// TypeBox, say, costs 0.1 s to load and is needed only to write config.schema.json and the validator.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { builtinModules } from 'module';
import { REPO, tempDir } from './support/fixtures';

/** The esbuild command of cdk8s.yaml's `app:`, with its output sent to `outfile`. */
function bundleCommand(outfile: string): string[] {
  const app = fs.readFileSync(path.join(REPO, 'cdk8s.yaml'), 'utf8').match(/^app: (.*)$/m)![1];
  const build = app.split(' && ')[0].split(' ');
  expect(build[0]).toBe('node_modules/.bin/esbuild');
  return build.map(arg => (arg.startsWith('--outfile=') ? `--outfile=${outfile}` : arg));
}

test('the app bundle requires only cdk8s, cdk8s-plus-27, constructs, yaml, the generated validator and node\'s own modules', () => {
  const out = tempDir('cdk8s-wp-bundle-');
  try {
    const [bin, ...args] = bundleCommand(path.join(out.dir, 'app.js'));
    const r = spawnSync(path.join(REPO, bin), args, { cwd: REPO, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const bundle = fs.readFileSync(path.join(out.dir, 'app.js'), 'utf8');
    const packages = new Set([...bundle.matchAll(/\brequire\("([^"]+)"\)/g)].map(([, spec]) => (spec.startsWith('@') ? spec.split('/').slice(0, 2) : spec.split('/').slice(0, 1)).join('/')));
    const own = [...packages].filter(p => !builtinModules.includes(p.replace(/^node:/, ''))).sort();
    expect(own).toEqual(['#config-validator', 'cdk8s', 'cdk8s-plus-27', 'constructs', 'yaml']);
  } finally {
    out.cleanup();
  }
});
