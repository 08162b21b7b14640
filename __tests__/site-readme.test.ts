// dist/<env>/<site>/README.md is drawn from the rendered objects: every workload, Service, Ingress
// and claim is a node, every connection a NetworkPolicy allows is an arrow, and every Secret the
// pods read has a create command with exactly the keys they read, and no value.
import * as fs from 'fs';
import * as path from 'path';
import { siteReadme } from '../lib/render/site-readme';
import { REPO, SITE_VARIANTS, exampleSites, siteObjects, variantSites } from './support/fixtures';

const sites = [...exampleSites(), ...variantSites()];
const mermaid = (readme: string) => /```mermaid\n([\s\S]*?)```/.exec(readme)![1].trim().split('\n');
const nodeId = (kind: string, name: string) => `${kind}_${name}`.replace(/[^A-Za-z0-9_]/g, '_');

/** The arrows of a diagram as `from -- label --> to` with readable ends. */
function arrows(readme: string): string[] {
  return mermaid(readme).flatMap(l => {
    const m = /^\s+(\S+) (-->|-\.->|-- "([^"]*)" -->) (\S+)$/.exec(l);
    return m ? [`${m[1]} ${m[3] ?? m[2]} ${m[4]}`] : [];
  });
}

test.each(sites.map(s => [s.label, s.objects]))('%s: every workload, Service, Ingress and claim is a node, every arrow joins two nodes', (label, objects) => {
  const readme = siteReadme('env', String(label), objects);
  const lines = mermaid(readme);
  expect(lines[0]).toBe('flowchart LR');
  const declared = new Set(lines.flatMap(l => /^\s+(\w+)[[({]/.exec(l)?.[1] ?? []));
  for (const o of objects.filter((x: any) => ['Deployment', 'StatefulSet', 'CronJob', 'Job', 'Service', 'Ingress', 'HTTPRoute', 'Route', 'PersistentVolumeClaim', 'PersistentVolume'].includes(x.kind))) {
    expect([o.kind, declared.has(nodeId(o.kind, o.metadata.name))]).toEqual([o.kind, true]);
  }
  for (const a of arrows(readme)) {
    const [from, , to] = [a.split(' ')[0], '', a.split(' ').pop()!];
    expect([a, declared.has(from), declared.has(to)]).toEqual([a, true, true]);
  }
});

test.each(sites.map(s => [s.label, s.objects]))('%s: a create command for each Secret the pods read, with exactly their keys and no value', (label, objects) => {
  const readme = siteReadme('env', String(label), objects);
  const read = new Map<string, Set<string>>();
  const visit = (x: any): void => {
    if (Array.isArray(x)) return x.forEach(visit);
    if (x === null || typeof x !== 'object') return;
    if (x.secretKeyRef) read.set(x.secretKeyRef.name, (read.get(x.secretKeyRef.name) ?? new Set()).add(x.secretKeyRef.key));
    if (x.secret?.secretName) for (const i of x.secret.items ?? []) read.set(x.secret.secretName, (read.get(x.secret.secretName) ?? new Set()).add(i.key));
    Object.values(x).forEach(visit);
  };
  objects.filter((o: any) => o.kind !== 'Ingress').forEach(visit);
  expect(read.size).toBeGreaterThan(0);
  const namespace = objects.find((o: any) => o.kind === 'Namespace').metadata.name;
  for (const [name, keys] of read) {
    if (keys.has('tls.crt')) {
      // A certificate: created from files or written by OpenShift's service CA, never from random bytes.
      expect(readme).toMatch(new RegExp(`^(kubectl -n ${namespace} create secret tls ${name} --cert=path/to/tls.crt --key=path/to/tls.key|# ${name}: written by OpenShift's service CA for Service \\S+; nothing to create)$`, 'm'));
      expect(readme).not.toContain(`create secret generic ${name} `);
      continue;
    }
    const command = new RegExp(`kubectl -n ${namespace} create secret generic ${name} \\\\\\n((?:  --from-literal=.*\\n?)+)`).exec(readme);
    expect(command).not.toBeNull();
    const literals = command![1].trim().split(' \\\n').map(l => l.trim());
    expect(literals.map(l => /^--from-literal=([^=]+)=/.exec(l)![1]).sort()).toEqual([...keys].sort());
    // Values are made at the operator's shell, never written here.
    for (const l of literals) expect(l).toMatch(/^--from-literal=[^=]+="\$\(openssl rand -base64 48 \| tr -d '\\n'\)"$/);
  }
});

test('TLS: cert-manager writes its Secret, an existing one gets a create secret tls command', () => {
  expect(siteReadme('e', 'blog', siteObjects({ exposure: { host: 'a.example.com', tls: { issuer: 'letsencrypt' } } })))
    .toContain('# wordpress-tls: written by cert-manager for Ingress wordpress; nothing to create');
  const hard = siteReadme('e', 'blog', siteObjects(SITE_VARIANTS.hardZones));
  expect(hard).toContain('kubectl -n blog create secret tls b-tls --cert=path/to/tls.crt --key=path/to/tls.key');
  expect(siteReadme('e', 'blog', siteObjects(SITE_VARIANTS.nodePort))).not.toContain('secret tls');
});

test('Gateway API and OpenShift routes point at the Service they send to', () => {
  const arrowsOf = (label: string) => arrows(siteReadme('staging', label, exampleSites().find(s => s.label === `staging/${label}`)!.objects));
  expect(arrowsOf('docs')).toContain('HTTPRoute_wordpress --> Service_wordpress');
  expect(arrowsOf('intranet')).toContain('Route_wordpress --> Service_wordpress');
  const intranet = siteReadme('staging', 'intranet', exampleSites().find(s => s.label === 'staging/intranet')!.objects);
  expect(intranet).toContain("# wordpress-serving-cert: written by OpenShift's service CA for Service wordpress; nothing to create");
});

test('the arrows are the connections the NetworkPolicies allow, read from the policies themselves', () => {
  const objects = exampleSites().find(s => s.label === 'prod/blog')!.objects;
  const network = (objs: any[]) => arrows(siteReadme('prod', 'blog', objs)).filter(a => !/ (-->|-\.->) /.test(a));
  const ingress = 'peer_pods_app_kubernetes_io_name_ingress_nginx_in_namespace_ingress_nginx';
  const dns = 'peer_pods_k8s_app_kube_dns_in_namespace_kube_system';
  expect(network(objects).sort()).toEqual([
    `CronJob_mariadb_backup TCP 3306 StatefulSet_mariadb`,
    `CronJob_mariadb_backup UDP 53, TCP 53 ${dns}`,
    'CronJob_wordpress_cron TCP 80 Deployment_wordpress',
    `CronJob_wordpress_cron UDP 53, TCP 53 ${dns}`,
    `Deployment_wordpress TCP 3306 StatefulSet_mariadb`,
    `Deployment_wordpress UDP 53, TCP 53 ${dns}`,
    `StatefulSet_mariadb UDP 53, TCP 53 ${dns}`,
    `${ingress} TCP 80 Deployment_wordpress`,
    // metrics.enabled: Prometheus scrapes the exporters.
    'peer_pods_any_in_namespace_monitoring TCP 9104 StatefulSet_mariadb',
    'peer_pods_any_in_namespace_monitoring TCP 9117 Deployment_wordpress',
  ].sort());
  // The primary's Service picks pod mariadb-0 by the label the StatefulSet controller sets.
  expect(arrows(siteReadme('prod', 'blog', objects))).toContain('Service_mariadb --> StatefulSet_mariadb');
  // Without the egress policy to MariaDB, its clients' ingress permission alone draws no arrow.
  const withoutEgress = objects.filter(o => o.metadata.name !== 'allow-to-mariadb');
  expect(network(withoutEgress).filter(a => a.includes('3306'))).toEqual([]);
  // With internet egress, WordPress gets an arrow to the public range.
  const open = network(siteObjects({ exposure: { host: 'a.example.com' }, security: { allowInternetEgress: true } }));
  expect(open.filter(a => a.startsWith('Deployment_wordpress TCP 80, TCP 443 peer_0_0_0_0_0'))).toHaveLength(1);
});

test('the committed site READMEs are plain Markdown beside the manifests, never *.k8s.yaml', () => {
  for (const s of exampleSites()) {
    const file = path.join(REPO, 'dist', s.label, 'README.md');
    expect(fs.readFileSync(file, 'utf8')).toBe(siteReadme(s.label.split('/')[0], s.label.split('/')[1], s.objects));
  }
});
