import * as kplus from 'cdk8s-plus-27';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { ComponentIdentity, objectLabels, selectorLabels } from '../k8s/labels';
import { MARIADB_SECRETS_DIR, MARIADB_UID, MariaDbStatefulSet } from './mariadb-statefulset';
import {
  DEFAULT_RESOURCES, ResourceSpec, resourceRequirements, restrictedContainerSecurityContext, restrictedPodSecurityContext, workloadServiceAccount,
} from '../k8s/pod-spec';
import { StorageClaim } from './storage-claims';

/** Where the backup claim is mounted in the backup and restore pods. */
export const BACKUP_MOUNT_PATH = '/backups';

/** Where the script ConfigMap is mounted in the backup and restore pods. */
export const SCRIPTS_MOUNT_PATH = '/scripts';

/** A script and the file name it is mounted under. */
export interface ToolScript {
  /** File name under `SCRIPTS_MOUNT_PATH`, e.g. `backup.sh`. */
  readonly file: string;
  /** The bash script. */
  readonly text: string;
}

export interface DatabaseToolPodProps {
  /** Name of the ServiceAccount and of the client recorded on the database; the ConfigMap is `<name>-script`. */
  readonly name: string;
  /** `app.kubernetes.io/component` of the pods, e.g. `backup`. */
  readonly component: string;
  /** The database the script talks to; its image provides the client tools. */
  readonly database: MariaDbStatefulSet;
  /**
   * Host the script connects to, e.g. `database.readHost` for a job that only reads.
   * @default database.host, the primary
   */
  readonly host?: string;
  /** The claim mounted at `BACKUP_MOUNT_PATH`. */
  readonly claim: StorageClaim;
  /** Whether the pod may only read the claim. */
  readonly claimReadOnly: boolean;
  /** The script, run with bash. */
  readonly script: ToolScript;
  /** Parameters of the script besides the connection settings. */
  readonly env: Record<string, string>;
  /** What the pod does when the script fails. */
  readonly restartPolicy: 'OnFailure' | 'Never';
  /**
   * CPU and memory of the container.
   * @default 250m CPU (limit 1), 512Mi memory
   */
  readonly resources?: ResourceSpec;
}

/**
 * The pod template of a job that runs a script against a `MariaDbStatefulSet`: the server's image
 * and UID under the "restricted" profile, the application user's password as a mounted file, the
 * backup claim, and a ConfigMap with the script. Shared by `MariaDbBackup` and `MariaDbRestore`.
 */
export class DatabaseToolPod extends Construct {
  /** Labels of the pods and of the objects around them. */
  public readonly labels: Record<string, string>;
  /** Labels that select the pods. */
  public readonly selectorLabels: Record<string, string>;
  /** The pod template to put into a Job. */
  public readonly template: k8s.PodTemplateSpec;
  /** The ConfigMap holding the script. */
  public readonly scriptConfigMap: kplus.ConfigMap;

  constructor(scope: Construct, id: string, props: DatabaseToolPodProps) {
    super(scope, id);
    const db = props.database;
    const identity: ComponentIdentity = { name: 'mariadb', instance: db.identity.instance, component: props.component };
    this.labels = objectLabels(identity);
    this.selectorLabels = selectorLabels(identity);
    db.addClient({ name: props.name, selectorLabels: this.selectorLabels });

    this.scriptConfigMap = new kplus.ConfigMap(this, 'Script', {
      metadata: { name: `${props.name}-script`, labels: this.labels },
      data: { [props.script.file]: props.script.text },
    });
    const account = workloadServiceAccount(this, props.name, this.labels);
    const env: Record<string, string> = {
      // The server's address, under the names the server's own container uses for its probes.
      MYSQL_HOST: props.host ?? db.host,
      MYSQL_TCP_PORT: String(db.port),
      MARIADB_USER: db.username,
      MARIADB_DATABASE: db.databaseName,
      MARIADB_PASSWORD_FILE: `${MARIADB_SECRETS_DIR}/${db.credentials.passwordKey}`,
      BACKUP_DIR: BACKUP_MOUNT_PATH,
      ...props.env,
    };
    const resources = props.resources ?? DEFAULT_RESOURCES;

    this.template = {
      metadata: { labels: this.labels },
      spec: {
        restartPolicy: props.restartPolicy,
        serviceAccountName: account.name,
        automountServiceAccountToken: false,
        enableServiceLinks: false,
        securityContext: restrictedPodSecurityContext(MARIADB_UID, MARIADB_UID),
        containers: [{
          name: props.component,
          image: db.image,
          imagePullPolicy: 'IfNotPresent',
          command: ['bash', `${SCRIPTS_MOUNT_PATH}/${props.script.file}`],
          env: Object.entries(env).map(([name, value]) => ({ name, value })),
          resources: resourceRequirements(resources),
          securityContext: restrictedContainerSecurityContext(MARIADB_UID, MARIADB_UID),
          volumeMounts: [
            { name: 'backups', mountPath: BACKUP_MOUNT_PATH, readOnly: props.claimReadOnly || undefined },
            { name: 'scripts', mountPath: SCRIPTS_MOUNT_PATH, readOnly: true },
            { name: 'credentials', mountPath: MARIADB_SECRETS_DIR, readOnly: true },
            { name: 'tmp', mountPath: '/tmp' },
          ],
        }],
        volumes: [
          { name: 'backups', persistentVolumeClaim: { claimName: props.claim.claimName, readOnly: props.claimReadOnly || undefined } },
          { name: 'scripts', configMap: { name: this.scriptConfigMap.name, defaultMode: 0o444 } },
          {
            name: 'credentials',
            secret: {
              secretName: db.credentials.secret.name,
              defaultMode: 0o440,
              // Only the application user's password: the root password never leaves the server pod.
              items: [{ key: db.credentials.passwordKey, path: db.credentials.passwordKey }],
            },
          },
          { name: 'tmp', emptyDir: {} },
        ],
      },
    };
  }
}
