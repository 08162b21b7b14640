/** A container as rendered in a manifest (plain JSON), with the fields the security constructs read. */
export interface ContainerManifest {
  readonly name: string;
  readonly resources?: {
    readonly requests?: Readonly<Record<string, string | number>>;
    readonly limits?: Readonly<Record<string, string | number>>;
  };
  readonly env?: ReadonlyArray<{ readonly valueFrom?: { readonly secretKeyRef?: { readonly name?: string } } }>;
  readonly envFrom?: ReadonlyArray<{ readonly secretRef?: { readonly name?: string } }>;
}

/** A pod spec as rendered in a manifest (plain JSON), with the fields the security constructs read. */
export interface PodSpecManifest {
  readonly containers: readonly ContainerManifest[];
  readonly initContainers?: readonly ContainerManifest[];
  readonly volumes?: ReadonlyArray<{
    readonly secret?: { readonly secretName?: string };
    readonly projected?: { readonly sources?: ReadonlyArray<{ readonly secret?: { readonly name?: string } }> };
  }>;
  readonly imagePullSecrets?: ReadonlyArray<{ readonly name?: string }>;
}

/** The pods one workload runs at most at the same time. */
export interface WorkloadPods {
  /** `Kind/name` of the workload, for messages. */
  readonly workload: string;
  /** The pod spec, as rendered. */
  readonly spec: PodSpecManifest;
  /** Most pods of this spec that can be running at once. */
  readonly count: number;
}

// Where each kind that runs pods keeps its pod template (a Pod is its own).
const POD_TEMPLATE_PATHS: Readonly<Record<string, readonly string[]>> = {
  Pod: [],
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  Job: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
};

/** Whether objects of this kind run pods (known before rendering, so callers can skip the rest). */
export function runsPods(kind: string): boolean {
  return kind in POD_TEMPLATE_PATHS;
}

/** The pod template (labels and spec) of a rendered manifest, or undefined for kinds without pods. */
export function podTemplateOf(manifest: any): { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec: PodSpecManifest } | undefined {
  const path = POD_TEMPLATE_PATHS[manifest.kind];
  return path ? path.reduce((o, k) => o?.[k], manifest) : undefined;
}

/** The pod spec of a rendered manifest, or undefined for kinds without pods. */
export function podSpecOf(manifest: any): PodSpecManifest | undefined {
  return podTemplateOf(manifest)?.spec;
}

/**
 * The pods a rendered workload manifest runs at its peak, or undefined for kinds without pods:
 * - Deployment: replicas (or `autoscaledMax`, the maximum of a HorizontalPodAutoscaler scaling it)
 *   plus the rolling update's `maxSurge` (Kubernetes default 25%, rounded up);
 * - StatefulSet: replicas (its rolling update replaces one pod at a time and never surges);
 * - Job: `parallelism` (default 1);
 * - CronJob: one Job at a time, which needs `concurrencyPolicy` Forbid or Replace.
 * Other kinds that run pods throw: their peak depends on the cluster (a DaemonSet runs one per node)
 * or on a controller outside the manifest.
 */
export function workloadPods(manifest: any, autoscaledMax?: number): WorkloadPods | undefined {
  const rendered = podSpecOf(manifest);
  if (!rendered) return undefined;
  const spec = withInjectedSidecar(rendered, podAnnotationsOf(manifest));
  const workload = `${manifest.kind}/${manifest.metadata?.name}`;
  const s = manifest.spec;
  switch (manifest.kind) {
    case 'Deployment': {
      const replicas = autoscaledMax ?? s.replicas ?? 1;
      return { workload, spec, count: replicas + surge(s.strategy, replicas) };
    }
    case 'StatefulSet':
      return { workload, spec, count: s.replicas ?? 1 };
    case 'Job':
      return { workload, spec, count: s.parallelism ?? 1 };
    case 'CronJob': {
      if ((s.concurrencyPolicy ?? 'Allow') === 'Allow') {
        throw new Error(`${workload}: concurrencyPolicy is Allow, so any number of its Jobs may run at once and no quota can hold them; `
          + 'set concurrencyPolicy to Forbid (or Replace)');
      }
      return { workload, spec, count: s.jobTemplate.spec.parallelism ?? 1 };
    }
    default:
      throw new Error(`${workload}: the peak number of pods of a ${manifest.kind} cannot be read from its manifest; `
        + 'run them from a Deployment, StatefulSet, Job or CronJob');
  }
}

function surge(strategy: any, replicas: number): number {
  if (strategy?.type === 'Recreate') return 0;
  const maxSurge: number | string = strategy?.rollingUpdate?.maxSurge ?? '25%';
  if (typeof maxSurge === 'number') return maxSurge;
  // A percentage is rounded up, as the Deployment controller does.
  return Math.ceil((replicas * Number(maxSurge.replace(/%$/, ''))) / 100);
}

/** Pod template annotations of a rendered workload manifest. */
function podAnnotationsOf(manifest: any): Record<string, string> {
  return podTemplateOf(manifest)?.metadata?.annotations ?? {};
}

/**
 * Istio's injector reads the sidecar's resources from these pod annotations; a pod that sets them
 * gets an `istio-proxy` container of that size, which a quota must count like any other.
 */
export const ISTIO_PROXY_RESOURCES = {
  cpu: 'sidecar.istio.io/proxyCPU',
  cpuLimit: 'sidecar.istio.io/proxyCPULimit',
  memory: 'sidecar.istio.io/proxyMemory',
  memoryLimit: 'sidecar.istio.io/proxyMemoryLimit',
} as const;

/** The pod spec as it runs: with the sidecar a webhook injects when its annotations size it. */
function withInjectedSidecar(spec: PodSpecManifest, annotations: Record<string, string>): PodSpecManifest {
  const a = ISTIO_PROXY_RESOURCES;
  if (annotations[a.cpu] === undefined) return spec;
  const proxy: ContainerManifest = {
    name: 'istio-proxy',
    resources: {
      requests: { cpu: annotations[a.cpu], memory: annotations[a.memory] },
      limits: { cpu: annotations[a.cpuLimit], memory: annotations[a.memoryLimit] },
    },
  };
  return { ...spec, containers: [...spec.containers, proxy] };
}
