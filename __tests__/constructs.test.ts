import { Chart, Duration, Size, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import {
  AntiAffinity, AntiAffinityMode, ClaimSource, ExposureType, IngressRule, IngressTls, IssuerKind,
  MariaDbStatefulSet, NodeAffinityOperator, SiteNetworkPolicies, StorageClaims, Topology, WhenUnsatisfiable, WordPressApp, WordPressCron,
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

  describe('replication', () => {
    const replicated = (replication: Partial<NonNullable<ConstructorParameters<typeof MariaDbStatefulSet>[2]['replication']>> = {}) => {
      const c = chart();
      const d = db(c, { replication: { replicas: 3, ...replication } });
      return { d, objects: synth(c) };
    };
    const env = (container: any) => Object.fromEntries(container.env.map((e: any) => [e.name, e.value]));

    test('one set of N pods; the client Service selects the primary only, the set\'s own selector is unchanged', () => {
      const standalone = find(synth((() => { const c = chart(); db(c); return c; })()), 'StatefulSet');
      const { d, objects } = replicated();
      const sts = find(objects, 'StatefulSet');
      expect(sts.spec.replicas).toBe(3);
      expect(sts.spec.selector).toEqual(standalone.spec.selector);
      expect(sts.spec.volumeClaimTemplates).toEqual(standalone.spec.volumeClaimTemplates);
      expect(find(objects, 'Service', 'mariadb').spec.selector).toEqual({ ...d.selectorLabels, 'statefulset.kubernetes.io/pod-name': 'mariadb-0' });
      expect(find(objects, 'Service', 'mariadb-read').spec.selector).toEqual(d.selectorLabels);
      expect(find(objects, 'Service', 'mariadb-headless').spec.selector).toEqual(d.selectorLabels);
      expect(d.readHost).toBe('mariadb-read.site.svc.cluster.local');
      expect(d.host).toBe('mariadb.site.svc.cluster.local');
      expect(d.clients.map(cl => cl.name)).toEqual(['mariadb-replicas']);
    });

    test('GTID binlog for every pod, read_only by role, the replication password only as a file', () => {
      const { d, objects } = replicated({ user: 'repl', maxLag: Duration.seconds(12) });
      const cm = find(objects, 'ConfigMap', 'mariadb-config').data;
      expect(Object.keys(cm).sort()).toEqual(['common.cnf', 'primary.cnf', 'replica.cnf']);
      for (const line of ['log_bin = mariadb-bin', 'log_slave_updates = ON', 'gtid_strict_mode = ON', 'binlog_format = ROW']) expect(cm['common.cnf']).toContain(line);
      expect(cm['primary.cnf']).toBe('[mysqld]\nread_only = OFF\n');
      expect(cm['replica.cnf']).toBe('[mysqld]\nread_only = ON\n');
      const spec = find(objects, 'StatefulSet').spec.template.spec;
      expect(spec.initContainers.map((i: any) => [i.name, i.image])).toEqual([['config', 'mariadb:11.4'], ['seed', 'mariadb:11.4']]);
      const server = env(spec.containers[0]);
      expect(server).toMatchObject({
        MARIADB_REPLICATION_USER: 'repl',
        MARIADB_REPLICATION_PASSWORD_FILE: '/etc/mariadb-secrets/mariadb-replication-password',
        MARIADB_MASTER_HOST: d.podHost(0),
        PRIMARY_ORDINAL: '0',
        MAX_LAG_SECONDS: '12',
      });
      expect(Object.keys(server).filter(k => /PASSWORD$/.test(k))).toEqual([]);
      expect(spec.volumes.find((v: any) => v.secret).secret.items.map((i: any) => i.key))
        .toEqual(['mariadb-root-password', 'mariadb-password', 'mariadb-replication-password']);
      // The seed reads the root password; the application never sees the replication password.
      expect(env(spec.initContainers[1]).MARIADB_ROOT_PASSWORD_FILE).toBe('/etc/mariadb-secrets/mariadb-root-password');
    });

    test('a promoted pod becomes the primary of the Services and of every pod', () => {
      const { d, objects } = replicated({ primaryOrdinal: 2 });
      expect(find(objects, 'Service', 'mariadb').spec.selector['statefulset.kubernetes.io/pod-name']).toBe('mariadb-2');
      expect(env(find(objects, 'StatefulSet').spec.template.spec.containers[0])).toMatchObject({ PRIMARY_ORDINAL: '2', MARIADB_MASTER_HOST: d.podHost(2) });
    });

    test.each([
      [{ replicas: 1 }, /replication.replicas is 1; replication needs at least 2 pods/],
      [{ replicas: 2.5 }, /replication.replicas is 2.5/],
      [{ primaryOrdinal: 3 }, /replication.primaryOrdinal is 3; use the ordinal of an existing pod, 0 to 2/],
      [{ maxLag: Duration.millis(500) }, /replication.maxLag is 0.5s; use a whole number of seconds, at least 1/],
    ])('rejects %o', (replication, message) => {
      expect(() => replicated(replication)).toThrow(message);
    });
  });

  describe('galera', () => {
    const clustered = (galera: Partial<NonNullable<ConstructorParameters<typeof MariaDbStatefulSet>[2]['galera']>> = {}) => {
      const c = chart();
      const d = db(c, { galera: { replicas: 3, ...galera } });
      return { d, objects: synth(c) };
    };
    const env = (container: any) => Object.fromEntries(container.env.map((e: any) => [e.name, e.value ?? e.valueFrom]));

    test('one set of N writable pods started in parallel; the client Service selects every Synced pod', () => {
      const { d, objects } = clustered({ replicas: 5 });
      const sts = find(objects, 'StatefulSet');
      expect([sts.spec.replicas, sts.spec.podManagementPolicy]).toEqual([5, 'Parallel']);
      expect(find(objects, 'Service', 'mariadb').spec.selector).toEqual(d.selectorLabels);
      expect(find(objects, 'Service', 'mariadb-headless').spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true, selector: d.selectorLabels });
      expect(find(objects, 'Service', 'mariadb-read')).toBeUndefined();
      expect(d.readHost).toBe(d.host);
      expect(d.peerPorts).toEqual([4567, 4568, 4444]);
      expect(d.clients.map(cl => cl.name)).toEqual(['mariadb-peers']);
      expect(find(objects, 'PodDisruptionBudget', 'mariadb').spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: d.selectorLabels } });
    });

    test('wsrep settings: every pod in the cluster address, node name and pod IP from the pod, mariabackup SST without a password', () => {
      const { d, objects } = clustered({ clusterName: 'shop-db' });
      const cnf = find(objects, 'ConfigMap', 'mariadb-config').data;
      expect(Object.keys(cnf)).toEqual(['galera.cnf']);
      const settings = Object.fromEntries([...cnf['galera.cnf'].matchAll(/^(\S+) = (.*)$/gm)].map(m => [m[1], m[2]]));
      expect(settings).toMatchObject({
        wsrep_on: 'ON',
        wsrep_provider: '/usr/lib/galera/libgalera_smm.so',
        wsrep_cluster_name: 'shop-db',
        wsrep_cluster_address: `gcomm://${[0, 1, 2].map(i => `mariadb-${i}.mariadb-headless.site.svc.cluster.local`).join(',')}`,
        binlog_format: 'ROW',
        innodb_autoinc_lock_mode: '2',
        wsrep_sst_method: 'mariabackup',
        wsrep_sst_auth: 'mysql:',
      });
      const spec = find(objects, 'StatefulSet').spec.template.spec;
      expect(spec.initContainers.map((i: any) => i.name)).toEqual(['config']);
      expect(env(spec.initContainers[0]).POD_IP).toEqual({ fieldRef: { fieldPath: 'status.podIP' } });
      const server = env(spec.containers[0]);
      expect(server).toMatchObject({
        MARIADB_MYSQL_LOCALHOST_USER: '1',
        MARIADB_MYSQL_LOCALHOST_GRANTS: 'RELOAD, PROCESS, LOCK TABLES, BINLOG MONITOR',
        GALERA_PEERS: d.podHosts().join(' '),
      });
      expect(spec.containers[0].command[2]).toContain('--wsrep-new-cluster');
      expect(spec.containers[0].readinessProbe.exec.command[2]).toContain("wsrep_local_state_comment', 'wsrep_ready'");
      expect(spec.containers[0].ports.map((p: any) => p.containerPort)).toEqual([3306, 4567, 4568, 4444]);
      // No SST password: the Secret holds the root and application passwords only.
      expect(spec.volumes.find((v: any) => v.secret).secret.items.map((i: any) => i.key)).toEqual(['mariadb-root-password', 'mariadb-password']);
    });

    test('its NetworkPolicy lets the pods reach each other on the Galera ports only', () => {
      const c = chart();
      const d = db(c, { galera: { replicas: 3 } });
      const storage = new StorageClaims(c, 'Storage');
      const wp = new WordPressApp(c, 'Wp', { database: d, content: storage.content, keys: kplus.Secret.fromSecretName(c, 'K', 'wp-keys') });
      new SiteNetworkPolicies(c, 'Policies', { database: d, web: wp });
      const objects = synth(c);
      const peers = [{ podSelector: { matchLabels: d.selectorLabels } }];
      const ports = [4567, 4568, 4444].map(port => ({ protocol: 'TCP', port }));
      expect(find(objects, 'NetworkPolicy', 'allow-mariadb-peers').spec).toEqual({
        podSelector: { matchLabels: d.selectorLabels }, policyTypes: ['Ingress', 'Egress'], ingress: [{ from: peers, ports }], egress: [{ to: peers, ports }],
      });
      // 3306 among the pods is the peers' client rule (the start-up checks), beside WordPress's.
      expect(find(objects, 'NetworkPolicy', 'allow-mariadb-clients').spec.ingress[0].from).toContainEqual(peers[0]);
    });

    test.each([
      [{ replicas: 1 }, /galera.replicas is 1; a Galera cluster needs an odd number of at least 3 pods \(quorum is a majority: with fewer than 3/],
      [{ replicas: 2 }, /galera.replicas is 2; .*with fewer than 3 the loss of one node stops it/],
      [{ replicas: 4 }, /galera.replicas is 4; .*with an even count a split into halves stops both\), e.g. 3 or 5/],
      [{ replicas: 3.5 }, /galera.replicas is 3.5/],
    ])('rejects %o', (galera, message) => {
      expect(() => clustered(galera)).toThrow(message);
    });

    test('rejects galera together with replication', () => {
      expect(() => db(chart(), { galera: { replicas: 3 }, replication: { replicas: 3 } })).toThrow(/replication and galera are both set/);
    });
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

describe('WordPressApp scaling and scheduling', () => {
  test('autoscaling: an autoscaling/v2 HPA on CPU, no replicas on the Deployment, a PDB and RWX sized for the maximum', () => {
    const c = chart();
    const wp = wordpress(c, { autoscaling: { minReplicas: 2, maxReplicas: 8 } });
    const objects = synth(c);
    const dep = find(objects, 'Deployment');
    expect('replicas' in dep.spec).toBe(false);
    expect(find(objects, 'HorizontalPodAutoscaler').spec).toEqual({
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'wordpress' },
      minReplicas: 2,
      maxReplicas: 8,
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }],
    });
    expect(find(objects, 'HorizontalPodAutoscaler').apiVersion).toBe('autoscaling/v2');
    expect(find(objects, 'PodDisruptionBudget')).toBeDefined();
    expect(wp.replicas).toBe(8);
    const rwo = chart();
    const claims = new StorageClaims(rwo, 'Storage', { content: { accessModes: [RWO] } });
    expect(() => new WordPressApp(rwo, 'Wp', { database: db(rwo), content: claims.content, keys: kplus.Secret.fromSecretName(rwo, 'K', 'k'), autoscaling: { minReplicas: 2, maxReplicas: 3 } }))
      .toThrow(/replicas is 3 but content claim "wordpress-content" is not ReadWriteMany/);
  });

  test('topology spread and priority class', () => {
    const c = chart();
    wordpress(c, { topologySpread: { maxSkew: 2, whenUnsatisfiable: WhenUnsatisfiable.DO_NOT_SCHEDULE }, priorityClassName: 'site-critical' });
    const spec = find(synth(c), 'Deployment').spec.template.spec;
    expect(spec.priorityClassName).toBe('site-critical');
    expect(spec.topologySpreadConstraints).toEqual([{
      topologyKey: 'topology.kubernetes.io/zone', maxSkew: 2, whenUnsatisfiable: 'DoNotSchedule',
      labelSelector: { matchLabels: { 'app.kubernetes.io/name': 'wordpress', 'app.kubernetes.io/instance': 'site', 'app.kubernetes.io/component': 'web' } },
    }]);
    expect(spec.affinity.podAntiAffinity).toBeDefined();
    const plain = chart();
    wordpress(plain);
    const plainSpec = find(synth(plain), 'Deployment').spec.template.spec;
    expect([plainSpec.topologySpreadConstraints, plainSpec.priorityClassName]).toEqual([undefined, undefined]);
  });

  test.each([
    [{ replicas: 3, autoscaling: { minReplicas: 2, maxReplicas: 4 } }, /replicas \(3\) and autoscaling are both set; leave replicas out/],
    [{ autoscaling: { minReplicas: 5, maxReplicas: 4 } }, /autoscaling.minReplicas \(5\) is above maxReplicas \(4\)/],
    [{ autoscaling: { minReplicas: 1, maxReplicas: 4 } }, /autoscaling.minReplicas is 1; use a whole number of at least 2/],
    [{ autoscaling: { minReplicas: 2, maxReplicas: 4, targetCpuUtilizationPercent: 0 } }, /targetCpuUtilizationPercent is 0; use a whole percentage from 1 to 1000/],
    [{ autoscaling: { minReplicas: 2, maxReplicas: 4 }, resources: { cpu: kplus.Cpu.millis(0), cpuLimit: kplus.Cpu.units(1), memory: Size.mebibytes(512) } }, /autoscaling on CPU needs a CPU request above 0/],
    [{ topologySpread: { maxSkew: 0 } }, /topologySpread.maxSkew is 0; use a whole number of at least 1/],
  ])('rejects %o', (props, message) => {
    expect(() => wordpress(chart(), props as any)).toThrow(message);
  });
});

describe('WordPressCron', () => {
  const envOf = (container: any) => Object.fromEntries(container.env.map((e: any) => [e.name, e.value]));

  test('minimal props: every 5 minutes, one call at a time, the page-view cron switched off', () => {
    const c = chart();
    const wp = wordpress(c);
    const before = envOf(find(Testing.synth(c), 'Deployment').spec.template.spec.containers[0]);
    expect(before.WORDPRESS_CONFIG_EXTRA).toBeUndefined();
    const cron = new WordPressCron(c, 'Cron', { wordpress: wp });
    const objects = synth(c);
    const job = find(objects, 'CronJob', 'wordpress-cron');
    expect(job.spec).toMatchObject({ schedule: '*/5 * * * *', concurrencyPolicy: 'Forbid', startingDeadlineSeconds: 120 });
    expect(job.spec.jobTemplate.spec.activeDeadlineSeconds).toBe(270);
    const container = job.spec.jobTemplate.spec.template.spec.containers[0];
    expect(container.image).toBe(wp.image);
    expect(envOf(container)).toEqual({ WP_CRON_URL: 'http://wordpress.site.svc.cluster.local:80/wp-cron.php?doing_wp_cron', TIMEOUT_SECONDS: '240' });
    expect(envOf(find(objects, 'Deployment').spec.template.spec.containers[0]).WORDPRESS_CONFIG_EXTRA).toBe("define('DISABLE_WP_CRON', true);");
    expect(wp.clients).toEqual([{ name: 'wordpress-cron', selectorLabels: cron.selectorLabels }]);
  });

  test('all props', () => {
    const c = chart();
    new WordPressCron(c, 'Cron', {
      wordpress: wordpress(c), name: 'tick', schedule: '@hourly', timeout: Duration.minutes(10),
      resources: { cpu: kplus.Cpu.millis(100), cpuLimit: kplus.Cpu.units(1), memory: Size.mebibytes(128) },
    });
    const job = find(synth(c), 'CronJob', 'tick');
    expect(job.spec.schedule).toBe('@hourly');
    expect(job.spec.jobTemplate.spec.activeDeadlineSeconds).toBe(630);
    expect(job.spec.jobTemplate.spec.template.spec.containers[0].resources).toEqual({ requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '128Mi' } });
  });

  test('its NetworkPolicies let exactly the cron pods reach WordPress, and WordPress admit them', () => {
    const c = chart();
    const wp = wordpress(c);
    const cron = new WordPressCron(c, 'Cron', { wordpress: wp });
    new SiteNetworkPolicies(c, 'Policies', { database: { name: 'db', selectorLabels: { app: 'db' }, port: 3306, clients: [] }, web: wp });
    const objects = synth(c);
    const egress = find(objects, 'NetworkPolicy', 'allow-wordpress-cron-to-wordpress');
    expect(egress.spec).toEqual({
      podSelector: { matchLabels: cron.selectorLabels },
      policyTypes: ['Egress'],
      egress: [{ to: [{ podSelector: { matchLabels: wp.selectorLabels } }], ports: [{ protocol: 'TCP', port: 80 }] }],
    });
    expect(find(objects, 'NetworkPolicy', 'allow-wordpress-http').spec.ingress[1]).toEqual({
      from: [{ podSelector: { matchLabels: cron.selectorLabels } }], ports: [{ protocol: 'TCP', port: 80 }],
    });
  });

  test.each([
    [{ schedule: '*/5 * * *' }, /WordPressCron: schedule "\*\/5 \* \* \*" /],
    [{ timeout: Duration.millis(1500) }, /WordPressCron: timeout is 1.5s; use a whole number of seconds, at least 1/],
  ])('rejects %o', (props, message) => {
    const c = chart();
    expect(() => new WordPressCron(c, 'Cron', { wordpress: wordpress(c), ...props })).toThrow(message);
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
