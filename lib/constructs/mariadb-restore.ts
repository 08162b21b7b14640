import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { DatabaseToolPod } from './database-tool-pod';
import { RESTORE_SCRIPT, dumpFileProblem, parseDumpFileName } from './mariadb-backup-scripts';
import { MariaDbStatefulSet } from './mariadb-statefulset';
import { ResourceSpec } from '../k8s/pod-spec';
import { StorageClaim } from './storage-claims';

/** Props of `MariaDbRestore`. */
export interface MariaDbRestoreProps {
  /** The database to load the dump into. */
  readonly database: MariaDbStatefulSet;
  /** The claim the dumps are on (the one `MariaDbBackup` writes to); mounted read-only. */
  readonly claim: StorageClaim;
  /**
   * File name of the dump on the claim, as `MariaDbBackup` writes it:
   * `<database>-<yyyymmddThhmmssZ>.sql.gz`, e.g. `wordpress-20250131T031700Z.sql.gz`.
   */
  readonly file: string;
  /**
   * Base name of the Job (the dump's time is appended), its ServiceAccount and (with `-script`) its ConfigMap.
   * @default `<database name>-restore`
   */
  readonly name?: string;
  /**
   * CPU and memory of the restore container.
   * @default 250m CPU (limit 1), 512Mi memory
   */
  readonly resources?: ResourceSpec;
}

/**
 * A Job that loads one dump written by `MariaDbBackup` into the database: every table in the dump
 * is dropped and recreated from it. Render it only while a restore is wanted; the Job runs once,
 * whenever it is applied.
 */
export class MariaDbRestore extends Construct {
  /** Name of the Job: `<name>-<time of the dump>`, so restoring another dump creates a new Job. */
  public readonly jobName: string;
  /** The Job object. */
  public readonly job: k8s.KubeJob;

  constructor(scope: Construct, id: string, props: MariaDbRestoreProps) {
    super(scope, id);
    const problem = dumpFileProblem(props.file, props.database.databaseName);
    if (problem) throw new Error(`MariaDbRestore: file "${props.file}" ${problem}`);
    const name = props.name ?? `${props.database.name}-restore`;
    // A Job's pod template cannot be changed once applied: a new dump needs a new Job name.
    this.jobName = `${name}-${parseDumpFileName(props.file)!.stamp.toLowerCase()}`;

    const tool = new DatabaseToolPod(this, 'Pod', {
      name,
      component: 'restore',
      database: props.database,
      claim: props.claim,
      claimReadOnly: true,
      script: { file: 'restore.sh', text: RESTORE_SCRIPT },
      env: { RESTORE_FILE: props.file },
      resources: props.resources,
      // Failed pods stay for their logs; a retry reloads the whole dump, which is safe.
      restartPolicy: 'Never',
    });

    this.job = new k8s.KubeJob(this, 'Resource', {
      metadata: { name: this.jobName, labels: tool.labels },
      // No ttlSecondsAfterFinished: a GitOps tool would recreate the deleted Job and restore again.
      spec: { backoffLimit: 2, template: tool.template },
    });
  }
}
