import * as fs from 'fs';
import * as path from 'path';
import { stringify } from 'yaml';
import { ChangeSummary } from '../lib/render/change-summary';
import { tempDir } from './support/fixtures';

// What `npm run synth` prints about dist/ (lib/render/change-summary.ts), against a previous tree
// written here by hand.
const doc = (kind: string, name: string, spec: object, namespace = 'blog') => ({ apiVersion: 'v1', kind, metadata: { name, namespace }, spec });
const file = (...objects: object[]) => objects.map(o => stringify(o)).join('---\n');

const CLAIM = doc('PersistentVolumeClaim', 'data', { resources: { requests: { storage: '10Gi' } } });
const DEPLOY = doc('Deployment', 'wordpress', { selector: { matchLabels: { app: 'wp' } }, replicas: 2 });
const SERVICE = doc('Service', 'wordpress', { ports: [{ port: 80 }] });

describe('ChangeSummary', () => {
  const work = tempDir('cdk8s-wp-changes-');
  const previous = path.join(work.dir, 'dist');
  afterAll(() => work.cleanup());

  beforeEach(() => {
    fs.rmSync(previous, { recursive: true, force: true });
    for (const [rel, text] of [['prod/blog/storage.k8s.yaml', file(CLAIM)], ['prod/blog/app.k8s.yaml', file(DEPLOY, SERVICE)], ['prod/old/app.k8s.yaml', file(doc('Namespace', 'old', {}, ''))]]) {
      fs.mkdirSync(path.dirname(path.join(previous, rel)), { recursive: true });
      fs.writeFileSync(path.join(previous, rel), text);
    }
  });

  test('an unchanged site reports nothing, and only sites with changes are listed', () => {
    const summary = new ChangeSummary(previous);
    summary.addSite('prod/blog', [['prod/blog/storage.k8s.yaml', file(CLAIM)], ['prod/blog/app.k8s.yaml', file(DEPLOY, SERVICE)], ['prod/blog/README.md', 'ignored']]);
    expect(summary.changes.get('prod/blog')).toEqual([]);
    expect(summary.text('dist')).toBe('Changes in dist/ against what was there:\n  1 site(s) unchanged\n');
  });

  test('objects added, removed and changed, with claim and selector changes flagged', () => {
    const summary = new ChangeSummary(previous);
    const resized = { ...CLAIM, spec: { resources: { requests: { storage: '20Gi' } } } };
    const reselected = { ...DEPLOY, spec: { selector: { matchLabels: { app: 'other' } }, replicas: 2 } };
    const added = doc('ConfigMap', 'extra', {});
    summary.addSite('prod/blog', [['prod/blog/storage.k8s.yaml', file(resized)], ['prod/blog/app.k8s.yaml', file(reselected, added)]]);
    summary.addRemovedSites();
    expect(summary.changes.get('prod/blog')).toEqual([
      { kind: 'added', object: 'ConfigMap/blog/extra' },
      { kind: 'changed', object: 'Deployment/blog/wordpress', danger: expect.stringMatching(/^its selector changed; selectors are immutable/) },
      { kind: 'changed', object: 'PersistentVolumeClaim/blog/data', danger: expect.stringMatching(/^its spec changed/) },
      { kind: 'removed', object: 'Service/blog/wordpress', danger: undefined },
    ]);
    // A site folder the render no longer has: everything in it removed, its Namespace flagged.
    expect(summary.changes.get('prod/old')).toEqual([{ kind: 'removed', object: 'Namespace/old', danger: expect.stringMatching(/^removing a Namespace deletes the data/) }]);
    expect(summary.text('dist')).toMatch(/prod\/blog: 1 added, 2 changed, 1 removed\n[\s\S]*0 site\(s\) unchanged; 3 dangerous change\(s\): review them before applying\n$/);
  });

  test('a change in replicas or in the order of keys is not dangerous; key order is no change at all', () => {
    const summary = new ChangeSummary(previous);
    const scaled = { ...DEPLOY, spec: { replicas: 3, selector: { matchLabels: { app: 'wp' } } } };
    const reordered = { spec: SERVICE.spec, metadata: SERVICE.metadata, kind: 'Service', apiVersion: 'v1' };
    summary.addSite('prod/blog', [['prod/blog/storage.k8s.yaml', file(CLAIM)], ['prod/blog/app.k8s.yaml', file(scaled, reordered)]]);
    expect(summary.changes.get('prod/blog')).toEqual([{ kind: 'changed', object: 'Deployment/blog/wordpress', danger: undefined }]);
  });

  test('a first render, with no previous tree, lists every object as added', () => {
    const summary = new ChangeSummary(path.join(work.dir, 'none'));
    summary.addSite('prod/blog', [['prod/blog/app.k8s.yaml', file(SERVICE)]]);
    summary.addRemovedSites();
    expect(summary.changes.get('prod/blog')).toEqual([{ kind: 'added', object: 'Service/blog/wordpress' }]);
  });
});
