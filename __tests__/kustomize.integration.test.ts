// The kustomization.yaml files in dist/ must make `kubectl kustomize <folder>` (and so Argo CD and
// Flux, which run the same kustomize) yield exactly the objects of the folder's *.k8s.yaml files.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { parseAllDocuments } from 'yaml';
import { KUSTOMIZATION_FILE, environmentKustomization, siteKustomization } from '../lib/render/kustomization';
import { STORAGE_KINDS } from '../lib/render/render';
import { REPO } from './support/fixtures';

const DIST = path.join(REPO, 'dist');

/**
 * kubectl's client minor version, or why there is none. Up to 1.20 kubectl embeds kustomize 2.0,
 * which takes no folders as resources and sorts claims after the workloads.
 */
function kubectlMinor(): { minor: number } | { reason: string } {
  const r = spawnSync('kubectl', ['version', '--client', '-o', 'json'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return { reason: 'kubectl is not installed (.ci/run installs Debian\'s kubernetes-client)' };
  return { minor: parseInt(JSON.parse(r.stdout).clientVersion.minor, 10) };
}

const kubectl = kubectlMinor();
const modernKustomize = 'minor' in kubectl && kubectl.minor >= 21;
if ('reason' in kubectl) console.warn(`Skipping the kubectl kustomize tests: ${kubectl.reason}`);
else if (!modernKustomize) console.warn(`Skipping kubectl kustomize of environment folders and the storage-first order: kubectl 1.${kubectl.minor} embeds kustomize 2.0`);

function objectsOf(text: string): any[] {
  return parseAllDocuments(text).map(d => d.toJS()).filter(o => o !== null);
}

function key(o: any): string {
  return `${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`;
}

function manifestsUnder(dir: string): any[] {
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter(f => f.endsWith('.k8s.yaml'))
    .flatMap(f => objectsOf(fs.readFileSync(path.join(dir, f), 'utf8')));
}

function kustomize(dir: string): any[] {
  const r = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`kubectl kustomize ${dir}: ${r.stderr}`);
  return objectsOf(r.stdout);
}

const envs = fs.readdirSync(DIST).sort();
const sites = envs.flatMap(env => fs.readdirSync(path.join(DIST, env), { withFileTypes: true })
  .filter(e => e.isDirectory()).map(e => `${env}/${e.name}`));

test('every site and environment folder of dist/ has a kustomization.yaml', () => {
  expect(sites.length).toBeGreaterThanOrEqual(3);
  for (const dir of [...envs, ...sites]) expect(fs.existsSync(path.join(DIST, dir, KUSTOMIZATION_FILE))).toBe(true);
});

test('a site lists its manifests storage first, an environment its sites, and nothing else', () => {
  const site = siteKustomization('e', 'b', [['e/b/storage.k8s.yaml', ''], ['e/b/app.k8s.yaml', ''], ['e/b/README.md', '']]);
  expect(site[0]).toBe('e/b/kustomization.yaml');
  expect(objectsOf(site[1])[0]).toEqual({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: ['storage.k8s.yaml', 'app.k8s.yaml'] });
  const env = environmentKustomization('e', ['b', 'a']);
  expect(env[0]).toBe('e/kustomization.yaml');
  expect(objectsOf(env[1])[0].resources).toEqual(['b', 'a']);
});

const describeKubectl = 'minor' in kubectl ? describe : describe.skip;

describeKubectl('kubectl kustomize', () => {
  test.each(sites)('dist/%s yields exactly its manifests, storage before workloads', site => {
    const dir = path.join(DIST, site);
    const built = kustomize(dir);
    const files = manifestsUnder(dir);
    expect(built.map(key).sort()).toEqual(files.map(key).sort());
    // Not only the same names: kustomize must not have changed a field.
    const byKey = new Map(files.map(o => [key(o), o]));
    for (const o of built) expect(o).toEqual(byKey.get(key(o)));
    const kinds = built.map(o => o.kind);
    expect(kinds[0]).toBe('Namespace');
    if (!modernKustomize) return;
    const lastStorage = Math.max(...kinds.map((k, i) => (STORAGE_KINDS.has(k) ? i : -1)));
    const firstWorkload = kinds.findIndex(k => ['Deployment', 'StatefulSet', 'CronJob', 'Job'].includes(k));
    expect(lastStorage).toBeLessThan(firstWorkload);
  });

  (modernKustomize ? test.each : test.skip.each)(envs)('dist/%s yields exactly the manifests of all its sites', env => {
    const dir = path.join(DIST, env);
    const built = kustomize(dir);
    const files = manifestsUnder(dir);
    expect(built.length).toBe(files.length);
    expect(built.map(key).sort()).toEqual(files.map(key).sort());
  });
});
