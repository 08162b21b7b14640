import * as fs from 'fs';
import * as path from 'path';
import { ApiObject, Chart, JsonPatch, Testing } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { loadEnvironment } from '../lib/config/load';
import { SiteConfig } from '../lib/config/schema';
import { DEPLOY_VERBS, DeployerAccess, READ_ONLY_KINDS, READ_VERBS, pluralResource } from '../lib/constructs/deployer-access';
import { NamespaceQuota, quantityAmount } from '../lib/constructs/namespace-quota';
import { WebAccess } from '../lib/constructs/network-policies';
import { STORAGE_KINDS } from '../lib/render/render';
import { renderingEachObjectOnce } from '../lib/k8s/render-once';
import { WordPressChart } from '../lib/chart/wordpress-chart';
import { MINIMAL_SITE, REPO, exampleSites, podLabelsOf, podTemplate, readTree, siteObjects } from './support/fixtures';
import { validateManifests } from './support/k8s-schema';
import { closeSecretScanner, scanForSecrets } from './support/secret-scan';

afterAll(closeSecretScanner);

// ---------------------------------------------------------------------------------------------
// The sites every table below runs over: the example configs plus variants for the other paths.

const RESTORE_FILE = 'wordpress-20250131T031700Z.sql.gz';
const VARIANTS: Record<string, SiteConfig> = {
  'minimal': MINIMAL_SITE,
  'nodePort': { wordpress: { replicas: 1, content: { accessModes: ['ReadWriteOnce'] } }, exposure: { type: 'nodePort', nodePort: 30080 } },
  'loadBalancer': { exposure: { type: 'loadBalancer' } },
  'restore': { exposure: { host: 'r.example.com' }, backup: { restore: { file: RESTORE_FILE } } },
  'no backup': { exposure: { host: 'n.example.com' }, backup: { enabled: false } },
  'internet, deployer reading secrets, own selectors': {
    exposure: { host: 'd.example.com', tls: { secretName: 'd-tls' } },
    security: {
      allowInternetEgress: true,
      ingressController: { namespaceSelector: { 'team': 'edge' }, podSelector: { 'app.kubernetes.io/name': 'traefik' } },
      dns: { namespaceSelector: { 'kubernetes.io/metadata.name': 'dns' }, podSelector: { app: 'coredns' } },
      quota: { headroomPercent: 50 },
      deployer: { enabled: true, readSecrets: true },
    },
  },
  // The other front doors, TLS modes and canaries (staging.yaml has one of each kind as well).
  'gateway with a canary': {
    wordpress: { canary: { image: 'wordpress:6.8-php8.4-apache', weight: 25 } },
    exposure: { type: 'gateway', host: 'g.example.com', gateway: { name: 'public', namespace: 'edge', sectionName: 'https', redirect: { sectionName: 'http' } } },
    security: { deployer: { enabled: true } },
  },
  'route edge with a canary, own router selector': {
    wordpress: { canary: { image: 'wordpress:6.8-php8.4-apache', weight: 1 } },
    exposure: { type: 'route', host: 'r.apps.example.com', path: '/blog' },
    security: { router: { namespaceSelector: { 'kubernetes.io/metadata.name': 'openshift-ingress' }, podSelector: { 'ingresscontroller.operator.openshift.io/deployment-ingresscontroller': 'default' } } },
  },
  'route passthrough': { exposure: { type: 'route', host: 'p.apps.example.com', tls: { mode: 'passthrough', backendSecret: 'p-tls' } } },
  'ingress reencrypt with a canary': {
    wordpress: { canary: { image: 'wordpress:6.8-php8.4-apache', weight: 10 } },
    exposure: { host: 'e.example.com', tls: { mode: 'reencrypt', secretName: 'e-tls', backendSecret: 'e-backend-tls' } },
  },
  'ingress passthrough': { exposure: { host: 't.example.com', tls: { mode: 'passthrough', backendSecret: 't-tls' } } },
  'istio canary, deployer': {
    wordpress: { canary: { image: 'wordpress:6.8-php8.4-apache', weight: 50 } },
    exposure: { host: 'k.example.com', mesh: 'istio' },
    security: { deployer: { enabled: true, readSecrets: true } },
  },
  'metrics, standalone, own Prometheus selector': {
    exposure: { host: 'pm.example.com' },
    metrics: { enabled: true },
    security: { prometheus: { namespaceSelector: { 'kubernetes.io/metadata.name': 'observability' }, podSelector: { 'app.kubernetes.io/name': 'prometheus' } } },
  },
  'metrics, replicated, no backup': {
    exposure: { host: 'pr.example.com' },
    database: { mode: 'replication', replicas: 2 },
    backup: { enabled: false },
    metrics: { enabled: true },
  },
  'istio without a canary, own istiod selector': {
    exposure: { host: 'i.example.com', mesh: 'istio' },
    security: { istiod: { namespaceSelector: { 'kubernetes.io/metadata.name': 'istio-system' }, podSelector: { 'istio.io/rev': 'stable' } } },
  },
};

interface Site {
  readonly label: string;
  readonly config: SiteConfig;
  readonly objects: any[];
}

const EXAMPLES = exampleSites();
const SITES: Site[] = [
  ...EXAMPLES.map(s => ({ ...s, config: exampleConfig(s.label) })),
  ...Object.entries(VARIANTS).map(([label, config]) => ({ label: `variant/${label}`, config, objects: siteObjects(config) })),
];

function exampleConfig(label: string): SiteConfig {
  const [env, site] = label.split('/');
  const file = path.join(REPO, 'config', `${env}.yaml`);
  return loadEnvironment(file, fs.readFileSync(file, 'utf8')).environments[0].sites[site];
}

interface Pod {
  /** `Kind/name` of the workload. */
  readonly workload: string;
  readonly kind: string;
  readonly labels: Record<string, string>;
  readonly spec: any;
  /** Names of a StatefulSet's volumeClaimTemplates: volumes that are not in the pod spec. */
  readonly claimTemplates: string[];
}

function podsOf(objects: any[]): Pod[] {
  return objects.filter(o => podTemplate(o)).map(o => {
    const t = podTemplate(o);
    const claimTemplates = (o.spec.volumeClaimTemplates ?? []).map((c: any) => c.metadata.name);
    return { workload: `${o.kind}/${o.metadata.name}`, kind: o.kind, labels: t.metadata.labels, spec: t.spec, claimTemplates };
  });
}

const containersOf = (spec: any): any[] => [...spec.initContainers ?? [], ...spec.containers, ...spec.ephemeralContainers ?? []];

/** The containers a pod template runs with, counting the sidecar Istio injects at the size its annotations give. */
function runningContainers(template: any): any[] {
  const a = template.metadata?.annotations ?? {};
  const proxy = a['sidecar.istio.io/proxyCPU'] === undefined ? [] : [{
    name: 'istio-proxy',
    resources: {
      requests: { cpu: a['sidecar.istio.io/proxyCPU'], memory: a['sidecar.istio.io/proxyMemory'] },
      limits: { cpu: a['sidecar.istio.io/proxyCPULimit'], memory: a['sidecar.istio.io/proxyMemoryLimit'] },
    },
  }];
  return [...template.spec.containers, ...proxy];
}
const ofKind = (objects: any[], kind: string) => objects.filter(o => o.kind === kind);

test('the tables cover every workload kind the chart emits', () => {
  const kinds = new Set(SITES.flatMap(s => podsOf(s.objects).map(p => p.kind)));
  expect([...kinds].sort()).toEqual(['CronJob', 'Deployment', 'Job', 'StatefulSet']);
});

describe.each(SITES)('$label: every object validates strictly against Kubernetes 1.27', ({ objects }) => {
  test('schema', () => expect(validateManifests(objects)).toEqual([]));
});

// ---------------------------------------------------------------------------------------------
// Pod Security Standards "restricted" (and the baseline it includes), one row per control.
// Each row can also break a real pod spec, to show that the check catches it.

const ALLOWED_VOLUMES = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret'];
const SAFE_SYSCTLS = ['kernel.shm_rmid_forced', 'net.ipv4.ip_local_port_range', 'net.ipv4.ip_unprivileged_port_start', 'net.ipv4.tcp_syncookies', 'net.ipv4.ping_group_range'];
const SELINUX_TYPES = ['', 'container_t', 'container_init_t', 'container_kvm_t'];

interface Control {
  readonly control: string;
  /** Violations in one pod spec (empty when it complies). */
  readonly check: (spec: any) => string[];
  /** Make a compliant pod spec violate the control. */
  readonly breakIt: (spec: any) => void;
}

const each = (spec: any, bad: (c: any) => boolean, what: string) => containersOf(spec).filter(bad).map(c => `${c.name}: ${what}`);
const effective = (spec: any, c: any, field: string) => c.securityContext?.[field] ?? spec.securityContext?.[field];

const CONTROLS: Control[] = [
  {
    control: 'no host namespaces',
    check: s => ['hostNetwork', 'hostPID', 'hostIPC'].filter(f => s[f] === true),
    breakIt: s => { s.hostNetwork = true; },
  },
  {
    control: 'no privileged containers',
    check: s => each(s, c => c.securityContext?.privileged === true, 'privileged'),
    breakIt: s => { s.containers[0].securityContext.privileged = true; },
  },
  {
    control: 'capabilities: drop ALL, add at most NET_BIND_SERVICE',
    check: s => each(s, c => !c.securityContext?.capabilities?.drop?.includes('ALL')
      || (c.securityContext.capabilities.add ?? []).some((a: string) => a !== 'NET_BIND_SERVICE'), 'capabilities'),
    breakIt: s => { s.containers[0].securityContext.capabilities.add = ['SYS_ADMIN']; },
  },
  {
    control: 'no host ports',
    check: s => each(s, c => (c.ports ?? []).some((p: any) => p.hostPort), 'hostPort'),
    breakIt: s => { s.containers[0].ports = [{ containerPort: 8080, hostPort: 8080 }]; },
  },
  {
    control: 'only restricted volume types',
    check: s => (s.volumes ?? []).filter((v: any) => Object.keys(v).filter(k => k !== 'name').some(k => !ALLOWED_VOLUMES.includes(k))).map((v: any) => v.name),
    breakIt: s => { s.volumes.push({ name: 'host', hostPath: { path: '/' } }); },
  },
  {
    control: 'no privilege escalation',
    check: s => each(s, c => c.securityContext?.allowPrivilegeEscalation !== false, 'allowPrivilegeEscalation'),
    breakIt: s => { delete s.containers[0].securityContext.allowPrivilegeEscalation; },
  },
  {
    control: 'runs as non-root',
    check: s => each(s, c => effective(s, c, 'runAsNonRoot') !== true, 'runAsNonRoot'),
    breakIt: s => { s.containers[0].securityContext.runAsNonRoot = false; },
  },
  {
    control: 'runAsUser is not 0',
    check: s => [...(s.securityContext?.runAsUser === 0 ? ['pod: runAsUser 0'] : []), ...each(s, c => c.securityContext?.runAsUser === 0, 'runAsUser 0')],
    breakIt: s => { s.securityContext.runAsUser = 0; },
  },
  {
    control: 'seccomp RuntimeDefault or Localhost',
    check: s => each(s, c => !['RuntimeDefault', 'Localhost'].includes(effective(s, c, 'seccompProfile')?.type), 'seccompProfile'),
    breakIt: s => { s.containers[0].securityContext.seccompProfile = { type: 'Unconfined' }; },
  },
  {
    control: 'only safe sysctls',
    check: s => (s.securityContext?.sysctls ?? []).map((x: any) => x.name).filter((n: string) => !SAFE_SYSCTLS.includes(n)),
    breakIt: s => { s.securityContext.sysctls = [{ name: 'net.core.somaxconn', value: '1024' }]; },
  },
  {
    control: 'default /proc mount, SELinux type and AppArmor profile',
    check: s => [
      ...each(s, c => (c.securityContext?.procMount ?? 'Default') !== 'Default', 'procMount'),
      ...each(s, c => {
        const se = effective(s, c, 'seLinuxOptions');
        return !!se && (!SELINUX_TYPES.includes(se.type ?? '') || se.user !== undefined || se.role !== undefined);
      }, 'seLinuxOptions'),
    ],
    breakIt: s => { s.containers[0].securityContext.procMount = 'Unmasked'; },
  },
  {
    control: 'read-only root filesystem',
    check: s => each(s, c => c.securityContext?.readOnlyRootFilesystem !== true, 'readOnlyRootFilesystem'),
    breakIt: s => { s.containers[0].securityContext.readOnlyRootFilesystem = false; },
  },
  {
    control: 'own ServiceAccount without a mounted token',
    check: s => [
      ...(s.automountServiceAccountToken !== false ? ['automountServiceAccountToken'] : []),
      ...(!s.serviceAccountName || s.serviceAccountName === 'default' ? ['serviceAccountName'] : []),
    ],
    breakIt: s => { delete s.automountServiceAccountToken; },
  },
];

describe.each(SITES)('$label: Pod Security "restricted"', ({ objects }) => {
  test('the Namespace enforces, audits and warns on "restricted"', () => {
    const [ns] = ofKind(objects, 'Namespace');
    for (const mode of ['enforce', 'audit', 'warn']) expect(ns.metadata.labels[`pod-security.kubernetes.io/${mode}`]).toBe('restricted');
  });

  test.each(CONTROLS)('$control', ({ check }) => {
    const violations = podsOf(objects).flatMap(p => check(p.spec).map(v => `${p.workload}: ${v}`));
    expect(violations).toEqual([]);
  });

  test('no pod template carries an AppArmor override other than the runtime default', () => {
    for (const p of podsOf(objects)) {
      const template = podTemplate(objects.find(o => `${o.kind}/${o.metadata.name}` === p.workload));
      for (const [k, v] of Object.entries<string>(template.metadata.annotations ?? {})) {
        if (k.startsWith('container.apparmor.security.beta.kubernetes.io/')) expect(v === 'runtime/default' || v.startsWith('localhost/')).toBe(true);
      }
    }
  });
});

test.each(CONTROLS)('the "$control" check catches a pod spec that breaks it', ({ check, breakIt }) => {
  const spec = structuredClone(podsOf(siteObjects())[0].spec);
  expect(check(spec)).toEqual([]);
  breakIt(spec);
  expect(check(spec).length).toBeGreaterThan(0);
});

// How the official images behave (docs/security.md): the user each runs as, and the paths each
// writes to, which must be writable mounts because the root filesystem is read-only.
// Both tracks: the first copy of WordPress onto the content volume runs in an init container.
const WEB_NEEDS = {
  image: /^wordpress:.*apache/, uid: 33, writable: ['/var/www/html', '/tmp', '/var/run/apache2', '/var/lock/apache2'],
  initContainers: { 'copy-wordpress': ['/var/www/html', '/tmp'] },
  // A static Go binary that writes nothing and reads no file, as the image's own user (metrics.enabled).
  sidecars: { 'apache-exporter': { image: /^quay\.io\/lusitaniae\/apache-exporter:v/, writable: [], uid: 65534 } },
};
interface ImageNeeds {
  readonly image: RegExp;
  readonly uid: number;
  readonly writable: string[];
  readonly initContainers?: Record<string, string[]>;
  /** Containers of another image in the same pod, with what they write. */
  readonly sidecars?: Record<string, { image: RegExp; writable: string[]; uid?: number }>;
}
const IMAGE_NEEDS: Record<string, ImageNeeds> = {
  'web': WEB_NEEDS,
  'web-canary': WEB_NEEDS,
  database: {
    image: /^mariadb:/, uid: 999, writable: ['/var/lib/mysql', '/run/mysqld', '/tmp'],
    // Replication's init containers: the ordinal's my.cnf, and a new replica's seed dump.
    // The exporter's my.cnf is written from the Secret file (metrics.enabled).
    initContainers: { 'config': ['/etc/mysql/conf.d'], 'seed': ['/docker-entrypoint-initdb.d', '/tmp'], 'exporter-config': ['/etc/mysqld-exporter'] },
    // A static Go binary that writes nothing.
    sidecars: { 'mysqld-exporter': { image: /^prom\/mysqld-exporter:v/, writable: [] } },
  },
  backup: { image: /^mariadb:/, uid: 999, writable: ['/tmp', '/backups'] },
  restore: { image: /^mariadb:/, uid: 999, writable: ['/tmp'] },
  // curl writes nothing: its output goes to /dev/null.
  cron: { image: /^wordpress:.*apache/, uid: 33, writable: [] },
};

/** Sites whose platform assigns the UIDs (OpenShift): their pods name none. */
const assignsUids = (config: SiteConfig) => config.security?.assignedUids ?? config.exposure?.type === 'route';

describe.each(SITES)('$label: settings derived from the images', ({ objects, config }) => {
  const assigned = assignsUids(config);
  test.each(podsOf(objects).map(p => ({ ...p, component: p.labels['app.kubernetes.io/component'] })))('$workload ($component)', p => {
    const needs = IMAGE_NEEDS[p.component];
    expect(needs).toBeDefined();
    if (assigned) {
      // OpenShift's restricted SCC rejects IDs outside the namespace's range and assigns them itself.
      for (const f of ['runAsUser', 'runAsGroup', 'fsGroup']) expect([f, p.spec.securityContext[f]]).toEqual([f, undefined]);
      for (const c of containersOf(p.spec)) for (const f of ['runAsUser', 'runAsGroup']) expect([c.name, f, c.securityContext[f]]).toEqual([c.name, f, undefined]);
    } else {
      expect(p.spec.securityContext).toMatchObject({ runAsUser: needs.uid, runAsGroup: needs.uid, fsGroup: needs.uid });
    }
    const volumes = new Map<string, any>([
      ...(p.spec.volumes ?? []).map((v: any) => [v.name, v]),
      ...p.claimTemplates.map(name => [name, { persistentVolumeClaim: { claimName: name } }]),
    ]);
    for (const c of containersOf(p.spec)) {
      const sidecar = needs.sidecars?.[c.name];
      expect(c.image).toMatch(sidecar?.image ?? needs.image);
      expect([c.name, effective(p.spec, c, 'runAsUser')]).toEqual([c.name, assigned ? undefined : sidecar?.uid ?? needs.uid]);
      const writableMounts = (c.volumeMounts ?? []).filter((m: any) => !m.readOnly).map((m: any) => m.mountPath);
      const isInit = (p.spec.initContainers ?? []).includes(c);
      const writable = isInit ? needs.initContainers?.[c.name] : sidecar?.writable ?? needs.writable;
      expect([c.name, writableMounts.sort()]).toEqual([c.name, [...writable ?? []].sort()]);
      // Every other writable place is a claim (data) or an emptyDir (scratch): nothing from the image.
      for (const m of (c.volumeMounts ?? []).filter((x: any) => !x.readOnly)) {
        const v = volumes.get(m.name);
        expect([m.mountPath, !!(v?.emptyDir || v?.persistentVolumeClaim)]).toEqual([m.mountPath, true]);
      }
    }
  });

  test('a non-root process can bind every privileged container port it declares', () => {
    for (const p of podsOf(objects)) {
      const low = containersOf(p.spec).flatMap(c => (c.ports ?? []).map((x: any) => x.containerPort)).filter((n: number) => n < 1024);
      if (!low.length) continue;
      const sysctl = (p.spec.securityContext.sysctls ?? []).find((x: any) => x.name === 'net.ipv4.ip_unprivileged_port_start');
      expect([p.workload, Number(sysctl?.value ?? 1024) <= Math.min(...low)]).toEqual([p.workload, true]);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// NetworkPolicies, evaluated as Kubernetes does: a pod isolated in a direction by any policy gets
// only what some policy selecting it allows; a connection needs the sender's egress and the
// receiver's ingress.

type Labels = Record<string, string>;
interface Endpoint { readonly name: string; readonly namespace: Labels; readonly pod: Labels }
interface Port { readonly port: number; readonly name?: string; readonly protocol: string }

function selects(selector: any, labels: Labels): boolean {
  // The policies use matchLabels only; an expression would need this matcher extended.
  expect(selector.matchExpressions).toBeUndefined();
  return Object.entries<string>(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
}

function peerMatches(peer: any, other: Endpoint, ownNamespace: Labels): boolean {
  if (peer.ipBlock) return false; // pod addresses are not predictable; ipBlocks are tested on their own
  const namespaceOk = peer.namespaceSelector ? selects(peer.namespaceSelector, other.namespace) : other.namespace === ownNamespace;
  return namespaceOk && selects(peer.podSelector ?? {}, other.pod);
}

function allowedBy(policies: any[], direction: 'Ingress' | 'Egress', self: Endpoint, other: Endpoint, port: Port): boolean {
  const applying = policies.filter(p => p.spec.policyTypes.includes(direction) && selects(p.spec.podSelector, self.pod));
  if (!applying.length) return true;
  const [rulesKey, peersKey] = direction === 'Ingress' ? ['ingress', 'from'] : ['egress', 'to'];
  return applying.some(p => (p.spec[rulesKey] ?? []).some((rule: any) =>
    (rule.ports ?? [{}]).some((rp: any) => (rp.protocol ?? 'TCP') === port.protocol && (rp.port === undefined || rp.port === port.port || rp.port === port.name))
    && (rule[peersKey] === undefined || rule[peersKey].some((peer: any) => peerMatches(peer, other, self.namespace)))));
}

function connects(site: { policies: any[]; ns: Labels }, from: Endpoint, to: Endpoint, port: Port): boolean {
  const ownEgress = from.namespace === site.ns ? allowedBy(site.policies, 'Egress', from, to, port) : true;
  const ownIngress = to.namespace === site.ns ? allowedBy(site.policies, 'Ingress', to, from, port) : true;
  return ownEgress && ownIngress;
}

function networkOf(s: Site) {
  const ns = ofKind(s.objects, 'Namespace')[0];
  const nsLabels: Labels = { ...ns.metadata.labels, 'kubernetes.io/metadata.name': ns.metadata.name };
  const pods = podsOf(s.objects);
  const endpoints: Endpoint[] = pods.map(p => ({ name: p.workload, namespace: nsLabels, pod: p.labels }));
  const portsOf = (p: Pod): Port[] => containersOf(p.spec).flatMap(c => (c.ports ?? [])
    .map((x: any) => ({ port: x.containerPort, name: x.name, protocol: x.protocol ?? 'TCP' })));
  return { policies: ofKind(s.objects, 'NetworkPolicy'), ns: nsLabels, pods, endpoints, portsOf };
}

/** Workloads that connect to the database, read from their env (not from the wiring under test). */
/**
 * Workloads whose containers name a Service in front of `server`'s pods, or one of its pods by its
 * per-pod DNS name (database replicas name their primary).
 */
function clientsOf(objects: any[], server: any): string[] {
  const suffix = `.${server.metadata.namespace}.svc.cluster.local`;
  const hosts = ofKind(objects, 'Service')
    .filter(x => x.spec.type === 'ClusterIP' && x.spec.clusterIP !== 'None'
      && podLabelsOf(server).some(labels => selects({ matchLabels: x.spec.selector }, labels)))
    .map(x => `${x.metadata.name}${suffix}`);
  expect(hosts.length).toBeGreaterThan(0);
  const names = (value: string) => hosts.some(h => value.startsWith(h) || value.includes(`//${h}`))
    || (server.spec.serviceName !== undefined && new RegExp(`^${server.metadata.name}-[0-9]+\\.${server.spec.serviceName}\\.`).test(value));
  return podsOf(objects).filter(p => containersOf(p.spec).some(c => (c.env ?? []).some((e: any) => names(e.value ?? '')))).map(p => p.workload);
}

/** What sends the site's requests to WordPress for each exposure type, and the pod labels of its proxies. */
function frontDoor(config: SiteConfig): { name: string; source?: { namespaceSelector: Labels; podSelector?: Labels }; pod: Labels } | undefined {
  const security = config.security ?? {};
  switch (config.exposure?.type ?? 'ingress') {
    case 'ingress':
      return {
        name: 'ingress controller', pod: { 'app.kubernetes.io/name': 'ingress-nginx' },
        source: security.ingressController ?? { namespaceSelector: { 'kubernetes.io/metadata.name': 'ingress-nginx' } },
      };
    case 'gateway':
      return {
        name: 'gateway', pod: { 'gateway.networking.k8s.io/gateway-name': config.exposure!.gateway!.name },
        source: security.gateway ?? { namespaceSelector: { 'kubernetes.io/metadata.name': config.exposure!.gateway!.namespace } },
      };
    case 'route':
      return {
        name: 'OpenShift router', pod: { 'ingresscontroller.operator.openshift.io/deployment-ingresscontroller': 'default' },
        source: security.router ?? { namespaceSelector: { 'policy-group.network.openshift.io/ingress': '' } },
      };
    default:
      return undefined; // NodePort/LoadBalancer: no proxy in between
  }
}

describe.each(SITES)('$label: NetworkPolicies', s => {
  const net = networkOf(s);
  const security = s.config.security ?? {};
  const door = frontDoor(s.config);
  const viaProxy = door !== undefined;
  const controller: Endpoint = {
    name: door?.name ?? 'client',
    namespace: door?.source ? { ...door.source.namespaceSelector } : { 'kubernetes.io/metadata.name': 'ingress-nginx' },
    pod: { ...door?.pod, ...door?.source?.podSelector },
  };
  const backendTls = (s.config.exposure?.tls?.mode ?? 'edge') !== 'edge';
  const mesh = s.config.exposure?.mesh === 'istio';
  const dns: Endpoint = {
    name: 'cluster DNS',
    namespace: security.dns?.namespaceSelector ?? { 'kubernetes.io/metadata.name': 'kube-system' },
    pod: security.dns?.podSelector ?? { 'k8s-app': 'kube-dns' },
  };
  const stranger: Endpoint = { name: 'pod in another namespace', namespace: { 'kubernetes.io/metadata.name': 'other' }, pod: { app: 'x' } };
  const web = net.pods.find(p => p.kind === 'Deployment')!;
  const webPods = net.pods.filter(p => p.kind === 'Deployment');
  const db = net.pods.find(p => p.kind === 'StatefulSet')!;
  const endpoint = (p: Pod) => net.endpoints.find(e => e.name === p.workload)!;

  test('a default deny selects every pod in both directions and allows nothing', () => {
    const deny = net.policies.filter(p => Object.keys(p.spec.podSelector).length === 0 && !p.spec.ingress && !p.spec.egress);
    expect(deny.map(p => [...p.spec.policyTypes].sort())).toEqual([['Egress', 'Ingress']]);
  });

  test('every policy, and every peer inside the namespace, selects pods that exist', () => {
    for (const p of net.policies) {
      expect([p.metadata.name, net.pods.some(pod => selects(p.spec.podSelector, pod.labels))]).toEqual([p.metadata.name, true]);
      for (const rule of [...p.spec.ingress ?? [], ...p.spec.egress ?? []]) {
        for (const peer of [...rule.from ?? [], ...rule.to ?? []].filter((x: any) => x.podSelector && !x.namespaceSelector)) {
          expect([p.metadata.name, net.pods.some(pod => selects(peer.podSelector, pod.labels))]).toEqual([p.metadata.name, true]);
        }
      }
    }
  });

  test('ingress ports are ports the selected pods declare; egress ports inside the namespace are ports of the peers', () => {
    for (const p of net.policies) {
      for (const rule of p.spec.ingress ?? []) {
        for (const pod of net.pods.filter(x => selects(p.spec.podSelector, x.labels))) {
          for (const rp of rule.ports) expect([p.metadata.name, net.portsOf(pod).some(x => x.port === rp.port && x.protocol === rp.protocol)]).toEqual([p.metadata.name, true]);
        }
      }
      for (const rule of p.spec.egress ?? []) {
        for (const peer of rule.to.filter((x: any) => x.podSelector && !x.namespaceSelector)) {
          for (const pod of net.pods.filter(x => selects(peer.podSelector, x.labels))) {
            for (const rp of rule.ports) expect([p.metadata.name, net.portsOf(pod).some(x => x.port === rp.port)]).toEqual([p.metadata.name, true]);
          }
        }
      }
    }
  });

  test('inside the namespace, exactly the database\'s and WordPress\'s clients reach them, and nothing else reaches anything', () => {
    const clients = clientsOf(s.objects, ofKind(s.objects, 'StatefulSet')[0]);
    const webClients = clientsOf(s.objects, ofKind(s.objects, 'Deployment')[0]);
    expect(clients).toContain(web.workload);
    expect(webClients).toEqual(ofKind(s.objects, 'CronJob').filter(c => c.metadata.name === 'wordpress-cron').map(c => `CronJob/${c.metadata.name}`));
    const open: string[] = [];
    for (const from of net.pods) {
      for (const to of net.pods) {
        for (const port of net.portsOf(to)) {
          if (connects(net, endpoint(from), endpoint(to), port)) open.push(`${from.workload} -> ${to.workload}:${port.port}`);
        }
      }
    }
    // WP-Cron calls the stable Service, which an Istio split spans over both tracks: it may reach either.
    const tracks = net.pods.filter(p => p.kind === 'Deployment').map(p => p.workload);
    // Galera nodes also reach each other on its group communication, IST and SST ports, and only there.
    const galera = ofKind(s.objects, 'StatefulSet')[0].spec.template.spec.containers[0].env.some((e: any) => e.name === 'GALERA_PEERS');
    expect(open.sort()).toEqual([
      ...clients.map(c => `${c} -> ${db.workload}:3306`),
      ...webClients.flatMap(c => tracks.map(t => `${c} -> ${t}:80`)),
      ...galera ? [4444, 4567, 4568].map(port => `${db.workload} -> ${db.workload}:${port}`) : [],
    ].sort());
  });

  const webPort: Port = backendTls ? { port: 8443, name: 'https', protocol: 'TCP' } : { port: 80, name: 'http', protocol: 'TCP' };
  test(`WordPress (every track) accepts ${backendTls ? 'HTTPS on 8443' : 'HTTP on 80'} from ${viaProxy ? `the ${door!.name} only` : 'any source (no controller in between)'}`, () => {
    expect(webPods.length).toBe(s.config.wordpress?.canary ? 2 : 1);
    for (const w of webPods) {
      expect([w.workload, connects(net, controller, endpoint(w), webPort)]).toEqual([w.workload, true]);
      expect([w.workload, connects(net, stranger, endpoint(w), webPort)]).toEqual([w.workload, !viaProxy]);
      if (door?.source?.podSelector) {
        const other = { ...controller, pod: { ...controller.pod, ...Object.fromEntries(Object.keys(door.source.podSelector).map(k => [k, 'other'])) } };
        expect(connects(net, other, endpoint(w), webPort)).toBe(false);
      }
      if (viaProxy) {
        // Only the port the front door uses is open to it.
        const unused: Port = backendTls ? { port: 80, name: 'http', protocol: 'TCP' } : { port: 8443, name: 'https', protocol: 'TCP' };
        expect([w.workload, unused.port, connects(net, controller, endpoint(w), unused)]).toEqual([w.workload, unused.port, false]);
      }
    }
    expect(connects(net, controller, endpoint(db), { port: 3306, protocol: 'TCP' })).toBe(false);
  });

  const istiod: Endpoint = {
    name: 'istiod',
    namespace: security.istiod?.namespaceSelector ?? { 'kubernetes.io/metadata.name': 'istio-system' },
    pod: { app: 'istiod', ...security.istiod?.podSelector },
  };
  test(mesh ? 'the web pods\' sidecars reach istiod on 15012, the pods without a sidecar do not, and sidecar traffic still gets in on the app port'
    : 'no pod may reach an Istio control plane', () => {
    const xds: Port = { port: 15012, protocol: 'TCP' };
    for (const p of net.pods) {
      const injected = mesh && webPods.includes(p);
      expect([p.workload, connects(net, endpoint(p), istiod, xds)]).toEqual([p.workload, injected]);
      if (mesh) expect([p.workload, p.labels['sidecar.istio.io/inject']]).toEqual([p.workload, injected ? undefined : 'false']);
    }
    if (!mesh) return;
    // Sidecar-to-sidecar (mutual TLS) traffic keeps the destination's own port; iptables inside the
    // pod hands it to the proxy on 15006 after the NetworkPolicy has admitted it on 80.
    for (const w of webPods) expect(connects(net, controller, endpoint(w), webPort)).toBe(true);
    expect(connects(net, endpoint(web), endpoint(db), { port: 3306, name: 'mysql', protocol: 'TCP' })).toBe(true);
    // Nothing opens the proxy's own ports (15090 metrics, 15021 health) to other pods.
    for (const port of [15090, 15021, 15020]) expect(connects(net, stranger, endpoint(web), { port, protocol: 'TCP' })).toBe(false);
  });

  const metrics = s.config.metrics?.enabled === true;
  const prometheus: Endpoint = {
    name: 'Prometheus',
    namespace: security.prometheus?.namespaceSelector ?? { 'kubernetes.io/metadata.name': 'monitoring' },
    pod: { 'app.kubernetes.io/name': 'prometheus', ...security.prometheus?.podSelector },
  };
  test(metrics ? 'Prometheus reaches exactly the exporter ports of the database and WordPress pods, and only Prometheus does'
    : 'Prometheus reaches nothing (metrics are off)', () => {
    // What Prometheus reaches beyond what any source reaches (WordPress behind a NodePort).
    const open: string[] = [];
    for (const p of net.pods) {
      for (const port of net.portsOf(p)) {
        if (connects(net, prometheus, endpoint(p), port) && !connects(net, stranger, endpoint(p), port)) open.push(`${p.workload}:${port.port}`);
      }
    }
    expect(open.sort()).toEqual(metrics ? [`${db.workload}:9104`, ...webPods.map(w => `${w.workload}:9117`)].sort() : []);
    // Apache's status listener is on loopback, not the pod IP; no policy admits its port either.
    for (const w of webPods) {
      for (const from of [prometheus, stranger, controller]) expect([w.workload, from.name, connects(net, from, endpoint(w), { port: 8080, protocol: 'TCP' })]).toEqual([w.workload, from.name, false]);
    }
    if (!metrics) return;
    const apacheExporter: Port = { port: 9117, name: 'metrics', protocol: 'TCP' };
    for (const w of webPods) {
      expect(connects(net, stranger, endpoint(w), apacheExporter)).toBe(false);
      expect(connects(net, controller, endpoint(w), apacheExporter)).toBe(false);
    }
    const exporter: Port = { port: 9104, name: 'metrics', protocol: 'TCP' };
    expect(connects(net, stranger, endpoint(db), exporter)).toBe(false);
    expect(connects(net, controller, endpoint(db), exporter)).toBe(false);
    // The same namespace labels with other pod labels, when the selector names Prometheus's pods.
    if (security.prometheus?.podSelector) expect(connects(net, { ...prometheus, pod: { app: 'grafana' } }, endpoint(db), exporter)).toBe(false);
    // Another namespace with Prometheus's pod labels.
    expect(connects(net, { ...prometheus, namespace: { 'kubernetes.io/metadata.name': 'other' } }, endpoint(db), exporter)).toBe(false);
  });

  test('every pod may query the cluster DNS on UDP and TCP 53, and nothing else outside', () => {
    for (const e of net.endpoints) {
      for (const protocol of ['UDP', 'TCP']) expect([e.name, protocol, connects(net, e, dns, { port: 53, protocol })]).toEqual([e.name, protocol, true]);
      expect(connects(net, e, { ...dns, pod: { 'k8s-app': 'other' } }, { port: 53, protocol: 'UDP' })).toBe(false);
      expect(connects(net, e, stranger, { port: 443, protocol: 'TCP' })).toBe(false);
    }
  });

  test(`WordPress ${security.allowInternetEgress ? 'may' : 'may not'} reach public addresses on 80/443, never private or link-local ones`, () => {
    const internet = net.policies.filter(p => (p.spec.egress ?? []).some((r: any) => r.to.some((t: any) => t.ipBlock)));
    if (!security.allowInternetEgress) {
      expect(internet).toEqual([]);
      return;
    }
    expect(internet).toHaveLength(1);
    expect(net.pods.filter(p => selects(internet[0].spec.podSelector, p.labels)).map(p => p.workload)).toEqual([web.workload]);
    expect(internet[0].spec.egress).toEqual([{
      to: [{ ipBlock: { cidr: '0.0.0.0/0', except: expect.arrayContaining(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16']) } }],
      ports: [{ port: 80, protocol: 'TCP' }, { port: 443, protocol: 'TCP' }],
    }]);
  });
});

test('a database client wired after the policies is still allowed in (the rule is resolved at synth)', () => {
  const chart = new WordPressChart(Testing.app(), 'late', { site: MINIMAL_SITE });
  const before = JSON.stringify(chart.toJson().find(o => o.metadata.name === 'allow-mariadb-clients'));
  chart.database.addClient({ name: 'adminer', selectorLabels: { app: 'adminer' } });
  const policy = chart.toJson().find(o => o.metadata.name === 'allow-mariadb-clients');
  expect(before).not.toContain('adminer');
  expect(policy.spec.ingress[0].from).toContainEqual({ podSelector: { matchLabels: { app: 'adminer' } } });
});

test.each([
  ['an empty namespace selector', { namespaceLabels: {} }, /WebAccess.ingressController: namespaceLabels is empty, which selects every namespace/],
  ['an empty pod selector', { namespaceLabels: { a: 'b' }, podLabels: {} }, /WebAccess.ingressController: podLabels is empty; leave it out/],
])('an ingress controller with %s is rejected', (_, controller, message) => {
  expect(() => WebAccess.ingressController(controller)).toThrow(message);
});

// ---------------------------------------------------------------------------------------------
// ResourceQuota and LimitRange: the chart's pods at their peak must fit, computed independently here.

const cpuMillis = (q: string | number) => (String(q).endsWith('m') ? Number(String(q).slice(0, -1)) : Number(q) * 1000);
const memMi = (q: string) => Number(q.replace(/Mi$/, '').replace(/Gi$/, '')) * (q.endsWith('Gi') ? 1024 : 1);
const KEYS = ['requests.cpu', 'requests.memory', 'limits.cpu', 'limits.memory'] as const;
const amount = (key: string, q: string) => (key.endsWith('cpu') ? cpuMillis(q) : memMi(q));

/** Peak of every pod: replicas + surge, one running job per CronJob, each Job's pod; init containers by the max rule. */
function expectedPeak(objects: any[]) {
  const total: Record<string, number> = { 'requests.cpu': 0, 'requests.memory': 0, 'limits.cpu': 0, 'limits.memory': 0, 'pods': 0 };
  // An autoscaled Deployment has no replicas of its own: its autoscaler's maximum counts.
  const autoscaled = (o: any) => ofKind(objects, 'HorizontalPodAutoscaler')
    .find(h => h.spec.scaleTargetRef.kind === o.kind && h.spec.scaleTargetRef.name === o.metadata.name)?.spec.maxReplicas;
  for (const o of objects.filter(x => podTemplate(x))) {
    const count = o.kind === 'Deployment' ? (autoscaled(o) ?? o.spec.replicas) + o.spec.strategy.rollingUpdate.maxSurge
      : o.kind === 'StatefulSet' ? o.spec.replicas : 1;
    if (o.kind === 'CronJob') expect(o.spec.concurrencyPolicy).toBe('Forbid');
    const spec = podTemplate(o).spec;
    total.pods += count;
    for (const key of KEYS) {
      const [kind, res] = key.split('.');
      const sum = runningContainers(podTemplate(o)).reduce((n: number, c: any) => n + amount(key, c.resources[kind][res]), 0);
      const init = Math.max(0, ...(spec.initContainers ?? []).map((c: any) => amount(key, c.resources[kind][res])));
      total[key] += count * Math.max(sum, init);
    }
  }
  return total;
}

function quotaOf(objects: any[]): Record<string, number> {
  const hard = ofKind(objects, 'ResourceQuota')[0].spec.hard;
  return { ...Object.fromEntries(KEYS.map(k => [k, amount(k, hard[k])])), pods: hard.pods };
}

describe.each(SITES)('$label: quota', s => {
  const headroom = s.config.security?.quota?.headroomPercent ?? 20;

  test(`every pod at its peak (replicas, surge, running jobs) fits, with ${headroom}% headroom on top`, () => {
    const peak = expectedPeak(s.objects);
    const quota = quotaOf(s.objects);
    for (const key of Object.keys(peak)) {
      expect([key, quota[key] >= peak[key]]).toEqual([key, true]);
      expect([key, quota[key]]).toEqual([key, Math.ceil((peak[key] * (100 + headroom)) / 100)]);
    }
    expect(peak.pods).toBeGreaterThan(podsOf(s.objects).length); // the surge pod is counted
  });

  test('the LimitRange admits every container and gives others the smallest container\'s resources', () => {
    const [range] = ofKind(s.objects, 'LimitRange');
    const limits = range.spec.limits[0];
    const containers = s.objects.filter(o => podTemplate(o))
      .flatMap(o => [...podTemplate(o).spec.initContainers ?? [], ...runningContainers(podTemplate(o))]);
    for (const res of ['cpu', 'memory']) {
      const values = (kind: string) => containers.map(c => amount(res, c.resources[kind][res]));
      expect(Math.max(...values('limits'))).toBe(amount(res, limits.max[res]));
      expect(Math.min(...values('limits'))).toBe(amount(res, limits.default[res]));
      expect(Math.min(...values('requests'))).toBe(amount(res, limits.defaultRequest[res]));
    }
  });
});

describe('quota is computed from the chart', () => {
  const requestsCpu = (site: SiteConfig) => quotaOf(siteObjects(site))['requests.cpu'];

  test('bigger requests give a bigger quota, by (replicas + surge) x the difference + headroom', () => {
    const base = requestsCpu(MINIMAL_SITE);
    const bigger = requestsCpu({ ...MINIMAL_SITE, wordpress: { resources: { requests: { cpu: '500m' } } } });
    expect(bigger - base).toBe(Math.ceil((2 + 1) * 250 * 1.2));
  });

  test('headroom 0 gives exactly the peak; 100 doubles it', () => {
    const peak = expectedPeak(siteObjects());
    expect(quotaOf(siteObjects({ ...MINIMAL_SITE, security: { quota: { headroomPercent: 0 } } }))).toEqual(peak);
    expect(quotaOf(siteObjects({ ...MINIMAL_SITE, security: { quota: { headroomPercent: 100 } } }))['limits.memory']).toBe(2 * peak['limits.memory']);
  });

  function chartWith(workload: (c: Chart) => void) {
    const chart = new Chart(Testing.app(), 'q', { namespace: 'q', disableResourceNameHashes: true });
    new NamespaceQuota(chart, 'Quota', { headroomPercent: 0 });
    workload(chart); // added after the quota: counted all the same
    return chart;
  }
  const container = (name: string, cpu: string, memory: string): k8s.Container => ({
    name, image: 'busybox:1.36', resources: {
      requests: { cpu: k8s.Quantity.fromString(cpu), memory: k8s.Quantity.fromString(memory) },
      limits: { cpu: k8s.Quantity.fromString(cpu), memory: k8s.Quantity.fromString(memory) },
    },
  });
  const deployment = (c: Chart, spec: Partial<k8s.PodSpec>, extra: Partial<k8s.DeploymentSpec> = {}) => new k8s.KubeDeployment(c, 'D', {
    metadata: { name: 'd' },
    spec: { replicas: 4, selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [], ...spec } }, ...extra },
  });

  test('a pod counts max(sum of containers, largest init container); the default surge is 25% rounded up', () => {
    const chart = chartWith(c => deployment(c, {
      initContainers: [container('migrate', '2', '64Mi'), container('warm', '100m', '1Gi')],
      containers: [container('a', '500m', '256Mi'), container('b', '500m', '256Mi')],
    }));
    const hard = ofKind(chart.toJson(), 'ResourceQuota')[0].spec.hard;
    // 4 replicas + ceil(25% of 4) = 5 pods of max(1000m, 2000m) CPU and max(512Mi, 1024Mi) memory.
    expect(hard).toEqual({ 'requests.cpu': '10000m', 'limits.cpu': '10000m', 'requests.memory': '5120Mi', 'limits.memory': '5120Mi', 'pods': 5 });
  });

  test('under renderingEachObjectOnce a workload is rendered once, and a later render sees changes', () => {
    const chart = chartWith(c => deployment(c, { containers: [container('a', '1', '1Gi')] }));
    const d = chart.node.findChild('D') as k8s.KubeDeployment;
    const renders = jest.spyOn(d, 'toJson');
    const quoted = (objects: any[]) => [ofKind(objects, 'ResourceQuota')[0].spec.hard.pods, ofKind(objects, 'LimitRange')[0].spec.limits[0].max.cpu];
    expect(quoted(renderingEachObjectOnce(chart, () => chart.toJson()))).toEqual([5, '1000m']);
    expect(renders).toHaveBeenCalledTimes(1);
    // Plain Chart.toJson(): once for the quota, once for the LimitRange, once as an object.
    renders.mockClear();
    expect(quoted(chart.toJson())).toEqual([5, '1000m']);
    expect(renders).toHaveBeenCalledTimes(3);
    // The memo is gone afterwards (the spy is back in place) and a changed chart is quoted afresh.
    d.addJsonPatch(JsonPatch.replace('/spec/replicas', 8));
    expect(quoted(renderingEachObjectOnce(chart, () => chart.toJson()))).toEqual([10, '1000m']);
    expect(d.toJson).toBe(renders);
  });

  test('WordPressChart.toJson() renders each object once, the deployer Role reading them all included', () => {
    const chart = new WordPressChart(Testing.app(), 'blog', { site: { ...MINIMAL_SITE, security: { deployer: { enabled: true } } } });
    const objects = chart.node.findAll().filter(ApiObject.isApiObject);
    // Every render of an object runs ApiObject's toJson on it, whether through its class's or directly.
    const render = jest.spyOn(ApiObject.prototype, 'toJson');
    let manifests: any[];
    let renders: number[];
    try {
      manifests = chart.toJson();
      renders = objects.map(o => render.mock.instances.filter(c => c === o).length);
    } finally {
      render.mockRestore();
    }
    // Once; twice for an object that holds a property its class's mappers rename (the headless
    // Service's clusterIP): rendered directly first, then again through those mappers.
    expect(renders).toEqual(objects.map(o => (o.kind === 'Service' && o.name === 'mariadb-headless' ? 2 : 1)));
    // Same manifests as a chart that renders each object as often as it is read.
    const plain = new WordPressChart(Testing.app(), 'blog', { site: { ...MINIMAL_SITE, security: { deployer: { enabled: true } } } });
    expect(manifests).toEqual(Chart.prototype.toJson.call(plain));
  });

  test('a Recreate Deployment has no surge', () => {
    const chart = chartWith(c => deployment(c, { containers: [container('a', '1', '1Gi')] }, { strategy: { type: 'Recreate' } }));
    expect(ofKind(chart.toJson(), 'ResourceQuota')[0].spec.hard.pods).toBe(4);
  });

  test.each([
    ['a CronJob that may run Jobs side by side', (c: Chart) => new k8s.KubeCronJob(c, 'C', {
      metadata: { name: 'c' },
      spec: { schedule: '@daily', jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [container('a', '1', '1Gi')] } } } } },
    }), /CronJob\/c: concurrencyPolicy is Allow.*set concurrencyPolicy to Forbid/],
    ['a container without limits', (c: Chart) => deployment(c, { containers: [{ name: 'bare', image: 'busybox:1.36' }] }),
      /container "bare" of Deployment\/d sets no resources.requests.cpu/],
    ['a DaemonSet', (c: Chart) => new k8s.KubeDaemonSet(c, 'Ds', {
      metadata: { name: 'ds' },
      spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [container('a', '1', '1Gi')] } } },
    }), /DaemonSet\/ds: the peak number of pods of a DaemonSet cannot be read/],
  ])('%s cannot be counted and fails synth with a fix', (_, add, message) => {
    expect(() => chartWith(add).toJson()).toThrow(message);
  });

  test.each([[-1], [1.5], [1001]])('headroomPercent %p is rejected', h => {
    expect(() => new NamespaceQuota(new Chart(Testing.app(), 'q'), 'Q', { headroomPercent: h })).toThrow(/headroomPercent is .*; use a whole number from 0 to 1000/);
  });

  test.each([
    ['250m', -3, 250n], ['1', -3, 1000n], ['1.5', -3, 1500n], ['0.1', -3, 100n], [2, -3, 2000n], ['100u', -3, 1n],
    ['512Mi', 0, 536870912n], ['1.5Gi', 0, 1610612736n], ['1G', 0, 1000000000n], ['1e3', 0, 1000n], ['1k', 0, 1000n], ['1500m', 0, 2n],
  ] as const)('quantity %p in units of 10^%p is %p (exact, rounded up)', (q, e, expected) => {
    expect(quantityAmount(q, e)).toBe(expected);
  });

  test('a malformed quantity is rejected', () => {
    expect(() => quantityAmount('1.5 Gi', 0)).toThrow(/not a Kubernetes quantity/);
  });
});

// ---------------------------------------------------------------------------------------------
// Deployer RBAC.

const WRITE_VERBS = DEPLOY_VERBS.filter(v => !READ_VERBS.includes(v));

describe.each(SITES.filter(s => s.config.security?.deployer?.enabled))('$label: deployer', s => {
  const [role] = ofKind(s.objects, 'Role');
  const rules: any[] = role.rules;
  const granted = (group: string, resource: string) => new Set(rules
    .filter(r => r.apiGroups.includes(group) && r.resources.includes(resource) && !r.resourceNames).flatMap(r => r.verbs));

  test('no wildcard, no subresource, no verb beyond deploying and reading', () => {
    for (const r of rules) {
      for (const field of ['apiGroups', 'resources', 'verbs', 'resourceNames']) expect(r[field] ?? []).not.toContain('*');
      for (const res of r.resources) expect(res).not.toContain('/');
      for (const v of r.verbs) expect(DEPLOY_VERBS).toContain(v);
    }
  });

  test('it can apply every object of app.k8s.yaml, and only read guard rails and claims', () => {
    for (const o of s.objects.filter(x => x.metadata.namespace)) {
      const group = o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : '';
      const verbs = granted(group, pluralResource(o.kind));
      const readOnly = READ_ONLY_KINDS.has(o.kind) || STORAGE_KINDS.has(o.kind);
      expect([o.kind, [...verbs].sort()]).toEqual([o.kind, [...(readOnly ? READ_VERBS : DEPLOY_VERBS)].sort()]);
      if (readOnly) for (const v of WRITE_VERBS) expect(verbs.has(v)).toBe(false);
    }
  });

  test(`Secrets: ${s.config.security?.deployer?.readSecrets ? 'get, by name, only those the site refers to' : 'no access at all'}`, () => {
    const secretRules = rules.filter(r => r.resources.includes('secrets'));
    if (!s.config.security?.deployer?.readSecrets) {
      expect(secretRules).toEqual([]);
      return;
    }
    const referenced = new Set<string>();
    for (const p of podsOf(s.objects)) for (const v of p.spec.volumes ?? []) if (v.secret) referenced.add(v.secret.secretName);
    for (const ing of ofKind(s.objects, 'Ingress')) for (const t of ing.spec.tls ?? []) referenced.add(t.secretName);
    expect(secretRules).toEqual([{ apiGroups: [''], resources: ['secrets'], resourceNames: [...referenced].sort(), verbs: ['get'] }]);
  });

  test('bound in the namespace only, to its own ServiceAccount, whose token is not mounted', () => {
    expect(s.objects.filter(o => /^Cluster(Role|RoleBinding)$/.test(o.kind))).toEqual([]);
    const [binding] = ofKind(s.objects, 'RoleBinding');
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata.name });
    expect(binding.subjects).toEqual([{ apiGroup: '', kind: 'ServiceAccount', name: 'deployer', namespace: role.metadata.namespace }]);
    const sa = ofKind(s.objects, 'ServiceAccount').find(x => x.metadata.name === 'deployer');
    expect(sa.automountServiceAccountToken).toBe(false);
  });
});

test('the deployer is off unless enabled', () => {
  expect(siteObjects().filter(o => ['Role', 'RoleBinding'].includes(o.kind) || o.metadata.name === 'deployer')).toEqual([]);
});

test('the deployer\'s Role also covers objects added to the chart after it', () => {
  const chart = new Chart(Testing.app(), 'r', { namespace: 'r', disableResourceNameHashes: true });
  new DeployerAccess(chart, 'Deployer');
  new k8s.KubeHorizontalPodAutoscalerV2(chart, 'Hpa', { metadata: { name: 'h' }, spec: { maxReplicas: 2, scaleTargetRef: { kind: 'Deployment', name: 'd' } } });
  const role = ofKind(chart.toJson(), 'Role')[0];
  expect(role.rules).toContainEqual({ apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], verbs: [...DEPLOY_VERBS] });
});

test('a Secret in the chart gives the deployer no access to Secrets', () => {
  const chart = new Chart(Testing.app(), 'r', { namespace: 'r', disableResourceNameHashes: true });
  new DeployerAccess(chart, 'Deployer');
  new k8s.KubeSecret(chart, 'S', { metadata: { name: 's' } });
  expect(ofKind(chart.toJson(), 'Role')[0].rules.flatMap((r: any) => r.resources)).not.toContain('secrets');
});

test.each([
  ['ConfigMap', 'configmaps'], ['Ingress', 'ingresses'], ['NetworkPolicy', 'networkpolicies'],
  ['PodDisruptionBudget', 'poddisruptionbudgets'], ['LimitRange', 'limitranges'], ['RoleBinding', 'rolebindings'],
])('kind %s is resource %s', (kind, resource) => {
  expect(pluralResource(kind)).toBe(resource);
});

// ---------------------------------------------------------------------------------------------
// Secrets stay references and reach containers as files.

const SENSITIVE = /PASSWORD|_KEY|_SALT|TOKEN|SECRET/;

describe.each(SITES)('$label: secrets', ({ objects }) => {
  test('no Secret object, no secret in env (neither a literal nor a secretKeyRef)', () => {
    expect(ofKind(objects, 'Secret')).toEqual([]);
    for (const p of podsOf(objects)) {
      for (const c of containersOf(p.spec)) {
        expect((c.envFrom ?? []).filter((e: any) => e.secretRef)).toEqual([]);
        for (const e of c.env ?? []) {
          expect([e.name, e.valueFrom?.secretKeyRef]).toEqual([e.name, undefined]);
          if (SENSITIVE.test(e.name)) expect(e.name).toMatch(/_FILE$/);
        }
      }
    }
  });

  test('every sensitive *_FILE variable points at a key of a read-only mounted Secret', () => {
    for (const p of podsOf(objects)) {
      const secretVolumes = new Map<string, any>((p.spec.volumes ?? []).filter((v: any) => v.secret).map((v: any) => [v.name, v.secret]));
      for (const c of containersOf(p.spec)) {
        const files = new Set<string>((c.volumeMounts ?? []).filter((m: any) => secretVolumes.has(m.name)).flatMap((m: any) => {
          expect([m.mountPath, m.readOnly]).toEqual([m.mountPath, true]);
          return secretVolumes.get(m.name).items.map((i: any) => `${m.mountPath}/${i.path}`);
        }));
        for (const e of (c.env ?? []).filter((x: any) => SENSITIVE.test(x.name))) expect([e.name, files.has(e.value)]).toEqual([e.name, true]);
      }
    }
  });
});

describe('secret scan of the rendered manifests', () => {
  const dist = readTree(path.join(REPO, 'dist'));
  const files = Object.entries(dist).map(([p, content]) => ({ path: `dist/${p}`, content }));

  test('dist/ holds manifests and secretlint finds nothing in them', async () => {
    expect(files.length).toBeGreaterThan(0);
    expect(await scanForSecrets(files)).toEqual([]);
  });

  test('the scan does find a Secret value planted in a rendered file', async () => {
    const manifest = files.find(f => f.path.endsWith('.k8s.yaml'))!;
    const planted = `${manifest.content}---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: planted\nstringData:\n  password: not-for-real\n`;
    expect(await scanForSecrets([{ path: manifest.path, content: planted }])).toEqual([expect.stringContaining('Secret/planted')]);
  });
});

// ---------------------------------------------------------------------------------------------
// Config options.

describe('security config', () => {
  const load = (security: unknown, exposure: unknown = { host: 'b.example.com' }) => loadEnvironment('env.yaml', JSON.stringify({ sites: { blog: { exposure, security } } }));
  const messages = (security: unknown, exposure?: unknown) => load(security, exposure).errors.map(e => `${e.path}: ${e.message}`);

  test('the example prod config shows every option', () => {
    const prod = exampleConfig('prod/blog').security!;
    expect(Object.keys(prod).sort()).toEqual(['allowInternetEgress', 'deployer', 'dns', 'ingressController', 'quota']);
  });

  test.each([
    ['an ingress controller with a nodePort site', { ingressController: { namespaceSelector: { a: 'b' } } }, { type: 'nodePort' },
      /sites.blog.security.ingressController: only applies to exposure type ingress/],
    ['readSecrets without a deployer', { deployer: { readSecrets: true } }, undefined,
      /sites.blog.security.deployer.readSecrets: is set but deployer.enabled is not true/],
    ['an empty namespace selector (every namespace)', { dns: { namespaceSelector: {} } }, undefined,
      /sites.blog.security.dns.namespaceSelector: must NOT have fewer than 1 properties/],
    ['a bad label key', { dns: { namespaceSelector: { 'bad key': 'x' } } }, undefined,
      /namespaceSelector.bad key: name "bad key" is invalid; use a label key/],
    ['a headroom beyond 1000%', { quota: { headroomPercent: 2000 } }, undefined, /quota.headroomPercent: must be <= 1000/],
    ['a misspelt key', { allowInternetEgres: true }, undefined, /unknown key "allowInternetEgres"; did you mean "allowInternetEgress"\?/],
  ])('rejects %s', (_, security, exposure, message) => {
    expect(messages(security, exposure).join('\n')).toMatch(message);
  });

  test('accepts a full section', () => {
    expect(messages({
      ingressController: { namespaceSelector: { 'kubernetes.io/metadata.name': 'traefik' }, podSelector: { app: 'traefik' } },
      dns: { namespaceSelector: { 'kubernetes.io/metadata.name': 'kube-system' } },
      allowInternetEgress: true, quota: { headroomPercent: 0 }, deployer: { enabled: true, readSecrets: true },
    })).toEqual([]);
  });
});
