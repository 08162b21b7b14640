// The Apache configuration WordPress pods mount into conf-enabled/ (HTTPS on 8443 for TLS
// re-encryption and passthrough; the canary's refusal of wp-admin/upgrade.php), served by a real
// Apache: Debian's apache2, the same package and module paths the official php:*-apache images use.
// The file is taken from the rendered ConfigMap; only its absolute paths (certificate, session
// cache, document root) and the port are rewritten to a scratch folder and a free port.
import { ChildProcess, execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as https from 'https';
import * as net from 'net';
import * as path from 'path';
import { siteObjects, tempDir } from './support/fixtures';

jest.setTimeout(60_000);

const APACHE = '/usr/sbin/apache2';
const MODULES = '/usr/lib/apache2/modules';
const missing = [APACHE, '/usr/bin/openssl', ...['mod_ssl.so', 'mod_socache_shmcb.so', 'mod_mpm_event.so', 'mod_authz_core.so'].map(m => path.join(MODULES, m))]
  .filter(f => !fs.existsSync(f));
if (missing.length) console.warn(`Skipping the Apache TLS integration tests: missing ${missing.join(', ')} (apt-get install apache2 openssl)`);
const describeApache = missing.length ? describe.skip : describe;

function apacheConf(site: Parameters<typeof siteObjects>[0], configMap: string): string {
  const cm = siteObjects(site).find(o => o.kind === 'ConfigMap' && o.metadata.name === configMap);
  return cm.data['zz-cdk8s.conf'];
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

function get(port: number, urlPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port, path: urlPath, rejectUnauthorized: false, timeout: 5000 }, res => {
      let body = '';
      res.on('data', c => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
  });
}

/** Apache in the foreground with the image's essentials and the rendered file included last. */
class LocalApache {
  private proc?: ChildProcess;
  private readonly dir = tempDir('apache-tls-');
  public log = '';

  constructor(private readonly rendered: string, public readonly port: number, private readonly httpPort: number) {}

  public start(): Promise<void> {
    const d = this.dir.dir;
    for (const sub of ['html/wp-admin', 'tls', 'run', 'logs']) fs.mkdirSync(path.join(d, sub), { recursive: true });
    fs.writeFileSync(path.join(d, 'html', 'index.html'), 'hello from the pod\n');
    fs.writeFileSync(path.join(d, 'html', 'wp-admin', 'upgrade.php'), 'would upgrade the database\n');
    execFileSync('/usr/bin/openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=wordpress.test',
      '-keyout', path.join(d, 'tls', 'tls.key'), '-out', path.join(d, 'tls', 'tls.crt')], { stdio: 'ignore' });
    for (const f of fs.readdirSync(d, { recursive: true }) as string[]) fs.chmodSync(path.join(d, f), fs.statSync(path.join(d, f)).isDirectory() ? 0o777 : 0o644);
    fs.chmodSync(d, 0o777);
    const swap = (text: string, from: string, to: string) => text.split(from).join(to);
    let conf = this.rendered;
    conf = swap(conf, '/etc/wordpress-tls', path.join(d, 'tls'));
    conf = swap(conf, '/var/run/apache2', path.join(d, 'run'));
    conf = swap(conf, '/var/www/html', path.join(d, 'html'));
    conf = swap(conf, '8443', String(this.port));
    fs.writeFileSync(path.join(d, 'zz-cdk8s.conf'), conf);
    // What the official image's apache2.conf, ports.conf and docker-php.conf set before conf-enabled/.
    fs.writeFileSync(path.join(d, 'httpd.conf'), [
      `ServerRoot ${d}`,
      `LoadModule mpm_event_module ${MODULES}/mod_mpm_event.so`,
      `LoadModule authz_core_module ${MODULES}/mod_authz_core.so`,
      'ServerName localhost',
      `PidFile ${d}/run/apache2.pid`,
      `Mutex file:${d}/run default`,
      'User nobody',
      'Group nogroup',
      `Listen 127.0.0.1:${this.httpPort}`,
      `DocumentRoot ${d}/html`,
      `ErrorLog ${d}/logs/error.log`,
      'LogFormat "%h %l %u %t \\"%r\\" %>s %O" combined',
      `<Directory ${d}/html>`,
      '  Require all granted',
      '</Directory>',
      `Include ${d}/zz-cdk8s.conf`,
      '',
    ].join('\n'));
    execFileSync(APACHE, ['-t', '-f', path.join(d, 'httpd.conf')], { env: { ...process.env, APACHE_LOG_DIR: path.join(d, 'logs') }, stdio: 'pipe' });
    this.proc = spawn(APACHE, ['-DFOREGROUND', '-f', path.join(d, 'httpd.conf')], { env: { ...process.env, APACHE_LOG_DIR: path.join(d, 'logs') } });
    this.proc.stderr?.on('data', c => { this.log += c; });
    return this.waitForPort();
  }

  private async waitForPort(): Promise<void> {
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      const open = await new Promise<boolean>(resolve => {
        const s = net.connect(this.port, '127.0.0.1', () => { s.destroy(); resolve(true); });
        s.on('error', () => resolve(false));
      });
      if (open) return;
      if (this.proc?.exitCode !== null) break;
      await new Promise(r => setTimeout(r, 100));
    }
    throw new Error(`Apache did not listen on ${this.port}: ${this.log}${this.errorLog()}`);
  }

  public errorLog(): string {
    const f = path.join(this.dir.dir, 'logs', 'error.log');
    return fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '';
  }

  public async stop(): Promise<void> {
    if (this.proc && this.proc.exitCode === null) {
      const exited = new Promise(r => this.proc!.once('exit', r));
      this.proc.kill('SIGTERM');
      await exited;
    }
    this.dir.cleanup();
  }
}

describeApache('the rendered Apache configuration, run by Debian\'s apache2', () => {
  test('re-encrypt: HTTPS on the listener port with the mounted certificate; a stable pod serves the upgrade page', async () => {
    const conf = apacheConf({ exposure: { host: 'a.example.com', tls: { mode: 'reencrypt', secretName: 'a', backendSecret: 'b' } } }, 'wordpress-apache');
    const apache = new LocalApache(conf, await freePort(), await freePort());
    await apache.start();
    try {
      expect(await get(apache.port, '/index.html')).toEqual({ status: 200, body: 'hello from the pod\n' });
      expect((await get(apache.port, '/wp-admin/upgrade.php')).status).toBe(200);
    } finally {
      await apache.stop();
    }
  });

  test('canary over HTTPS: the upgrade page is refused (403), also under a site path and with doubled slashes, the rest is served', async () => {
    const conf = apacheConf({
      wordpress: { canary: { image: 'wordpress:6.9-php8.3-apache', weight: 10 } },
      exposure: { type: 'route', host: 'a.apps.example.com', tls: { mode: 'passthrough', backendSecret: 'b' } },
    }, 'wordpress-canary-apache');
    expect(conf).toContain('Require all denied');
    const port = await freePort();
    const apache = new LocalApache(conf, port, await freePort());
    await apache.start();
    try {
      expect((await get(port, '/index.html')).status).toBe(200);
      for (const p of ['/wp-admin/upgrade.php', '/blog/wp-admin/upgrade.php', '//wp-admin//upgrade.php', '/wp-admin/upgrade.php?step=1']) {
        expect([p, (await get(port, p)).status]).toEqual([p, 403]);
      }
    } finally {
      await apache.stop();
    }
  });
});
