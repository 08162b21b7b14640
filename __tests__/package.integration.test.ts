// The npm package as another chart gets it: `npm pack` here, the tarball installed offline (from
// the npm cache `npm ci` filled) into a fresh project, examples/custom-chart.ts compiled there with
// `tsc --strict` against the installed types, run, and its output validated strictly.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { parseAllDocuments } from 'yaml';
import { REPO, tempDir } from './support/fixtures';
import { validateManifests } from './support/k8s-schema';

const PEERS = ['cdk8s', 'cdk8s-plus-27', 'constructs'];
const TSC = path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');

function run(command: string, args: string[], cwd: string): string {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

type LockEntry = { version: string; dependencies?: Record<string, string>; optionalDependencies?: Record<string, string>; dev?: boolean; [key: string]: unknown };

/**
 * The consumer's lock file: the tarball, plus the entries of this repository's lock for the peers,
 * the package's dependencies and everything they need. `npm ci --offline` then installs each from
 * the tarball `npm ci` put into the npm cache here; a plain `npm install --offline` would need the
 * registry's package metadata, which that cache does not hold.
 */
/** Whether `dep`, required from the package at `key`, is the top-level copy (node's lookup upwards). */
function resolvesAtTop(lock: Record<string, LockEntry>, key: string, dep: string): boolean {
  for (let base = key; ; base = base.slice(0, base.lastIndexOf('/node_modules/'))) {
    if (lock[`${base}/node_modules/${dep}`]) return false;
    if (!base.includes('/node_modules/')) return true;
  }
}

function consumerLock(tarball: string, integrity: string, roots: Record<string, string>): object {
  const repoLock = JSON.parse(fs.readFileSync(path.join(REPO, 'package-lock.json'), 'utf8')).packages as Record<string, LockEntry>;
  const self = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8'));
  const packages: Record<string, object> = {
    '': { name: 'consumer', version: '1.0.0', dependencies: roots },
    'node_modules/cdk8s-wordpress': {
      version: self.version, resolved: `file:${tarball}`, integrity, license: self.license,
      dependencies: self.dependencies, engines: self.engines, peerDependencies: self.peerDependencies,
    },
  };
  const pending = [...Object.keys(roots).filter(n => n !== 'cdk8s-wordpress'), ...Object.keys(self.dependencies ?? {})];
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    const at = `node_modules/${name}`;
    if (packages[at]) continue;
    if (!repoLock[at]) throw new Error(`${name} is not in package-lock.json`);
    // The entry and whatever is nested (bundled) under it, as they are here, minus the dev flag;
    // then whatever they need from the top level. Optional ones too: npm ci checks that the lock
    // names them, and --omit=optional skips installing them.
    for (const [key, { dev: _dev, ...entry }] of Object.entries(repoLock)) {
      if (key !== at && !key.startsWith(`${at}/node_modules/`)) continue;
      packages[key] = entry;
      for (const dep of Object.keys({ ...entry.dependencies, ...entry.optionalDependencies })) {
        if (resolvesAtTop(repoLock, key, dep)) pending.push(dep);
      }
    }
  }
  return { name: 'consumer', version: '1.0.0', lockfileVersion: 3, requires: true, packages };
}

describe('the npm package', () => {
  const work = tempDir('cdk8s-wp-package-');
  const consumer = path.join(work.dir, 'consumer');
  let packed: { filename: string; integrity: string; files: Array<{ path: string; size: number }> };

  beforeAll(() => {
    [packed] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', work.dir], REPO));
    fs.mkdirSync(consumer);
    const version = (name: string) => JSON.parse(fs.readFileSync(path.join(REPO, 'node_modules', name, 'package.json'), 'utf8')).version;
    const tarball = `../${packed.filename}`;
    const roots = { 'cdk8s-wordpress': `file:${tarball}`, ...Object.fromEntries(PEERS.map(p => [p, version(p)])) };
    fs.writeFileSync(path.join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, dependencies: roots }));
    fs.writeFileSync(path.join(consumer, 'package-lock.json'), JSON.stringify(consumerLock(tarball, packed.integrity, roots)));
    run('npm', ['ci', '--offline', '--omit=optional', '--no-audit', '--no-fund', '--ignore-scripts'], consumer);
  }, 180_000);
  afterAll(() => work.cleanup());

  test('holds the compiled library, its types, README and package.json, and nothing else', () => {
    const files = packed.files.map(f => f.path).sort();
    expect(files).toContain('build/lib/index.js');
    expect(files).toContain('build/lib/index.d.ts');
    expect(files).toContain('README.md');
    expect(files).toContain('package.json');
    const other = files.filter(f => !/^build\/.+\.(js|d\.ts)$/.test(f) && !['README.md', 'package.json'].includes(f));
    expect(other).toEqual([]);
    // The JavaScript is exactly what the index loads: not the renderer, the config loader or its
    // 600 kB generated validator, and nothing missing.
    const installed = path.join(consumer, 'node_modules', 'cdk8s-wordpress');
    const loaded = new Set<string>();
    const visit = (file: string) => {
      if (loaded.has(file)) return;
      loaded.add(file);
      for (const [, spec] of fs.readFileSync(path.join(installed, file), 'utf8').matchAll(/require\("(\.[^"]+)"\)/g)) {
        visit(path.posix.join(path.posix.dirname(file), `${spec}.js`));
      }
    };
    visit('build/lib/index.js');
    expect(files.filter(f => f.endsWith('.js'))).toEqual([...loaded].sort());
    expect(files.filter(f => /^build\/lib\/(render|config\/(load|validate|validator))/.test(f))).toEqual([]);
  });

  test('uses the consumer\'s cdk8s, cdk8s-plus-27 and constructs: one copy of each', () => {
    const nested = path.join(consumer, 'node_modules', 'cdk8s-wordpress', 'node_modules');
    for (const peer of PEERS) expect(fs.existsSync(path.join(nested, peer))).toBe(false);
    const manifest = JSON.parse(fs.readFileSync(path.join(consumer, 'node_modules', 'cdk8s-wordpress', 'package.json'), 'utf8'));
    expect(Object.keys(manifest.peerDependencies).sort()).toEqual(PEERS);
    expect(Object.keys(manifest.dependencies ?? {}).filter(d => PEERS.includes(d))).toEqual([]);
  });

  test('a consumer chart using all five constructs compiles with tsc --strict and synthesizes valid manifests', () => {
    fs.copyFileSync(path.join(REPO, 'examples', 'custom-chart.ts'), path.join(consumer, 'custom-chart.ts'));
    fs.writeFileSync(path.join(consumer, 'main.ts'), [
      "import { App } from 'cdk8s';",
      "import { MyBlogChart } from './custom-chart';",
      "const app = new App({ outdir: 'out' });",
      "new MyBlogChart(app, 'my-blog');",
      'app.synth();',
      '',
    ].join('\n'));
    const source = fs.readFileSync(path.join(consumer, 'custom-chart.ts'), 'utf8');
    for (const construct of ['WordPressApp', 'MariaDbStatefulSet', 'StorageClaims', 'IngressRule', 'AntiAffinity']) {
      expect(source).toContain(`new ${construct}(`);
    }
    // No skipLibCheck: the package's declarations must compile too.
    run(process.execPath, [TSC, '--strict', '--noUnusedLocals', '--module', 'commonjs', '--target', 'es2020', 'main.ts'], consumer);
    run(process.execPath, ['main.js'], consumer);
    const objects = parseAllDocuments(fs.readFileSync(path.join(consumer, 'out', 'my-blog.k8s.yaml'), 'utf8')).map(d => d.toJS());
    expect(objects.map(o => o.kind)).toEqual(expect.arrayContaining(['PersistentVolumeClaim', 'StatefulSet', 'Deployment', 'Ingress']));
    expect(validateManifests(objects)).toEqual([]);
  });
});
