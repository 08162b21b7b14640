import { spawn, spawnSync, SpawnSyncOptions } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

// `npm run bench`: the figures of BENCHMARKS.md, each the median of several runs next to its floor
// or target. It prints; it never fails a build on a missed target (exit 1 only when a command it
// times fails). Offline: the cdk8s CLI runs without its upgrade check. Temp dirs are removed.
// Besides wall time it reports CPU time (user + sys of the whole process tree), which load from
// other processes on the machine changes far less.
//
//   npm run bench                         all three sections, 5 runs each (3 at 10,000 sites)
//   npm run bench -- --runs=7 --only=synth,sites --sites=1,1000,10000 --large-runs=1 --test-runs=3

const REPO = path.resolve(__dirname, '..');
/** `npm run synth`: the wrapper around `cdk8s synth --check-upgrade=false`, which every figure runs. */
const SYNTH_SCRIPT = path.join('scripts', 'synth.js');
const SYNTH_RATIO_TARGET = 1.2;
/** 1,000 sites over 1 site, end to end through the CLI. */
const SITES_DELTA_TARGET_S = 2.5;
const SITES_DELTA_AT = 1000;
/** Peak RSS of the whole process tree (wrapper, CLI, shell, app) at the largest N. */
const SITES_RSS_TARGET_MB = 1024;
/** "Linear": ms/site at the largest N is at most this much above the one at N = 1,000. */
const LINEAR_TOLERANCE = 1.25;
/** From this many sites on, a run takes close to a minute: `--large-runs` runs instead of `--runs`. */
const LARGE_N = 5000;
const TEST_TARGET_S = 30;

interface Options {
  runs: number;
  largeRuns: number;
  testRuns: number;
  only: Set<string>;
  sites: number[];
}

interface Row {
  figure: string;
  median: string;
  against: string;
  verdict: string;
}

const temps: string[] = [];

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  process.on('exit', cleanup);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      cleanup();
      process.exit(130);
    });
  }
  const rows: Row[] = [];
  if (opts.only.has('synth')) rows.push(...synthBench(opts));
  if (opts.only.has('sites')) rows.push(...(await sitesBench(opts)));
  if (opts.only.has('test')) rows.push(...testBench(opts));
  console.log(`\n${describeMachine()}\n`);
  console.log(table(rows));
}

function parseArgs(args: string[]): Options {
  const get = (name: string) => args.find(a => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const unknown = args.filter(a => !/^--(runs|large-runs|test-runs|only|sites)=/.test(a));
  if (unknown.length) throw new Error(`unknown argument(s) ${unknown.join(' ')}; see the top of scripts/bench.ts`);
  const runs = Number(get('runs') ?? 5);
  const opts: Options = {
    runs,
    largeRuns: Number(get('large-runs') ?? Math.min(runs, 3)),
    testRuns: Number(get('test-runs') ?? runs),
    only: new Set((get('only') ?? 'synth,sites,test').split(',')),
    sites: (get('sites') ?? '1,1000,10000').split(',').map(Number),
  };
  if (!(opts.runs >= 1 && opts.largeRuns >= 1 && opts.testRuns >= 1) || opts.sites.some(n => !(n >= 1))) {
    throw new Error('--runs, --large-runs, --test-runs and --sites take positive numbers');
  }
  return opts;
}

// ---------------------------------------------------------------------------------------------
// 1. `npm run synth` of the default app against the floor: the same wrapper, CLI and flags,
//    synthesizing one empty chart from plain JavaScript.

function synthBench(opts: Options): Row[] {
  const checkout = checkoutCopy();
  const floor = floorProject();
  const app = appCommand(checkout);
  const scratch = path.join(checkout, '.cdk8s-out');
  const timings = { floor: [] as Timing[], synth: [] as Timing[], cold: [] as Timing[], floorApp: [] as Timing[], app: [] as Timing[] };
  // The checkout copy starts without scripts/app.js's cache: the first run fills it, and is not counted.
  timed(process.execPath, [SYNTH_SCRIPT], { cwd: checkout });
  for (let i = 0; i < opts.runs; i++) {
    progress(`synth run ${i + 1}/${opts.runs}`);
    // Alternate the order so that drift in machine load hits both sides alike.
    const pair = [
      () => timings.floor.push(timed(process.execPath, [SYNTH_SCRIPT], { cwd: floor })),
      () => {
        fs.rmSync(scratch, { recursive: true, force: true });
        timings.synth.push(timed(process.execPath, [SYNTH_SCRIPT], { cwd: checkout }));
      },
    ];
    for (const run of i % 2 ? pair.reverse() : pair) run();
    // As after a clone, `npm ci` or an edit of the sources: no bundle and no code cache yet.
    const cache = tempDir('cdk8s-wp-bench-app-cache-');
    timings.cold.push(timed(process.execPath, [SYNTH_SCRIPT], { cwd: checkout, env: { ...process.env, CDK8S_WORDPRESS_CACHE_DIR: cache } }));
    timings.floorApp.push(timed(process.execPath, ['main.js'], { cwd: floor, env: { ...process.env, CDK8S_OUTDIR: 'dist' } }));
    fs.rmSync(scratch, { recursive: true, force: true });
    timings.app.push(timed(app, [], { cwd: checkout, shell: true, env: { ...process.env, CDK8S_OUTDIR: '.cdk8s-out' } }));
  }
  const [floorS, synthS, coldS] = [medianOf(timings.floor, 'wall'), medianOf(timings.synth, 'wall'), medianOf(timings.cold, 'wall')];
  const ratio = synthS / floorS;
  return [
    {
      figure: '`npm run synth`, default app (clean checkout copy)',
      median: seconds(synthS),
      against: `floor ${seconds(floorS)}: ×${ratio.toFixed(2)} (target ≤ ×${SYNTH_RATIO_TARGET}); CPU ${cpu(timings.synth)} against ${cpu(timings.floor)}`,
      verdict: verdict(ratio <= SYNTH_RATIO_TARGET),
    },
    {
      figure: '  of which the app alone (cdk8s.yaml `app:`)',
      median: seconds(medianOf(timings.app, 'wall')),
      against: `empty chart alone ${seconds(medianOf(timings.floorApp, 'wall'))}; CPU ${cpu(timings.app)} against ${cpu(timings.floorApp)}`,
      verdict: 'info',
    },
    {
      figure: '  the same with an empty app cache (first run)',
      median: seconds(coldS),
      against: `×${(coldS / floorS).toFixed(2)} of the floor; CPU ${cpu(timings.cold)} (bundling and the code cache written once)`,
      verdict: 'info',
    },
  ];
}

/** The working tree as a fresh clone would have it (tracked and unignored files), node_modules linked. */
function checkoutCopy(): string {
  const dir = tempDir('cdk8s-wp-bench-checkout-');
  const listed = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: REPO, encoding: 'utf8' });
  const files = listed.status === 0
    ? listed.stdout.split('\0').filter(Boolean)
    : ['cdk8s.yaml', 'main.ts', 'package.json', 'tsconfig.json', 'lib', 'config', 'dist'];
  for (const rel of files) {
    const from = path.join(REPO, rel);
    if (!fs.existsSync(from)) continue; // deleted in the working tree
    fs.cpSync(from, path.join(dir, rel), { recursive: true });
  }
  fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  return dir;
}

/** The floor: an empty chart, already JavaScript, with the same cdk8s.yaml settings otherwise. */
function floorProject(): string {
  const dir = tempDir('cdk8s-wp-bench-floor-');
  fs.writeFileSync(path.join(dir, 'main.js'), [
    "const { App, Chart } = require('cdk8s');",
    'const app = new App();',
    "new Chart(app, 'empty');",
    'app.synth();',
    '',
  ].join('\n'));
  fs.writeFileSync(path.join(dir, 'cdk8s.yaml'), 'language: typescript\napp: node main.js\n');
  fs.cpSync(path.join(REPO, SYNTH_SCRIPT), path.join(dir, SYNTH_SCRIPT));
  fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  return dir;
}

function appCommand(checkout: string): string {
  const line = fs.readFileSync(path.join(checkout, 'cdk8s.yaml'), 'utf8').split('\n').find(l => l.startsWith('app:'));
  if (!line) throw new Error('cdk8s.yaml has no `app:` line');
  return line.slice('app:'.length).trim();
}

// ---------------------------------------------------------------------------------------------
// 2. N sites, one namespace each, through `npm run synth` end to end (wrapper, CLI, app,
//    the CLI's folder): wall time, CPU time and the peak RSS of the whole process tree.

async function sitesBench(opts: Options): Promise<Row[]> {
  const ns = [...opts.sites].sort((a, b) => a - b);
  const runs = new Map(ns.map(n => [n, [] as TreeRun[]]));
  const projects = new Map(ns.map(n => {
    const dir = checkoutCopy();
    fs.rmSync(path.join(dir, 'config'), { recursive: true, force: true });
    writeSites(path.join(dir, 'config'), n);
    return [n, dir];
  }));
  // Two first runs per N, not counted, leave the dist/ of that N and the spare tree beside it
  // (lib/render/staged-tree.ts) in place: every counted run then replaces a committed dist/, as a
  // re-render in a GitOps repository does after its first one.
  for (const n of ns) {
    for (const first of [1, 2]) {
      progress(`sites: first run ${first}, N = ${n}`);
      await runSites(projects.get(n)!, n);
    }
  }
  const rounds = Math.max(opts.runs, opts.largeRuns);
  for (let i = 0; i < rounds; i++) {
    for (const n of ns) {
      if (i >= (n >= LARGE_N ? opts.largeRuns : opts.runs)) continue;
      progress(`sites run ${i + 1}, N = ${n}`);
      runs.get(n)!.push(await runSites(projects.get(n)!, n));
    }
  }
  const base = ns[0];
  const wall = (n: number) => medianOf(runs.get(n)!, 'wall');
  const perSite = (n: number) => ((wall(n) - wall(base)) * 1000) / (n - base);
  const rows: Row[] = ns.map(n => {
    const r = runs.get(n)!;
    const parts = [`CPU ${cpu(r)}`, `peak RSS ${mb(medianOf(r, 'peakMb'))} (sum of per-process peaks ${mb(medianOf(r, 'peaksMb'))})`];
    if (n !== base) parts.push(`+${seconds(wall(n) - wall(base))} over N = ${base}`, `${perSite(n).toFixed(2)} ms/site`);
    return { figure: `\`npm run synth\`, ${n} site(s) (${r.length} run(s))`, median: seconds(wall(n)), against: parts.join(', '), verdict: 'info' };
  });
  if (ns.includes(SITES_DELTA_AT) && base < SITES_DELTA_AT) {
    const delta = wall(SITES_DELTA_AT) - wall(base);
    const cpuDelta = medianOf(runs.get(SITES_DELTA_AT)!, 'cpu') - medianOf(runs.get(base)!, 'cpu');
    rows.push({
      figure: `  N = ${SITES_DELTA_AT} over N = ${base}`,
      median: seconds(delta),
      against: `target ≤ +${SITES_DELTA_TARGET_S} s; CPU +${seconds(cpuDelta)}`,
      verdict: verdict(delta <= SITES_DELTA_TARGET_S),
    });
  }
  const top = ns[ns.length - 1];
  if (top > SITES_DELTA_AT && ns.includes(SITES_DELTA_AT)) {
    const topRss = medianOf(runs.get(top)!, 'peakMb');
    rows.push({ figure: `  peak RSS at N = ${top}, whole process tree`, median: mb(topRss), against: `target ≤ ${SITES_RSS_TARGET_MB} MB`, verdict: verdict(topRss <= SITES_RSS_TARGET_MB) });
    const growth = perSite(top) / perSite(SITES_DELTA_AT);
    rows.push({
      figure: `  ms/site at N = ${top} vs N = ${SITES_DELTA_AT}`,
      median: `×${growth.toFixed(2)}`,
      against: `linear: target ≤ ×${LINEAR_TOLERANCE}`,
      verdict: verdict(growth <= LINEAR_TOLERANCE),
    });
  }
  return rows;
}

async function runSites(dir: string, n: number): Promise<TreeRun> {
  const run = await timedTree(process.execPath, [SYNTH_SCRIPT], dir);
  const env = fs.readdirSync(path.join(dir, '.cdk8s-out')).filter(f => f.endsWith('.yaml'));
  const files = countFiles(path.join(dir, 'dist'));
  // Per site two manifests, a README.md and a kustomization.yaml; one kustomization.yaml for the environment.
  if (files !== 4 * n + 1 || env.join() !== 'bench.k8s.yaml') throw new Error(`${n} sites gave ${files} files in dist/ and ${env.join(', ')} in .cdk8s-out/`);
  return run;
}

/** One environment file with `n` sites, each in its own namespace (the site name) with its own host. */
function writeSites(dir: string, n: number) {
  fs.mkdirSync(dir, { recursive: true });
  const lines = [
    'cluster: { nodes: 3, zones: 3 }',
    'defaults:',
    '  wordpress: { replicas: 2 }',
    '  exposure: { type: ingress, ingressClassName: nginx, tls: { issuer: letsencrypt-prod } }',
    'sites:',
  ];
  const width = String(n).length;
  for (let i = 1; i <= n; i++) {
    const name = `site${String(i).padStart(width, '0')}`;
    lines.push(`  ${name}:`, `    exposure: { host: ${name}.example.com }`);
  }
  fs.writeFileSync(path.join(dir, 'bench.yaml'), lines.join('\n') + '\n');
}

function countFiles(dir: string): number {
  return fs.readdirSync(dir, { withFileTypes: true }).reduce((n, e) => n + (e.isDirectory() ? countFiles(path.join(dir, e.name)) : 1), 0);
}

// ---------------------------------------------------------------------------------------------
// 3. `npm test` (type check + unit suites, no integration suite), cold jest cache like CI.

function testBench(opts: Options): Row[] {
  const times: Timing[] = [];
  let failed = 0;
  const env: NodeJS.ProcessEnv = { ...process.env, npm_config_update_notifier: 'false' };
  delete env.INTEGRATION;
  for (let i = 0; i < opts.testRuns; i++) {
    progress(`npm test run ${i + 1}/${opts.testRuns}`);
    const cache = tempDir('cdk8s-wp-bench-jest-cache-');
    const [cpu0, t0] = [childrenCpu(), process.hrtime.bigint()];
    const r = spawnSync('npm', ['test', '--', `--cacheDirectory=${cache}`], { cwd: REPO, env, stdio: 'pipe' });
    times.push({ wall: Number(process.hrtime.bigint() - t0) / 1e9, cpu: childrenCpu() - cpu0 });
    if (r.status !== 0) failed++;
    fs.rmSync(cache, { recursive: true, force: true });
  }
  const t = medianOf(times, 'wall');
  return [{
    figure: '`npm test` (tsc + jest, no integration suite, cold jest cache)',
    median: seconds(t),
    against: `target ≤ ${TEST_TARGET_S} s; CPU ${cpu(times)}${failed ? `; ${failed} of ${opts.testRuns} run(s) had failing tests` : ''}`,
    verdict: verdict(t <= TEST_TARGET_S),
  }];
}

// ---------------------------------------------------------------------------------------------

interface Timing {
  /** Wall seconds. */
  readonly wall: number;
  /** User + system CPU seconds of the command and every process it waited for. */
  readonly cpu: number;
}

interface TreeRun extends Timing {
  /** Highest sum of the RSS of every process of the tree at one moment, sampled every 20 ms. */
  readonly peakMb: number;
  /** Sum of each process's own peak RSS (VmHWM): an upper bound of the tree's peak. */
  readonly peaksMb: number;
}

/**
 * CPU seconds of this process's children that have been waited for (`cutime` + `cstime` of
 * /proc/self/stat, which include their own waited-for children): the difference over one run is
 * the CPU time of that run's whole tree.
 */
function childrenCpu(): number {
  const fields = fs.readFileSync('/proc/self/stat', 'utf8').replace(/^.*\) /s, '').split(' ');
  // After "pid (comm) ", field 3 is the state; cutime and cstime are fields 16 and 17, in clock ticks (100 a second).
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

/** Wall and CPU time of one command, which must succeed. */
function timed(command: string, args: string[], options: SpawnSyncOptions): Timing {
  const [cpu0, t0] = [childrenCpu(), process.hrtime.bigint()];
  const r = spawnSync(command, args, { stdio: 'pipe', ...options });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} (in ${options.cwd}) failed:\n${r.stderr}`);
  return { wall, cpu: childrenCpu() - cpu0 };
}

/** `timed`, and the memory of the command's process tree, read from /proc while it runs. */
function timedTree(command: string, args: string[], cwd: string): Promise<TreeRun> {
  const [cpu0, t0] = [childrenCpu(), process.hrtime.bigint()];
  const child = spawn(command, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', chunk => (stderr += chunk));
  const peaks = new Map<number, number>();
  let peakKb = 0;
  const sample = () => {
    let sum = 0;
    for (const pid of processTree(child.pid!)) {
      const status = readProc(`/proc/${pid}/status`);
      const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
      sum += kb('VmRSS');
      peaks.set(pid, Math.max(peaks.get(pid) ?? 0, kb('VmHWM')));
    }
    peakKb = Math.max(peakKb, sum);
  };
  const timer = setInterval(sample, 20);
  return new Promise((resolve, reject) => child.on('close', code => {
    clearInterval(timer);
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    if (code !== 0) return reject(new Error(`${command} ${args.join(' ')} (in ${cwd}) failed:\n${stderr}`));
    const peaksKb = [...peaks.values()].reduce((a, b) => a + b, 0);
    resolve({ wall, cpu: childrenCpu() - cpu0, peakMb: peakKb / 1024, peaksMb: peaksKb / 1024 });
  }));
}

/** `pid` and its descendants (threads' children included), as far as they still run. */
function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    let tasks: string[] = [];
    try {
      tasks = fs.readdirSync(`/proc/${out[i]}/task`);
    } catch {
      continue; // exited
    }
    for (const task of tasks) out.push(...readProc(`/proc/${out[i]}/task/${task}/children`).split(' ').filter(Boolean).map(Number));
  }
  return out;
}

function readProc(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return ''; // the process exited meanwhile
  }
}

function medianOf<T>(runs: readonly T[], key: { [K in keyof T]: T[K] extends number ? K : never }[keyof T]): number {
  return median(runs.map(r => r[key] as number));
}

function cpu(runs: readonly Timing[]): string {
  return seconds(medianOf(runs, 'cpu'));
}

function mb(value: number): string {
  return `${value.toFixed(0)} MB`;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function seconds(s: number): string {
  return `${s.toFixed(2)} s`;
}

function verdict(ok: boolean): string {
  return ok ? 'meets' : 'MISSES';
}

function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  temps.push(dir);
  return dir;
}

function cleanup() {
  while (temps.length) fs.rmSync(temps.pop()!, { recursive: true, force: true });
}

function progress(message: string) {
  process.stderr.write(`bench: ${message}\n`);
}

function describeMachine(): string {
  const version = (pkg: string) => (JSON.parse(fs.readFileSync(path.join(REPO, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
  const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO, encoding: 'utf8' }).stdout?.trim() || 'unknown';
  return [
    `node ${process.version}, ${os.cpus().length} CPU(s) (${os.cpus()[0]?.model ?? 'unknown'}), load average ${os.loadavg().map(l => l.toFixed(2)).join(' ')}`,
    `cdk8s-cli ${version('cdk8s-cli')}, cdk8s ${version('cdk8s')}, cdk8s-plus-27 ${version('cdk8s-plus-27')}, commit ${commit} plus working tree`,
  ].join('\n');
}

function table(rows: Row[]): string {
  const head: Row = { figure: 'figure', median: 'median', against: 'floor or target', verdict: '' };
  const all = [head, ...rows];
  const w = (k: keyof Row) => Math.max(...all.map(r => r[k].length));
  const line = (r: Row) => `${r.figure.padEnd(w('figure'))}  ${r.median.padStart(w('median'))}  ${r.against.padEnd(w('against'))}  ${r.verdict}`.trimEnd();
  const body = rows.map(line);
  return [line(head), '-'.repeat(Math.max(...body.map(l => l.length))), ...body].join('\n');
}

main().catch(e => {
  console.error(e);
  process.exitCode = 1;
});
