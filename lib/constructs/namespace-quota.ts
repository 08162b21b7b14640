import { ApiObject, Chart, Lazy } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { objectLabels, siteInstance } from '../k8s/labels';
import { ContainerManifest, WorkloadPods, runsPods, workloadPods } from '../k8s/workload-pods';

/** The quota keys computed from the chart, as named in a ResourceQuota. */
export const QUOTA_RESOURCES = ['requests.cpu', 'requests.memory', 'limits.cpu', 'limits.memory'] as const;
export type QuotaResource = typeof QUOTA_RESOURCES[number];

/** CPU in millicores, memory in bytes, per quota key. */
export type ResourceAmounts = Record<QuotaResource, bigint>;

/** What a chart's pods need at their peak, and its smallest and largest container. */
export interface PeakUsage {
  /** Sum over every pod that can run at the same time. */
  readonly total: ResourceAmounts;
  /** Number of those pods. */
  readonly pods: number;
  /** Per key, the smallest value of any container. */
  readonly smallestContainer: ResourceAmounts;
  /** Per key, the largest value of any container. */
  readonly largestContainer: ResourceAmounts;
}

/** Props of `NamespaceQuota`. */
export interface NamespaceQuotaProps {
  /**
   * Room on top of what the chart's pods need at their peak, in percent (a whole number, 0 to 1000):
   * for a debug pod, a manual Job, or pods still terminating during a rollout.
   * @default 20
   */
  readonly headroomPercent?: number;
  /**
   * Name of the ResourceQuota and of the LimitRange.
   * @default 'compute-resources'
   */
  readonly name?: string;
  /**
   * Site name for the `app.kubernetes.io/instance` label.
   * @default the id of the enclosing chart
   */
  readonly instance?: string;
}

/**
 * A ResourceQuota and a LimitRange for the chart's namespace, computed at synth from every workload
 * in the chart (including those added after this construct), so the chart always fits its own quota:
 *
 * - quota = the pods' peak (see `workloadPods`: replicas, a rolling update's surge, one running Job
 *   per CronJob) plus `headroomPercent`, for CPU and memory requests and limits and the pod count;
 *   a pod counts max(sum of its containers, largest init container), as the scheduler does;
 * - LimitRange per container: `max` = the largest container of the chart; `default` and
 *   `defaultRequest` = the smallest, for pods from elsewhere that set none (the quota would
 *   otherwise reject them).
 */
export class NamespaceQuota extends Construct {
  /** Headroom over the computed peak, in percent. */
  public readonly headroomPercent: number;
  /** The ResourceQuota object. */
  public readonly resourceQuota: k8s.KubeResourceQuota;
  /** The LimitRange object. */
  public readonly limitRange: k8s.KubeLimitRange;

  constructor(scope: Construct, id: string, props: NamespaceQuotaProps = {}) {
    super(scope, id);
    this.headroomPercent = props.headroomPercent ?? 20;
    if (!Number.isInteger(this.headroomPercent) || this.headroomPercent < 0 || this.headroomPercent > 1000) {
      throw new Error(`NamespaceQuota: headroomPercent is ${this.headroomPercent}; use a whole number from 0 to 1000, e.g. 20`);
    }
    const name = props.name ?? 'compute-resources';
    const chart = Chart.of(this);
    const labels = objectLabels({ name: 'wordpress', instance: siteInstance(this, props.instance), component: 'quota' });
    const grow = (amount: bigint) => ceilDiv(amount * BigInt(100 + this.headroomPercent), 100n);
    // Both objects read the same peak: computed once for the same manifests (each render of the
    // chart renders each object once, see renderingEachObjectOnce), again when they differ.
    let last: { readonly manifests: readonly object[]; readonly peak: PeakUsage } | undefined;
    const peakNow = (): PeakUsage => {
      const manifests = usageManifests(chart);
      if (!last || last.manifests.length !== manifests.length || last.manifests.some((m, i) => m !== manifests[i])) {
        last = { manifests, peak: peakUsage(chart, manifests) };
      }
      return last.peak;
    };

    this.resourceQuota = new k8s.KubeResourceQuota(this, 'ResourceQuota', {
      metadata: { name, labels },
      spec: Lazy.any({
        produce: (): k8s.ResourceQuotaSpec => {
          const peak = peakNow();
          return {
            hard: {
              ...quantities(peak.total, grow),
              pods: k8s.Quantity.fromNumber(Number(grow(BigInt(peak.pods)))),
            },
          };
        },
      }),
    });

    this.limitRange = new k8s.KubeLimitRange(this, 'LimitRange', {
      metadata: { name, labels },
      spec: Lazy.any({
        produce: (): k8s.LimitRangeSpec => {
          const peak = peakNow();
          const pick = (amounts: ResourceAmounts, kind: 'requests' | 'limits') => ({
            cpu: quantity('cpu', amounts[`${kind}.cpu`]),
            memory: quantity('memory', amounts[`${kind}.memory`]),
          });
          return {
            limits: [{
              type: 'Container',
              max: pick(peak.largestContainer, 'limits'),
              default: pick(peak.smallestContainer, 'limits'),
              defaultRequest: pick(peak.smallestContainer, 'requests'),
            }],
          };
        },
      }),
    });
  }
}

/**
 * The manifests the peak is read from: the chart's autoscalers, then its workloads. Only kinds
 * that run pods (and autoscalers) are rendered here: rendering this construct's own objects would recurse.
 */
function usageManifests(chart: Chart): any[] {
  const objects = chart.node.findAll().filter((c): c is ApiObject => ApiObject.isApiObject(c));
  return [...objects.filter(o => o.kind === 'HorizontalPodAutoscaler'), ...objects.filter(o => runsPods(o.kind))].map(o => o.toJson());
}

/** The peak CPU, memory and pod count of every workload in a chart, read from its rendered manifests (`usageManifests`). */
function peakUsage(chart: Chart, manifests: readonly any[]): PeakUsage {
  const autoscaledMax = new Map<string, number>(manifests.filter(m => m.kind === 'HorizontalPodAutoscaler').map(m => {
    const spec = m.spec;
    return [`${spec.scaleTargetRef.kind}/${spec.scaleTargetRef.name}`, spec.maxReplicas];
  }));
  const workloads = manifests.filter(m => runsPods(m.kind)).map(m => workloadPods(m, autoscaledMax.get(`${m.kind}/${m.metadata.name}`))!);
  if (workloads.length === 0) {
    throw new Error(`NamespaceQuota: chart "${chart.node.id}" runs no pods, so a quota would block every pod; add workloads or remove the quota`);
  }
  const containers = workloads.flatMap(w => [...w.spec.initContainers ?? [], ...w.spec.containers].map(c => containerAmounts(c, w)));
  return {
    total: combine(workloads.map(w => scale(podAmounts(w), w.count)), (a, b) => a + b),
    pods: workloads.reduce((n, w) => n + w.count, 0),
    smallestContainer: combine(containers, (a, b) => (a < b ? a : b)),
    largestContainer: combine(containers, (a, b) => (a > b ? a : b)),
  };
}

/** One pod: its containers run together, init containers one after the other before them. */
function podAmounts(w: WorkloadPods): ResourceAmounts {
  const together = combine(w.spec.containers.map(c => containerAmounts(c, w)), (a, b) => a + b);
  const init = (w.spec.initContainers ?? []).map(c => containerAmounts(c, w));
  return combine([together, ...init], (a, b) => (a > b ? a : b));
}

function containerAmounts(c: ContainerManifest, w: WorkloadPods): ResourceAmounts {
  const entries = QUOTA_RESOURCES.map(key => {
    const [kind, resource] = key.split('.') as ['requests' | 'limits', 'cpu' | 'memory'];
    const value = c.resources?.[kind]?.[resource];
    if (value === undefined) {
      throw new Error(`NamespaceQuota: container "${c.name}" of ${w.workload} sets no resources.${key}; `
        + 'set CPU and memory requests and limits on every container, or the quota cannot be computed (and would reject the pod)');
    }
    return [key, quantityAmount(value, resource === 'cpu' ? -3 : 0)];
  });
  return Object.fromEntries(entries) as ResourceAmounts;
}

function combine(list: ResourceAmounts[], op: (a: bigint, b: bigint) => bigint): ResourceAmounts {
  return Object.fromEntries(QUOTA_RESOURCES.map(k => [k, list.map(a => a[k]).reduce(op)])) as ResourceAmounts;
}

function scale(amounts: ResourceAmounts, factor: number): ResourceAmounts {
  return Object.fromEntries(QUOTA_RESOURCES.map(k => [k, amounts[k] * BigInt(factor)])) as ResourceAmounts;
}

function quantities(amounts: ResourceAmounts, transform: (a: bigint) => bigint): Record<string, k8s.Quantity> {
  return Object.fromEntries(QUOTA_RESOURCES.map(k => [k, quantity(k.endsWith('cpu') ? 'cpu' : 'memory', transform(amounts[k]))]));
}

/** CPU as millicores, memory as MiB rounded up: the units every container quantity is rendered in. */
function quantity(resource: 'cpu' | 'memory', amount: bigint): k8s.Quantity {
  return k8s.Quantity.fromString(resource === 'cpu' ? `${amount}m` : `${ceilDiv(amount, 1n << 20n)}Mi`);
}

function ceilDiv(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b;
}

// [power of ten, power of two] of each suffix of the Kubernetes quantity format.
const SUFFIXES: Readonly<Record<string, readonly [number, number]>> = {
  '': [0, 0], 'n': [-9, 0], 'u': [-6, 0], 'm': [-3, 0], 'k': [3, 0], 'M': [6, 0], 'G': [9, 0], 'T': [12, 0], 'P': [15, 0], 'E': [18, 0],
  'Ki': [0, 10], 'Mi': [0, 20], 'Gi': [0, 30], 'Ti': [0, 40], 'Pi': [0, 50], 'Ei': [0, 60],
};
const QUANTITY = /^([0-9]+)(?:\.([0-9]+))?(?:[eE]([+-]?[0-9]+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E))?$/;

/**
 * A Kubernetes quantity ("250m", "1.5", "512Mi", "1G", "1e3") in units of 10^`exponent`, rounded
 * up, exactly (no floating point): `quantityAmount('250m', -3)` is 250n (millicores).
 */
export function quantityAmount(value: string | number, exponent: number): bigint {
  const text = String(value);
  const m = QUANTITY.exec(text);
  if (!m) throw new Error(`"${text}" is not a Kubernetes quantity such as "250m", "1.5" or "512Mi"`);
  const [, whole, fraction = '', e, suffix = ''] = m;
  const [ten, two] = e !== undefined ? [Number(e), 0] : SUFFIXES[suffix];
  const digits = BigInt(whole + fraction) << BigInt(two);
  const power = ten - fraction.length - exponent;
  return power >= 0 ? digits * 10n ** BigInt(power) : ceilDiv(digits, 10n ** BigInt(-power));
}
