import * as os from 'os';
import { MessageChannel, MessagePort, Worker, isMainThread, receiveMessageOnPort, workerData } from 'worker_threads';
import { App } from 'cdk8s';
import { SiteConfig } from '../config/schema';
import { WordPressChart } from '../chart/wordpress-chart';
import { emitYaml } from './yaml-emitter';

/** Kinds that hold or protect data: rendered into `storage.k8s.yaml`, apart from the workloads. */
export const STORAGE_KINDS: ReadonlySet<string> = new Set(['Namespace', 'PersistentVolume', 'PersistentVolumeClaim']);

/** Relative path → file content. */
export type RenderedFiles = Map<string, string>;

/** One site to render, with the environment it belongs to. */
export interface SiteJob {
  /** Position of the environment: sites of one environment are consecutive. */
  readonly env: number;
  readonly envName: string;
  readonly name: string;
  readonly site: SiteConfig;
}

/**
 * Below this many sites (3–5 ms each) the worker would be loading its modules (0.3 s bundled, 0.7 s
 * through sucrase) for most of the run, taking the second core from this thread's garbage collector
 * while rendering few sites itself.
 */
const MIN_SITES_FOR_WORKER = 200;

/**
 * Every site's `storage.k8s.yaml` and `app.k8s.yaml`, in the order of `jobs`.
 *
 * With `parallel`, a worker thread renders too, taking sites from a shared queue; the files and
 * the error (if any) are the same either way.
 */
export function renderSites(jobs: readonly SiteJob[], parallel: boolean): RenderedFiles {
  const twoThreads = parallel && jobs.length >= MIN_SITES_FOR_WORKER && os.availableParallelism() > 1;
  return collect(jobs, twoThreads ? renderOnTwoThreads(jobs) : jobs.map(renderSite));
}

type SiteOutcome =
  | { readonly kind: 'files'; readonly files: Array<[string, string]> }
  | { readonly kind: 'construct' | 'render'; readonly error: unknown }
  | { readonly kind: 'invalid'; readonly messages: string[] };

function renderSite(job: SiteJob): SiteOutcome {
  let chart: WordPressChart;
  try {
    // Each site in an App of its own: `Chart.toJson()` resolves dependencies and validates the whole
    // App its chart is in, so with every site in one App, N sites cost O(N²) (1000 sites: 45 s).
    chart = new WordPressChart(new App({ outdir: 'unused' }), job.name, { site: job.site });
  } catch (error) {
    return { kind: 'construct', error };
  }
  // What `App.synth()` checks before writing: every construct's own validation.
  const messages = chart.node.root.node.findAll().flatMap(c => c.node.validate().map(e => `[${c.node.path}] ${e}`));
  if (messages.length) return { kind: 'invalid', messages };
  try {
    const objects = chart.toJson();
    const dir = `${job.envName}/${job.name}`;
    return {
      kind: 'files',
      files: [
        [`${dir}/storage.k8s.yaml`, emitYaml(...objects.filter(o => STORAGE_KINDS.has(o.kind)))],
        [`${dir}/app.k8s.yaml`, emitYaml(...objects.filter(o => !STORAGE_KINDS.has(o.kind)))],
      ],
    };
  } catch (error) {
    return { kind: 'render', error };
  }
}

/**
 * The files, or the error of the first environment that failed, chosen as if its charts were all
 * built, then all checked, then all rendered: the first chart that could not be built, else every
 * construct validation message, else the first chart that could not be rendered.
 */
function collect(jobs: readonly SiteJob[], outcomes: readonly SiteOutcome[]): RenderedFiles {
  const files: RenderedFiles = new Map();
  for (let start = 0, end = 0; start < jobs.length; start = end) {
    while (end < jobs.length && jobs[end].env === jobs[start].env) end++;
    const env = outcomes.slice(start, end);
    const failed = (kind: 'construct' | 'render') => env.find((o): o is Extract<SiteOutcome, { error: unknown }> => o.kind === kind);
    const unbuilt = failed('construct');
    if (unbuilt) throw unbuilt.error;
    const invalid = env.flatMap(o => (o.kind === 'invalid' ? o.messages : []));
    if (invalid.length) throw new Error(`Validation failed:\n  ${invalid.join('\n  ')}`);
    const unrendered = failed('render');
    if (unrendered) throw unrendered.error;
    for (const o of env) {
      if (o.kind === 'files') o.files.forEach(([file, content]) => files.set(file, content));
    }
  }
  return files;
}

// --- A second thread ----------------------------------------------------------------------------
// Both threads take the next site from a counter in shared memory until none is left, so neither
// waits on the other while there is work, whatever the worker's start-up costs. The worker then
// sends its outcomes; this thread waits for them synchronously (Atomics.wait), which keeps
// `synthesize()` synchronous. Outcomes are put back in site order: the output does not depend on
// which thread rendered what.

/** Marks the `workerData` of our worker, whose script is this module (or the app bundle holding it). */
const WORKER_TAG = 'cdk8s-wordpress:render-sites';
/** Slots of the shared Int32Array: the next site to take, and whether the worker has replied. */
const NEXT = 0;
const REPLIED = 1;
/**
 * Once the queue is empty the worker has at most one site left to finish; after this long it has
 * died (e.g. out of memory) and this thread renders the sites it took. A worker that cannot load
 * its script (under jest) takes no site, so nothing waits for it.
 */
const WORKER_TIMEOUT_MS = 60_000;

interface WorkerInput {
  readonly [WORKER_TAG]: true;
  readonly jobs: readonly SiteJob[];
  readonly queue: Int32Array;
  readonly port: MessagePort;
}

function renderOnTwoThreads(jobs: readonly SiteJob[]): SiteOutcome[] {
  const queue = new Int32Array(new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT));
  const { port1, port2 } = new MessageChannel();
  const input: WorkerInput = { [WORKER_TAG]: true, jobs, queue, port: port2 };
  const worker = new Worker(__filename, { workerData: input, transferList: [port2] });
  // Whatever fails in the worker fails again below, where its sites are rendered once more.
  worker.on('error', () => undefined);
  const outcomes: Array<SiteOutcome | undefined> = new Array(jobs.length);
  let taken = 0;
  takeSites(input, (i, outcome) => {
    outcomes[i] = outcome;
    taken++;
  });
  if (taken < jobs.length) {
    Atomics.wait(queue, REPLIED, 0, WORKER_TIMEOUT_MS);
    const reply = receiveMessageOnPort(port1)?.message as Array<[number, SiteOutcome]> | undefined;
    reply?.forEach(([i, outcome]) => (outcomes[i] = outcome));
  }
  port1.close();
  void worker.terminate();
  return jobs.map((job, i) => outcomes[i] ?? renderSite(job));
}

function takeSites(input: Pick<WorkerInput, 'jobs' | 'queue'>, done: (i: number, outcome: SiteOutcome) => void) {
  for (let i = Atomics.add(input.queue, NEXT, 1); i < input.jobs.length; i = Atomics.add(input.queue, NEXT, 1)) {
    done(i, renderSite(input.jobs[i]));
  }
}

function serveWorker(input: WorkerInput) {
  const outcomes: Array<[number, SiteOutcome]> = [];
  try {
    takeSites(input, (i, outcome) => outcomes.push([i, outcome]));
    input.port.postMessage(outcomes);
  } catch {
    // Nothing sent (e.g. an error that cannot be cloned): the main thread renders these sites itself.
  } finally {
    Atomics.store(input.queue, REPLIED, 1);
    Atomics.notify(input.queue, REPLIED);
  }
}

if (!isMainThread && (workerData as Partial<WorkerInput> | undefined)?.[WORKER_TAG]) serveWorker(workerData);
