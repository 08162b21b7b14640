import { Chart, Duration, Lazy, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { AntiAffinity, AntiAffinityOptions, Topology } from './anti-affinity';
import { ComponentIdentity, objectLabels, selectorLabels, siteInstance } from '../k8s/labels';
import {
  DEFAULT_RESOURCES, IAffinityTarget, ProbeSettings, ResolvedTimings, ResourceSpec, checkImage, checksum, iniLines,
  probe, resolveTimings, resourceRequirements, restrictedContainerSecurityContext, restrictedPodSecurityContext,
  workloadServiceAccount,
} from '../k8s/pod-spec';
import { APACHE_EXPORTER_DEFAULT_IMAGE, APACHE_EXPORTER_PORT, APACHE_STATUS_CONF, apacheExporterContainer } from './apache-metrics';
import { DatabaseClient } from './mariadb-statefulset';
import { MetricsService, addMetricsService } from '../k8s/metrics-service';
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

/** What the scheduler does with a pod that would break a topology spread constraint. */
export enum WhenUnsatisfiable {
  /** Schedule it anyway, on the node that breaks the spread least. */
  SCHEDULE_ANYWAY = 'ScheduleAnyway',
  /** Leave it Pending until the spread allows it. */
  DO_NOT_SCHEDULE = 'DoNotSchedule',
}

/** Spread the replicas evenly over a topology (e.g. zones), beside any anti-affinity. */
export interface TopologySpread {
  /**
   * Node label whose values are the domains to spread over.
   * @default Topology.ZONE
   */
  readonly topologyKey?: Topology | string;
  /**
   * Largest allowed difference in replicas between two domains.
   * @default 1
   */
  readonly maxSkew?: number;
  /**
   * What to do with a replica that would break the spread.
   * @default WhenUnsatisfiable.SCHEDULE_ANYWAY
   */
  readonly whenUnsatisfiable?: WhenUnsatisfiable;
}

/** A HorizontalPodAutoscaler (autoscaling/v2) that sets the replica count from CPU use. */
export interface WordPressAutoscaling {
  /** Fewest replicas; at least 2, so that the PodDisruptionBudget protects something. */
  readonly minReplicas: number;
  /** Most replicas; quota, RWX check and disruption budget are sized for this many. */
  readonly maxReplicas: number;
  /**
   * Average CPU use, in percent of the CPU request, the autoscaler keeps the replicas at.
   * @default 70
   */
  readonly targetCpuUtilizationPercent?: number;
}

/** An apache_exporter sidecar in every pod, reading Apache's mod_status on a loopback-only listener. */
export interface WordPressMetrics {
  /**
   * Exporter image, pinned by tag (a digest may follow).
   * @default APACHE_EXPORTER_DEFAULT_IMAGE
   */
  readonly image?: string;
}

/** Props of `WordPressApp`. */
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
   * Leave it out with `autoscaling`.
   * @default 2
   */
  readonly replicas?: number;
  /**
   * Let a HorizontalPodAutoscaler set the replica count; the Deployment then has no `replicas`, so
   * a GitOps sync does not undo what the autoscaler decided.
   * @default a fixed `replicas`
   */
  readonly autoscaling?: WordPressAutoscaling;
  /**
   * Spread the replicas over a topology with `topologySpreadConstraints`.
   * @default no spread constraint (anti-affinity from `placement` only)
   */
  readonly topologySpread?: TopologySpread;
  /**
   * PriorityClass of the pods (it must exist in the cluster).
   * @default none: the cluster's default priority
   */
  readonly priorityClassName?: string;
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
  /**
   * Release track, the pod label `track` (never part of the selector). A canary also gets
   * component `web-canary` (so neither Deployment's selector selects the other's pods), a
   * PodDisruptionBudget whatever its replica count, and never runs database upgrades: Apache
   * refuses `wp-admin/upgrade.php` and WordPress's automatic updater and file changes are off.
   * @default Track.STABLE
   */
  readonly track?: Track;
  /**
   * Also serve HTTPS on container port 8443 (Service port 443, named `https`) with the certificate
   * of this `kubernetes.io/tls` Secret, for TLS re-encryption or passthrough at the edge.
   * @default HTTP on port 80 only
   */
  readonly httpsSecret?: string;
  /**
   * Annotations on the Service (e.g. OpenShift's `service.beta.openshift.io/serving-cert-secret-name`).
   * @default none
   */
  readonly serviceAnnotations?: Record<string, string>;
  /**
   * Labels the Service selects, when it must select more than this Deployment's pods (a mesh that
   * splits traffic by subsets needs one Service over both tracks).
   * @default this Deployment's selector labels
   */
  readonly serviceSelector?: Record<string, string>;
  /**
   * Extra pod template annotations (e.g. the resources of an injected sidecar).
   * @default none
   */
  readonly podAnnotations?: Record<string, string>;
  /**
   * Run apache_exporter beside Apache (mod_status on 127.0.0.1 only) and render the `<name>-metrics`
   * Service it is scraped through.
   * @default no metrics
   */
  readonly metrics?: WordPressMetrics;
}

/** Release track of a WordPress Deployment. */
export enum Track {
  /** The Deployment that serves the site; its name and selector never change. */
  STABLE = 'stable',
  /** A second Deployment with another image that gets a share of the traffic. */
  CANARY = 'canary',
}

/** Pod label that tells the tracks apart (routing subsets, dashboards). */
export const TRACK_LABEL = 'track';

const STARTUP: ResolvedTimings = { initialDelay: Duration.seconds(0), period: Duration.seconds(10), timeout: Duration.seconds(5), failureThreshold: 60 };
const LIVENESS: ResolvedTimings = { initialDelay: Duration.seconds(0), period: Duration.seconds(10), timeout: Duration.seconds(5), failureThreshold: 6 };
const READINESS: ResolvedTimings = { initialDelay: Duration.seconds(0), period: Duration.seconds(10), timeout: Duration.seconds(5), failureThreshold: 3 };

const HTTP_PORT = 80;
/** Container port of the HTTPS listener (above 1024, so it needs no sysctl of its own). */
export const WORDPRESS_HTTPS_PORT = 8443;
/** Service port of the HTTPS listener. */
export const WORDPRESS_HTTPS_SERVICE_PORT = 443;
const PHP_INI = 'zz-cdk8s.ini';
const APACHE_CONF = 'zz-cdk8s.conf';
const TLS_DIR = '/etc/wordpress-tls';
/** What `disableBuiltInCron()` adds to WORDPRESS_CONFIG_EXTRA. */
export const DISABLE_WP_CRON = "define('DISABLE_WP_CRON', true);";

/** What the canary track's wp-config.php evaluates (WORDPRESS_CONFIG_EXTRA of the official image). */
export const CANARY_CONFIG_EXTRA = "define('AUTOMATIC_UPDATER_DISABLED', true); define('DISALLOW_FILE_MODS', true);";
const SECRETS_DIR = '/etc/wordpress-secrets';

// The copy-wordpress init container. Replicas starting at once on one empty volume each copy into
// a folder of their own on that volume, then rename its entries into place: a rename is atomic, so
// each entry ends up complete from one copy, and a pod that loses the race keeps the winner's (or
// an existing wp-content, as the entrypoint does). The entrypoint's markers, wp-includes and
// index.php, go last, so whoever sees them sees the rest. A plain `cp -n` fails here: two pods
// create the same file between one's check and its write (seen under the pod emulator).
const COPY_WORDPRESS = `set -eu
cd /var/www/html
if [ -e index.php ] || [ -e wp-includes/version.php ]; then exit 0; fi
staging="$(mktemp -d .copy-wordpress.XXXXXX)"
trap 'rm -rf "$staging"' EXIT
cp -R /usr/src/wordpress/. "$staging/"
place() { mv -T "$staging/$1" "$1" 2>/dev/null || [ -e "$1" ]; }
for path in "$staging"/* "$staging"/.[!.]*; do
  entry="\${path##*/}"
  [ -e "$path" ] || continue
  case "$entry" in index.php|wp-includes) ;; *) place "$entry" ;; esac
done
place wp-includes
place index.php
`;

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
  /** HTTPS port of the Service, when `httpsSecret` is set. */
  public readonly httpsServicePort?: number;
  /** Release track. */
  public readonly track: Track;
  /** DNS name of the Service inside the cluster. */
  public readonly host: string;
  /** Container image. */
  public readonly image: string;
  /** Labels that select exactly this Deployment's pods. */
  public readonly selectorLabels: Record<string, string>;
  /** Identity used for labels. */
  public readonly identity: ComponentIdentity;
  /** Most replicas that run: the fixed count, or the autoscaler's maximum. */
  public readonly replicas: number;
  /** The autoscaler, when `autoscaling` is set. */
  public readonly autoscaler?: k8s.KubeHorizontalPodAutoscalerV2;
  /** The Deployment object. */
  public readonly deployment: k8s.KubeDeployment;
  /** The PHP ini ConfigMap. */
  public readonly phpConfig: kplus.ConfigMap;
  /** The Apache ConfigMap (HTTPS listener, canary guard, status listener), when any is needed. */
  public readonly apacheConfig?: kplus.ConfigMap;
  /** The headless Service the exporters are scraped through (every pod), when metrics are on. */
  public readonly metricsService?: MetricsService;

  private affinity?: k8s.Affinity;
  private readonly configExtra: string[] = [];
  private readonly _clients: DatabaseClient[] = [];

  constructor(scope: Construct, id: string, props: WordPressAppProps) {
    super(scope, id);
    this.name = props.name ?? 'wordpress';
    this.serviceName = this.name;
    const namespace = Chart.of(this).namespace;
    this.host = namespace ? `${this.serviceName}.${namespace}.svc.cluster.local` : this.serviceName;
    const image = this.image = props.image ?? WORDPRESS_DEFAULT_IMAGE;
    checkImage('WordPressApp', 'image', image);
    const resources = props.resources ?? DEFAULT_RESOURCES;
    this.replicas = props.autoscaling ? WordPressApp.checkAutoscaling(props, resources) : props.replicas ?? 2;
    if (!Number.isInteger(this.replicas) || this.replicas < 1) {
      throw new Error(`WordPressApp: replicas is ${this.replicas}; use a whole number of at least 1`);
    }
    const rwx = props.content.accessModes.includes(kplus.PersistentVolumeAccessMode.READ_WRITE_MANY);
    if (this.replicas > 1 && !rwx) {
      throw new Error(`WordPressApp: replicas is ${this.replicas} but content claim "${props.content.claimName}" is not ReadWriteMany `
        + '(pods on other nodes could not attach it); use ReadWriteMany storage or 1 replica');
    }
    this.track = props.track ?? Track.STABLE;
    const canary = this.track === Track.CANARY;
    this.identity = { name: 'wordpress', instance: siteInstance(this, props.instance), component: canary ? 'web-canary' : 'web' };
    this.selectorLabels = selectorLabels(this.identity);
    const labels = objectLabels(this.identity);
    if (props.httpsSecret !== undefined) this.httpsServicePort = WORDPRESS_HTTPS_SERVICE_PORT;

    // Construction order is output order: PHP and Apache config, account, Service, Deployment, PDB.
    this.phpConfig = this.addPhpConfig(props.php, resources, labels);
    const exporterImage = props.metrics && (props.metrics.image ?? APACHE_EXPORTER_DEFAULT_IMAGE);
    if (exporterImage) checkImage('WordPressApp', 'metrics.image', exporterImage);
    const apache = apacheConf(props.httpsSecret !== undefined, canary, exporterImage !== undefined);
    if (apache) {
      this.apacheConfig = new kplus.ConfigMap(this, 'ApacheConfig', { metadata: { name: `${this.name}-apache`, labels }, data: { [APACHE_CONF]: apache } });
    }
    const account = workloadServiceAccount(this, this.name, labels);
    const servicePorts: k8s.ServicePort[] = [{ name: 'http', port: HTTP_PORT, targetPort: k8s.IntOrString.fromString('http'), protocol: 'TCP' }];
    const containerPorts: k8s.ContainerPort[] = [{ name: 'http', containerPort: HTTP_PORT, protocol: 'TCP' }];
    if (this.httpsServicePort) {
      servicePorts.push({ name: 'https', port: this.httpsServicePort, targetPort: k8s.IntOrString.fromString('https'), protocol: 'TCP' });
      containerPorts.push({ name: 'https', containerPort: WORDPRESS_HTTPS_PORT, protocol: 'TCP' });
    }
    new k8s.KubeService(this, 'Service', {
      metadata: { name: this.serviceName, labels, annotations: props.serviceAnnotations },
      spec: { type: 'ClusterIP', selector: props.serviceSelector ?? this.selectorLabels, ports: servicePorts },
    });
    if (exporterImage) this.metricsService = addMetricsService(this, this.name, this.identity, this.selectorLabels, APACHE_EXPORTER_PORT);
    props.database.addClient?.({ name: this.name, selectorLabels: this.selectorLabels });
    const env = WordPressApp.env(props);
    if (canary) this.configExtra.push(CANARY_CONFIG_EXTRA);
    const volumeMounts = [...VOLUME_MOUNTS];
    if (this.apacheConfig) volumeMounts.push({ name: 'apache-config', mountPath: `/etc/apache2/conf-enabled/${APACHE_CONF}`, subPath: APACHE_CONF, readOnly: true });
    if (props.httpsSecret !== undefined) volumeMounts.push({ name: 'tls', mountPath: TLS_DIR, readOnly: true });
    const container: k8s.Container = {
      name: 'wordpress',
      image,
      imagePullPolicy: 'IfNotPresent',
      ports: containerPorts,
      // Read at synth: a WordPressCron added later switches the page-view cron off.
      env: Lazy.any({ produce: () => [...env, ...this.configExtraEnv()] }),
      resources: resourceRequirements(resources),
      securityContext: restrictedContainerSecurityContext(WORDPRESS_UID, WORDPRESS_UID),
      ...WordPressApp.probes(props.probes),
      volumeMounts,
    };
    const volumes = WordPressApp.podVolumes(props, this.phpConfig.name);
    if (this.apacheConfig) volumes.push({ name: 'apache-config', configMap: { name: this.apacheConfig.name } });
    if (props.httpsSecret !== undefined) {
      volumes.push({ name: 'tls', secret: { secretName: props.httpsSecret, defaultMode: 0o440, items: [{ key: 'tls.crt', path: 'tls.crt' }, { key: 'tls.key', path: 'tls.key' }] } });
    }
    const configChecksum = checksum(this.apacheConfig ? { php: this.phpConfig.data, apache: this.apacheConfig.data } : this.phpConfig.data);
    const exporter = exporterImage && apacheExporterContainer(exporterImage, { startup: STARTUP, liveness: LIVENESS, readiness: READINESS });
    this.deployment = this.addDeployment(props, exporter ? [container, exporter] : [container], volumes, { ...labels, [TRACK_LABEL]: this.track },
      { 'checksum/config': configChecksum, ...props.podAnnotations }, account.name);
    if (props.autoscaling) this.autoscaler = this.addAutoscaler(props.autoscaling, labels);
    if (this.replicas > 1 || canary) {
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
   * image's base) then exits 2 and the pod's first start crashes once. The entrypoint then finds
   * WordPress and only writes wp-config.php.
   */
  private static copyContent(app: k8s.Container): k8s.Container {
    return {
      name: 'copy-wordpress',
      image: app.image,
      imagePullPolicy: app.imagePullPolicy,
      command: ['sh', '-c', COPY_WORDPRESS],
      resources: app.resources,
      securityContext: app.securityContext,
      volumeMounts: VOLUME_MOUNTS.filter(m => m.name === 'content' || m.name === 'tmp'),
    };
  }

  /** The largest replica count the autoscaler may reach, after checking its settings. */
  private static checkAutoscaling(props: WordPressAppProps, resources: ResourceSpec): number {
    const a = props.autoscaling!;
    if (props.replicas !== undefined) {
      throw new Error(`WordPressApp: replicas (${props.replicas}) and autoscaling are both set; leave replicas out, the autoscaler sets the count`);
    }
    for (const [field, n] of [['minReplicas', a.minReplicas], ['maxReplicas', a.maxReplicas]] as const) {
      if (!Number.isInteger(n) || n < 2) {
        throw new Error(`WordPressApp: autoscaling.${field} is ${n}; use a whole number of at least 2 (with one pod the disruption budget lets a drain take the site down)`);
      }
    }
    if (a.minReplicas > a.maxReplicas) {
      throw new Error(`WordPressApp: autoscaling.minReplicas (${a.minReplicas}) is above maxReplicas (${a.maxReplicas}); swap them or raise maxReplicas`);
    }
    const target = a.targetCpuUtilizationPercent ?? 70;
    if (!Number.isInteger(target) || target < 1 || target > 1000) {
      throw new Error(`WordPressApp: autoscaling.targetCpuUtilizationPercent is ${target}; use a whole percentage from 1 to 1000, e.g. 70`);
    }
    // Utilization is use divided by the request: without a request there is nothing to divide by.
    if (parseFloat(resources.cpu.amount) === 0) {
      throw new Error('WordPressApp: autoscaling on CPU needs a CPU request above 0; set resources.cpu');
    }
    return a.maxReplicas;
  }

  private addAutoscaler(a: WordPressAutoscaling, labels: Record<string, string>) {
    return new k8s.KubeHorizontalPodAutoscalerV2(this, 'Autoscaler', {
      metadata: { name: this.name, labels },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: this.deployment.name },
        minReplicas: a.minReplicas,
        maxReplicas: a.maxReplicas,
        metrics: [{
          type: 'Resource',
          resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: a.targetCpuUtilizationPercent ?? 70 } },
        }],
      },
    });
  }

  private static topologySpread(t: TopologySpread | undefined, selector: Record<string, string>): k8s.TopologySpreadConstraint[] | undefined {
    if (!t) return undefined;
    const maxSkew = t.maxSkew ?? 1;
    if (!Number.isInteger(maxSkew) || maxSkew < 1) throw new Error(`WordPressApp: topologySpread.maxSkew is ${maxSkew}; use a whole number of at least 1`);
    return [{
      topologyKey: t.topologyKey ?? Topology.ZONE,
      maxSkew,
      whenUnsatisfiable: t.whenUnsatisfiable ?? WhenUnsatisfiable.SCHEDULE_ANYWAY,
      labelSelector: { matchLabels: selector },
    }];
  }

  private addDeployment(props: WordPressAppProps, containers: k8s.Container[], volumes: k8s.Volume[], labels: Record<string, string>,
    annotations: Record<string, string>, serviceAccountName: string) {
    return new k8s.KubeDeployment(this, 'Resource', {
      metadata: { name: this.name, labels: objectLabels(this.identity) },
      spec: {
        replicas: props.autoscaling ? undefined : this.replicas,
        selector: { matchLabels: this.selectorLabels },
        revisionHistoryLimit: 5,
        // Never below the desired count during a rollout.
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: k8s.IntOrString.fromNumber(1), maxUnavailable: k8s.IntOrString.fromNumber(0) } },
        template: {
          metadata: { labels, annotations },
          spec: {
            serviceAccountName,
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            terminationGracePeriodSeconds: 30,
            // Lets Apache, running as www-data, bind port 80 (a "safe" sysctl allowed by "restricted").
            securityContext: restrictedPodSecurityContext(WORDPRESS_UID, WORDPRESS_UID, [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }]),
            affinity: Lazy.any({ produce: () => this.affinity }),
            initContainers: [WordPressApp.copyContent(containers[0])],
            topologySpreadConstraints: WordPressApp.topologySpread(props.topologySpread, this.selectorLabels),
            priorityClassName: props.priorityClassName,
            containers,
            volumes,
          },
        },
      },
    });
  }

  /** The PHP the image's wp-config.php evaluates: one variable for everything added so far. */
  private configExtraEnv(): k8s.EnvVar[] {
    return this.configExtra.length ? [{ name: 'WORDPRESS_CONFIG_EXTRA', value: this.configExtra.join(' ') }] : [];
  }

  /**
   * Stop WordPress from running due events during page views (`DISABLE_WP_CRON`); something else
   * must then call `wp-cron.php`, as `WordPressCron` does.
   */
  public disableBuiltInCron(): void {
    if (!this.configExtra.includes(DISABLE_WP_CRON)) this.configExtra.push(DISABLE_WP_CRON);
  }

  /** Record a workload that calls this site over its Service; network policies are generated from this. */
  public addClient(client: DatabaseClient): void {
    this._clients.push(client);
  }

  /** Workloads inside the namespace that call the Service, in the order they were wired. */
  public get clients(): readonly DatabaseClient[] {
    return [...this._clients];
  }

  public addAffinity(affinity: k8s.Affinity): void {
    this.affinity = { ...this.affinity, ...affinity };
  }
}

/**
 * Apache settings mounted into the image's conf-enabled/ (read after its own), or undefined when
 * none is needed: an HTTPS listener on 8443 (mod_ssl ships with the image but is not enabled;
 * a2enmod would write under the read-only root), on the canary track a refusal of
 * wp-admin/upgrade.php (database upgrades run on the stable track only), and with metrics the
 * loopback-only mod_status listener of `APACHE_STATUS_CONF`.
 */
function apacheConf(https: boolean, canary: boolean, status: boolean): string | undefined {
  const parts: string[] = [];
  if (https) {
    parts.push([
      '# HTTPS on 8443 with the certificate of the mounted Secret (TLS re-encrypt or passthrough at the edge).',
      '<IfModule !ssl_module>',
      '  LoadModule ssl_module /usr/lib/apache2/modules/mod_ssl.so',
      '</IfModule>',
      '<IfModule !socache_shmcb_module>',
      '  LoadModule socache_shmcb_module /usr/lib/apache2/modules/mod_socache_shmcb.so',
      '</IfModule>',
      'SSLSessionCache shmcb:/var/run/apache2/ssl_scache(512000)',
      `Listen ${WORDPRESS_HTTPS_PORT} https`,
      `<VirtualHost *:${WORDPRESS_HTTPS_PORT}>`,
      '  DocumentRoot /var/www/html',
      '  SSLEngine on',
      `  SSLCertificateFile ${TLS_DIR}/tls.crt`,
      `  SSLCertificateKeyFile ${TLS_DIR}/tls.key`,
      '  ErrorLog ${APACHE_LOG_DIR}/error.log',
      '  CustomLog ${APACHE_LOG_DIR}/access.log combined',
      '</VirtualHost>',
    ].join('\n'));
  }
  if (canary) {
    parts.push([
      '# Canary track: WordPress database upgrades run on the stable track only.',
      '<LocationMatch "/wp-admin/upgrade\\.php$">',
      '  Require all denied',
      '</LocationMatch>',
    ].join('\n'));
  }
  if (status) parts.push(APACHE_STATUS_CONF);
  return parts.length ? `${parts.join('\n\n')}\n` : undefined;
}
