import * as fs from 'fs';
import * as path from 'path';
import { App } from 'cdk8s';
import { Environment } from '../config/load';
import { RenderedFiles, renderSites } from './render-sites';
import { WordPressChart } from '../chart/wordpress-chart';

export { STORAGE_KINDS } from './render-sites';
export type { RenderedFiles } from './render-sites';

/** The charts of one environment, one per site. */
export function buildEnvironment(env: Environment): App {
  const app = new App({ outdir: 'unused' });
  for (const [name, site] of Object.entries(env.sites)) {
    new WordPressChart(app, name, { site });
  }
  return app;
}

export interface RenderOptions {
  /**
   * Render on a worker thread as well, once there are enough sites to repay starting it.
   *
   * The worker's script is the file holding lib/render/render-sites.ts: run from TypeScript, a loader node
   * was started with (`node -r sucrase/register/ts`) is inherited by the worker, jest's transform is
   * not (the main thread then renders every site); bundled, it is the bundle, whose entry must do
   * nothing in a worker thread (see main.ts). Output and errors are the same either way.
   * @default false
   */
  readonly parallel?: boolean;
}

/**
 * Every site of every environment as manifests, in memory:
 * `<env>/<site>/storage.k8s.yaml` (namespace, claims, volumes) and `<env>/<site>/app.k8s.yaml`.
 * Construct validation runs over every site of an environment before any of its errors is thrown.
 */
export function renderEnvironments(envs: Environment[], options: RenderOptions = {}): RenderedFiles {
  const jobs = envs.flatMap((env, i) => Object.entries(env.sites).map(([name, site]) => ({ env: i, envName: env.name, name, site })));
  return renderSites(jobs, options.parallel ?? false);
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
 * Replace `outDir` with exactly `files`: written into a staging folder beside it, then swapped in
 * by renames. If a write or a rename fails, the staging folder is removed, the previous tree is
 * left (or put back) in place, and the error is rethrown.
 */
export function publish(files: RenderedFiles, outDir: string) {
  const staging = `${outDir}.staging-${process.pid}`;
  const previous = `${outDir}.previous-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  try {
    writeFiles(files, staging);
    const hadPrevious = fs.existsSync(outDir);
    if (hadPrevious) fs.renameSync(outDir, previous);
    try {
      fs.renameSync(staging, outDir);
    } catch (e) {
      if (hadPrevious) fs.renameSync(previous, outDir);
      throw e;
    }
    if (hadPrevious) fs.rmSync(previous, { recursive: true, force: true });
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}
