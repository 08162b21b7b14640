import { BACKUP_CLAIM } from '../constructs/mariadb-backup';
import { INGRESS_NGINX, KUBE_DNS, NamespacedPods } from '../constructs/network-policies';
import { CONTENT_CLAIM, staticVolumeName } from '../constructs/storage-claims';
import type { ConfigIssue, Environment } from './load';
import { exposureTypeOf } from './exposure-type';
import { SiteConfig, VolumeConfig } from './schema';

/** Label the API server sets on every namespace: a selector on it names exactly one namespace. */
const NAME_LABEL = 'kubernetes.io/metadata.name';

/** Namespaces the cluster itself owns, with the reason given in the error. */
const RESERVED: Array<[RegExp, string]> = [
  [/^default$/, 'is the cluster\'s default namespace, shared by every workload that names none'],
  [/^kube-/, 'belongs to Kubernetes itself (kube-system runs DNS and the control plane add-ons)'],
  [/^openshift(-|$)/, 'belongs to OpenShift\'s own components'],
];

/** Why a site may not live in a namespace: the default-deny policy and quota it renders there. */
const HARM = 'the site\'s default-deny NetworkPolicies and ResourceQuota would apply to everything in it';

/** One site, where it came from and what it claims in the cluster. */
interface Claimant {
  readonly env: Environment;
  readonly site: string;
  readonly at: string;
}

/** Environments deploying into one cluster: `cluster.name`, or the environment's own name. */
export function clusterOf(env: Environment): string {
  return env.config.cluster?.name ?? env.name;
}

/**
 * Checks that span every site of every environment file that targets the same cluster: namespaces
 * the cluster or an ingress controller owns, and a namespace, host + path or PersistentVolume name
 * claimed by two sites. The first site (in file, then site order) keeps the name; each later one
 * gets the error.
 */
export function clusterChecks(envs: Environment[]): ConfigIssue[] {
  const byCluster = new Map<string, Environment[]>();
  for (const env of envs) byCluster.set(clusterOf(env), [...byCluster.get(clusterOf(env)) ?? [], env]);
  return [...byCluster.entries()].flatMap(([cluster, members]) => checkCluster(cluster, members));
}

function checkCluster(cluster: string, envs: Environment[]): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const sites = envs.flatMap(env => Object.entries(env.sites).map(([site, config]) => ({ env, site, config, at: `sites.${site}` })));
  const foreign = foreignNamespaces(sites);
  const taken = { namespace: new Map<string, Claimant>(), route: new Map<string, Claimant>(), volume: new Map<string, Claimant>() };
  const where = (c: Claimant) => `site "${c.site}" of ${c.env.file}`;
  const shared = envs.length > 1 ? ` (cluster "${cluster}")` : '';

  // Records `key` for `me`; a second site with the same key gets the error.
  const claim = (kind: keyof typeof taken, key: string, me: Claimant, p: string, message: (first: Claimant) => string) => {
    const first = taken[kind].get(key);
    if (first) issues.push({ file: me.env.file, path: p, message: message(first) });
    else taken[kind].set(key, me);
  };

  for (const me of sites) {
    const ns = me.config.namespace ?? me.site;
    const nsPath = `${me.at}.namespace`;
    const reserved = RESERVED.find(([pattern]) => pattern.test(ns));
    const owner = foreign.get(ns);
    if (reserved) {
      issues.push({ file: me.env.file, path: nsPath, message: `namespace "${ns}" ${reserved[1]}; ${HARM}. Set ${nsPath} to a namespace of the site's own, e.g. "${me.site}-site"` });
    } else if (owner) {
      issues.push({ file: me.env.file, path: nsPath, message: `namespace "${ns}" is where ${owner} runs${shared}; ${HARM}, cutting it off. Set ${nsPath} to a namespace of the site's own` });
    } else {
      claim('namespace', ns, me, nsPath, first => `namespace "${ns}" is already used by ${where(first)}${shared}; give each site its own namespace`);
    }

    const ex = me.config.exposure ?? {};
    if (exposureTypeOf(me.config) === 'ingress' && ex.host) {
      const route = `${ex.host}${ex.path ?? '/'}`;
      claim('route', route, me, `${me.at}.exposure.host`, first => `host and path "${route}" are already routed to ${where(first)}${shared}: `
        + 'two Ingresses for one URL send its requests to either site; give the site its own host or path');
    }

    for (const [p, claimName, volume] of staticVolumes(me.config)) {
      const name = volume.volumeName ?? staticVolumeName(ns, claimName);
      claim('volume', name, me, `${me.at}.${p}.nfs.volumeName`, first => `PersistentVolume "${name}" is already the volume of ${where(first)}${shared}; `
        + 'PersistentVolumes are cluster-wide and bind one claim each; set a distinct nfs.volumeName');
    }
  }
  return issues;
}

/** Namespaces that the sites' NetworkPolicies name as the ingress controller's or DNS's, by owner. */
function foreignNamespaces(sites: Array<Claimant & { config: SiteConfig }>): Map<string, string> {
  const owners = new Map<string, string>();
  const add = (key: 'ingressController' | 'dns', fallback: NamespacedPods, what: string, c: Claimant & { config: SiteConfig }) => {
    const selector = c.config.security?.[key];
    const ns = selector ? selector.namespaceSelector[NAME_LABEL] : fallback.namespaceLabels[NAME_LABEL];
    if (ns && !owners.has(ns)) owners.set(ns, `${what} (security.${key} of site "${c.site}" in ${c.env.file})`);
  };
  for (const c of sites) {
    if (exposureTypeOf(c.config) === 'ingress') add('ingressController', INGRESS_NGINX, 'the ingress controller', c);
    add('dns', KUBE_DNS, 'the cluster DNS', c);
  }
  return owners;
}

/** The static NFS volumes a site renders: config path, claim name, NFS options. */
function staticVolumes(site: SiteConfig): Array<[string, string, NonNullable<VolumeConfig['nfs']>]> {
  const volumes: Array<[string, string, NonNullable<VolumeConfig['nfs']>]> = [];
  const content = site.wordpress?.content;
  if (content?.nfs && !content.existingClaim) volumes.push(['wordpress.content', CONTENT_CLAIM, content.nfs]);
  const backups = site.backup?.volume;
  if (backups?.nfs && !backups.existingClaim && site.backup?.enabled !== false) volumes.push(['backup.volume', BACKUP_CLAIM, backups.nfs]);
  return volumes;
}
