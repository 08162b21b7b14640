import * as fs from 'fs';
import * as path from 'path';
import { Chart, Duration, Size, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { stringify } from 'yaml';
import { ClaimOptions, MariaDbBackup, MariaDbBackupProps, MariaDbRestore, MariaDbStatefulSet, StorageClaims } from '../lib';
import { formatIssue, loadEnvironment } from '../lib/config/load';
import { BACKUP_SCRIPT, RESTORE_SCRIPT, dumpFileName, parseDumpFileName } from '../lib/constructs/mariadb-backup-scripts';
import { cronProblem, timeZoneProblem } from '../lib/k8s/schedule';
import { renderEnvironments } from '../lib/render/render';
import { podTemplate, tempDir } from './support/fixtures';
import { validateManifests } from './support/k8s-schema';
import { LocalPod } from './support/pod-runner';

const SECRET = 's3cret-Pa55';
const SECRETS = { 'db-creds': { 'mariadb-password': SECRET, 'mariadb-root-password': 'root-only' } };
const DUMP_TIME = new Date(Date.UTC(2025, 0, 31, 3, 17, 0));

function site(props: Partial<MariaDbBackupProps> = {}, claim?: ClaimOptions) {
  const chart = new Chart(Testing.app(), 'site', { namespace: 'site', disableResourceNameHashes: true });
  const database = new MariaDbStatefulSet(chart, 'Db', { credentials: { secret: kplus.Secret.fromSecretName(chart, 'S', 'db-creds') }, image: 'mariadb:11.4.5' });
  const backupClaim = new StorageClaims(chart, 'Storage').addClaim('mariadb-backups', { name: 'mariadb', component: 'backup' }, claim);
  return { chart, database, claim: backupClaim, make: () => new MariaDbBackup(chart, 'Backup', { database, claim: backupClaim, ...props }) };
}

/** Synthesize and check strict schema validity before anything else is asserted. */
function synth(chart: Chart): any[] {
  const objects = Testing.synth(chart);
  expect(validateManifests(objects)).toEqual([]);
  return objects;
}

function backupObjects(props: Partial<MariaDbBackupProps> = {}) {
  const s = site(props);
  s.make();
  const objects = synth(s.chart);
  const cronJob = objects.find(o => o.kind === 'CronJob');
  return { ...s, objects, cronJob, pod: podTemplate(cronJob), container: podTemplate(cronJob).spec.containers[0] };
}

const envOf = (container: any): Record<string, string> => Object.fromEntries(container.env.map((e: any) => [e.name, e.value]));

describe('MariaDbBackup', () => {
  test('the CronJob never overlaps, skips runs that are too late, retries in place and is bounded in time', () => {
    const { cronJob, pod } = backupObjects();
    expect(cronJob.spec).toMatchObject({
      schedule: '17 3 * * *',
      concurrencyPolicy: 'Forbid',
      startingDeadlineSeconds: 3600,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 3,
    });
    expect(cronJob.spec.timeZone).toBeUndefined();
    expect(cronJob.spec.jobTemplate.spec).toMatchObject({ backoffLimit: 2, activeDeadlineSeconds: 7200 });
    expect(pod.spec.restartPolicy).toBe('OnFailure');

    const custom = backupObjects({
      schedule: '0 2 * * sun', timeZone: 'Europe/Berlin', startingDeadline: Duration.minutes(10), timeout: Duration.minutes(30),
    }).cronJob;
    expect(custom.spec).toMatchObject({ schedule: '0 2 * * sun', timeZone: 'Europe/Berlin', startingDeadlineSeconds: 600 });
    expect(custom.spec.jobTemplate.spec.activeDeadlineSeconds).toBe(1800);
  });

  test('the pod runs the server image as a non-root user under the restricted profile, with resources', () => {
    const { pod, container, database } = backupObjects({ resources: { cpu: kplus.Cpu.millis(100), cpuLimit: kplus.Cpu.units(2), memory: Size.mebibytes(300) } });
    expect(container.image).toBe(database.image);
    expect(container.image).toBe('mariadb:11.4.5');
    expect(pod.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 999, runAsGroup: 999, fsGroup: 999, seccompProfile: { type: 'RuntimeDefault' } });
    expect(container.securityContext).toEqual({
      runAsNonRoot: true, runAsUser: 999, runAsGroup: 999, allowPrivilegeEscalation: false, privileged: false,
      readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container.resources).toEqual({ requests: { cpu: '100m', memory: '300Mi' }, limits: { cpu: '2', memory: '300Mi' } });
    expect(pod.spec.automountServiceAccountToken).toBe(false);
    expect(pod.spec.hostNetwork ?? pod.spec.hostPID ?? pod.spec.hostIPC).toBeUndefined();
    // The root filesystem is read-only: /tmp must be a volume.
    const tmp = container.volumeMounts.find((m: any) => m.mountPath === '/tmp');
    expect(pod.spec.volumes.find((v: any) => v.name === tmp.name).emptyDir).toEqual({});
    for (const v of pod.spec.volumes) expect(Object.keys(v).filter(k => k !== 'name')).toEqual([expect.stringMatching(/^(persistentVolumeClaim|configMap|secret|emptyDir)$/)]);
  });

  test('dumps go to the backup claim, and the application password only arrives as a file', () => {
    const { pod, container, claim } = backupObjects();
    const env = envOf(container);
    const claimVolume = pod.spec.volumes.find((v: any) => v.persistentVolumeClaim);
    expect(claimVolume.persistentVolumeClaim.claimName).toBe(claim.claimName);
    expect(claim.claimName).toBe('mariadb-backups');
    expect(container.volumeMounts.find((m: any) => m.name === claimVolume.name).mountPath).toBe(env.BACKUP_DIR);

    expect(container.env.every((e: any) => e.value !== undefined && e.valueFrom === undefined)).toBe(true);
    expect(Object.keys(env).filter(k => /PASSWORD$|PWD$/.test(k))).toEqual([]);
    const secretVolume = pod.spec.volumes.find((v: any) => v.secret);
    expect(secretVolume.secret).toEqual({ secretName: 'db-creds', defaultMode: 0o440, items: [{ key: 'mariadb-password', path: 'mariadb-password' }] });
    const secretMount = container.volumeMounts.find((m: any) => m.name === secretVolume.name);
    expect(secretMount.readOnly).toBe(true);
    expect(env.MARIADB_PASSWORD_FILE).toBe(`${secretMount.mountPath}/mariadb-password`);
    expect(env).toMatchObject({ MYSQL_HOST: 'mariadb.site.svc.cluster.local', MYSQL_TCP_PORT: '3306', MARIADB_USER: 'wordpress', MARIADB_DATABASE: 'wordpress' });
  });

  test('the container runs the script from the ConfigMap, verbatim', () => {
    const { pod, container, objects } = backupObjects();
    const scriptVolume = pod.spec.volumes.find((v: any) => v.configMap);
    const configMap = objects.find(o => o.kind === 'ConfigMap' && o.metadata.name === scriptVolume.configMap.name);
    expect(configMap.data).toEqual({ 'backup.sh': BACKUP_SCRIPT });
    const mount = container.volumeMounts.find((m: any) => m.name === scriptVolume.name);
    expect(container.command).toEqual(['bash', `${mount.mountPath}/backup.sh`]);
    expect(BACKUP_SCRIPT).toMatch(/^set -euo pipefail$/m);
    expect(BACKUP_SCRIPT).toMatch(/--single-transaction --routines --events --triggers/);
  });

  test('the pods are recorded as a client of the database, for network policies', () => {
    const { database, pod } = backupObjects();
    const client = database.clients.find(c => c.name === 'mariadb-backup')!;
    expect(client.selectorLabels).toEqual({ 'app.kubernetes.io/name': 'mariadb', 'app.kubernetes.io/instance': 'site', 'app.kubernetes.io/component': 'backup' });
    expect(pod.metadata.labels).toMatchObject(client.selectorLabels);
  });

  test.each<[string, Partial<MariaDbBackupProps>, RegExp]>([
    ['four cron fields', { schedule: '17 3 * *' }, /schedule "17 3 \* \*" has 4 field\(s\) but needs 5 .*e\.g\. "17 3 \* \* \*"/],
    ['minute out of range', { schedule: '60 3 * * *' }, /schedule "60 3 \* \* \*" minute "60": "60" is not a value from 0 to 59/],
    ['time zone in the schedule', { schedule: 'TZ=UTC 0 3 * * *' }, /use the timeZone setting instead/],
    ['unknown time zone', { timeZone: 'Mars/Olympus' }, /timeZone "Mars\/Olympus" is not an IANA time zone name; use one such as "Etc\/UTC"/],
    ['time zone in lower case', { timeZone: 'europe/berlin' }, /timeZone "europe\/berlin" has the wrong letter case; use "Europe\/Berlin"/],
    ['empty retention', { retention: {} }, /retention has neither count nor days; give at least one/],
    ['zero count', { retention: { count: 0 } }, /retention.count is 0; use a whole number of at least 1/],
    ['fractional days', { retention: { days: 1.5 } }, /retention.days is 1.5; use a whole number/],
    ['starting deadline below the controller period', { startingDeadline: Duration.seconds(5) }, /startingDeadline is 5s; use at least 10 seconds/],
  ])('rejects %s', (_, props, message) => {
    expect(() => site(props).make()).toThrow(message);
  });

  test('rejects a claim it cannot write to', () => {
    const s = site({}, { accessModes: [kplus.PersistentVolumeAccessMode.READ_ONLY_MANY] });
    expect(() => s.make()).toThrow(/claim "mariadb-backups" is ReadOnlyMany only; give it a writable access mode/);
  });
});

/** A stand-in for a client tool: records its arguments, MYSQL_PWD and stdin, then acts as STUB_MODE says. */
const STUB = String.raw`#!/bin/bash
printf '%s\n' "$@" > "$STUB_LOG.args"
printf '%s' "$MYSQL_PWD" > "$STUB_LOG.pwd"
[[ -t 0 ]] || cat > "$STUB_LOG.stdin"
case "$STUB_MODE" in
  ok) printf -- '-- MariaDB dump\nCREATE TABLE t (id int);\nINSERT INTO t VALUES (1);\n-- Dump completed on 2025-01-31\n' ;;
  fail) printf -- '-- MariaDB dump\nCREATE TABLE t (id int);\n'; echo 'Got error: 2013: Lost connection' >&2; exit 2 ;;
  truncated) printf -- '-- MariaDB dump\nCREATE TABLE t (id int);\nINSERT INTO t VAL' ;;
  empty) printf -- '-- MariaDB dump\n-- Dump completed on 2025-01-31\n' ;;
esac
`;

describe('the backup and restore scripts, with stand-in client tools', () => {
  let root: string;
  let cleanup: () => void;
  let stubs: Record<string, string>;

  beforeEach(() => {
    ({ dir: root, cleanup } = tempDir('backup-script-'));
    const bin = path.join(root, 'bin');
    fs.mkdirSync(bin);
    for (const tool of ['mariadb-dump', 'mariadb']) fs.writeFileSync(path.join(bin, tool), STUB, { mode: 0o755 });
    stubs = { PATH: `${bin}:${process.env.PATH}`, STUB_LOG: path.join(root, 'stub') };
  });
  afterEach(() => cleanup());

  function backupPod(props: Partial<MariaDbBackupProps> = {}) {
    const { cronJob, objects } = backupObjects(props);
    const pod = new LocalPod(cronJob, { root, objects, secrets: SECRETS });
    return { pod, dir: pod.claimDirs['mariadb-backups'] };
  }
  const listing = (dir: string) => fs.readdirSync(dir).sort();
  const daysAgo = (days: number) => dumpFileName('wordpress', new Date(Date.now() - days * 86_400_000));

  test('a good dump is renamed into place under a dump name; the password goes to the tool only as MYSQL_PWD', async () => {
    const { pod, dir } = backupPod();
    const r = await pod.run({ ...stubs, STUB_MODE: 'ok' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const files = listing(dir);
    expect(files).toHaveLength(1);
    expect(parseDumpFileName(files[0])).toMatchObject({ databaseName: 'wordpress' });
    expect(r.stdout).toContain(`wrote ${path.join(dir, files[0])}`);
    const args = fs.readFileSync(`${stubs.STUB_LOG}.args`, 'utf8').trim().split('\n');
    expect(args).toEqual(['--host=mariadb.site.svc.cluster.local', '--port=3306', '--user=wordpress',
      '--single-transaction', '--routines', '--events', '--triggers', 'wordpress']);
    expect(fs.readFileSync(`${stubs.STUB_LOG}.pwd`, 'utf8')).toBe(SECRET);
  });

  test.each([
    ['fail', /no file kept|Lost connection/],
    ['truncated', /the dump is incomplete \(no closing '-- Dump completed' line\); no file kept/],
    ['empty', /the dump holds no table; is "wordpress" the right, non-empty database\? no file kept/],
  ])('a %s dump exits non-zero and leaves no file behind', async (mode, message) => {
    const { pod, dir } = backupPod();
    const r = await pod.run({ ...stubs, STUB_MODE: mode });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
    expect(listing(dir)).toEqual([]);
  });

  const FOREIGN = ['notes.txt', 'other-20000101T000000Z.sql.gz', 'wordpress-20000101T000000Z.sql', 'wordpress-old.sql.gz'];
  test.each<[string, MariaDbBackupProps['retention'], number[], number[]]>([
    // [title, retention, ages in days of the dumps already there, ages expected to stay]
    ['count only: the newest N, whatever their age', { count: 3 }, [1, 2, 3, 4, 40], [1, 2]],
    ['days only: everything younger than N days', { days: 30 }, [1, 29, 31, 400], [1, 29]],
    ['count and days: whatever either rule keeps', { count: 7, days: 30 }, [1, 2, 35, 36, 37, 38, 39, 40], [1, 2, 35, 36, 37, 38]],
  ])('retention, %s', async (_, retention, ages, kept) => {
    const { pod, dir } = backupPod({ retention });
    const old = new Map(ages.map(age => [age, daysAgo(age)]));
    for (const name of [...old.values(), ...FOREIGN, '.wordpress-20000101T000000Z.sql.gz.partial']) fs.writeFileSync(path.join(dir, name), 'x');
    const r = await pod.run({ ...stubs, STUB_MODE: 'ok' });
    expect(r.code).toBe(0);
    const fresh = listing(dir).filter(f => parseDumpFileName(f)?.databaseName === 'wordpress' && ![...old.values()].includes(f));
    expect(fresh).toHaveLength(1);
    // The partial file of an earlier, killed run is gone; files that are not our dumps are untouched.
    expect(listing(dir)).toEqual([...kept.map(age => old.get(age)!), ...fresh, ...FOREIGN].sort());
    expect(r.stdout.match(/deleted/g)).toHaveLength(ages.length - kept.length);
  });

  test('the script refuses to run with both retention rules off, before dumping anything', async () => {
    const { pod, dir } = backupPod();
    // Named once: a second call a moment later can fall into the next second.
    const old = daysAgo(400);
    fs.writeFileSync(path.join(dir, old), 'x');
    const r = await pod.run({ ...stubs, STUB_MODE: 'ok', RETENTION_COUNT: '0', RETENTION_DAYS: '0' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/both 0, which would delete every dump/);
    expect(listing(dir)).toEqual([old]);
    expect(fs.existsSync(`${stubs.STUB_LOG}.args`)).toBe(false);
  });

  function restorePod(file: string) {
    const s = site();
    new MariaDbRestore(s.chart, 'Restore', { database: s.database, claim: s.claim, file });
    const objects = synth(s.chart);
    const pod = new LocalPod(objects.find(o => o.kind === 'Job'), { root, objects, secrets: SECRETS });
    return { pod, dir: pod.claimDirs['mariadb-backups'] };
  }

  test('restore pipes the decompressed dump into mariadb for the application database', async () => {
    const file = dumpFileName('wordpress', DUMP_TIME);
    const { pod, dir } = restorePod(file);
    const backup = backupPod();
    expect((await backup.pod.run({ ...stubs, STUB_MODE: 'ok' })).code).toBe(0);
    fs.renameSync(path.join(dir, listing(dir)[0]), path.join(dir, file));
    const r = await pod.run({ ...stubs, STUB_MODE: 'none' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(fs.readFileSync(`${stubs.STUB_LOG}.stdin`, 'utf8')).toMatch(/^-- MariaDB dump\nCREATE TABLE t/);
    expect(fs.readFileSync(`${stubs.STUB_LOG}.args`, 'utf8').trim().split('\n'))
      .toEqual(['--host=mariadb.site.svc.cluster.local', '--port=3306', '--user=wordpress', '--database=wordpress', '--batch']);
  });

  test.each([
    ['a missing dump', undefined, /there is no dump "wordpress-20250131T031700Z.sql.gz" in .*; these files are there/],
    ['a corrupt dump', 'not gzip', /is corrupt \(gzip -t failed\); the database was not touched/],
  ])('restore of %s fails without calling mariadb', async (_, content, message) => {
    const file = dumpFileName('wordpress', DUMP_TIME);
    const { pod, dir } = restorePod(file);
    if (content !== undefined) fs.writeFileSync(path.join(dir, file), content);
    const r = await pod.run({ ...stubs, STUB_MODE: 'none' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(fs.existsSync(`${stubs.STUB_LOG}.args`)).toBe(false);
  });
});

describe('MariaDbRestore', () => {
  test('renders a Job named after the dump that reads the claim read-only and runs once', () => {
    const s = site();
    new MariaDbRestore(s.chart, 'Restore', { database: s.database, claim: s.claim, file: dumpFileName('wordpress', DUMP_TIME) });
    const objects = synth(s.chart);
    const job = objects.find(o => o.kind === 'Job');
    expect(job.metadata.name).toBe('mariadb-restore-20250131t031700z');
    expect(job.spec.backoffLimit).toBe(2);
    // A GitOps tool would recreate a Job deleted after its TTL, and so restore again.
    expect(job.spec.ttlSecondsAfterFinished).toBeUndefined();
    const pod = podTemplate(job);
    expect(pod.spec.restartPolicy).toBe('Never');
    const container = pod.spec.containers[0];
    expect(envOf(container)).toMatchObject({ RESTORE_FILE: 'wordpress-20250131T031700Z.sql.gz', BACKUP_DIR: '/backups', MARIADB_DATABASE: 'wordpress' });
    const claimVolume = pod.spec.volumes.find((v: any) => v.persistentVolumeClaim);
    expect(claimVolume.persistentVolumeClaim).toEqual({ claimName: 'mariadb-backups', readOnly: true });
    expect(container.volumeMounts.find((m: any) => m.name === claimVolume.name)).toEqual({ name: claimVolume.name, mountPath: '/backups', readOnly: true });
    expect(objects.find(o => o.kind === 'ConfigMap' && o.metadata.name === 'mariadb-restore-script').data).toEqual({ 'restore.sh': RESTORE_SCRIPT });
    expect(container.command).toEqual(['bash', '/scripts/restore.sh']);
    expect(container.securityContext).toMatchObject({ runAsUser: 999, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    expect(s.database.clients.map(c => c.name)).toContain('mariadb-restore');
  });

  test.each([
    ['a path', '../wordpress-20250131T031700Z.sql.gz', /is not a dump file name; use a file name from the backup volume such as "wordpress-20250131T031700Z.sql.gz"/],
    ['an uncompressed dump', 'wordpress-20250131T031700Z.sql', /is not a dump file name/],
    ['a dump of another database', 'shop-20250131T031700Z.sql.gz', /is a dump of database "shop", not "wordpress"/],
  ])('rejects %s', (_, file, message) => {
    const s = site();
    expect(() => new MariaDbRestore(s.chart, 'Restore', { database: s.database, claim: s.claim, file })).toThrow(message);
  });
});

describe('cron and time zone checks', () => {
  test.each(['17 3 * * *', '*/15 * * * *', '0 0 1 jan,jul *', '0 4 * * mon-fri', '5/10 1-5/2 ? * 0,6', '@daily', '@hourly', '0 0 * * SUN'])('accepts "%s"', s => {
    expect(cronProblem(s)).toBeUndefined();
  });

  test.each([
    ['* * * * 7', /day of week "7": "7" is not a value from 0 to 6/],
    ['*/0 * * * *', /a step of 0 never advances/],
    ['5-1 * * * *', /range "5-1" starts after it ends/],
    ['0 0 32 * *', /day of month "32"/],
    ['0 0 * foo *', /"foo" is not a value from 1 to 12 or jan-dec/],
    ['0 0 * * * *', /has 6 field\(s\) but needs 5/],
    ['@every 1h', /is not a known shorthand; use one of @yearly/],
    ['1,,2 * * * *', /"" is not a value/],
  ])('rejects "%s"', (s, message) => {
    expect(cronProblem(s)).toMatch(message);
  });

  test('time zones', () => {
    // Not in the runtime's list of canonical names (checked below that), but a zone all the same.
    expect((Intl as any).supportedValuesOf('timeZone')).not.toContain('Etc/UTC');
    expect(timeZoneProblem('Etc/UTC')).toBeUndefined();
    expect(timeZoneProblem('America/New_York')).toBeUndefined();
    expect(timeZoneProblem('Local')).toMatch(/not an IANA time zone name/);
  });
});

describe('backup section of the config', () => {
  const BASE = { sites: { blog: { exposure: { host: 'blog.example.com' }, backup: {} as any } } };
  const load = (backup: object) => loadEnvironment('config/test.yaml', stringify({ ...BASE, sites: { blog: { ...BASE.sites.blog, backup } } }));
  const errorsOf = (backup: object) => load(backup).errors.map(formatIssue);

  test.each<[string, object, string]>([
    ['a bad schedule', { schedule: '3 * *' }, 'config/test.yaml: sites.blog.backup.schedule: schedule "3 * *" has 3 field(s) but needs 5'],
    ['a bad time zone', { timeZone: 'Berlin' }, 'sites.blog.backup.timeZone: time zone "Berlin" is not an IANA time zone name'],
    ['retention without a rule', { retention: {} }, 'sites.blog.backup.retention: has neither count nor days, so nothing says which dumps to keep; add count'],
    ['retention of zero days', { retention: { days: 0 } }, 'sites.blog.backup.retention.days: must be >= 1 (got 0)'],
    ['an unknown key', { retension: { days: 3 } }, 'sites.blog.backup.retension: unknown key "retension"; did you mean "retention"?'],
    ['a read-only volume', { volume: { accessModes: ['ReadOnlyMany'] } }, 'sites.blog.backup.volume.accessModes: ["ReadOnlyMany"] cannot be written to'],
    ['existing claim and NFS', { volume: { existingClaim: 'a', nfs: { server: 's', path: '/p' } } }, 'sites.blog.backup.volume: existingClaim and nfs are both set'],
    ['memory limit != request', { resources: { requests: { memory: '256Mi' }, limits: { memory: '1Gi' } } }, 'sites.blog.backup.resources.limits.memory: memory limit "1Gi" differs from the request "256Mi"'],
    ['a restore file that is no dump', { restore: { file: 'latest.sql' } }, 'sites.blog.backup.restore.file: "latest.sql" is not a dump file name; use a file name from the backup volume such as "wordpress-20250131T031700Z.sql.gz"'],
    ['a restore from another database', { restore: { file: 'shop-20250131T031700Z.sql.gz' } }, 'sites.blog.backup.restore.file: "shop-20250131T031700Z.sql.gz" is a dump of database "shop", not "wordpress"'],
    ['a restore with backups off', { enabled: false, restore: { file: 'wordpress-20250131T031700Z.sql.gz' } }, 'sites.blog.backup.restore: reads the backup volume, which is not rendered while backup.enabled is false'],
  ])('rejects %s', (_, backup, message) => {
    const errors = errorsOf(backup);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(message);
  });

  test('a full section renders the CronJob, its kept claim in storage.k8s.yaml and a restore Job', () => {
    const result = load({
      schedule: '30 1 * * *', timeZone: 'Europe/Berlin', retention: { count: 2 },
      volume: { size: '3Gi', storageClassName: 'slow' }, resources: { requests: { cpu: '100m', memory: '256Mi' } },
      restore: { file: 'wordpress-20250131T031700Z.sql.gz' },
    });
    expect(result.errors).toEqual([]);
    const files = renderEnvironments(result.environments);
    const storage = files.get('test/blog/storage.k8s.yaml')!;
    const app = files.get('test/blog/app.k8s.yaml')!;
    expect(storage).toMatch(/name: mariadb-backups\n/);
    expect(storage).toMatch(/helm.sh\/resource-policy: keep[\s\S]*name: mariadb-backups[\s\S]*storage: 3Gi\n  storageClassName: slow/);
    expect(app).toMatch(/schedule: 30 1 \* \* \*\n/);
    expect(app).toMatch(/timeZone: Europe\/Berlin\n/);
    expect(app).toMatch(/name: RETENTION_COUNT\n\s+value: "2"\n\s+- name: RETENTION_DAYS\n\s+value: "0"/);
    expect(app).toMatch(/kind: Job\nmetadata:[\s\S]*name: mariadb-restore-20250131t031700z\n/);
    expect(app).not.toMatch(/PersistentVolumeClaim/);
  });

  test('enabled: false renders no CronJob and no backup claim', () => {
    const files = renderEnvironments(load({ enabled: false }).environments);
    const all = [...files.values()].join('\n');
    expect(all).not.toMatch(/mariadb-backup/);
    const defaults = [...renderEnvironments(load({}).environments).values()].join('\n');
    expect(defaults).toMatch(/kind: CronJob\nmetadata:\n(  .*\n)*  name: mariadb-backup\n/);
    expect(defaults).toMatch(/name: RETENTION_COUNT\n\s+value: "7"\n\s+- name: RETENTION_DAYS\n\s+value: "30"/);
  });
});
