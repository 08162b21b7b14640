import { Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { ComponentIdentity, objectLabels, selectorLabels } from '../k8s/labels';
import {
  ResourceSpec, resourceRequirements, restrictedContainerSecurityContext, restrictedPodSecurityContext, workloadServiceAccount,
} from '../k8s/pod-spec';
import { cronProblem } from '../k8s/schedule';
import { WORDPRESS_UID, WordPressApp } from './wordpress-app';

/** Props of `WordPressCron`. */
export interface WordPressCronProps {
  /** The WordPress whose `wp-cron.php` is called; its page-view pseudo-cron is switched off. */
  readonly wordpress: WordPressApp;
  /**
   * Name of the CronJob and its ServiceAccount.
   * @default '<wordpress name>-cron'
   */
  readonly name?: string;
  /**
   * Cron schedule (5 fields or a shorthand such as `@hourly`), in the cluster's time zone.
   * @default every 5 minutes
   */
  readonly schedule?: string;
  /**
   * CPU and memory of the curl container.
   * @default 50m CPU (limit 500m), 64Mi memory
   */
  readonly resources?: ResourceSpec;
  /**
   * How long one call may take; curl gives up after it and the Job is stopped shortly after.
   * @default 4 minutes, below the default interval
   */
  readonly timeout?: Duration;
}

/**
 * WP-Cron as a Kubernetes CronJob. WordPress normally runs due events during page views, so with
 * several replicas they run once per replica that gets a visit, and on a quiet night not at all.
 * This turns that off (`DISABLE_WP_CRON` through the image's `WORDPRESS_CONFIG_EXTRA`) and calls
 * `wp-cron.php` through the WordPress Service on a schedule instead, one call at a time, from a
 * pod of the WordPress image (which ships curl) under the "restricted" profile.
 */
export class WordPressCron extends Construct {
  /** The CronJob object. */
  public readonly cronJob: k8s.KubeCronJob;
  /** Name of the CronJob (and of the client recorded on the WordPress). */
  public readonly name: string;
  /** Labels that select the cron pods; the WordPress admits exactly these. */
  public readonly selectorLabels: Record<string, string>;

  constructor(scope: Construct, id: string, props: WordPressCronProps) {
    super(scope, id);
    const wp = props.wordpress;
    this.name = props.name ?? `${wp.name}-cron`;
    const schedule = props.schedule ?? '*/5 * * * *';
    const problem = cronProblem(schedule);
    if (problem) throw new Error(`WordPressCron: schedule "${schedule}" ${problem}`);
    const timeout = props.timeout ?? Duration.minutes(4);
    const timeoutMs = timeout.toMilliseconds();
    if (timeoutMs < 1000 || timeoutMs % 1000 !== 0) {
      throw new Error(`WordPressCron: timeout is ${timeoutMs / 1000}s; use a whole number of seconds, at least 1`);
    }
    const resources = props.resources ?? { cpu: kplus.Cpu.millis(50), cpuLimit: kplus.Cpu.millis(500), memory: Size.mebibytes(64) };

    // Not app.kubernetes.io/name "wordpress": a Service that selects WordPress by name and instance
    // only (both tracks behind an Istio split) must not send visitors to these pods.
    const identity: ComponentIdentity = { name: 'wordpress-cron', instance: wp.identity.instance, component: 'cron' };
    const labels = objectLabels(identity);
    this.selectorLabels = selectorLabels(identity);
    wp.disableBuiltInCron();
    wp.addClient({ name: this.name, selectorLabels: this.selectorLabels });
    const account = workloadServiceAccount(this, this.name, labels);

    this.cronJob = new k8s.KubeCronJob(this, 'Resource', {
      metadata: { name: this.name, labels },
      spec: {
        schedule,
        // WordPress runs each due event once per call; overlapping calls would only compete.
        concurrencyPolicy: 'Forbid',
        // A missed run is not worth catching up: the next one is minutes away.
        startingDeadlineSeconds: 120,
        successfulJobsHistoryLimit: 1,
        failedJobsHistoryLimit: 3,
        jobTemplate: {
          metadata: { labels },
          spec: {
            backoffLimit: 0,
            activeDeadlineSeconds: timeout.toSeconds() + 30,
            template: {
              metadata: { labels },
              spec: {
                restartPolicy: 'Never',
                serviceAccountName: account.name,
                automountServiceAccountToken: false,
                enableServiceLinks: false,
                securityContext: restrictedPodSecurityContext(WORDPRESS_UID, WORDPRESS_UID),
                containers: [{
                  name: 'wp-cron',
                  image: wp.image,
                  imagePullPolicy: 'IfNotPresent',
                  // --fail: an HTTP error (a broken site, a 5xx) fails the Job, so it shows up.
                  command: ['sh', '-c', 'exec curl --fail --silent --show-error --max-time "$TIMEOUT_SECONDS" --output /dev/null "$WP_CRON_URL"'],
                  env: [
                    { name: 'WP_CRON_URL', value: `http://${wp.host}:${wp.servicePort}/wp-cron.php?doing_wp_cron` },
                    { name: 'TIMEOUT_SECONDS', value: String(timeout.toSeconds()) },
                  ],
                  resources: resourceRequirements(resources),
                  securityContext: restrictedContainerSecurityContext(WORDPRESS_UID, WORDPRESS_UID),
                }],
              },
            },
          },
        },
      },
    });
  }
}
