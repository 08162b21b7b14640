// Metrics and alerts (metrics.enabled): the mysqld-exporter sidecar, its my.cnf written from the
// Secret file, the ServiceMonitor and the PrometheusRule, whose expressions are parsed as PromQL.
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Chart, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { parser } from '@prometheus-io/lezer-promql';
import { SiteConfig } from '../lib/config/schema';
import { MYSQLD_EXPORTER_DEFAULT_IMAGE, MYSQLD_EXPORTER_PORT, MariaDbStatefulSet } from '../lib/constructs/mariadb-statefulset';
import { SiteMonitoring } from '../lib/constructs/site-monitoring';
import { exampleSites, siteObjects, tempDir } from './support/fixtures';
import { validateManifests } from './support/k8s-schema';

const STANDALONE: SiteConfig = { exposure: { host: 'm.example.com' }, metrics: { enabled: true } };
const REPLICATED: SiteConfig = {
  exposure: { host: 'r.example.com' },
  database: { mode: 'replication', replicas: 3, replication: { maxLag: '45s' }, secret: { name: 'db', monitoringPasswordKey: 'mon' } },
  metrics: { enabled: true, user: 'prom', labels: { release: 'kps' } },
};
const NO_BACKUP: SiteConfig = { ...STANDALONE, backup: { enabled: false } };

const one = (objects: any[], kind: string) => {
  const found = objects.filter(o => o.kind === kind);
  expect(found).toHaveLength(1);
  return found[0];
};
const container = (sts: any, name: string) => [...sts.spec.template.spec.initContainers ?? [], ...sts.spec.template.spec.containers].find((c: any) => c.name === name);
const alerts = (objects: any[]) => one(objects, 'PrometheusRule').spec.groups.flatMap((g: any) => g.rules);

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

  test('the monitoring objects validate strictly (ServiceMonitor and PrometheusRule against their CRDs)', () => {
    const metricsService = objects.find(o => o.kind === 'Service' && o.metadata.name === 'mariadb-metrics');
    expect(validateManifests([one(objects, 'ServiceMonitor'), one(objects, 'PrometheusRule'), metricsService, sts])).toEqual([]);
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

  test('the alerts match the site: replication alerts only with replication, the backup alert only with backups', () => {
    const names = alerts(objects).map((r: any) => r.alert);
    const replicated = sts.spec.replicas > 1;
    const backup = objects.find(o => o.kind === 'CronJob' && o.metadata.name === 'mariadb-backup');
    expect(names).toEqual([
      'MariaDbDown',
      ...replicated ? ['MariaDbReplicationStopped', 'MariaDbReplicationLagging'] : [],
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
    expect(byName.VolumeAlmostFull.expr).toMatch(/kubelet_volume_stats_used_bytes\{.*\} \/ kubelet_volume_stats_capacity_bytes\{.*\} > 0.85$/);
  });

  test('the ServiceMonitor selects exactly the metrics Service, whose port reaches the exporter of every database pod', () => {
    const sm = one(objects, 'ServiceMonitor');
    expect(sm.spec.namespaceSelector).toEqual({ matchNames: [ns] });
    const services = objects.filter(o => o.kind === 'Service'
      && Object.entries<string>(sm.spec.selector.matchLabels).every(([k, v]) => o.metadata.labels[k] === v));
    expect(services.map(s => s.metadata.name)).toEqual(['mariadb-metrics']);
    const [svc] = services;
    const port = svc.spec.ports.find((p: any) => p.name === sm.spec.endpoints[0].port);
    expect(port.port).toBe(MYSQLD_EXPORTER_PORT);
    // The rules select job="<Service name>", which prometheus-operator gives the scraped targets.
    expect(alerts(objects)[0].expr).toContain(`job="${svc.metadata.name}"`);
    const podLabels = sts.spec.template.metadata.labels;
    expect(Object.entries<string>(svc.spec.selector).every(([k, v]) => podLabels[k] === v)).toBe(true);
    const exporterPort = container(sts, 'mysqld-exporter').ports.find((p: any) => p.name === port.targetPort);
    expect(exporterPort.containerPort).toBe(MYSQLD_EXPORTER_PORT);
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
      for (const e of c.env ?? []) expect([c.name, e.name, e.valueFrom]).toEqual([c.name, e.name, undefined]);
    }
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

  test('without metrics nothing of this is rendered', () => {
    const objects = siteObjects({ exposure: { host: 'x.example.com' } }, 'x');
    expect(objects.filter(o => ['ServiceMonitor', 'PrometheusRule'].includes(o.kind) || o.metadata.name === 'mariadb-metrics')).toEqual([]);
    expect(JSON.stringify(objects)).not.toContain('mysqld-exporter');
    const c = chart();
    new MariaDbStatefulSet(c, 'Db', { credentials: { secret: secret(c) }, metrics: {} });
    expect(container(one(Testing.synth(c), 'StatefulSet'), 'mysqld-exporter').image).toBe(MYSQLD_EXPORTER_DEFAULT_IMAGE);
  });
});
