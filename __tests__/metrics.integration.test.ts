// The monitoring user against a real MariaDB: created with the statement README "Metrics" gives,
// logging in with the my.cnf that the rendered exporter-config init container (dist/prod/blog)
// writes from a Secret file. Proves the grants are enough for what the exporter reads and no more.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { parseAllDocuments } from 'yaml';
import { REPO, readmeMonitoringStatement, tempDir } from './support/fixtures';
import { mariadbAvailable, MariaDbInstance, startMariaDb } from './support/mariadb-server';

jest.setTimeout(120_000);

const available = mariadbAvailable();
if (!available.ok) console.warn(`Skipping the monitoring user integration tests: ${available.reason}`);
const describeMariaDb = available.ok ? describe : describe.skip;

const PASSWORD = 'mon-Pw/+=#;1 $x';

function renderedInitContainer(): any {
  const docs = parseAllDocuments(fs.readFileSync(path.join(REPO, 'dist', 'prod', 'blog', 'app.k8s.yaml'), 'utf8')).map(d => d.toJS());
  const sts = docs.find(d => d?.kind === 'StatefulSet');
  return sts.spec.template.spec.initContainers.find((c: any) => c.name === 'exporter-config');
}

describeMariaDb('the monitoring user (metrics.enabled) on a real server', () => {
  let db: MariaDbInstance;
  let dir: { dir: string; cleanup: () => void };
  let cnf: string;

  beforeAll(async () => {
    db = await startMariaDb({ extraCnf: 'skip-name-resolve = ON' });
    dir = tempDir('monitoring-user-');
    await db.sql(readmeMonitoringStatement(PASSWORD));
    // The init container exactly as rendered, with the Secret file and the emptyDir in a temp dir
    // and the test server's port for the pod's 3306.
    const init = renderedInitContainer();
    fs.writeFileSync(path.join(dir.dir, 'mariadb-monitoring-password'), `${PASSWORD}\n`);
    // HOME away from the machine's own rc files, as in a container.
    const env: Record<string, string> = { PATH: process.env.PATH!, HOME: dir.dir };
    for (const e of init.env) env[e.name] = e.value.replace(/^\/etc\/(mariadb-secrets|mysqld-exporter)/, dir.dir);
    env.MYSQL_TCP_PORT = String(db.port);
    const r = spawnSync(init.command[0], init.command.slice(1), { env, encoding: 'utf8' });
    expect([r.status, r.stderr]).toEqual([0, '']);
    cnf = env.EXPORTER_CNF;
  });

  afterAll(async () => {
    await db?.destroy();
    dir?.cleanup();
  });

  const asMonitoring = (query: string) => spawnSync('mariadb', [`--defaults-file=${cnf}`, '--batch', '--skip-column-names', '-e', query], { encoding: 'utf8' });

  test('logs in with the written my.cnf and has exactly PROCESS, REPLICATION CLIENT, SLAVE MONITOR and SELECT', () => {
    const r = asMonitoring('SELECT CURRENT_USER(); SHOW GRANTS');
    expect(r.stderr).toBe('');
    const [user, grant] = r.stdout.trim().split('\n');
    expect(user).toBe('monitoring@127.0.0.1');
    expect(grant).toMatch(/^GRANT SELECT, PROCESS, BINLOG MONITOR, SLAVE MONITOR ON \*\.\* TO `monitoring`@`127\.0\.0\.1`/);
  });

  test('reads what mysqld-exporter\'s default collectors query: status, variables, replica status, InnoDB and the process list', () => {
    for (const q of ['SHOW GLOBAL STATUS LIKE "Uptime"', 'SHOW GLOBAL VARIABLES LIKE "read_only"', 'SHOW REPLICA STATUS',
      'SELECT COUNT(*) FROM information_schema.processlist', 'SHOW ENGINE INNODB STATUS']) {
      const r = asMonitoring(q);
      expect([q, r.status, r.stderr]).toEqual([q, 0, '']);
    }
  });

  test('REPLICATION CLIENT alone, the grant usually given to mysqld-exporter, does not show the replica status on this MariaDB', async () => {
    await db.sql("CREATE USER 'plain'@'127.0.0.1' IDENTIFIED BY 'p'; GRANT PROCESS, REPLICATION CLIENT, SELECT ON *.* TO 'plain'@'127.0.0.1'");
    const r = spawnSync('mariadb', ['--no-defaults', '-h127.0.0.1', `-P${db.port}`, '-uplain', '-pp', '-e', 'SHOW REPLICA STATUS'], { encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/SLAVE MONITOR/);
  });

  test('may not write or create anything', () => {
    for (const q of ['CREATE DATABASE x', 'CREATE USER y IDENTIFIED BY "z"', 'SET GLOBAL read_only = ON']) {
      const r = asMonitoring(q);
      expect([q, r.status === 0]).toEqual([q, false]);
      expect(r.stderr).toMatch(/denied|privilege/i);
    }
  });
});
