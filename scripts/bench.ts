import { spawnSync, SpawnSyncOptions } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

// `npm run bench`: the figures of BENCHMARKS.md, each the median of several runs next to its floor
// or target. It prints; it never fails a build on a missed target (exit 1 only when a command it
// times fails). Offline: the cdk8s CLI runs without its upgrade check. Temp dirs are removed.
//
//   npm run bench                         all three sections, 5 runs each
//   npm run bench -- --runs=7 --only=synth,sites --sites=1,10,100,1000 --test-runs=3

const REPO = path.resolve(__dirname, '..');
const CLI = path.join(REPO, 'node_modules', 'cdk8s-cli', 'bin', 'cdk8s');
const SYNTH_ARGS = ['synth', '--check-upgrade=false'];
const SYNTH_RATIO_TARGET = 1.3;
const SITES_DELTA_TARGET_S = 3;
const SITES_RSS_TARGET_MB = 600;
/** "Flat": the marginal cost per site at the largest N is at most this much above the one at N = 100. */
const FLAT_TOLERANCE = 1.25;
const TEST_TARGET_S = 30;

interface Options {
  runs: number;
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

function main() {
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
  if (opts.only.has('sites')) rows.push(...sitesBench(opts));
  if (opts.only.has('test')) rows.push(...testBench(opts));
  console.log(`\n${describeMachine()}\n`);
  console.log(table(rows));
}

function parseArgs(args: string[]): Options {
  const get = (name: string) => args.find(a => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const unknown = args.filter(a => !/^--(runs|test-runs|only|sites)=/.test(a));
  if (unknown.length) throw new Error(`unknown argument(s) ${unknown.join(' ')}; see the top of scripts/bench.ts`);
  const runs = Number(get('runs') ?? 5);
  const opts: Options = {
    runs,
    testRuns: Number(get('test-runs') ?? runs),
    only: new Set((get('only') ?? 'synth,sites,test').split(',')),
    sites: (get('sites') ?? '1,10,100,1000').split(',').map(Number),
  };
  if (!(opts.runs >= 1 && opts.testRuns >= 1) || opts.sites.some(n => !(n >= 1))) throw new Error('--runs, --test-runs and --sites take positive numbers');
  return opts;
}

// ---------------------------------------------------------------------------------------------
// 1. `cdk8s synth` of the default app against the floor: the same CLI, same flags, synthesizing
//    one empty chart from plain JavaScript.

function synthBench(opts: Options): Row[] {
  const checkout = checkoutCopy();
  const floor = floorProject();
  const app = appCommand(checkout);
  const scratch = path.join(checkout, '.cdk8s-out');
  const timings = { floor: [] as number[], synth: [] as number[], floorApp: [] as number[], app: [] as number[] };
  for (let i = 0; i < opts.runs; i++) {
    progress(`synth run ${i + 1}/${opts.runs}`);
    // Alternate the order so that drift in machine load hits both sides alike.
    const pair = [
      () => timings.floor.push(timed(process.execPath, [CLI, ...SYNTH_ARGS], { cwd: floor })),
      () => {
        fs.rmSync(scratch, { recursive: true, force: true });
        timings.synth.push(timed(process.execPath, [CLI, ...SYNTH_ARGS], { cwd: checkout }));
      },
    ];
    for (const run of i % 2 ? pair.reverse() : pair) run();
    timings.floorApp.push(timed(process.execPath, ['main.js'], { cwd: floor, env: { ...process.env, CDK8S_OUTDIR: 'dist' } }));
    fs.rmSync(scratch, { recursive: true, force: true });
    timings.app.push(timed(app, [], { cwd: checkout, shell: true, env: { ...process.env, CDK8S_OUTDIR: '.cdk8s-out' } }));
  }
  const [floorS, synthS] = [median(timings.floor), median(timings.synth)];
  const ratio = synthS / floorS;
  return [
    {
      figure: '`cdk8s synth`, default app (clean checkout copy)',
      median: seconds(synthS),
      against: `floor ${seconds(floorS)}: ×${ratio.toFixed(2)} (target ≤ ×${SYNTH_RATIO_TARGET})`,
      verdict: verdict(ratio <= SYNTH_RATIO_TARGET),
    },
    {
      figure: '  of which the app alone (cdk8s.yaml `app:`)',
      median: seconds(median(timings.app)),
      against: `empty chart alone ${seconds(median(timings.floorApp))}`,
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
  fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  return dir;
}

function appCommand(checkout: string): string {
  const line = fs.readFileSync(path.join(checkout, 'cdk8s.yaml'), 'utf8').split('\n').find(l => l.startsWith('app:'));
  if (!line) throw new Error('cdk8s.yaml has no `app:` line');
  return line.slice('app:'.length).trim();
}

// ---------------------------------------------------------------------------------------------
// 2. N sites, one namespace each, each run a fresh node process: wall time and peak RSS.

function sitesBench(opts: Options): Row[] {
  const root = tempDir('cdk8s-wp-bench-sites-');
  const ns = [...opts.sites].sort((a, b) => a - b);
  const wall = new Map(ns.map(n => [n, [] as number[]]));
  const rss = new Map(ns.map(n => [n, [] as number[]]));
  const app = bundleApp(root);
  for (const n of ns) writeSites(path.join(root, `site-${n}`, 'config'), n);
  for (let i = 0; i < opts.runs; i++) {
    for (const n of ns) {
      progress(`sites run ${i + 1}/${opts.runs}, N = ${n}`);
      const cwd = path.join(root, `site-${n}`);
      fs.rmSync(path.join(cwd, 'dist'), { recursive: true, force: true });
      const t0 = process.hrtime.bigint();
      // The bundle lives outside the repository: packages resolve through NODE_PATH.
      const child = spawnSync(process.execPath, ['-r', app.rssHook, app.script], {
        cwd, encoding: 'utf8', env: { ...process.env, NODE_PATH: path.join(REPO, 'node_modules') },
      });
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (child.status !== 0) throw new Error(`rendering ${n} sites failed:\n${child.stderr}`);
      const report = JSON.parse(child.stderr.trim().split('\n').pop()!) as { maxRssKb: number };
      const files = countFiles(path.join(cwd, 'dist'));
      if (files !== 2 * n) throw new Error(`rendering ${n} sites wrote ${files} files, expected ${2 * n}`);
      wall.get(n)!.push(ms / 1000);
      rss.get(n)!.push(report.maxRssKb / 1024);
    }
  }
  const base = ns[0];
  const perSite = (n: number) => ((median(wall.get(n)!) - median(wall.get(base)!)) * 1000) / (n - base);
  const rows: Row[] = [];
  for (const n of ns) {
    const w = median(wall.get(n)!);
    const r = median(rss.get(n)!);
    const parts = [`${r.toFixed(0)} MB peak RSS`];
    if (n !== base) parts.push(`+${seconds(w - median(wall.get(base)!))} over N = ${base}`, `${perSite(n).toFixed(2)} ms/site`);
    rows.push({ figure: `render ${n} site(s), fresh process`, median: seconds(w), against: parts.join(', '), verdict: 'info' });
  }
  const top = ns[ns.length - 1];
  if (top !== base) {
    const delta = median(wall.get(top)!) - median(wall.get(base)!);
    rows.push({ figure: `  N = ${top} over N = ${base}`, median: seconds(delta), against: `target ≤ ${SITES_DELTA_TARGET_S} s`, verdict: verdict(delta <= SITES_DELTA_TARGET_S) });
    const topRss = median(rss.get(top)!);
    rows.push({ figure: `  peak RSS at N = ${top}`, median: `${topRss.toFixed(0)} MB`, against: `target ≤ ${SITES_RSS_TARGET_MB} MB`, verdict: verdict(topRss <= SITES_RSS_TARGET_MB) });
  }
  if (ns.includes(100) && top > 100) {
    const growth = perSite(top) / perSite(100);
    rows.push({
      figure: `  ms/site at N = ${top} vs N = 100`,
      median: `×${growth.toFixed(2)}`,
      against: `flat: target ≤ ×${FLAT_TOLERANCE}`,
      verdict: verdict(growth <= FLAT_TOLERANCE),
    });
  }
  return rows;
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

/**
 * The app as `cdk8s synth` runs it: main.ts bundled by esbuild as in cdk8s.yaml (config/ → dist/ in
 * its working directory, rendering on two threads), built once here, and a preloaded hook that
 * prints the process's peak RSS on exit. Unlike the app's bundle it holds the generated config
 * validator too, as it runs outside the repository; loading costs are the same for every N anyway.
 */
function bundleApp(dir: string): { script: string; rssHook: string } {
  const script = path.join(dir, 'app.js');
  const esbuild = path.join(REPO, 'node_modules', '.bin', 'esbuild');
  timed(esbuild, ['main.ts', '--bundle', '--platform=node', '--packages=external', '--target=node20', '--log-level=warning', `--outfile=${script}`], { cwd: REPO });
  const rssHook = path.join(dir, 'rss-hook.js');
  fs.writeFileSync(rssHook, [
    "if (require('worker_threads').isMainThread) {",
    "  process.on('exit', () => process.stderr.write(JSON.stringify({ maxRssKb: process.resourceUsage().maxRSS }) + '\\n'));",
    '}',
    '',
  ].join('\n'));
  return { script, rssHook };
}

function countFiles(dir: string): number {
  return fs.readdirSync(dir, { withFileTypes: true }).reduce((n, e) => n + (e.isDirectory() ? countFiles(path.join(dir, e.name)) : 1), 0);
}

// ---------------------------------------------------------------------------------------------
// 3. `npm test` (type check + unit suites, no integration suite), cold jest cache like CI.

function testBench(opts: Options): Row[] {
  const times: number[] = [];
  let failed = 0;
  const env: NodeJS.ProcessEnv = { ...process.env, npm_config_update_notifier: 'false' };
  delete env.INTEGRATION;
  for (let i = 0; i < opts.testRuns; i++) {
    progress(`npm test run ${i + 1}/${opts.testRuns}`);
    const cache = tempDir('cdk8s-wp-bench-jest-cache-');
    const t0 = process.hrtime.bigint();
    const r = spawnSync('npm', ['test', '--', `--cacheDirectory=${cache}`], { cwd: REPO, env, stdio: 'pipe' });
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
    if (r.status !== 0) failed++;
    fs.rmSync(cache, { recursive: true, force: true });
  }
  const t = median(times);
  return [{
    figure: '`npm test` (tsc + jest, no integration suite, cold jest cache)',
    median: seconds(t),
    against: `target ≤ ${TEST_TARGET_S} s${failed ? `; ${failed} of ${opts.testRuns} run(s) had failing tests` : ''}`,
    verdict: verdict(t <= TEST_TARGET_S),
  }];
}

// ---------------------------------------------------------------------------------------------

/** Wall seconds of one command, which must succeed. */
function timed(command: string, args: string[], options: SpawnSyncOptions): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(command, args, { stdio: 'pipe', ...options });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} (in ${options.cwd}) failed:\n${r.stderr}`);
  return s;
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

main();
