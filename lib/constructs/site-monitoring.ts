import { ApiObject, Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { PrometheusRule, PrometheusRuleSpecGroupsRules, PrometheusRuleSpecGroupsRulesExpr } from '../../imports/prometheusrules-monitoring.coreos.com';
import { ServiceMonitor } from '../../imports/servicemonitors-monitoring.coreos.com';
import { objectLabels, siteInstance } from '../k8s/labels';
import { MetricsService } from '../k8s/metrics-service';
import { APACHE_MAX_REQUEST_WORKERS } from './apache-metrics';
import { MariaDbStatefulSet } from './mariadb-statefulset';
import { WordPressApp } from './wordpress-app';

/** Share of a volume's capacity in use above which `VolumeAlmostFull` fires. */
export const VOLUME_FULL_RATIO = 0.85;

/** A backup older than this (one daily run missed, plus slack for a slow dump) fires `BackupTooOld`. */
export const BACKUP_MAX_AGE_HOURS = 26;

/** Share of MaxRequestWorkers busy above which `ApacheWorkersBusy` fires: beyond the limit requests queue. */
export const APACHE_BUSY_RATIO = 0.9;

/** Props of `SiteMonitoring`. */
export interface SiteMonitoringProps {
  /** The database; it must have been built with `metrics` (its exporter and `<name>-metrics` Service). */
  readonly database: MariaDbStatefulSet;
  /**
   * WordPress Deployments (stable, canary) to watch; each must have been built with `metrics` (its
   * apache_exporter and `<name>-metrics` Service).
   * @default none: no Apache ServiceMonitor or alerts
   */
  readonly web?: readonly WordPressApp[];
  /**
   * Name of the backup CronJob whose last success `BackupTooOld` watches (kube-state-metrics).
   * @default no backup alert (backups are off)
   */
  readonly backupCronJobName?: string;
  /**
   * Extra labels on the ServiceMonitor and the PrometheusRule, for the selectors of the Prometheus
   * that should load them (kube-prometheus-stack selects `release: <its release>` by default).
   * @default none
   */
  readonly labels?: Record<string, string>;
  /**
   * Site name for the `app.kubernetes.io/instance` label.
   * @default the id of the enclosing chart
   */
  readonly instance?: string;
}

/**
 * What Prometheus (prometheus-operator) needs to watch a site: a ServiceMonitor for the database's
 * exporters, one for each WordPress Deployment's, and a PrometheusRule with the site's alerts, each with a `severity` label and a
 * `summary` annotation. Every expression is limited to the site's namespace, so that the rules of
 * many sites loaded into one Prometheus do not fire for each other. Besides the exporter, the rules
 * read kube-state-metrics (restarts, the backup CronJob) and the kubelet (volume use), which a
 * kube-prometheus-stack installation scrapes already.
 */
export class SiteMonitoring extends Construct {
  /** The ServiceMonitor of the database's `<name>-metrics` Service (a `ServiceMonitor` of imports/). */
  public readonly serviceMonitor: ApiObject;
  /** The ServiceMonitors of the WordPress Deployments' `<name>-metrics` Services, in the order of `web`. */
  public readonly webServiceMonitors: readonly ApiObject[];
  /** The alerting rules (a `PrometheusRule` of imports/). */
  public readonly rule: ApiObject;

  constructor(scope: Construct, id: string, props: SiteMonitoringProps) {
    super(scope, id);
    const db = props.database;
    if (!db.metricsService) {
      throw new Error(`SiteMonitoring: database "${db.name}" has no exporter; build the MariaDbStatefulSet with metrics: {}`);
    }
    const namespace = Chart.of(this).namespace;
    if (!namespace) throw new Error('SiteMonitoring: the chart has no namespace; the alerts are scoped to one');
    const labels = { ...objectLabels({ name: 'wordpress', instance: siteInstance(this, props.instance), component: 'monitoring' }), ...props.labels };
    const job = db.metricsService.name;
    const webServices = (props.web ?? []).map(app => {
      if (!app.metricsService) throw new Error(`SiteMonitoring: WordPress "${app.name}" has no exporter; build the WordPressApp with metrics: {}`);
      return app.metricsService;
    });

    const scrape = (id: string, name: string, service: MetricsService) => new ServiceMonitor(this, id, {
      metadata: { name, labels },
      spec: {
        selector: { matchLabels: service.labels },
        namespaceSelector: { matchNames: [namespace] },
        // `job` then is the Service name, which the rules below select on.
        endpoints: [{ port: service.port, interval: '30s', scrapeTimeout: '10s' }],
      },
    });
    this.serviceMonitor = scrape('ServiceMonitor', db.name, db.metricsService);
    this.webServiceMonitors = (props.web ?? []).map((app, i) => scrape(`WebServiceMonitor${i}`, app.name, webServices[i]));

    const site = `namespace="${namespace}"`;
    const exporter = `${site}, job="${job}"`;
    const rules: PrometheusRuleSpecGroupsRules[] = [
      alert('MariaDbDown', 'critical', '5m',
        `mysql_up{${exporter}} == 0 or up{${exporter}} == 0 or absent(up{${exporter}})`,
        `MariaDB of ${namespace} is down or not scraped ({{ $labels.pod }})`),
    ];
    if (db.replication) {
      rules.push(
        alert('MariaDbReplicationStopped', 'critical', '2m',
          `mysql_slave_status_slave_io_running{${exporter}} == 0 or mysql_slave_status_slave_sql_running{${exporter}} == 0`,
          `Replication stopped on {{ $labels.pod }} (${namespace}); see docs/replication.md`),
        alert('MariaDbReplicationLagging', 'warning', '5m',
          `mysql_slave_status_seconds_behind_master{${exporter}} > ${db.replication.maxLag.toSeconds()}`,
          `{{ $labels.pod }} (${namespace}) is {{ $value }}s behind the primary and left the read Service`),
      );
    }
    if (db.galera) {
      // wsrep_local_state 4 is Synced; the exporter turns wsrep_ready ON into 1.
      rules.push(
        alert('MariaDbGaleraClusterDegraded', 'critical', '2m',
          `mysql_global_status_wsrep_cluster_size{${exporter}} < ${db.galera.replicas}`,
          `{{ $labels.pod }} (${namespace}) sees {{ $value }} of ${db.galera.replicas} Galera nodes; see docs/galera.md`),
        alert('MariaDbGaleraNodeNotSynced', 'warning', '5m',
          `mysql_global_status_wsrep_local_state{${exporter}} != 4 or mysql_global_status_wsrep_ready{${exporter}} != 1`,
          `Galera node {{ $labels.pod }} (${namespace}) is not Synced and left the Service`),
      );
    }
    if (webServices.length) rules.push(...apacheAlerts(site, webServices.map(w => w.name), namespace));
    if (props.backupCronJobName) {
      const cronJob = `${site}, cronjob="${props.backupCronJobName}"`;
      const maxAge = BACKUP_MAX_AGE_HOURS * 3600;
      // Also fires when the CronJob has never succeeded since it was created that long ago.
      rules.push(alert('BackupTooOld', 'critical', '10m',
        `time() - kube_cronjob_status_last_successful_time{${cronJob}} > ${maxAge}`
        + ` or (time() - kube_cronjob_created{${cronJob}} > ${maxAge} unless on (namespace, cronjob) kube_cronjob_status_last_successful_time{${cronJob}})`,
        `No successful database backup in ${namespace} for more than ${BACKUP_MAX_AGE_HOURS} hours`));
    }
    rules.push(
      alert('PodRestarting', 'warning', '0m',
        `increase(kube_pod_container_status_restarts_total{${site}}[30m]) >= 3`,
        `Container {{ $labels.container }} of {{ $labels.pod }} (${namespace}) restarted {{ $value }} times in 30 minutes`),
      alert('VolumeAlmostFull', 'warning', '5m',
        `kubelet_volume_stats_used_bytes{${site}} / kubelet_volume_stats_capacity_bytes{${site}} > ${VOLUME_FULL_RATIO}`,
        `Volume {{ $labels.persistentvolumeclaim }} (${namespace}) is over ${VOLUME_FULL_RATIO * 100} % full`),
    );

    this.rule = new PrometheusRule(this, 'Rule', {
      metadata: { name: 'wordpress', labels },
      spec: { groups: [{ name: `wordpress-${namespace}`, rules }] },
    });
  }
}

/**
 * The Apache alerts over the exporters behind `jobs`. apache_up stays 1 when Apache answers the
 * status page with an error (the exporter then counts a scrape failure instead), so both are read.
 */
function apacheAlerts(site: string, jobs: string[], namespace: string): PrometheusRuleSpecGroupsRules[] {
  const exporter = `${site}, ${jobs.length === 1 ? `job="${jobs[0]}"` : `job=~"${jobs.join('|')}"`}`;
  const byPod = 'sum by (namespace, job, pod)';
  return [
    alert('ApacheDown', 'critical', '5m',
      `apache_up{${exporter}} == 0 or up{${exporter}} == 0 or increase(apache_exporter_scrape_failures_total{${exporter}}[5m]) > 0`
      + jobs.map(job => ` or absent(up{${site}, job="${job}"})`).join(''),
      `Apache of WordPress in ${namespace} is down, fails its status page or is not scraped ({{ $labels.pod }})`),
    alert('ApacheWorkersBusy', 'warning', '10m',
      `${byPod} (apache_workers{${exporter}, state="busy"}) / ${byPod} (apache_scoreboard{${exporter}}) > ${APACHE_BUSY_RATIO}`,
      `{{ $labels.pod }} (${namespace}) has {{ $value | humanizePercentage }} of its ${APACHE_MAX_REQUEST_WORKERS} Apache workers busy; `
      + 'requests beyond them queue: add replicas or look for slow PHP'),
  ];
}

function alert(name: string, severity: 'critical' | 'warning', forDuration: string, expr: string, summary: string): PrometheusRuleSpecGroupsRules {
  return {
    alert: name,
    expr: PrometheusRuleSpecGroupsRulesExpr.fromString(expr),
    for: forDuration === '0m' ? undefined : forDuration,
    labels: { severity },
    annotations: { summary },
  };
}
