import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { REPO, tempDir } from './support/fixtures';

// `renderEnvironments(envs, { parallel: true })` starts a worker thread, which cannot load
// TypeScript under jest: this script is bundled with esbuild and run by node, as the app is, and
// compares rendering on two threads with rendering on one in that same process.
const SCRIPT = `
import { renderEnvironments } from ${JSON.stringify(path.join(REPO, 'lib', 'render', 'render'))};
import { RenderThread } from ${JSON.stringify(path.join(REPO, 'lib', 'render', 'render-sites'))};
// require, not import: the patch below must reach render-sites' calls.
const threads = require('worker_threads');

// In the worker, this bundle only serves as the render worker's script (as main.ts does).
if (threads.isMainThread) {
  // Counts the sites the worker sends back, one message each: a worker that failed would leave them all to this thread.
  let fromWorker = 0;
  const receive = threads.receiveMessageOnPort;
  threads.receiveMessageOnPort = (port: any) => {
    const reply = receive(port);
    fromWorker += reply ? 1 : 0;
    return reply;
  };
  const env = (name: string, n: number, site: (i: number) => any): any => {
    const sites = Object.fromEntries(Array.from({ length: n }, (_, i) => [name + '-' + i, site(i)]));
    return { name, file: name + '.yaml', config: { sites }, sites };
  };
  const render = (envs: any[], parallel: boolean, thread?: RenderThread) => {
    try {
      return [...renderEnvironments(envs, { parallel, thread })];
    } catch (e) {
      return 'error: ' + (e as Error).message;
    }
  };
  // early: the second thread started before the sites are known, as synthesize() does for a large config.
  const compare = (envs: any[], early = false) => {
    fromWorker = 0;
    const two = render(envs, true, early ? RenderThread.start() : undefined);
    return { same: JSON.stringify(two) === JSON.stringify(render(envs, false)), fromWorker, files: Array.isArray(two) ? two.length : two };
  };
  const host = (name: string) => (i: number) => ({ exposure: { host: name + '-' + i + '.example.com' } });
  // From site 60 of the second environment on, every chart fails to build, each with its own message.
  const badFrom60 = (i: number) => (i < 60 ? host('b')(i) : { exposure: { host: 'b.example.com' }, wordpress: { resources: { requests: { memory: 'lots-' + i } } } });
  console.log(JSON.stringify({
    good: compare([env('a', 100, host('a')), env('b', 100, host('b'))]),
    bad: compare([env('a', 100, host('a')), env('b', 200, badFrom60)]),
    early: compare([env('a', 100, host('a')), env('b', 100, host('b'))], true),
    earlyButFew: compare([env('a', 3, host('a'))], true),
  }));
}
`;

test('two threads render the same files, and fail with the same error, as one', () => {
  const work = tempDir('cdk8s-wp-parallel-');
  try {
    fs.writeFileSync(path.join(work.dir, 'compare.ts'), SCRIPT);
    const esbuild = path.join(REPO, 'node_modules', '.bin', 'esbuild');
    const bundle = spawnSync(esbuild, ['compare.ts', '--bundle', '--platform=node', '--packages=external', '--log-level=warning', '--outfile=compare.js'], { cwd: work.dir, encoding: 'utf8' });
    expect(bundle.stderr).toBe('');
    // The bundle lives outside the repository: packages resolve through NODE_PATH.
    const env = { ...process.env, NODE_PATH: path.join(REPO, 'node_modules') };
    const child = spawnSync(process.execPath, ['compare.js'], { cwd: work.dir, env, encoding: 'utf8' });
    expect(child.stderr).toBe('');
    const result = JSON.parse(child.stdout);
    // 200 sites: two manifests, a README.md and a kustomization.yaml each; a kustomization.yaml per environment.
    expect(result.good).toEqual({ same: true, fromWorker: expect.any(Number), files: 200 * 4 + 2 });
    expect(result.good.fromWorker).toBeGreaterThan(0);
    expect(result.bad).toEqual({ same: true, fromWorker: expect.any(Number), files: 'error: "lots-60" is not a size such as "512Mi" or "10Gi"' });
    expect(result.early).toEqual({ same: true, fromWorker: expect.any(Number), files: 200 * 4 + 2 });
    expect(result.early.fromWorker).toBeGreaterThan(0);
    // Too few sites to share: the early thread is stopped unused, and the process still exits.
    expect(result.earlyButFew).toEqual({ same: true, fromWorker: 0, files: 3 * 4 + 1 });
  } finally {
    work.cleanup();
  }
}, 60_000);
