import { Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { DatabaseToolPod } from './database-tool-pod';
import { BACKUP_SCRIPT } from './mariadb-backup-scripts';
import { MariaDbStatefulSet } from './mariadb-statefulset';
import { ResourceSpec } from '../k8s/pod-spec';
import { cronProblem, timeZoneProblem } from '../k8s/schedule';
import { StorageClaim } from './storage-claims';

/** Name of the claim the dumps are written to, in a `WordPressChart`. */
export const BACKUP_CLAIM = 'mariadb-backups';

/** Which dumps to keep. A dump is deleted only when no rule keeps it. */
export interface BackupRetention {
  /**
   * Keep the newest `count` dumps, however old they are.
   * @default no count rule
   */
  readonly count?: number;
  /**
   * Keep every dump taken in the last `days` days (by the UTC time in its name).
   * @default no age rule
   */
  readonly days?: number;
}

/** Props of `MariaDbBackup`. */
export interface MariaDbBackupProps {
  /** The database to dump, with the client tools of its image. */
  readonly database: MariaDbStatefulSet;
  /** The claim dumps are written to (mounted at `BACKUP_MOUNT_PATH`); it must be writable. */
  readonly claim: StorageClaim;
  /**
   * Name of the CronJob, its ServiceAccount and (with `-script`) its ConfigMap.
   * @default `<database name>-backup`
   */
  readonly name?: string;
  /**
   * Cron schedule: five fields (minute hour day-of-month month day-of-week) or a shorthand such as `@daily`.
   * @default '17 3 * * *' (03:17 every day, away from the full hour when other jobs start)
   */
  readonly schedule?: string;
  /**
   * IANA time zone the schedule is read in, e.g. `Europe/Berlin`.
   * @default the time zone of kube-controller-manager (UTC on most clusters)
   */
  readonly timeZone?: string;
  /**
   * Which dumps to keep; give `count`, `days` or both.
   * @default { count: 7, days: 30 }: a month of dumps, and never fewer than the last 7
   */
  readonly retention?: BackupRetention;
  /**
   * How late a run may still start (after a controller outage, say) before it is skipped.
   * @default 1 hour
   */
  readonly startingDeadline?: Duration;
  /**
   * How long one run may take before it is stopped. A hung run would otherwise block every later
   * one (`concurrencyPolicy: Forbid`).
   * @default 2 hours
   */
  readonly timeout?: Duration;
  /**
   * CPU and memory of the dump container.
   * @default 250m CPU (limit 1), 512Mi memory
   */
  readonly resources?: ResourceSpec;
}

/**
 * A nightly logical backup of a `MariaDbStatefulSet`: a CronJob runs `mariadb-dump` from the
 * server's own image, writes a gzipped dump to its own claim under a temporary name, renames it only
 * when it is complete and not empty, then deletes dumps that retention no longer keeps.
 */
export class MariaDbBackup extends Construct {
  /** Name of the CronJob. */
  public readonly name: string;
  /** Labels that select the backup pods. */
  public readonly selectorLabels: Record<string, string>;
  /** The CronJob object. */
  public readonly cronJob: k8s.KubeCronJob;
  /** The ConfigMap holding the backup script. */
  public readonly scriptConfigMap: kplus.ConfigMap;

  constructor(scope: Construct, id: string, props: MariaDbBackupProps) {
    super(scope, id);
    this.name = props.name ?? `${props.database.name}-backup`;
    const schedule = props.schedule ?? '17 3 * * *';
    const scheduleProblem = cronProblem(schedule);
    if (scheduleProblem) throw new Error(`MariaDbBackup: schedule "${schedule}" ${scheduleProblem}`);
    const zoneProblem = props.timeZone === undefined ? undefined : timeZoneProblem(props.timeZone);
    if (zoneProblem) throw new Error(`MariaDbBackup: timeZone "${props.timeZone}" ${zoneProblem}`);
    const retention = props.retention ?? { count: 7, days: 30 };
    for (const field of ['count', 'days'] as const) {
      const n = retention[field];
      if (n !== undefined && (!Number.isInteger(n) || n < 1)) {
        throw new Error(`MariaDbBackup: retention.${field} is ${n}; use a whole number of at least 1, or leave it out`);
      }
    }
    if (retention.count === undefined && retention.days === undefined) {
      throw new Error('MariaDbBackup: retention has neither count nor days; give at least one, e.g. { count: 7 }');
    }
    const startingDeadline = props.startingDeadline ?? Duration.hours(1);
    // The controller looks for due schedules every 10 seconds; a shorter deadline can miss every run.
    if (startingDeadline.toSeconds() < 10) {
      throw new Error(`MariaDbBackup: startingDeadline is ${startingDeadline.toSeconds()}s; use at least 10 seconds`);
    }
    const timeout = props.timeout ?? Duration.hours(2);
    if (timeout.toSeconds() < 1) throw new Error(`MariaDbBackup: timeout is ${timeout.toSeconds()}s; use at least 1 second`);

    // A claim that only mounts read-only could never take a dump.
    if (props.claim.accessModes.every(m => m === kplus.PersistentVolumeAccessMode.READ_ONLY_MANY)) {
      throw new Error(`MariaDbBackup: claim "${props.claim.claimName}" is ReadOnlyMany only; give it a writable access mode such as ReadWriteOnce`);
    }

    const tool = new DatabaseToolPod(this, 'Pod', {
      name: this.name,
      component: 'backup',
      database: props.database,
      // A dump only reads: from a replica when there is one (`readHost`), so the primary is spared.
      host: props.database.readHost,
      claim: props.claim,
      claimReadOnly: false,
      script: { file: 'backup.sh', text: BACKUP_SCRIPT },
      env: {
        RETENTION_COUNT: String(retention.count ?? 0),
        RETENTION_DAYS: String(retention.days ?? 0),
      },
      resources: props.resources,
      restartPolicy: 'OnFailure',
    });
    this.selectorLabels = tool.selectorLabels;
    this.scriptConfigMap = tool.scriptConfigMap;

    this.cronJob = new k8s.KubeCronJob(this, 'Resource', {
      metadata: { name: this.name, labels: tool.labels },
      spec: {
        schedule,
        timeZone: props.timeZone,
        // Two dumps at once would only slow the database down and race on retention.
        concurrencyPolicy: 'Forbid',
        startingDeadlineSeconds: startingDeadline.toSeconds(),
        successfulJobsHistoryLimit: 3,
        failedJobsHistoryLimit: 3,
        jobTemplate: {
          metadata: { labels: tool.labels },
          spec: { backoffLimit: 2, activeDeadlineSeconds: timeout.toSeconds(), template: tool.template },
        },
      },
    });
  }
}
