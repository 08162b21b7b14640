import * as os from 'os';
import { MessageChannel, MessagePort, Worker, isMainThread, receiveMessageOnPort, workerData } from 'worker_threads';
import { App } from 'cdk8s';
import { SiteConfig } from '../config/schema';
import { WordPressChart } from '../chart/wordpress-chart';
import { siteReadme } from './site-readme';
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

/** Receives each site's files, in the order of the jobs, as soon as they and all before them are rendered. */
export type SiteSink = (job: SiteJob, files: ReadonlyArray<readonly [string, string]>) => void;

/**
 * Renders every site's `storage.k8s.yaml`, `app.k8s.yaml` and README.md (its diagram) and hands them to `sink` in the order
 * of `jobs`, one site at a time, so that nothing but the sites in flight is held in memory.
 *
 * An environment that fails throws once its last site is done (see `EnvironmentOutcome`), after
 * the sink received the files of its sites that did render: a caller that must not publish half
 * an environment stages what it receives. With `parallel`, a worker thread renders too, taking
 * sites from a shared queue; the sink calls and the error (if any) are the same either way.
 */
export function renderSites(jobs: readonly SiteJob[], parallel: boolean, sink: SiteSink, thread?: RenderThread): void {
  const twoThreads = parallel && jobs.length >= MIN_SITES_FOR_WORKER && os.availableParallelism() > 1;
  const env = new EnvironmentOutcome();
  const deliver = (i: number, outcome: SiteOutcome) => {
    const job = jobs[i];
    if (outcome.kind === 'files') sink(job, outcome.files);
    else env.add(outcome);
    if (i + 1 === jobs.length || jobs[i + 1].env !== job.env) env.end();
  };
  if (!twoThreads) {
    thread?.stop();
    jobs.forEach((job, i) => deliver(i, renderSite(job)));
    return;
  }
  const second = thread ?? RenderThread.start();
  try {
    renderOnTwoThreads(jobs, deliver, second);
  } finally {
    second.stop();
  }
}

/**
 * Whether a folder of environment files is large enough that its sites will likely go to two
 * threads: then `RenderThread.start()` before loading it lets the worker load its modules (0.2 s)
 * while this thread parses and checks the config (0.25 s at 1,000 sites). The bound allows 80
 * bytes a site (a site given only its host takes about 60), so the example configs, a few sites
 * with many settings each, stay below it; when the guess is wrong the worker is stopped unused,
 * or starts later.
 */
export function worthAnEarlyThread(configBytes: number): boolean {
  return configBytes >= MIN_SITES_FOR_WORKER * 80 && os.availableParallelism() > 1;
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
        [`${dir}/README.md`, siteReadme(job.envName, job.name, objects)],
      ],
    };
  } catch (error) {
    return { kind: 'render', error };
  }
}

/**
 * The error of one environment, chosen as if its charts were all built, then all checked, then all
 * rendered: the first chart that could not be built, else every construct validation message, else
 * the first chart that could not be rendered.
 */
class EnvironmentOutcome {
  private failures: Array<Exclude<SiteOutcome, { kind: 'files' }>> = [];

  public add(failure: Exclude<SiteOutcome, { kind: 'files' }>) {
    this.failures.push(failure);
  }

  /** Throws the environment's error, if any; then starts over for the next environment. */
  public end() {
    const failures = this.failures;
    this.failures = [];
    const failed = (kind: 'construct' | 'render') => failures.find((o): o is Extract<SiteOutcome, { error: unknown }> => o.kind === kind);
    const unbuilt = failed('construct');
    if (unbuilt) throw unbuilt.error;
    const invalid = failures.flatMap(o => (o.kind === 'invalid' ? o.messages : []));
    if (invalid.length) throw new Error(`Validation failed:\n  ${invalid.join('\n  ')}`);
    const unrendered = failed('render');
    if (unrendered) throw unrendered.error;
  }
}

// --- A second thread ----------------------------------------------------------------------------
// Both threads take the next site from a counter in shared memory until none is left, so neither
// waits on the other while there is work, whatever the worker's start-up costs. The worker posts
// each outcome as soon as it has it and counts it in shared memory; this thread picks them up
// between its own sites and, once the queue is empty, waits for the rest synchronously
// (Atomics.wait), which keeps `synthesize()` synchronous. Outcomes are delivered in site order, so
// the output does not depend on which thread rendered what, and only the sites rendered ahead of
// the next one due wait in memory.

/** Marks the `workerData` of our worker, whose script is this module (or the app bundle holding it). */
const WORKER_TAG = 'cdk8s-wordpress:render-sites';
/** Slots of the shared Int32Array: the next site to take, and how many outcomes the worker posted. */
const NEXT = 0;
const POSTED = 1;
/**
 * A site takes milliseconds: when the worker posts nothing for this long it has died (e.g. out of
 * memory) and this thread renders the sites it took. A worker that cannot load its script (under
 * jest) takes no site, so nothing waits for it.
 */
const WORKER_TIMEOUT_MS = 60_000;

interface WorkerInput {
  readonly [WORKER_TAG]: true;
  readonly queue: Int32Array;
  readonly port: MessagePort;
}

/** What the worker is sent once the sites are known: all of them; it takes them from the shared counter. */
type WorkerJobs = readonly SiteJob[];

/** What the worker posts per site: its outcome, or none when it could not be sent (this thread renders it). */
type WorkerReply = readonly [number, SiteOutcome | undefined];

/**
 * The second render thread: a worker running this module's script, started before the sites are
 * known (see `worthAnEarlyThread`) or by `renderSites` itself, and sent the sites once they are.
 */
export class RenderThread {
  /** Starts the worker; it loads its modules, then waits for the sites. */
  public static start(): RenderThread {
    const { port1, port2 } = new MessageChannel();
    const queue = new Int32Array(new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT));
    const input: WorkerInput = { [WORKER_TAG]: true, queue, port: port2 };
    const worker = new Worker(__filename, { workerData: input, transferList: [port2] });
    // Whatever fails in the worker fails again on this thread, which renders its sites once more.
    worker.on('error', () => undefined);
    return new RenderThread(worker, port1, queue);
  }

  private stopped = false;

  private constructor(private readonly worker: Worker, readonly port: MessagePort, readonly queue: Int32Array) {}

  /** Takes no more sites and ends the worker (whether it was sent any or not). */
  public stop() {
    if (this.stopped) return;
    this.stopped = true;
    this.port.close();
    void this.worker.terminate();
  }
}

function renderOnTwoThreads(jobs: readonly SiteJob[], deliver: (i: number, outcome: SiteOutcome) => void, thread: RenderThread) {
  const { port, queue } = thread;
  port.postMessage(jobs satisfies WorkerJobs);
  const ahead = new Map<number, SiteOutcome>();
  let due = 0;
  const arrived = (i: number, outcome: SiteOutcome) => {
    ahead.set(i, outcome);
    for (let next = ahead.get(due); next; next = ahead.get(due)) {
      ahead.delete(due);
      deliver(due++, next);
    }
  };
  const receive = () => {
    for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) {
      const [i, outcome] = m.message as WorkerReply;
      arrived(i, outcome ?? renderSite(jobs[i]));
    }
  };
  try {
    takeSites(jobs, queue, (i, outcome) => {
      arrived(i, outcome);
      receive();
    });
    while (due < jobs.length) {
      const posted = Atomics.load(queue, POSTED);
      receive();
      if (due < jobs.length && Atomics.wait(queue, POSTED, posted, WORKER_TIMEOUT_MS) === 'timed-out') {
        // Dead: render what it took, then anything it still posts is late and ignored.
        for (let i = due; i < jobs.length; i++) if (!ahead.has(i)) arrived(i, renderSite(jobs[i]));
      }
    }
  } finally {
    // After an environment's error (thrown by `deliver`), the worker takes no more sites.
    Atomics.store(queue, NEXT, jobs.length);
  }
}

function takeSites(jobs: readonly SiteJob[], queue: Int32Array, done: (i: number, outcome: SiteOutcome) => void) {
  for (let i = Atomics.add(queue, NEXT, 1); i < jobs.length; i = Atomics.add(queue, NEXT, 1)) {
    done(i, renderSite(jobs[i]));
  }
}

function serveWorker({ port, queue }: WorkerInput) {
  port.once('message', (jobs: WorkerJobs) => takeSites(jobs, queue, (i, outcome) => {
    try {
      port.postMessage([i, outcome] satisfies WorkerReply);
    } catch {
      // Not cloneable (e.g. a thrown non-Error object): the main thread renders this site itself.
      port.postMessage([i, undefined] satisfies WorkerReply);
    }
    Atomics.add(queue, POSTED, 1);
    Atomics.notify(queue, POSTED);
  }));
}

if (!isMainThread && (workerData as Partial<WorkerInput> | undefined)?.[WORKER_TAG]) serveWorker(workerData);
