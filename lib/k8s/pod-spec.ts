import { createHash } from 'crypto';
import { Duration, Size, SizeRoundingBehavior } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';

/**
 * CPU and memory of one container. Memory has a single value because the limit always equals the
 * request: a pod that uses more than it was promised is OOM-killed instead of starving its node.
 */
export interface ResourceSpec {
  /** CPU reserved for the container by the scheduler. */
  readonly cpu: kplus.Cpu;
  /** CPU ceiling; bursts above the request are throttled here. */
  readonly cpuLimit: kplus.Cpu;
  /** Memory request and limit (they are always equal). */
  readonly memory: Size;
}

/** What a container of this library gets when its props give no resources: 250m CPU (limit 1), 512Mi. */
export const DEFAULT_RESOURCES: ResourceSpec = { cpu: kplus.Cpu.millis(250), cpuLimit: kplus.Cpu.units(1), memory: Size.mebibytes(512) };

/** Timings of one probe. Unset fields keep the workload's documented default. */
export interface ProbeTimings {
  /** Delay before the first check. @default the workload's default */
  readonly initialDelay?: Duration;
  /** Time between checks. @default the workload's default */
  readonly period?: Duration;
  /** Time one check may take before it counts as failed. @default the workload's default */
  readonly timeout?: Duration;
  /** Consecutive failures before the probe gives up. @default the workload's default */
  readonly failureThreshold?: number;
}

/** Startup, liveness and readiness timings of a workload. */
export interface ProbeSettings {
  /** Startup probe: until it passes, the other probes wait. @default the workload's default startup timings */
  readonly startup?: ProbeTimings;
  /** Liveness probe: failing restarts the container. @default the workload's default liveness timings */
  readonly liveness?: ProbeTimings;
  /** Readiness probe: failing takes the pod out of its Services. @default the workload's default readiness timings */
  readonly readiness?: ProbeTimings;
}

/** Fully resolved probe timings (every field set). */
export type ResolvedTimings = Required<ProbeTimings>;

/** Anything whose pods can be placed with affinity rules (see `AntiAffinity`). */
export interface IAffinityTarget {
  /** Labels that select exactly this workload's pods. */
  readonly selectorLabels: Record<string, string>;
  /** Merge affinity terms into the pod template. */
  addAffinity(affinity: k8s.Affinity): void;
}

/** Memory in MiB, the unit every container quantity is rendered in so diffs stay readable. */
export function memoryQuantity(size: Size): k8s.Quantity {
  return k8s.Quantity.fromString(`${size.toMebibytes({ rounding: SizeRoundingBehavior.FLOOR })}Mi`);
}

/** Storage rendered in Gi when whole, otherwise Mi. */
export function storageQuantity(size: Size): k8s.Quantity {
  const gib = size.toGibibytes({ rounding: SizeRoundingBehavior.NONE });
  return Number.isInteger(gib) ? k8s.Quantity.fromString(`${gib}Gi`) : memoryQuantity(size);
}

export function resourceRequirements(spec: ResourceSpec): k8s.ResourceRequirements {
  const memory = memoryQuantity(spec.memory);
  return {
    requests: { cpu: k8s.Quantity.fromString(spec.cpu.amount), memory },
    limits: { cpu: k8s.Quantity.fromString(spec.cpuLimit.amount), memory },
  };
}

export function resolveTimings(defaults: ResolvedTimings, given?: ProbeTimings): ResolvedTimings {
  return { ...defaults, ...stripUndefined(given ?? {}) };
}

/** A probe from a handler and timings. */
export function probe(handler: Pick<k8s.Probe, 'exec' | 'httpGet' | 'tcpSocket'>, t: ResolvedTimings): k8s.Probe {
  return {
    ...handler,
    initialDelaySeconds: t.initialDelay.toSeconds(),
    periodSeconds: t.period.toSeconds(),
    timeoutSeconds: t.timeout.toSeconds(),
    failureThreshold: t.failureThreshold,
  };
}

/** Resources of a metrics exporter sidecar: a small Go binary that answers one scrape at a time. */
export const EXPORTER_RESOURCES: ResourceSpec = { cpu: kplus.Cpu.millis(50), cpuLimit: kplus.Cpu.millis(250), memory: Size.mebibytes(64) };

/** Name of the container port (and Service port) every exporter sidecar serves /metrics on. */
export const METRICS_PORT_NAME = 'metrics';

/**
 * Probes of an exporter sidecar on its `metrics` port. Only the exporter itself is probed, never
 * through to the server it reads: it keeps answering (`mysql_up 0`, `apache_up 0`) while that
 * server is down, which is what the Down alerts need, and a restart would not help the server.
 */
export function exporterProbes(timings: { startup: ResolvedTimings; liveness: ResolvedTimings; readiness: ResolvedTimings }):
  Pick<k8s.Container, 'startupProbe' | 'livenessProbe' | 'readinessProbe'> {
  const port = k8s.IntOrString.fromString(METRICS_PORT_NAME);
  return {
    startupProbe: probe({ tcpSocket: { port } }, timings.startup),
    livenessProbe: probe({ tcpSocket: { port } }, timings.liveness),
    // The landing page: it answers without scraping the server behind the exporter.
    readinessProbe: probe({ httpGet: { path: '/', port } }, timings.readiness),
  };
}

/**
 * Pod-level security settings that satisfy Pod Security Standards "restricted": non-root, a fixed
 * UID/GID, RuntimeDefault seccomp, and fsGroup so volumes are writable by that UID.
 */
export function restrictedPodSecurityContext(uid: number, gid: number, sysctls?: k8s.Sysctl[]): k8s.PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: gid,
    fsGroup: gid,
    fsGroupChangePolicy: 'OnRootMismatch',
    seccompProfile: { type: 'RuntimeDefault' },
    sysctls,
  };
}

/** Container-level settings required by "restricted", with a read-only root filesystem. */
export function restrictedContainerSecurityContext(uid: number, gid: number): k8s.SecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: gid,
    allowPrivilegeEscalation: false,
    privileged: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** SHA-256 of a value's canonical JSON: pod template annotations that roll pods when config changes. */
export function checksum(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.keys(value).sort().map(k => `${JSON.stringify(k)}:${canonicalJson((value as any)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Render an ini-style section (`my.cnf`, `php.ini`) with keys sorted, so output is stable. */
export function iniLines(entries: Record<string, string>): string {
  return Object.keys(entries).sort().map(k => `${k} = ${entries[k]}`).join('\n') + '\n';
}

/**
 * One ServiceAccount per workload, token automount off: pods get an identity for RBAC and
 * NetworkPolicy audits without an API token they never use.
 */
export function workloadServiceAccount(scope: Construct, name: string, labels: Record<string, string>): kplus.ServiceAccount {
  return new kplus.ServiceAccount(scope, 'ServiceAccount', { metadata: { name, labels }, automountToken: false });
}

/**
 * Why an image reference is not pinned, or undefined when it is: no tag, or `latest`, would change
 * what runs without a change in the manifests.
 */
export function imagePinProblem(image: string): string | undefined {
  const lastSegment = image.split('@')[0].split('/').pop() ?? '';
  const tag = lastSegment.includes(':') ? lastSegment.split(':').pop() : undefined;
  if (!tag) return `has no tag; pin a version, e.g. "${lastSegment}:<version>"`;
  if (tag === 'latest') return `uses "latest"; pin a version, e.g. "${lastSegment.split(':')[0]}:<version>"`;
  return undefined;
}

/** Throw when an image is not pinned (see `imagePinProblem`). */
export function checkImage(owner: string, field: string, image: string): void {
  const problem = imagePinProblem(image);
  if (problem) throw new Error(`${owner}: ${field} "${image}" ${problem}`);
}

/** Fields a platform that assigns UIDs (OpenShift's restricted SCC) rejects when they are outside its range. */
const FIXED_ID_FIELDS = ['runAsUser', 'runAsGroup'] as const;

/**
 * The pod spec without fixed runAsUser, runAsGroup and fsGroup (pod and containers), for platforms
 * that assign them from the namespace's range: runAsNonRoot, seccomp, dropped capabilities and the
 * read-only root stay. Returns a copy.
 */
export function withoutFixedIds(spec: any): any {
  const out = { ...spec };
  if (out.securityContext) {
    const { runAsUser: _u, runAsGroup: _g, fsGroup: _f, ...rest } = out.securityContext;
    out.securityContext = rest;
  }
  for (const key of ['initContainers', 'containers'] as const) {
    if (!out[key]) continue;
    out[key] = out[key].map((c: any) => {
      if (!c.securityContext) return c;
      const sc = { ...c.securityContext };
      for (const f of FIXED_ID_FIELDS) delete sc[f];
      return { ...c, securityContext: sc };
    });
  }
  return out;
}
