// The WordPress metrics source (metrics.enabled) for real: Debian's apache2 runs the Apache conf of
// the rendered ConfigMap of dist/prod/blog (only its document root and ports are moved to a scratch
// folder and free ports) on top of what the image enables before it: prefork, Debian's status.conf
// and mpm_prefork.conf, and the image's remoteip.conf and docker-php.conf, read from the reference
// Dockerfiles. Then Debian's prometheus-apache-exporter runs with the argv of the rendered sidecar.
// Debian ships apache_exporter 0.12; it stands in for the pinned image (1.x), whose listen flag
// moved to the exporter toolkit's --web.listen-address: that one rename is translated, and any
// other rendered flag the stand-in does not know fails the test.
import { ChildProcess, execFileSync, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as path from 'path';
import { parseAllDocuments } from 'yaml';
import { REPO, tempDir } from './support/fixtures';
import { freePort } from './support/mariadb-server';
import { echoBlock } from './support/pod-emulator/dockerfile';
import { REFERENCE_IMAGES } from './support/pod-emulator';

jest.setTimeout(60_000);

const APACHE = '/usr/sbin/apache2';
const EXPORTER = '/usr/bin/prometheus-apache-exporter';
const MODULES = '/usr/lib/apache2/modules';
const DEBIAN_CONF = ['/etc/apache2/mods-available/status.conf', '/etc/apache2/mods-available/mpm_prefork.conf'];
const MODULE_FILES = ['mpm_prefork', 'authz_core', 'authz_host', 'status', 'rewrite', 'remoteip', 'dir'].map(m => path.join(MODULES, `mod_${m}.so`));
const missing = [APACHE, EXPORTER, ...DEBIAN_CONF, ...MODULE_FILES].filter(f => !fs.existsSync(f));
if (missing.length) console.warn(`Skipping the Apache metrics integration tests: missing ${missing.join(', ')} (apt-get install apache2 prometheus-apache-exporter)`);
const describeIt = missing.length ? describe.skip : describe;

/** Flags of the pinned exporter (1.x) that Debian's 0.12 knows under another name. */
const RENAMED_IN_1_0: Record<string, string> = { 'web.listen-address': 'telemetry.address' };

function rendered(): { conf: string; exporter: any } {
  const docs = parseAllDocuments(fs.readFileSync(path.join(REPO, 'dist', 'prod', 'blog', 'app.k8s.yaml'), 'utf8')).map(d => d.toJS());
  const cm = docs.find(d => d?.kind === 'ConfigMap' && d.metadata.name === 'wordpress-apache');
  const deployment = docs.find(d => d?.kind === 'Deployment' && d.metadata.name === 'wordpress');
  return { conf: cm.data['zz-cdk8s.conf'], exporter: deployment.spec.template.spec.containers.find((c: any) => c.name === 'apache-exporter') };
}

function get(port: number, urlPath: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, headers, timeout: 5000, agent: false }, res => {
      let body = '';
      res.on('data', c => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`GET ${urlPath} on ${port} timed out`)));
  });
}

async function waitForPort(port: number, proc: ChildProcess, what: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>(resolve => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (open) return;
    if (proc.exitCode !== null) break;
    await new Promise(r => setTimeout(r, 100));
  }
  throw new Error(`nothing listens on ${port}: ${what()}`);
}

async function stop(proc: ChildProcess | undefined): Promise<void> {
  if (!proc || proc.exitCode !== null) return;
  const exited = new Promise(r => proc.once('exit', r));
  proc.kill('SIGTERM');
  await exited;
}

/** The value of each sample of `metric` in Prometheus text format, keyed by its label set. */
function samples(text: string, metric: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of text.matchAll(new RegExp(`^${metric}(\\{[^}]*\\})? (\\S+)$`, 'gm'))) out[m[1] ?? ''] = Number(m[2]);
  return out;
}

const sum = (values: Record<string, number>) => Object.values(values).reduce((a, b) => a + b, 0);

/**
 * Apache in the foreground as the image configures it before conf-enabled/zz-cdk8s.conf, listening
 * on `publicPort` for the image's port 80, with `conf` (the rendered file or nothing, given the
 * scratch folder that stands in for /var/www) last.
 */
class ImageLikeApache {
  private proc?: ChildProcess;
  private readonly dir = tempDir('apache-metrics-');
  private log = '';

  constructor(private readonly conf: (www: string) => string, private readonly publicPort: number, private readonly htaccess = true) {}

  public async start(): Promise<void> {
    const d = this.dir.dir;
    const docroot = path.join(d, 'www', 'html');
    for (const sub of ['www/html', 'run', 'logs']) fs.mkdirSync(path.join(d, sub), { recursive: true });
    fs.writeFileSync(path.join(docroot, 'index.html'), 'hello from the pod\n');
    // WordPress's own rewrite rules, as the image writes them: they send /server-status to index.php.
    if (this.htaccess) fs.writeFileSync(path.join(docroot, '.htaccess'), echoBlock(path.join(REFERENCE_IMAGES, 'wordpress-php8.3-apache', 'Dockerfile'), '/usr/src/wordpress/.htaccess'));
    for (const f of fs.readdirSync(d, { recursive: true }) as string[]) fs.chmodSync(path.join(d, f), fs.statSync(path.join(d, f)).isDirectory() ? 0o777 : 0o644);
    fs.chmodSync(d, 0o777);
    const imageConf = (folder: string, target: string) => echoBlock(path.join(REFERENCE_IMAGES, folder, 'Dockerfile'), target).split('/var/www/').join(`${d}/www/`);
    fs.writeFileSync(path.join(d, 'zz-cdk8s.conf'), this.conf(path.join(d, 'www')));
    fs.writeFileSync(path.join(d, 'httpd.conf'), [
      `ServerRoot ${d}`,
      ...MODULE_FILES.map(f => `LoadModule ${path.basename(f, '.so').replace(/^mod_/, '')}_module ${f}`),
      // mods-enabled/*.conf of Debian's package, verbatim: status.conf serves /server-status to local clients.
      ...DEBIAN_CONF.map(f => `Include ${f}`),
      'ServerName localhost',
      `PidFile ${d}/run/apache2.pid`,
      `Mutex file:${d}/run default`,
      `ScoreBoardFile ${d}/run/scoreboard`,
      'User nobody',
      'Group nogroup',
      `ErrorLog ${d}/logs/error.log`,
      // ports.conf and sites-enabled/000-default.conf of the image, on a free port.
      `Listen 127.0.0.1:${this.publicPort}`,
      `<VirtualHost *:${this.publicPort}>`,
      `  DocumentRoot ${docroot}`,
      '</VirtualHost>',
      `Include ${d}/docker-php.conf`,
      `Include ${d}/remoteip.conf`,
      `Include ${d}/zz-cdk8s.conf`,
      '',
    ].join('\n'));
    fs.writeFileSync(path.join(d, 'docker-php.conf'), imageConf('php-8.3-apache', '"$APACHE_CONFDIR/conf-available/docker-php.conf"'));
    fs.writeFileSync(path.join(d, 'remoteip.conf'), imageConf('wordpress-php8.3-apache', '/etc/apache2/conf-available/remoteip.conf'));
    execFileSync(APACHE, ['-t', '-f', path.join(d, 'httpd.conf')], { stdio: 'pipe' });
    // In a process group of its own: prefork's parent signals its whole group when it stops.
    this.proc = spawn(APACHE, ['-DFOREGROUND', '-f', path.join(d, 'httpd.conf')], { detached: true });
    this.proc.stderr?.on('data', c => { this.log += c; });
    await waitForPort(this.publicPort, this.proc, () => this.log + this.errorLog());
  }

  public errorLog(): string {
    const f = path.join(this.dir.dir, 'logs', 'error.log');
    return fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '';
  }

  public async stop(): Promise<void> {
    await stop(this.proc);
    this.dir.cleanup();
  }
}

/** Debian's exporter with the rendered sidecar's argv, its two addresses moved to the test's ports. */
async function startExporter(args: string[], scrapePort: number, listenPort: number): Promise<{ proc: ChildProcess; log: () => string }> {
  // kingpin prints the usage on stderr.
  const usage = spawnSync(EXPORTER, ['--help'], { encoding: 'utf8' });
  const help = usage.stdout + usage.stderr;
  const known = new Set([...help.matchAll(/--([a-z][a-z0-9_.-]*)/g)].map(m => m[1]));
  const argv = args.map(arg => {
    const m = /^--([^=]+)=(.*)$/.exec(arg);
    if (!m) throw new Error(`rendered exporter argument ${JSON.stringify(arg)} is not --flag=value`);
    const flag = RENAMED_IN_1_0[m[1]] ?? m[1];
    if (!known.has(flag)) {
      throw new Error(`rendered flag --${m[1]} is unknown to Debian's prometheus-apache-exporter (0.12, the stand-in for the pinned image); `
        + `it knows ${[...known].sort().join(', ')}`);
    }
    if (flag === 'scrape_uri') return `--${flag}=${m[2].replace(/^(http:\/\/127\.0\.0\.1:)\d+\//, `$1${scrapePort}/`)}`;
    if (flag === 'telemetry.address') return `--${flag}=127.0.0.1:${listenPort}`;
    return `--${flag}=${m[2]}`;
  });
  const proc = spawn(EXPORTER, argv);
  let log = '';
  proc.stderr?.on('data', c => { log += c; });
  await waitForPort(listenPort, proc, () => log);
  return { proc, log: () => log };
}

describeIt('WordPress metrics (dist/prod/blog): Debian\'s apache2 with the rendered conf, and Debian\'s apache_exporter 0.12 standing in for the pinned image', () => {
  const { conf, exporter } = rendered();
  const statusPort = Number(/^Listen 127\.0\.0\.1:(\d+)$/m.exec(conf)![1]);
  const maxWorkers = Number(/^\s*MaxRequestWorkers (\d+)$/m.exec(conf)![1]);
  /** The rendered conf with /var/www moved to the scratch folder and its status listener to `port`. */
  const movedConf = (port: number) => (www: string) => conf.split('/var/www/').join(`${www}/`).split(`127.0.0.1:${statusPort}`).join(`127.0.0.1:${port}`);
  let apache: ImageLikeApache;
  let publicPort: number;
  let localStatus: number;

  beforeAll(async () => {
    publicPort = await freePort();
    localStatus = await freePort();
    apache = new ImageLikeApache(movedConf(localStatus), publicPort);
    await apache.start();
  });

  afterAll(async () => {
    await apache?.stop();
  });

  test('the exporter is rendered to scrape the loopback status listener of the conf beside it', () => {
    expect(exporter.args).toContain(`--scrape_uri=http://127.0.0.1:${statusPort}/server-status?auto`);
    const listen = exporter.args.find((a: string) => a.startsWith('--web.listen-address='));
    expect(listen).toBe(`--web.listen-address=:${exporter.ports[0].containerPort}`);
  });

  test('/server-status?auto answers on the loopback listener, with the prefork scoreboard sized to MaxRequestWorkers', async () => {
    const r = await get(localStatus, '/server-status?auto');
    expect(r.status).toBe(200);
    expect(r.body).toMatch(/^ServerMPM: prefork$/m);
    expect(r.body).toMatch(/^BusyWorkers: \d+$/m);
    expect(/^Scoreboard: (\S+)$/m.exec(r.body)![1]).toHaveLength(maxWorkers);
    // The conf restates the figure of Debian's mpm_prefork.conf, which the image enables: it changes nothing else.
    expect(maxWorkers).toBe(Number(/^\s*MaxRequestWorkers\s+(\d+)/m.exec(fs.readFileSync(DEBIAN_CONF[1], 'utf8'))![1]));
    // Not rewritten by WordPress's .htaccess, and nothing else is served there, Debian's /icons/ alias included.
    for (const p of ['/index.html', '/', '/icons/', '/index.php']) expect([p, (await get(localStatus, p)).status]).toEqual([p, 403]);
  });

  test('the public listener refuses /server-status, also to a local client and to one that claims to be local through X-Forwarded-For', async () => {
    for (const [p, headers] of [['/server-status?auto', {}], ['/server-status', {}], ['/server-status/?auto', {}], ['//server-status?auto', {}],
      ['/server-status?auto', { 'X-Forwarded-For': '127.0.0.1' }]] as const) {
      expect([p, headers, (await get(publicPort, p, headers)).status]).toEqual([p, headers, 403]);
    }
    expect(await get(publicPort, '/index.html')).toEqual({ status: 200, body: 'hello from the pod\n' });
  });

  test('without the rendered conf, only WordPress\'s .htaccess hides /server-status on the public port: a site without the rule serves it to local clients', async () => {
    for (const htaccess of [true, false]) {
      const port = await freePort();
      const bare = new ImageLikeApache(() => '', port, htaccess);
      await bare.start();
      try {
        const r = await get(port, '/server-status?auto');
        expect([htaccess, r.status]).toEqual([htaccess, htaccess ? 404 : 200]);
      } finally {
        await bare.stop();
      }
    }
  });

  test('with the rendered conf and no such .htaccess, the public port still refuses it and the loopback listener still serves it', async () => {
    const [port, status] = [await freePort(), await freePort()];
    const plain = new ImageLikeApache(movedConf(status), port, false);
    await plain.start();
    try {
      expect((await get(port, '/server-status?auto')).status).toBe(403);
      expect((await get(status, '/server-status?auto')).status).toBe(200);
      expect((await get(status, '/index.html')).status).toBe(403);
    } finally {
      await plain.stop();
    }
  });

  test('Debian\'s apache_exporter with the rendered argv reports apache_up 1 and the workers, and busy workers follow open connections', async () => {
    const listenPort = await freePort();
    const { proc, log } = await startExporter(exporter.args, localStatus, listenPort);
    // Five clients that have sent half a request: each holds a prefork worker in the "read" state.
    const held = await Promise.all(Array.from({ length: 5 }, () => new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect(publicPort, '127.0.0.1', () => { s.write('GET /index.html HTTP/1.1\r\nHost: localhost\r\n'); resolve(s); });
      s.on('error', reject);
    })));
    try {
      await new Promise(r => setTimeout(r, 500));
      const metrics = await get(listenPort, '/metrics');
      expect([metrics.status, log()]).toEqual([200, expect.not.stringMatching(/level=error/)]);
      expect(samples(metrics.body, 'apache_up')).toEqual({ '': 1 });
      const workers = samples(metrics.body, 'apache_workers');
      // The five held clients and the status request itself.
      expect(workers['{state="busy"}']).toBeGreaterThanOrEqual(6);
      expect(workers['{state="idle"}']).toBeGreaterThanOrEqual(0);
      const scoreboard = samples(metrics.body, 'apache_scoreboard');
      expect(sum(scoreboard)).toBe(maxWorkers);
      expect(scoreboard['{state="read"}']).toBeGreaterThanOrEqual(5);
      // What ApacheWorkersBusy divides: busy workers over the slots of MaxRequestWorkers.
      const ratio = workers['{state="busy"}'] / sum(scoreboard);
      expect(ratio).toBeGreaterThan(0);
      expect(ratio).toBeLessThan(0.9);
      console.log(`apache_exporter 0.12 against the rendered conf: apache_up 1, busy ${workers['{state="busy"}']}, idle ${workers['{state="idle"}']}, `
        + `scoreboard slots ${sum(scoreboard)} (read ${scoreboard['{state="read"}']}, open ${scoreboard['{state="open_slot"}']}), busy ratio ${ratio.toFixed(3)}`);
    } finally {
      held.forEach(s => s.destroy());
      await stop(proc);
    }
  });

  test('pointed at the public port instead, the exporter still says apache_up 1 but counts a scrape failure and reports no workers (why ApacheDown reads both)', async () => {
    const listenPort = await freePort();
    const { proc } = await startExporter(exporter.args, publicPort, listenPort);
    try {
      const metrics = (await get(listenPort, '/metrics')).body;
      expect(samples(metrics, 'apache_up')).toEqual({ '': 1 });
      expect(samples(metrics, 'apache_exporter_scrape_failures_total')).toEqual({ '': 1 });
      expect(samples(metrics, 'apache_workers')).toEqual({});
    } finally {
      await stop(proc);
    }
  });
});
