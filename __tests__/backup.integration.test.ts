// The backup CronJob, the restore Job, the probes and my.cnf of a real example site, run against a
// real MariaDB server. Every command, script, env var and config file comes from the objects the
// config renders (what `npm run synth` writes to dist/); the only changes are the server address
// (MYSQL_HOST, MYSQL_TCP_PORT) and mount paths rewritten to local directories
// (support/pod-runner.ts).
import * as fs from 'fs';
import * as path from 'path';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { loadEnvironment } from '../lib/config/load';
import { dumpFileName, dumpFileProblem, parseDumpFileName } from '../lib/constructs/mariadb-backup-scripts';
import { renderEnvironments } from '../lib/render/render';
import { REPO, tempDir } from './support/fixtures';
import { MariaDbInstance, mariadbAvailable, startMariaDb } from './support/mariadb-server';
import { LocalPod } from './support/pod-runner';

jest.setTimeout(180_000);

const available = mariadbAvailable(['mariadb-dump', 'gzip', 'bash']);
if (!available.ok) console.warn(`Skipping the backup integration tests: ${available.reason}`);
const describeMariaDb = available.ok ? describe : describe.skip;

const ENV_FILE = path.join(REPO, 'config', 'prod.yaml');
const SITE = 'shop';
/** Awkward on purpose: the scripts must pass it through `cat` and MYSQL_PWD unharmed. */
const APP_PASSWORD = `it 'app' "pw" $HOME \\ ;`;
const ROOT_PASSWORD = 'it-root-password';

/** The site's objects as rendered from config/prod.yaml, with a restore of `restoreFile` if given. */
function render(restoreFile?: string): any[] {
  const config = parse(fs.readFileSync(ENV_FILE, 'utf8'));
  if (restoreFile) config.sites[SITE].backup = { ...config.sites[SITE].backup, restore: { file: restoreFile } };
  const result = loadEnvironment(ENV_FILE, stringify(config));
  if (result.errors.length) throw new Error(JSON.stringify(result.errors));
  const text = renderEnvironments(result.environments).get(`${result.environments[0].name}/${SITE}/app.k8s.yaml`)!;
  return parseAllDocuments(text).map(d => d.toJS());
}

function only(objects: any[], kind: string): any {
  const found = objects.filter(o => o.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`);
  return found[0];
}

// The harness's client runs without option files, so its connection character set is latin1.
const SEED = `
SET NAMES utf8mb4;
CREATE TABLE options (
  option_id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY,
  option_name VARCHAR(191) NOT NULL UNIQUE,
  option_value LONGTEXT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
INSERT INTO options (option_name, option_value) VALUES
  ('siteurl', 'https://shop.example.com'),
  ('blogname', 'Caf\u00e9 \u{1F600} ''single'' "double" \\\\ backslash\\nnewline'),
  ('empty', '');
CREATE TABLE posts (
  ID BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY,
  post_title TEXT NOT NULL,
  post_content LONGTEXT NOT NULL,
  post_date DATETIME NOT NULL,
  post_excerpt TEXT NULL,
  thumb BLOB NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
CREATE TRIGGER posts_trim BEFORE INSERT ON posts FOR EACH ROW SET NEW.post_title = TRIM(NEW.post_title);
INSERT INTO posts (post_title, post_content, post_date, thumb)
  SELECT CONCAT(' Post ', seq, ' '), REPEAT('Lorem ipsum ', seq % 50), '2025-01-01' + INTERVAL seq MINUTE, UNHEX(MD5(seq))
  FROM seq_1_to_2000;
CREATE PROCEDURE count_posts(OUT n INT) SELECT COUNT(*) INTO n FROM posts;
CREATE FUNCTION slug(t TEXT) RETURNS TEXT DETERMINISTIC RETURN LOWER(REPLACE(t, ' ', '-'));
CREATE EVENT purge_transients ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 00:00:00'
  DO DELETE FROM options WHERE option_name LIKE '\\_transient\\_%';
CREATE VIEW recent_posts AS SELECT ID, post_title FROM posts WHERE ID > 1990;
`;

const DROP_ALL = `
DROP VIEW recent_posts; DROP TABLE posts, options;
DROP PROCEDURE count_posts; DROP FUNCTION slug; DROP EVENT purge_transients;
`;

describeMariaDb(`backups of config/prod.yaml site "${SITE}" against a real MariaDB server`, () => {
  const started = Date.now();
  let objects: any[];
  let secrets: Record<string, Record<string, string>>;
  let db: MariaDbInstance;
  /** The database server's container, laid out locally. */
  let server: LocalPod;
  /** The my.cnf file the server container mounts into conf.d. */
  let cnf: string;
  let root: string;
  let cleanup: () => void;

  /** A new local stand-in for the cluster, so each test starts with an empty backup claim. */
  const newCluster = () => fs.mkdtempSync(path.join(root, 'cluster-'));
  const backupPod = (at: string, withSecrets = secrets) => new LocalPod(only(objects.filter(o => o.metadata.name === 'mariadb-backup'), 'CronJob'), { root: at, objects, secrets: withSecrets });
  const restorePod = (at: string, file: string) => {
    const withRestore = render(file);
    return new LocalPod(only(withRestore, 'Job'), { root: at, objects: withRestore, secrets });
  };
  const dumpsIn = (dir: string) => fs.readdirSync(dir).filter(f => parseDumpFileName(f)).sort();

  /** Everything a restore must bring back: table checksums, routines, triggers, events and views. */
  async function fingerprint(): Promise<string> {
    const tables = (await db.sql("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE' ORDER BY 1", 'app'))
      .split('\n').filter(Boolean);
    const checksums = tables.length ? await db.sql(`CHECKSUM TABLE ${tables.join(', ')} EXTENDED`, 'app') : '';
    const definitions = await db.sql(`
      SELECT ROUTINE_TYPE, ROUTINE_NAME, ROUTINE_DEFINITION FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE() ORDER BY 2;
      SELECT TRIGGER_NAME, ACTION_STATEMENT FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() ORDER BY 1;
      SELECT EVENT_NAME, EVENT_DEFINITION, INTERVAL_VALUE, INTERVAL_FIELD, STARTS FROM information_schema.EVENTS WHERE EVENT_SCHEMA = DATABASE() ORDER BY 1;
      SELECT TABLE_NAME, VIEW_DEFINITION FROM information_schema.VIEWS WHERE TABLE_SCHEMA = DATABASE() ORDER BY 1;`, 'app');
    return `${checksums}${definitions}`;
  }

  beforeAll(async () => {
    ({ dir: root, cleanup } = tempDir('backup-it-server-'));
    objects = render();
    const sts = only(objects, 'StatefulSet');
    const credentials = sts.spec.template.spec.volumes.find((v: any) => v.secret).secret;
    const serverEnv = Object.fromEntries(sts.spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value]));
    // Secret keys as the server reads them: the basenames of its *_PASSWORD_FILE paths.
    secrets = {
      [credentials.secretName]: {
        [path.basename(serverEnv.MARIADB_ROOT_PASSWORD_FILE)]: ROOT_PASSWORD,
        [path.basename(serverEnv.MARIADB_PASSWORD_FILE)]: APP_PASSWORD,
      },
    };
    server = new LocalPod(sts, { root, objects, secrets });
    const confFiles = server.container.volumeMounts.filter((m: any) => m.mountPath.startsWith('/etc/mysql/conf.d/'));
    expect(confFiles).toHaveLength(1);
    cnf = fs.readFileSync(server.local(confFiles[0].mountPath), 'utf8');
    db = await startMariaDb({
      database: serverEnv.MARIADB_DATABASE,
      user: serverEnv.MARIADB_USER,
      password: APP_PASSWORD,
      rootPassword: ROOT_PASSWORD,
      extraCnf: cnf,
    });
    await db.sql(SEED, 'app');
  });

  afterAll(async () => {
    await db?.destroy();
    cleanup?.();
    console.log(`backup integration suite: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  test('the my.cnf from the ConfigMap is accepted by the server and in effect', async () => {
    const settings = cnf.split('\n').filter(l => l.includes(' = ')).map(l => l.split(' = '));
    expect(settings.length).toBeGreaterThan(3);
    const units: Record<string, number> = { K: 1024, M: 1024 ** 2, G: 1024 ** 3 };
    for (const [key, value] of settings) {
      const variable = key.replace(/-/g, '_');
      const actual = (await db.sql(`SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_VARIABLES WHERE VARIABLE_NAME = '${variable}'`)).trim();
      const m = /^([0-9]+)([KMG])$/.exec(value);
      const expected = m ? String(Number(m[1]) * units[m[2]]) : value;
      expect([key, actual.toLowerCase()]).toEqual([key, expected.toLowerCase()]);
    }
  });

  test('startup, liveness and readiness probes pass while the server is up and fail while it is down', async () => {
    const container = server.container;
    const probes = { startup: container.startupProbe, liveness: container.livenessProbe, readiness: container.readinessProbe };
    // The probes name 127.0.0.1 themselves, which is where the harness listens too.
    const env = db.env();
    const results = async () => {
      const out: Record<string, number | null> = {};
      for (const [name, p] of Object.entries(probes)) out[name] = (await server.exec(p.exec.command, env, p.timeoutSeconds * 1000 + 5_000)).code;
      return out;
    };
    expect(await results()).toEqual({ startup: 0, liveness: 0, readiness: 0 });
    await db.stop();
    try {
      const down = await results();
      for (const [name, code] of Object.entries(down)) expect([name, code === 0]).toEqual([name, false]);
    } finally {
      await db.start();
    }
    expect(await results()).toEqual({ startup: 0, liveness: 0, readiness: 0 });
  });

  test('backup, drop everything, restore: every row, routine, trigger, event and view comes back', async () => {
    const at = newCluster();
    const before = await fingerprint();
    expect(before).toMatch(/posts\t\d+/);
    const backup = backupPod(at);
    const run = await backup.run(db.env());
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const [claimName] = Object.keys(backup.claimDirs);
    const dumps = dumpsIn(backup.claimDirs[claimName]);
    expect(dumps).toHaveLength(1);
    expect(dumpFileProblem(dumps[0], db.database)).toBeUndefined();

    await db.sql(DROP_ALL, 'app');
    expect(await fingerprint()).not.toEqual(before);

    const restore = restorePod(at, dumps[0]);
    expect(restore.claimDirs[claimName]).toBe(backup.claimDirs[claimName]);
    const loaded = await restore.run(db.env());
    expect(loaded.stderr).toBe('');
    expect(loaded.code).toBe(0);
    expect(await fingerprint()).toEqual(before);
    expect(await db.sql("SET NAMES utf8mb4; SELECT option_value FROM options WHERE option_name = 'blogname'", 'app')).toContain('\u{1F600}');
  });

  test('retention after a real backup deletes exactly the dumps no rule keeps', async () => {
    const pod = backupPod(newCluster());
    const env = pod.env();
    const count = Number(env.RETENTION_COUNT);
    const days = Number(env.RETENTION_DAYS);
    // The layout below needs both rules on and room for two young dumps.
    expect([count >= 3, days >= 3]).toEqual([true, true]);
    const dir = Object.values(pod.claimDirs)[0];
    const name = (ageDays: number) => dumpFileName(db.database, new Date(Date.now() - ageDays * 86_400_000));
    const young = [1, 2].map(name);
    // count + 1 dumps older than `days`, newest first.
    const old = Array.from({ length: count + 1 }, (_, i) => name(days + 1 + i));
    const foreign = ['notes.txt', `${db.database}-20000101T000000Z.sql`, `other_db-20000101T000000Z.sql.gz`];
    for (const f of [...young, ...old, ...foreign]) fs.writeFileSync(path.join(dir, f), 'fake');

    const run = await pod.run(db.env());
    expect(run.code).toBe(0);
    const after = fs.readdirSync(dir).sort();
    const fresh = after.filter(f => parseDumpFileName(f)?.databaseName === db.database && ![...young, ...old].includes(f));
    expect(fresh).toHaveLength(1);
    // The newest `count` are the new dump, the two young ones and the newest count - 3 old ones.
    expect(after).toEqual([...fresh, ...young, ...old.slice(0, count - 3), ...foreign].sort());
  });

  test('a dump that fails leaves no file that looks like a dump, and a corrupt dump is never loaded', async () => {
    const at = newCluster();
    const [[secretName, keys]] = Object.entries(secrets);
    const passwordKey = path.basename(backupPod(at).env().MARIADB_PASSWORD_FILE);
    const wrongPassword = backupPod(newCluster(), { [secretName]: { ...keys, [passwordKey]: 'wrong' } });
    const denied = await wrongPassword.run(db.env());
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toMatch(/Access denied/);
    expect(fs.readdirSync(Object.values(wrongPassword.claimDirs)[0])).toEqual([]);

    const pod = backupPod(at);
    const dir = Object.values(pod.claimDirs)[0];
    await db.stop();
    let down;
    try {
      down = await pod.run(db.env());
    } finally {
      await db.start();
    }
    expect(down.code).not.toBe(0);
    expect(down.stderr).toMatch(/Can't connect|Lost connection/);
    expect(fs.readdirSync(dir)).toEqual([]);

    // The application user cannot read a routine someone else defined: the run fails, not the dump.
    await db.sql(`CREATE DEFINER = root@localhost PROCEDURE ${db.database}.root_only() SELECT 1`);
    let hidden;
    try {
      hidden = await pod.run(db.env());
    } finally {
      await db.sql(`DROP PROCEDURE ${db.database}.root_only`);
    }
    expect(hidden.code).not.toBe(0);
    expect(hidden.stderr).toMatch(/insufficient privileges to SHOW CREATE PROCEDURE `root_only`/);
    expect(fs.readdirSync(dir)).toEqual([]);

    // A good dump cut short: gzip -t catches it before anything reaches the database.
    expect((await pod.run(db.env())).code).toBe(0);
    const [good] = dumpsIn(dir);
    const cut = dumpFileName(db.database, new Date(Date.UTC(2020, 0, 1)));
    const bytes = fs.readFileSync(path.join(dir, good));
    fs.writeFileSync(path.join(dir, cut), bytes.subarray(0, bytes.length - 100));
    const before = await fingerprint();
    await db.sql("INSERT INTO options (option_name, option_value) VALUES ('after_backup', 'x')", 'app');
    const changed = await fingerprint();
    const refused = await restorePod(at, cut).run(db.env());
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/is corrupt \(gzip -t failed\); the database was not touched/);
    expect(await fingerprint()).toEqual(changed);
    expect(changed).not.toEqual(before);
  });

  test('an empty database gives no dump at all', async () => {
    await db.sql(DROP_ALL, 'app');
    const pod = backupPod(newCluster());
    const run = await pod.run(db.env());
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/the dump holds no table/);
    expect(fs.readdirSync(Object.values(pod.claimDirs)[0])).toEqual([]);
  });
});
