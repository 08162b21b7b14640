import * as fs from 'fs';
import * as path from 'path';
import { App, Yaml } from 'cdk8s';
import { IConstruct } from 'constructs';
import { Environment } from './config/load';
import { WordPressChart } from './wordpress-chart';

/** Kinds that hold or protect data: rendered into `storage.k8s.yaml`, apart from the workloads. */
export const STORAGE_KINDS: ReadonlySet<string> = new Set(['Namespace', 'PersistentVolume', 'PersistentVolumeClaim']);

/** Relative path → file content. */
export type RenderedFiles = Map<string, string>;

/** The charts of one environment, one per site. */
export function buildEnvironment(env: Environment): App {
  const app = new App({ outdir: 'unused' });
  for (const [name, site] of Object.entries(env.sites)) {
    new WordPressChart(app, name, { site });
  }
  return app;
}

/**
 * Every site of every environment as manifests, in memory:
 * `<env>/<site>/storage.k8s.yaml` (namespace, claims, volumes) and `<env>/<site>/app.k8s.yaml`.
 */
export function renderEnvironments(envs: Environment[]): RenderedFiles {
  const files: RenderedFiles = new Map();
  for (const env of envs) {
    // Each site in an App of its own: `Chart.toJson()` resolves dependencies and validates the whole
    // App its chart is in, so with every site in one App, N sites cost O(N²) (1000 sites: 45 s).
    const charts = Object.entries(env.sites).map(([name, site]) => new WordPressChart(new App({ outdir: 'unused' }), name, { site }));
    checkConstructs(charts.map(chart => chart.node.root));
    for (const chart of charts) {
      const objects = chart.toJson();
      const dir = `${env.name}/${chart.node.id}`;
      files.set(`${dir}/storage.k8s.yaml`, Yaml.stringify(...objects.filter(o => STORAGE_KINDS.has(o.kind))));
      files.set(`${dir}/app.k8s.yaml`, Yaml.stringify(...objects.filter(o => !STORAGE_KINDS.has(o.kind))));
    }
  }
  return files;
}

/** What `App.synth()` checks before writing: every construct's own validation, all apps at once. */
function checkConstructs(apps: IConstruct[]) {
  const errors = apps.flatMap(app => app.node.findAll()).flatMap(c => c.node.validate().map(e => `[${c.node.path}] ${e}`));
  if (errors.length) throw new Error(`Validation failed:\n  ${errors.join('\n  ')}`);
}

/** Write files under `dir` (which must not exist yet). */
export function writeFiles(files: RenderedFiles, dir: string) {
  const made = new Set<string>();
  for (const [rel, content] of files) {
    const target = path.join(dir, rel);
    const parent = path.dirname(target);
    if (!made.has(parent)) {
      fs.mkdirSync(parent, { recursive: true });
      made.add(parent);
    }
    fs.writeFileSync(target, content);
  }
}

/**
 * Replace `outDir` with exactly `files`: written beside it first, then swapped in by renames, so a
 * failure at any point leaves the previous tree in place.
 */
export function publish(files: RenderedFiles, outDir: string) {
  const staging = `${outDir}.staging-${process.pid}`;
  const previous = `${outDir}.previous-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  writeFiles(files, staging);
  const hadPrevious = fs.existsSync(outDir);
  if (hadPrevious) fs.renameSync(outDir, previous);
  fs.renameSync(staging, outDir);
  if (hadPrevious) fs.rmSync(previous, { recursive: true, force: true });
}
