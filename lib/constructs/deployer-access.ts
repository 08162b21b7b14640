import { ApiObject, Chart, Lazy } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { objectLabels, siteInstance } from '../k8s/labels';
import { workloadServiceAccount } from '../k8s/pod-spec';
import { podSpecOf } from '../k8s/workload-pods';

/** What a deployer may do with the objects it applies: read, create, change and prune them. */
export const DEPLOY_VERBS: readonly string[] = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'];
/** What a deployer may do with guard rails and data: see them, so an unchanged apply passes. */
export const READ_VERBS: readonly string[] = ['get', 'list', 'watch'];

/**
 * Kinds the deployer may only read. Guard rails (network isolation, quota, RBAC): a pipeline that
 * could change them could lift them, so a changed guard rail is applied by an administrator.
 * Claims: they hold the data and are applied with the storage manifests; a pipeline never deletes them.
 */
export const READ_ONLY_KINDS: ReadonlySet<string> = new Set([
  'NetworkPolicy', 'ResourceQuota', 'LimitRange', 'Role', 'RoleBinding', 'PersistentVolumeClaim',
]);

/** Props of `DeployerAccess`. */
export interface DeployerAccessProps {
  /**
   * Name of the ServiceAccount, the Role and the RoleBinding.
   * @default 'deployer'
   */
  readonly name?: string;
  /**
   * Let the deployer `get` the Secrets the chart refers to (by name; it can never list them).
   * Only for pipelines that check those Secrets before they deploy.
   * @default false: no access to any Secret
   */
  readonly readSecrets?: boolean;
  /**
   * Site name for the `app.kubernetes.io/instance` label.
   * @default the id of the enclosing chart
   */
  readonly instance?: string;
}

/**
 * A ServiceAccount for a CI pipeline that deploys this chart, bound by a Role in the chart's
 * namespace to exactly what the chart renders there, computed at synth from the chart's objects:
 * `DEPLOY_VERBS` on each namespaced kind, `READ_VERBS` on `READ_ONLY_KINDS`, never a wildcard, no
 * Secrets unless `readSecrets`, nothing cluster-scoped. The token is not mounted anywhere: the
 * pipeline asks for a short-lived one (`kubectl create token`).
 *
 * The Role is a plain `KubeRole`: cdk8s-plus-27's Role fixes its rule list as rules are added,
 * while this one must see objects added to the chart after it. The binding is the plus-27 one.
 */
export class DeployerAccess extends Construct {
  /** The deployer's ServiceAccount. */
  public readonly serviceAccount: kplus.ServiceAccount;
  /** The Role object. */
  public readonly role: k8s.KubeRole;

  constructor(scope: Construct, id: string, props: DeployerAccessProps = {}) {
    super(scope, id);
    const name = props.name ?? 'deployer';
    const chart = Chart.of(this);
    const labels = objectLabels({ name: 'wordpress', instance: siteInstance(this, props.instance), component: 'deployer' });

    this.serviceAccount = workloadServiceAccount(this, name, labels);
    this.role = new k8s.KubeRole(this, 'Role', {
      metadata: { name, labels },
      rules: Lazy.any({ produce: () => deployerRules(chart, this.role, props.readSecrets ?? false) }),
    });
    const binding = new kplus.RoleBinding(this, 'RoleBinding', {
      metadata: { name, labels },
      role: kplus.Role.fromRoleName(this, 'RoleRef', name),
    });
    binding.addSubjects(this.serviceAccount);
  }
}

function deployerRules(chart: Chart, self: ApiObject, readSecrets: boolean): k8s.PolicyRule[] {
  // Rendering the Role itself would recurse; it is RBAC, read-only anyway, and added below.
  const manifests = chart.node.findAll()
    .filter((c): c is ApiObject => ApiObject.isApiObject(c) && c !== self)
    .map(o => o.toJson())
    .filter(m => m.metadata?.namespace !== undefined);
  const resources = new Map<string, { group: string; resource: string; verbs: readonly string[] }>();
  for (const m of [...manifests, { apiVersion: self.apiVersion, kind: self.kind }]) {
    // Writing Secrets implies reading them; a Secret in the chart is applied by an administrator.
    if (m.kind === 'Secret') continue;
    const group = m.apiVersion.includes('/') ? m.apiVersion.split('/')[0] : '';
    const resource = pluralResource(m.kind);
    resources.set(`${group}/${resource}`, { group, resource, verbs: READ_ONLY_KINDS.has(m.kind) ? READ_VERBS : DEPLOY_VERBS });
  }

  // One rule per API group and set of verbs, sorted, so that the output is stable.
  const rules = new Map<string, k8s.PolicyRule>();
  for (const r of [...resources.values()].sort((a, b) => a.resource.localeCompare(b.resource))) {
    const key = `${r.group} ${r.verbs.join(',')}`;
    const rule = rules.get(key) ?? { apiGroups: [r.group], resources: [], verbs: [...r.verbs] };
    rule.resources!.push(r.resource);
    rules.set(key, rule);
  }
  const sorted = [...rules.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, rule]) => rule);
  const secrets = readSecrets ? referencedSecrets(manifests) : [];
  if (secrets.length) sorted.push({ apiGroups: [''], resources: ['secrets'], resourceNames: secrets, verbs: ['get'] });
  return sorted;
}

/** Names of the Secrets the manifests refer to: pod volumes, env, pull secrets, Ingress TLS. */
export function referencedSecrets(manifests: any[]): string[] {
  const names = new Set<string>();
  const add = (n: string | undefined) => n && names.add(n);
  for (const m of manifests) {
    for (const tls of m.kind === 'Ingress' ? m.spec?.tls ?? [] : []) add(tls.secretName);
    const spec = podSpecOf(m);
    if (!spec) continue;
    for (const v of spec.volumes ?? []) {
      add(v.secret?.secretName);
      for (const s of v.projected?.sources ?? []) add(s.secret?.name);
    }
    for (const p of spec.imagePullSecrets ?? []) add(p.name);
    for (const c of [...spec.initContainers ?? [], ...spec.containers]) {
      for (const e of c.env ?? []) add(e.valueFrom?.secretKeyRef?.name);
      for (const e of c.envFrom ?? []) add(e.secretRef?.name);
    }
  }
  return [...names].sort();
}

/** The API's resource name of a kind: lowercase, regular English plural (`Ingress` → `ingresses`). */
export function pluralResource(kind: string): string {
  const lower = kind.toLowerCase();
  if (/[^aeiou]y$/.test(lower)) return `${lower.slice(0, -1)}ies`;
  if (/(s|x|ch|sh)$/.test(lower)) return `${lower}es`;
  return `${lower}s`;
}
