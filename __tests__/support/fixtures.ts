import * as fs from 'fs';
import * as path from 'path';
import { App, Chart, Testing } from 'cdk8s';
import { Environment, loadConfigDir } from '../../lib/config/load';
import { SiteConfig } from '../../lib/config/schema';
import { buildEnvironment } from '../../lib/render/render';
import { WordPressChart } from '../../lib/chart/wordpress-chart';

import { REPO } from './paths';

export { REPO, tempDir } from './paths';

/** Workload kinds and where their pod template lives. */
export const POD_TEMPLATE_PATHS: Record<string, string[]> = {
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  Job: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
};

export function podTemplate(obj: any): any | undefined {
  const p = POD_TEMPLATE_PATHS[obj.kind];
  return p ? p.reduce((o, k) => o?.[k], obj) : undefined;
}

/**
 * The labels of each pod a workload runs: its template's, plus, for a StatefulSet, the
 * `statefulset.kubernetes.io/pod-name` label its controller adds to pod `<name>-<ordinal>`.
 */
export function podLabelsOf(workload: any): Array<Record<string, string>> {
  const labels = podTemplate(workload)?.metadata?.labels ?? {};
  if (workload.kind !== 'StatefulSet') return [labels];
  return Array.from({ length: workload.spec.replicas ?? 1 }, (_, i) => ({ ...labels, 'statefulset.kubernetes.io/pod-name': `${workload.metadata.name}-${i}` }));
}

/** A minimal site that renders with every default. */
export const MINIMAL_SITE: SiteConfig = { exposure: { host: 'blog.example.com' } };

/** Sites that exercise the code paths the examples leave out. */
export const SITE_VARIANTS: Record<string, SiteConfig> = {
  minimal: MINIMAL_SITE,
  nodePort: { wordpress: { replicas: 1, content: { accessModes: ['ReadWriteOnce'] } }, exposure: { type: 'nodePort', nodePort: 30080 } },
  loadBalancer: { exposure: { type: 'loadBalancer' } },
  autoscaled: {
    wordpress: { autoscaling: { minReplicas: 2, maxReplicas: 5 }, topologySpread: { topologyKey: 'hostname', whenUnsatisfiable: 'DoNotSchedule' }, priorityClassName: 'web' },
    exposure: { host: 'h.example.com' },
  },
  replicated: {
    database: { mode: 'replication', replicas: 2, replication: { user: 'repl', primary: 1, maxLag: '10s' }, secret: { name: 'db', replicationPasswordKey: 'repl' } },
    exposure: { host: 'r.example.com' },
  },
  existingClaim: { wordpress: { content: { existingClaim: 'legacy-content' } }, exposure: { host: 'a.example.com' } },
  hardZones: {
    wordpress: { placement: { antiAffinity: 'hard', topologyKey: 'zone', nodeAffinity: [{ key: 'pool', operator: 'In', values: ['web'], required: true }] } },
    database: { placement: { antiAffinity: 'none', nodeAffinity: [{ key: 'disk', operator: 'Exists' }] } },
    exposure: { host: 'b.example.com', tls: { secretName: 'b-tls' } },
  },
};

/** Every variant's objects, labelled `variant/<name>`. */
export function variantSites(): Array<{ label: string; objects: any[] }> {
  return Object.entries(SITE_VARIANTS).map(([label, site]) => ({ label: `variant/${label}`, objects: siteObjects(site) }));
}

/** Objects of one site rendered from a config section. */
export function siteObjects(site: SiteConfig = MINIMAL_SITE, name = 'blog'): any[] {
  const app = Testing.app();
  return new WordPressChart(app, name, { site }).toJson();
}

/** The example environments in config/, validated. */
export function exampleEnvironments(): Environment[] {
  const result = loadConfigDir(path.join(REPO, 'config'));
  if (result.errors.length) throw new Error(result.errors.map(e => e.message).join('\n'));
  return result.environments;
}

/** Every example site's objects, labelled `env/site`. */
export function exampleSites(): Array<{ label: string; objects: any[] }> {
  return exampleEnvironments().flatMap(env => {
    const app: App = buildEnvironment(env);
    return app.node.children
      .filter((c): c is Chart => c instanceof Chart)
      .map(chart => ({ label: `${env.name}/${chart.node.id}`, objects: chart.toJson() }));
  });
}

/**
 * The statement of README "Metrics" that creates the monitoring user, with `password` where the
 * README reads the Secret with kubectl.
 */
export function readmeMonitoringStatement(password: string): string {
  const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Metrics'), readme.indexOf('## Backups, restores'));
  const line = section.split('\n').find(l => l.startsWith('CREATE USER'));
  if (!line) throw new Error('README "Metrics" has no CREATE USER statement');
  return line.replace(/\$\(kubectl [^)]*\)/, password);
}

/** Every file under `dir` with its content, for byte-for-byte comparisons of whole trees. */
export function readTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const visit = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) visit(full);
      else out[path.relative(dir, full)] = fs.readFileSync(full, 'utf8');
    }
  };
  if (fs.existsSync(dir)) visit(dir);
  return out;
}

export const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms));

/** Poll `check` every `intervalMs` until it returns true, or fail with `what` after `ms`. */
export async function eventually(what: string, check: () => Promise<boolean>, ms = 30_000, intervalMs = 250): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting until ${what}`);
    await sleep(intervalMs);
  }
}
