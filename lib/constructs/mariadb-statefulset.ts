import { Chart, Duration, Lazy, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { ComponentIdentity, objectLabels, selectorLabels, siteInstance } from '../k8s/labels';
import {
  IAffinityTarget, ProbeSettings, ResolvedTimings, ResourceSpec, checkImage, checksum, iniLines, probe,
  resolveTimings, resourceRequirements, restrictedContainerSecurityContext, restrictedPodSecurityContext,
  storageQuantity, workloadServiceAccount,
} from '../k8s/pod-spec';

/** The official MariaDB image, pinned to the 11.4 LTS series. */
export const MARIADB_DEFAULT_IMAGE = 'mariadb:11.4';

/** UID/GID of the `mysql` user in the official image. */
export const MARIADB_UID = 999;

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
  readonly secret: kplus.ISecret;
  readonly rootPasswordKey: string;
  readonly passwordKey: string;
}

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
}

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

/**
 * MariaDB (official image) as a one-replica StatefulSet with its own volume from
 * `volumeClaimTemplates`, a headless Service for per-pod DNS and a ClusterIP Service for clients.
 *
 * One replica on purpose: more replicas without replication configured would be independent,
 * diverging databases behind one Service.
 */
export class MariaDbStatefulSet extends Construct implements IAffinityTarget {
  /** Name of the StatefulSet and of the client Service. */
  public readonly name: string;
  /** Name of the headless Service that gives each pod a DNS name. */
  public readonly headlessServiceName: string;
  /** DNS name clients connect to. */
  public readonly host: string;
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
  /** Labels that select exactly this StatefulSet's pods. */
  public readonly selectorLabels: Record<string, string>;
  /** Identity used for labels; other constructs derive theirs from it. */
  public readonly identity: ComponentIdentity;
  /** The StatefulSet object. */
  public readonly statefulSet: k8s.KubeStatefulSet;
  /** The ConfigMap holding `my.cnf` settings. */
  public readonly configMap: kplus.ConfigMap;

  private readonly namespace?: string;
  private affinity?: k8s.Affinity;
  private readonly _clients: DatabaseClient[] = [];

  constructor(scope: Construct, id: string, props: MariaDbStatefulSetProps) {
    super(scope, id);
    this.name = props.name ?? 'mariadb';
    this.headlessServiceName = `${this.name}-headless`;
    this.namespace = Chart.of(this).namespace;
    this.host = this.namespace ? `${this.name}.${this.namespace}.svc.cluster.local` : this.name;
    this.databaseName = props.databaseName ?? 'wordpress';
    this.username = props.username ?? 'wordpress';
    this.credentials = {
      secret: props.credentials.secret,
      rootPasswordKey: props.credentials.rootPasswordKey ?? 'mariadb-root-password',
      passwordKey: props.credentials.passwordKey ?? 'mariadb-password',
    };
    this.image = props.image ?? MARIADB_DEFAULT_IMAGE;
    checkImage('MariaDbStatefulSet', 'image', this.image);
    this.identity = { name: 'mariadb', instance: siteInstance(this, props.instance), component: 'database' };
    this.selectorLabels = selectorLabels(this.identity);
    const labels = objectLabels(this.identity);

    // Construction order is output order: config, account, services, then the set.
    this.configMap = new kplus.ConfigMap(this, 'Config', {
      metadata: { name: `${this.name}-config`, labels },
      data: { [CONFIG_FILE]: `[mysqld]\n${iniLines({ ...DEFAULT_CONFIG, ...props.config })}` },
    });
    const account = workloadServiceAccount(this, this.name, labels);
    this.addServices(labels);
    this.statefulSet = this.addStatefulSet(props, labels, account.name);
  }

  /** The headless Service (per-pod DNS, published before ready) and the ClusterIP Service for clients. */
  private addServices(labels: Record<string, string>) {
    const servicePort: k8s.ServicePort = { name: 'mysql', port: PORT, targetPort: k8s.IntOrString.fromString('mysql'), protocol: 'TCP' };
    new k8s.KubeService(this, 'HeadlessService', {
      metadata: { name: this.headlessServiceName, labels },
      spec: { clusterIp: 'None', publishNotReadyAddresses: true, selector: this.selectorLabels, ports: [servicePort] },
    });
    new k8s.KubeService(this, 'Service', {
      metadata: { name: this.name, labels },
      spec: { type: 'ClusterIP', selector: this.selectorLabels, ports: [servicePort] },
    });
  }

  private addStatefulSet(props: MariaDbStatefulSetProps, labels: Record<string, string>, serviceAccountName: string) {
    return new k8s.KubeStatefulSet(this, 'Resource', {
      metadata: { name: this.name, labels },
      spec: {
        serviceName: this.headlessServiceName,
        replicas: 1,
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
            containers: [this.serverContainer(props)],
            volumes: this.podVolumes(),
          },
        },
      },
    });
  }

  private serverContainer(props: MariaDbStatefulSetProps): k8s.Container {
    const resources = props.resources ?? { cpu: kplus.Cpu.millis(250), cpuLimit: kplus.Cpu.units(1), memory: Size.mebibytes(512) };
    return {
      name: 'mariadb',
      image: this.image,
      imagePullPolicy: 'IfNotPresent',
      ports: [{ name: 'mysql', containerPort: PORT, protocol: 'TCP' }],
      env: this.serverEnv(),
      resources: resourceRequirements(resources),
      securityContext: restrictedContainerSecurityContext(MARIADB_UID, MARIADB_UID),
      ...MariaDbStatefulSet.probes(props.probes),
      volumeMounts: [
        { name: 'data', mountPath: '/var/lib/mysql' },
        { name: 'run', mountPath: '/run/mysqld' },
        { name: 'tmp', mountPath: '/tmp' },
        { name: 'config', mountPath: `/etc/mysql/conf.d/${CONFIG_FILE}`, subPath: CONFIG_FILE, readOnly: true },
        { name: 'credentials', mountPath: MARIADB_SECRETS_DIR, readOnly: true },
      ],
    };
  }

  /** First-start settings of the image's entrypoint; passwords only as `*_FILE` paths. */
  private serverEnv(): k8s.EnvVar[] {
    return [
      { name: 'MARIADB_ROOT_PASSWORD_FILE', value: `${MARIADB_SECRETS_DIR}/${this.credentials.rootPasswordKey}` },
      { name: 'MARIADB_PASSWORD_FILE', value: `${MARIADB_SECRETS_DIR}/${this.credentials.passwordKey}` },
      { name: 'MARIADB_USER', value: this.username },
      { name: 'MARIADB_DATABASE', value: this.databaseName },
      { name: 'MARIADB_AUTO_UPGRADE', value: '1' },
      // Default port of the client tools the probes run.
      { name: 'MYSQL_TCP_PORT', value: String(PORT) },
    ];
  }

  private static probes(settings: ProbeSettings | undefined): Pick<k8s.Container, 'startupProbe' | 'livenessProbe' | 'readinessProbe'> {
    // `mariadb-admin ping` succeeds whenever the server process answers, even with "access denied":
    // liveness must not depend on credentials or on the database being usable. Over TCP, because
    // the entrypoint's first-boot server listens on the socket only and is not the real one yet
    // (mariadb-admin ignores MYSQL_HOST, so the host is given here; the port comes from MYSQL_TCP_PORT).
    const ping: k8s.ExecAction = { command: ['mariadb-admin', '--host=127.0.0.1', '--connect-timeout=3', '--silent', 'ping'] };
    // Readiness: the application user can log in and run a query in its database.
    const query: k8s.ExecAction = {
      command: ['sh', '-c', 'MYSQL_PWD="$(cat "$MARIADB_PASSWORD_FILE")" exec mariadb --host=127.0.0.1 --connect-timeout=3 --user="$MARIADB_USER" --database="$MARIADB_DATABASE" --batch --skip-column-names --execute="SELECT 1"'],
    };
    return {
      startupProbe: probe({ exec: ping }, resolveTimings(STARTUP, settings?.startup)),
      livenessProbe: probe({ exec: ping }, resolveTimings(LIVENESS, settings?.liveness)),
      readinessProbe: probe({ exec: query }, resolveTimings(READINESS, settings?.readiness)),
    };
  }

  /** Writable scratch for the read-only root, my.cnf, and the two password files. */
  private podVolumes(): k8s.Volume[] {
    return [
      { name: 'run', emptyDir: {} },
      { name: 'tmp', emptyDir: {} },
      { name: 'config', configMap: { name: this.configMap.name } },
      {
        name: 'credentials',
        secret: {
          secretName: this.credentials.secret.name,
          defaultMode: 0o440,
          items: [
            { key: this.credentials.rootPasswordKey, path: this.credentials.rootPasswordKey },
            { key: this.credentials.passwordKey, path: this.credentials.passwordKey },
          ],
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

  /** DNS name of one pod through the headless Service. */
  public podHost(ordinal: number): string {
    const suffix = this.namespace ? `.${this.namespace}.svc.cluster.local` : '';
    return `${this.name}-${ordinal}.${this.headlessServiceName}${suffix}`;
  }

  public addAffinity(affinity: k8s.Affinity): void {
    this.affinity = { ...this.affinity, ...affinity };
  }
}
