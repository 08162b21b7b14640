// Integration test of the MariaDB test harness itself: a real server on a temporary datadir.
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import { mariadbAvailable, MariaDbInstance, startMariaDb } from './support/mariadb-server';

jest.setTimeout(120_000);

const available = mariadbAvailable(['mariadb-dump']);
if (!available.ok) {
  console.warn(`Skipping MariaDB harness integration tests: ${available.reason}`);
}
const describeMariaDb = available.ok ? describe : describe.skip;

/** Whether something accepts TCP connections on 127.0.0.1:port. */
function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setTimeout(2_000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Run a shell command the way a Kubernetes probe or Job would, with extra environment. */
function sh(command: string, env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', command], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describeMariaDb('MariaDB test harness', () => {
  let db: MariaDbInstance;

  beforeAll(async () => {
    db = await startMariaDb({ database: 'app_db', user: 'appuser', password: "p'w\"d $x\\y" });
    console.log(
      `MariaDB harness: port ${db.port}, install ${db.timings.installMs} ms, start ${db.timings.lastStartMs} ms, dir ${db.baseDir}`,
    );
  });

  afterAll(async () => {
    const baseDir = db?.baseDir;
    await db?.destroy();
    if (baseDir) expect(fs.existsSync(baseDir)).toBe(false);
  });

  test('the application user creates, fills and reads a table', async () => {
    await db.sql('CREATE TABLE posts (id INT PRIMARY KEY, title VARCHAR(100)) ENGINE=InnoDB; '
      + "INSERT INTO posts VALUES (1, 'hello'), (2, 'world');", 'app');
    expect(await db.sql('SELECT id, title FROM posts ORDER BY id', 'app')).toBe('1\thello\n2\tworld\n');
    expect(await db.sql('SELECT CURRENT_USER()', 'app')).toBe("appuser@%\n");
  });

  test('the application user has no rights outside its database', async () => {
    await expect(db.sql('CREATE DATABASE other', 'app')).rejects.toThrow(/Access denied/);
  });

  test('root needs its password over TCP', async () => {
    const denied = await sh('mariadb --no-defaults -uroot -e "SELECT 1"', db.env());
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toMatch(/Access denied/);
    expect(await db.sql('SELECT CURRENT_USER()')).toBe('root@%\n');
  });

  test('mariadb reads MYSQL_HOST/MYSQL_TCP_PORT/MYSQL_PWD', async () => {
    const r = await sh('mariadb -u "$U" -N -B -e "SELECT @@port" "$D"', { ...db.env(), MYSQL_PWD: db.password, U: db.user, D: db.database });
    expect(r).toMatchObject({ code: 0, stdout: `${db.port}\n` });
  });

  test('mariadb-admin ping: exit 0 when up, even without an account; it ignores MYSQL_HOST', async () => {
    const anonymous = await sh('mariadb-admin --connect-timeout=3 --host="$MYSQL_HOST" ping', db.env());
    expect(anonymous.code).toBe(0);
    expect(anonymous.stderr).toMatch(/Access denied/);
    const withUser = await sh('mariadb-admin --connect-timeout=3 --host="$MYSQL_HOST" -u "$U" ping', { ...db.env(), MYSQL_PWD: db.password, U: db.user });
    expect(withUser).toMatchObject({ code: 0, stdout: 'mysqld is alive\n' });
    // Without --host, MYSQL_HOST is not used: the tool tries the default Unix socket instead.
    // (Only checkable when no system server listens on the default socket.)
    if (!fs.existsSync('/run/mysqld/mysqld.sock')) {
      const noHost = await sh('mariadb-admin --connect-timeout=3 ping', db.env());
      expect(noHost.code).not.toBe(0);
      expect(noHost.stderr).toMatch(/socket/);
    }
  });

  test('mariadb-dump with the backup options works over TCP with --host', async () => {
    const r = await sh(
      'mariadb-dump --host="$MYSQL_HOST" --user="$U" --single-transaction --routines --events --triggers "$D"',
      { ...db.env(), MYSQL_PWD: db.password, U: db.user, D: db.database },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/CREATE TABLE `posts`/);
    expect(r.stdout).toMatch(/INSERT INTO `posts` VALUES\s*\(1,'hello'\),\s*\(2,'world'\);/);
    expect(r.stdout.trimEnd().split('\n').pop()).toMatch(/^-- Dump completed/);
  });

  test('stop closes the port; start brings the same data back', async () => {
    const port = db.port;
    await db.stop();
    expect(db.running).toBe(false);
    expect(await portAnswers(port)).toBe(false);
    const down = await sh('mariadb-admin --connect-timeout=3 --host="$MYSQL_HOST" ping', db.env());
    expect(down.code).not.toBe(0);
    await expect(db.sql('SELECT 1')).rejects.toThrow(/stopped/);

    await db.start();
    expect(db.running).toBe(true);
    expect(db.port).toBe(port);
    expect(await portAnswers(port)).toBe(true);
    expect(await db.sql('SELECT title FROM posts ORDER BY id', 'app')).toBe('hello\nworld\n');
  });
});
