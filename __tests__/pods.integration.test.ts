// The rendered pods, run: every pod template of dist/ through the pod emulator
// (support/pod-emulator, docs/pod-emulation.md), which runs the official images' own entrypoints
// (the reference files, unmodified) under the rendered pod specs: users, capabilities,
// read-only roots, volumes, sysctls, probes. The site under test is dist/prod/blog; the restore Job,
// which dist/ only has when a restore is configured, is rendered from config/prod.yaml with one.
import * as fs from 'fs';
import * as path from 'path';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { loadEnvironment } from '../lib/config/load';
import { renderEnvironments } from '../lib/render/render';
import { readmeMonitoringStatement, readTree, REPO } from './support/fixtures';
import { mariadbAvailable } from './support/mariadb-server';
import { secretBehind, sql } from './support/pod-sql';
import {
  admitOpenShiftRestricted, Cluster, emulatorAvailable, forOpenShift, imageInfo, Pod, readOnlyWrites, referenceAvailable, removeLayers, resolvePod, workloads,
} from './support/pod-emulator';

jest.setTimeout(180_000);

const reasons = [emulatorAvailable(), referenceAvailable(), mariadbAvailable(['mariadb-dump', 'gzip'])].filter(a => !a.ok).map(a => a.reason);
for (const tool of ['/usr/sbin/apache2', '/usr/share/wordpress/wp-login.php', '/usr/bin/pwgen', '/usr/bin/zstd', '/usr/bin/curl', '/usr/bin/setpriv', '/usr/sbin/ip']) {
  if (!fs.existsSync(tool)) reasons.push(`${tool} is missing (Debian: apache2 libapache2-mod-php php-mysql wordpress pwgen zstd curl util-linux iproute2)`);
}
if (reasons.length) console.warn(`Skipping the pod emulation suite: ${reasons.join('; ')}`);
const describeIf = reasons.length ? describe.skip : describe;

const SITE_DIR = path.join(REPO, 'dist', 'prod', 'blog');
const loadYaml = (file: string): any[] => parseAllDocuments(fs.readFileSync(file, 'utf8')).map(d => d.toJS()).filter(Boolean);
/** The manifests of one site folder, parsed, by file (kustomization.yaml and README.md are not manifests). */
const manifests = (dir: string): Array<[string, any[]]> => fs.readdirSync(dir).filter(f => f.endsWith('.k8s.yaml')).sort()
  .map(f => [path.join(dir, f), loadYaml(path.join(dir, f))]);
const siteObjects = () => manifests(SITE_DIR).flatMap(([, objects]) => objects);
/** Every manifest file of dist/<env>/<site>/, parsed once, with whether its site is meant for OpenShift. */
const distManifests = () => {
  const dirs = (dir: string) => fs.readdirSync(dir, { withFileTypes: true }).filter(e => e.isDirectory()).map(e => path.join(dir, e.name));
  return dirs(path.join(REPO, 'dist')).flatMap(dirs).flatMap(site => {
    const files = manifests(site);
    const openShift = forOpenShift(files.flatMap(([, objects]) => objects));
    return files.map(([file, objects]) => ({ file, objects, openShift }));
  });
};
const only = (objects: any[], kind: string) => {
  const found = objects.filter(o => o.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`);
  return found[0];
};
const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x));

/** config/prod.yaml's site "blog" with a restore of `file`: the objects the chart renders for it. */
function renderWithRestore(file: string): any[] {
  const envFile = path.join(REPO, 'config', 'prod.yaml');
  const config = parse(fs.readFileSync(envFile, 'utf8'));
  config.sites.blog.backup = { ...config.sites.blog.backup, restore: { file } };
  const result = loadEnvironment(envFile, stringify(config));
  if (result.errors.length) throw new Error(JSON.stringify(result.errors));
  const text = renderEnvironments(result.environments).get(`${result.environments[0].name}/blog/app.k8s.yaml`);
  if (!text) throw new Error('no prod/blog/app.k8s.yaml rendered');
  return parseAllDocuments(text).map(d => d.toJS()).filter(Boolean);
}

/** `key = value` lines of an ini/cnf text. */
const settings = (text: string) => text.split('\n').map(l => /^\s*([A-Za-z0-9_.-]+)\s*=\s*(.*?)\s*$/.exec(l)).filter((m): m is RegExpExecArray => !!m).map(m => [m[1], m[2]] as const);
const UNITS: Record<string, number> = { K: 1024, M: 1024 ** 2, G: 1024 ** 3 };
const bytes = (v: string) => {
  const m = /^([0-9]+)([KMG])$/i.exec(v);
  return m ? String(Number(m[1]) * UNITS[m[2].toUpperCase()]) : v;
};

/** Checksums of every table of the application database, and the list of tables. */
async function fingerprint(cluster: Cluster, db: Pod): Promise<string> {
  const tables = (await sql(cluster, db, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE' ORDER BY 1", 'app'))
    .split('\n').filter(Boolean);
  return tables.length ? sql(cluster, db, `CHECKSUM TABLE ${tables.map(t => `\`${t}\``).join(', ')} EXTENDED`, 'app') : '';
}

/** What the kernel says about a container's init: ids, groups, capabilities, no_new_privs. */
async function credentials(pod: Pod): Promise<Record<string, string>> {
  const r = await pod.exec(['cat', '/proc/1/status']);
  return Object.fromEntries(r.stdout.split('\n').map(l => l.split(':\t')).filter(p => p.length === 2).map(([k, v]) => [k, v.trim()]));
}

const report: string[] = [];
const note = (line: string) => {
  report.push(line);
};

afterAll(() => {
  removeLayers();
  if (report.length) console.log(`pod emulation report:\n  ${report.join('\n  ')}`);
});

describeIf('every pod template in dist/ under the pod emulator', () => {
  test('each pod spec is read, its image is in the catalogue, and its securityContext maps to what the process gets', () => {
    const seen: string[] = [];
    const notEmulated = new Set<string>();
    for (const { file, objects, openShift } of distManifests()) {
      // A site meant for OpenShift leaves its UIDs to the platform's admission (restricted SCC).
      const admit = openShift ? admitOpenShiftRestricted : (w: any) => w;
      for (const w of workloads(objects).map(w => admit(w))) {
        // Any pod IP: a running pod has one, and Galera's config init container reads it (status.podIP).
        const plan = resolvePod(w, { secretValue: () => 'x', configMapValue: () => 'x' }, undefined, '10.244.0.2');
        for (const c of [...plan.initContainers, ...plan.containers]) {
          const pod = (w.spec.template ?? w.spec.jobTemplate.spec.template).spec;
          const raw = [...pod.initContainers ?? [], ...pod.containers].find((x: any) => x.name === c.name);
          const sc = { ...pod.securityContext, ...raw.securityContext };
          // Without runAsGroup the runtime takes the user's group from the image (0 for a UID it does not know).
          const gid = sc.runAsGroup ?? imageInfo(c.image).users.find(u => u.uid === sc.runAsUser)?.gid ?? 0;
          expect([c.uid, c.gid]).toEqual([sc.runAsUser, gid]);
          expect(c.capabilities).toEqual(raw.securityContext?.capabilities?.drop?.includes('ALL') ? [] : expect.any(Array));
          expect(c.noNewPrivileges).toBe(raw.securityContext?.allowPrivilegeEscalation === false);
          expect(c.readOnlyRootFilesystem).toBe(!!raw.securityContext?.readOnlyRootFilesystem);
          expect(c.argv.length).toBeGreaterThan(0);
          expect(imageInfo(c.image).reference).toBeTruthy();
        }
        plan.notEmulated.forEach(n => notEmulated.add(n.replace(/=.*$/, '')));
        // Every container runs, the exporter sidecars included.
        expect(plan.containers.map(c => c.name)).toEqual((w.spec.template ?? w.spec.jobTemplate.spec.template).spec.containers.map((c: any) => c.name));
        seen.push(`${path.relative(path.join(REPO, 'dist'), file)} ${plan.workload}`);
      }
    }
    expect(seen.length).toBeGreaterThanOrEqual(9);
    note(`pod templates read: ${seen.length} (${seen.join(', ')})`);
    note(`not emulated (fields named by the emulator): ${[...notEmulated].sort().join('; ')}`);
  });
});

describeIf('dist/prod/blog: MariaDB and WordPress pods run with the images\' entrypoints', () => {
  let cluster: Cluster;
  let objects: any[];
  let db: Pod;
  let wp: Pod;
  let timings: Record<string, number> = {};

  beforeAll(async () => {
    objects = siteObjects();
    cluster = await Cluster.create(objects);
    const t0 = Date.now();
    db = await cluster.startPod(only(objects, 'StatefulSet'));
    const dbReady = await db.waitUntilReady({ timeoutMs: 90_000 });
    timings = { mariadbStartupMs: dbReady.startupMs, mariadbReadyMs: dbReady.readyMs };
    const t1 = Date.now();
    wp = await cluster.startPod(only(objects, 'Deployment'));
    const wpReady = await wp.waitUntilReady({ timeoutMs: 90_000 });
    timings = { ...timings, wordpressStartupMs: wpReady.startupMs, wordpressReadyMs: wpReady.readyMs, totalMs: Date.now() - t0, wordpressSinceStartMs: Date.now() - t1 };
    note(`first start: ${JSON.stringify(timings)}; WordPress container restarts before ready: ${wp.restarts()}`);
    note(`image version differences: ${[...imageInfo(db.plan.containers[0].image).differences, ...imageInfo(wp.plan.containers[0].image).differences].join('; ')}`);
  });

  afterAll(async () => {
    await cluster?.destroy();
  });

  test('the processes run as the rendered users, with no capabilities, no_new_privs and a read-only root', async () => {
    for (const pod of [db, wp]) {
      const c = pod.plan.containers[0];
      const status = await credentials(pod);
      expect(status.Uid.split('\t')[0]).toBe(String(c.uid));
      expect(status.Gid.split('\t')[0]).toBe(String(c.gid));
      expect(status.Groups.split(' ').filter(Boolean)).toEqual(c.groups.map(String));
      expect([status.CapEff, status.CapBnd, status.NoNewPrivs]).toEqual(['0000000000000000', '0000000000000000', '1']);
      const write = await pod.exec(['sh', '-c', 'echo x > /written-by-test']);
      expect(write.stderr).toMatch(/Read-only file system/);
    }
  });

  test('MariaDB: the entrypoint initialised the empty claim as uid 999 with the passwords from the Secret files', async () => {
    const c = db.plan.containers[0];
    expect(db.logs()).toMatch(/Initializing database files/);
    expect(db.logs()).toMatch(/Creating user wordpress|Creating user /);
    const data = db.claimDir('data');
    const st = fs.statSync(path.join(data, 'mysql'));
    expect([st.uid, st.gid]).toEqual([c.uid, c.gid]);
    // Root over the socket and the application user over TCP, each with its Secret's value...
    expect((await sql(cluster, db, 'SELECT CURRENT_USER()')).trim()).toBe('root@localhost');
    expect((await sql(cluster, db, 'SELECT DATABASE(), CURRENT_USER()', 'app')).trim()).toBe(`${c.env.MARIADB_DATABASE}\t${c.env.MARIADB_USER}@%`);
    // ...and not with another one.
    const wrong = await db.exec(['mariadb', '--host=127.0.0.1', `--user=${c.env.MARIADB_USER}`, '-e', 'SELECT 1'], { env: { MYSQL_PWD: 'not-the-secret' } });
    expect(wrong.stderr).toMatch(/Access denied/);
    // The image's *_FILE variables are consumed: the entrypoint unsets them before mariadbd runs.
    const environ = (await db.exec(['sh', '-c', 'tr "\\0" "\\n" < /proc/1/environ'])).stdout;
    expect(environ).toMatch(/^MARIADB_USER=/m);
    expect(environ).not.toMatch(/^(MARIADB|MYSQL)_(ROOT_)?PASSWORD(_FILE)?=/m);
  });

  test('MariaDB: the rendered my.cnf is loaded (SHOW VARIABLES equals the ConfigMap)', async () => {
    const sts = only(objects, 'StatefulSet');
    const spec = sts.spec.template.spec;
    const mount = spec.containers[0].volumeMounts.find((m: any) => m.mountPath.startsWith('/etc/mysql/'));
    const volume = spec.volumes.find((v: any) => v.name === mount.name);
    const configMap = (name: string) => objects.find(o => o.kind === 'ConfigMap' && o.metadata.name === name);
    let text: string;
    if (volume.configMap) {
      text = configMap(volume.configMap.name).data[mount.subPath];
    } else {
      // Replication: the `config` init container wrote conf.d from the ConfigMap for pod 0, the primary.
      const cm = configMap(spec.volumes.find((v: any) => v.name === 'config').configMap.name);
      text = (await db.exec(['sh', '-c', 'cat /etc/mysql/conf.d/*.cnf'])).stdout;
      for (const part of [cm.data['common.cnf'], cm.data['primary.cnf'], 'server_id = 100\n']) expect(text).toContain(part);
    }
    const cnf = settings(text);
    expect(cnf.length).toBeGreaterThan(3);
    const variable = async (name: string) =>
      (await sql(cluster, db, `SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_VARIABLES WHERE VARIABLE_NAME = '${name}'`)).trim();
    for (const [key, value] of cnf) {
      // log_bin takes the binlog's base name; the variable of that name only says ON.
      if (key === 'log_bin') {
        expect([await variable('LOG_BIN'), await variable('LOG_BIN_BASENAME')]).toEqual(['ON', `/var/lib/mysql/${value}`]);
        continue;
      }
      const actual = await variable(key.replace(/-/g, '_'));
      expect([key, actual.toLowerCase()]).toEqual([key, bytes(value).toLowerCase()]);
    }
  });

  test('WordPress: the entrypoint copied WordPress onto the empty content claim and wrote wp-config.php', async () => {
    const content = wp.claimDir('content');
    const source = wp.plan.containers[0].imageInfo.layer().binds.find(b => b.target === '/usr/src/wordpress')!.source;
    const copied = readTree(content);
    const original = readTree(source);
    const missing = Object.keys(original).filter(f => copied[f] !== original[f]);
    expect(missing).toEqual([]);
    expect(Object.keys(copied).filter(f => !(f in original))).toEqual(['wp-config.php']);
    expect(fs.statSync(path.join(content, 'wp-config.php')).uid).toBe(wp.plan.containers[0].uid);
    expect(wp.logs()).toMatch(/copying '(\/usr\/src\/wordpress\/)?wp-config-docker\.php'/);
  });

  test('WordPress: the first start on the empty claim succeeds without a container restart', () => {
    // The entrypoint's `tar --extract --no-overwrite-dir` as uid 33 still chmods the volume root,
    // which the kubelet leaves root-owned (group fsGroup): GNU tar 1.34 (bookworm, the image's base)
    // exits 2, the container dies, and only the kubelet's restart (which finds index.php) gets on.
    const firstRun = wp.logs().split('[pod emulator: container')[0];
    expect(firstRun).not.toMatch(/Cannot change mode/);
    expect(wp.restarts()).toBe(0);
  });

  test('WordPress: wp-config.php holds the database settings and the 8 keys read from the mounted Secret files', async () => {
    const dep = only(objects, 'Deployment');
    const container = dep.spec.template.spec.containers[0];
    const env = wp.plan.containers[0].env;
    // Evaluate wp-config.php as PHP does, without loading WordPress (its last line).
    const php = `$c = file_get_contents('/var/www/html/wp-config.php');
      $c = str_replace("require_once ABSPATH . 'wp-settings.php';", '', $c);
      eval('?>' . $c);
      $names = ['DB_NAME','DB_USER','DB_PASSWORD','DB_HOST','AUTH_KEY','SECURE_AUTH_KEY','LOGGED_IN_KEY','NONCE_KEY','AUTH_SALT','SECURE_AUTH_SALT','LOGGED_IN_SALT','NONCE_SALT'];
      $out = []; foreach ($names as $n) $out[$n] = constant($n); $out['table_prefix'] = $table_prefix; echo json_encode($out);`;
    const r = await wp.exec(['php', '-r', php]);
    expect(r.stderr).toBe('');
    const config = JSON.parse(r.stdout);
    const fromFile = (name: string) => {
      const s = secretBehind(wp.plan, container.name, env[`${name}_FILE`]);
      return cluster.secretValue(s.secret, s.key);
    };
    expect(config.DB_NAME).toBe(env.WORDPRESS_DB_NAME);
    expect(config.DB_USER).toBe(env.WORDPRESS_DB_USER);
    expect(config.DB_HOST).toBe(env.WORDPRESS_DB_HOST);
    expect(config.DB_PASSWORD).toBe(fromFile('WORDPRESS_DB_PASSWORD'));
    expect(config.table_prefix).toBe(env.WORDPRESS_TABLE_PREFIX);
    const keys = ['AUTH_KEY', 'SECURE_AUTH_KEY', 'LOGGED_IN_KEY', 'NONCE_KEY', 'AUTH_SALT', 'SECURE_AUTH_SALT', 'LOGGED_IN_SALT', 'NONCE_SALT'];
    for (const k of keys) expect([k, config[k]]).toEqual([k, fromFile(`WORDPRESS_${k}`)]);
    expect(new Set(keys.map(k => config[k])).size).toBe(8);
  });

  test('WordPress: the site installs over HTTP (wp-admin/install.php) into the rendered database', async () => {
    const base = `http://${wp.ip}:${wp.plan.containers[0].ports[0].containerPort}`;
    const headers = { Host: 'blog.example.com', 'X-Forwarded-Proto': 'https' };
    const form = { weblog_title: 'Emulated blog', user_name: 'admin', admin_password: 'pe-admin-pw-7Hq', admin_password2: 'pe-admin-pw-7Hq', pw_weak: '1', admin_email: 'admin@blog.example.com', blog_public: '0' };
    const t0 = Date.now();
    const install = await cluster.http(`${base}/wp-admin/install.php?step=2`, { headers, form, timeoutSeconds: 90 });
    note(`WordPress install over HTTP: ${Date.now() - t0} ms, HTTP ${install.status}`);
    expect(install.error).toBe('');
    expect(install.status).toBe(200);
    expect(install.body).toMatch(/Success!/);
    const prefix = wp.plan.containers[0].env.WORDPRESS_TABLE_PREFIX;
    expect((await sql(cluster, db, `SELECT option_value FROM ${prefix}options WHERE option_name = 'blogname'`, 'app')).trim()).toBe('Emulated blog');
    const login = await cluster.http(`${base}/wp-login.php`, { headers });
    expect(login.status).toBe(200);
    expect((await wp.probe('readiness')).detail).toBe('HTTP 200');
  });

  test('WordPress: the PHP limits of the ConfigMap are the values PHP reports under Apache', async () => {
    const dep = only(objects, 'Deployment');
    const mount = dep.spec.template.spec.containers[0].volumeMounts.find((m: any) => m.mountPath.includes('/conf.d/'));
    const volume = dep.spec.template.spec.volumes.find((v: any) => v.name === mount.name);
    const ini = settings(objects.find(o => o.kind === 'ConfigMap' && o.metadata.name === volume.configMap.name).data[mount.subPath]);
    expect(ini.map(([k]) => k)).toEqual(expect.arrayContaining(['upload_max_filesize', 'memory_limit', 'max_execution_time']));
    const script = 'pe-ini-probe.php';
    const file = path.join(wp.claimDir('content'), script);
    fs.writeFileSync(file, `<?php header('Content-Type: application/json'); echo json_encode(['ini' => array_map('ini_get', ${JSON.stringify(ini.map(([k]) => k))}), 'loaded' => php_ini_loaded_file(), 'scanned' => php_ini_scanned_files()]);`);
    try {
      const r = await cluster.http(`http://${wp.ip}/${script}`);
      expect(r.status).toBe(200);
      const reported = JSON.parse(r.body);
      expect(reported.ini).toEqual(ini.map(([, v]) => v));
      expect(reported.scanned).toContain(mount.mountPath);
      note(`PHP under Apache: php.ini ${reported.loaded || '(none, as in the image)'}; limits ${JSON.stringify(Object.fromEntries(ini.map(([k], i) => [k, reported.ini[i]])))}`);
    } finally {
      fs.rmSync(file, { force: true });
    }
  });

  test('WordPress (metrics.enabled): mod_status answers inside the pod on the loopback port the exporter scrapes, not on the pod IP, and port 80 refuses it', async () => {
    const exporter = only(objects, 'Deployment').spec.template.spec.containers.find((c: any) => c.name === 'apache-exporter');
    const scrape = exporter.args.find((a: string) => a.startsWith('--scrape_uri=')).slice('--scrape_uri='.length);
    const port = Number(new URL(scrape).port);
    // The exporter's own request, from inside the pod.
    const inside = await wp.exec(['curl', '-sS', '--max-time', '5', '-w', '\n%{http_code}', scrape]);
    expect(inside.stdout).toMatch(/^ServerMPM: prefork$/m);
    expect(inside.stdout.trim().split('\n').pop()).toBe('200');
    const fromNode = await cluster.curl(['-sS', '--max-time', '5', '-o', '/dev/null', `http://${wp.ip}:${port}/server-status?auto`]);
    expect(fromNode.code).not.toBe(0);
    expect(fromNode.stderr).toMatch(/Couldn't connect|Connection refused|Failed to connect/i);
    for (const headers of [{}, { 'X-Forwarded-For': '127.0.0.1' }] as Array<Record<string, string>>) {
      expect([headers, (await cluster.http(`http://${wp.ip}/server-status?auto`, { headers })).status]).toEqual([headers, 403]);
    }
  });

  test('the exporter sidecars run as their rendered users and pass their probes; each reports what its server says', async () => {
    const metrics = async (pod: Pod, container: string) => {
      await pod.waitUntilReady({ container, timeoutMs: 60_000 });
      const c = pod.plan.containers.find(x => x.name === container)!;
      const r = await cluster.http(`http://${pod.ip}:${c.ports.find(p => p.name === 'metrics')!.containerPort}/metrics`);
      expect([container, r.status, r.error]).toEqual([container, 200, '']);
      expect([container, c.uid, c.readOnlyRootFilesystem, c.capabilities]).toEqual([container, pod === db ? 999 : 65534, true, []]);
      return (metric: string) => [...r.body.matchAll(new RegExp(`^${metric}(\\{[^}]*\\})? (\\S+)$`, 'gm'))].map(m => [m[1] ?? '', Number(m[2])]);
    };
    const apache = await metrics(wp, 'apache-exporter');
    expect(apache('apache_up')).toEqual([['', 1]]);
    expect(apache('apache_workers').find(([l]) => l === '{state="busy"}')![1]).toBeGreaterThanOrEqual(1);
    expect(apache('apache_scoreboard').reduce((n, [, v]) => n + (v as number), 0)).toBe(150);
    // mysqld-exporter read the 0600 my.cnf its init container wrote; once the README's user exists it logs in with it.
    const sts = db.workload;
    const init = sts.spec.template.spec.initContainers.find((c: any) => c.name === 'exporter-config');
    const passwordFile = init.env.find((e: any) => e.name === 'MONITORING_PASSWORD_FILE').value;
    // The same credentials volume as the server's, at the same path.
    const secret = secretBehind(db.plan, db.plan.containers[0].name, passwordFile);
    await sql(cluster, db, readmeMonitoringStatement(cluster.secretValue(secret.secret, secret.key)));
    expect((await metrics(db, 'mysqld-exporter'))('mysql_up')).toEqual([['', 1]]);
    note(`exporter sidecars: ${[...imageInfo(wp.plan.containers[1].image).differences, ...imageInfo(db.plan.containers[1].image).differences].join('; ')}`);
  });

  test('nothing was written outside the writable mounts (the read-only root lists every failed write)', () => {
    const failed = [...readOnlyWrites(db.logs()), ...readOnlyWrites(wp.logs())];
    note(`failed writes on the read-only roots: ${failed.length ? failed.map(f => f.path).join(', ') : 'none'}`);
    expect(failed).toEqual([]);
  });

  test('with the database stopped WordPress readiness fails and liveness passes; MariaDB restarts on its data without re-initialising', async () => {
    await sql(cluster, db, 'CREATE TABLE pe_marker (id INT PRIMARY KEY); INSERT INTO pe_marker VALUES (42);', 'app');
    const firstLog = db.logs();
    for (const kind of ['startup', 'liveness', 'readiness'] as const) expect([kind, (await db.probe(kind)).ok]).toEqual([kind, true]);
    // Server not answering (SIGSTOP): the process is there, the probes must fail.
    const init = (db as any).container().initPid as number;
    process.kill(init, 'SIGSTOP');
    try {
      for (const kind of ['startup', 'liveness', 'readiness'] as const) expect([kind, (await db.probe(kind)).ok]).toEqual([kind, false]);
    } finally {
      process.kill(init, 'SIGCONT');
    }
    // Stopped as the kubelet stops it (STOPSIGNAL, grace period): WordPress loses its database.
    await db.stop();
    expect(firstLog + db.logs()).toMatch(/Shutdown complete/);
    const notReady = await wp.waitForProbe('readiness', { expect: false, timeoutMs: 30_000 });
    expect((await wp.probe('liveness')).ok).toBe(true);
    note(`WordPress with the database down: readiness ${notReady.detail}, liveness passes`);
    // The StatefulSet's pod again, on the same claim.
    const t0 = Date.now();
    db = await cluster.startPod(only(objects, 'StatefulSet'));
    await db.waitUntilReady({ timeoutMs: 90_000 });
    note(`MariaDB restart on existing data: ready in ${Date.now() - t0} ms`);
    expect(db.logs()).not.toMatch(/Initializing database files/);
    expect((await sql(cluster, db, 'SELECT id FROM pe_marker', 'app')).trim()).toBe('42');
    await wp.waitForProbe('readiness', { timeoutMs: 30_000 });
  });

  test('backup CronJob and restore Job pods: dump, drop, restore, identical checksums', async () => {
    await sql(cluster, db, `CREATE TABLE pe_rows (id INT PRIMARY KEY, t TEXT) DEFAULT CHARSET=utf8mb4;
      INSERT INTO pe_rows SELECT seq, CONCAT('row ', seq, ' \u00e9\u{1F600}') FROM seq_1_to_500;`, 'app');
    const before = await fingerprint(cluster, db);
    expect(before).toMatch(/pe_rows\t\d+/);
    const backup = await cluster.startPod(only(objects.filter(o => o.metadata.name === 'mariadb-backup'), 'CronJob'));
    const backupCode = await backup.waitForExit({ timeoutMs: 60_000 });
    expect([backupCode, backup.logs()]).toEqual([0, expect.stringMatching(/backup: wrote /)]);
    const backupVolume = backup.plan.volumes.find(v => v.source.persistentVolumeClaim)!.name;
    const dumps = fs.readdirSync(backup.claimDir(backupVolume)).filter(f => f.endsWith('.sql.gz'));
    expect(dumps).toHaveLength(1);
    expect(readOnlyWrites(backup.logs())).toEqual([]);

    const tables = (await sql(cluster, db, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE'", 'app')).split('\n').filter(Boolean);
    await sql(cluster, db, `DROP TABLE ${tables.map(t => `\`${t}\``).join(', ')}`, 'app');
    expect(await fingerprint(cluster, db)).toBe('');

    const withRestore = renderWithRestore(dumps[0]);
    cluster.apply(withRestore.filter(o => o.kind === 'ConfigMap'));
    const restore = await cluster.startPod(only(withRestore, 'Job'));
    const restoreCode = await restore.waitForExit({ timeoutMs: 60_000 });
    expect([restoreCode, readOnlyWrites(restore.logs())]).toEqual([0, []]);
    expect(await fingerprint(cluster, db)).toBe(before);
    note(`backup ${dumps[0]} (${fs.statSync(path.join(backup.claimDir(backupVolume), dumps[0])).size} bytes) restored: ${tables.length} tables, checksums identical`);
  });

  test('MariaDB replication: pod 1 seeds itself from pod 0 through the official entrypoint, follows it and refuses writes', async () => {
    const sts = only(objects, 'StatefulSet');
    expect(sts.spec.replicas).toBeGreaterThan(1);
    await sql(cluster, db, 'CREATE TABLE pe_replicated (id INT PRIMARY KEY); INSERT INTO pe_replicated VALUES (1), (2);', 'app');
    const replica = await cluster.startPod(sts, { ordinal: 1 });
    // Its readiness probe passes only while both replication threads run within the lag bound.
    await replica.waitUntilReady({ timeoutMs: 120_000 });
    expect(replica.logs('seed')).toMatch(/mariadb: seeded from mariadb-0\.mariadb-headless\./);
    expect(replica.logs()).toMatch(/running \/docker-entrypoint-initdb\.d\/10-seed-from-primary\.sql/);
    expect((await sql(cluster, replica, 'SELECT COUNT(*) FROM pe_replicated', 'app')).trim()).toBe('2');
    await sql(cluster, db, 'INSERT INTO pe_replicated VALUES (3)', 'app');
    const deadline = Date.now() + 30_000;
    while ((await sql(cluster, replica, 'SELECT COUNT(*) FROM pe_replicated', 'app')).trim() !== '3') {
      if (Date.now() > deadline) throw new Error('the row written on pod 0 did not reach pod 1 within 30 s');
      await new Promise(resolve => setTimeout(resolve, 250));
    }
    expect((await sql(cluster, replica, 'SELECT @@server_id, @@read_only')).trim()).toBe('101\t1');
    await expect(sql(cluster, replica, 'INSERT INTO pe_replicated VALUES (4)', 'app')).rejects.toThrow(/read-only/);
    expect(readOnlyWrites(replica.logs())).toEqual([]);
    note(`replica pod 1 ready and following pod 0: ${(/mariadb: seeded from [^\n]*/.exec(replica.logs('seed')) ?? [''])[0]}`);
  });
});

describeIf('README "first start" limit, measured: two WordPress replicas on one empty content claim', () => {
  let cluster: Cluster;
  afterAll(async () => {
    await cluster?.destroy();
  });

  test('two replicas started at once end up with one consistent copy', async () => {
    const objects = siteObjects();
    cluster = await Cluster.create(objects);
    const dep = only(objects, 'Deployment');
    const pods = await Promise.all([cluster.startPod(dep), cluster.startPod(dep)]);
    await Promise.all(pods.map(p => p.waitForProbe('startup', { timeoutMs: 60_000 })));
    const content = pods[0].claimDir('content');
    expect(pods[1].claimDir('content')).toBe(content);
    const source = pods[0].plan.containers[0].imageInfo.layer().binds.find(b => b.target === '/usr/src/wordpress')!.source;
    const copied = readTree(content);
    const original = readTree(source);
    const differing = Object.keys(original).filter(f => copied[f] !== original[f]);
    expect(differing).toEqual([]);
    expect(Object.keys(copied).filter(f => !(f in original))).toEqual(['wp-config.php']);
    // wp-config.php: one complete file, whichever pod wrote it last.
    const config = copied['wp-config.php'];
    expect(config.match(/<\?php/g)).toHaveLength(1);
    expect(config.trimEnd()).toMatch(/require_once ABSPATH \. 'wp-settings\.php';$/);
    const lint = await pods[0].exec(['php', '-l', '/var/www/html/wp-config.php']);
    expect(lint.stdout).toMatch(/No syntax errors/);
    const copiers = pods.filter(p => /copying now/.test(p.logs())).length;
    const writers = pods.filter(p => /copying '(\/usr\/src\/wordpress\/)?wp-config-docker\.php'/.test(p.logs())).length;
    note(`two-replica first start: ${copiers} pod(s) copied WordPress, ${writers} wrote wp-config.php, restarts ${pods.map(p => p.restarts()).join('+')}; result consistent (${Object.keys(original).length} files identical, wp-config.php complete)`);
  });
});

describeIf('broken specs fail the right way', () => {
  let cluster: Cluster;
  let objects: any[];
  beforeAll(async () => {
    objects = siteObjects();
    cluster = await Cluster.create(objects);
  });
  afterAll(async () => {
    await cluster?.destroy();
  });

  /** Start `workload` and wait until its main container has exited at least once. */
  async function firstFailure(workload: any): Promise<Pod> {
    const pod = await cluster.startPod(workload);
    const deadline = Date.now() + 60_000;
    while (!/exited [1-9][0-9]*; restarting|AH00015|AH00072/.test(pod.logs()) || !/Apache|AH0|apache2/.test(pod.logs())) {
      if (Date.now() > deadline) throw new Error(`no failure within 60 s:\n${pod.logs()}`);
      await new Promise(r => setTimeout(r, 250));
    }
    return pod;
  }

  test('without the sysctl, Apache cannot bind port 80 as uid 33 and the startup probe fails', async () => {
    const dep = clone(only(objects, 'Deployment'));
    expect(dep.spec.template.spec.securityContext.sysctls).toEqual([{ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }]);
    delete dep.spec.template.spec.securityContext.sysctls;
    const pod = await firstFailure(dep);
    expect(pod.logs()).toMatch(/Permission denied: AH00072: make_sock: could not bind to address .*:80/);
    const startup = await pod.probe('startup');
    expect(startup.ok).toBe(false);
    note(`no sysctl: ${/AH00072[^\n]*/.exec(pod.logs())?.[0]}; startup probe: ${startup.detail}`);
    await pod.kill();
  });

  test('without the apache-run emptyDir, Apache fails on the read-only root and the suite names the path', async () => {
    const dep = clone(only(objects, 'Deployment'));
    const spec = dep.spec.template.spec;
    const mount = spec.containers[0].volumeMounts.find((m: any) => m.mountPath === '/var/run/apache2');
    expect(mount).toBeDefined();
    spec.containers[0].volumeMounts = spec.containers[0].volumeMounts.filter((m: any) => m !== mount);
    spec.volumes = spec.volumes.filter((v: any) => v.name !== mount.name);
    const pod = await firstFailure(dep);
    const failed = readOnlyWrites(pod.logs());
    // Apache writes its pid file as a temporary file first (apache2.pid.XXXXXX), then renames it.
    expect(failed.map(f => f.path)).toContainEqual(expect.stringMatching(/^\/var\/run\/apache2\/apache2\.pid/));
    expect((await pod.probe('startup')).ok).toBe(false);
    note(`no ${mount.name} emptyDir: failed writes ${failed.map(f => `${f.path} (${f.line.slice(0, 90)})`).join('; ')}`);
    await pod.kill();
  });
});
