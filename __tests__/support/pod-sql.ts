// SQL in the database pods the pod emulator runs, logging in with the passwords of the rendered
// Secret files (the emulator makes them up per run). Shared by the pod emulation suites.
import { Cluster, Pod, PodPlan } from './pod-emulator';

/** The Secret name and key behind a file path the container reads (a `*_FILE` variable's value). */
export function secretBehind(spec: PodPlan, containerName: string, file: string): { secret: string; key: string } {
  const c = spec.containers.find(x => x.name === containerName)!;
  const mount = c.mounts.find(m => file.startsWith(m.mountPath.replace(/\/?$/, '/')));
  if (!mount) throw new Error(`${file} is under no mount of ${c.name}`);
  const source = spec.volumes.find(v => v.name === mount.volume)?.source.secret;
  if (!source) throw new Error(`${file} is not on a Secret volume`);
  const rel = file.slice(mount.mountPath.replace(/\/?$/, '/').length);
  const item = (source.items ?? []).find((i: any) => i.path === rel);
  return { secret: source.secretName, key: item ? item.key : rel };
}

/** SQL through the mariadb client inside the database container: root over the socket, app user over TCP. */
export async function sql(cluster: Cluster, db: Pod, query: string, as: 'root' | 'app' = 'root'): Promise<string> {
  const main = db.plan.containers[0];
  const env = main.env;
  const rootFile = secretBehind(db.plan, main.name, env.MARIADB_ROOT_PASSWORD_FILE);
  const appFile = secretBehind(db.plan, main.name, env.MARIADB_PASSWORD_FILE);
  const args = as === 'root'
    ? ['mariadb', '--protocol=socket', '--user=root', '--batch', '--skip-column-names']
    : ['mariadb', '--host=127.0.0.1', `--user=${env.MARIADB_USER}`, `--database=${env.MARIADB_DATABASE}`, '--batch', '--skip-column-names'];
  const pw = as === 'root' ? cluster.secretValue(rootFile.secret, rootFile.key) : cluster.secretValue(appFile.secret, appFile.key);
  const r = await db.exec(args, { env: { MYSQL_PWD: pw }, input: `SET NAMES utf8mb4;\n${query}`, timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`sql as ${as} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}
