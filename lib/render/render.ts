import { App } from 'cdk8s';
import { Environment } from '../config/load';
import { environmentKustomization, siteKustomization } from './kustomization';
import { RenderThread, RenderedFiles, SiteSink, renderSites } from './render-sites';
import { WordPressChart } from '../chart/wordpress-chart';

export { STORAGE_KINDS } from './render-sites';
export type { RenderedFiles, SiteSink } from './render-sites';
export { publish } from './staged-tree';

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
   * not (the main thread then renders every site); bundled, it is the bundle (under scripts/app.js,
   * that loader, which runs the same bundle in the worker), whose entry must do nothing in a worker
   * thread (see main.ts). Output and errors are the same either way.
   * @default false
   */
  readonly parallel?: boolean;
  /**
   * With `parallel`, the second thread to render on, started by the caller ahead of time (see
   * `worthAnEarlyThread`); it is stopped once the sites are rendered, or at once when there are too
   * few to share.
   * @default a thread started when the sites are known, if they are enough
   */
  readonly thread?: RenderThread;
}

/**
 * Every site of every environment as manifests, handed to `sink` site by site in order:
 * `<env>/<site>/storage.k8s.yaml` (namespace, claims, volumes), `<env>/<site>/app.k8s.yaml`, its
 * README.md and `kustomization.yaml`; the last site of an environment also brings `<env>/kustomization.yaml`.
 * Construct validation runs over every site of an environment before any of its errors is thrown;
 * the first environment with an error throws it once its sites are done (see `renderSites`).
 */
export function streamEnvironments(envs: Environment[], options: RenderOptions, sink: SiteSink) {
  const jobs = envs.flatMap((env, i) => Object.entries(env.sites).map(([name, site]) => ({ env: i, envName: env.name, name, site })));
  const last = new Set(jobs.filter((job, i) => jobs[i + 1]?.env !== job.env));
  renderSites(jobs, options.parallel ?? false, (job, files) => {
    const more: Array<readonly [string, string]> = [siteKustomization(job.envName, job.name, files)];
    if (last.has(job)) more.push(environmentKustomization(job.envName, Object.keys(envs[job.env].sites)));
    sink(job, [...files, ...more]);
  }, options.thread);
}

/** Every site of every environment as manifests (see `streamEnvironments`), in memory. */
export function renderEnvironments(envs: Environment[], options: RenderOptions = {}): RenderedFiles {
  const files: RenderedFiles = new Map();
  streamEnvironments(envs, options, (_, site) => site.forEach(([file, content]) => files.set(file, content)));
  return files;
}
