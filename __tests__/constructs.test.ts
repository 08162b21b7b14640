import { Chart, Duration, Size, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import {
  AntiAffinity, AntiAffinityMode, ClaimSource, ExposureType, IngressRule, IngressTls, IssuerKind,
  MariaDbStatefulSet, NodeAffinityOperator, StorageClaims, Topology, WordPressApp,
} from '../lib';
import { validateManifests } from './support/k8s-schema';

const RWO = kplus.PersistentVolumeAccessMode.READ_WRITE_ONCE;

function chart() {
  return new Chart(Testing.app(), 'site', { namespace: 'site', disableResourceNameHashes: true });
}

function db(c: Chart, props: Partial<ConstructorParameters<typeof MariaDbStatefulSet>[2]> = {}) {
  return new MariaDbStatefulSet(c, 'Db', { credentials: { secret: kplus.Secret.fromSecretName(c, 'S', 'db-creds') }, ...props });
}

function wordpress(c: Chart, props: Partial<ConstructorParameters<typeof WordPressApp>[2]> = {}) {
  const storage = new StorageClaims(c, 'Storage');
  return new WordPressApp(c, 'Wp', {
    database: db(c),
    content: storage.content,
    keys: kplus.Secret.fromSecretName(c, 'K', 'wp-keys'),
    ...props,
  });
}

/** Synthesize and check strict schema validity before anything else is asserted. */
function synth(c: Chart): any[] {
  const objects = Testing.synth(c);
  expect(validateManifests(objects)).toEqual([]);
  return objects;
}

const find = (objects: any[], kind: string, name?: string) => objects.find(o => o.kind === kind && (!name || o.metadata.name === name));

describe('MariaDbStatefulSet', () => {
  test('minimal props', () => {
    const c = chart();
    const d = db(c);
    const objects = synth(c);
    expect(objects).toMatchSnapshot();
    expect(d.host).toBe('mariadb.site.svc.cluster.local');
    expect(d.port).toBe(3306);
    expect(d.podHost(0)).toBe('mariadb-0.mariadb-headless.site.svc.cluster.local');
    expect(d.credentials).toMatchObject({ rootPasswordKey: 'mariadb-root-password', passwordKey: 'mariadb-password' });
    const sts = find(objects, 'StatefulSet');
    expect(sts.spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: 'Retain', whenScaled: 'Retain' });
    expect(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe('8Gi');
    const env = Object.fromEntries(sts.spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value]));
    expect(env).toMatchObject({ MARIADB_ROOT_PASSWORD_FILE: '/etc/mariadb-secrets/mariadb-root-password', MARIADB_USER: 'wordpress' });
  });

  test('all props', () => {
    const c = chart();
    const d = db(c, {
      name: 'sql', instance: 'shop', image: 'mariadb:11.4.5', databaseName: 'shop', username: 'shopper',
      volumeSize: Size.gibibytes(50), storageClassName: 'ssd', config: { max_connections: '500' },
      resources: { cpu: kplus.Cpu.millis(500), cpuLimit: kplus.Cpu.units(2), memory: Size.gibibytes(2) },
      probes: { liveness: { timeout: Duration.seconds(9), failureThreshold: 9 } },
      credentials: { secret: kplus.Secret.fromSecretName(c, 'S2', 'shop-db'), rootPasswordKey: 'root', passwordKey: 'app' },
    });
    const objects = synth(c);
    expect(objects).toMatchSnapshot();
    expect(d.host).toBe('sql.site.svc.cluster.local');
    const sts = find(objects, 'StatefulSet', 'sql');
    const container = sts.spec.template.spec.containers[0];
    expect(container.livenessProbe).toMatchObject({ timeoutSeconds: 9, failureThreshold: 9, periodSeconds: 10 });
    expect(container.resources).toEqual({ requests: { cpu: '500m', memory: '2048Mi' }, limits: { cpu: '2', memory: '2048Mi' } });
    expect(find(objects, 'ConfigMap').data['zz-cdk8s.cnf']).toContain('max_connections = 500');
  });

  test('pods roll when my.cnf changes', () => {
    const annotation = (config: Record<string, string>) => {
      const c = chart();
      db(c, { config });
      return find(Testing.synth(c), 'StatefulSet').spec.template.metadata.annotations['checksum/config'];
    };
    expect(annotation({ a: '1' })).toBe(annotation({ a: '1' }));
    expect(annotation({ a: '1' })).not.toBe(annotation({ a: '2' }));
  });

  test.each(['mariadb', 'mariadb:latest', 'registry.example.com:5000/mariadb'])('rejects unpinned image %s', image => {
    expect(() => db(chart(), { image })).toThrow(/MariaDbStatefulSet: image .* (has no tag|uses "latest")/);
  });
});

describe('WordPressApp', () => {
  test('minimal props', () => {
    const c = chart();
    const wp = wordpress(c);
    const objects = synth(c);
    expect(objects).toMatchSnapshot();
    const dep = find(objects, 'Deployment');
    expect(dep.spec.replicas).toBe(2);
    const env = Object.fromEntries(dep.spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value]));
    // Wired from the MariaDbStatefulSet object, not from copied strings.
    expect(env.WORDPRESS_DB_HOST).toBe('mariadb.site.svc.cluster.local:3306');
    expect(env.WORDPRESS_DB_PASSWORD_FILE).toBe('/etc/wordpress-secrets/db/mariadb-password');
    expect(Object.keys(env).filter(k => /_(KEY|SALT)_FILE$/.test(k))).toHaveLength(8);
    expect(find(objects, 'PodDisruptionBudget').spec.maxUnavailable).toBe(1);
    expect(dep.spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0])
      .toEqual({ weight: 100, podAffinityTerm: { labelSelector: { matchLabels: wp.selectorLabels }, topologyKey: 'kubernetes.io/hostname' } });
  });

  test('an init container copies WordPress onto an empty volume, as the app container runs, without overwriting', () => {
    const c = chart();
    wordpress(c);
    const pod = find(synth(c), 'Deployment').spec.template.spec;
    const [app] = pod.containers;
    expect(pod.initContainers).toHaveLength(1);
    const [init] = pod.initContainers;
    expect(init).toMatchObject({ name: 'copy-wordpress', image: app.image, securityContext: app.securityContext, resources: app.resources });
    expect(init.volumeMounts).toEqual(app.volumeMounts.filter((m: any) => ['/var/www/html', '/tmp'].includes(m.mountPath)));
    // Skips a volume that already holds WordPress (the entrypoint's own test); copies onto the same
    // volume first and renames into place, the entrypoint's markers last.
    const [shell, flag, script] = init.command;
    expect([shell, flag]).toEqual(['sh', '-c']);
    expect(script).toContain('cd /var/www/html\nif [ -e index.php ] || [ -e wp-includes/version.php ]; then exit 0; fi');
    expect(script).toContain('cp -R /usr/src/wordpress/. "$staging/"');
    expect(script.trim().split('\n').slice(-2)).toEqual(['place wp-includes', 'place index.php']);
  });

  test('all props', () => {
    const c = chart();
    const storage = new StorageClaims(c, 'Storage', { content: { accessModes: [RWO] } });
    new WordPressApp(c, 'Wp', {
      database: { host: 'db.example.com', port: 3307, databaseName: 'd', username: 'u', credentials: { secret: kplus.Secret.fromSecretName(c, 'X', 'ext'), passwordKey: 'pw' } },
      content: storage.content,
      keys: kplus.Secret.fromSecretName(c, 'K', 'keys'),
      name: 'web', instance: 'shop', image: 'wordpress:6.8.1-php8.3-apache', replicas: 1, tablePrefix: 'shop_', debug: true,
      php: { uploadMaxSize: Size.mebibytes(256), memoryLimit: Size.mebibytes(512), maxExecutionTime: Duration.minutes(5) },
      resources: { cpu: kplus.Cpu.millis(100), cpuLimit: kplus.Cpu.millis(500), memory: Size.gibibytes(1) },
      probes: { startup: { failureThreshold: 120 } },
      placement: { mode: AntiAffinityMode.NONE },
    });
    const objects = synth(c);
    expect(objects).toMatchSnapshot();
    const dep = find(objects, 'Deployment', 'web');
    expect(dep.spec.template.spec.containers[0].env).toContainEqual({ name: 'WORDPRESS_DB_HOST', value: 'db.example.com:3307' });
    expect(dep.spec.template.spec.containers[0].env).toContainEqual({ name: 'WORDPRESS_DEBUG', value: '1' });
    expect(dep.spec.template.spec.affinity).toBeUndefined();
    expect(find(objects, 'PodDisruptionBudget')).toBeUndefined();
    expect(find(objects, 'ConfigMap', 'web-php').data['zz-cdk8s.ini']).toBe(
      'max_execution_time = 300\nmemory_limit = 512M\npost_max_size = 256M\nupload_max_filesize = 256M\n');
  });

  test('registers itself as a database client', () => {
    const c = chart();
    const storage = new StorageClaims(c, 'Storage');
    const d = db(c);
    const wp = new WordPressApp(c, 'Wp', { database: d, content: storage.content, keys: kplus.Secret.fromSecretName(c, 'K', 'k') });
    expect(d.clients).toEqual([{ name: 'wordpress', selectorLabels: wp.selectorLabels }]);
  });

  test.each([
    ['replicas 0', { replicas: 0 }, /replicas is 0; use a whole number of at least 1/],
    ['PHP memory above the container', { php: { memoryLimit: Size.mebibytes(600) } }, /php.memoryLimit \(600Mi\) must be below the container memory \(512Mi\)/],
    ['unpinned image', { image: 'wordpress' }, /image "wordpress" has no tag/],
  ])('rejects %s', (_, props, message) => {
    expect(() => wordpress(chart(), props)).toThrow(message);
  });

  test('rejects several replicas on a ReadWriteOnce content claim', () => {
    const c = chart();
    const storage = new StorageClaims(c, 'Storage', { content: { accessModes: [RWO] } });
    expect(() => new WordPressApp(c, 'Wp', { database: db(c), content: storage.content, keys: kplus.Secret.fromSecretName(c, 'K', 'k'), replicas: 3 }))
      .toThrow(/replicas is 3 but content claim "wordpress-content" is not ReadWriteMany/);
  });
});

describe('StorageClaims', () => {
  test('minimal props: a 10Gi ReadWriteMany content claim that no tool deletes', () => {
    const c = chart();
    const s = new StorageClaims(c, 'Storage');
    const objects = synth(c);
    expect(objects).toMatchSnapshot();
    expect(s.content.claimName).toBe('wordpress-content');
    const pvc = find(objects, 'PersistentVolumeClaim');
    expect(pvc.spec).toEqual({ accessModes: ['ReadWriteMany'], resources: { requests: { storage: '10Gi' } } });
    expect(pvc.metadata.annotations['helm.sh/resource-policy']).toBe('keep');
  });

  test('all props: static NFS volume matched to its claim, adopted claim, extra claims', () => {
    const c = chart();
    const s = new StorageClaims(c, 'Storage', {
      instance: 'shop',
      content: { size: Size.mebibytes(1536), accessModes: [kplus.PersistentVolumeAccessMode.READ_WRITE_MANY], source: ClaimSource.nfs({ server: 'nfs.local', path: '/exports/shop' }) },
    });
    const adopted = s.addClaim('uploads', { name: 'wordpress', component: 'uploads' }, { source: ClaimSource.existingClaim('old-uploads') });
    s.addClaim('cache', { name: 'wordpress', component: 'cache' }, { size: Size.gibibytes(1), storageClassName: 'local' });
    const objects = synth(c);
    expect(objects).toMatchSnapshot();
    const pv = find(objects, 'PersistentVolume');
    const pvc = find(objects, 'PersistentVolumeClaim', 'wordpress-content');
    // The seeds' PV/PVC "match": same class, access modes, capacity >= request, pinned both ways.
    expect(pv.metadata.name).toBe('site-wordpress-content');
    expect(pv.spec).toMatchObject({ storageClassName: '', accessModes: ['ReadWriteMany'], capacity: { storage: '1536Mi' }, persistentVolumeReclaimPolicy: 'Retain' });
    expect(pv.spec.claimRef).toEqual({ namespace: 'site', name: 'wordpress-content' });
    expect(pvc.spec).toMatchObject({ storageClassName: '', volumeName: pv.metadata.name, accessModes: pv.spec.accessModes, resources: { requests: { storage: '1536Mi' } } });
    expect(adopted.claimName).toBe('old-uploads');
    expect(find(objects, 'PersistentVolumeClaim', 'uploads')).toBeUndefined();
    expect(find(objects, 'PersistentVolumeClaim', 'cache').spec.accessModes).toEqual(['ReadWriteOnce']);
  });

  test.each([
    ['a duplicate name', (s: StorageClaims) => s.addClaim('wordpress-content', { name: 'a', component: 'b' }), /claim "wordpress-content" is defined twice/],
    ['no access modes', (s: StorageClaims) => s.addClaim('x', { name: 'a', component: 'b' }, { accessModes: [] }), /claim "x" has no access modes/],
  ])('rejects %s', (_, add, message) => {
    const s = new StorageClaims(chart(), 'Storage');
    expect(() => add(s)).toThrow(message);
  });

  test('rejects a second StorageClaims that would create the same claim in the chart', () => {
    const c = chart();
    new StorageClaims(c, 'A');
    expect(() => new StorageClaims(c, 'B')).toThrow(/claim "wordpress-content" is defined twice in this chart/);
  });
});

describe('IngressRule', () => {
  const backend = (c: Chart) => wordpress(c);

  test('minimal props: host → Service', () => {
    const c = chart();
    new IngressRule(c, 'In', { backend: backend(c), host: 'blog.example.com' });
    const ing = find(synth(c), 'Ingress');
    expect(ing).toMatchSnapshot();
    expect(ing.spec.rules[0].http.paths[0]).toEqual({ path: '/', pathType: 'Prefix', backend: { service: { name: 'wordpress', port: { number: 80 } } } });
    expect(ing.spec.tls).toBeUndefined();
  });

  test('all props: class, path, cert-manager TLS, annotations', () => {
    const c = chart();
    new IngressRule(c, 'In', {
      backend: backend(c), host: 'blog.example.com', path: '/blog', ingressClassName: 'nginx',
      tls: IngressTls.certManager('letsencrypt', IssuerKind.ISSUER), annotations: { 'a/b': 'c' },
    });
    const ing = find(synth(c), 'Ingress');
    expect(ing).toMatchSnapshot();
    expect(ing.metadata.annotations).toEqual({ 'a/b': 'c', 'cert-manager.io/issuer': 'letsencrypt' });
    expect(ing.spec.tls).toEqual([{ hosts: ['blog.example.com'], secretName: 'wordpress-tls' }]);
  });

  test('TLS from an existing Secret', () => {
    const c = chart();
    new IngressRule(c, 'In', { backend: backend(c), host: 'a.example.com', tls: IngressTls.fromSecret('a-tls') });
    expect(find(synth(c), 'Ingress').spec.tls).toEqual([{ hosts: ['a.example.com'], secretName: 'a-tls' }]);
  });

  test.each([ExposureType.NODE_PORT, ExposureType.LOAD_BALANCER])('%s Service instead of an Ingress', type => {
    const c = chart();
    const wp = backend(c);
    new IngressRule(c, 'In', { backend: wp, type, nodePort: 30080 });
    const objects = synth(c);
    expect(find(objects, 'Ingress')).toBeUndefined();
    const svc = find(objects, 'Service', 'wordpress-external');
    expect(svc.spec).toMatchObject({ type: type === ExposureType.NODE_PORT ? 'NodePort' : 'LoadBalancer', selector: wp.selectorLabels });
    expect(svc.spec.ports[0]).toMatchObject({ port: 80, targetPort: 'http', nodePort: 30080 });
  });

  test.each([
    ['no host', {}, /host is missing/],
    ['nodePort with an Ingress', { host: 'a.example.com', nodePort: 30000 }, /nodePort is set but type is ingress/],
    ['TLS on a NodePort', { type: ExposureType.NODE_PORT, tls: IngressTls.fromSecret('x') }, /tls\/ingressClassName only apply to type ingress/],
    ['a node port out of range', { type: ExposureType.NODE_PORT, nodePort: 8080 }, /nodePort is 8080; use a port from 30000 to 32767/],
  ])('rejects %s', (_, props, message) => {
    const c = chart();
    expect(() => new IngressRule(c, 'In', { backend: backend(c), ...props })).toThrow(message);
  });
});

describe('AntiAffinity', () => {
  const affinityOf = (props: Omit<ConstructorParameters<typeof AntiAffinity>[2], 'target'>) => {
    const c = chart();
    const d = db(c);
    new AntiAffinity(c, 'Aa', { target: d, ...props });
    return { affinity: find(synth(c), 'StatefulSet').spec.template.spec.affinity, labels: d.selectorLabels };
  };

  test('soft by hostname by default', () => {
    const { affinity, labels } = affinityOf({});
    expect(affinity).toMatchSnapshot();
    expect(affinity).toEqual({ podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: { labelSelector: { matchLabels: labels }, topologyKey: 'kubernetes.io/hostname' } }] } });
  });

  test('hard by zone with required and preferred node affinity', () => {
    const { affinity, labels } = affinityOf({
      mode: AntiAffinityMode.HARD, topologyKey: Topology.ZONE,
      nodeAffinity: [
        { key: 'pool', operator: NodeAffinityOperator.IN, values: ['db'], required: true },
        { key: 'spot', operator: NodeAffinityOperator.DOES_NOT_EXIST, required: true },
        { key: 'disk', operator: NodeAffinityOperator.NOT_IN, values: ['hdd'], weight: 20 },
      ],
    });
    expect(affinity).toMatchSnapshot();
    expect(affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution).toEqual([{ labelSelector: { matchLabels: labels }, topologyKey: 'topology.kubernetes.io/zone' }]);
    expect(affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions).toEqual([
      { key: 'pool', operator: 'In', values: ['db'] }, { key: 'spot', operator: 'DoesNotExist' }]);
    expect(affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution).toEqual([
      { weight: 20, preference: { matchExpressions: [{ key: 'disk', operator: 'NotIn', values: ['hdd'] }] } }]);
  });

  test('any label key as topology; none adds nothing', () => {
    expect(affinityOf({ topologyKey: 'example.com/rack' }).affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.topologyKey).toBe('example.com/rack');
    expect(affinityOf({ mode: AntiAffinityMode.NONE }).affinity).toBeUndefined();
  });

  test.each([
    ['weight 0', { weight: 0 }, /weight is 0; use a whole number from 1 to 100/],
    ['In without values', { nodeAffinity: [{ key: 'k', operator: NodeAffinityOperator.IN }] }, /nodeAffinity\[0\] \(k In\) needs at least one value/],
    ['Exists with values', { nodeAffinity: [{ key: 'k', operator: NodeAffinityOperator.EXISTS, values: ['v'] }] }, /takes no values/],
    ['node weight 101', { nodeAffinity: [{ key: 'k', operator: NodeAffinityOperator.EXISTS, weight: 101 }] }, /nodeAffinity\[0\].weight is 101/],
  ])('rejects %s', (_, props, message) => {
    expect(() => affinityOf(props as any)).toThrow(message);
  });
});
