// Pod emulator, runtime: a one-node "cluster" on this machine, without a container runtime.
//
// Network: a private network namespace holds a bridge (the node's side, 10.244.0.1/16); every pod
// gets its own network namespace (so per-pod sysctls such as net.ipv4.ip_unprivileged_port_start
// apply to it alone) with a veth on that bridge. Nothing is routed off the machine. Every Service
// gets a virtual IP in 10.244.128.0/17 that is added to the first running pod its selector matches
// (no kube-proxy, so port must equal targetPort); Service names resolve through the /etc/hosts the
// emulator writes for each pod, as kubelet writes /etc/hosts and the cluster DNS would answer.
//
// Pod: a sandbox process (mount, network, UTS and IPC namespaces; the "pause" container) owns the
// pod's volumes: a tmpfs per emptyDir, a tmpfs holding each Secret and ConfigMap's files, and the
// claims, which are directories under the cluster's directory with the ownership fsGroup leaves.
// Container: its own mount namespace under the sandbox's: a tmpfs root with the image layer, the
// kubelet files (/etc/hosts, /etc/hostname, /etc/resolv.conf) and the volume mounts, made read-only
// when readOnlyRootFilesystem; then a new PID namespace whose init is the image's entrypoint (or
// the container's command) run by setpriv as the rendered uid/gid/groups with the rendered
// capability bounding set and no_new_privs.

import { ChildProcess, spawn } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { ExecResult } from '../pod-runner';
import { ContainerPlan, podOf, PodPlan, resolvePod, resolvePort } from './spec';

const SUBNET_PREFIX = '10.244';
const NODE_IP = `${SUBNET_PREFIX}.0.1`;
const LOG_LIMIT = 4 * 1024 * 1024;

/** Every process this module started, killed when the test process exits. */
const started = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of started) {
    try {
      child.kill('SIGKILL');
    } catch {
      // gone
    }
  }
});

function track(child: ChildProcess): ChildProcess {
  started.add(child);
  child.once('exit', () => started.delete(child));
  return child;
}

/** Shell-quote one word. */
export function sh(word: string | number): string {
  const s = String(word);
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms).unref());

/**
 * Run a program to completion (never rejects on a non-zero exit). It gets its own process group,
 * killed as a whole on timeout: `nsenter --pid` forks, and a killed nsenter would leave its child
 * holding the pipes.
 */
export function run(argv: string[], options: { env?: Record<string, string>; input?: string; timeoutMs?: number } = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = track(spawn(argv[0], argv.slice(1), {
      env: options.env ?? { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, stdio: ['pipe', 'pipe', 'pipe'], detached: true,
    }));
    let stdout = '';
    let stderr = '';
    let settled = false;
    const killGroup = () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // gone
      }
    };
    const timer = setTimeout(() => {
      stderr += `\n(killed after ${options.timeoutMs ?? 60_000} ms)`;
      killGroup();
    }, options.timeoutMs ?? 60_000);
    const finish = (code: number | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      killGroup(); // nothing of it may outlive it
      resolve({ code, stdout, stderr });
    };
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(options.input ?? '');
    child.once('error', e => {
      clearTimeout(timer);
      settled = true;
      reject(e);
    });
    child.once('close', code => finish(code));
    // A grandchild that keeps the pipes open must not keep us waiting once the child is gone.
    child.once('exit', code => setTimeout(() => finish(code), 2000).unref());
  });
}

/** Wait until `child` prints `marker` on stdout, or fail with what it printed. */
function waitForMarker(child: ChildProcess, marker: string, what: string, timeoutMs = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => done(new Error(`${what}: no "${marker}" within ${timeoutMs} ms\n${out}${err}`)), timeoutMs);
    const onOut = (d: Buffer) => {
      out += d.toString();
      if (out.includes(marker)) done();
    };
    const onErr = (d: Buffer) => (err += d.toString());
    const onExit = (code: number | null) => done(new Error(`${what} exited (${code}) before it was ready:\n${out}${err}`));
    const done = (e?: Error) => {
      clearTimeout(timer);
      child.stdout!.off('data', onOut);
      child.stderr!.off('data', onErr);
      child.off('exit', onExit);
      if (e) reject(e);
      else resolve();
    };
    child.stdout!.on('data', onOut);
    child.stderr!.on('data', onErr);
    child.once('exit', onExit);
  });
}

export interface ProbeResult {
  readonly kind: string;
  readonly ok: boolean;
  /** HTTP status, exit code or connection error. */
  readonly detail: string;
  readonly ms: number;
}

export interface Service {
  readonly name: string;
  readonly namespace: string;
  readonly vip: string;
  readonly selector: Record<string, string>;
  readonly ports: Array<{ port: number; targetPort: number | string }>;
  holder?: Pod;
}

export interface StartOptions {
  /** Pod name (default `<workload>-<n>`; StatefulSets `<set>-<ordinal>`). */
  readonly name?: string;
  /** StatefulSet ordinal (default 0). */
  readonly ordinal?: number;
}

/** A read-only root makes failed writes visible: every "Read-only file system" line, with its path. */
export function readOnlyWrites(log: string): Array<{ path: string; line: string }> {
  return log.split('\n').filter(l => /Read-only file system/.test(l)).map(line => {
    const paths = line.match(/\/(?:[A-Za-z0-9._@+-]+\/?)+/g) ?? [];
    return { path: paths.find(p => p !== '/') ?? '(no path in message)', line: line.trim() };
  });
}

export class Cluster {
  readonly dir: string;
  readonly services: Service[] = [];
  readonly pods: Pod[] = [];
  private readonly secretData = new Map<string, Record<string, string>>();
  private node: ChildProcess | undefined;
  private nextHost = 2;
  private podCounter = 0;

  private constructor(readonly objects: any[], dir: string) {
    this.dir = dir;
  }

  /**
   * A cluster holding `objects` (ConfigMaps and Services are read from them; Secrets, which are
   * never rendered, get random values per key on first use unless `setSecret` gave them).
   */
  static async create(objects: any[], dir?: string): Promise<Cluster> {
    const root = dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'pod-emulator-'));
    fs.mkdirSync(path.join(root, 'claims'), { recursive: true });
    fs.chmodSync(root, 0o711);
    const cluster = new Cluster([...objects], root);
    const node = track(spawn('unshare', ['--net', '--', 'bash', '-c', [
      'set -e', 'ip link set lo up', 'ip link add br0 type bridge', `ip addr add ${NODE_IP}/16 dev br0`, 'ip link set br0 up',
      'echo node-ready', 'exec sleep infinity',
    ].join('; ')], { stdio: ['ignore', 'pipe', 'pipe'] }));
    cluster.node = node;
    await waitForMarker(node, 'node-ready', 'node network namespace');
    let vip = 1;
    for (const s of objects.filter(o => o?.kind === 'Service')) {
      if (!s.spec?.selector) continue;
      cluster.services.push({
        name: s.metadata.name,
        namespace: s.metadata.namespace ?? 'default',
        vip: `${SUBNET_PREFIX}.128.${vip++}`,
        selector: s.spec.selector,
        ports: (s.spec.ports ?? []).map((p: any) => ({ port: p.port, targetPort: p.targetPort ?? p.port })),
      });
    }
    return cluster;
  }

  /**
   * Add objects rendered elsewhere (e.g. a Job with its ConfigMap): ConfigMaps replace those of the
   * same namespace and name; other kinds are added. Services are read at create() only.
   */
  apply(objects: any[]): void {
    for (const o of objects) {
      if (!o?.kind) continue;
      const same = (x: any) => x?.kind === o.kind && x.metadata?.name === o.metadata?.name && x.metadata?.namespace === o.metadata?.namespace;
      const i = this.objects.findIndex(same);
      if (i >= 0) this.objects[i] = o;
      else this.objects.push(o);
    }
  }

  /** `nsenter` prefix that runs a command in the node's network namespace. */
  nodeNet(): string[] {
    if (!this.node?.pid) throw new Error('cluster is destroyed');
    return ['nsenter', `--net=/proc/${this.node.pid}/ns/net`, '--'];
  }

  setSecret(name: string, data: Record<string, string>): void {
    this.secretData.set(name, { ...data });
  }

  secretValue(name: string, key: string): string {
    const data = this.secretData.get(name) ?? {};
    this.secretData.set(name, data);
    data[key] ??= crypto.randomBytes(24).toString('base64url');
    return data[key];
  }

  configMapValue(name: string, key: string): string {
    const cm = this.objects.find(o => o?.kind === 'ConfigMap' && o.metadata.name === name);
    if (!cm) throw new Error(`ConfigMap ${name} is not among the objects`);
    if (cm.data?.[key] === undefined) throw new Error(`ConfigMap ${name} has no key ${key}`);
    return cm.data[key];
  }

  /** Host directory of a claim (the PersistentVolume's root). */
  claimDir(claimName: string): string {
    const dir = path.join(this.dir, 'claims', claimName);
    if (!fs.existsSync(dir)) fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
    return dir;
  }

  allocateIp(): string {
    const n = this.nextHost++;
    return `${SUBNET_PREFIX}.${Math.floor(n / 254)}.${(n % 254) + 1}`;
  }

  /** Start a pod of `workload` (any object with a pod template). */
  async startPod(workload: any, options: StartOptions = {}): Promise<Pod> {
    const ordinal = options.ordinal ?? 0;
    const name = options.name ?? (workload.kind === 'StatefulSet' ? `${workload.metadata.name}-${ordinal}` : `${workload.metadata.name}-${++this.podCounter}`);
    const ip = this.allocateIp();
    const plan = resolvePod(workload, this, name, ip);
    const pod = new Pod(this, workload, plan, name, ordinal, ip);
    this.pods.push(pod);
    await pod.start();
    return pod;
  }

  /** Run a request from the node (the kubelet's and the tests' side), through curl. */
  async curl(args: string[], timeoutMs = 30_000): Promise<ExecResult> {
    return run([...this.nodeNet(), 'curl', ...args], { timeoutMs });
  }

  /** An HTTP request from the node: status, headers and body (redirects are not followed). */
  async http(url: string, options: { method?: string; headers?: Record<string, string>; form?: Record<string, string>; timeoutSeconds?: number } = {}) {
    const args = ['-sS', '-i', '--max-time', String(options.timeoutSeconds ?? 30), '-X', options.method ?? (options.form ? 'POST' : 'GET')];
    for (const [k, v] of Object.entries(options.headers ?? {})) args.push('-H', `${k}: ${v}`);
    for (const [k, v] of Object.entries(options.form ?? {})) args.push('--data-urlencode', `${k}=${v}`);
    const r = await this.curl([...args, url], (options.timeoutSeconds ?? 30) * 1000 + 5000);
    const text = r.stdout;
    const split = text.indexOf('\r\n\r\n');
    const head = split >= 0 ? text.slice(0, split) : text;
    const status = Number(/^HTTP\/[0-9.]+ ([0-9]{3})/.exec(head)?.[1] ?? 0);
    return { status, head, body: split >= 0 ? text.slice(split + 4) : '', error: r.code === 0 ? '' : r.stderr.trim() };
  }

  /** /etc/hosts a pod gets: kubelet's lines plus every Service's name (the cluster DNS's answers). */
  hostsFile(pod: Pod): string {
    const lines = [
      '# Kubernetes-managed hosts file (pod emulator).',
      '127.0.0.1\tlocalhost',
      '::1\tlocalhost ip6-localhost ip6-loopback',
      `${pod.ip}\t${pod.name}`,
    ];
    for (const s of this.services) {
      lines.push(`${s.vip}\t${s.name}.${s.namespace}.svc.cluster.local ${s.name}.${s.namespace}.svc ${s.name}.${s.namespace}${s.namespace === pod.plan.namespace ? ` ${s.name}` : ''}`);
    }
    // A StatefulSet's live pods, under their per-pod names of its (headless) Service.
    for (const p of this.pods.filter(x => x === pod || x.alive)) {
      const service = p.workload.kind === 'StatefulSet' ? p.workload.spec?.serviceName : undefined;
      if (service) lines.push(`${p.ip}\t${p.name}.${service}.${p.plan.namespace}.svc.cluster.local ${p.name}.${service}`);
    }
    return lines.join('\n') + '\n';
  }

  /** Rewrite every live pod's /etc/hosts: the cluster DNS answers for pods as they come and go. */
  refreshHosts(): void {
    for (const p of this.pods) if (p.alive) p.writeHosts();
  }

  /** Give free Service IPs to `pod` when its labels match their selectors. */
  async claimServiceIps(pod: Pod): Promise<void> {
    for (const s of this.services) {
      if (s.namespace !== pod.plan.namespace) continue;
      if (!Object.entries(s.selector).every(([k, v]) => pod.labels[k] === v)) continue;
      if (s.holder && s.holder.running) continue;
      for (const p of s.ports) {
        const target = typeof p.targetPort === 'number' ? p.targetPort
          : pod.plan.containers.map(c => c.ports.find(cp => cp.name === p.targetPort)?.containerPort).find(x => x !== undefined);
        if (target !== p.port) pod.notes.push(`Service ${s.name} port ${p.port} -> ${p.targetPort}: only port == targetPort is emulated`);
      }
      const r = await run(['nsenter', `--net=/proc/${pod.sandboxPid}/ns/net`, '--', 'ip', 'addr', 'add', `${s.vip}/32`, 'dev', 'eth0']);
      if (r.code !== 0) throw new Error(`could not give Service ${s.name}'s IP to ${pod.name}: ${r.stderr}`);
      s.holder = pod;
      // The IP moved to another pod's MAC: forget the old neighbour entry everywhere (a Service's
      // clients would not notice an endpoint change in a real cluster).
      for (const other of this.pods.filter(p => p !== pod && p.sandboxPid && p.running)) {
        await run(['nsenter', `--net=/proc/${other.sandboxPid}/ns/net`, '--', 'ip', 'neigh', 'flush', 'to', s.vip]);
      }
      await run([...this.nodeNet(), 'ip', 'neigh', 'flush', 'to', s.vip]);
    }
  }

  async destroy(): Promise<void> {
    for (const pod of [...this.pods].reverse()) await pod.kill();
    this.node?.kill('SIGKILL');
    this.node = undefined;
    if (!process.env.POD_EMULATOR_KEEP) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

interface RunningContainer {
  readonly plan: ContainerPlan;
  readonly process: ChildProcess;
  readonly dir: string;
  initPid?: number;
  readonly stdoutFile: string;
  readonly stderrFile: string;
  exitCode?: number | null;
  exited: Promise<number | null>;
  /** Logs of earlier runs (kubectl logs --previous), oldest first. */
  previous: string[];
  restarts: number;
}

/** The kubelet's restart back-off (10 s, doubling) is compressed to this, so tests stay short. */
const RESTART_DELAY_MS = 1000;
const MAX_RESTARTS = 3;

/** A container run's stdout then stderr (the last LOG_LIMIT bytes of each). */
function readLog(c: { stdoutFile: string; stderrFile: string }): string {
  const tail = (f: string) => {
    if (!fs.existsSync(f)) return '';
    const b = fs.readFileSync(f);
    return b.subarray(Math.max(0, b.length - LOG_LIMIT)).toString();
  };
  return `${tail(c.stdoutFile)}${tail(c.stderrFile)}`;
}

export class Pod {
  readonly dir: string;
  /** What this pod asked for that the emulator did not do. */
  readonly notes: string[] = [];
  sandboxPid = 0;
  private sandbox: ChildProcess | undefined;
  private readonly running_ = new Map<string, RunningContainer>();
  private readonly volumeDirs = new Map<string, { dir: string; isClaim: boolean }>();
  private stopping = false;
  /** Milliseconds from start() to each container's process start. */
  readonly startedAt = Date.now();

  constructor(readonly cluster: Cluster, readonly workload: any, readonly plan: PodPlan, readonly name: string, readonly ordinal: number, readonly ip: string) {
    // Each pod instance has its own directory (logs, volumes), even when a name comes back.
    this.dir = path.join(cluster.dir, 'pods', `${name}-${crypto.randomBytes(3).toString('hex')}`);
    this.notes.push(...plan.notEmulated);
  }

  /** The pod's labels: its template's, plus the pod-name label a StatefulSet controller adds. */
  get labels(): Record<string, string> {
    return this.workload.kind === 'StatefulSet'
      ? { ...this.plan.labels, 'statefulset.kubernetes.io/pod-name': this.name }
      : this.plan.labels;
  }

  /** Whether the sandbox (the pod's network) is up. */
  get alive(): boolean {
    return this.sandbox !== undefined;
  }

  /** (Re)write the pod's /etc/hosts in place; its containers bind-mount that file. */
  writeHosts(): void {
    fs.writeFileSync(path.join(this.dir, 'etc', 'hosts'), this.cluster.hostsFile(this), { mode: 0o644 });
  }

  get running(): boolean {
    return this.sandbox !== undefined && [...this.running_.values()].some(c => c.exitCode === undefined);
  }

  container(name?: string): RunningContainer {
    const c = name ? this.running_.get(name) : [...this.running_.values()].find(x => !x.plan.init);
    if (!c) throw new Error(`${this.name}: no container ${name ?? '(main)'}`);
    return c;
  }

  /** stdout and stderr of a container so far, every run (restarts included). */
  logs(name?: string): string {
    const c = this.container(name);
    return [...c.previous, readLog(c)].join('');
  }

  /** How often the kubelet restarted a container (restartPolicy Always). */
  restarts(name?: string): number {
    return this.container(name).restarts;
  }

  /** Local (host) directory of a claim this pod mounts, by volume name. */
  claimDir(volume: string): string {
    const v = this.volumeDirs.get(volume);
    if (!v?.isClaim) throw new Error(`${this.name}: volume ${volume} is not a claim`);
    return v.dir;
  }

  /** The kubelet's fsGroup ownership change (OnRootMismatch: only when the root does not match). */
  private applyFsGroup(dir: string): void {
    const g = this.plan.fsGroup;
    if (g === undefined) return;
    const st = fs.statSync(dir);
    const policy = podOf(this.workload).spec.securityContext?.fsGroupChangePolicy ?? 'Always';
    if (policy === 'OnRootMismatch' && st.gid === g && (st.mode & 0o2070) === 0o2070) return;
    const visit = (p: string) => {
      const s = fs.lstatSync(p);
      if (s.isSymbolicLink()) return;
      fs.chownSync(p, s.uid, g);
      fs.chmodSync(p, (s.mode & 0o7777) | 0o060 | (s.isDirectory() ? 0o2010 : 0));
      if (s.isDirectory()) for (const e of fs.readdirSync(p)) visit(path.join(p, e));
    };
    visit(dir);
  }

  async start(): Promise<void> {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const staging = path.join(this.dir, 'staging');
    const lines = ['set -euo pipefail', 'mount --make-rprivate /', `hostname ${sh(this.name)}`, 'ip link set lo up'];
    const veth = `v${crypto.randomBytes(4).toString('hex')}`;
    const nodePid = this.cluster.nodeNet()[1].replace(/^--net=\/proc\/(\d+)\/ns\/net$/, '$1');
    lines.push(
      `ip link add eth0 type veth peer name ${veth} netns ${nodePid}`,
      `nsenter --net=/proc/${nodePid}/ns/net -- ip link set ${veth} master br0 up`,
      `ip addr add ${this.ip}/16 dev eth0`,
      'ip link set eth0 up',
    );
    for (const s of this.plan.sysctls) lines.push(`sysctl -qw ${sh(`${s.name}=${s.value}`)}`);
    // Volumes.
    const claimNames = new Set<string>();
    for (const v of this.plan.volumes) {
      const dir = path.join(this.dir, 'volumes', v.name);
      const src = v.source;
      if (src.persistentVolumeClaim) {
        const claim = this.cluster.claimDir(src.persistentVolumeClaim.claimName);
        this.volumeDirs.set(v.name, { dir: claim, isClaim: true });
        claimNames.add(v.name);
        continue;
      }
      fs.mkdirSync(dir, { recursive: true });
      this.volumeDirs.set(v.name, { dir, isClaim: false });
      const group = this.plan.fsGroup;
      if (src.emptyDir) {
        lines.push(`mount -t tmpfs -o mode=0777 ${sh(`emptydir-${v.name}`)} ${sh(dir)}`);
        if (group !== undefined) lines.push(`chgrp ${group} ${sh(dir)}`, `chmod 2777 ${sh(dir)}`);
      } else {
        // Secret / ConfigMap: files written by the kubelet into a tmpfs, root-owned, group fsGroup.
        const stage = path.join(staging, v.name);
        fs.mkdirSync(stage, { recursive: true, mode: 0o700 });
        const ref = src.secret ?? src.configMap;
        const isSecret = !!src.secret;
        const refName: string = isSecret ? ref.secretName : ref.name;
        const data: Record<string, string> = isSecret ? {} : (this.cluster.objects.find(o => o?.kind === 'ConfigMap' && o.metadata.name === refName)?.data ?? {});
        const keys: Array<{ key: string; path: string; mode?: number }> = ref.items ?? Object.keys(data).map(key => ({ key, path: key }));
        if (!isSecret && !this.cluster.objects.some(o => o?.kind === 'ConfigMap' && o.metadata.name === refName)) {
          throw new Error(`${this.plan.workload}: ConfigMap ${refName} of volume ${v.name} is not among the objects`);
        }
        for (const item of keys) {
          const value = isSecret ? this.cluster.secretValue(refName, item.key) : this.cluster.configMapValue(refName, item.key);
          const file = path.join(stage, item.path);
          fs.mkdirSync(path.dirname(file), { recursive: true });
          fs.writeFileSync(file, value, { mode: 0o600 });
          fs.chmodSync(file, item.mode ?? ref.defaultMode ?? 0o644);
          if (group !== undefined) fs.chownSync(file, 0, group);
        }
        lines.push(`mount -t tmpfs -o mode=0755 ${sh(`${isSecret ? 'secret' : 'configmap'}-${v.name}`)} ${sh(dir)}`, `cp -a ${sh(stage)}/. ${sh(dir)}/`);
        if (group !== undefined) lines.push(`chgrp ${group} ${sh(dir)}`, `chmod 2755 ${sh(dir)}`);
      }
    }
    for (const t of this.plan.claimTemplates) {
      const claim = this.cluster.claimDir(`${t}-${this.plan.name}-${this.ordinal}`);
      this.volumeDirs.set(t, { dir: claim, isClaim: true });
      claimNames.add(t);
    }
    for (const v of claimNames) this.applyFsGroup(this.volumeDirs.get(v)!.dir);
    lines.push(`rm -rf ${sh(staging)}`, 'echo sandbox-ready', 'exec sleep infinity');
    // kubelet-managed files.
    fs.mkdirSync(path.join(this.dir, 'etc'), { recursive: true });
    this.writeHosts();
    fs.writeFileSync(path.join(this.dir, 'etc', 'hostname'), `${this.name}\n`, { mode: 0o644 });
    fs.writeFileSync(path.join(this.dir, 'etc', 'resolv.conf'),
      `search ${this.plan.namespace}.svc.cluster.local svc.cluster.local cluster.local\nnameserver ${NODE_IP}\noptions ndots:5\n`, { mode: 0o644 });
    const script = path.join(this.dir, 'sandbox.sh');
    fs.writeFileSync(script, lines.join('\n') + '\n', { mode: 0o700 });
    const sandbox = track(spawn('unshare', ['--mount', '--net', '--uts', '--ipc', '--', 'bash', script], { stdio: ['ignore', 'pipe', 'pipe'] }));
    this.sandbox = sandbox;
    this.sandboxPid = sandbox.pid!;
    sandbox.once('exit', () => {
      if (this.sandbox === sandbox) this.sandbox = undefined;
    });
    await waitForMarker(sandbox, 'sandbox-ready', `${this.name} sandbox`);
    this.cluster.refreshHosts();
    await this.cluster.claimServiceIps(this);
    // Init containers run one after the other to completion; then the containers together.
    for (const c of this.plan.initContainers) {
      const rc = await this.startContainer(c);
      const code = await rc.exited;
      if (code !== 0) throw new Error(`${this.name}: init container ${c.name} exited ${code}:\n${readLog(rc)}`);
    }
    for (const c of this.plan.containers) await this.startContainer(c);
  }

  private async startContainer(c: ContainerPlan, previous: string[] = [], restarts = 0): Promise<RunningContainer> {
    const layer = c.imageInfo.layer();
    const dir = path.join(this.dir, 'containers', c.name);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const R = path.join(dir, 'root');
    fs.mkdirSync(R, { recursive: true });
    const lines = [
      'set -euo pipefail',
      'mount --make-rprivate /',
      `R=${sh(R)}`,
      'mount -t tmpfs -o mode=0755 rootfs "$R"',
      `cp -a ${sh(layer.fsDir)}/. "$R"/`,
    ];
    for (const b of layer.binds) {
      lines.push(`mkdir -p "$R"${sh(b.target)}`, `mount --rbind ${sh(b.source)} "$R"${sh(b.target)}`, `mount -o remount,bind,ro "$R"${sh(b.target)}`);
    }
    lines.push(
      'mount -t tmpfs -o mode=0755,nosuid dev "$R/dev"',
      'for n in null zero full random urandom tty; do touch "$R/dev/$n"; mount --bind "/dev/$n" "$R/dev/$n"; done',
      'ln -s /proc/self/fd "$R/dev/fd"; ln -s /proc/self/fd/0 "$R/dev/stdin"; ln -s /proc/self/fd/1 "$R/dev/stdout"; ln -s /proc/self/fd/2 "$R/dev/stderr"',
      'mkdir -p "$R/dev/shm" "$R/dev/pts"; mount -t tmpfs -o mode=1777,nosuid,nodev shm "$R/dev/shm"',
    );
    for (const f of ['hosts', 'hostname', 'resolv.conf']) {
      lines.push(`touch "$R/etc/${f}"`, `mount --bind ${sh(path.join(this.dir, 'etc', f))} "$R/etc/${f}"`, `mount -o remount,bind,ro "$R/etc/${f}"`);
    }
    for (const m of c.mounts) {
      const v = this.volumeDirs.get(m.volume);
      if (!v) throw new Error(`${this.name}: volume ${m.volume} is not set up`);
      const source = m.subPath ? path.join(v.dir, m.subPath) : v.dir;
      // A subPath that does not exist is created as a directory, as the kubelet does.
      if (m.subPath && !fs.existsSync(source) && v.isClaim) fs.mkdirSync(source, { recursive: true });
      lines.push(
        `t="$R$(chroot "$R" /usr/bin/realpath -m -- ${sh(m.mountPath)})"`,
        `if [ -d ${sh(source)} ]; then mkdir -p "$t"; else mkdir -p "$(dirname "$t")"; [ -e "$t" ] || touch "$t"; fi`,
        `mount --bind ${sh(source)} "$t"`,
      );
      if (m.readOnly) lines.push('mount -o remount,bind,ro "$t"');
    }
    if (c.readOnlyRootFilesystem) lines.push('mount -o remount,bind,ro "$R"');
    const env = Object.entries({ HOME: c.imageInfo.users.find(u => u.uid === c.uid)?.home ?? '/', ...c.env }).map(([k, v]) => sh(`${k}=${v}`));
    lines.push([
      'exec unshare --pid --fork --kill-child=SIGKILL --mount-proc', `--root="$R"`, `--wd=${sh(c.workingDir)}`, '--',
      '/usr/bin/env -i', ...env, '/usr/bin/setpriv', ...this.credentials(c).map(sh), '--', ...c.argv.map(sh),
    ].join(' '));
    const script = path.join(dir, 'start.sh');
    fs.writeFileSync(script, lines.join('\n') + '\n', { mode: 0o700 });
    // stdout and stderr go to files, as the runtime's log files: images open /dev/stdout and
    // /dev/stderr by name (Apache's logs), which works on a pipe or file but not on a socket.
    const stdoutFile = path.join(dir, `stdout.${restarts}.log`);
    const stderrFile = path.join(dir, `stderr.${restarts}.log`);
    const out = fs.openSync(stdoutFile, 'a', 0o600);
    const err = fs.openSync(stderrFile, 'a', 0o600);
    // runc chowns the container's stdio pipes to its user, so that /dev/stdout can be reopened.
    fs.fchownSync(out, c.uid, c.gid);
    fs.fchownSync(err, c.uid, c.gid);
    let child: ChildProcess;
    try {
      child = track(spawn('nsenter', ['-t', String(this.sandboxPid), '--mount', '--net', '--uts', '--ipc', '--', 'unshare', '--mount', '--', 'bash', script], {
        stdio: ['ignore', out, err],
      }));
    } finally {
      fs.closeSync(out);
      fs.closeSync(err);
    }
    const rc: RunningContainer = {
      plan: c,
      process: child,
      dir,
      stdoutFile,
      stderrFile,
      previous,
      restarts,
      exited: new Promise(resolve => child.once('exit', (code, signal) => {
        rc.exitCode = code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : null);
        resolve(rc.exitCode);
        // restartPolicy Always: the kubelet starts the container again (Jobs' OnFailure is not emulated).
        if (!c.init && this.plan.restartPolicy === 'Always' && !this.stopping && this.sandbox && restarts < MAX_RESTARTS) {
          const log = `${readLog(rc)}[pod emulator: container ${c.name} exited ${rc.exitCode}; restarting]\n`;
          setTimeout(() => {
            if (!this.stopping && this.sandbox) void this.startContainer(c, [...previous, log], restarts + 1).catch(() => undefined);
          }, RESTART_DELAY_MS).unref();
        }
      })),
    };
    this.running_.set(c.name, rc);
    // The container's init: the child of the final `unshare --fork`.
    const deadline = Date.now() + 30_000;
    while (rc.exitCode === undefined && Date.now() < deadline) {
      try {
        const cmdline = fs.readFileSync(`/proc/${child.pid}/cmdline`, 'utf8');
        if (cmdline.includes('--kill-child')) {
          const children = fs.readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim();
          if (children) {
            rc.initPid = Number(children.split(/\s+/)[0]);
            break;
          }
        }
      } catch {
        // not there yet, or gone
      }
      await sleep(20);
    }
    return rc;
  }

  /** setpriv arguments for a container's user, groups, capabilities and no_new_privs. */
  credentials(c: ContainerPlan): string[] {
    const caps = ['-all', ...c.capabilities.map(x => `+${x.toLowerCase()}`)].join(',');
    return [
      `--reuid=${c.uid}`, `--regid=${c.gid}`,
      ...(c.groups.length ? [`--groups=${c.groups.join(',')}`] : ['--clear-groups']),
      '--inh-caps=-all', `--bounding-set=${caps}`,
      ...(c.noNewPrivileges ? ['--no-new-privs'] : []),
    ];
  }

  /** Run a command inside a running container, as its user, with its environment (kubectl exec). */
  async exec(command: string[], options: { container?: string; env?: Record<string, string>; input?: string; timeoutMs?: number } = {}): Promise<ExecResult> {
    const c = this.container(options.container);
    if (!c.initPid || c.exitCode !== undefined) return { code: 126, stdout: '', stderr: `container ${c.plan.name} is not running` };
    const env = Object.entries({ HOME: c.plan.imageInfo.users.find(u => u.uid === c.plan.uid)?.home ?? '/', ...c.plan.env, ...(options.env ?? {}) }).map(([k, v]) => `${k}=${v}`);
    return run(['nsenter', '-t', String(c.initPid), '-m', '-n', '-p', '-u', '-i', '-r', '-w', '--',
      '/usr/bin/env', '-i', ...env, '/usr/bin/setpriv', ...this.credentials(c.plan), '--', ...command], { input: options.input, timeoutMs: options.timeoutMs ?? 60_000 });
  }

  /** One run of a container's probe, the way the kubelet runs it. */
  async probe(kind: 'startup' | 'readiness' | 'liveness', containerName?: string): Promise<ProbeResult> {
    const c = this.container(containerName);
    const spec = c.plan.probes.find(p => p.kind === kind)?.probe;
    if (!spec) throw new Error(`${this.name}: container ${c.plan.name} has no ${kind} probe`);
    const t0 = Date.now();
    const timeout = spec.timeoutSeconds ?? 1;
    const done = (ok: boolean, detail: string): ProbeResult => ({ kind, ok, detail, ms: Date.now() - t0 });
    if (spec.httpGet) {
      const g = spec.httpGet;
      const port = resolvePort(c.plan, g.port);
      const scheme = (g.scheme ?? 'HTTP').toLowerCase();
      const headers = ['-H', 'User-Agent: kube-probe/1.30', '-H', 'Accept: */*', ...(g.httpHeaders ?? []).flatMap((h: any) => ['-H', `${h.name}: ${h.value}`])];
      const url = `${scheme}://${g.host ?? this.ip}:${port}${g.path ?? '/'}`;
      const r = await this.cluster.curl(['-sS', '-k', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', String(timeout), ...headers, url], timeout * 1000 + 5000);
      const status = Number(r.stdout.trim());
      return done(r.code === 0 && status >= 200 && status < 400, r.code === 0 ? `HTTP ${status}` : r.stderr.trim() || `curl exit ${r.code}`);
    }
    if (spec.tcpSocket) {
      const port = resolvePort(c.plan, spec.tcpSocket.port);
      const r = await run([...this.cluster.nodeNet(), 'timeout', String(timeout), 'bash', '--norc', '--noprofile', '-c', `exec 3<>/dev/tcp/${spec.tcpSocket.host ?? this.ip}/${port}`], { timeoutMs: timeout * 1000 + 5000 });
      return done(r.code === 0, r.code === 0 ? `connected to ${port}` : r.stderr.trim() || `exit ${r.code}`);
    }
    if (spec.exec) {
      const r = await this.exec(spec.exec.command, { container: c.plan.name, timeoutMs: timeout * 1000 });
      return done(r.code === 0, `exit ${r.code}${r.code ? `: ${(r.stderr || r.stdout).trim().slice(0, 300)}` : ''}`);
    }
    throw new Error(`${this.name}: ${kind} probe ${JSON.stringify(spec)} is of a kind the emulator does not run`);
  }

  /**
   * Run a probe until it gives `expect` (default success). Polls every `intervalMs` (default: the
   * probe's periodSeconds, capped at 1 s, so a test does not wait real periods), at most
   * `timeoutMs` (default failureThreshold x periodSeconds, the kubelet's budget).
   */
  async waitForProbe(kind: 'startup' | 'readiness' | 'liveness', options: { expect?: boolean; timeoutMs?: number; intervalMs?: number; container?: string } = {}): Promise<ProbeResult & { attempts: number; elapsedMs: number }> {
    const c = this.container(options.container);
    const spec = c.plan.probes.find(p => p.kind === kind)?.probe;
    if (!spec) throw new Error(`${this.name}: no ${kind} probe`);
    const expect = options.expect ?? true;
    const period = (spec.periodSeconds ?? 10) * 1000;
    const budget = options.timeoutMs ?? (spec.failureThreshold ?? 3) * period;
    const interval = options.intervalMs ?? Math.min(period, 1000);
    const t0 = Date.now();
    let attempts = 0;
    for (;;) {
      attempts++;
      const r = await this.probe(kind, options.container);
      if (r.ok === expect) return { ...r, attempts, elapsedMs: Date.now() - t0 };
      if (Date.now() - t0 > budget) {
        throw new Error(`${this.name}: ${kind} probe did not ${expect ? 'pass' : 'fail'} within ${budget} ms (last: ${r.detail}); logs:\n${this.logs(options.container).slice(-4000)}`);
      }
      await sleep(interval);
    }
  }

  /** Startup probe first; once it passes, readiness and liveness (as the kubelet orders them). */
  async waitUntilReady(options: { timeoutMs?: number; container?: string } = {}): Promise<{ startupMs: number; readyMs: number }> {
    const c = this.container(options.container);
    const kinds = c.plan.probes.map(p => p.kind);
    const t0 = Date.now();
    if (kinds.includes('startup')) await this.waitForProbe('startup', options);
    const startupMs = Date.now() - t0;
    if (kinds.includes('readiness')) await this.waitForProbe('readiness', { ...options, timeoutMs: options.timeoutMs ?? undefined });
    if (kinds.includes('liveness')) {
      const l = await this.probe('liveness', options.container);
      if (!l.ok) throw new Error(`${this.name}: liveness fails once ready: ${l.detail}`);
    }
    return { startupMs, readyMs: Date.now() - t0 };
  }

  /** Wait for a container to exit (Jobs); resolves to its exit code. */
  async waitForExit(options: { container?: string; timeoutMs?: number } = {}): Promise<number | null> {
    const c = this.container(options.container);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>(r => (timer = setTimeout(() => r('timeout'), options.timeoutMs ?? 120_000)));
    const result = await Promise.race([c.exited, timeout]);
    clearTimeout(timer);
    if (result === 'timeout') throw new Error(`${this.name}: container ${c.plan.name} still running after ${options.timeoutMs ?? 120_000} ms:\n${this.logs(c.plan.name).slice(-4000)}`);
    return result;
  }

  /** Stop as the kubelet does: the image's STOPSIGNAL to each container's init, SIGKILL after the grace period. */
  async stop(graceMs?: number): Promise<void> {
    this.stopping = true;
    const grace = graceMs ?? this.plan.terminationGracePeriodSeconds * 1000;
    for (const c of this.running_.values()) {
      if (c.exitCode !== undefined || !c.initPid) continue;
      try {
        process.kill(c.initPid, c.plan.stopSignal as NodeJS.Signals);
      } catch {
        // already gone
      }
    }
    await Promise.race([Promise.all([...this.running_.values()].map(c => c.exited)), sleep(grace)]);
    await this.kill();
  }

  /** SIGKILL everything of the pod; its namespaces and tmpfs volumes go with it. */
  async kill(): Promise<void> {
    this.stopping = true;
    for (const c of this.running_.values()) {
      if (c.exitCode !== undefined) continue;
      // The PID namespace's init first: its death takes every process of the container with it
      // (unshare's --kill-child does not survive setpriv's change of credentials).
      if (c.initPid) {
        try {
          process.kill(c.initPid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      c.process.kill('SIGKILL');
    }
    await Promise.race([Promise.all([...this.running_.values()].map(c => c.exited)), sleep(10_000)]);
    const sandbox = this.sandbox;
    if (sandbox) {
      const gone = new Promise(r => sandbox.once('exit', r));
      sandbox.kill('SIGKILL');
      await Promise.race([gone, sleep(10_000)]);
    }
    this.sandbox = undefined;
    this.cluster.refreshHosts();
    for (const s of this.cluster.services) if (s.holder === this) s.holder = undefined;
  }
}

