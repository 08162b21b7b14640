import { Static, TSchema, Type } from '@sinclair/typebox';

// The schema is the single source of truth: the TypeScript types below are derived from it,
// `config.schema.json` is generated from it, and so is the config reference in the README.
// `x-hint` is shown in error messages as the fix.

const strict = { additionalProperties: false } as const;

const DNS_LABEL = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
const DNS_SUBDOMAIN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';

export const DnsLabel = (description: string) => Type.String({
  description, pattern: DNS_LABEL, minLength: 1, maxLength: 63,
  'x-hint': 'use lowercase letters, digits and "-", starting and ending with a letter or digit, at most 63 characters',
});
const DnsSubdomain = (description: string) => Type.String({
  description, pattern: DNS_SUBDOMAIN, minLength: 1, maxLength: 253,
  'x-hint': 'use a lowercase DNS name such as "blog.example.com" (at most 253 characters)',
});
const Size = (description: string) => Type.String({
  description, pattern: '^[0-9]+(\\.[0-9]+)?(Ki|Mi|Gi|Ti)$',
  'x-hint': 'use a binary quantity such as "512Mi", "10Gi" or "1.5Ti"',
});
const Cpu = (description: string) => Type.String({
  description, pattern: '^([0-9]+m|[0-9]+(\\.[0-9]{1,3})?)$',
  'x-hint': 'use millicores such as "250m" or cores such as "1" or "1.5"',
});
const DurationT = (description: string) => Type.String({
  description, pattern: '^[0-9]+(s|m|h)$',
  'x-hint': 'use a duration such as "5s", "10m" or "1h"',
});
const Image = (description: string) => Type.String({
  description, minLength: 1,
  pattern: '^[a-z0-9]+([._/:-][a-z0-9]+)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$',
  'x-hint': 'use an image reference pinned by tag, e.g. "wordpress:6.8-php8.3-apache" (a "@sha256:..." digest may follow)',
});
const SecretName = (description: string) => Type.String({
  description, pattern: DNS_SUBDOMAIN, maxLength: 253,
  'x-hint': 'use the name of an existing Secret (lowercase DNS name)',
});
const SecretKey = (description: string) => Type.String({
  description, pattern: '^[-._a-zA-Z0-9]+$', maxLength: 253,
  'x-hint': 'use a Secret key made of letters, digits, "-", "_" and "."',
});

const Resources = (defaults: string) => Type.Object({
  requests: Type.Optional(Type.Object({
    cpu: Type.Optional(Cpu('CPU reserved by the scheduler.')),
    memory: Type.Optional(Size('Memory request; the limit is always equal to it.')),
  }, strict)),
  limits: Type.Optional(Type.Object({
    cpu: Type.Optional(Cpu('CPU ceiling.')),
    memory: Type.Optional(Size('Memory limit. If given it must equal requests.memory.')),
  }, strict)),
}, { ...strict, description: `CPU and memory. Memory limit always equals the request. Default: ${defaults}.` });

const ProbeTimings = Type.Object({
  initialDelay: Type.Optional(DurationT('Delay before the first check.')),
  period: Type.Optional(DurationT('Time between checks.')),
  timeout: Type.Optional(DurationT('Time one check may take.')),
  failureThreshold: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'Consecutive failures before the probe fails.' })),
}, strict);

const Probes = (defaults: string) => Type.Object({
  startup: Type.Optional(ProbeTimings),
  liveness: Type.Optional(ProbeTimings),
  readiness: Type.Optional(ProbeTimings),
}, { ...strict, description: `Probe timings. Default: ${defaults}.` });

const TopologyKey = (description: string) => Type.String({
  description, minLength: 1, maxLength: 316,
  pattern: '^(hostname|zone|([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$',
  'x-hint': 'use "hostname", "zone" or a label key such as "topology.kubernetes.io/rack"',
});

export const WHEN_UNSATISFIABLE = ['ScheduleAnyway', 'DoNotSchedule'] as const;
export const ANTI_AFFINITY_MODES = ['soft', 'hard', 'none'] as const;
const Placement = Type.Object({
  antiAffinity: Type.Optional(Type.Union(ANTI_AFFINITY_MODES.map(m => Type.Literal(m)), {
    description: 'Anti-affinity between the replicas: soft (preferred), hard (required) or none.',
    'x-hint': 'use one of: soft, hard, none',
  })),
  topologyKey: Type.Optional(TopologyKey('Topology to spread over: "hostname", "zone" or any node label key.')),
  weight: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'Weight of the soft anti-affinity rule (1-100).' })),
  nodeAffinity: Type.Optional(Type.Array(Type.Object({
    key: Type.String({ minLength: 1, description: 'Node label key.' }),
    operator: Type.Union([Type.Literal('In'), Type.Literal('NotIn'), Type.Literal('Exists'), Type.Literal('DoesNotExist')], {
      'x-hint': 'use one of: In, NotIn, Exists, DoesNotExist',
    }),
    values: Type.Optional(Type.Array(Type.String(), { description: 'Values for In/NotIn.' })),
    required: Type.Optional(Type.Boolean({ description: 'Only matching nodes (true) or prefer them (false, default).' })),
    weight: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'Weight of a preferred rule.' })),
  }, strict), { description: 'Node affinity rules.' })),
}, { ...strict, description: 'Placement. Default: soft anti-affinity by hostname, weight 100, no node affinity.' });

export const ACCESS_MODES = ['ReadWriteOnce', 'ReadWriteMany', 'ReadOnlyMany', 'ReadWriteOncePod'] as const;
const AccessModes = Type.Array(Type.Union(ACCESS_MODES.map(m => Type.Literal(m)), {
  'x-hint': `use one of: ${ACCESS_MODES.join(', ')}`,
}), { minItems: 1, uniqueItems: true, description: 'Access modes of the claim.' });

const Volume = (what: string, defaults: string) => Type.Object({
  size: Type.Optional(Size('Capacity.')),
  storageClassName: Type.Optional(Type.String({ description: 'StorageClass ("" disables dynamic provisioning).', maxLength: 253 })),
  accessModes: Type.Optional(AccessModes),
  existingClaim: Type.Optional(DnsSubdomain('Adopt this existing PersistentVolumeClaim instead of creating one.')),
  nfs: Type.Optional(Type.Object({
    server: Type.String({ minLength: 1, description: 'NFS server.' }),
    path: Type.String({ pattern: '^/', description: 'Exported path.', 'x-hint': 'use an absolute path such as "/exports/blog"' }),
    volumeName: Type.Optional(DnsSubdomain('Name of the PersistentVolume (cluster-wide). Default: <namespace>-<claim>.')),
  }, { ...strict, description: 'Bind to a static NFS PersistentVolume created here instead of dynamic provisioning.' })),
}, { ...strict, description: `${what}. Default: ${defaults}.` });

const WordPress = Type.Object({
  image: Type.Optional(Image('WordPress image (official, Apache variant).')),
  replicas: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'Replicas. More than 1 needs ReadWriteMany content. Default: 2.' })),
  tablePrefix: Type.Optional(Type.String({
    pattern: '^[A-Za-z0-9_]{1,20}$', description: 'Table prefix. Default: wp_.',
    'x-hint': 'use letters, digits and "_" only (at most 20), e.g. "wp_"',
  })),
  debug: Type.Optional(Type.Boolean({ description: 'WP_DEBUG. Default: false.' })),
  keysSecret: Type.Optional(SecretName('Existing Secret with the 8 keys and salts (auth-key, secure-auth-key, logged-in-key, nonce-key, auth-salt, secure-auth-salt, logged-in-salt, nonce-salt). Default: wordpress-keys.')),
  php: Type.Optional(Type.Object({
    uploadMaxSize: Type.Optional(Size('upload_max_filesize and post_max_size. Default: 64Mi.')),
    memoryLimit: Type.Optional(Size('memory_limit; must be below the container memory. Default: 256Mi.')),
    maxExecutionTime: Type.Optional(DurationT('max_execution_time. Default: 60s.')),
  }, { ...strict, description: 'PHP limits.' })),
  resources: Type.Optional(Resources('requests cpu 250m, memory 512Mi; limits cpu 1')),
  probes: Type.Optional(Probes('startup 10s x 60, liveness 10s x 6, readiness 10s x 3, 5s timeouts')),
  placement: Type.Optional(Placement),
  content: Type.Optional(Volume('Shared content volume mounted at /var/www/html (claim "wordpress-content")', '10Gi, ReadWriteMany, dynamic')),
  canary: Type.Optional(Type.Object({
    image: Image('Image of the canary track (must differ from wordpress.image).'),
    weight: Type.Integer({ minimum: 0, maximum: 100, description: 'Percent of the requests sent to the canary (0-100); the stable track gets the rest.' }),
    replicas: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'Replicas of the canary Deployment. Default: 1.' })),
  }, {
    ...strict,
    description: 'A second Deployment "wordpress-canary" (label track: canary) on the same content volume and database, '
      + 'with its own PDB and probes, and the traffic split by weight. Never runs database upgrades. See "Canary releases" in README.',
  })),
  autoscaling: Type.Optional(Type.Object({
    minReplicas: Type.Integer({ minimum: 1, maximum: 100, description: 'Fewest replicas (at least 2: the PodDisruptionBudget must protect something).' }),
    maxReplicas: Type.Integer({ minimum: 1, maximum: 100, description: 'Most replicas; quota, PodDisruptionBudget and the ReadWriteMany rule follow this.' }),
    targetCPUUtilizationPercent: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'Average CPU use in percent of the CPU request. Default: 70.' })),
  }, { ...strict, description: 'A HorizontalPodAutoscaler (autoscaling/v2) sets the replica count from CPU use; the Deployment then has no replicas (leave wordpress.replicas out).' })),
  topologySpread: Type.Optional(Type.Object({
    topologyKey: Type.Optional(TopologyKey('Topology to spread over: "zone" (default), "hostname" or any node label key.')),
    maxSkew: Type.Optional(Type.Integer({ minimum: 1, description: 'Largest allowed difference in replicas between two domains. Default: 1.' })),
    whenUnsatisfiable: Type.Optional(Type.Union(WHEN_UNSATISFIABLE.map(m => Type.Literal(m)), {
      description: 'ScheduleAnyway (default) or DoNotSchedule (leave the pod Pending).', 'x-hint': `use one of: ${WHEN_UNSATISFIABLE.join(', ')}`,
    })),
  }, { ...strict, description: 'topologySpreadConstraints for the replicas, beside placement.antiAffinity.' })),
  priorityClassName: Type.Optional(DnsSubdomain('PriorityClass of the WordPress pods (must exist in the cluster). Default: the cluster default.')),
  cron: Type.Optional(Type.Object({
    enabled: Type.Optional(Type.Boolean({ description: 'Run WP-Cron from a CronJob "wordpress-cron" that calls wp-cron.php through the Service, with DISABLE_WP_CRON set; false: WordPress runs it during page views. Default: true.' })),
    schedule: Type.Optional(Type.String({ minLength: 1, description: 'Cron schedule of the calls (5 fields or @hourly, ...). Default: "*/5 * * * *".' })),
  }, { ...strict, description: 'WP-Cron (scheduled posts, update checks, plugin jobs).' })),
}, { ...strict, description: 'The WordPress Deployment.' });

export const DATABASE_MODES = ['standalone', 'replication', 'galera'] as const;
const Database = Type.Object({
  image: Type.Optional(Image('MariaDB image (official). Default: mariadb:11.4.')),
  databaseName: Type.Optional(Type.String({
    pattern: '^[A-Za-z0-9_]{1,64}$', description: 'Database name. Default: wordpress.',
    'x-hint': 'use letters, digits and "_" only, at most 64 characters',
  })),
  username: Type.Optional(Type.String({
    pattern: '^[A-Za-z0-9_]{1,80}$', description: 'Application user. Default: wordpress.',
    'x-hint': 'use letters, digits and "_" only, at most 80 characters',
  })),
  secret: Type.Optional(Type.Object({
    name: SecretName('Existing Secret with the passwords. Default: mariadb-credentials.'),
    rootPasswordKey: Type.Optional(SecretKey('Key of the root password. Default: mariadb-root-password.')),
    passwordKey: Type.Optional(SecretKey('Key of the application password. Default: mariadb-password.')),
    replicationPasswordKey: Type.Optional(SecretKey('Key of the replication user\'s password (mode replication). Default: mariadb-replication-password.')),
    monitoringPasswordKey: Type.Optional(SecretKey('Key of the monitoring user\'s password, read by mysqld-exporter (metrics.enabled). Default: mariadb-monitoring-password.')),
  }, { ...strict, description: 'Credentials Secret (never created by this project).' })),
  mode: Type.Optional(Type.Union(DATABASE_MODES.map(m => Type.Literal(m)), {
    description: 'standalone: one server. replication: one StatefulSet whose pod `primary` takes the writes and whose other pods replicate from it (GTID, read-only); failover is manual (docs/replication.md). '
      + 'galera: one StatefulSet of writable Galera nodes behind one Service (docs/galera.md). Default: standalone.',
    'x-hint': `use one of: ${DATABASE_MODES.join(', ')}`,
  })),
  replicas: Type.Optional(Type.Integer({ minimum: 1, maximum: 9, description: 'Pods of the StatefulSet; with mode replication at least 2 (a primary and replicas), with galera odd and at least 3 (quorum). Default: 1 standalone, 2 replication, 3 galera.' })),
  replication: Type.Optional(Type.Object({
    user: Type.Optional(Type.String({
      pattern: '^[A-Za-z0-9_]{1,80}$', description: 'Replication user, created on the primary with REPLICATION REPLICA only. Default: replicator.',
      'x-hint': 'use letters, digits and "_" only, at most 80 characters',
    })),
    primary: Type.Optional(Type.Integer({ minimum: 0, description: 'Ordinal of the primary pod; change it only to finish a promotion (docs/replication.md). Default: 0.' })),
    maxLag: Type.Optional(DurationT('A replica is ready (in Service "<name>-read" and for backups) only while replicating with at most this lag. Default: 30s.')),
  }, { ...strict, description: 'Replication settings (mode replication).' })),
  galera: Type.Optional(Type.Object({
    clusterName: Type.Optional(Type.String({
      pattern: '^[A-Za-z0-9_.-]{1,64}$', description: 'wsrep_cluster_name; a node never joins a cluster of another name. Default: mariadb.',
      'x-hint': 'use letters, digits, ".", "-" and "_" only, at most 64 characters',
    })),
  }, { ...strict, description: 'Galera settings (mode galera).' })),
  volumeSize: Type.Optional(Size('Data volume per pod. Default: 8Gi.')),
  storageClassName: Type.Optional(Type.String({ description: 'StorageClass of the data volume. Default: the cluster default.', maxLength: 253 })),
  config: Type.Optional(Type.Record(Type.String(), Type.String({ pattern: '^[^\\n]*$', 'x-hint': 'use a one-line string value, e.g. "200"' }), {
    description: '[mysqld] settings merged over the defaults (utf8mb4, skip-name-resolve, max_connections 151).',
    propertyNames: { pattern: '^[a-z][a-z0-9_-]*$', 'x-hint': 'use lowercase option names such as "max_connections"' },
  })),
  resources: Type.Optional(Resources('requests cpu 250m, memory 512Mi; limits cpu 1')),
  probes: Type.Optional(Probes('startup 10s x 30, liveness 10s x 6, readiness 10s x 3, 5s timeouts')),
  placement: Type.Optional(Placement),
}, { ...strict, description: 'The MariaDB StatefulSet.' });

export const EXPOSURE_TYPES = ['ingress', 'nodePort', 'loadBalancer', 'gateway', 'route'] as const;
export const TLS_MODES = ['edge', 'reencrypt', 'passthrough'] as const;
export const INGRESS_CONTROLLERS = ['ingress-nginx', 'other'] as const;
export const MESHES = ['none', 'istio'] as const;
const Exposure = Type.Object({
  type: Type.Optional(Type.Union(EXPOSURE_TYPES.map(t => Type.Literal(t)), {
    description: 'ingress (default), nodePort, loadBalancer, gateway (Gateway API HTTPRoute) or route (OpenShift Route).',
    'x-hint': `use one of: ${EXPOSURE_TYPES.join(', ')}`,
  })),
  host: Type.Optional(DnsSubdomain('Host name of the site (required for ingress, gateway and route).')),
  path: Type.Optional(Type.String({ pattern: '^/[^\\s]*$', description: 'Path prefix. Default: /.', 'x-hint': 'use a path starting with "/"' })),
  ingressClassName: Type.Optional(DnsSubdomain('IngressClass. Default: the cluster default.')),
  controller: Type.Optional(Type.Union(INGRESS_CONTROLLERS.map(c => Type.Literal(c)), {
    description: 'Which controller serves the IngressClass, for its annotations (canary, backend TLS, passthrough, mesh upstream). '
      + 'Default: ingress-nginx when ingressClassName is unset or "nginx", else other.',
    'x-hint': `use one of: ${INGRESS_CONTROLLERS.join(', ')}`,
  })),
  tls: Type.Optional(Type.Object({
    mode: Type.Optional(Type.Union(TLS_MODES.map(m => Type.Literal(m)), {
      description: 'Where TLS ends: edge (at the controller/router, default), reencrypt (again from there to WordPress on 8443) '
        + 'or passthrough (only at WordPress, on 8443).',
      'x-hint': `use one of: ${TLS_MODES.join(', ')}`,
    })),
    secretName: Type.Optional(SecretName('Existing TLS Secret, or the Secret cert-manager writes. Default with an issuer: <name>-tls.')),
    issuer: Type.Optional(DnsSubdomain('cert-manager issuer name.')),
    issuerKind: Type.Optional(Type.Union([Type.Literal('ClusterIssuer'), Type.Literal('Issuer')], {
      description: 'Default: ClusterIssuer.', 'x-hint': 'use ClusterIssuer or Issuer',
    })),
    backendSecret: Type.Optional(SecretName('kubernetes.io/tls Secret WordPress serves HTTPS on 8443 from (reencrypt, passthrough). '
      + 'Default for a route with reencrypt: "wordpress-serving-cert", issued by OpenShift\'s service CA.')),
  }, { ...strict, description: 'TLS: mode, the edge certificate (secretName or cert-manager issuer) and the backend certificate.' })),
  gateway: Type.Optional(Type.Object({
    name: DnsSubdomain('Name of the existing Gateway.'),
    namespace: DnsLabel('Namespace of the Gateway.'),
    sectionName: Type.Optional(DnsSubdomain('Listener the HTTPRoute attaches to (e.g. "https"). Default: every listener that admits it.')),
    redirect: Type.Optional(Type.Object({
      sectionName: DnsSubdomain('Plain-HTTP listener of the same Gateway (e.g. "http").'),
    }, { ...strict, description: 'Also render "wordpress-redirect": an HTTPRoute on this listener answering 301 to https.' })),
  }, { ...strict, description: 'The Gateway (Gateway API) the HTTPRoute attaches to (type gateway).' })),
  mesh: Type.Optional(Type.Union(MESHES.map(m => Type.Literal(m)), {
    description: 'Service mesh: istio labels the namespace for sidecar injection and, with a canary, splits traffic with a VirtualService. Default: none.',
    'x-hint': `use one of: ${MESHES.join(', ')}`,
  })),
  nodePort: Type.Optional(Type.Integer({ minimum: 30000, maximum: 32767, description: 'Fixed node port for nodePort/loadBalancer.' })),
  annotations: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'Extra annotations on the Ingress/Service/HTTPRoute/Route.' })),
}, { ...strict, description: 'How the site is reached from outside.' });

// Schedule, time zone and dump file name are checked in load.ts with the same functions the
// constructs use: their rules do not fit a regular expression.
const Backup = Type.Object({
  enabled: Type.Optional(Type.Boolean({ description: 'Render the backup CronJob and its claim "mariadb-backups". Default: true.' })),
  schedule: Type.Optional(Type.String({
    minLength: 1, description: 'Cron schedule: 5 fields (minute hour day-of-month month day-of-week) or @daily, @weekly, ... Default: "17 3 * * *" (03:17 daily).',
  })),
  timeZone: Type.Optional(Type.String({ minLength: 1, description: 'IANA time zone of the schedule, e.g. "Europe/Berlin". Default: the cluster\'s (usually UTC).' })),
  retention: Type.Optional(Type.Object({
    count: Type.Optional(Type.Integer({ minimum: 1, description: 'Keep the newest N dumps, however old they are.' })),
    days: Type.Optional(Type.Integer({ minimum: 1, description: 'Keep every dump of the last N days.' })),
  }, { ...strict, description: 'Dumps to keep: a dump is deleted only when no rule keeps it; a rule left out is off. Default: count 7 and days 30.' })),
  volume: Type.Optional(Volume('Volume the dumps are written to, mounted at /backups (claim "mariadb-backups")', '10Gi, ReadWriteOnce, dynamic')),
  resources: Type.Optional(Resources('requests cpu 250m, memory 512Mi; limits cpu 1')),
  restore: Type.Optional(Type.Object({
    file: Type.String({ minLength: 1, description: 'Dump file name on the backup volume, e.g. "wordpress-20250131T031700Z.sql.gz".' }),
  }, { ...strict, description: 'Render a Job that loads this dump into the database. Remove it once the restore has run.' })),
}, { ...strict, description: 'Database dumps by a CronJob onto their own volume, and restores from them.' });

const LABEL_KEY = '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$';
const Labels = (description: string) => Type.Record(Type.String(), Type.String({
  pattern: '^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$',
  'x-hint': 'use a label value of at most 63 letters, digits, "-", "_" and ".", starting and ending with a letter or digit',
}), {
  description, minProperties: 1,
  propertyNames: { pattern: LABEL_KEY, 'x-hint': 'use a label key such as "kubernetes.io/metadata.name" or "app"' },
});

const NamespacedPods = (what: string, defaults: string) => Type.Object({
  namespaceSelector: Labels('Labels of the namespace(s); every namespace has "kubernetes.io/metadata.name: <name>".'),
  podSelector: Type.Optional(Labels('Labels of the pods in them. Default: every pod in those namespaces.')),
}, { ...strict, description: `${what}. Default: ${defaults}.` });

const Security = Type.Object({
  ingressController: Type.Optional(NamespacedPods(
    'Where the ingress controller runs: only it may reach WordPress (exposure type ingress; with nodePort/loadBalancer any source may)',
    'namespace ingress-nginx, any pod in it',
  )),
  gateway: Type.Optional(NamespacedPods(
    'Where the Gateway\'s data plane runs: only it may reach WordPress (exposure type gateway)',
    'every pod in exposure.gateway.namespace',
  )),
  router: Type.Optional(NamespacedPods(
    'Where the OpenShift router runs: only it may reach WordPress (exposure type route)',
    'namespaces labelled policy-group.network.openshift.io/ingress: "" (OpenShift\'s label for the router, host network included)',
  )),
  istiod: Type.Optional(NamespacedPods(
    'The Istio control plane the sidecars fetch their configuration from on TCP 15012 (exposure.mesh istio)',
    'namespace istio-system, pods with app: istiod',
  )),
  prometheus: Type.Optional(NamespacedPods(
    'Where Prometheus runs: only it may scrape the metrics ports (metrics.enabled)',
    'namespace monitoring, any pod in it',
  )),
  dns: Type.Optional(NamespacedPods('The cluster DNS every pod may query on port 53 (UDP and TCP)', 'namespace kube-system, pods with k8s-app: kube-dns')),
  assignedUids: Type.Optional(Type.Boolean({
    description: 'Leave runAsUser, runAsGroup and fsGroup out of every pod, for platforms that assign them (OpenShift\'s restricted SCC); '
      + 'everything else stays restricted. Default: true with exposure type route, else false.',
  })),
  allowInternetEgress: Type.Optional(Type.Boolean({
    description: 'Let WordPress open connections on TCP 80/443 to public IPv4 addresses (updates, plugin downloads); private, shared and link-local ranges stay closed. Default: false.',
  })),
  quota: Type.Optional(Type.Object({
    headroomPercent: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000, description: 'Room on top of the computed peak of all pods (replicas, rollout surge, running jobs). Default: 20.' })),
  }, { ...strict, description: 'ResourceQuota and LimitRange of the namespace, computed from what the site\'s pods request.' })),
  deployer: Type.Optional(Type.Object({
    enabled: Type.Optional(Type.Boolean({ description: 'Render the ServiceAccount "deployer" with a Role for exactly what app.k8s.yaml holds. Default: false.' })),
    readSecrets: Type.Optional(Type.Boolean({ description: 'Let it get (never list) the Secrets the site refers to. Default: false.' })),
  }, { ...strict, description: 'Access for a CI pipeline that deploys the site.' })),
}, { ...strict, description: 'Network policies, quota and CI access. Pod Security "restricted" is always enforced.' });

const Metrics = Type.Object({
  enabled: Type.Optional(Type.Boolean({
    description: 'Render a mysqld-exporter sidecar in the MariaDB pods, an apache_exporter sidecar in the WordPress pods (mod_status on a loopback-only port), '
      + 'ServiceMonitors and a PrometheusRule (prometheus-operator) with the site\'s alerts. Needs the monitoring user (README "Metrics"). Default: false.',
  })),
  user: Type.Optional(Type.String({
    pattern: '^[A-Za-z0-9_]{1,80}$', description: 'Monitoring user the exporter logs in as (PROCESS, REPLICATION CLIENT, SLAVE MONITOR, SELECT only). Default: monitoring.',
    'x-hint': 'use letters, digits and "_" only, at most 80 characters',
  })),
  exporterImage: Type.Optional(Image('mysqld-exporter image (official prom/mysqld-exporter). Default: prom/mysqld-exporter:v0.15.1.')),
  apacheExporterImage: Type.Optional(Image('apache_exporter image of the WordPress pods (upstream\'s quay.io/lusitaniae/apache-exporter). Default: quay.io/lusitaniae/apache-exporter:v1.1.1.')),
  labels: Type.Optional(Labels('Extra labels on the ServiceMonitor and PrometheusRule, for Prometheus\'s selectors (e.g. release: kube-prometheus-stack).')),
}, { ...strict, description: 'Metrics and alerts for Prometheus (prometheus-operator CRDs).' });

export const SiteSchema = Type.Object({
  namespace: Type.Optional(DnsLabel('Namespace of the site. Default: the site key.')),
  wordpress: Type.Optional(WordPress),
  database: Type.Optional(Database),
  exposure: Type.Optional(Exposure),
  backup: Type.Optional(Backup),
  security: Type.Optional(Security),
  metrics: Type.Optional(Metrics),
}, { ...strict, description: 'One WordPress site.' });

export const EnvironmentSchema = Type.Object({
  $schema: Type.Optional(Type.String()),
  cluster: Type.Optional(Type.Object({
    name: Type.Optional(DnsLabel('Name of the target cluster. Environment files with the same name deploy into one cluster and are checked together: no two sites may share a namespace, a host and path, or a PersistentVolume name. Default: the environment name (a cluster of its own).')),
    nodes: Type.Optional(Type.Integer({ minimum: 1, description: 'Schedulable nodes (for hard anti-affinity checks).' })),
    zones: Type.Optional(Type.Integer({ minimum: 1, description: 'Zones (for hard anti-affinity checks).' })),
  }, { ...strict, description: 'The target cluster: its name, for collision checks across files, and what it offers, for warnings.' })),
  defaults: Type.Optional(Type.Omit(SiteSchema, ['namespace'], { ...strict, description: 'Settings every site inherits, with the same keys as `sites.<name>` (except namespace); a site overrides them key by key.' })),
  sites: Type.Record(Type.String(), SiteSchema, {
    minProperties: 1, description: 'Sites by name (a DNS label); each gets its own namespace.',
    propertyNames: { pattern: DNS_LABEL, maxLength: 63, 'x-hint': 'name sites with lowercase DNS labels of at most 63 characters, e.g. "blog"' },
  }),
}, { ...strict, description: 'One environment: all sites rendered into dist/<file name>/.' });

/**
 * One site's settings, as under `sites.<name>` of a config file. Each key is described in README's
 * config reference and in config.schema.json.
 */
export type SiteConfig = Static<typeof SiteSchema>;
/** One config file: `cluster`, `defaults` and `sites`, as described in README's config reference. */
export type EnvironmentConfig = Static<typeof EnvironmentSchema>;
export type WordPressConfig = NonNullable<SiteConfig['wordpress']>;
export type DatabaseConfig = NonNullable<SiteConfig['database']>;
export type ExposureConfig = NonNullable<SiteConfig['exposure']>;
export type BackupConfig = NonNullable<SiteConfig['backup']>;
export type SecurityConfig = NonNullable<SiteConfig['security']>;
export type MetricsConfig = NonNullable<SiteConfig['metrics']>;
export type NamespacedPodsConfig = NonNullable<SecurityConfig['dns']>;
export type PlacementConfig = NonNullable<WordPressConfig['placement']>;
export type ResourcesConfig = NonNullable<WordPressConfig['resources']>;
export type ProbesConfig = NonNullable<WordPressConfig['probes']>;
export type VolumeConfig = NonNullable<WordPressConfig['content']>;
export type CanaryConfig = NonNullable<WordPressConfig['canary']>;
export type TlsConfig = NonNullable<ExposureConfig['tls']>;

/** The JSON Schema document written to `config.schema.json`. */
export function jsonSchema(): TSchema {
  return { $schema: 'http://json-schema.org/draft-07/schema#', title: 'cdk8s-wordpress environment', ...EnvironmentSchema };
}
