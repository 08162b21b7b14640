// examples/gitops/ must fit dist/ as rendered: the Argo CD generator finds exactly the site folders,
// each Flux Kustomization builds an environment folder, and pruning is on only because every object
// that holds data opts out of it with the annotation that tool reads.
import * as fs from 'fs';
import * as path from 'path';
import { parse, parseAllDocuments } from 'yaml';
import { KUSTOMIZATION_FILE } from '../lib/render/kustomization';
import { REPO } from './support/fixtures';

const GITOPS = path.join(REPO, 'examples', 'gitops');
const DIST = path.join(REPO, 'dist');
const read = (file: string) => parse(fs.readFileSync(path.join(GITOPS, file), 'utf8'));
const envs = fs.readdirSync(path.join(REPO, 'config')).filter(f => f.endsWith('.yaml')).map(f => f.replace(/\.yaml$/, '')).sort();

/** Every object of dist/<env>/, with the site folder it came from. */
function distObjects(env: string): any[] {
  return fs.readdirSync(path.join(DIST, env), { recursive: true, encoding: 'utf8' })
    .filter(f => f.endsWith('.k8s.yaml'))
    .flatMap(f => parseAllDocuments(fs.readFileSync(path.join(DIST, env, f), 'utf8')).map(d => d.toJS()));
}
const allObjects = envs.flatMap(distObjects);
const DATA_KINDS = ['Namespace', 'PersistentVolume', 'PersistentVolumeClaim'];

/** The folders a git directory generator pattern of `*` segments matches, as Argo CD globs them. */
function globDirs(pattern: string): string[] {
  let dirs = [''];
  for (const segment of pattern.split('/')) {
    dirs = dirs.flatMap(d => (segment === '*'
      ? fs.readdirSync(path.join(REPO, d), { withFileTypes: true }).filter(e => e.isDirectory()).map(e => path.posix.join(d, e.name))
      : [path.posix.join(d, segment)]));
  }
  return dirs.sort();
}

describe('Argo CD ApplicationSet', () => {
  const appSet = read('argocd/applicationset.yaml');
  const template = appSet.spec.template.spec;

  test('its generator finds exactly the site folders, each with a kustomization.yaml', () => {
    const [generator] = appSet.spec.generators;
    expect(generator.git.directories).toHaveLength(1);
    const found = globDirs(generator.git.directories[0].path);
    const sites = envs.flatMap(env => fs.readdirSync(path.join(DIST, env), { withFileTypes: true })
      .filter(e => e.isDirectory()).map(e => `dist/${env}/${e.name}`));
    expect(found).toEqual(sites.sort());
    for (const dir of found) expect(fs.existsSync(path.join(REPO, dir, KUSTOMIZATION_FILE))).toBe(true);
    expect(template.source.path).toBe('{{ .path.path }}');
    expect(template.source.repoURL).toBe(generator.git.repoURL);
  });

  test('each environment goes to its own cluster and each site gets a unique Application name', () => {
    expect(template.destination).toEqual({ name: '{{ index .path.segments 1 }}' });
    expect(appSet.spec.template.metadata.name).toBe('wordpress-{{ index .path.segments 1 }}-{{ .path.basename }}');
  });

  test('it prunes, and every Namespace, claim and volume opts out of pruning and deletion', () => {
    expect(template.syncPolicy.automated.prune).toBe(true);
    expect(appSet.spec.syncPolicy.preserveResourcesOnDeletion).toBe(true);
    const data = allObjects.filter(o => DATA_KINDS.includes(o.kind));
    expect(data.length).toBeGreaterThan(envs.length);
    for (const o of data) expect(o.metadata.annotations['argocd.argoproj.io/sync-options']).toBe('Prune=false,Delete=false');
  });

  test('the Namespace and static volumes sync a wave before the claims and workloads', () => {
    const wave = (o: any) => Number(o.metadata.annotations?.['argocd.argoproj.io/sync-wave'] ?? 0);
    const earlier = allObjects.filter(o => wave(o) < 0);
    expect(new Set(earlier.map(o => o.kind))).toEqual(new Set(['Namespace', 'PersistentVolume']));
    expect(earlier.filter(o => o.kind === 'Namespace')).toHaveLength(allObjects.filter(o => o.kind === 'Namespace').length);
    expect(earlier.filter(o => o.kind === 'PersistentVolume')).toHaveLength(allObjects.filter(o => o.kind === 'PersistentVolume').length);
    // A WaitForFirstConsumer claim binds only once a pod uses it: in an earlier wave it never becomes healthy.
    for (const o of allObjects.filter(x => x.kind !== 'Namespace' && x.kind !== 'PersistentVolume')) expect([o.kind, wave(o)]).toEqual([o.kind, 0]);
  });
});

describe('Flux', () => {
  const source = read('flux/source.yaml');

  test('there is one Kustomization per environment, building its dist/ folder from the GitRepository', () => {
    const files = fs.readdirSync(path.join(GITOPS, 'flux')).filter(f => f !== 'source.yaml').sort();
    expect(files).toEqual(envs.map(e => `${e}.yaml`));
    for (const env of envs) {
      const k = read(`flux/${env}.yaml`);
      expect(k.kind).toBe('Kustomization');
      expect(k.spec.path).toBe(`./dist/${env}`);
      expect(fs.existsSync(path.join(DIST, env, KUSTOMIZATION_FILE))).toBe(true);
      expect(k.spec.sourceRef).toEqual({ kind: source.kind, name: source.metadata.name });
      expect(k.metadata.namespace).toBe(source.metadata.namespace);
      // A target namespace would move every site's objects into one namespace.
      expect(k.spec.targetNamespace).toBeUndefined();
      expect(k.spec.dependsOn).toEqual([{ name: 'infrastructure' }]);
    }
  });

  test.each(envs)('%s prunes, and every Namespace, claim and volume there opts out of pruning', env => {
    expect(read(`flux/${env}.yaml`).spec.prune).toBe(true);
    const data = distObjects(env).filter(o => DATA_KINDS.includes(o.kind));
    expect(data.length).toBeGreaterThan(0);
    for (const o of data) expect(o.metadata.annotations['kustomize.toolkit.fluxcd.io/prune']).toBe('disabled');
  });
});
