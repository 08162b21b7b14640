import { Chart, ChartProps } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { AntiAffinity, AntiAffinityMode, AntiAffinityOptions, NodeAffinityOperator, Topology } from '../constructs/anti-affinity';
import { ExposureConfig, NamespacedPodsConfig, PlacementConfig, ProbesConfig, ResourcesConfig, SiteConfig, VolumeConfig } from '../config/schema';
import { parseCpu, parseDuration, parseSize } from '../config/units';
import { DeployerAccess } from '../constructs/deployer-access';
import { ExposureType, IngressRule, IngressTls, IssuerKind } from '../constructs/ingress-rule';
import { objectLabels } from '../k8s/labels';
import { BACKUP_CLAIM, MariaDbBackup } from '../constructs/mariadb-backup';
import { MariaDbRestore } from '../constructs/mariadb-restore';
import { MariaDbStatefulSet } from '../constructs/mariadb-statefulset';
import { INGRESS_NGINX, NamespacedPods, SiteNetworkPolicies, WebAccess } from '../constructs/network-policies';
import { NamespaceQuota } from '../constructs/namespace-quota';
import { ProbeSettings, ProbeTimings, ResourceSpec } from '../k8s/pod-spec';
import { renderingEachObjectOnce } from '../k8s/render-once';
import { resolvingDirectly } from '../k8s/resolve-directly';
import { ClaimOptions, ClaimSource, KEEP_ANNOTATIONS, StorageClaims, clusterScoped } from '../constructs/storage-claims';
import { WordPressApp } from '../constructs/wordpress-app';

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
  public readonly database: MariaDbStatefulSet;
  public readonly wordpress: WordPressApp;
  public readonly storage: StorageClaims;
  public readonly exposure: IngressRule;

  constructor(scope: Construct, id: string, props: WordPressChartProps = {}) {
    const site = props.site ?? {};
    const namespace = site.namespace ?? id;
    super(scope, id, { ...props, namespace, disableResourceNameHashes: true });
    this.namespaceName = namespace;

    const ns = new k8s.KubeNamespace(this, 'Namespace', {
      metadata: {
        name: namespace,
        labels: {
          ...objectLabels({ name: 'wordpress', instance: id, component: 'namespace' }),
          'pod-security.kubernetes.io/enforce': 'restricted',
          'pod-security.kubernetes.io/audit': 'restricted',
          'pod-security.kubernetes.io/warn': 'restricted',
        },
        // Deleting the namespace would delete every claim in it.
        annotations: { ...KEEP_ANNOTATIONS },
      },
    });
    clusterScoped(ns);

    const wp = site.wordpress ?? {};
    const db = site.database ?? {};

    this.storage = new StorageClaims(this, 'Storage', { content: claimOptions(wp.content) });

    this.database = new MariaDbStatefulSet(this, 'Database', {
      credentials: {
        secret: kplus.Secret.fromSecretName(this, 'DatabaseSecret', db.secret?.name ?? 'mariadb-credentials'),
        rootPasswordKey: db.secret?.rootPasswordKey,
        passwordKey: db.secret?.passwordKey,
      },
      image: db.image,
      databaseName: db.databaseName,
      username: db.username,
      volumeSize: db.volumeSize ? parseSize(db.volumeSize) : undefined,
      storageClassName: db.storageClassName,
      config: db.config,
      resources: resourceSpec(db.resources),
      probes: probeSettings(db.probes),
    });
    if (db.placement) new AntiAffinity(this, 'DatabasePlacement', { target: this.database, ...placement(db.placement) });

    this.wordpress = new WordPressApp(this, 'WordPress', {
      database: this.database,
      content: this.storage.content,
      keys: kplus.Secret.fromSecretName(this, 'KeysSecret', wp.keysSecret ?? 'wordpress-keys'),
      image: wp.image,
      replicas: wp.replicas,
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
    });

    this.exposure = new IngressRule(this, 'Exposure', { backend: this.wordpress, ...exposureOptions(site.exposure) });

    // --- backup (data safety) ---
    const backup = site.backup ?? {};
    if (backup.enabled ?? true) {
      const backupClaim = this.storage.addClaim(BACKUP_CLAIM, { name: 'mariadb', component: 'backup' }, claimOptions(backup.volume));
      const resources = resourceSpec(backup.resources);
      new MariaDbBackup(this, 'Backup', {
        database: this.database,
        claim: backupClaim,
        schedule: backup.schedule,
        timeZone: backup.timeZone,
        retention: backup.retention,
        resources,
      });
      if (backup.restore) {
        new MariaDbRestore(this, 'Restore', { database: this.database, claim: backupClaim, file: backup.restore.file, resources });
      }
    }

    // --- security (network policies, RBAC, quotas): keep last, it reads what the chart holds ---
    const security = site.security ?? {};
    const namespacedPods = (p?: NamespacedPodsConfig): NamespacedPods | undefined => p && { namespaceLabels: p.namespaceSelector, podLabels: p.podSelector };
    const viaIngress = (site.exposure?.type ?? ExposureType.INGRESS) === ExposureType.INGRESS;
    new SiteNetworkPolicies(this, 'NetworkPolicies', {
      database: this.database,
      web: this.wordpress,
      // NodePort/LoadBalancer traffic arrives from clients or nodes, not from a controller's pods.
      webAccess: viaIngress ? WebAccess.ingressController(namespacedPods(security.ingressController) ?? INGRESS_NGINX) : WebAccess.anywhere(),
      dns: namespacedPods(security.dns),
      internetEgress: security.allowInternetEgress,
    });
    new NamespaceQuota(this, 'Quota', { headroomPercent: security.quota?.headroomPercent });
    if (security.deployer?.enabled) new DeployerAccess(this, 'Deployer', { readSecrets: security.deployer.readSecrets });
  }

  /**
   * The chart's objects, each rendered once although the quota and the deployer Role read others,
   * with tokens resolved in one walk (lib/k8s/resolve-directly.ts; same bytes, tested).
   */
  public toJson(): any[] {
    return resolvingDirectly(() => renderingEachObjectOnce(this, () => super.toJson()));
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

function placement(p: PlacementConfig | undefined): AntiAffinityOptions | undefined {
  if (!p) return undefined;
  return {
    mode: p.antiAffinity as AntiAffinityMode | undefined,
    topologyKey: p.topologyKey ? TOPOLOGY_ALIASES[p.topologyKey] ?? p.topologyKey : undefined,
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
  };
}
