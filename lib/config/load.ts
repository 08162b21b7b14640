import * as fs from 'fs';
import * as path from 'path';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { LineCounter, Node, isPair, isScalar, isSeq, parseDocument, visit } from 'yaml';
import { dumpFileProblem } from '../constructs/mariadb-backup-scripts';
import { imagePinProblem } from '../k8s/pod-spec';
import { cronProblem, timeZoneProblem } from '../k8s/schedule';
import { clusterChecks } from './cluster-checks';
import { parseSize } from './units';
import { exposureTypeOf } from './exposure-type';
import { BackupConfig, DatabaseConfig, EnvironmentConfig, ResourcesConfig, SiteConfig, WordPressConfig } from './schema';
import generatedValidator from '#config-validator';

/** One problem found in a config file. */
export interface ConfigIssue {
  /** File, relative as given. */
  readonly file: string;
  /** Dotted path inside the file, e.g. `sites.blog.wordpress.replicas`. */
  readonly path: string;
  /** What is wrong and how to fix it. */
  readonly message: string;
}

/** A validated environment, its sites with `defaults` merged in. */
export interface Environment {
  /** Environment name: the file name without `.yaml`. */
  readonly name: string;
  readonly file: string;
  readonly config: EnvironmentConfig;
  /** Sites by name, with defaults applied. */
  readonly sites: Record<string, SiteConfig>;
}

export interface LoadResult {
  /** Environments without errors, ready to render. */
  readonly environments: Environment[];
  readonly errors: ConfigIssue[];
  readonly warnings: ConfigIssue[];
  /**
   * Environments that passed the schema, with or without errors of their own: the checks across
   * files run on these, so that one run reports every problem.
   */
  readonly parsed?: Environment[];
}

/** `file: path: message`, the one format every issue is printed in. */
export function formatIssue(issue: ConfigIssue): string {
  return `${issue.file}: ${issue.path || '(top level)'}: ${issue.message}`;
}

// lib/config/validate-config.generated.js (package.json "imports"), precompiled by `npm run gen`:
// loading TypeBox and compiling the schema with ajv cost about 0.35 s at every start.
const validator = generatedValidator as unknown as ValidateFunction;
function validate(data: unknown) {
  return { ok: validator(data) as boolean, errors: validator.errors ?? [] };
}

/**
 * Load every `*.yaml` file of a directory (sorted), each an environment, then check the sites of
 * environments that share a cluster against each other (lib/config/cluster-checks.ts).
 */
export function loadConfigDir(dir: string): LoadResult {
  const files = environmentFiles(dir);
  if (files.length === 0) {
    return { environments: [], errors: [{ file: dir, path: '', message: 'no *.yaml environment files found; add one, e.g. config/dev.yaml' }], warnings: [] };
  }
  const results = files.map(f => loadEnvironment(f, fs.readFileSync(f, 'utf8')));
  const result = combine(results);
  return { ...result, errors: [...result.errors, ...clusterChecks(results.flatMap(r => r.parsed ?? []))] };
}

/** The environment files of a config directory (`*.yaml`, sorted), as paths. */
export function environmentFiles(dir: string): string[] {
  return fs.readdirSync(dir).filter(f => f.endsWith('.yaml')).sort().map(f => path.join(dir, f));
}

function combine(results: LoadResult[]): LoadResult {
  return {
    environments: results.flatMap(r => r.environments),
    errors: results.flatMap(r => r.errors),
    warnings: results.flatMap(r => r.warnings),
  };
}

/** Parse, validate and check one environment file's text. */
export function loadEnvironment(file: string, text: string): LoadResult {
  const name = path.basename(file).replace(/\.yaml$/, '');
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    const syntax = doc.errors.filter(e => e.code !== 'DUPLICATE_KEY')
      .map(e => ({ file, path: `line ${e.linePos?.[0].line ?? '?'}`, message: `YAML syntax error: ${e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}; fix the syntax` }));
    const duplicates = doc.errors.length > syntax.length ? duplicateKeys(file, text) : [];
    return { environments: [], errors: [...syntax, ...duplicates], warnings: [] };
  }
  const data = doc.toJS() ?? {};
  const errors: ConfigIssue[] = [];
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name)) {
    errors.push({ file, path: '', message: `file name "${name}" is not a valid environment name; rename the file to a lowercase DNS label, e.g. prod.yaml` });
  }
  const result = validate(data);
  if (!result.ok) {
    errors.push(...schemaIssues(file, result.errors));
    return { environments: [], errors, warnings: [] };
  }
  const config = data as EnvironmentConfig;
  const sites: Record<string, SiteConfig> = {};
  for (const [siteName, site] of Object.entries(config.sites)) {
    sites[siteName] = deepMerge(config.defaults ?? {}, site) as SiteConfig;
  }
  const warnings: ConfigIssue[] = [];
  crossChecks(file, config, sites, errors, warnings);
  const env = { name, file, config, sites };
  return { environments: errors.length ? [] : [env], errors, warnings, parsed: [env] };
}

/**
 * Every key given twice in one mapping, with the lines of both: YAML parsers disagree on which one
 * wins, so a repeated key is an error that must name what to remove.
 */
function duplicateKeys(file: string, text: string): ConfigIssue[] {
  const lines = new LineCounter();
  const doc = parseDocument(text, { uniqueKeys: false, lineCounter: lines });
  const issues: ConfigIssue[] = [];
  const lineOf = (node: Node) => lines.linePos(node.range![0]).line;
  visit(doc, {
    Map(_, map, ancestors) {
      const first = new Map<string, Node>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue;
        const key = String(pair.key.value);
        const earlier = first.get(key);
        if (!earlier) {
          first.set(key, pair.key);
          continue;
        }
        const at = [...yamlPath([...ancestors, map]), key].join('.');
        issues.push({ file, path: at, message: `key "${key}" is given twice, at lines ${lineOf(earlier)} and ${lineOf(pair.key)}; keep one (merge their settings into it)` });
      }
    },
  });
  return issues;
}

/** Dotted config path of a node from its ancestors as `visit` gives them (map keys, sequence indexes). */
function yamlPath(ancestors: readonly unknown[]): string[] {
  const parts: string[] = [];
  ancestors.forEach((node, i) => {
    if (isPair(node) && isScalar(node.key)) parts.push(String(node.key.value));
    if (isSeq(node)) parts.push(String(node.items.indexOf(ancestors[i + 1] as never)));
  });
  return parts;
}

/** Objects merge key by key; anything else in `override` replaces. */
function deepMerge(base: any, override: any): any {
  if (!isPlainObject(base) || !isPlainObject(override)) return override === undefined ? base : override;
  const out: any = { ...base };
  for (const [k, v] of Object.entries(override)) out[k] = deepMerge(base[k], v);
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function dotted(instancePath: string): string {
  return instancePath.split('/').slice(1).map(s => s.replace(/~1/g, '/').replace(/~0/g, '~')).join('.');
}

function show(value: unknown): string {
  return JSON.stringify(value);
}

function schemaIssues(file: string, errors: ErrorObject[]): ConfigIssue[] {
  // A union of literals fails once per member plus once for the union: report only the union.
  const unionPaths = new Set(errors.filter(e => e.keyword === 'anyOf').map(e => e.instancePath));
  const issues: ConfigIssue[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    if (e.schemaPath.includes('/anyOf/') && unionPaths.has(e.instancePath)) continue;
    const hint: string | undefined = (e.parentSchema as any)?.['x-hint'];
    let p = dotted(e.instancePath);
    let message: string;
    switch (e.keyword) {
      case 'additionalProperties': {
        const key = (e.params as any).additionalProperty as string;
        p = p ? `${p}.${key}` : key;
        const known = Object.keys((e.parentSchema as any)?.properties ?? {});
        const guess = closest(key, known);
        message = `unknown key "${key}"; ${guess ? `did you mean "${guess}"? ` : ''}allowed keys: ${known.join(', ')}`;
        break;
      }
      case 'required':
        p = p ? `${p}.${(e.params as any).missingProperty}` : (e.params as any).missingProperty;
        message = 'is required; add it';
        break;
      case 'propertyNames':
        continue; // reported by the pattern error on the name itself
      default:
        if ((e.propertyName !== undefined)) {
          p = p ? `${p}.${e.propertyName}` : e.propertyName;
          message = `name ${show(e.propertyName)} is invalid; ${hint ?? e.message}`;
        } else {
          message = `${e.message} (got ${show(e.data)})${hint ? `; ${hint}` : ''}`;
        }
    }
    const key = `${p}\n${message}`;
    if (!seen.has(key)) {
      seen.add(key);
      issues.push({ file, path: p, message });
    }
  }
  return issues;
}

function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length];
}

function memoryOf(resources: ResourcesConfig | undefined, fallback: string): string {
  return resources?.requests?.memory ?? fallback;
}

function crossChecks(file: string, env: EnvironmentConfig, sites: Record<string, SiteConfig>, errors: ConfigIssue[], warnings: ConfigIssue[]) {
  const err = (p: string, message: string) => errors.push({ file, path: p, message });
  const warn = (p: string, message: string) => warnings.push({ file, path: p, message });

  for (const [name, site] of Object.entries(sites)) {
    const at = `sites.${name}`;

    const wp = site.wordpress ?? {};
    const db = site.database ?? {};
    const backup = site.backup ?? {};
    const images = [
      [`${at}.wordpress.image`, wp.image], [`${at}.database.image`, db.image],
      [`${at}.metrics.exporterImage`, site.metrics?.exporterImage], [`${at}.metrics.apacheExporterImage`, site.metrics?.apacheExporterImage],
    ] as const;
    for (const [p, image] of images) {
      const problem = image ? imagePinProblem(image) : undefined;
      if (problem) err(p, `image ${show(image)} ${problem}`);
    }

    const autoscaling = wp.autoscaling;
    if (autoscaling) checkAutoscaling(`${at}.wordpress`, wp, err);
    // With an autoscaler, everything sized by the replica count is sized for its maximum.
    const replicas = autoscaling?.maxReplicas ?? wp.replicas ?? 2;
    const modes = wp.content?.accessModes ?? ['ReadWriteMany'];
    if (replicas > 1 && !modes.includes('ReadWriteMany')) {
      err(`${at}.wordpress.${autoscaling ? 'autoscaling.maxReplicas' : 'replicas'}`, `${replicas} replicas need a ReadWriteMany content volume but wordpress.content.accessModes is ${show(modes)} `
        + '(pods on other nodes could not attach it: Multi-Attach error); set replicas: 1 or accessModes: [ReadWriteMany]');
    }
    for (const [p, volume] of [[`${at}.wordpress.content`, wp.content], [`${at}.backup.volume`, backup.volume]] as const) {
      if (volume?.existingClaim && volume?.nfs) {
        err(p, 'existingClaim and nfs are both set; keep one (adopt a claim, or bind a new one to an NFS volume)');
      }
    }

    for (const [p, r] of [[`${at}.wordpress.resources`, wp.resources], [`${at}.database.resources`, db.resources], [`${at}.backup.resources`, backup.resources]] as const) {
      const req = r?.requests?.memory;
      const lim = r?.limits?.memory;
      if (lim !== undefined && parseSize(lim).toMebibytes() !== parseSize(req ?? '512Mi').toMebibytes()) {
        err(`${p}.limits.memory`, `memory limit ${show(lim)} differs from the request ${show(req ?? '512Mi')}; make them equal (or drop limits.memory)`);
      }
    }
    const phpMemory = wp.php?.memoryLimit ?? '256Mi';
    const wpMemory = memoryOf(wp.resources, '512Mi');
    if (parseSize(phpMemory).toMebibytes() >= parseSize(wpMemory).toMebibytes()) {
      err(`${at}.wordpress.php.memoryLimit`, `PHP memory_limit ${show(phpMemory)} is not below the container memory ${show(wpMemory)}; lower it or raise wordpress.resources.requests.memory`);
    }

    for (const [p, probes] of [[`${at}.wordpress.probes`, wp.probes], [`${at}.database.probes`, db.probes]] as const) {
      for (const [kind, t] of Object.entries(probes ?? {})) {
        for (const field of ['period', 'timeout'] as const) {
          if (t?.[field] !== undefined && /^0+[smh]$/.test(t[field]!)) err(`${p}.${kind}.${field}`, `${field} ${show(t[field])} must be at least 1s`);
        }
      }
    }

    for (const [p, placement, count] of [[`${at}.wordpress.placement`, wp.placement, replicas], [`${at}.database.placement`, db.placement, databaseReplicas(db)]] as const) {
      placement?.nodeAffinity?.forEach((rule, i) => {
        const needsValues = rule.operator === 'In' || rule.operator === 'NotIn';
        const n = rule.values?.length ?? 0;
        if (needsValues && n === 0) err(`${p}.nodeAffinity.${i}.values`, `operator ${rule.operator} needs at least one value; add values or use Exists`);
        if (!needsValues && n > 0) err(`${p}.nodeAffinity.${i}.values`, `operator ${rule.operator} takes no values; remove them or use In/NotIn`);
      });
      if (placement?.antiAffinity === 'hard') {
        const topology = placement.topologyKey ?? 'hostname';
        const domains = topology === 'zone' ? env.cluster?.zones : topology === 'hostname' ? env.cluster?.nodes : undefined;
        const what = topology === 'zone' ? 'cluster.zones' : 'cluster.nodes';
        if (domains !== undefined && count > domains) {
          warn(`${p}.antiAffinity`, `hard anti-affinity with ${count} replicas but ${what} is ${domains}: ${count - domains} pod(s) will stay Pending; use soft or fewer replicas`);
        }
      }
    }

    checkReplication(`${at}.database`, db, err);
    const cronSchedule = wp.cron?.schedule;
    const cronScheduleProblem = cronSchedule === undefined ? undefined : cronProblem(cronSchedule);
    if (cronScheduleProblem) err(`${at}.wordpress.cron.schedule`, `schedule ${show(cronSchedule)} ${cronScheduleProblem}`);
    if (cronSchedule !== undefined && wp.cron?.enabled === false) {
      err(`${at}.wordpress.cron.schedule`, 'is set but cron.enabled is false, so no CronJob is rendered; set enabled: true or remove schedule');
    }
    checkBackup(`${at}.backup`, backup, db.databaseName ?? 'wordpress', err);

    const ex = site.exposure ?? {};
    const type = exposureTypeOf(site);
    checkExposure(`${at}.exposure`, site, err);
    checkCanary(at, site, err);

    const security = site.security ?? {};
    const sources = [['ingressController', 'ingress'], ['gateway', 'gateway'], ['router', 'route']] as const;
    for (const [key, only] of sources) {
      if (security[key] && type !== only) {
        err(`${at}.security.${key}`, `only applies to exposure type ${only}; with ${type} `
          + (type === 'nodePort' || type === 'loadBalancer' ? 'WordPress accepts HTTP from any source (no controller sits in between)' : `the source is security.${sources.find(x => x[1] === type)![0]}`)
          + `; remove it or use type ${only}`);
      }
    }
    checkMetrics(at, site, err);
    if (security.istiod && ex.mesh !== 'istio') err(`${at}.security.istiod`, 'only applies with exposure.mesh: istio; remove it or set mesh: istio');
    if (security.deployer?.readSecrets && !security.deployer.enabled) {
      err(`${at}.security.deployer.readSecrets`, 'is set but deployer.enabled is not true, so no deployer is rendered; set enabled: true or remove readSecrets');
    }
  }
}

const WITH_HOST = ['ingress', 'gateway', 'route'];

function checkExposure(at: string, site: SiteConfig, err: (p: string, message: string) => void) {
  const ex = site.exposure ?? {};
  const type = exposureTypeOf(site);
  const mode = ex.tls?.mode ?? 'edge';
  const tls = ex.tls;
  if (WITH_HOST.includes(type) && !ex.host) {
    err(`${at}.host`, `is required for type ${type}; add the site's host name, e.g. "blog.example.com", or use type nodePort`);
  }
  if (!WITH_HOST.includes(type)) {
    for (const k of ['tls', 'host', 'path'] as const) {
      if (ex[k] !== undefined) err(`${at}.${k}`, `only applies to types ingress, gateway and route, not ${type}; remove it or change exposure.type`);
    }
  }
  if (ex.nodePort !== undefined && WITH_HOST.includes(type)) err(`${at}.nodePort`, 'only applies to type nodePort/loadBalancer; remove it or change exposure.type');
  for (const k of ['ingressClassName', 'controller'] as const) {
    if (ex[k] !== undefined && type !== 'ingress') err(`${at}.${k}`, `only applies to type ingress, not ${type}; remove it or use type ingress`);
  }
  if (type === 'gateway' && !ex.gateway) err(`${at}.gateway`, 'is required for type gateway; add the Gateway to attach to: { name, namespace, sectionName }');
  if (type !== 'gateway' && ex.gateway) err(`${at}.gateway`, `only applies to type gateway, not ${type}; remove it or use type gateway`);
  if (ex.gateway?.redirect && ex.gateway.redirect.sectionName === ex.gateway.sectionName) {
    err(`${at}.gateway.redirect.sectionName`, `${show(ex.gateway.redirect.sectionName)} is the listener the site is served on, so every request would be redirected to itself; use the Gateway's plain-HTTP listener, e.g. "http"`);
  }
  if (type === 'gateway' && tls) {
    err(`${at}.tls`, 'does not apply to type gateway: TLS ends at the Gateway\'s listener, whose certificate the Gateway\'s owner configures; remove tls');
  }
  const controller = ex.controller ?? (ex.ingressClassName === undefined || ex.ingressClassName === 'nginx' ? 'ingress-nginx' : 'other');
  if (type === 'ingress' && controller !== 'ingress-nginx') {
    const needs = [mode !== 'edge' && `tls.mode ${mode}`, site.wordpress?.canary && 'wordpress.canary', ex.mesh === 'istio' && 'mesh: istio'].filter(Boolean);
    if (needs.length) {
      err(`${at}.controller`, `is ${show(controller)} (ingressClassName ${show(ex.ingressClassName)}), but ${needs.join(', ')} ${needs.length === 1 ? 'needs' : 'need'} ingress-nginx annotations; `
        + 'set controller: ingress-nginx if the class is served by ingress-nginx, or leave them out');
    }
  }
  if (tls) {
    const edgeCert = tls.secretName !== undefined || tls.issuer !== undefined;
    if (tls.issuerKind && !tls.issuer) err(`${at}.tls.issuerKind`, 'is set without issuer; add issuer or remove issuerKind');
    if (type === 'ingress' && mode !== 'passthrough' && !edgeCert) err(`${at}.tls`, 'needs secretName (an existing TLS Secret) or issuer (cert-manager); add one');
    if (type === 'route' && tls.issuer) {
      err(`${at}.tls.issuer`, 'does not apply to type route: the router presents tls.secretName (a Secret, e.g. written by a cert-manager Certificate) or its default certificate; use secretName or remove issuer');
    }
    if (mode === 'passthrough' && edgeCert) {
      err(`${at}.tls`, 'sets an edge certificate (secretName/issuer) with mode passthrough, where the only certificate is WordPress\'s own (backendSecret); remove secretName/issuer');
    }
    if (mode === 'passthrough' && (ex.path ?? '/') !== '/') {
      err(`${at}.path`, `is ${show(ex.path)} but tls.mode passthrough routes by host name only (the path is inside the TLS stream); use path "/" or tls.mode reencrypt`);
    }
    const servingCert = type === 'route' && mode === 'reencrypt';
    if (mode !== 'edge' && !tls.backendSecret && !servingCert) {
      err(`${at}.tls.backendSecret`, `is required for tls.mode ${mode}: WordPress serves HTTPS on 8443 with it; add the name of a kubernetes.io/tls Secret`);
    }
    if (mode === 'edge' && tls.backendSecret) err(`${at}.tls.backendSecret`, 'only applies to tls.mode reencrypt or passthrough; remove it or set the mode');
  }
  if (ex.mesh === 'istio') {
    if (type !== 'ingress') {
      err(`${at}.mesh`, `istio only applies to type ingress (ingress-nginx with a sidecar), not ${type}; `
        + (type === 'gateway' ? 'a Gateway splits a canary with weighted backendRefs itself; remove mesh' : 'remove mesh or use type ingress'));
    }
    if (mode !== 'edge') err(`${at}.tls.mode`, `is ${mode} with mesh: istio, where the sidecars already encrypt (mutual TLS); use edge`);
  }
}

function checkCanary(at: string, site: SiteConfig, err: (p: string, message: string) => void) {
  const canary = site.wordpress?.canary;
  if (!canary) return;
  const ex = site.exposure ?? {};
  const type = exposureTypeOf(site);
  const stable = site.wordpress?.image ?? 'wordpress:6.8-php8.3-apache';
  const problem = imagePinProblem(canary.image);
  if (problem) err(`${at}.wordpress.canary.image`, `image ${show(canary.image)} ${problem}`);
  if (canary.image === stable) {
    err(`${at}.wordpress.canary.image`, `${show(canary.image)} is the stable image (wordpress.image), so there is nothing to compare; give the canary the new image, or remove canary once it is promoted`);
  }
  if (type === 'nodePort' || type === 'loadBalancer') {
    err(`${at}.wordpress.canary`, `needs something that splits requests by weight, and a ${type} Service only balances connections over its pods; use exposure type ingress, gateway or route`);
  }
  if (type === 'ingress' && ex.mesh !== 'istio' && ex.tls?.mode === 'passthrough') {
    err(`${at}.wordpress.canary`, 'cannot be split by ingress-nginx with tls.mode passthrough (it never sees the requests); use tls.mode reencrypt, or mesh: istio');
  }
  const modes = site.wordpress?.content?.accessModes ?? ['ReadWriteMany'];
  if (!modes.includes('ReadWriteMany')) {
    err(`${at}.wordpress.canary`, `shares the content volume with the stable pods, but wordpress.content.accessModes is ${show(modes)}; use accessModes: [ReadWriteMany]`);
  }
}

function checkAutoscaling(at: string, wp: WordPressConfig, err: (p: string, message: string) => void) {
  const a = wp.autoscaling!;
  if (wp.replicas !== undefined) {
    err(`${at}.replicas`, `is ${wp.replicas} while autoscaling is set; the HorizontalPodAutoscaler sets the count, so remove replicas (also from defaults)`);
  }
  if (a.minReplicas > a.maxReplicas) {
    err(`${at}.autoscaling.minReplicas`, `${a.minReplicas} is above maxReplicas ${a.maxReplicas}; make minReplicas <= maxReplicas`);
  }
  if (a.minReplicas < 2) {
    err(`${at}.autoscaling.minReplicas`, `${a.minReplicas} leaves one pod, and the PodDisruptionBudget (maxUnavailable 1) then lets a node drain take the site down; use minReplicas: 2 or more`);
  }
  const cpu = wp.resources?.requests?.cpu;
  if (cpu !== undefined && parseFloat(cpu) === 0) {
    err(`${at}.resources.requests.cpu`, `${show(cpu)} gives the autoscaler no CPU request to measure utilization against; set a request such as "250m"`);
  }
}

function checkMetrics(at: string, site: SiteConfig, err: (p: string, message: string) => void) {
  const { enabled, ...settings } = site.metrics ?? {};
  if (enabled) return;
  for (const key of Object.keys(settings)) err(`${at}.metrics.${key}`, 'is set but metrics.enabled is not true, so no exporter is rendered; set enabled: true or remove it');
  if (site.security?.prometheus) err(`${at}.security.prometheus`, 'only applies with metrics.enabled: true (nothing is scraped otherwise); set it or remove prometheus');
}

/** Pods of the database StatefulSet, with the mode's default. */
function databaseReplicas(db: DatabaseConfig): number {
  return db.replicas ?? { standalone: 1, replication: 2, galera: 3 }[db.mode ?? 'standalone'];
}

function checkReplication(at: string, db: DatabaseConfig, err: (p: string, message: string) => void) {
  const mode = db.mode ?? 'standalone';
  if (mode !== 'replication' && db.replication) err(`${at}.replication`, `only applies to mode replication, not ${mode}; set mode: replication or remove it`);
  if (mode !== 'galera' && db.galera) err(`${at}.galera`, `only applies to mode galera, not ${mode}; set mode: galera or remove it`);
  if (mode === 'standalone') {
    if (db.replicas !== undefined && db.replicas > 1) {
      err(`${at}.replicas`, `${db.replicas} standalone servers would be independent, diverging databases behind one Service; set mode: replication or galera, or replicas: 1`);
    }
    return;
  }
  const replicas = databaseReplicas(db);
  if (mode === 'galera') {
    if (replicas < 3 || replicas % 2 === 0) {
      const why = replicas < 3
        ? 'fewer than 3 nodes lose quorum (a majority) when one stops, and the cluster stops taking writes'
        : 'an even count can split into two halves where neither has quorum (a majority), and both stop';
      err(`${at}.replicas`, `${replicas} is not an odd number of at least 3 for mode galera: ${why}; set replicas: ${replicas < 3 ? 3 : replicas + 1} (or ${replicas < 3 ? 5 : Math.max(3, replicas - 1)})`);
    }
    return;
  }
  if (replicas < 2) err(`${at}.replicas`, `${replicas} is too few for mode replication, which needs a primary and at least one replica; set replicas: 2 or more, or mode: standalone`);
  const primary = db.replication?.primary;
  if (primary !== undefined && primary >= replicas) {
    err(`${at}.replication.primary`, `${primary} is not the ordinal of a pod of ${replicas} (0 to ${replicas - 1}); use one of those or raise replicas`);
  }
  if (db.replication?.maxLag !== undefined && /^0+[smh]$/.test(db.replication.maxLag)) err(`${at}.replication.maxLag`, `${show(db.replication.maxLag)} must be at least 1s`);
}

function checkBackup(at: string, backup: BackupConfig, databaseName: string, err: (p: string, message: string) => void) {
  const scheduleProblem = backup.schedule === undefined ? undefined : cronProblem(backup.schedule);
  if (scheduleProblem) err(`${at}.schedule`, `schedule ${show(backup.schedule)} ${scheduleProblem}`);
  const zoneProblem = backup.timeZone === undefined ? undefined : timeZoneProblem(backup.timeZone);
  if (zoneProblem) err(`${at}.timeZone`, `time zone ${show(backup.timeZone)} ${zoneProblem}`);
  const retention = backup.retention;
  if (retention && retention.count === undefined && retention.days === undefined) {
    err(`${at}.retention`, 'has neither count nor days, so nothing says which dumps to keep; add count (e.g. 7), days (e.g. 30) or both');
  }
  const modes = backup.volume?.accessModes;
  if (modes?.every(m => m === 'ReadOnlyMany')) {
    err(`${at}.volume.accessModes`, `${show(modes)} cannot be written to; use ReadWriteOnce (or ReadWriteMany)`);
  }
  if (backup.restore) {
    if (backup.enabled === false) {
      err(`${at}.restore`, 'reads the backup volume, which is not rendered while backup.enabled is false; set enabled: true or remove restore');
    }
    const fileProblem = dumpFileProblem(backup.restore.file, databaseName);
    if (fileProblem) err(`${at}.restore.file`, `${show(backup.restore.file)} ${fileProblem}`);
  }
}
