import { Chart, ChartProps } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { APACHE_EXPORTER_PORT } from '../constructs/apache-metrics';
import { AntiAffinity, AntiAffinityMode, AntiAffinityOptions, NodeAffinityOperator, Topology } from '../constructs/anti-affinity';
import { ExposureConfig, NamespacedPodsConfig, PlacementConfig, ProbesConfig, ResourcesConfig, SiteConfig, VolumeConfig } from '../config/schema';
import { GatewayRoute } from '../constructs/gateway-route';
import { IstioCanary } from '../constructs/istio-canary';
import { OpenShiftRoute } from '../constructs/openshift-route';
import { parseCpu, parseDuration, parseSize } from '../config/units';
import { DeployerAccess } from '../constructs/deployer-access';
import { ExposureType, IngressController, IngressRule, IngressTls, IssuerKind, TlsMode } from '../constructs/ingress-rule';
import { objectLabels } from '../k8s/labels';
import { BACKUP_CLAIM, MariaDbBackup } from '../constructs/mariadb-backup';
import { MariaDbRestore } from '../constructs/mariadb-restore';
import { MYSQLD_EXPORTER_PORT, MariaDbStatefulSet } from '../constructs/mariadb-statefulset';
import { INGRESS_NGINX, ISTIOD, NamespacedPods, OPENSHIFT_ROUTER, SiteNetworkPolicies, WebAccess } from '../constructs/network-policies';
import { SiteMonitoring } from '../constructs/site-monitoring';
import { NamespaceQuota } from '../constructs/namespace-quota';
import { ProbeSettings, ProbeTimings, ResourceSpec, withoutFixedIds } from '../k8s/pod-spec';
import { ISTIO_PROXY_RESOURCES, podSpecOf } from '../k8s/workload-pods';
import { renderingEachObjectOnce } from '../k8s/render-once';
import { resolvingDirectly } from '../k8s/resolve-directly';
import { ClaimOptions, ClaimSource, FOUNDATION_ANNOTATIONS, StorageClaims, clusterScoped } from '../constructs/storage-claims';
import {
  TRACK_LABEL, Track, WORDPRESS_DEFAULT_IMAGE, WORDPRESS_HTTPS_PORT, WhenUnsatisfiable, WordPressApp, WordPressAppProps,
} from '../constructs/wordpress-app';
import { WordPressCron } from '../constructs/wordpress-cron';

/**
 * Resources of the Istio sidecar in the web pods, set by annotation so that the namespace's quota and
 * LimitRange (computed from the pods) hold it: Istio's default limits (2 CPUs, 1Gi) would not fit them.
 */
export const ISTIO_PROXY_SIZE: Readonly<Record<string, string>> = {
  [ISTIO_PROXY_RESOURCES.cpu]: '100m',
  [ISTIO_PROXY_RESOURCES.cpuLimit]: '500m',
  [ISTIO_PROXY_RESOURCES.memory]: '128Mi',
  [ISTIO_PROXY_RESOURCES.memoryLimit]: '128Mi',
};

/** Pod label with which Istio's injector leaves a pod without a sidecar. */
export const ISTIO_INJECT_LABEL = 'sidecar.istio.io/inject';

/** Props of `WordPressChart`: chart props other than the namespace, plus the site's settings. */
export interface WordPressChartProps extends Omit<ChartProps, 'namespace' | 'disableResourceNameHashes'> {
  /**
   * The site's settings, as in a config file (already validated by the schema).
   * @default every default; `exposure.host` is then required by the Ingress
   */
  readonly site?: SiteConfig;
}

/**
 * One WordPress site in its own Namespace: MariaDB, WordPress, the content claim and the way in.
 * The chart's id is the site name (`app.kubernetes.io/instance`) and default namespace.
 */
export class WordPressChart extends Chart {
  /** The Namespace everything lives in. */
  public readonly namespaceName: string;
  /** The MariaDB StatefulSet. */
  public readonly database: MariaDbStatefulSet;
  /** The WordPress Deployment. */
  public readonly wordpress: WordPressApp;
  /** The canary Deployment, when `wordpress.canary` is set. */
  public readonly canary?: WordPressApp;
  /** The content claim (and any static volume behind it). */
  public readonly storage: StorageClaims;
  /** How traffic gets in: the Ingress (or Service), the Gateway API HTTPRoute or the OpenShift Route. */
  public readonly exposure: IngressRule | GatewayRoute | OpenShiftRoute;
  /** The Istio traffic split, with `exposure.mesh: istio` and a canary. */
  public readonly istioCanary?: IstioCanary;
  /** Pods get no fixed UID/GID/fsGroup (the platform assigns them). */
  public readonly assignedUids: boolean;
  /** Istio injects sidecars into the web pods. */
  public readonly mesh: boolean;
  /** The ServiceMonitor and alerts, with `metrics.enabled`. */
  public readonly monitoring?: SiteMonitoring;

  constructor(scope: Construct, id: string, props: WordPressChartProps = {}) {
    const site = props.site ?? {};
    const namespace = site.namespace ?? id;
    super(scope, id, { ...props, namespace, disableResourceNameHashes: true });
    this.namespaceName = namespace;
    const ex = site.exposure ?? {};
    const type = (ex.type ?? ExposureType.INGRESS) as ExposureType;
    const tlsMode = (ex.tls?.mode ?? TlsMode.EDGE) as TlsMode;
    const backendTls = tlsMode !== TlsMode.EDGE;
    this.mesh = ex.mesh === 'istio';
    this.assignedUids = site.security?.assignedUids ?? type === ExposureType.ROUTE;

    const ns = new k8s.KubeNamespace(this, 'Namespace', {
      metadata: {
        name: namespace,
        labels: {
          ...objectLabels({ name: 'wordpress', instance: id, component: 'namespace' }),
          'pod-security.kubernetes.io/enforce': 'restricted',
          'pod-security.kubernetes.io/audit': 'restricted',
          'pod-security.kubernetes.io/warn': 'restricted',
          ...(this.mesh ? { 'istio-injection': 'enabled' } : {}),
        },
        // Deleting the namespace would delete every claim in it.
        annotations: { ...FOUNDATION_ANNOTATIONS },
      },
    });
    clusterScoped(ns);

    const wp = site.wordpress ?? {};
    const db = site.database ?? {};
    const metrics = site.metrics?.enabled ? site.metrics : undefined;

    this.storage = new StorageClaims(this, 'Storage', { content: claimOptions(wp.content) });

    this.database = new MariaDbStatefulSet(this, 'Database', {
      credentials: {
        secret: kplus.Secret.fromSecretName(this, 'DatabaseSecret', db.secret?.name ?? 'mariadb-credentials'),
        rootPasswordKey: db.secret?.rootPasswordKey,
        passwordKey: db.secret?.passwordKey,
        replicationPasswordKey: db.secret?.replicationPasswordKey,
        monitoringPasswordKey: db.secret?.monitoringPasswordKey,
      },
      metrics: metrics && { image: metrics.exporterImage, user: metrics.user },
      image: db.image,
      databaseName: db.databaseName,
      username: db.username,
      volumeSize: db.volumeSize ? parseSize(db.volumeSize) : undefined,
      storageClassName: db.storageClassName,
      config: db.config,
      resources: resourceSpec(db.resources),
      probes: probeSettings(db.probes),
      replication: db.mode === 'replication' ? {
        replicas: db.replicas ?? 2,
        primaryOrdinal: db.replication?.primary,
        user: db.replication?.user,
        maxLag: db.replication?.maxLag ? parseDuration(db.replication.maxLag) : undefined,
      } : undefined,
      galera: db.mode === 'galera' ? { replicas: db.replicas ?? 3, clusterName: db.galera?.clusterName } : undefined,
    });
    // Replicas are only a stand-by, and Galera nodes only keep quorum, when they do not share a node: spread them by default.
    if (db.placement || (db.mode ?? 'standalone') !== 'standalone') new AntiAffinity(this, 'DatabasePlacement', { target: this.database, ...placement(db.placement) });

    // --- WordPress: the stable track and, with wordpress.canary, a canary track ---
    const canaryConfig = wp.canary;
    if (canaryConfig && canaryConfig.image === (wp.image ?? WORDPRESS_DEFAULT_IMAGE)) {
      throw new Error(`WordPressChart: wordpress.canary.image "${canaryConfig.image}" is the stable image; give the canary the image to try`);
    }
    if (canaryConfig && !this.storage.content.accessModes.includes(kplus.PersistentVolumeAccessMode.READ_WRITE_MANY)) {
      throw new Error('WordPressChart: a canary shares the content claim with the stable pods, so the claim must be ReadWriteMany');
    }
    const meshCanary = this.mesh && canaryConfig !== undefined;
    // OpenShift's service CA issues the backend certificate for a re-encrypting Route unless one is given.
    const servingCert = type === ExposureType.ROUTE && tlsMode === TlsMode.REENCRYPT && !ex.tls?.backendSecret;
    const httpsSecret = (name: string) => (backendTls ? ex.tls?.backendSecret ?? (servingCert ? `${name}-serving-cert` : undefined) : undefined);
    if (backendTls && httpsSecret('wordpress') === undefined) {
      throw new Error(`WordPressChart: exposure.tls.mode ${tlsMode} needs exposure.tls.backendSecret, the TLS Secret WordPress serves on 8443`);
    }
    const common: WordPressAppProps = {
      database: this.database,
      content: this.storage.content,
      keys: kplus.Secret.fromSecretName(this, 'KeysSecret', wp.keysSecret ?? 'wordpress-keys'),
      topologySpread: wp.topologySpread && {
        topologyKey: topologyKey(wp.topologySpread.topologyKey),
        maxSkew: wp.topologySpread.maxSkew,
        whenUnsatisfiable: wp.topologySpread.whenUnsatisfiable as WhenUnsatisfiable | undefined,
      },
      priorityClassName: wp.priorityClassName,
      tablePrefix: wp.tablePrefix,
      debug: wp.debug,
      php: wp.php && {
        uploadMaxSize: wp.php.uploadMaxSize ? parseSize(wp.php.uploadMaxSize) : undefined,
        memoryLimit: wp.php.memoryLimit ? parseSize(wp.php.memoryLimit) : undefined,
        maxExecutionTime: wp.php.maxExecutionTime ? parseDuration(wp.php.maxExecutionTime) : undefined,
      },
      resources: resourceSpec(wp.resources),
      probes: probeSettings(wp.probes),
      placement: placement(wp.placement),
      podAnnotations: this.mesh ? { ...ISTIO_PROXY_SIZE } : undefined,
      metrics: metrics && { image: metrics.apacheExporterImage },
    };
    const track = (name: string): Partial<WordPressAppProps> => ({
      httpsSecret: httpsSecret(name),
      serviceAnnotations: servingCert ? { 'service.beta.openshift.io/serving-cert-secret-name': `${name}-serving-cert` } : undefined,
    });
    this.wordpress = new WordPressApp(this, 'WordPress', {
      ...common,
      ...track('wordpress'),
      image: wp.image,
      replicas: wp.replicas,
      autoscaling: wp.autoscaling && {
        minReplicas: wp.autoscaling.minReplicas,
        maxReplicas: wp.autoscaling.maxReplicas,
        targetCpuUtilizationPercent: wp.autoscaling.targetCPUUtilizationPercent,
      },
      // Istio picks the subsets from one Service's endpoints, so that Service spans both tracks.
      serviceSelector: meshCanary ? { 'app.kubernetes.io/name': 'wordpress', 'app.kubernetes.io/instance': id } : undefined,
    });
    if (canaryConfig) {
      this.canary = new WordPressApp(this, 'Canary', {
        ...common,
        ...track('wordpress-canary'),
        name: 'wordpress-canary',
        track: Track.CANARY,
        image: canaryConfig.image,
        replicas: canaryConfig.replicas ?? 1,
      });
    }

    if (wp.cron?.enabled ?? true) {
      new WordPressCron(this, 'Cron', { wordpress: this.wordpress, schedule: wp.cron?.schedule });
      // The canary serves pages of the same site: its visits must not run WP-Cron either.
      this.canary?.disableBuiltInCron();
    }

    // --- the way in ---
    const canary = canaryConfig && this.canary && !meshCanary ? { backend: this.canary, weight: canaryConfig.weight } : undefined;
    if (type === ExposureType.GATEWAY) {
      if (!ex.gateway || !ex.host) throw new Error('WordPressChart: exposure type gateway needs exposure.host and exposure.gateway (name, namespace)');
      this.exposure = new GatewayRoute(this, 'Exposure', {
        backend: this.wordpress, host: ex.host, path: ex.path, canary, annotations: ex.annotations,
        gateway: { name: ex.gateway.name, namespace: ex.gateway.namespace, sectionName: ex.gateway.sectionName },
        redirectSectionName: ex.gateway.redirect?.sectionName,
      });
    } else if (type === ExposureType.ROUTE) {
      if (!ex.host) throw new Error('WordPressChart: exposure type route needs exposure.host');
      this.exposure = new OpenShiftRoute(this, 'Exposure', {
        backend: this.wordpress, host: ex.host, path: ex.path, tlsMode, canary, annotations: ex.annotations,
        certificateSecret: ex.tls?.secretName,
      });
    } else {
      this.exposure = new IngressRule(this, 'Exposure', {
        backend: this.wordpress, ...exposureOptions(ex), tlsMode, canary,
        meshUpstream: this.mesh && type === ExposureType.INGRESS,
      });
    }
    if (meshCanary && canaryConfig) {
      this.istioCanary = new IstioCanary(this, 'IstioCanary', { service: this.wordpress, weight: canaryConfig.weight, trackLabel: TRACK_LABEL, path: ex.path });
    }

    // --- backup (data safety) ---
    const backup = site.backup ?? {};
    let backupCronJobName: string | undefined;
    if (backup.enabled ?? true) {
      const backupClaim = this.storage.addClaim(BACKUP_CLAIM, { name: 'mariadb', component: 'backup' }, claimOptions(backup.volume));
      const resources = resourceSpec(backup.resources);
      backupCronJobName = new MariaDbBackup(this, 'Backup', {
        database: this.database,
        claim: backupClaim,
        schedule: backup.schedule,
        timeZone: backup.timeZone,
        retention: backup.retention,
        resources,
      }).name;
      if (backup.restore) {
        new MariaDbRestore(this, 'Restore', { database: this.database, claim: backupClaim, file: backup.restore.file, resources });
      }
    }

    if (metrics) {
      this.monitoring = new SiteMonitoring(this, 'Monitoring', { database: this.database, web: this.webApps(), backupCronJobName, labels: metrics.labels });
    }

    // --- security (network policies, RBAC, quotas): keep last, it reads what the chart holds ---
    const security = site.security ?? {};
    const namespacedPods = (p?: NamespacedPodsConfig): NamespacedPods | undefined => p && { namespaceLabels: p.namespaceSelector, podLabels: p.podSelector };
    let webAccess: WebAccess;
    if (type === ExposureType.INGRESS) webAccess = WebAccess.ingressController(namespacedPods(security.ingressController) ?? INGRESS_NGINX);
    else if (type === ExposureType.GATEWAY) {
      webAccess = WebAccess.gateway(namespacedPods(security.gateway) ?? { namespaceLabels: { 'kubernetes.io/metadata.name': ex.gateway!.namespace } });
    } else if (type === ExposureType.ROUTE) webAccess = WebAccess.openShiftRouter(namespacedPods(security.router) ?? OPENSHIFT_ROUTER);
    // NodePort/LoadBalancer traffic arrives from clients or nodes, not from a controller's pods.
    else webAccess = WebAccess.anywhere();
    new SiteNetworkPolicies(this, 'NetworkPolicies', {
      database: this.database,
      web: this.wordpress,
      canary: this.canary,
      webAccess,
      webPorts: backendTls ? [WORDPRESS_HTTPS_PORT] : undefined,
      meshControlPlane: this.mesh ? namespacedPods(security.istiod) ?? ISTIOD : undefined,
      dns: namespacedPods(security.dns),
      internetEgress: security.allowInternetEgress,
      metricsTargets: metrics && [
        { name: this.database.name, selectorLabels: this.database.selectorLabels, port: MYSQLD_EXPORTER_PORT },
        ...this.webApps().map(app => ({ name: app.name, selectorLabels: app.selectorLabels, port: APACHE_EXPORTER_PORT })),
      ],
      prometheus: namespacedPods(security.prometheus),
    });
    new NamespaceQuota(this, 'Quota', { headroomPercent: security.quota?.headroomPercent });
    if (security.deployer?.enabled) new DeployerAccess(this, 'Deployer', { readSecrets: security.deployer.readSecrets });
  }

  /** The WordPress Deployments: the stable track and, with `wordpress.canary`, the canary. */
  private webApps(): WordPressApp[] {
    return this.canary ? [this.wordpress, this.canary] : [this.wordpress];
  }

  /**
   * The chart's objects, each rendered once although the quota and the deployer Role read others,
   * with tokens resolved in one walk (lib/k8s/resolve-directly.ts; same bytes, tested).
   */
  public toJson(): any[] {
    const objects = resolvingDirectly(() => renderingEachObjectOnce(this, () => super.toJson()), this);
    return this.assignedUids || this.mesh ? objects.map(o => this.platformPods(o)) : objects;
  }

  /**
   * What the platform changes in every pod: without fixed UIDs where it assigns them, and, in an
   * Istio namespace, no sidecar for the pods that are not web pods (the database speaks a
   * server-first protocol; a Job whose sidecar keeps running never completes).
   */
  private platformPods(manifest: any): any {
    if (!podSpecOf(manifest)) return manifest;
    const out = clonePlain(manifest);
    const template = manifest.kind === 'CronJob' ? out.spec.jobTemplate.spec.template : out.spec.template;
    if (this.assignedUids) template.spec = withoutFixedIds(template.spec);
    const component = template.metadata?.labels?.['app.kubernetes.io/component'];
    if (this.mesh && component !== 'web' && component !== 'web-canary') {
      template.metadata = { ...template.metadata, labels: { ...template.metadata?.labels, [ISTIO_INJECT_LABEL]: 'false' } };
    }
    return out;
  }
}

function claimOptions(v: VolumeConfig | undefined): ClaimOptions | undefined {
  if (!v) return undefined;
  let source: ClaimSource | undefined;
  if (v.existingClaim) source = ClaimSource.existingClaim(v.existingClaim);
  else if (v.nfs) source = ClaimSource.nfs(v.nfs);
  return {
    size: v.size ? parseSize(v.size) : undefined,
    storageClassName: v.storageClassName,
    accessModes: v.accessModes?.map(m => m as kplus.PersistentVolumeAccessMode),
    source,
  };
}

function resourceSpec(r: ResourcesConfig | undefined): ResourceSpec | undefined {
  if (!r) return undefined;
  return {
    cpu: parseCpu(r.requests?.cpu ?? '250m'),
    cpuLimit: parseCpu(r.limits?.cpu ?? '1'),
    memory: parseSize(r.requests?.memory ?? r.limits?.memory ?? '512Mi'),
  };
}

function probeSettings(p: ProbesConfig | undefined): ProbeSettings | undefined {
  if (!p) return undefined;
  const timings = (t: NonNullable<ProbesConfig['startup']> | undefined): ProbeTimings | undefined => t && {
    initialDelay: t.initialDelay ? parseDuration(t.initialDelay) : undefined,
    period: t.period ? parseDuration(t.period) : undefined,
    timeout: t.timeout ? parseDuration(t.timeout) : undefined,
    failureThreshold: t.failureThreshold,
  };
  return { startup: timings(p.startup), liveness: timings(p.liveness), readiness: timings(p.readiness) };
}

const TOPOLOGY_ALIASES: Record<string, string> = { hostname: Topology.HOSTNAME, zone: Topology.ZONE };

function topologyKey(key: string | undefined): string | undefined {
  return key ? TOPOLOGY_ALIASES[key] ?? key : undefined;
}

function placement(p: PlacementConfig | undefined): AntiAffinityOptions | undefined {
  if (!p) return undefined;
  return {
    mode: p.antiAffinity as AntiAffinityMode | undefined,
    topologyKey: topologyKey(p.topologyKey),
    weight: p.weight,
    nodeAffinity: p.nodeAffinity?.map(r => ({ ...r, operator: r.operator as NodeAffinityOperator })),
  };
}

function exposureOptions(e: ExposureConfig | undefined) {
  if (!e) return {};
  let tls: IngressTls | undefined;
  if (e.tls?.issuer) tls = IngressTls.certManager(e.tls.issuer, (e.tls.issuerKind ?? IssuerKind.CLUSTER_ISSUER) as IssuerKind, e.tls.secretName);
  else if (e.tls?.secretName) tls = IngressTls.fromSecret(e.tls.secretName);
  return {
    type: e.type as ExposureType | undefined,
    host: e.host,
    path: e.path,
    ingressClassName: e.ingressClassName,
    tls,
    annotations: e.annotations,
    nodePort: e.nodePort,
    controller: e.controller as IngressController | undefined,
  };
}

/** A deep copy of plain JSON-like data in this realm (structuredClone's objects may come from another). */
function clonePlain(value: any): any {
  if (Array.isArray(value)) return value.map(clonePlain);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, clonePlain(v)]));
  return value;
}
