import { Duration, Lazy, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { AntiAffinity, AntiAffinityOptions } from './anti-affinity';
import { ComponentIdentity, objectLabels, selectorLabels, siteInstance } from '../k8s/labels';
import {
  IAffinityTarget, ProbeSettings, ResolvedTimings, ResourceSpec, checkImage, checksum, iniLines, probe,
  resolveTimings, resourceRequirements, restrictedContainerSecurityContext, restrictedPodSecurityContext,
  workloadServiceAccount,
} from '../k8s/pod-spec';
import { DatabaseClient } from './mariadb-statefulset';
import { StorageClaim } from './storage-claims';

/** The official WordPress image, Apache variant. */
export const WORDPRESS_DEFAULT_IMAGE = 'wordpress:6.8-php8.3-apache';

/** UID/GID of `www-data` in the official image. */
export const WORDPRESS_UID = 33;

/** The 8 WordPress keys and salts, with the Secret key each is read from. */
export const WORDPRESS_KEY_NAMES: Readonly<Record<string, string>> = {
  WORDPRESS_AUTH_KEY: 'auth-key',
  WORDPRESS_SECURE_AUTH_KEY: 'secure-auth-key',
  WORDPRESS_LOGGED_IN_KEY: 'logged-in-key',
  WORDPRESS_NONCE_KEY: 'nonce-key',
  WORDPRESS_AUTH_SALT: 'auth-salt',
  WORDPRESS_SECURE_AUTH_SALT: 'secure-auth-salt',
  WORDPRESS_LOGGED_IN_SALT: 'logged-in-salt',
  WORDPRESS_NONCE_SALT: 'nonce-salt',
};

/**
 * Where WordPress finds its database. `MariaDbStatefulSet` is one; an external server can be given
 * as a plain object.
 */
export interface IDatabaseConnection {
  /** DNS name of the server. */
  readonly host: string;
  /** TCP port of the server. */
  readonly port: number;
  /** Database name (must already exist). */
  readonly databaseName: string;
  /** User name. */
  readonly username: string;
  /** Secret and key holding the user's password. */
  readonly credentials: { readonly secret: kplus.ISecret; readonly passwordKey: string };
  /** Told about each workload that connects (for network policies); absent for external servers. */
  addClient?(client: DatabaseClient): void;
}

/** PHP limits, written to an ini file mounted into the image's conf.d. */
export interface PhpSettings {
  /**
   * Largest upload (`upload_max_filesize`; `post_max_size` gets the same value).
   * @default 64Mi
   */
  readonly uploadMaxSize?: Size;
  /**
   * `memory_limit` of one PHP request; must be below the container memory.
   * @default 256Mi
   */
  readonly memoryLimit?: Size;
  /**
   * `max_execution_time`.
   * @default 60 seconds
   */
  readonly maxExecutionTime?: Duration;
}

export interface WordPressAppProps {
  /** The database to connect to. */
  readonly database: IDatabaseConnection;
  /** The shared content volume mounted at `/var/www/html`. */
  readonly content: StorageClaim;
  /** Existing Secret with the 8 keys and salts, under the key names in `WORDPRESS_KEY_NAMES`. */
  readonly keys: kplus.ISecret;
  /**
   * Name of the Deployment and its Service.
   * @default 'wordpress'
   */
  readonly name?: string;
  /**
   * Site name for the `app.kubernetes.io/instance` label.
   * @default the id of the enclosing chart
   */
  readonly instance?: string;
  /**
   * Container image, pinned by tag (a digest may follow).
   * @default WORDPRESS_DEFAULT_IMAGE
   */
  readonly image?: string;
  /**
   * Number of interchangeable replicas. More than one needs a ReadWriteMany content claim.
   * @default 2
   */
  readonly replicas?: number;
  /**
   * Table prefix (`WORDPRESS_TABLE_PREFIX`).
   * @default 'wp_'
   */
  readonly tablePrefix?: string;
  /**
   * `WP_DEBUG`.
   * @default false
   */
  readonly debug?: boolean;
  /**
   * PHP limits.
   * @default see `PhpSettings`
   */
  readonly php?: PhpSettings;
  /**
   * CPU and memory of the WordPress container.
   * @default 250m CPU (limit 1), 512Mi memory
   */
  readonly resources?: ResourceSpec;
  /**
   * Probe timings.
   * @default startup 10s x 60 (10 minutes for the first copy onto a slow volume), liveness 10s x 6, readiness 10s x 3; 5s timeouts
   */
  readonly probes?: ProbeSettings;
  /**
   * Placement of the replicas.
   * @default soft anti-affinity by hostname, weight 100
   */
  readonly placement?: AntiAffinityOptions;
}

const STARTUP: ResolvedTimings = { initialDelay: Duration.seconds(0), period: Duration.seconds(10), timeout: Duration.seconds(5), failureThreshold: 60 };
const LIVENESS: ResolvedTimings = { initialDelay: Duration.seconds(0), period: Duration.seconds(10), timeout: Duration.seconds(5), failureThreshold: 6 };
const READINESS: ResolvedTimings = { initialDelay: Duration.seconds(0), period: Duration.seconds(10), timeout: Duration.seconds(5), failureThreshold: 3 };

const HTTP_PORT = 80;
const PHP_INI = 'zz-cdk8s.ini';
const SECRETS_DIR = '/etc/wordpress-secrets';

// Where the official image writes, each on a volume so that the root can stay read-only.
const VOLUME_MOUNTS: k8s.VolumeMount[] = [
  { name: 'content', mountPath: '/var/www/html' },
  { name: 'tmp', mountPath: '/tmp' },
  { name: 'apache-run', mountPath: '/var/run/apache2' },
  { name: 'apache-lock', mountPath: '/var/lock/apache2' },
  { name: 'php-config', mountPath: `/usr/local/etc/php/conf.d/${PHP_INI}`, subPath: PHP_INI, readOnly: true },
  { name: 'db-credentials', mountPath: `${SECRETS_DIR}/db`, readOnly: true },
  { name: 'keys', mountPath: `${SECRETS_DIR}/keys`, readOnly: true },
];

/**
 * WordPress (official Apache image) as a Deployment of interchangeable replicas sharing one
 * content volume, with a ClusterIP Service and, with more than one replica, a PodDisruptionBudget.
 */
export class WordPressApp extends Construct implements IAffinityTarget {
  /** Name of the Deployment and the Service. */
  public readonly name: string;
  /** Name of the ClusterIP Service. */
  public readonly serviceName: string;
  /** Port of the Service. */
  public readonly servicePort = HTTP_PORT;
  /** Labels that select exactly this Deployment's pods. */
  public readonly selectorLabels: Record<string, string>;
  /** Identity used for labels. */
  public readonly identity: ComponentIdentity;
  /** Replica count. */
  public readonly replicas: number;
  /** The Deployment object. */
  public readonly deployment: k8s.KubeDeployment;
  /** The PHP ini ConfigMap. */
  public readonly phpConfig: kplus.ConfigMap;

  private affinity?: k8s.Affinity;

  constructor(scope: Construct, id: string, props: WordPressAppProps) {
    super(scope, id);
    this.name = props.name ?? 'wordpress';
    this.serviceName = this.name;
    this.replicas = props.replicas ?? 2;
    const image = props.image ?? WORDPRESS_DEFAULT_IMAGE;
    checkImage('WordPressApp', 'image', image);
    if (!Number.isInteger(this.replicas) || this.replicas < 1) {
      throw new Error(`WordPressApp: replicas is ${this.replicas}; use a whole number of at least 1`);
    }
    const rwx = props.content.accessModes.includes(kplus.PersistentVolumeAccessMode.READ_WRITE_MANY);
    if (this.replicas > 1 && !rwx) {
      throw new Error(`WordPressApp: replicas is ${this.replicas} but content claim "${props.content.claimName}" is not ReadWriteMany `
        + '(pods on other nodes could not attach it); use ReadWriteMany storage or 1 replica');
    }
    const resources = props.resources ?? { cpu: kplus.Cpu.millis(250), cpuLimit: kplus.Cpu.units(1), memory: Size.mebibytes(512) };
    this.identity = { name: 'wordpress', instance: siteInstance(this, props.instance), component: 'web' };
    this.selectorLabels = selectorLabels(this.identity);
    const labels = objectLabels(this.identity);

    // Construction order is output order: PHP config, account, Service, Deployment, PDB.
    this.phpConfig = this.addPhpConfig(props.php, resources, labels);
    const account = workloadServiceAccount(this, this.name, labels);
    new k8s.KubeService(this, 'Service', {
      metadata: { name: this.serviceName, labels },
      spec: {
        type: 'ClusterIP',
        selector: this.selectorLabels,
        ports: [{ name: 'http', port: HTTP_PORT, targetPort: k8s.IntOrString.fromString('http'), protocol: 'TCP' }],
      },
    });
    props.database.addClient?.({ name: this.name, selectorLabels: this.selectorLabels });
    const container: k8s.Container = {
      name: 'wordpress',
      image,
      imagePullPolicy: 'IfNotPresent',
      ports: [{ name: 'http', containerPort: HTTP_PORT, protocol: 'TCP' }],
      env: WordPressApp.env(props),
      resources: resourceRequirements(resources),
      securityContext: restrictedContainerSecurityContext(WORDPRESS_UID, WORDPRESS_UID),
      ...WordPressApp.probes(props.probes),
      volumeMounts: VOLUME_MOUNTS,
    };
    this.deployment = this.addDeployment(container, WordPressApp.podVolumes(props, this.phpConfig.name), labels, account.name);
    if (this.replicas > 1) {
      new k8s.KubePodDisruptionBudget(this, 'DisruptionBudget', {
        metadata: { name: this.name, labels },
        spec: { maxUnavailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: this.selectorLabels } },
      });
    }
    new AntiAffinity(this, 'Placement', { target: this, ...props.placement });
  }

  /** The ini file mounted into the image's conf.d, after checking the limits fit the container. */
  private addPhpConfig(settings: PhpSettings | undefined, resources: ResourceSpec, labels: Record<string, string>) {
    const php = {
      uploadMaxSize: settings?.uploadMaxSize ?? Size.mebibytes(64),
      memoryLimit: settings?.memoryLimit ?? Size.mebibytes(256),
      maxExecutionTime: settings?.maxExecutionTime ?? Duration.seconds(60),
    };
    if (php.memoryLimit.toMebibytes() >= resources.memory.toMebibytes()) {
      throw new Error(`WordPressApp: php.memoryLimit (${php.memoryLimit.toMebibytes()}Mi) must be below the container memory `
        + `(${resources.memory.toMebibytes()}Mi); lower it or raise resources.memory`);
    }
    const upload = `${php.uploadMaxSize.toMebibytes()}M`;
    return new kplus.ConfigMap(this, 'PhpConfig', {
      metadata: { name: `${this.name}-php`, labels },
      data: {
        [PHP_INI]: iniLines({
          upload_max_filesize: upload,
          post_max_size: upload,
          memory_limit: `${php.memoryLimit.toMebibytes()}M`,
          max_execution_time: String(php.maxExecutionTime.toSeconds()),
        }),
      },
    });
  }

  /** Database settings and the 8 keys, every secret as a `*_FILE` path the image reads. */
  private static env(props: WordPressAppProps): k8s.EnvVar[] {
    const db = props.database;
    const env: k8s.EnvVar[] = [
      { name: 'WORDPRESS_DB_HOST', value: `${db.host}:${db.port}` },
      { name: 'WORDPRESS_DB_USER', value: db.username },
      { name: 'WORDPRESS_DB_NAME', value: db.databaseName },
      { name: 'WORDPRESS_DB_PASSWORD_FILE', value: `${SECRETS_DIR}/db/${db.credentials.passwordKey}` },
      { name: 'WORDPRESS_TABLE_PREFIX', value: props.tablePrefix ?? 'wp_' },
      ...Object.entries(WORDPRESS_KEY_NAMES).map(([variable, key]) => ({ name: `${variable}_FILE`, value: `${SECRETS_DIR}/keys/${key}` })),
    ];
    if (props.debug) env.push({ name: 'WORDPRESS_DEBUG', value: '1' });
    return env;
  }

  private static probes(settings: ProbeSettings | undefined): Pick<k8s.Container, 'startupProbe' | 'livenessProbe' | 'readinessProbe'> {
    // Behind TLS termination WordPress only knows the request was HTTPS from this header;
    // without it the probe may be redirected and never see the page.
    const httpsHeader = [{ name: 'X-Forwarded-Proto', value: 'https' }];
    const get = (path: string): Pick<k8s.Probe, 'httpGet'> => ({
      httpGet: { path, port: k8s.IntOrString.fromString('http'), httpHeaders: httpsHeader },
    });
    return {
      // Apache listens only after the entrypoint has copied WordPress onto the volume.
      startupProbe: probe({ tcpSocket: { port: k8s.IntOrString.fromString('http') } }, resolveTimings(STARTUP, settings?.startup)),
      // A static file: Apache answers without PHP or the database, so a database outage
      // takes pods out of the Service (readiness) without restarting them.
      livenessProbe: probe(get('/wp-includes/images/blank.gif'), resolveTimings(LIVENESS, settings?.liveness)),
      // A PHP page that needs the database: ready means serving pages.
      readinessProbe: probe(get('/wp-login.php'), resolveTimings(READINESS, settings?.readiness)),
    };
  }

  /** The content claim, emptyDirs where the image writes under a read-only root, config and Secrets. */
  private static podVolumes(props: WordPressAppProps, phpConfigName: string): k8s.Volume[] {
    const db = props.database;
    return [
      { name: 'content', persistentVolumeClaim: { claimName: props.content.claimName } },
      { name: 'tmp', emptyDir: {} },
      { name: 'apache-run', emptyDir: {} },
      { name: 'apache-lock', emptyDir: {} },
      { name: 'php-config', configMap: { name: phpConfigName } },
      {
        name: 'db-credentials',
        secret: {
          secretName: db.credentials.secret.name,
          defaultMode: 0o440,
          items: [{ key: db.credentials.passwordKey, path: db.credentials.passwordKey }],
        },
      },
      {
        name: 'keys',
        secret: {
          secretName: props.keys.name,
          defaultMode: 0o440,
          items: Object.values(WORDPRESS_KEY_NAMES).map(key => ({ key, path: key })),
        },
      },
    ];
  }

  /**
   * Copies WordPress onto an empty content volume before the image's entrypoint would. Running as
   * www-data, the entrypoint's `tar --no-overwrite-dir` still tries to chmod the volume's root,
   * which the kubelet leaves owned by root (group fsGroup): GNU tar 1.34 (Debian bookworm, the
   * image's base) then exits 2 and the pod's first start crashes once. `cp` sets no mode on an
   * existing directory; `-n` never overwrites, like the entrypoint, which skips content that exists.
   * The entrypoint then finds WordPress and only writes wp-config.php.
   */
  private static copyContent(app: k8s.Container): k8s.Container {
    return {
      name: 'copy-wordpress',
      image: app.image,
      imagePullPolicy: app.imagePullPolicy,
      command: ['sh', '-c', '[ -e /var/www/html/index.php ] || [ -e /var/www/html/wp-includes/version.php ] || exec cp -Rn /usr/src/wordpress/. /var/www/html/'],
      resources: app.resources,
      securityContext: app.securityContext,
      volumeMounts: VOLUME_MOUNTS.filter(m => m.name === 'content' || m.name === 'tmp'),
    };
  }

  private addDeployment(container: k8s.Container, volumes: k8s.Volume[], labels: Record<string, string>, serviceAccountName: string) {
    return new k8s.KubeDeployment(this, 'Resource', {
      metadata: { name: this.name, labels },
      spec: {
        replicas: this.replicas,
        selector: { matchLabels: this.selectorLabels },
        revisionHistoryLimit: 5,
        // Never below the desired count during a rollout.
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: k8s.IntOrString.fromNumber(1), maxUnavailable: k8s.IntOrString.fromNumber(0) } },
        template: {
          metadata: { labels, annotations: { 'checksum/config': checksum(this.phpConfig.data) } },
          spec: {
            serviceAccountName,
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            terminationGracePeriodSeconds: 30,
            // Lets Apache, running as www-data, bind port 80 (a "safe" sysctl allowed by "restricted").
            securityContext: restrictedPodSecurityContext(WORDPRESS_UID, WORDPRESS_UID, [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }]),
            affinity: Lazy.any({ produce: () => this.affinity }),
            initContainers: [WordPressApp.copyContent(container)],
            containers: [container],
            volumes,
          },
        },
      },
    });
  }

  public addAffinity(affinity: k8s.Affinity): void {
    this.affinity = { ...this.affinity, ...affinity };
  }
}
