import { Testing } from 'cdk8s';
import { MyBlogChart } from '../examples/custom-chart';
import { validateManifests } from './support/k8s-schema';

test('the README example chart synthesizes valid manifests wired through objects', () => {
  const objects = Testing.synth(new MyBlogChart(Testing.app(), 'my-blog'));
  expect(validateManifests(objects)).toEqual([]);
  const deployment = objects.find(o => o.kind === 'Deployment');
  expect(deployment.spec.template.spec.containers[0].env).toContainEqual({ name: 'WORDPRESS_DB_HOST', value: 'mariadb.my-blog.svc.cluster.local:3306' });
  expect(objects.find(o => o.kind === 'Ingress').metadata.annotations).toEqual({ 'cert-manager.io/cluster-issuer': 'letsencrypt-prod' });
});
