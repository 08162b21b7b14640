// database.mode galera, run: the three MariaDB pods of dist/staging/docs through the pod emulator
// (docs/pod-emulation.md), each under the official image's own docker-entrypoint.sh with Debian's
// mariadbd and galera-4, in its own network namespace on the emulated pod network. Everything a
// pod runs is read from the rendered StatefulSet: the `config` init container writes its my.cnf,
// the server container's command decides bootstrap or join, the readiness probe is the rendered one.
import * as fs from 'fs';
import * as path from 'path';
import { parseAllDocuments } from 'yaml';
import { eventually, REPO } from './support/fixtures';
import { mariadbAvailable } from './support/mariadb-server';
import { Cluster, emulatorAvailable, Pod, referenceAvailable, removeLayers } from './support/pod-emulator';
import { sql } from './support/pod-sql';

jest.setTimeout(600_000);

const reasons = [emulatorAvailable(), referenceAvailable(), mariadbAvailable(['mariadb-dump', 'gzip'])].filter(a => !a.ok).map(a => a.reason);
for (const tool of ['/usr/lib/galera/libgalera_smm.so', '/usr/bin/mariadb-backup', '/usr/bin/socat', '/usr/bin/pwgen', '/usr/bin/zstd', '/usr/bin/setpriv', '/usr/sbin/ip']) {
  if (!fs.existsSync(tool)) reasons.push(`${tool} is missing (Debian: galera-4 mariadb-backup socat pwgen zstd util-linux iproute2)`);
}
if (reasons.length) console.warn(`Skipping the Galera suite: ${reasons.join('; ')}`);
const describeIf = reasons.length ? describe.skip : describe;

const SITE_DIR = path.join(REPO, 'dist', 'staging', 'docs');
const objects = (): any[] => fs.readdirSync(SITE_DIR).filter(f => f.endsWith('.k8s.yaml')).sort()
  .flatMap(f => parseAllDocuments(fs.readFileSync(path.join(SITE_DIR, f), 'utf8')).map(d => d.toJS()).filter(Boolean));
/** `SHOW GLOBAL STATUS` values of a node, by lower-case name. */
async function status(cluster: Cluster, pod: Pod, like = 'wsrep_%'): Promise<Record<string, string>> {
  const out = await sql(cluster, pod, `SHOW GLOBAL STATUS LIKE '${like}'`);
  return Object.fromEntries(out.split('\n').filter(Boolean).map(l => l.split('\t')).map(([k, v]) => [k.toLowerCase(), v ?? '']));
}

/** The SQL of each ```sql runbook=<step> block of docs/galera.md, by step. */
function runbook(): Record<string, string> {
  const text = fs.readFileSync(path.join(REPO, 'docs', 'galera.md'), 'utf8');
  return Object.fromEntries([...text.matchAll(/```sql runbook=([a-z-]+)\n([\s\S]*?)```/g)].map(m => [m[1], m[2]]));
}

/** The Galera state file on a pod's data claim. */
function grastate(pod: Pod): Record<string, string> {
  const text = fs.readFileSync(path.join(pod.claimDir('data'), 'grastate.dat'), 'utf8');
  return Object.fromEntries(text.split('\n').map(l => /^([a-z_]+):\s*(\S+)/.exec(l)).filter((m): m is RegExpExecArray => !!m).map(m => [m[1], m[2]]));
}

const report: string[] = [];
afterAll(() => {
  removeLayers();
  if (report.length) console.log(`galera report:\n  ${report.join('\n  ')}`);
});

describeIf('database.mode galera: the three pods of dist/staging/docs form one cluster', () => {
  let cluster: Cluster;
  let all: any[];
  let sts: any;
  const pods: Pod[] = [];

  beforeAll(async () => {
    all = objects();
    sts = all.find(o => o.kind === 'StatefulSet' && o.metadata.name === 'mariadb');
    cluster = await Cluster.create(all);
  });
  afterAll(async () => {
    await cluster?.destroy();
  });

  /** Start ordinals at once, as podManagementPolicy Parallel does, and wait until each is ready. */
  async function startAll(ordinals: number[]): Promise<Pod[]> {
    const started = await Promise.all(ordinals.map(ordinal => cluster.startPod(sts, { ordinal })));
    await Promise.all(started.map(p => p.waitUntilReady({ timeoutMs: 300_000 })));
    for (const p of started) pods[p.ordinal] = p;
    return started;
  }

  test('a brand-new set: pod 0 bootstraps, pods 1 and 2 join by SST, wsrep_cluster_size is 3 everywhere', async () => {
    expect(sts.spec.podManagementPolicy).toBe('Parallel');
    expect(sts.spec.replicas).toBe(3);
    const began = Date.now();
    await startAll([0, 1, 2]);
    const took = Date.now() - began;
    expect(pods[0].logs()).toMatch(/mariadb: bootstrapping the cluster from mariadb-0/);
    for (const p of pods.slice(1)) {
      expect(p.logs()).not.toMatch(/bootstrapping the cluster/);
      expect(p.logs()).toMatch(/mariadb: new node, joining through mariadb-0\.mariadb-headless\.docs\.svc\.cluster\.local/);
      // No state of its own (a zero UUID), so a full snapshot from a donor: mariadb-backup through socat.
      expect(p.logs()).toMatch(/WSREP: ####### IST uuid:00000000-0000-0000-0000-000000000000/);
      expect(p.logs()).toMatch(/mariabackup SST started on joiner/);
      expect(p.logs()).toMatch(/WSREP: SST succeeded for position [0-9a-f]{8}-/);
    }
    const states = await Promise.all(pods.map(p => status(cluster, p)));
    for (const s of states) {
      expect([s.wsrep_cluster_size, s.wsrep_local_state_comment, s.wsrep_ready, s.wsrep_cluster_status]).toEqual(['3', 'Synced', 'ON', 'Primary']);
    }
    expect(new Set(states.map(s => s.wsrep_cluster_state_uuid)).size).toBe(1);
    report.push(`new cluster of 3 ready in ${(took / 1000).toFixed(1)} s (cluster ${states[0].wsrep_cluster_state_uuid})`);
  });

  test('each node runs the rendered my.cnf for its ordinal: the ConfigMap settings, its own name and pod IP', async () => {
    const cm = all.find(o => o.kind === 'ConfigMap' && o.metadata.name === 'mariadb-config');
    const shared = [...cm.data['galera.cnf'].matchAll(/^([a-z_-]+) = (.*)$/gm)].map(m => [m[1].replace(/-/g, '_'), m[2]]);
    expect(Object.fromEntries(shared)).toMatchObject({ wsrep_on: 'ON', wsrep_provider: '/usr/lib/galera/libgalera_smm.so', binlog_format: 'ROW', innodb_autoinc_lock_mode: '2' });
    for (const p of pods) {
      const variables = Object.fromEntries((await sql(cluster, p, "SHOW GLOBAL VARIABLES WHERE Variable_name LIKE 'wsrep%' OR Variable_name IN ('binlog_format', 'innodb_autoinc_lock_mode', 'default_storage_engine', 'max_connections')"))
        .split('\n').filter(Boolean).map(l => l.split('\t')));
      for (const [key, value] of shared) {
        // The server never shows wsrep_sst_auth, not even this password-less one.
        if (key in variables) expect([key, variables[key]]).toEqual([key, key === 'wsrep_sst_auth' ? '********' : value]);
      }
      expect(shared.filter(([key]) => key.startsWith('wsrep') && !(key in variables))).toEqual([]);
      expect([variables.wsrep_node_name, variables.wsrep_node_address]).toEqual([p.name, p.ip]);
    }
  });

  test('a write on any node is visible on the other two', async () => {
    await sql(cluster, pods[0], 'CREATE TABLE galera_rows (id INT PRIMARY KEY, origin VARCHAR(20))', 'app');
    for (const p of pods) await sql(cluster, p, `INSERT INTO galera_rows VALUES (${p.ordinal + 1}, '${p.name}')`, 'app');
    for (const p of pods) {
      // Reads wait for every write the node has been sent (wsrep_sync_wait), as a causal read would.
      const rows = await sql(cluster, p, 'SET SESSION wsrep_sync_wait = 1; SELECT GROUP_CONCAT(origin ORDER BY id) FROM galera_rows', 'app');
      expect([p.name, rows.trim()]).toEqual([p.name, 'mariadb-0,mariadb-1,mariadb-2']);
    }
  });

  test('readiness fails on a desynced node and on an isolated one, and passes again once it is Synced', async () => {
    const p = pods[1];
    await sql(cluster, p, 'SET GLOBAL wsrep_desync = ON');
    const desynced = await p.probe('readiness');
    expect(desynced.ok).toBe(false);
    expect(desynced.detail).toMatch(/wsrep_local_state_comment=Donor\/Desynced/);
    await sql(cluster, p, 'SET GLOBAL wsrep_desync = OFF');
    await p.waitForProbe('readiness', { expect: true, timeoutMs: 30_000 });

    // Cut off from its peers, the node loses quorum alone: non-primary, wsrep_ready OFF.
    await sql(cluster, p, "SET GLOBAL wsrep_provider_options = 'gmcast.isolate = 1'");
    await eventually('the isolated node is non-primary', async () => (await status(cluster, p, 'wsrep_cluster_status')).wsrep_cluster_status === 'non-Primary', 60_000);
    const isolated = await p.probe('readiness');
    expect(isolated.ok).toBe(false);
    // The others evict it once their failure detector gives up on it (evs timeouts, seconds later).
    const others = async () => (await Promise.all([pods[0], pods[2]].map(o => status(cluster, o)))).map(s => `${s.wsrep_cluster_size} ${s.wsrep_local_state_comment}`);
    await eventually('the other two form a cluster of 2', async () => (await others()).join() === '2 Synced,2 Synced', 60_000);
    await sql(cluster, p, "SET GLOBAL wsrep_provider_options = 'gmcast.isolate = 0'");
    await p.waitForProbe('readiness', { expect: true, timeoutMs: 60_000 });
    expect((await status(cluster, p)).wsrep_cluster_size).toBe('3');
    report.push(`readiness: desynced -> "${desynced.detail.trim()}"; isolated -> "${isolated.detail.trim()}"`);
  });

  test('a node stopped and restarted rejoins by IST and has the writes it missed', async () => {
    const p = pods[2];
    await p.stop();
    await eventually('the others see 2 nodes', async () => (await status(cluster, pods[0], 'wsrep_cluster_size')).wsrep_cluster_size === '2', 60_000);
    for (let id = 10; id < 20; id++) await sql(cluster, pods[0], `INSERT INTO galera_rows VALUES (${id}, 'while-2-was-down')`, 'app');
    const [back] = await startAll([2]);
    expect(back.logs()).toMatch(/mariadb: joining cluster [0-9a-f-]+ through mariadb-[01]\./);
    // Galera runs the SST script in bypass mode (the position stays the node's own: no snapshot
    // moves), then sends only the missed write sets (IST).
    const saved = /WSREP: Found saved state: ([0-9a-f-]+:[0-9]+)/.exec(back.logs())?.[1];
    expect(saved).toMatch(/^[0-9a-f]{8}-/);
    expect(/WSREP: SST received: ([0-9a-f-]+:[0-9]+)/.exec(back.logs())?.[1]).toBe(saved);
    const ist = /Receiving IST: ([0-9]+) writesets, seqnos ([0-9]+-[0-9]+)/.exec(back.logs());
    expect(ist).not.toBeNull();
    expect(Number(ist![1])).toBeGreaterThanOrEqual(10);
    expect((await sql(cluster, back, "SELECT COUNT(*) FROM galera_rows WHERE origin = 'while-2-was-down'", 'app')).trim()).toBe('10');
    expect((await status(cluster, back)).wsrep_cluster_size).toBe('3');
    report.push(`pod 2 stopped, 10 rows written meanwhile, restarted: rejoined by IST (${ist![1]} write sets, seqnos ${ist![2]}) with all 10`);
  });

  test('the backup CronJob dumps the site database from a Synced node', async () => {
    const cronJob = all.find(o => o.kind === 'CronJob' && o.metadata.name === 'mariadb-backup');
    expect(cronJob).toBeDefined();
    const job = await cluster.startPod(cronJob);
    const code = await job.container().exited;
    expect([code, job.logs()]).toEqual([0, expect.stringMatching(/backup: wrote \/backups\/wordpress-[0-9T]+Z\.sql\.gz/)]);
    const dump = /backup: wrote (\S+)/.exec(job.logs())![1];
    const file = path.join(job.claimDir('backups'), path.basename(dump));
    expect(fs.statSync(file).size).toBeGreaterThan(0);
  });

  test('a full stop and start: only the node that left last bootstraps; the stale ones join it', async () => {
    const uuid = (await status(cluster, pods[0])).wsrep_cluster_state_uuid;
    // One at a time, 0 first: 2 is the last member of the primary component.
    for (const p of [pods[0], pods[1]]) await p.stop();
    await sql(cluster, pods[2], "INSERT INTO galera_rows VALUES (100, 'only-on-2')", 'app');
    await pods[2].stop();
    const states = [0, 1, 2].map(i => grastate(pods[i]));
    expect(states.map(s => s.safe_to_bootstrap)).toEqual(['0', '0', '1']);
    expect(states.map(s => s.uuid)).toEqual([uuid, uuid, uuid]);
    // The stale nodes' seqno is behind the last one's: bootstrapping from them would lose row 100.
    expect(Number(states[0].seqno)).toBeLessThan(Number(states[2].seqno));

    await startAll([0, 1, 2]);
    expect(pods[2].logs()).toMatch(/mariadb: bootstrapping the cluster from mariadb-2/);
    for (const p of [pods[0], pods[1]]) expect(p.logs()).not.toMatch(/bootstrapping the cluster/);
    const after = await Promise.all(pods.map(p => status(cluster, p)));
    expect(after.map(s => [s.wsrep_cluster_size, s.wsrep_local_state_comment, s.wsrep_cluster_state_uuid])).toEqual(pods.map(() => ['3', 'Synced', uuid]));
    for (const p of pods) {
      expect((await sql(cluster, p, "SELECT origin FROM galera_rows WHERE id = 100", 'app')).trim()).toBe('only-on-2');
    }
    report.push(`full restart: seqno ${states.map(s => s.seqno).join('/')}, safe_to_bootstrap ${states.map(s => s.safe_to_bootstrap).join('/')}; mariadb-2 bootstrapped, 0 and 1 joined, one cluster ${uuid}`);
  });

  test('a crash of every node: Galera re-forms the cluster by itself when all of them come back (pc.recovery)', async () => {
    const before = await status(cluster, pods[0]);
    await Promise.all(pods.map(p => p.kill()));
    const states = [0, 1, 2].map(i => grastate(pods[i]));
    // Killed: no clean leave, so no node knows it is safe to bootstrap from.
    expect(states.map(s => [s.seqno, s.safe_to_bootstrap])).toEqual([['-1', '0'], ['-1', '0'], ['-1', '0']]);
    for (const p of pods) expect(fs.existsSync(path.join(p.claimDir('data'), 'gvwstate.dat'))).toBe(true);
    await startAll([0, 1, 2]);
    for (const p of pods) {
      expect(p.logs()).toMatch(/joining, never bootstrapping/);
      expect(p.logs()).toContain(`mariadb: unclean stop; recovered position ${before.wsrep_cluster_state_uuid}:`);
    }
    const after = await Promise.all(pods.map(p => status(cluster, p)));
    expect(after.map(s => [s.wsrep_cluster_size, s.wsrep_local_state_comment, s.wsrep_cluster_state_uuid])).toEqual(pods.map(() => ['3', 'Synced', before.wsrep_cluster_state_uuid]));
    report.push('SIGKILL of all 3: restarted together, the primary component came back from gvwstate.dat without a bootstrap');
  });

  test('two nodes lost at once: the survivor stops taking writes, the runbook makes it primary, the others rejoin it', async () => {
    await Promise.all([pods[1].kill(), pods[2].kill()]);
    await eventually('the survivor is non-primary', async () => (await status(cluster, pods[0], 'wsrep_cluster_status')).wsrep_cluster_status === 'non-Primary', 60_000);
    expect((await pods[0].probe('readiness')).ok).toBe(false);
    await expect(sql(cluster, pods[0], "INSERT INTO galera_rows VALUES (200, 'no-quorum')", 'app')).rejects.toThrow(/WSREP has not yet prepared node|Unknown command/);
    const book = runbook();
    expect((await sql(cluster, pods[0], book['last-committed'])).trim()).toMatch(/^wsrep_last_committed\t[0-9]+$/);
    await sql(cluster, pods[0], book['bootstrap-survivor']);
    await pods[0].waitForProbe('readiness', { expect: true, timeoutMs: 30_000 });
    await sql(cluster, pods[0], "INSERT INTO galera_rows VALUES (200, 'after-runbook')", 'app');
    await startAll([1, 2]);
    for (const p of pods) {
      expect((await sql(cluster, p, 'SET SESSION wsrep_sync_wait = 1; SELECT origin FROM galera_rows WHERE id = 200', 'app')).trim()).toBe('after-runbook');
      expect((await status(cluster, p)).wsrep_cluster_size).toBe('3');
    }
    report.push('2 of 3 killed: survivor non-primary and not ready; after the runbook\'s pc.bootstrap it took writes and the two rejoined');
  });

  test('a node never joins a cluster of another state UUID (a pod 0 that lost its volume bootstrapped alone)', async () => {
    const uuid = (await status(cluster, pods[0])).wsrep_cluster_state_uuid;
    for (const p of [...pods]) await p.stop();
    fs.rmSync(pods[0].claimDir('data'), { recursive: true, force: true });
    const fresh = await cluster.startPod(sts, { ordinal: 0 });
    // From here (its start script runs), the script's 30 s window on the wall clock, and its last
    // round of checks (3 s at most): the stopped peers' names no longer resolve, and no round may
    // add a lookup's timeouts (six rounds took about 130 s, rounds cut off by SIGTERM 35-40 s).
    // The lower bound allows for bash's whole-second SECONDS.
    const began = Date.now();
    await eventually('the wiped mariadb-0 bootstraps', async () => /mariadb: bootstrapping the cluster from mariadb-0/.test(fresh.logs()), 120_000);
    const waited = (Date.now() - began) / 1000;
    expect(waited).toBeGreaterThanOrEqual(29);
    expect(waited).toBeLessThan(40);
    await fresh.waitUntilReady({ timeoutMs: 300_000 });
    const other = (await status(cluster, fresh)).wsrep_cluster_state_uuid;
    expect(other).not.toBe(uuid);
    const refused = await cluster.startPod(sts, { ordinal: 2 });
    await eventually('mariadb-2 refuses to join', async () => /not joining \(its SST would replace the data\)/.test(refused.logs()), 60_000);
    expect(refused.logs()).toContain(`serves cluster ${other} but this node's data belongs to ${uuid}`);
    expect(grastate(refused).uuid).toBe(uuid);
    report.push(`data guard: a wiped mariadb-0 bootstrapped alone after ${waited.toFixed(1)} s; mariadb-2 (cluster ${uuid}) refused its empty cluster ${other}`);
  });
});
