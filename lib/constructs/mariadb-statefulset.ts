import { Chart, Duration, Lazy, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { ComponentIdentity, objectLabels, selectorLabels, siteInstance } from '../k8s/labels';
import { MetricsService, addMetricsService } from '../k8s/metrics-service';
import { GALERA_CONFIG_SCRIPT, GALERA_READINESS_SCRIPT, GALERA_START_SCRIPT } from './mariadb-galera-scripts';
import { CONFIG_SCRIPT, READINESS_SCRIPT, SEED_SCRIPT, START_SCRIPT } from './mariadb-replication-scripts';
import {
  DEFAULT_RESOURCES, EXPORTER_RESOURCES, IAffinityTarget, METRICS_PORT_NAME, ProbeSettings, ResolvedTimings, ResourceSpec, checkImage,
  checksum, exporterProbes, iniLines, probe, resolveTimings, resourceRequirements, restrictedContainerSecurityContext,
  restrictedPodSecurityContext, storageQuantity, workloadServiceAccount,
} from '../k8s/pod-spec';

/** The official MariaDB image, pinned to the 11.4 LTS series. */
export const MARIADB_DEFAULT_IMAGE = 'mariadb:11.4';

/** UID/GID of the `mysql` user in the official image. */
export const MARIADB_UID = 999;

/** The official mysqld-exporter image (Prometheus project), pinned by tag. */
export const MYSQLD_EXPORTER_DEFAULT_IMAGE = 'prom/mysqld-exporter:v0.15.1';

/** Port of the exporter's /metrics, on every pod when metrics are on. */
export const MYSQLD_EXPORTER_PORT = 9104;

/** Where the credential files are mounted in every pod that talks to the database. */
export const MARIADB_SECRETS_DIR = '/etc/mariadb-secrets';

/** Credentials of the database, read from a Secret that must already exist. */
export interface MariaDbCredentials {
  /** Existing Secret holding the passwords. This library never creates it. */
  readonly secret: kplus.ISecret;
  /**
   * Key of the root password in the Secret.
   * @default 'mariadb-root-password'
   */
  readonly rootPasswordKey?: string;
  /**
   * Key of the application user's password in the Secret.
   * @default 'mariadb-password'
   */
  readonly passwordKey?: string;
  /**
   * Key of the replication user's password in the Secret (read only with `replication`).
   * @default 'mariadb-replication-password'
   */
  readonly replicationPasswordKey?: string;
  /**
   * Key of the monitoring user's password in the Secret (read only with `metrics`).
   * @default 'mariadb-monitoring-password'
   */
  readonly monitoringPasswordKey?: string;
}

/** A mysqld-exporter sidecar in every pod, logging in as a monitoring user the operator creates. */
export interface MariaDbMetrics {
  /**
   * Exporter image, pinned by tag (a digest may follow).
   * @default MYSQLD_EXPORTER_DEFAULT_IMAGE
   */
  readonly image?: string;
  /**
   * Monitoring user, with PROCESS, REPLICATION CLIENT, SLAVE MONITOR and SELECT only (README "Metrics": the
   * operator creates it; this library never sets passwords).
   * @default 'monitoring'
   */
  readonly user?: string;
}

/** Primary/replica replication inside the one StatefulSet. */
export interface MariaDbReplication {
  /** Pods of the set, at least 2: the primary and `replicas - 1` replicas. */
  readonly replicas: number;
  /**
   * Ordinal of the primary; the others replicate from it. Change it only as part of a promotion
   * (docs/replication.md).
   * @default 0
   */
  readonly primaryOrdinal?: number;
  /**
   * Replication user, created on the primary's first start with REPLICATION REPLICA only.
   * @default 'replicator'
   */
  readonly user?: string;
  /**
   * A replica is ready (in the `<name>-read` Service) only while both replication threads run and
   * it lags behind the primary by at most this much.
   * @default Duration.seconds(30)
   */
  readonly maxLag?: Duration;
}

/** An active-active Galera cluster inside the one StatefulSet (docs/galera.md). */
export interface MariaDbGalera {
  /** Pods of the set: odd and at least 3, so that a majority (quorum) survives the loss of one. */
  readonly replicas: number;
  /**
   * `wsrep_cluster_name`; a node refuses to join a cluster of another name.
   * @default the StatefulSet's name
   */
  readonly clusterName?: string;
}

/** Galera settings with every default applied. */
export interface ResolvedMariaDbGalera {
  /** Pods of the StatefulSet, every one a writable member. */
  readonly replicas: number;
  /** `wsrep_cluster_name`. */
  readonly clusterName: string;
}

/** A workload that connects to the database. */
export interface DatabaseClient {
  /** Human-readable name, e.g. `wordpress`, used in generated object names. */
  readonly name: string;
  /** Labels selecting the client's pods. */
  readonly selectorLabels: Record<string, string>;
}

/** Credentials with every default applied. */
export interface ResolvedMariaDbCredentials {
  /** The existing Secret holding both passwords. */
  readonly secret: kplus.ISecret;
  /** Key of the root password in `secret`. */
  readonly rootPasswordKey: string;
  /** Key of the application user's password in `secret`. */
  readonly passwordKey: string;
  /** Key of the replication user's password in `secret`. */
  readonly replicationPasswordKey: string;
  /** Key of the monitoring user's password in `secret`. */
  readonly monitoringPasswordKey: string;
}

/** Replication settings with every default applied. */
export interface ResolvedMariaDbReplication {
  /** Pods of the StatefulSet: the primary and its replicas. */
  readonly replicas: number;
  /** Ordinal of the pod that is the primary. */
  readonly primaryOrdinal: number;
  /** The replication user. */
  readonly user: string;
  /** Replication lag beyond which a replica reports not ready. */
  readonly maxLag: Duration;
}

/** Props of `MariaDbStatefulSet`. */
export interface MariaDbStatefulSetProps {
  /** Secret references for the root and application passwords. */
  readonly credentials: MariaDbCredentials;
  /**
   * Base name of the StatefulSet and its Services (`<name>`, `<name>-headless`).
   * @default 'mariadb'
   */
  readonly name?: string;
  /**
   * Site name for the `app.kubernetes.io/instance` label.
   * @default the id of the enclosing chart
   */
  readonly instance?: string;
  /**
   * Container image, pinned by tag (a digest may follow).
   * @default MARIADB_DEFAULT_IMAGE
   */
  readonly image?: string;
  /**
   * Database created on first start and used by WordPress.
   * @default 'wordpress'
   */
  readonly databaseName?: string;
  /**
   * Application user created on first start, with all privileges on `databaseName`.
   * @default 'wordpress'
   */
  readonly username?: string;
  /**
   * Size of each pod's data volume (from `volumeClaimTemplates`).
   * @default 8Gi
   */
  readonly volumeSize?: Size;
  /**
   * StorageClass of the data volumes.
   * @default the cluster's default StorageClass
   */
  readonly storageClassName?: string;
  /**
   * `[mysqld]` settings, merged over the defaults (utf8mb4, no DNS lookups, 151 connections).
   * @default the defaults only
   */
  readonly config?: Record<string, string>;
  /**
   * CPU and memory of the server container.
   * @default 250m CPU (limit 1), 512Mi memory
   */
  readonly resources?: ResourceSpec;
  /**
   * Probe timings.
   * @default startup 10s x 30, liveness 10s x 6, readiness 10s x 3, all with 5s timeouts
   */
  readonly probes?: ProbeSettings;
  /**
   * Run a GTID primary and replicas instead of one standalone server.
   * @default one standalone server
   */
  readonly replication?: MariaDbReplication;
  /**
   * Run an active-active Galera cluster instead of one standalone server (not with `replication`).
   * @default one standalone server
   */
  readonly galera?: MariaDbGalera;
  /**
   * Run mysqld-exporter beside the server and render the `<name>-metrics` Service it is scraped through.
   * @default no metrics
   */
  readonly metrics?: MariaDbMetrics;
}

/**
 * Init container `exporter-config`: mysqld-exporter reads its password only from a my.cnf
 * (`--config.my-cnf`), so the password file of the Secret is turned into one in a memory-backed
 * emptyDir that only the pod sees. The value is double-quoted (so `#` and `;` stay in it) and
 * neither go-ini, the exporter's parser, nor MySQL's take escapes the same way: a password with a
 * quote, a backslash or a line break is refused.
 *
 * Environment: `MONITORING_USER`, `MONITORING_PASSWORD_FILE`, `MYSQL_TCP_PORT`, `EXPORTER_CNF`.
 */
export const EXPORTER_CONFIG_SCRIPT = String.raw`set -eu
password="$(cat "$MONITORING_PASSWORD_FILE")"
newline='
'
case "$password" in
  '') echo "mysqld-exporter: $MONITORING_PASSWORD_FILE is empty; put the monitoring user's password in the Secret" >&2; exit 1 ;;
  *'"'*|*'\'*|*"$newline"*) echo "mysqld-exporter: the monitoring password holds a quote, backslash or line break, which a my.cnf cannot carry; choose one without (e.g. openssl rand -base64 24)" >&2; exit 1 ;;
esac
umask 077
printf '[client]\nuser = %s\npassword = "%s"\nhost = 127.0.0.1\nport = %s\n' "$MONITORING_USER" "$password" "$MYSQL_TCP_PORT" > "$EXPORTER_CNF"`;

const DEFAULT_CONFIG: Record<string, string> = {
  'character-set-server': 'utf8mb4',
  'collation-server': 'utf8mb4_unicode_ci',
  'skip-name-resolve': 'ON',
  'max_connections': '151',
};

// A loaded server can take seconds to answer; 1 s timeouts (a common default) restart healthy pods.
const STARTUP: ResolvedTimings = { initialDelay: Duration.seconds(0), period: Duration.seconds(10), timeout: Duration.seconds(5), failureThreshold: 30 };
const LIVENESS: ResolvedTimings = { initialDelay: Duration.seconds(0), period: Duration.seconds(10), timeout: Duration.seconds(5), failureThreshold: 6 };
const READINESS: ResolvedTimings = { initialDelay: Duration.seconds(0), period: Duration.seconds(10), timeout: Duration.seconds(5), failureThreshold: 3 };

const PORT = 3306;
const CONFIG_FILE = 'zz-cdk8s.cnf';
const CONF_D = '/etc/mysql/conf.d';
const CONFIG_SOURCE = '/etc/mariadb-config';
const DATA_DIR = '/var/lib/mysql';
const INIT_DIR = '/docker-entrypoint-initdb.d';
const EXPORTER_CONFIG_DIR = '/etc/mysqld-exporter';
/** server_id = base + ordinal; 0 would disable replication, so the ids start above it. */
const SERVER_ID_BASE = 100;

// Every server writes a GTID binlog, so that any replica can be promoted and the others can follow
// it; a week of binlogs bounds the disk they take (new replicas seed from a dump, not from binlogs).
const REPLICATION_CONFIG: Record<string, string> = {
  'log_bin': 'mariadb-bin',
  'log_slave_updates': 'ON',
  'binlog_format': 'ROW',
  'relay_log': 'mariadb-relay-bin',
  'gtid_strict_mode': 'ON',
  'binlog_expire_logs_seconds': '604800',
};
const ROLE_CONFIG = { primary: { read_only: 'OFF' }, replica: { read_only: 'ON' } };

/** Where the image's galera-4 package installs the provider. */
export const GALERA_PROVIDER = '/usr/lib/galera/libgalera_smm.so';
/** Galera's group communication, incremental (IST) and snapshot (SST) transfer ports. */
export const GALERA_PORTS = { replication: 4567, ist: 4568, sst: 4444 } as const;
/**
 * What mariadb-backup needs on an SST donor (MariaDB 10.5+). The SST user is `mysql@localhost`,
 * which the image's entrypoint creates (MARIADB_MYSQL_LOCALHOST_USER) identified by unix_socket:
 * only a process running as the pod's mysql user, on the pod's own socket, logs in as it, so no
 * password exists to store or rotate.
 */
const SST_GRANTS = 'RELOAD, PROCESS, LOCK TABLES, BINLOG MONITOR';

/**
 * MariaDB (official image) as a StatefulSet with a volume per pod from `volumeClaimTemplates`, a
 * headless Service for per-pod DNS and a ClusterIP Service for clients.
 *
 * Standalone (the default) runs one pod: more pods without replication would be independent,
 * diverging databases behind one Service. With `replication`, ordinal `primaryOrdinal` (0) is the
 * primary and takes every write through the client Service; the other pods seed themselves from
 * it and replicate by GTID, read-only, behind the `<name>-read` Service. Failover is manual. With
 * `galera`, every pod is a writable member of one Galera cluster behind the client Service (only
 * Synced nodes are ready), with a PodDisruptionBudget that keeps quorum (docs/galera.md).
 */
export class MariaDbStatefulSet extends Construct implements IAffinityTarget {
  /** Name of the StatefulSet and of the client Service. */
  public readonly name: string;
  /** Name of the headless Service that gives each pod a DNS name. */
  public readonly headlessServiceName: string;
  /** DNS name clients connect to: the primary. */
  public readonly host: string;
  /**
   * DNS name for reads that may lag by up to `maxLag`: the `<name>-read` Service with
   * replication (ready replicas and the primary), otherwise `host` (with Galera, any Synced node).
   */
  public readonly readHost: string;
  /** TCP port clients connect to. */
  public readonly port = PORT;
  /** Container image of the server; jobs that run its client tools use the same one. */
  public readonly image: string;
  /** Database WordPress uses. */
  public readonly databaseName: string;
  /** Application user name. */
  public readonly username: string;
  /** Secret references, with defaults applied. */
  public readonly credentials: ResolvedMariaDbCredentials;
  /** Replication settings with defaults, or undefined for a standalone server. */
  public readonly replication?: ResolvedMariaDbReplication;
  /** Galera settings with defaults, or undefined unless the set is a Galera cluster. */
  public readonly galera?: ResolvedMariaDbGalera;
  /** Ports the pods use among themselves besides `port` (Galera's), empty otherwise. */
  public readonly peerPorts: readonly number[];
  /** Labels that select exactly this StatefulSet's pods. */
  public readonly selectorLabels: Record<string, string>;
  /** Identity used for labels; other constructs derive theirs from it. */
  public readonly identity: ComponentIdentity;
  /** The StatefulSet object. */
  public readonly statefulSet: k8s.KubeStatefulSet;
  /** The ConfigMap holding `my.cnf` settings. */
  public readonly configMap: kplus.ConfigMap;
  /** The headless Service the exporters are scraped through (every pod), when metrics are on. */
  public readonly metricsService?: MetricsService;
  /** Exporter settings with defaults, or undefined without metrics. */
  public readonly metrics?: Required<MariaDbMetrics>;

  private readonly namespace?: string;
  private affinity?: k8s.Affinity;
  private readonly _clients: DatabaseClient[] = [];

  constructor(scope: Construct, id: string, props: MariaDbStatefulSetProps) {
    super(scope, id);
    this.name = props.name ?? 'mariadb';
    this.headlessServiceName = `${this.name}-headless`;
    this.namespace = Chart.of(this).namespace;
    this.host = this.serviceHost(this.name);
    this.databaseName = props.databaseName ?? 'wordpress';
    this.username = props.username ?? 'wordpress';
    this.credentials = {
      secret: props.credentials.secret,
      rootPasswordKey: props.credentials.rootPasswordKey ?? 'mariadb-root-password',
      passwordKey: props.credentials.passwordKey ?? 'mariadb-password',
      replicationPasswordKey: props.credentials.replicationPasswordKey ?? 'mariadb-replication-password',
      monitoringPasswordKey: props.credentials.monitoringPasswordKey ?? 'mariadb-monitoring-password',
    };
    if (props.metrics) {
      this.metrics = { image: props.metrics.image ?? MYSQLD_EXPORTER_DEFAULT_IMAGE, user: props.metrics.user ?? 'monitoring' };
      checkImage('MariaDbStatefulSet', 'metrics.image', this.metrics.image);
      if (!this.credentials.monitoringPasswordKey) {
        throw new Error('MariaDbStatefulSet: credentials.monitoringPasswordKey is empty; metrics need the Secret key of the monitoring user\'s password, '
          + 'e.g. "mariadb-monitoring-password"');
      }
    }
    if (props.replication && props.galera) {
      throw new Error('MariaDbStatefulSet: replication and galera are both set; a set is either primary/replica or a Galera cluster, choose one');
    }
    this.replication = props.replication && MariaDbStatefulSet.resolveReplication(props.replication);
    this.galera = props.galera && { replicas: MariaDbStatefulSet.galeraReplicas(props.galera.replicas), clusterName: props.galera.clusterName ?? this.name };
    this.peerPorts = this.galera ? Object.values(GALERA_PORTS) : [];
    this.readHost = this.replication ? this.serviceHost(`${this.name}-read`) : this.host;
    this.image = props.image ?? MARIADB_DEFAULT_IMAGE;
    checkImage('MariaDbStatefulSet', 'image', this.image);
    this.identity = { name: 'mariadb', instance: siteInstance(this, props.instance), component: 'database' };
    this.selectorLabels = selectorLabels(this.identity);
    const labels = objectLabels(this.identity);

    // Construction order is output order: config, account, services, then the set.
    const settings = { ...DEFAULT_CONFIG, ...(this.replication ? REPLICATION_CONFIG : {}), ...(this.galera ? this.galeraConfig(this.galera) : {}), ...props.config };
    this.configMap = new kplus.ConfigMap(this, 'Config', {
      metadata: { name: `${this.name}-config`, labels },
      data: this.replication
        ? { 'common.cnf': mysqld(settings), 'primary.cnf': mysqld(ROLE_CONFIG.primary), 'replica.cnf': mysqld(ROLE_CONFIG.replica) }
        : { [this.galera ? 'galera.cnf' : CONFIG_FILE]: mysqld(settings) },
    });
    const account = workloadServiceAccount(this, this.name, labels);
    this.addServices(labels);
    if (this.metrics) this.metricsService = addMetricsService(this, this.name, this.identity, this.selectorLabels, MYSQLD_EXPORTER_PORT);
    this.statefulSet = this.addStatefulSet(props, labels, account.name);
    // Replicas connect to the primary like any other client; Galera nodes ask their peers over SQL
    // whether a cluster already runs before they bootstrap or join.
    if (this.replication) this.addClient({ name: `${this.name}-replicas`, selectorLabels: this.selectorLabels });
    if (this.galera) {
      this.addClient({ name: `${this.name}-peers`, selectorLabels: this.selectorLabels });
      // A drain takes one node at a time: the others keep quorum (a majority of replicas).
      new k8s.KubePodDisruptionBudget(this, 'DisruptionBudget', {
        metadata: { name: this.name, labels },
        spec: { maxUnavailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: this.selectorLabels } },
      });
    }
  }

  private static galeraReplicas(replicas: number): number {
    if (!Number.isInteger(replicas) || replicas < 3 || replicas % 2 === 0) {
      throw new Error(`MariaDbStatefulSet: galera.replicas is ${replicas}; a Galera cluster needs an odd number of at least 3 pods `
        + `(quorum is a majority: with ${replicas < 3 ? 'fewer than 3 the loss of one node stops it' : 'an even count a split into halves stops both'}), e.g. 3 or 5`);
    }
    return replicas;
  }

  /** The `[mysqld]` settings every node shares; `config` adds each node's name and address. */
  private galeraConfig(g: ResolvedMariaDbGalera): Record<string, string> {
    return {
      wsrep_on: 'ON',
      wsrep_provider: GALERA_PROVIDER,
      wsrep_cluster_name: g.clusterName,
      wsrep_cluster_address: `gcomm://${this.podHosts().join(',')}`,
      // Galera replicates row events only, and interleaved auto-increment locks cannot be certified.
      binlog_format: 'ROW',
      default_storage_engine: 'InnoDB',
      innodb_autoinc_lock_mode: '2',
      // Non-blocking on the donor; streams through socat (both in the image). `mysql:` logs in as
      // mysql@localhost over the socket (SST_GRANTS).
      wsrep_sst_method: 'mariabackup',
      wsrep_sst_auth: 'mysql:',
    };
  }

  private static resolveReplication(r: MariaDbReplication): ResolvedMariaDbReplication {
    if (!Number.isInteger(r.replicas) || r.replicas < 2) {
      throw new Error(`MariaDbStatefulSet: replication.replicas is ${r.replicas}; replication needs at least 2 pods (a primary and a replica), `
        + 'or leave replication out for a standalone server');
    }
    const primaryOrdinal = r.primaryOrdinal ?? 0;
    if (!Number.isInteger(primaryOrdinal) || primaryOrdinal < 0 || primaryOrdinal >= r.replicas) {
      throw new Error(`MariaDbStatefulSet: replication.primaryOrdinal is ${primaryOrdinal}; use the ordinal of an existing pod, 0 to ${r.replicas - 1}`);
    }
    const maxLag = r.maxLag ?? Duration.seconds(30);
    // Seconds_Behind_Master is whole seconds.
    const ms = maxLag.toMilliseconds();
    if (ms < 1000 || ms % 1000 !== 0) {
      throw new Error(`MariaDbStatefulSet: replication.maxLag is ${ms / 1000}s; use a whole number of seconds, at least 1`);
    }
    return { replicas: r.replicas, primaryOrdinal, user: r.user ?? 'replicator', maxLag };
  }

  private serviceHost(service: string): string {
    return this.namespace ? `${service}.${this.namespace}.svc.cluster.local` : service;
  }

  /**
   * The headless Service (per-pod DNS, published before ready), the ClusterIP Service for clients
   * (the primary only, with replication) and, with replication, `<name>-read` for every ready pod.
   */
  private addServices(labels: Record<string, string>) {
    const servicePort: k8s.ServicePort = { name: 'mysql', port: PORT, targetPort: k8s.IntOrString.fromString('mysql'), protocol: 'TCP' };
    new k8s.KubeService(this, 'HeadlessService', {
      metadata: { name: this.headlessServiceName, labels },
      spec: { clusterIp: 'None', publishNotReadyAddresses: true, selector: this.selectorLabels, ports: [servicePort] },
    });
    // Narrowing this Service's selector is safe: only the StatefulSet's own selector is immutable.
    const primary = this.replication && { 'statefulset.kubernetes.io/pod-name': `${this.name}-${this.replication.primaryOrdinal}` };
    new k8s.KubeService(this, 'Service', {
      metadata: { name: this.name, labels },
      spec: { type: 'ClusterIP', selector: { ...this.selectorLabels, ...primary }, ports: [servicePort] },
    });
    // Selectors only test equality, so "every pod but the primary" cannot be said; the primary is
    // never behind in what it serves, and replicas join only while readiness sees bounded lag.
    if (this.replication) {
      new k8s.KubeService(this, 'ReadService', {
        metadata: { name: `${this.name}-read`, labels },
        spec: { type: 'ClusterIP', selector: this.selectorLabels, ports: [servicePort] },
      });
    }
  }

  private addStatefulSet(props: MariaDbStatefulSetProps, labels: Record<string, string>, serviceAccountName: string) {
    const resources = props.resources ?? DEFAULT_RESOURCES;
    return new k8s.KubeStatefulSet(this, 'Resource', {
      metadata: { name: this.name, labels },
      spec: {
        serviceName: this.headlessServiceName,
        replicas: this.replicas,
        // Galera: every pod starts at once, so that after a full stop the node holding the last
        // commit (safe_to_bootstrap) can start first whatever its ordinal.
        podManagementPolicy: this.galera ? 'Parallel' : undefined,
        selector: { matchLabels: this.selectorLabels },
        // Explicit even though it is the default: deleting or scaling the set never deletes data.
        persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
        updateStrategy: { type: 'RollingUpdate' },
        volumeClaimTemplates: [{
          metadata: { name: 'data', labels },
          spec: {
            accessModes: ['ReadWriteOnce'],
            storageClassName: props.storageClassName,
            resources: { requests: { storage: storageQuantity(props.volumeSize ?? Size.gibibytes(8)) } },
          },
        }],
        template: {
          metadata: { labels, annotations: { 'checksum/config': checksum(this.configMap.data) } },
          spec: {
            serviceAccountName,
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            terminationGracePeriodSeconds: 60,
            securityContext: restrictedPodSecurityContext(MARIADB_UID, MARIADB_UID),
            affinity: Lazy.any({ produce: () => this.affinity }),
            initContainers: this.replication || this.galera || this.metrics
              ? [
                ...this.replication ? this.replicationInitContainers(resources) : [],
                ...this.galera ? [this.galeraConfigContainer(resources)] : [],
                ...this.metrics ? [this.exporterConfigContainer()] : [],
              ]
              : undefined,
            containers: [this.serverContainer(props, resources), ...this.metrics ? [this.exporterContainer(this.metrics)] : []],
            volumes: this.podVolumes(),
          },
        },
      },
    });
  }

  /** `config` writes the shared settings and the node's own name and address into conf.d. */
  private galeraConfigContainer(resources: ResourceSpec): k8s.Container {
    return this.toolContainer('config', GALERA_CONFIG_SCRIPT, resources, [
      { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
      { name: 'CONFIG_SOURCE', value: CONFIG_SOURCE },
      { name: 'CONFIG_DIR', value: CONF_D },
    ], [
      { name: 'config', mountPath: CONFIG_SOURCE, readOnly: true },
      { name: 'conf-d', mountPath: CONF_D },
    ]);
  }

  /** A container of the server's image with the restricted settings, running one of the replication snippets. */
  private toolContainer(name: string, script: string, resources: ResourceSpec, env: k8s.EnvVar[], volumeMounts: k8s.VolumeMount[]): k8s.Container {
    return {
      name,
      image: this.image,
      imagePullPolicy: 'IfNotPresent',
      command: ['bash', '-c', script],
      env: [...this.replicationEnv(), ...env],
      resources: resourceRequirements(resources),
      securityContext: restrictedContainerSecurityContext(MARIADB_UID, MARIADB_UID),
      volumeMounts,
    };
  }

  /** Writes the exporter's my.cnf from the Secret file; a small fixed size, it only runs printf. */
  private exporterConfigContainer(): k8s.Container {
    return {
      name: 'exporter-config',
      image: this.image,
      imagePullPolicy: 'IfNotPresent',
      command: ['bash', '-c', EXPORTER_CONFIG_SCRIPT],
      env: [
        { name: 'MONITORING_USER', value: this.metrics!.user },
        { name: 'MONITORING_PASSWORD_FILE', value: `${MARIADB_SECRETS_DIR}/${this.credentials.monitoringPasswordKey}` },
        { name: 'MYSQL_TCP_PORT', value: String(PORT) },
        { name: 'EXPORTER_CNF', value: `${EXPORTER_CONFIG_DIR}/my.cnf` },
      ],
      resources: resourceRequirements(EXPORTER_RESOURCES),
      securityContext: restrictedContainerSecurityContext(MARIADB_UID, MARIADB_UID),
      volumeMounts: [
        { name: 'exporter-config', mountPath: EXPORTER_CONFIG_DIR },
        { name: 'credentials', mountPath: MARIADB_SECRETS_DIR, readOnly: true },
      ],
    };
  }

  /**
   * mysqld-exporter on MYSQLD_EXPORTER_PORT. It runs as the pod's mysql UID (a static binary runs as
   * any) so that it can read the my.cnf the init container wrote with mode 0600.
   */
  private exporterContainer(metrics: Required<MariaDbMetrics>): k8s.Container {
    return {
      name: 'mysqld-exporter',
      image: metrics.image,
      imagePullPolicy: 'IfNotPresent',
      args: [`--config.my-cnf=${EXPORTER_CONFIG_DIR}/my.cnf`, `--web.listen-address=:${MYSQLD_EXPORTER_PORT}`],
      ports: [{ name: METRICS_PORT_NAME, containerPort: MYSQLD_EXPORTER_PORT, protocol: 'TCP' }],
      resources: resourceRequirements(EXPORTER_RESOURCES),
      securityContext: restrictedContainerSecurityContext(MARIADB_UID, MARIADB_UID),
      ...exporterProbes({ startup: STARTUP, liveness: LIVENESS, readiness: READINESS }),
      volumeMounts: [{ name: 'exporter-config', mountPath: EXPORTER_CONFIG_DIR, readOnly: true }],
    };
  }

  /** `config` writes the ordinal's my.cnf; `seed` copies the primary's data into a new replica. */
  private replicationInitContainers(resources: ResourceSpec): k8s.Container[] {
    return [
      this.toolContainer('config', CONFIG_SCRIPT, resources, [
        { name: 'SERVER_ID_BASE', value: String(SERVER_ID_BASE) },
        { name: 'CONFIG_SOURCE', value: CONFIG_SOURCE },
        { name: 'CONFIG_DIR', value: CONF_D },
      ], [
        { name: 'config', mountPath: CONFIG_SOURCE, readOnly: true },
        { name: 'conf-d', mountPath: CONF_D },
      ]),
      this.toolContainer('seed', SEED_SCRIPT, resources, [
        { name: 'MARIADB_ROOT_PASSWORD_FILE', value: `${MARIADB_SECRETS_DIR}/${this.credentials.rootPasswordKey}` },
        { name: 'MARIADB_DATABASE', value: this.databaseName },
        { name: 'MYSQL_TCP_PORT', value: String(PORT) },
        { name: 'DATA_DIR', value: DATA_DIR },
        { name: 'INIT_DIR', value: INIT_DIR },
      ], [
        { name: 'data', mountPath: DATA_DIR, readOnly: true },
        { name: 'initdb', mountPath: INIT_DIR },
        { name: 'tmp', mountPath: '/tmp' },
        { name: 'credentials', mountPath: MARIADB_SECRETS_DIR, readOnly: true },
      ]),
    ];
  }

  /** What every container of a replicated pod needs to know its role and its primary. */
  private replicationEnv(): k8s.EnvVar[] {
    if (!this.replication) return [];
    return [
      { name: 'PRIMARY_ORDINAL', value: String(this.replication.primaryOrdinal) },
      { name: 'MARIADB_MASTER_HOST', value: this.podHost(this.replication.primaryOrdinal) },
    ];
  }

  private serverContainer(props: MariaDbStatefulSetProps, resources: ResourceSpec): k8s.Container {
    const r = this.replication;
    // With replication or Galera, conf.d is the `config` init container's output; standalone mounts the one file.
    const config: k8s.VolumeMount = r || this.galera
      ? { name: 'conf-d', mountPath: CONF_D, readOnly: true }
      : { name: 'config', mountPath: `${CONF_D}/${CONFIG_FILE}`, subPath: CONFIG_FILE, readOnly: true };
    const galeraPorts = Object.entries(GALERA_PORTS).map(([name, port]): k8s.ContainerPort => ({ name: `galera-${name}`, containerPort: port, protocol: 'TCP' }));
    return {
      name: 'mariadb',
      image: this.image,
      imagePullPolicy: 'IfNotPresent',
      // The image's entrypoint stays in charge; the wrapper only picks the role (or whether to bootstrap).
      command: r ? ['bash', '-c', START_SCRIPT] : this.galera && ['bash', '-c', GALERA_START_SCRIPT],
      ports: [{ name: 'mysql', containerPort: PORT, protocol: 'TCP' }, ...this.galera ? galeraPorts : []],
      env: this.serverEnv(),
      resources: resourceRequirements(resources),
      securityContext: restrictedContainerSecurityContext(MARIADB_UID, MARIADB_UID),
      ...this.probes(props.probes),
      volumeMounts: [
        { name: 'data', mountPath: DATA_DIR },
        { name: 'run', mountPath: '/run/mysqld' },
        { name: 'tmp', mountPath: '/tmp' },
        config,
        { name: 'credentials', mountPath: MARIADB_SECRETS_DIR, readOnly: true },
        ...(r ? [{ name: 'initdb', mountPath: INIT_DIR, readOnly: true }] : []),
      ],
    };
  }

  /** First-start settings of the image's entrypoint; passwords only as `*_FILE` paths. */
  private serverEnv(): k8s.EnvVar[] {
    const r = this.replication;
    return [
      { name: 'MARIADB_ROOT_PASSWORD_FILE', value: `${MARIADB_SECRETS_DIR}/${this.credentials.rootPasswordKey}` },
      { name: 'MARIADB_PASSWORD_FILE', value: `${MARIADB_SECRETS_DIR}/${this.credentials.passwordKey}` },
      { name: 'MARIADB_USER', value: this.username },
      { name: 'MARIADB_DATABASE', value: this.databaseName },
      { name: 'MARIADB_AUTO_UPGRADE', value: '1' },
      // Default port of the client tools the probes run.
      { name: 'MYSQL_TCP_PORT', value: String(PORT) },
      ...(r ? [
        // The entrypoint creates this user on the primary and points a replica at MARIADB_MASTER_HOST.
        { name: 'MARIADB_REPLICATION_USER', value: r.user },
        { name: 'MARIADB_REPLICATION_PASSWORD_FILE', value: `${MARIADB_SECRETS_DIR}/${this.credentials.replicationPasswordKey}` },
        { name: 'MARIADB_MASTER_PORT', value: String(PORT) },
        ...this.replicationEnv(),
        { name: 'MAX_LAG_SECONDS', value: String(r.maxLag.toSeconds()) },
      ] : []),
      ...(this.galera ? [
        // The entrypoint creates the SST user on a node's first start (see SST_GRANTS).
        { name: 'MARIADB_MYSQL_LOCALHOST_USER', value: '1' },
        { name: 'MARIADB_MYSQL_LOCALHOST_GRANTS', value: SST_GRANTS },
        { name: 'GALERA_PEERS', value: this.podHosts().join(' ') },
        { name: 'GALERA_PORT', value: String(GALERA_PORTS.replication) },
        { name: 'DATA_DIR', value: DATA_DIR },
      ] : []),
    ];
  }

  private probes(settings: ProbeSettings | undefined): Pick<k8s.Container, 'startupProbe' | 'livenessProbe' | 'readinessProbe'> {
    // `mariadb-admin ping` succeeds whenever the server process answers, even with "access denied":
    // liveness must not depend on credentials or on the database being usable. Over TCP, because
    // the entrypoint's first-boot server listens on the socket only and is not the real one yet
    // (mariadb-admin ignores MYSQL_HOST, so the host is given here; the port comes from MYSQL_TCP_PORT).
    const ping: k8s.ExecAction = { command: ['mariadb-admin', '--host=127.0.0.1', '--connect-timeout=3', '--silent', 'ping'] };
    // Readiness: the application user can log in and run a query in its database (and, on a
    // replica, replication runs with bounded lag). A lagging replica only leaves the Services.
    const query: k8s.ExecAction = {
      command: this.replication || this.galera
        ? ['bash', '-c', this.replication ? READINESS_SCRIPT : GALERA_READINESS_SCRIPT]
        : ['sh', '-c', 'MYSQL_PWD="$(cat "$MARIADB_PASSWORD_FILE")" exec mariadb --host=127.0.0.1 --connect-timeout=3 --user="$MARIADB_USER" --database="$MARIADB_DATABASE" --batch --skip-column-names --execute="SELECT 1"'],
    };
    return {
      startupProbe: probe({ exec: ping }, resolveTimings(STARTUP, settings?.startup)),
      livenessProbe: probe({ exec: ping }, resolveTimings(LIVENESS, settings?.liveness)),
      readinessProbe: probe({ exec: query }, resolveTimings(READINESS, settings?.readiness)),
    };
  }

  /** Writable scratch for the read-only root, my.cnf, and the password files. */
  private podVolumes(): k8s.Volume[] {
    const c = this.credentials;
    const keys = [c.rootPasswordKey, c.passwordKey, ...(this.replication ? [c.replicationPasswordKey] : []), ...(this.metrics ? [c.monitoringPasswordKey] : [])];
    return [
      { name: 'run', emptyDir: {} },
      { name: 'tmp', emptyDir: {} },
      { name: 'config', configMap: { name: this.configMap.name } },
      ...(this.replication || this.galera ? [{ name: 'conf-d', emptyDir: {} }] : []),
      ...(this.replication ? [{ name: 'initdb', emptyDir: {} }] : []),
      // In memory: the file holds a password and must not reach the node's disk.
      ...(this.metrics ? [{ name: 'exporter-config', emptyDir: { medium: 'Memory', sizeLimit: k8s.Quantity.fromString('1Mi') } }] : []),
      {
        name: 'credentials',
        secret: {
          secretName: c.secret.name,
          defaultMode: 0o440,
          items: keys.map(key => ({ key, path: key })),
        },
      },
    ];
  }

  /**
   * Record a workload that connects to this database; network policies are generated from this.
   */
  public addClient(client: DatabaseClient): void {
    this._clients.push(client);
  }

  /** Workloads that connect to this database, in the order they were wired. */
  public get clients(): readonly DatabaseClient[] {
    return [...this._clients];
  }

  /** Pods of the set. */
  public get replicas(): number {
    return this.replication?.replicas ?? this.galera?.replicas ?? 1;
  }

  /** DNS names of every pod of the set through the headless Service, by ordinal. */
  public podHosts(): string[] {
    return Array.from({ length: this.replicas }, (_, ordinal) => this.podHost(ordinal));
  }

  /** DNS name of one pod through the headless Service. */
  public podHost(ordinal: number): string {
    return `${this.name}-${ordinal}.${this.serviceHost(this.headlessServiceName)}`;
  }

  public addAffinity(affinity: k8s.Affinity): void {
    this.affinity = { ...this.affinity, ...affinity };
  }
}

/** A `[mysqld]` section with the settings sorted. */
function mysqld(settings: Record<string, string>): string {
  return `[mysqld]\n${iniLines(settings)}`;
}
