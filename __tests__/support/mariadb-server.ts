// Test support: a real MariaDB server for integration tests.
//
// `startMariaDb()` initialises a fresh datadir in a temporary directory, starts `mariadbd` on a
// free port on 127.0.0.1 with a generated option file (nothing from /etc/mysql is read by the
// server), and sets up root, one database and one application user the way the official mariadb
// image's entrypoint does for MARIADB_ROOT_PASSWORD / MARIADB_DATABASE / MARIADB_USER /
// MARIADB_PASSWORD. It never touches /var/lib/mysql, /run/mysqld or the system service.
//
// Client tool facts (MariaDB 10.11, verified against this harness; see the harness test):
// - `mariadb` reads MYSQL_HOST; `mariadb-admin`, `mariadb-dump` (and the other tools) do NOT —
//   they only read MYSQL_TCP_PORT, MYSQL_UNIX_PORT and MYSQL_PWD, and without --host they connect
//   to "localhost", i.e. the Unix socket from /etc/mysql/my.cnf (/run/mysqld/mysqld.sock).
// - `mariadb-admin ping` exits 0 when the server answers, even with "Access denied", and non-zero
//   when nothing answers.

import { spawn, ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';

export interface MariaDbOptions {
  /** Password of root (root@localhost and root@'%'). */
  readonly rootPassword?: string;
  /** Database created for the application user. */
  readonly database?: string;
  /** Application user, created as 'user'@'%' and 'user'@'localhost' with ALL on `database`. */
  readonly user?: string;
  /** Password of the application user. */
  readonly password?: string;
  /**
   * Contents of an extra option file, included after the generated one (so it can override it)
   * for both `mariadb-install-db` and `mariadbd`. Without a `[group]` header the text is put
   * under `[mariadbd]`.
   */
  readonly extraCnf?: string;
  /** How long to wait for the server to answer `mariadb-admin ping` (default 60 s). */
  readonly startTimeoutMs?: number;
  /**
   * Replication set-up on first start, as the official image's entrypoint does it for
   * MARIADB_REPLICATION_USER / MARIADB_REPLICATION_PASSWORD and MARIADB_MASTER_HOST / _PORT:
   * without `master` the user is created (REPLICATION REPLICA on *.*); with `master` the server is
   * pointed at it (CHANGE MASTER TO ..., MASTER_CONNECT_RETRY=10) and replicates after its restart.
   */
  readonly replication?: {
    readonly user: string;
    readonly password: string;
    readonly master?: { readonly host: string; readonly port: number };
  };
  /**
   * Directory whose `*.sql` files are loaded (in name order, as root, into `database`) after the
   * set-up, like the image's /docker-entrypoint-initdb.d; the server is then restarted, as the
   * entrypoint replaces its temporary server with the real one.
   */
  readonly initDir?: string;
}

export interface MariaDbInstance {
  readonly host: '127.0.0.1';
  /** TCP port on 127.0.0.1. */
  readonly port: number;
  /** Unix socket of this server (not the system default /run/mysqld/mysqld.sock). */
  readonly socket: string;
  /** Temporary directory holding the datadir, option files, logs and (usually) the socket. */
  readonly baseDir: string;
  readonly datadir: string;
  /** The server's error log. */
  readonly errorLog: string;
  readonly rootPassword: string;
  readonly database: string;
  readonly user: string;
  readonly password: string;
  /** Milliseconds taken by `mariadb-install-db` and by the most recent start (spawn until ping). */
  readonly timings: { readonly installMs: number; readonly lastStartMs: number };
  /** Whether the mariadbd process is running. */
  readonly running: boolean;
  /**
   * Variables that point the client tools at this server: MYSQL_HOST and MYSQL_TCP_PORT. Merge them
   * over process.env. Only `mariadb` reads MYSQL_HOST; other tools need `--host`.
   */
  env(): Record<string, string>;
  /**
   * Run SQL with the `mariadb` client over TCP (read from stdin, --batch --skip-column-names), as
   * root (default, no default database) or as the application user (in `database`). Resolves to
   * stdout; rejects with stderr.
   */
  sql(query: string, asUser?: 'root' | 'app'): Promise<string>;
  /** SHOW REPLICA STATUS as root, by column name; empty when the server replicates from nobody. */
  replicaStatus(): Promise<Record<string, string>>;
  /** Replace the extra option file (see `MariaDbOptions.extraCnf`); it takes effect at the next start. */
  reconfigure(extraCnf: string): void;
  /** Shut the server down cleanly (mariadb-admin shutdown; SIGTERM/SIGKILL after timeouts). */
  stop(): Promise<void>;
  /** Start the server again on the same datadir and port. */
  start(): Promise<void>;
  /** Stop the server and remove the temporary directory. */
  destroy(): Promise<void>;
}

const SERVER_BINARIES = ['mariadbd', 'mysqld'];
const REQUIRED_BINARIES = ['mariadb-install-db', 'mariadb', 'mariadb-admin'];
const EXTRA_DIRS = ['/usr/sbin', '/usr/local/sbin', '/sbin', '/usr/bin'];
/** sun_path is 108 bytes including the terminating NUL. */
const MAX_SOCKET_PATH = 107;

/** Absolute path of an executable named `name` on PATH or in the sbin directories. */
export function findBinary(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter).filter((d) => d !== ''), ...EXTRA_DIRS];
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      if (fs.statSync(candidate).isFile()) {
        fs.accessSync(candidate, fs.constants.X_OK);
        return candidate;
      }
    } catch {
      // not here
    }
  }
  return undefined;
}

function serverBinary(): string | undefined {
  for (const name of SERVER_BINARIES) {
    const found = findBinary(name);
    if (found) return found;
  }
  return undefined;
}

/**
 * Whether the MariaDB server and client binaries the harness needs are installed. `extra` names
 * further programs a test needs (e.g. 'mariadb-dump', 'gzip').
 */
export function mariadbAvailable(extra: readonly string[] = []): { ok: boolean; reason?: string } {
  const missing: string[] = [];
  if (!serverBinary()) missing.push(SERVER_BINARIES.join(' or '));
  for (const name of [...REQUIRED_BINARIES, ...extra]) {
    if (!findBinary(name)) missing.push(name);
  }
  if (missing.length === 0) return { ok: true };
  return {
    ok: false,
    reason: `not found on PATH or in ${EXTRA_DIRS.join(', ')}: ${missing.join(', ')} `
      + '(Debian/Ubuntu: apt-get install mariadb-server mariadb-client)',
  };
}

function requireBinary(name: string): string {
  const found = name === 'mariadbd' ? serverBinary() : findBinary(name);
  if (!found) throw new Error(`MariaDB harness: ${name} is not installed`);
  return found;
}

/** A free TCP port on 127.0.0.1 (bound to port 0, read, closed). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('could not read the port'))));
    });
  });
}

interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

interface RunOptions {
  readonly env?: Record<string, string>;
  readonly input?: string;
  readonly timeoutMs?: number;
}

/** Variables that would redirect the client tools; never inherited by the harness's own calls. */
const CLIENT_ENV = ['MYSQL_HOST', 'MYSQL_TCP_PORT', 'MYSQL_UNIX_PORT', 'MYSQL_PWD', 'MYSQL_HOME', 'MYSQL_TEST_LOGIN_FILE'];

function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of CLIENT_ENV) delete env[name];
  return { ...env, ...extra };
}

/** Run a program without a shell and collect its output; never rejects on a non-zero exit. */
function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], { env: cleanEnv(options.env), stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.once('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    child.stdin.on('error', () => undefined); // EPIPE when the program exits before reading
    child.stdin.end(options.input ?? '');
  });
}

function describeExit(r: RunResult): string {
  return r.signal ? `signal ${r.signal}` : `exit code ${r.code}`;
}

/** A string literal for SQL (the default sql_mode, where backslash escapes are on). */
function sqlString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\0/g, '\\0')}'`;
}

function sqlIdentifier(value: string): string {
  return '`' + value.replace(/`/g, '``') + '`';
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function tail(file: string, lines = 40): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n').trim();
  } catch {
    return '(no log)';
  }
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Last resort: never leave a server behind when the test process exits without stopping it. */
function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
}

class ServerStartError extends Error {
  constructor(message: string, readonly portInUse: boolean) {
    super(message);
  }
}

const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

class MariaDbServer implements MariaDbInstance {
  readonly host = '127.0.0.1' as const;
  readonly datadir: string;
  readonly errorLog: string;
  readonly socket: string;
  readonly rootPassword: string;
  readonly database: string;
  readonly user: string;
  readonly password: string;
  port = 0;
  timings = { installMs: 0, lastStartMs: 0 };

  private readonly cnf: string;
  private extraCnf: string | undefined;
  private readonly stdoutLog: string;
  private readonly startTimeoutMs: number;
  private readonly replication: MariaDbOptions['replication'];
  readonly initDir: string | undefined;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private destroyed = false;

  constructor(readonly baseDir: string, private readonly socketDir: string, options: MariaDbOptions) {
    this.datadir = path.join(baseDir, 'data');
    this.errorLog = path.join(baseDir, 'error.log');
    this.stdoutLog = path.join(baseDir, 'mariadbd.out');
    this.cnf = path.join(baseDir, 'my.cnf');
    this.socket = path.join(socketDir, 'mysqld.sock');
    this.rootPassword = options.rootPassword ?? 'test-root-password';
    this.database = options.database ?? 'wordpress';
    this.user = options.user ?? 'wordpress';
    this.password = options.password ?? 'test-app-password';
    this.startTimeoutMs = options.startTimeoutMs ?? 60_000;
    this.replication = options.replication;
    this.initDir = options.initDir;
    if (options.extraCnf !== undefined) this.writeExtraCnf(options.extraCnf);
  }

  private writeExtraCnf(text: string): void {
    const hasGroup = /^\s*\[[^\]]+\]/m.test(text);
    this.extraCnf = path.join(this.baseDir, 'extra.cnf');
    fs.writeFileSync(this.extraCnf, (hasGroup ? '' : '[mariadbd]\n') + text + '\n');
  }

  reconfigure(extraCnf: string): void {
    this.writeExtraCnf(extraCnf);
    this.writeCnf(this.port);
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  env(): Record<string, string> {
    return { MYSQL_HOST: this.host, MYSQL_TCP_PORT: String(this.port) };
  }

  /** (Re)write the server's option file; the port is only known once it has been picked. */
  writeCnf(port: number): void {
    this.port = port;
    const lines = [
      '# Generated by __tests__/support/mariadb-server.ts',
      '[mariadbd]',
      `datadir=${this.datadir}`,
      `socket=${this.socket}`,
      `pid-file=${path.join(this.baseDir, 'mariadbd.pid')}`,
      `tmpdir=${path.join(this.baseDir, 'tmp')}`,
      `log-error=${this.errorLog}`,
      `port=${port}`,
      'bind-address=127.0.0.1',
      'skip-networking=0',
      // As in the official image: no reverse DNS, so 127.0.0.1 is not turned into "localhost".
      'host-cache-size=0',
      'skip-name-resolve',
      'innodb-buffer-pool-size=64M',
      ...(this.extraCnf ? [`!include ${this.extraCnf}`] : []),
      '',
    ];
    fs.writeFileSync(this.cnf, lines.join('\n'));
  }

  async install(): Promise<void> {
    const started = Date.now();
    const r = await run(requireBinary('mariadb-install-db'), [
      `--defaults-file=${this.cnf}`, // must be the first option
      ...(isRoot() ? ['--user=root'] : []),
      `--datadir=${this.datadir}`,
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
    ], { timeoutMs: 120_000 });
    this.timings = { ...this.timings, installMs: Date.now() - started };
    if (r.code !== 0) {
      throw new Error(`mariadb-install-db failed (${describeExit(r)}); error log ${this.errorLog}:\n${tail(this.errorLog)}\noutput:\n${r.stdout}\n${r.stderr}`);
    }
  }

  async start(): Promise<void> {
    if (this.destroyed) throw new Error('MariaDB harness: start() after destroy()');
    if (this.child) return;
    const started = Date.now();
    const out = fs.openSync(this.stdoutLog, 'a');
    let child: ChildProcess;
    try {
      child = spawn(requireBinary('mariadbd'), [`--defaults-file=${this.cnf}`, ...(isRoot() ? ['--user=root'] : [])], {
        env: cleanEnv(),
        stdio: ['ignore', out, out],
      });
    } finally {
      fs.closeSync(out);
    }
    let exitStatus: string | undefined;
    this.exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        exitStatus = signal ? `signal ${signal}` : `exit code ${code}`;
        if (this.child === child) this.child = undefined;
        resolve();
      });
      child.once('error', (e) => {
        exitStatus = `spawn error: ${e.message}`;
        if (this.child === child) this.child = undefined;
        resolve();
      });
    });
    this.child = child;
    track(child);

    const deadline = started + this.startTimeoutMs;
    for (;;) {
      if (exitStatus !== undefined) {
        const log = `${tail(this.errorLog)}\n${tail(this.stdoutLog, 10)}`;
        throw new ServerStartError(
          `mariadbd exited during start-up (${exitStatus}); error log ${this.errorLog}:\n${log}`,
          /Bind on TCP\/IP port|Address already in use/.test(log),
        );
      }
      // Over our own socket, so a stranger that grabbed the port cannot answer for us.
      const ping = await run(requireBinary('mariadb-admin'), [
        '--no-defaults', '--protocol=socket', `--socket=${this.socket}`, '--connect-timeout=2', '--silent', 'ping',
      ], { timeoutMs: 10_000 });
      if (ping.code === 0 && exitStatus === undefined) break;
      if (Date.now() > deadline) {
        await this.kill();
        throw new ServerStartError(
          `mariadbd did not answer mariadb-admin ping within ${this.startTimeoutMs} ms; error log ${this.errorLog}:\n${tail(this.errorLog)}`,
          false,
        );
      }
      await sleep(100);
    }
    this.timings = { ...this.timings, lastStartMs: Date.now() - started };
  }

  /** First start only: secure root, create the database and the application user. */
  async bootstrap(): Promise<void> {
    const root = sqlString(this.rootPassword);
    const app = sqlString(this.password);
    const db = sqlIdentifier(this.database);
    // In GRANT ... ON `db`.*, "_" and "%" are wildcards; escape them like the image does.
    const grantDb = sqlIdentifier(this.database.replace(/([_%])/g, '\\$1'));
    const user = sqlString(this.user);
    const statements = [
      "SET @@SESSION.SQL_MODE = REPLACE(@@SESSION.SQL_MODE, 'NO_BACKSLASH_ESCAPES', '')",
      "DROP USER IF EXISTS root@'127.0.0.1', root@'::1'",
      "EXECUTE IMMEDIATE CONCAT('DROP USER IF EXISTS root@\\'', @@hostname, '\\'')",
      `SET PASSWORD FOR 'root'@'localhost' = PASSWORD(${root})`,
      `CREATE USER 'root'@'%' IDENTIFIED BY ${root}`,
      "GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION",
      "GRANT PROXY ON ''@'%' TO 'root'@'%' WITH GRANT OPTION",
      `CREATE DATABASE IF NOT EXISTS ${db}`,
      `CREATE USER ${user}@'%' IDENTIFIED BY ${app}`,
      `CREATE USER ${user}@'localhost' IDENTIFIED BY ${app}`,
      `GRANT ALL ON ${grantDb}.* TO ${user}@'%'`,
      `GRANT ALL ON ${grantDb}.* TO ${user}@'localhost'`,
      ...this.replicationStatements(),
    ];
    // root@localhost has no password yet; use the socket (TCP from 127.0.0.1 has no root account
    // with skip-name-resolve once root@'127.0.0.1' is dropped).
    const r = await run(requireBinary('mariadb'), [
      '--no-defaults', '--protocol=socket', `--socket=${this.socket}`, '--user=root', '--batch', '--binary-mode',
    ], { input: statements.map((s) => s + ';\n').join(''), timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`MariaDB harness: setting up users failed (${describeExit(r)}): ${r.stderr}`);
  }

  private replicationStatements(): string[] {
    const r = this.replication;
    if (!r) return [];
    const user = sqlString(r.user);
    if (!r.master) return [`CREATE USER ${user}@'%' IDENTIFIED BY ${sqlString(r.password)}`, `GRANT REPLICATION REPLICA ON *.* TO ${user}@'%'`];
    return [`CHANGE MASTER TO MASTER_HOST=${sqlString(r.master.host)}, MASTER_USER=${user}, MASTER_PASSWORD=${sqlString(r.password)}, `
      + `MASTER_PORT=${r.master.port}, MASTER_CONNECT_RETRY=10`];
  }

  /** Load the `*.sql` files of `initDir` as root over the socket, in name order. */
  async loadInitFiles(): Promise<void> {
    if (!this.initDir) return;
    for (const file of fs.readdirSync(this.initDir).filter((f) => f.endsWith('.sql')).sort()) {
      const r = await run(requireBinary('mariadb'), [
        '--no-defaults', '--protocol=socket', `--socket=${this.socket}`, '--user=root', `--database=${this.database}`, '--binary-mode',
      ], { env: { MYSQL_PWD: this.rootPassword }, input: fs.readFileSync(path.join(this.initDir, file), 'utf8'), timeoutMs: 120_000 });
      if (r.code !== 0) throw new Error(`MariaDB harness: init file ${file} failed (${describeExit(r)}): ${r.stderr}`);
    }
  }

  async sql(query: string, asUser: 'root' | 'app' = 'root', columnNames = false): Promise<string> {
    if (!this.child) throw new Error('MariaDB harness: sql() while the server is stopped');
    const app = asUser === 'app';
    const r = await run(requireBinary('mariadb'), [
      '--no-defaults',
      '--protocol=tcp',
      `--host=${this.host}`,
      `--port=${this.port}`,
      `--user=${app ? this.user : 'root'}`,
      '--batch',
      ...(columnNames ? [] : ['--skip-column-names']),
      ...(app ? [`--database=${this.database}`] : []),
    ], { env: { MYSQL_PWD: app ? this.password : this.rootPassword }, input: query, timeoutMs: 60_000 });
    if (r.code !== 0) {
      throw new Error(`mariadb (${asUser}) failed (${describeExit(r)}): ${r.stderr.trim() || r.stdout.trim()}`);
    }
    return r.stdout;
  }

  async replicaStatus(): Promise<Record<string, string>> {
    const [header, row] = (await this.sql('SHOW REPLICA STATUS', 'root', true)).split('\n');
    if (!row) return {};
    const values = row.split('\t');
    return Object.fromEntries(header.split('\t').map((name, i) => [name, values[i]]));
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = this.exited;
    const shutdown = await run(requireBinary('mariadb-admin'), [
      '--no-defaults', '--protocol=socket', `--socket=${this.socket}`, '--user=root', '--connect-timeout=5', 'shutdown',
    ], { env: { MYSQL_PWD: this.rootPassword }, timeoutMs: 30_000 }).catch(() => undefined);
    if (!shutdown || shutdown.code !== 0) child.kill('SIGTERM'); // mariadbd shuts down cleanly on SIGTERM too
    if (await within(exited, 60_000)) return;
    child.kill('SIGTERM');
    if (await within(exited, 15_000)) return;
    await this.kill();
  }

  private async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGKILL');
    await within(this.exited, 10_000);
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    try {
      await this.stop();
    } finally {
      this.destroyed = true;
      if (!process.env.MARIADB_HARNESS_KEEP) {
        fs.rmSync(this.baseDir, { recursive: true, force: true });
        if (this.socketDir !== this.baseDir) fs.rmSync(this.socketDir, { recursive: true, force: true });
      }
    }
  }
}

/** Whether `promise` settled within `ms` milliseconds. */
async function within(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    if (timer) clearTimeout(timer);
  }
}

/**
 * Initialise a datadir in a new temporary directory and start a MariaDB server on a free port on
 * 127.0.0.1. Call `destroy()` (e.g. in afterAll) to stop it and delete the directory. Set
 * MARIADB_HARNESS_KEEP=1 to keep the directory (logs, datadir) for debugging.
 */
export async function startMariaDb(options: MariaDbOptions = {}): Promise<MariaDbInstance> {
  const available = mariadbAvailable();
  if (!available.ok) throw new Error(`MariaDB harness: ${available.reason}`);

  const baseDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mariadb-test-'));
  // A Unix socket path must fit in sun_path; a long TMPDIR (macOS, CI) may not leave room.
  const socketDir = Buffer.byteLength(path.join(baseDir, 'mysqld.sock')) <= MAX_SOCKET_PATH
    ? baseDir
    : fs.mkdtempSync('/tmp/mdb-');
  fs.mkdirSync(path.join(baseDir, 'tmp'));
  const server = new MariaDbServer(baseDir, socketDir, options);
  try {
    server.writeCnf(await freePort());
    await server.install();
    // The port was free a moment ago; if someone took it since, pick another.
    for (let attempt = 1; ; attempt++) {
      try {
        await server.start();
        break;
      } catch (e) {
        if (!(e instanceof ServerStartError && e.portInUse && attempt < 3)) throw e;
        server.writeCnf(await freePort());
      }
    }
    await server.bootstrap();
    await server.loadInitFiles();
    if (options.initDir || options.replication?.master) {
      await server.stop();
      await server.start();
    }
    return server;
  } catch (e) {
    await server.destroy().catch(() => undefined);
    throw e;
  }
}
