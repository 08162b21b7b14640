// Test support: run a container's command (or a probe's) on this machine the way the pod would,
// from the synthesized objects alone. Every volume becomes a directory under a temporary root
// (ConfigMap and Secret volumes get their files), and every path the pod would see under a
// volumeMount is rewritten to the matching local path, in the command and in the environment.

import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { podTemplate } from './fixtures';

export interface ExecResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface LocalPodOptions {
  /**
   * Stands in for the cluster: claims live in `<root>/claims/<claim name>`, so every pod under the
   * same root sees the same claim, and each pod's other volumes in `<root>/pods/<kind>-<name>/`.
   */
  readonly root: string;
  /** Every object of the site, to find the ConfigMaps volumes refer to. */
  readonly objects: any[];
  /** Contents of the Secrets volumes refer to, by Secret name and key (Secrets are never rendered). */
  readonly secrets?: Record<string, Record<string, string>>;
  /** Container (or init container) to run. @default the first container */
  readonly containerName?: string;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** One container of a workload, with its volumes laid out locally. */
export class LocalPod {
  /** The container as synthesized. */
  public readonly container: any;
  /** Local directory of each claim by claim name. */
  public readonly claimDirs: Record<string, string> = {};
  private readonly mounts: Array<{ podPath: string; localPath: string }> = [];
  private readonly pattern: RegExp;
  private readonly podDir: string;

  constructor(workload: any, options: LocalPodOptions) {
    const spec = podTemplate(workload)?.spec;
    if (!spec) throw new Error(`${workload.kind}/${workload.metadata.name} has no pod template`);
    this.container = options.containerName
      ? [...spec.containers, ...spec.initContainers ?? []].find((c: any) => c.name === options.containerName)
      : spec.containers[0];
    if (!this.container) throw new Error(`${workload.kind}/${workload.metadata.name} has no container ${options.containerName}`);
    const podDir = path.join(options.root, 'pods', `${workload.kind}-${workload.metadata.name}`);
    this.podDir = podDir;
    fs.mkdirSync(podDir, { recursive: true });

    const claimDir = (claimName: string) => {
      const dir = this.claimDirs[claimName] = path.join(options.root, 'claims', claimName);
      fs.mkdirSync(dir, { recursive: true });
      return dir;
    };
    const volumeDirs: Record<string, string> = {};
    // A StatefulSet's claims come from its templates; pod 0's claim is `<template>-<set>-0`.
    for (const t of workload.spec?.volumeClaimTemplates ?? []) {
      volumeDirs[t.metadata.name] = claimDir(`${t.metadata.name}-${workload.metadata.name}-0`);
    }
    for (const v of spec.volumes ?? []) {
      let dir = path.join(podDir, v.name);
      if (v.persistentVolumeClaim) {
        dir = claimDir(v.persistentVolumeClaim.claimName);
      } else if (v.emptyDir) {
        fs.mkdirSync(dir, { recursive: true });
      } else if (v.configMap) {
        const cm = options.objects.find(o => o.kind === 'ConfigMap' && o.metadata.name === v.configMap.name);
        if (!cm) throw new Error(`ConfigMap ${v.configMap.name} of volume ${v.name} is not among the objects`);
        writeFiles(dir, cm.data ?? {}, v.configMap.items, v.configMap.defaultMode);
      } else if (v.secret) {
        const data = options.secrets?.[v.secret.secretName];
        if (!data) throw new Error(`no test contents given for Secret ${v.secret.secretName} of volume ${v.name}`);
        writeFiles(dir, data, v.secret.items, v.secret.defaultMode);
      } else {
        throw new Error(`volume ${v.name}: only claims, emptyDir, ConfigMaps and Secrets are laid out`);
      }
      volumeDirs[v.name] = dir;
    }
    for (const m of this.container.volumeMounts ?? []) {
      const dir = volumeDirs[m.name];
      if (!dir) throw new Error(`mount ${m.mountPath} refers to a missing volume ${m.name}`);
      this.mounts.push({ podPath: m.mountPath, localPath: m.subPath ? path.join(dir, m.subPath) : dir });
    }
    // Longest first, in one pass: a local path (under /tmp) must never be rewritten again.
    const alternatives = this.mounts.map(m => m.podPath).sort((a, b) => b.length - a.length).map(escapeRegExp);
    this.pattern = new RegExp(`(?<![\\w./-])(${alternatives.join('|') || '(?!)'})(?=$|[/"'\\s])`, 'g');
  }

  /** The local path of a path inside the pod (which must be under one of its mounts). */
  public local(podPath: string): string {
    const rewritten = this.remap(podPath);
    if (rewritten === podPath) throw new Error(`${podPath} is not under any volumeMount`);
    return rewritten;
  }

  /** `text` with every pod path under a mount replaced by the local path. */
  public remap(text: string): string {
    return text.replace(this.pattern, p => this.mounts.find(m => m.podPath === p)!.localPath);
  }

  /** The container's environment, paths remapped, with `overrides` on top. */
  public env(overrides: Record<string, string> = {}): Record<string, string> {
    const env: Record<string, string> = {};
    for (const e of this.container.env ?? []) {
      if (e.valueFrom) throw new Error(`env ${e.name} comes from ${JSON.stringify(e.valueFrom)}; only literal values are run`);
      env[e.name] = this.remap(e.value ?? '');
    }
    return { ...env, ...overrides };
  }

  /** Run the container's own command and args. */
  public run(overrides: Record<string, string> = {}): Promise<ExecResult> {
    return this.exec([...(this.container.command ?? []), ...(this.container.args ?? [])], overrides);
  }

  /**
   * Run a command (e.g. a probe's `exec.command`) with the container's environment. Nothing else of
   * this process's environment leaks in but PATH; HOME is the pod's /tmp (or its local directory),
   * so no personal client option file is read.
   */
  public exec(command: string[], overrides: Record<string, string> = {}, timeoutMs = 120_000): Promise<ExecResult> {
    if (command.length === 0) throw new Error('empty command');
    const argv = command.map(a => this.remap(a));
    const home = this.mounts.find(m => m.podPath === '/tmp')?.localPath ?? this.podDir;
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, ...this.env(overrides) };
    return new Promise((resolve, reject) => {
      const child = spawn(argv[0], argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.once('error', e => {
        clearTimeout(timer);
        reject(e);
      });
      child.once('close', code => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }
}

function writeFiles(dir: string, data: Record<string, string>, items: Array<{ key: string; path: string }> | undefined, mode: number | undefined) {
  fs.mkdirSync(dir, { recursive: true });
  for (const { key, path: file } of items ?? Object.keys(data).map(key => ({ key, path: key }))) {
    if (data[key] === undefined) throw new Error(`key ${key} is missing from the volume's source`);
    const target = path.join(dir, file);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, data[key], { mode: mode ?? 0o644 });
  }
}
