// What `cdk8s synth` loads before it renders anything is part of its start-up time (BENCHMARKS.md).
// The app's bundle, built by scripts/app.js (cdk8s.yaml's `app:`), holds everything it runs and
// only these packages: TypeBox, say, costs 0.1 s to load and is needed only to write
// config.schema.json and the validator.
import * as fs from 'fs';
import * as path from 'path';
import { builtinModules } from 'module';
import { REPO, tempDir } from './support/paths';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { prepare } = require(path.join(REPO, 'scripts', 'app.js')) as { prepare(o: { root: string; entry: string; cacheDir: string }): string | undefined };

test('cdk8s.yaml runs the app through scripts/app.js', () => {
  expect(fs.readFileSync(path.join(REPO, 'cdk8s.yaml'), 'utf8')).toMatch(/^app: node scripts\/app\.js$/m);
});

test('the bundle of main.ts holds cdk8s, cdk8s-plus-27, constructs, yaml, the validator\'s runtime and their dependencies, and requires only node\'s own modules', () => {
  const out = tempDir('cdk8s-wp-bundle-');
  try {
    const bundle = prepare({ root: REPO, entry: 'main.ts', cacheDir: out.dir })!;
    const code = fs.readFileSync(bundle, 'utf8');
    // Calls, not the strings ajv keeps for the code it generates ('require("ajv/dist/...")').
    const required = new Set([...code.matchAll(/(?<!['"])\brequire\("([^"]+)"\)/g)].map(([, spec]) => spec.replace(/^node:/, '')));
    expect([...required].filter(spec => !builtinModules.includes(spec))).toEqual([]);
    const manifest = JSON.parse(fs.readFileSync(path.join(out.dir, 'manifest.json'), 'utf8'));
    const inputs: string[] = manifest.inputs.files.map(([rel]: [string]) => rel);
    // The innermost node_modules: cdk8s and cdk8s-plus-27 ship some dependencies inside their own.
    const packages = new Set(inputs.map(rel => /.*node_modules\/((@[^/]+\/)?[^/]+)/.exec(rel)?.[1]).filter(Boolean));
    expect([...packages].sort()).toEqual(['ajv', 'balanced-match', 'brace-expansion', 'cdk8s', 'cdk8s-plus-27', 'concat-map', 'constructs', 'fast-deep-equal', 'fast-json-patch', 'minimatch', 'yaml']);
    expect(inputs).toContain('lib/config/validate-config.generated.js');
    expect(inputs.filter(rel => rel.startsWith('node_modules/ajv/'))).toEqual(['node_modules/ajv/dist/runtime/equal.js', 'node_modules/ajv/dist/runtime/ucs2length.js']);
  } finally {
    out.cleanup();
  }
});
