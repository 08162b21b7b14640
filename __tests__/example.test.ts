import * as fs from 'fs';
import * as path from 'path';
import { Testing } from 'cdk8s';
import { MyBlogChart } from '../examples/custom-chart';
import { REPO } from './support/fixtures';
import { validateManifests } from './support/k8s-schema';

// The same file is compiled against the packed package by __tests__/package.integration.test.ts.
const EXAMPLE = path.join(REPO, 'examples', 'custom-chart.ts');

test('the README example chart synthesizes valid manifests wired through objects', () => {
  const objects = Testing.synth(new MyBlogChart(Testing.app(), 'my-blog'));
  expect(validateManifests(objects)).toEqual([]);
  const deployment = objects.find(o => o.kind === 'Deployment');
  expect(deployment.spec.template.spec.containers[0].env).toContainEqual({ name: 'WORDPRESS_DB_HOST', value: 'mariadb.my-blog.svc.cluster.local:3306' });
  expect(objects.find(o => o.kind === 'Ingress').metadata.annotations).toEqual({ 'cert-manager.io/cluster-issuer': 'letsencrypt-prod' });
  const db = objects.find(o => o.kind === 'StatefulSet').spec.template.spec.affinity;
  // AntiAffinity added the required node rule and, with mode NONE, no pod anti-affinity.
  expect(db).toEqual({ nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd'] }] }] } } });
  // WordPressApp placed its own replicas (soft anti-affinity by default).
  expect(objects.find(o => o.kind === 'Deployment').spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution).toHaveLength(1);
});

test('README\'s "Using the constructs" snippet is examples/custom-chart.ts, whole', () => {
  const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Using the constructs in your own chart'));
  const snippet = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  expect(snippet).toBe(fs.readFileSync(EXAMPLE, 'utf8'));
});
