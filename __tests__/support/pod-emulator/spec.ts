// Pod emulator, part 1: what a pod template asks for, read from rendered objects only.
//
// `resolvePod()` turns one workload (Deployment, StatefulSet, Job, CronJob, or a bare Pod) into a
// plan: per container the argv (image ENTRYPOINT/CMD from the image catalogue, overridden by
// command/args as Kubernetes does), the environment, the credentials and capabilities the runtime
// would give the process, the mounts, ports and probes; per pod the volumes, fsGroup and sysctls.
// Every field the emulator does not act on is named in `notEmulated`, so a test can print it.
// Nothing here knows about any particular chart.

import { podTemplate } from '../fixtures';
import { ImageInfo, imageInfo } from './catalogue';

/** Capabilities a container runtime (containerd / CRI-O defaults) grants when nothing is dropped. */
export const RUNTIME_DEFAULT_CAPABILITIES = [
  'CHOWN', 'DAC_OVERRIDE', 'FSETID', 'FOWNER', 'MKNOD', 'NET_RAW', 'SETGID', 'SETUID', 'SETFCAP',
  'SETPCAP', 'NET_BIND_SERVICE', 'SYS_CHROOT', 'KILL', 'AUDIT_WRITE',
];

/** Sysctls Kubernetes considers namespaced and safe, i.e. settable per pod (net.* only here). */
const NAMESPACED_SYSCTL = /^net\./;

export interface MountPlan {
  readonly volume: string;
  readonly mountPath: string;
  readonly subPath?: string;
  readonly readOnly: boolean;
}

export interface ProbeSpec {
  readonly kind: 'startup' | 'readiness' | 'liveness';
  readonly probe: any;
}

export interface ContainerPlan {
  readonly name: string;
  readonly image: string;
  readonly imageInfo: ImageInfo;
  readonly init: boolean;
  /** argv as the runtime executes it (argv[0] resolved through PATH inside the container). */
  readonly argv: string[];
  /** The process environment: image ENV, then the container's env (later wins). */
  readonly env: Record<string, string>;
  readonly workingDir: string;
  readonly uid: number;
  readonly gid: number;
  /** Supplementary groups: fsGroup and supplementalGroups, as the kubelet passes them. */
  readonly groups: number[];
  /** Bounding set after drop/add (names without CAP_). */
  readonly capabilities: string[];
  readonly noNewPrivileges: boolean;
  readonly readOnlyRootFilesystem: boolean;
  readonly mounts: MountPlan[];
  readonly ports: Array<{ name?: string; containerPort: number; protocol: string }>;
  readonly probes: ProbeSpec[];
  readonly stopSignal: string;
}

export interface VolumePlan {
  readonly name: string;
  readonly source: any;
}

export interface PodPlan {
  /** `<kind>/<name>` of the workload. */
  readonly workload: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace: string;
  readonly labels: Record<string, string>;
  readonly volumes: VolumePlan[];
  /** StatefulSet claim templates, by volume name. */
  readonly claimTemplates: string[];
  readonly fsGroup?: number;
  readonly sysctls: Array<{ name: string; value: string }>;
  readonly initContainers: ContainerPlan[];
  readonly containers: ContainerPlan[];
  readonly restartPolicy: string;
  readonly terminationGracePeriodSeconds: number;
  /** Fields present in the spec that this emulator does not reproduce, with what they ask for. */
  readonly notEmulated: string[];
}

/** Values the spec resolves at run time: Secret and ConfigMap keys for env. */
export interface EnvSources {
  secretValue(name: string, key: string): string;
  configMapValue(name: string, key: string): string;
}

/** `$(VAR)` expansion of env values, command and args, as the kubelet does it (`$$` escapes). */
export function expandVars(text: string, env: Record<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name) => {
    if (m === '$$') return '$';
    return name in env ? env[name] : m;
  });
}

/** Pod (ignored when the workload is a bare Pod) template of a workload. */
export function podOf(workload: any): any {
  if (workload.kind === 'Pod') return workload;
  const t = podTemplate(workload);
  if (!t?.spec) throw new Error(`${workload.kind}/${workload.metadata?.name}: no pod template`);
  return t;
}

/** Every workload with a pod template in a list of objects. */
export function workloads(objects: any[]): any[] {
  return objects.filter(o => o && (o.kind === 'Pod' || podTemplate(o)?.spec));
}

const KNOWN_POD_FIELDS = new Set(['serviceAccountName',
  'containers', 'initContainers', 'volumes', 'securityContext', 'restartPolicy', 'terminationGracePeriodSeconds',
  'enableServiceLinks', 'automountServiceAccountToken',
]);
const KNOWN_CONTAINER_FIELDS = new Set([
  'name', 'image', 'command', 'args', 'env', 'envFrom', 'workingDir', 'ports', 'volumeMounts', 'securityContext',
  'startupProbe', 'readinessProbe', 'livenessProbe', 'resources', 'imagePullPolicy',
]);

function describeField(key: string, value: unknown): string {
  const text = JSON.stringify(value);
  return `${key}=${text.length > 120 ? text.slice(0, 117) + '...' : text}`;
}

/** Read one workload's pod template into a plan. Throws on what a kubelet would refuse. */
export function resolvePod(workload: any, sources: EnvSources, podName?: string, podIp?: string): PodPlan {
  const template = podOf(workload);
  const spec = template.spec;
  const kind = workload.kind;
  const name = workload.metadata?.name ?? 'pod';
  const namespace = workload.metadata?.namespace ?? 'default';
  const where = `${kind}/${name}`;
  const notEmulated: string[] = [];
  for (const [key, value] of Object.entries(spec)) {
    if (KNOWN_POD_FIELDS.has(key)) continue;
    if (['hostNetwork', 'hostPID', 'hostIPC', 'shareProcessNamespace'].includes(key) && value) {
      throw new Error(`${where}: ${key} is not emulated`);
    }
    notEmulated.push(`pod ${describeField(key, value)}`);
  }
  if (spec.serviceAccountName || spec.automountServiceAccountToken !== false) {
    notEmulated.push(`pod serviceAccount ${spec.serviceAccountName ?? 'default'} (no API token is mounted${spec.automountServiceAccountToken === false ? ', as rendered' : ''})`);
  }
  if (spec.enableServiceLinks !== false) notEmulated.push('pod enableServiceLinks (Service environment variables are not injected)');
  if (workload.kind === 'StatefulSet' || workload.kind === 'Deployment') {
    notEmulated.push(`${kind} replicas/update strategy (the emulator starts the pods it is asked to start)`);
  }
  if (workload.kind === 'CronJob') notEmulated.push(`CronJob schedule ${JSON.stringify(workload.spec.schedule)} (the job's pod is run on demand)`);

  const podSc = spec.securityContext ?? {};
  for (const [key, value] of Object.entries(podSc)) {
    if (!['runAsUser', 'runAsGroup', 'runAsNonRoot', 'fsGroup', 'supplementalGroups', 'sysctls', 'fsGroupChangePolicy', 'seccompProfile'].includes(key)) {
      notEmulated.push(`pod securityContext.${describeField(key, value)}`);
    }
  }
  const sysctls: Array<{ name: string; value: string }> = (podSc.sysctls ?? []).map((s: any) => ({ name: s.name, value: String(s.value) }));
  for (const s of sysctls) {
    if (!NAMESPACED_SYSCTL.test(s.name)) throw new Error(`${where}: sysctl ${s.name} is not a network-namespaced sysctl; not emulated`);
  }
  const fsGroup: number | undefined = podSc.fsGroup;
  const groups = [...(fsGroup !== undefined ? [fsGroup] : []), ...(podSc.supplementalGroups ?? [])];

  const volumes: VolumePlan[] = (spec.volumes ?? []).map((v: any) => {
    const { name: volumeName, ...source } = v;
    const type = Object.keys(source)[0];
    if (!['emptyDir', 'persistentVolumeClaim', 'secret', 'configMap'].includes(type)) {
      throw new Error(`${where}: volume ${volumeName} of type ${type} is not emulated`);
    }
    if (type === 'emptyDir' && source.emptyDir.sizeLimit) notEmulated.push(`volume ${volumeName} emptyDir.sizeLimit=${source.emptyDir.sizeLimit}`);
    return { name: volumeName, source };
  });
  const claimTemplates: string[] = (workload.spec?.volumeClaimTemplates ?? []).map((t: any) => t.metadata.name);

  const container = (c: any, init: boolean): ContainerPlan => {
    const cw = `${where} container ${c.name}`;
    for (const [key, value] of Object.entries(c)) {
      if (!KNOWN_CONTAINER_FIELDS.has(key)) notEmulated.push(`container ${c.name} ${describeField(key, value)}`);
    }
    const info = imageInfo(c.image);
    const sc = c.securityContext ?? {};
    for (const [key, value] of Object.entries(sc)) {
      if (!['runAsUser', 'runAsGroup', 'runAsNonRoot', 'readOnlyRootFilesystem', 'allowPrivilegeEscalation', 'capabilities', 'privileged', 'seccompProfile'].includes(key)) {
        notEmulated.push(`container ${c.name} securityContext.${describeField(key, value)}`);
      }
    }
    if (sc.privileged) throw new Error(`${cw}: privileged containers are not emulated`);
    const uid: number = sc.runAsUser ?? podSc.runAsUser ?? info.user.uid;
    // Without runAsGroup the runtime takes the user's primary group from the image's /etc/passwd.
    const gid: number = sc.runAsGroup ?? podSc.runAsGroup ?? info.users.find(u => u.uid === uid)?.gid ?? 0;
    const runAsNonRoot = sc.runAsNonRoot ?? podSc.runAsNonRoot;
    if (runAsNonRoot && uid === 0) throw new Error(`${cw}: runAsNonRoot is set but the container would run as uid 0 (CreateContainerConfigError)`);
    const drop: string[] = sc.capabilities?.drop ?? [];
    const add: string[] = sc.capabilities?.add ?? [];
    const capabilities = drop.includes('ALL')
      ? [...add]
      : [...RUNTIME_DEFAULT_CAPABILITIES.filter(cap => !drop.includes(cap)), ...add.filter(cap => !RUNTIME_DEFAULT_CAPABILITIES.includes(cap))];

    // Environment: image ENV first, then env in order with $(VAR) expansion over what came before.
    const env: Record<string, string> = { ...info.env, HOSTNAME: podName ?? name };
    if (c.envFrom?.length) throw new Error(`${cw}: envFrom is not emulated`);
    for (const e of c.env ?? []) {
      if (e.valueFrom?.secretKeyRef) env[e.name] = sources.secretValue(e.valueFrom.secretKeyRef.name, e.valueFrom.secretKeyRef.key);
      else if (e.valueFrom?.configMapKeyRef) env[e.name] = sources.configMapValue(e.valueFrom.configMapKeyRef.name, e.valueFrom.configMapKeyRef.key);
      else if (e.valueFrom?.fieldRef) {
        const fieldPath: string = e.valueFrom.fieldRef.fieldPath;
        const fields: Record<string, string> = { 'metadata.name': podName ?? name, 'metadata.namespace': namespace, ...podIp ? { 'status.podIP': podIp } : {} };
        if (!(fieldPath in fields)) throw new Error(`${cw}: env ${e.name} fieldRef ${fieldPath} is not emulated`);
        env[e.name] = fields[fieldPath];
      } else if (e.valueFrom) throw new Error(`${cw}: env ${e.name} valueFrom ${JSON.stringify(e.valueFrom)} is not emulated`);
      else env[e.name] = expandVars(e.value ?? '', env);
    }
    const command: string[] | undefined = c.command;
    const args: string[] | undefined = c.args;
    const argv = (command ? [...command, ...(args ?? [])] : [...info.entrypoint, ...(args ?? info.cmd)]).map(a => expandVars(a, env));
    if (argv.length === 0) throw new Error(`${cw}: nothing to run (no command and the image has no ENTRYPOINT/CMD)`);

    const mounts: MountPlan[] = (c.volumeMounts ?? []).map((m: any) => {
      const isClaimTemplate = claimTemplates.includes(m.name);
      if (!isClaimTemplate && !volumes.some(v => v.name === m.name)) throw new Error(`${cw}: volumeMount ${m.mountPath} names a missing volume ${m.name}`);
      if (m.subPathExpr || m.mountPropagation) notEmulated.push(`container ${c.name} volumeMount ${m.mountPath} ${m.subPathExpr ? 'subPathExpr' : 'mountPropagation'}`);
      return { volume: m.name, mountPath: m.mountPath, subPath: m.subPath || undefined, readOnly: !!m.readOnly };
    });
    const probes: ProbeSpec[] = (['startup', 'readiness', 'liveness'] as const)
      .filter(k => c[`${k}Probe`])
      .map(k => ({ kind: k, probe: c[`${k}Probe`] }));
    if (init && probes.length) throw new Error(`${cw}: init containers cannot have probes`);
    return {
      name: c.name,
      image: c.image,
      imageInfo: info,
      init,
      argv,
      env,
      workingDir: c.workingDir ?? info.workingDir,
      uid,
      gid,
      groups,
      capabilities,
      noNewPrivileges: sc.allowPrivilegeEscalation === false,
      readOnlyRootFilesystem: !!sc.readOnlyRootFilesystem,
      mounts,
      ports: (c.ports ?? []).map((p: any) => ({ name: p.name, containerPort: p.containerPort, protocol: p.protocol ?? 'TCP' })),
      probes,
      stopSignal: info.stopSignal,
    };
  };
  for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
    const sc = { ...(spec.securityContext ?? {}), ...(c.securityContext ?? {}) };
    if (sc.seccompProfile) notEmulated.push(`container ${c.name} seccompProfile ${JSON.stringify(sc.seccompProfile)} (no seccomp filter is installed)`);
    if (c.resources) notEmulated.push(`container ${c.name} resources ${JSON.stringify(c.resources)} (no cgroup limits)`);
    if (c.imagePullPolicy) notEmulated.push(`container ${c.name} imagePullPolicy ${c.imagePullPolicy} (nothing is pulled: the image is laid out from Debian packages)`);
  }
  return {
    workload: where,
    kind,
    name,
    namespace,
    labels: template.metadata?.labels ?? {},
    volumes,
    claimTemplates,
    fsGroup,
    sysctls,
    initContainers: (spec.initContainers ?? []).map((c: any) => container(c, true)),
    containers: spec.containers.map((c: any) => container(c, false)),
    restartPolicy: spec.restartPolicy ?? 'Always',
    terminationGracePeriodSeconds: spec.terminationGracePeriodSeconds ?? 30,
    notEmulated: [...new Set(notEmulated)],
  };
}

/** The container port a probe's `port` (number or name) means. */
export function resolvePort(container: ContainerPlan, port: number | string): number {
  if (typeof port === 'number') return port;
  if (/^[0-9]+$/.test(port)) return Number(port);
  const found = container.ports.find(p => p.name === port);
  if (!found) throw new Error(`container ${container.name}: probe names port "${port}", which no container port has`);
  return found.containerPort;
}
