// Metrics and alerts (metrics.enabled): the mysqld-exporter sidecar, its my.cnf written from the
// Secret file, the apache_exporter sidecar and Apache's loopback-only status listener, the
// ServiceMonitors and the PrometheusRule, whose expressions are parsed as PromQL.
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Chart, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { parser } from '@prometheus-io/lezer-promql';
import { SiteConfig } from '../lib/config/schema';
import { MYSQLD_EXPORTER_DEFAULT_IMAGE, MYSQLD_EXPORTER_PORT, MariaDbStatefulSet } from '../lib/constructs/mariadb-statefulset';
import { SiteMonitoring } from '../lib/constructs/site-monitoring';
import { APACHE_EXPORTER_DEFAULT_IMAGE, APACHE_EXPORTER_PORT, APACHE_MAX_REQUEST_WORKERS, APACHE_STATUS_PORT } from '../lib/constructs/apache-metrics';
import { WordPressApp } from '../lib/constructs/wordpress-app';
import { StorageClaims } from '../lib/constructs/storage-claims';
import { checksum } from '../lib/k8s/pod-spec';
import { exampleSites, siteObjects, tempDir } from './support/fixtures';
import { validateManifests } from './support/k8s-schema';

const STANDALONE: SiteConfig = { exposure: { host: 'm.example.com' }, metrics: { enabled: true } };
const REPLICATED: SiteConfig = {
  exposure: { host: 'r.example.com' },
  database: { mode: 'replication', replicas: 3, replication: { maxLag: '45s' }, secret: { name: 'db', monitoringPasswordKey: 'mon' } },
  metrics: { enabled: true, user: 'prom', labels: { release: 'kps' } },
};
const NO_BACKUP: SiteConfig = { ...STANDALONE, backup: { enabled: false } };
const CANARY: SiteConfig = {
  wordpress: { content: { accessModes: ['ReadWriteMany'] }, canary: { image: 'wordpress:6.9-php8.3-apache', weight: 10 } },
  exposure: { host: 'c.example.com', tls: { mode: 'reencrypt', secretName: 'c', backendSecret: 'c-backend' } },
  metrics: { enabled: true, apacheExporterImage: 'quay.io/lusitaniae/apache-exporter:v1.0.10' },
};
const GALERA: SiteConfig = { exposure: { host: 'g.example.com' }, database: { mode: 'galera', replicas: 5 }, metrics: { enabled: true } };

const one = (objects: any[], kind: string) => {
  const found = objects.filter(o => o.kind === kind);
  expect(found).toHaveLength(1);
  return found[0];
};
const container = (sts: any, name: string) => [...sts.spec.template.spec.initContainers ?? [], ...sts.spec.template.spec.containers].find((c: any) => c.name === name);
const alerts = (objects: any[]) => one(objects, 'PrometheusRule').spec.groups.flatMap((g: any) => g.rules);
const named = (objects: any[], kind: string, name: string) => objects.find(o => o.kind === kind && o.metadata.name === name);
/** The WordPress Deployments (stable first), each with its pod spec and rendered Apache conf. */
const webs = (objects: any[]) => objects.filter(o => o.kind === 'Deployment' && o.metadata.labels['app.kubernetes.io/name'] === 'wordpress')
  .map(d => ({ deployment: d, apacheConf: named(objects, 'ConfigMap', `${d.metadata.name}-apache`)?.data['zz-cdk8s.conf'] as string | undefined }));

/** Every syntax error the maintained PromQL grammar (the one Prometheus's own UI uses) finds in `expr`. */
function promqlErrors(expr: string): string[] {
  const errors: string[] = [];
  parser.parse(expr).iterate({ enter: n => { if (n.type.isError) errors.push(`at ${n.from}: "${expr.slice(Math.max(0, n.from - 10), n.to + 10)}"`); } });
  return errors;
}

/** The label matchers of every vector selector in `expr`, e.g. [['namespace', '=', '"blog"']]. */
function selectors(expr: string): Array<{ metric: string; matchers: string[] }> {
  const out: Array<{ metric: string; matchers: string[] }> = [];
  parser.parse(expr).iterate({
    enter: n => {
      if (n.name !== 'VectorSelector') return;
      const metric = n.node.getChild('Identifier');
      const matchers = n.node.getChild('LabelMatchers')?.getChildren('UnquotedLabelMatcher') ?? [];
      out.push({ metric: metric ? expr.slice(metric.from, metric.to) : '', matchers: matchers.map(m => expr.slice(m.from, m.to).replace(/\s+/g, '')) });
    },
  });
  return out;
}

describe('PromQL check', () => {
  test('finds the errors in broken expressions (so a clean parse means something)', () => {
    for (const broken of ['up{namespace="a"} ==', 'rate(x[5m]', 'time() - > 3', 'up{namespace=a}', 'sum by (a) (x) unless on ()']) {
      expect([broken, promqlErrors(broken).length > 0]).toEqual([broken, true]);
    }
    expect(promqlErrors('increase(kube_pod_container_status_restarts_total{namespace="a"}[30m]) >= 3')).toEqual([]);
  });

  test('reads the matchers of every selector, so that a selector without the namespace is seen', () => {
    expect(selectors('up{namespace="a", job="j"} == 0 or absent(mysql_up{job="j"})')).toEqual([
      { metric: 'up', matchers: ['namespace="a"', 'job="j"'] },
      { metric: 'mysql_up', matchers: ['job="j"'] },
    ]);
  });
});

const SITES = [
  ...exampleSites().filter(s => s.objects.some(o => o.kind === 'PrometheusRule')),
  { label: 'standalone', objects: siteObjects(STANDALONE, 'm') },
  { label: 'replicated', objects: siteObjects(REPLICATED, 'r') },
  { label: 'no backup', objects: siteObjects(NO_BACKUP, 'n') },
  { label: 'canary', objects: siteObjects(CANARY, 'c') },
  { label: 'galera', objects: siteObjects(GALERA, 'g') },
];

test('prod.yaml shows metrics on blog, with replication and autoscaling', () => {
  const blog = SITES.find(s => s.label === 'prod/blog')!;
  expect(blog).toBeDefined();
  expect(one(blog.objects, 'StatefulSet').spec.replicas).toBe(3);
  one(blog.objects, 'HorizontalPodAutoscaler');
});

describe.each(SITES)('$label', ({ objects }) => {
  const ns = one(objects, 'Namespace').metadata.name;
  const sts = one(objects, 'StatefulSet');

  test('the monitoring objects validate strictly (ServiceMonitors and PrometheusRule against their CRDs)', () => {
    const metricsServices = objects.filter(o => o.kind === 'Service' && o.metadata.name.endsWith('-metrics'));
    expect(metricsServices.map(s => s.metadata.name)).toEqual(['mariadb-metrics', ...webs(objects).map(w => `${w.deployment.metadata.name}-metrics`)]);
    const monitors = objects.filter(o => o.kind === 'ServiceMonitor');
    expect(validateManifests([...monitors, one(objects, 'PrometheusRule'), ...metricsServices, sts, ...webs(objects).map(w => w.deployment)])).toEqual([]);
  });

  test('every alert parses as PromQL, is limited to the site\'s namespace, and has a severity and a summary', () => {
    const rules = alerts(objects);
    expect(rules.length).toBeGreaterThanOrEqual(3);
    for (const r of rules) {
      expect([r.alert, promqlErrors(r.expr)]).toEqual([r.alert, []]);
      expect([r.alert, selectors(r.expr).length > 0]).toEqual([r.alert, true]);
      for (const s of selectors(r.expr)) expect([r.alert, s.metric, s.matchers]).toEqual([r.alert, s.metric, expect.arrayContaining([`namespace="${ns}"`])]);
      expect([r.alert, ['critical', 'warning'].includes(r.labels.severity)]).toEqual([r.alert, true]);
      expect([r.alert, typeof r.annotations.summary === 'string' && r.annotations.summary.length > 10]).toEqual([r.alert, true]);
    }
  });

  test('the alerts match the site: replication or Galera alerts only with that mode, the backup alert only with backups', () => {
    const names = alerts(objects).map((r: any) => r.alert);
    const galera = container(sts, 'mariadb').env.some((e: any) => e.name === 'GALERA_PEERS');
    const replicated = sts.spec.replicas > 1 && !galera;
    const backup = objects.find(o => o.kind === 'CronJob' && o.metadata.name === 'mariadb-backup');
    expect(names).toEqual([
      'MariaDbDown',
      ...replicated ? ['MariaDbReplicationStopped', 'MariaDbReplicationLagging'] : [],
      ...galera ? ['MariaDbGaleraClusterDegraded', 'MariaDbGaleraNodeNotSynced'] : [],
      'ApacheDown', 'ApacheWorkersBusy',
      ...backup ? ['BackupTooOld'] : [],
      'PodRestarting', 'VolumeAlmostFull',
    ]);
    const byName = Object.fromEntries(alerts(objects).map((r: any) => [r.alert, r]));
    if (backup) {
      expect(byName.BackupTooOld.expr).toContain(`cronjob="${backup.metadata.name}"`);
      expect(byName.BackupTooOld.expr).toContain(`> ${26 * 3600}`);
    }
    if (replicated) {
      const maxLag = container(sts, 'mariadb').env.find((e: any) => e.name === 'MAX_LAG_SECONDS').value;
      expect(byName.MariaDbReplicationLagging.expr).toMatch(new RegExp(`seconds_behind_master\\{[^}]*\\} > ${maxLag}$`));
    }
    if (galera) {
      // Every node reports the size of the cluster it sees; 4 is wsrep_local_state Synced.
      expect(byName.MariaDbGaleraClusterDegraded.expr).toMatch(new RegExp(`^mysql_global_status_wsrep_cluster_size\\{[^}]*\\} < ${sts.spec.replicas}$`));
      expect(byName.MariaDbGaleraNodeNotSynced.expr).toMatch(/^mysql_global_status_wsrep_local_state\{[^}]*\} != 4 or mysql_global_status_wsrep_ready\{[^}]*\} != 1$/);
    }
    expect(byName.VolumeAlmostFull.expr).toMatch(/kubelet_volume_stats_used_bytes\{.*\} \/ kubelet_volume_stats_capacity_bytes\{.*\} > 0.85$/);
  });

  test('each ServiceMonitor selects exactly one metrics Service, whose port reaches the exporter of every pod of its workload', () => {
    const monitors = objects.filter(o => o.kind === 'ServiceMonitor');
    const workloads = [sts, ...webs(objects).map(w => w.deployment)];
    expect(monitors.map(m => m.metadata.name)).toEqual(workloads.map(w => w.metadata.name));
    monitors.forEach((sm, i) => {
      expect(sm.spec.namespaceSelector).toEqual({ matchNames: [ns] });
      const services = objects.filter(o => o.kind === 'Service'
        && Object.entries<string>(sm.spec.selector.matchLabels).every(([k, v]) => o.metadata.labels[k] === v));
      expect(services.map(s => s.metadata.name)).toEqual([`${sm.metadata.name}-metrics`]);
      const [svc] = services;
      expect(svc.spec.ports).toHaveLength(1);
      const port = svc.spec.ports.find((p: any) => p.name === sm.spec.endpoints[0].port);
      const podLabels = workloads[i].spec.template.metadata.labels;
      expect(Object.entries<string>(svc.spec.selector).every(([k, v]) => podLabels[k] === v)).toBe(true);
      const exporterPorts = workloads[i].spec.template.spec.containers.flatMap((c: any) => c.ports ?? []).filter((p: any) => p.name === port.targetPort);
      expect(exporterPorts.map((p: any) => p.containerPort)).toEqual([port.port]);
      // The rules select job="<Service name>", which prometheus-operator gives the scraped targets.
      expect(alerts(objects).some((r: any) => r.expr.includes(`job="${svc.metadata.name}"`))).toBe(true);
    });
    expect(named(objects, 'Service', 'mariadb-metrics').spec.ports[0].port).toBe(MYSQLD_EXPORTER_PORT);
    for (const w of webs(objects)) expect(named(objects, 'Service', `${w.deployment.metadata.name}-metrics`).spec.ports[0].port).toBe(APACHE_EXPORTER_PORT);
  });

  test('the exporter is pinned, restricted, read-only, sized with memory limit = request, and gets its password only as a file', () => {
    const exporter = container(sts, 'mysqld-exporter');
    expect(exporter.image).toMatch(/^prom\/mysqld-exporter:v\d+\.\d+\.\d+$/);
    expect(exporter.securityContext).toMatchObject({
      runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(exporter.resources.limits.memory).toBe(exporter.resources.requests.memory);
    expect(exporter.env).toBeUndefined();
    expect(exporter.args).toContain('--config.my-cnf=/etc/mysqld-exporter/my.cnf');
    const volumes = Object.fromEntries(sts.spec.template.spec.volumes.map((v: any) => [v.name, v]));
    for (const m of exporter.volumeMounts) expect([m.name, volumes[m.name].emptyDir?.medium]).toEqual([m.name, 'Memory']);
    const init = container(sts, 'exporter-config');
    const file = init.env.find((e: any) => e.name === 'MONITORING_PASSWORD_FILE').value;
    const key = path.basename(file);
    expect(volumes.credentials.secret.items).toContainEqual({ key, path: key });
    for (const c of [...sts.spec.template.spec.initContainers, ...sts.spec.template.spec.containers]) {
      // No password in the environment (Galera's POD_IP comes from the downward API, not a Secret).
      for (const e of c.env ?? []) expect([c.name, e.name, e.valueFrom?.secretKeyRef]).toEqual([c.name, e.name, undefined]);
    }
  });
});

describe.each(SITES)('$label: WordPress metrics', ({ objects }) => {
  const apps = webs(objects);
  const podSpec = (d: any) => d.spec.template.spec;
  const exporterOf = (d: any) => podSpec(d).containers.find((c: any) => c.name === 'apache-exporter');

  test('every WordPress Deployment (both tracks) runs apache_exporter, pinned, restricted, sized with memory limit = request', () => {
    expect(apps.length).toBeGreaterThanOrEqual(1);
    for (const { deployment } of apps) {
      const exporter = exporterOf(deployment);
      expect(podSpec(deployment).containers.map((c: any) => c.name)).toEqual(['wordpress', 'apache-exporter']);
      expect(exporter.image).toMatch(/^quay\.io\/lusitaniae\/apache-exporter:v\d+\.\d+\.\d+$/);
      expect(exporter.securityContext).toMatchObject({
        runAsNonRoot: true, runAsUser: 65534, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(exporter.resources.limits.memory).toBe(exporter.resources.requests.memory);
      // It reads nothing from disk and gets no environment: no Secret can reach it.
      expect([exporter.env, exporter.envFrom, exporter.volumeMounts]).toEqual([undefined, undefined, undefined]);
      for (const p of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
        const handler = exporter[p].tcpSocket ?? exporter[p].httpGet;
        expect([p, handler.port]).toEqual([p, 'metrics']);
      }
      expect(exporter.ports).toEqual([{ name: 'metrics', containerPort: APACHE_EXPORTER_PORT, protocol: 'TCP' }]);
      expect(exporter.args).toContain(`--web.listen-address=:${APACHE_EXPORTER_PORT}`);
    }
  });

  test('Apache serves mod_status on a loopback-only listener, which the exporter scrapes; no container port or Service reaches it', () => {
    for (const { deployment, apacheConf } of apps) {
      const conf = apacheConf!;
      const listens = [...conf.matchAll(/^\s*Listen\s+(\S+)/gm)].map(m => m[1]);
      const loopback = listens.filter(l => l.startsWith('127.0.0.1:'));
      expect(loopback).toEqual([`127.0.0.1:${APACHE_STATUS_PORT}`]);
      const vhost = new RegExp(`<VirtualHost 127\\.0\\.0\\.1:${APACHE_STATUS_PORT}>([\\s\\S]*?)</VirtualHost>`).exec(conf)![1];
      expect(vhost).toMatch(/<Location "\/server-status">\s*SetHandler server-status\s*Require ip 127\.0\.0\.1\s*<\/Location>/);
      expect(vhost).toMatch(/AllowOverride None/);
      // Outside any VirtualHost: what every other listener (80, 8443) answers for /server-status.
      const mainServer = conf.replace(/<VirtualHost[\s\S]*?<\/VirtualHost>/g, '');
      expect(mainServer).toMatch(/<Location "\/server-status">\s*Require all denied\s*<\/Location>/);
      expect(mainServer).not.toContain('SetHandler server-status');
      expect(mainServer).toContain(`MaxRequestWorkers ${APACHE_MAX_REQUEST_WORKERS}`);
      expect(mainServer).toContain(`ServerLimit ${APACHE_MAX_REQUEST_WORKERS}`);
      expect(exporterOf(deployment).args).toContain(`--scrape_uri=http://127.0.0.1:${APACHE_STATUS_PORT}/server-status?auto`);
      const containerPorts = podSpec(deployment).containers.flatMap((c: any) => c.ports.map((p: any) => p.containerPort));
      expect(containerPorts).not.toContain(APACHE_STATUS_PORT);
      const servicePorts = objects.filter(o => o.kind === 'Service').flatMap(o => o.spec.ports.map((p: any) => p.port));
      expect(servicePorts).not.toContain(APACHE_STATUS_PORT);
    }
  });

  test('the config checksum of the pods covers the Apache conf, so a change to it rolls them', () => {
    for (const { deployment } of apps) {
      const name = deployment.metadata.name;
      const data = { php: named(objects, 'ConfigMap', `${name}-php`).data, apache: named(objects, 'ConfigMap', `${name}-apache`).data };
      expect(deployment.spec.template.metadata.annotations['checksum/config']).toBe(checksum(data));
      expect(podSpec(deployment).volumes).toContainEqual({ name: 'apache-config', configMap: { name: `${name}-apache` } });
    }
  });

  test('only the Prometheus namespace reaches the exporter port, and no policy admits the status port', () => {
    const policies = objects.filter(o => o.kind === 'NetworkPolicy');
    const ingressPorts = (p: any) => (p.spec.ingress ?? []).flatMap((r: any) => (r.ports ?? []).map((x: any) => x.port));
    for (const { deployment } of apps) {
      const selected = policies.filter(p => p.spec.policyTypes.includes('Ingress') && Object.entries<string>(p.spec.podSelector.matchLabels ?? {})
        .every(([k, v]) => deployment.spec.template.metadata.labels[k] === v));
      const admitting = selected.filter(p => ingressPorts(p).includes(APACHE_EXPORTER_PORT));
      expect(admitting.map(p => p.metadata.name)).toEqual([`allow-prometheus-to-${deployment.metadata.name}`]);
      expect(admitting[0].spec.ingress).toEqual([{
        from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }],
        ports: [{ protocol: 'TCP', port: APACHE_EXPORTER_PORT }],
      }]);
      expect(selected.flatMap(ingressPorts)).not.toContain(APACHE_STATUS_PORT);
    }
  });

  test('the Apache alerts watch every WordPress exporter by its Service', () => {
    const byName = Object.fromEntries(alerts(objects).map((r: any) => [r.alert, r]));
    const jobs = apps.map(a => `${a.deployment.metadata.name}-metrics`);
    for (const job of jobs) expect(byName.ApacheDown.expr).toContain(`absent(up{namespace="${one(objects, 'Namespace').metadata.name}", job="${job}"})`);
    const matcher = jobs.length === 1 ? `job="${jobs[0]}"` : `job=~"${jobs.join('|')}"`;
    for (const metric of ['apache_up', 'apache_exporter_scrape_failures_total']) {
      expect(selectors(byName.ApacheDown.expr).find(x => x.metric === metric)!.matchers).toContain(matcher);
    }
    expect(selectors(byName.ApacheWorkersBusy.expr).map(x => x.metric)).toEqual(['apache_workers', 'apache_scoreboard']);
    expect(byName.ApacheWorkersBusy.expr).toMatch(/state="busy"\}\) \/ sum by \(namespace, job, pod\) \(apache_scoreboard\{[^}]*\}\) > 0.9$/);
  });
});

describe('the exporter-config init container, run from the rendered YAML', () => {
  const sts = one(siteObjects(REPLICATED, 'r'), 'StatefulSet');
  const init = container(sts, 'exporter-config');

  function run(password: string) {
    const dir = tempDir('exporter-config-');
    try {
      fs.writeFileSync(path.join(dir.dir, 'mon'), password);
      const env: Record<string, string> = { PATH: process.env.PATH! };
      for (const e of init.env) env[e.name] = e.value.replace(/^\/etc\/(mariadb-secrets|mysqld-exporter)/, dir.dir);
      const r = spawnSync(init.command[0], init.command.slice(1), { env, encoding: 'utf8' });
      const cnf = path.join(dir.dir, 'my.cnf');
      return { status: r.status, stderr: r.stderr, cnf: fs.existsSync(cnf) ? fs.readFileSync(cnf, 'utf8') : undefined, mode: fs.existsSync(cnf) ? fs.statSync(cnf).mode & 0o777 : undefined };
    } finally {
      dir.cleanup();
    }
  }

  test('writes a [client] section for the monitoring user with the password from the Secret file, readable by its owner only', () => {
    const r = run('s3cr3t/+=#;x\n');
    expect(r.status).toBe(0);
    expect(r.cnf).toBe('[client]\nuser = prom\npassword = "s3cr3t/+=#;x"\nhost = 127.0.0.1\nport = 3306\n');
    expect(r.mode).toBe(0o600);
  });

  test.each([
    ['an empty file', '', /is empty/],
    ['a double quote', 'a"b', /quote, backslash or line break/],
    ['a backslash', 'a\\b', /quote, backslash or line break/],
    ['a line break inside', 'a\nb', /quote, backslash or line break/],
  ])('refuses %s, writing nothing', (_, password, message) => {
    const r = run(password);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(message);
    expect(r.cnf).toBeUndefined();
  });

  test('the file it writes reads back as those options in a MySQL option-file parser (my_print_defaults)', () => {
    const password = 'p#;w=d $x';
    const r = run(password);
    const dir = tempDir('exporter-cnf-');
    try {
      const cnf = path.join(dir.dir, 'my.cnf');
      fs.writeFileSync(cnf, r.cnf!);
      const out = execFileSync('my_print_defaults', [`--defaults-file=${cnf}`, 'client'], { encoding: 'utf8' });
      expect(out.trim().split('\n')).toEqual(['--user=prom', `--password=${password}`, '--host=127.0.0.1', '--port=3306']);
    } finally {
      dir.cleanup();
    }
  });
});

describe('library errors', () => {
  const chart = () => new Chart(Testing.app(), 'site', { namespace: 'site', disableResourceNameHashes: true });
  const secret = (c: Chart) => kplus.Secret.fromSecretName(c, 'S', 'db');
  const wordpress = (c: Chart, metrics: { image?: string } | undefined) => {
    const database = { host: 'db', port: 3306, databaseName: 'wp', username: 'wp', credentials: { secret: kplus.Secret.fromSecretName(c, 'WpDb', 'db'), passwordKey: 'p' } };
    const content = new StorageClaims(c, 'Storage', {}).content;
    return new WordPressApp(c, 'WordPress', { database, content, keys: kplus.Secret.fromSecretName(c, 'K', 'keys'), replicas: 1, metrics });
  };

  test('an exporter image that is not pinned is refused', () => {
    for (const image of ['prom/mysqld-exporter', 'prom/mysqld-exporter:latest']) {
      const c = chart();
      expect(() => new MariaDbStatefulSet(c, 'Db', { credentials: { secret: secret(c) }, metrics: { image } })).toThrow(/MariaDbStatefulSet: metrics.image .*(has no tag|uses "latest")/);
    }
  });

  test('an empty monitoring key is refused with the fix', () => {
    const c = chart();
    expect(() => new MariaDbStatefulSet(c, 'Db', { credentials: { secret: secret(c), monitoringPasswordKey: '' }, metrics: {} }))
      .toThrow(/monitoringPasswordKey is empty.*"mariadb-monitoring-password"/);
  });

  test('SiteMonitoring needs a database with an exporter', () => {
    const c = chart();
    const database = new MariaDbStatefulSet(c, 'Db', { credentials: { secret: secret(c) } });
    expect(() => new SiteMonitoring(c, 'M', { database })).toThrow(/has no exporter; build the MariaDbStatefulSet with metrics/);
  });

  test('an Apache exporter image that is not pinned is refused', () => {
    for (const image of ['quay.io/lusitaniae/apache-exporter', 'quay.io/lusitaniae/apache-exporter:latest']) {
      const c = chart();
      expect(() => wordpress(c, { image })).toThrow(/WordPressApp: metrics.image .*(has no tag|uses "latest")/);
    }
  });

  test('SiteMonitoring needs WordPress Deployments with an exporter', () => {
    const c = chart();
    const database = new MariaDbStatefulSet(c, 'Db', { credentials: { secret: secret(c) }, metrics: {} });
    const web = wordpress(c, undefined);
    expect(() => new SiteMonitoring(c, 'M', { database, web: [web] })).toThrow(/WordPress "wordpress" has no exporter; build the WordPressApp with metrics: \{\}/);
  });

  test('without metrics nothing of this is rendered', () => {
    const objects = siteObjects({ exposure: { host: 'x.example.com' } }, 'x');
    expect(objects.filter(o => ['ServiceMonitor', 'PrometheusRule'].includes(o.kind) || o.metadata.name === 'mariadb-metrics')).toEqual([]);
    expect(JSON.stringify(objects)).not.toContain('mysqld-exporter');
    expect(JSON.stringify(objects)).not.toMatch(/apache-exporter|server-status|wordpress-metrics/);
    const c = chart();
    new MariaDbStatefulSet(c, 'Db', { credentials: { secret: secret(c) }, metrics: {} });
    expect(container(one(Testing.synth(c), 'StatefulSet'), 'mysqld-exporter').image).toBe(MYSQLD_EXPORTER_DEFAULT_IMAGE);
    const w = chart();
    wordpress(w, {});
    expect(container(one(Testing.synth(w), 'Deployment'), 'apache-exporter').image).toBe(APACHE_EXPORTER_DEFAULT_IMAGE);
  });
});
