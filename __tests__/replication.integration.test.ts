// MariaDB replication of config/prod.yaml site "blog" against real mariadbd processes, one per
// ordinal on loopback ports. What each server gets comes from the rendered StatefulSet: its my.cnf
// is what the `config` init container writes for that ordinal, its entrypoint settings are what the
// server container's command hands to docker-entrypoint.sh (a stub here that records them), a new
// replica's seed is what the `seed` init container dumps from the primary, and readiness is the
// rendered probe. The harness then does what the official entrypoint does with those settings
// (support/mariadb-server.ts: replication user, CHANGE MASTER TO, init files, restart).
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { loadEnvironment } from '../lib/config/load';
import { renderEnvironments } from '../lib/render/render';
import { eventually, REPO, sleep, tempDir } from './support/fixtures';
import { MariaDbInstance, mariadbAvailable, startMariaDb } from './support/mariadb-server';
import { LocalPod } from './support/pod-runner';

jest.setTimeout(180_000);

const available = mariadbAvailable(['mariadb-dump', 'gzip', 'bash', 'awk']);
if (!available.ok) console.warn(`Skipping the replication integration tests: ${available.reason}`);
const describeMariaDb = available.ok ? describe : describe.skip;

const SITE = 'blog';
const password = () => randomBytes(18).toString('base64');

const ENV_FILE = path.join(REPO, 'config', 'prod.yaml');

/** The site's objects as config/prod.yaml renders them, with another primary ordinal if given. */
function render(primaryOrdinal?: number): any[] {
  const config = parse(fs.readFileSync(ENV_FILE, 'utf8'));
  if (primaryOrdinal !== undefined) {
    const db = config.sites[SITE].database;
    db.replication = { ...db.replication, primary: primaryOrdinal };
  }
  const { environments, errors } = loadEnvironment(ENV_FILE, stringify(config));
  if (errors.length) throw new Error(JSON.stringify(errors));
  const text = renderEnvironments(environments).get(`prod/${SITE}/app.k8s.yaml`)!;
  return parseAllDocuments(text).map(d => d.toJS());
}

/** The SQL of each ```sql runbook=<step> block of docs/replication.md, by step. */
function runbook(): Record<string, string> {
  const text = fs.readFileSync(path.join(REPO, 'docs', 'replication.md'), 'utf8');
  const blocks = [...text.matchAll(/```sql runbook=([a-z-]+)\n([\s\S]*?)```/g)];
  return Object.fromEntries(blocks.map(m => [m[1], m[2].split('\n').map(l => l.trim()).join('\n')]));
}

describeMariaDb(`replication of config/prod.yaml site "${SITE}" against real MariaDB servers`, () => {
  const started = Date.now();
  let objects: any[];
  let sts: any;
  let secrets: Record<string, Record<string, string>>;
  let root: string;
  let cleanup: () => void;
  /** A stand-in for docker-entrypoint.sh that records the environment and arguments it is given. */
  let stubDir: string;
  const servers: MariaDbInstance[] = [];
  let primary: MariaDbInstance;
  let replica1: MariaDbInstance;
  let replica2: MariaDbInstance;

  const podName = (ordinal: number) => `${sts.metadata.name}-${ordinal}`;
  /** One pod's containers share its emptyDirs: one local root per ordinal. */
  const pod = (ordinal: number, container: string) =>
    new LocalPod(sts, { root: path.join(root, podName(ordinal)), objects, secrets, containerName: container });

  /** The my.cnf files the `config` init container writes into conf.d for this ordinal. */
  async function renderedCnf(ordinal: number): Promise<string> {
    const init = pod(ordinal, 'config');
    const r = await init.run({ HOSTNAME: podName(ordinal) });
    expect([r.code, r.stderr]).toEqual([0, '']);
    const confD = init.local('/etc/mysql/conf.d');
    return fs.readdirSync(confD).sort().map(f => fs.readFileSync(path.join(confD, f), 'utf8')).join('\n');
  }

  /** What the server container's command passes on to the image's entrypoint in this ordinal's pod. */
  async function entrypointCall(ordinal: number): Promise<{ env: Record<string, string>; args: string[] }> {
    const server = pod(ordinal, 'mariadb');
    const r = await server.run({ HOSTNAME: podName(ordinal), PATH: `${stubDir}:${process.env.PATH}` });
    expect([r.code, r.stderr]).toEqual([0, '']);
    const [args, env] = r.stdout.split('\n--env--\n');
    return {
      args: args.split('\n').filter(Boolean),
      env: Object.fromEntries(env.split('\n').filter(l => l.includes('=')).map(l => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])),
    };
  }

  /** Start the server of one ordinal as its pod would; replicas seed from and follow `primary`. */
  async function startOrdinal(ordinal: number, upstream = primary): Promise<MariaDbInstance> {
    const { env, args } = await entrypointCall(ordinal);
    expect(args).toEqual(['mariadbd']);
    const master = env.MARIADB_MASTER_HOST;
    let initDir: string | undefined;
    if (master !== undefined) {
      // The primary's stable per-pod DNS name, reached here on loopback.
      const primaryOrdinal = Number(pod(ordinal, 'mariadb').env().PRIMARY_ORDINAL);
      expect(master).toBe(`${podName(primaryOrdinal)}.${sts.spec.serviceName}.${sts.metadata.namespace}.svc.cluster.local`);
      expect(env.MARIADB_MASTER_PORT).toBe('3306');
      const seed = pod(ordinal, 'seed');
      const r = await seed.run({ HOSTNAME: podName(ordinal), MARIADB_MASTER_HOST: upstream.host, MYSQL_TCP_PORT: String(upstream.port) });
      expect([r.code, r.stderr]).toEqual([0, '']);
      expect(r.stdout).toMatch(/seeded from 127\.0\.0\.1/);
      initDir = seed.local('/docker-entrypoint-initdb.d');
    }
    const server = await startMariaDb({
      database: env.MARIADB_DATABASE,
      user: env.MARIADB_USER,
      password: fs.readFileSync(env.MARIADB_PASSWORD_FILE, 'utf8'),
      rootPassword: fs.readFileSync(env.MARIADB_ROOT_PASSWORD_FILE, 'utf8'),
      extraCnf: await renderedCnf(ordinal),
      replication: {
        user: env.MARIADB_REPLICATION_USER,
        password: fs.readFileSync(env.MARIADB_REPLICATION_PASSWORD_FILE, 'utf8'),
        master: master === undefined ? undefined : { host: upstream.host, port: upstream.port },
      },
      initDir,
    });
    servers.push(server);
    return server;
  }

  const count = async (db: MariaDbInstance, table = 'posts') => Number((await db.sql(`SELECT COUNT(*) FROM ${table}`, 'app')).trim());
  const caughtUp = async (db: MariaDbInstance, upstream = primary) =>
    (await db.sql('SELECT @@gtid_slave_pos')).trim() === (await upstream.sql('SELECT @@gtid_binlog_pos')).trim();

  /** The rendered readiness probe, run in the pod of `ordinal` against `db`. */
  async function ready(ordinal: number, db: MariaDbInstance) {
    const p = pod(ordinal, 'mariadb');
    const probe = p.container.readinessProbe;
    return p.exec(probe.exec.command, { HOSTNAME: podName(ordinal), MYSQL_TCP_PORT: String(db.port) }, probe.timeoutSeconds * 1000 + 5_000);
  }

  beforeAll(async () => {
    ({ dir: root, cleanup } = tempDir('replication-it-'));
    objects = render();
    sts = objects.find(o => o.kind === 'StatefulSet');
    const server = sts.spec.template.spec.containers[0];
    const credentials = sts.spec.template.spec.volumes.find((v: any) => v.secret).secret;
    const serverKeys = server.env.filter((e: any) => e.name.endsWith('PASSWORD_FILE')).map((e: any) => path.basename(e.value));
    expect(serverKeys).toHaveLength(3);
    // Every key the volume mounts (with metrics.enabled also the monitoring user's), the server's among them.
    const fileKeys: string[] = credentials.items.map((i: any) => i.key);
    expect(fileKeys).toEqual(expect.arrayContaining(serverKeys));
    // Generated now, never committed: the Secret's keys as the pods read them.
    secrets = { [credentials.secretName]: Object.fromEntries(fileKeys.map((k: string) => [k, password()])) };
    stubDir = path.join(root, 'stub');
    fs.mkdirSync(stubDir);
    fs.writeFileSync(path.join(stubDir, 'docker-entrypoint.sh'), '#!/bin/sh\nprintf "%s\\n" "$@"; echo --env--; env\n', { mode: 0o755 });

    primary = await startOrdinal(0);
    // Data on the primary before any replica exists.
    await primary.sql(`CREATE TABLE posts (id INT AUTO_INCREMENT PRIMARY KEY, title VARCHAR(100) NOT NULL) ENGINE=InnoDB;
      INSERT INTO posts (title) SELECT CONCAT('post ', seq) FROM seq_1_to_500;`, 'app');
    replica1 = await startOrdinal(1);
  });

  afterAll(async () => {
    for (const s of servers) await s.destroy();
    cleanup?.();
    console.log(`replication integration suite: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  test('each ordinal runs with its own server_id and GTID binlog; only the primary is writable', async () => {
    const settings = async (db: MariaDbInstance) =>
      (await db.sql('SELECT @@server_id, @@log_bin, @@log_slave_updates, @@gtid_strict_mode, @@read_only, @@binlog_format')).trim().split('\t');
    expect(await settings(primary)).toEqual(['100', '1', '1', '1', '0', 'ROW']);
    expect(await settings(replica1)).toEqual(['101', '1', '1', '1', '1', 'ROW']);
    const status = await replica1.replicaStatus();
    expect([status.Slave_IO_Running, status.Slave_SQL_Running, status.Using_Gtid]).toEqual(['Yes', 'Yes', 'Slave_Pos']);
    expect(await primary.replicaStatus()).toEqual({});
  });

  test('the seed brought the rows that existed before the replica, and new rows follow on every replica', async () => {
    expect(await count(replica1)).toBe(500);
    await primary.sql("INSERT INTO posts (title) VALUES ('after the replica started'); CREATE TABLE comments (id INT PRIMARY KEY); INSERT INTO comments VALUES (1), (2);", 'app');
    await eventually('replica 1 has the new rows', async () => (await caughtUp(replica1)));
    expect(await count(replica1)).toBe(501);
    expect(await count(replica1, 'comments')).toBe(2);
  });

  test('a write on a replica is refused, for the application user and for root', async () => {
    await expect(replica1.sql("INSERT INTO posts (title) VALUES ('on a replica')", 'app')).rejects.toThrow(/--read-only/);
    await expect(replica1.sql(`INSERT INTO ${replica1.database}.posts (title) VALUES ('root on a replica')`)).rejects.toThrow(/--read-only/);
    await expect(replica1.sql(`CREATE DATABASE stray`)).rejects.toThrow(/--read-only/);
    expect(await count(replica1)).toBe(await count(primary));
  });

  test('a replica added later to a primary whose binlogs no longer reach back catches up', async () => {
    await primary.sql("INSERT INTO posts (title) SELECT CONCAT('bulk ', seq) FROM seq_1_to_1000", 'app');
    // Without the binlog from the beginning, only the seed can bring the old rows.
    await primary.sql('FLUSH BINARY LOGS');
    const current = (await primary.sql('SHOW MASTER STATUS')).split('\t')[0];
    await primary.sql(`PURGE BINARY LOGS TO '${current}'`);
    replica2 = await startOrdinal(2);
    expect((await replica2.sql('SELECT @@server_id')).trim()).toBe('102');
    await eventually('replica 2 caught up', () => caughtUp(replica2));
    expect(await count(replica2)).toBe(await count(primary));
    expect(await count(replica2, 'comments')).toBe(2);
    await primary.sql("INSERT INTO posts (title) VALUES ('after replica 2')", 'app');
    await eventually('both replicas have the newest row', async () => (await caughtUp(replica1)) && (await caughtUp(replica2)));
    for (const r of [replica1, replica2]) expect(await count(r)).toBe(await count(primary));
  });

  test('readiness passes while replicating, fails while replication is stopped or lagging', async () => {
    expect((await ready(0, primary)).code).toBe(0);
    expect((await ready(1, replica1)).code).toBe(0);

    await replica1.sql('STOP REPLICA SQL_THREAD');
    const stopped = await ready(1, replica1);
    expect(stopped.code).not.toBe(0);
    expect(stopped.stderr).toMatch(/replication not ready: io=Yes sql=No/);
    await replica1.sql('START REPLICA SQL_THREAD');
    await eventually('the replica is ready again', async () => (await ready(1, replica1)).code === 0);

    // Lag: a session on the replica holds a read lock on the table the next replicated update
    // writes, and that update carries a time stamp an hour old, so Seconds_Behind_Master jumps
    // past the bound while it waits.
    const maxLag = Number(pod(1, 'mariadb').env().MAX_LAG_SECONDS);
    const holder = replica1.sql(`LOCK TABLES ${replica1.database}.posts READ; SELECT SLEEP(8); UNLOCK TABLES;`);
    await sleep(1_000);
    await primary.sql("SET TIMESTAMP = UNIX_TIMESTAMP() - 3600; UPDATE posts SET title = 'edited' WHERE id = 1", 'app');
    await eventually('the replica reports lag', async () => Number((await replica1.replicaStatus()).Seconds_Behind_Master) > maxLag, 6_000);
    const lagging = await ready(1, replica1);
    expect(lagging.code).not.toBe(0);
    expect(lagging.stderr).toMatch(/replication not ready: io=Yes sql=Yes lag=\d{4}/);
    await holder;
    await eventually('the replica caught up and is ready', async () => (await caughtUp(replica1)) && (await ready(1, replica1)).code === 0);
    expect((await replica1.sql('SELECT title FROM posts WHERE id = 1', 'app')).trim()).toBe('edited');
  });

  test('the backup CronJob dumps from the read Service, and a read-only replica serves it', async () => {
    const cron = objects.find(o => o.kind === 'CronJob' && o.metadata.name === 'mariadb-backup');
    const backup = new LocalPod(cron, { root: path.join(root, 'backup'), objects, secrets });
    expect(backup.env().MYSQL_HOST).toBe(`${sts.metadata.name}-read.${sts.metadata.namespace}.svc.cluster.local`);
    const r = await backup.run(replica1.env());
    expect([r.code, r.stderr]).toEqual([0, '']);
    const [dump] = fs.readdirSync(Object.values(backup.claimDirs)[0]);
    expect(dump).toMatch(/^wordpress-\d{8}T\d{6}Z\.sql\.gz$/);
  });

  test('the promotion runbook of docs/replication.md: a replica becomes the primary, the others follow it', async () => {
    const steps = runbook();
    expect(Object.keys(steps).sort()).toEqual(['follow', 'position', 'promote', 'replication-user']);
    await primary.sql("INSERT INTO posts (title) VALUES ('last write on the old primary')", 'app');
    await eventually('both replicas have the last write', async () => (await caughtUp(replica1)) && (await caughtUp(replica2)));
    const rows = await count(primary);
    await primary.stop();

    // Steps 2 and 3: the replica furthest ahead (here both are equal) stops replicating.
    const positions = [await replica1.sql(steps.position), await replica2.sql(steps.position)];
    expect(positions[0]).toBe(positions[1]);
    await replica1.sql(steps.promote);
    expect(await replica1.replicaStatus()).toEqual({});
    // Step 4: `primary: 1` rendered; pod 1 restarts with what its config init container now writes.
    objects = render(1);
    sts = objects.find(o => o.kind === 'StatefulSet');
    expect(objects.find(o => o.kind === 'Service' && o.metadata.name === sts.metadata.name).spec.selector['statefulset.kubernetes.io/pod-name']).toBe(podName(1));
    expect((await entrypointCall(1)).env.MARIADB_MASTER_HOST).toBeUndefined();
    replica1.reconfigure(await renderedCnf(1));
    await replica1.stop();
    await replica1.start();
    expect((await replica1.sql('SELECT @@read_only, @@server_id')).trim()).toBe('0\t101');
    expect((await ready(1, replica1)).code).toBe(0);
    // Step 5, with the password from the Secret.
    const replicationPassword = Object.values(secrets)[0][path.basename(pod(1, 'mariadb').env().MARIADB_REPLICATION_PASSWORD_FILE)];
    await replica1.sql(steps['replication-user'].replace('<mariadb-replication-password>', replicationPassword.replace(/'/g, "\\'")));
    // Step 6: replica 2 follows the new primary (on loopback instead of its per-pod DNS name).
    await replica2.sql(steps.follow.replace('<new-primary-host>', replica1.host).replace('MASTER_PORT=3306', `MASTER_PORT=${replica1.port}`));
    await replica1.sql("INSERT INTO posts (title) VALUES ('first write on the new primary')", 'app');
    await eventually('replica 2 follows the new primary', () => caughtUp(replica2, replica1));
    expect(await count(replica2)).toBe(rows + 1);
    expect((await ready(2, replica2)).code).toBe(0);

    // Step 7: the old primary's claim is deleted; pod 0 starts empty and seeds from the new primary.
    await primary.destroy();
    const rebuilt = await startOrdinal(0, replica1);
    await eventually('the rebuilt pod 0 caught up', () => caughtUp(rebuilt, replica1));
    expect(await count(rebuilt)).toBe(rows + 1);
    expect((await rebuilt.sql('SELECT @@read_only')).trim()).toBe('1');
    expect((await ready(0, rebuilt)).code).toBe(0);
    await expect(rebuilt.sql("INSERT INTO posts (title) VALUES ('on the old primary')", 'app')).rejects.toThrow(/--read-only/);
  });
});
