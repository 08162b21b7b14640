import { ApiObject, App, Chart, IResolver, ImplicitTokenResolver, Lazy, LazyResolver, NumberStringUnionResolver } from 'cdk8s';

/**
 * Kinds whose rendering through `resolvingDirectly` is proven byte-identical to cdk8s's own by
 * __tests__/resolve-directly.test.ts, which also fails when the charts emit a kind not listed here.
 * Objects of other kinds are resolved by cdk8s itself.
 */
export const DIRECTLY_RESOLVED_KINDS: ReadonlySet<string> = new Set([
  'ConfigMap', 'CronJob', 'Deployment', 'DestinationRule', 'HTTPRoute', 'HorizontalPodAutoscaler', 'Ingress', 'Job', 'LimitRange',
  'Namespace', 'NetworkPolicy', 'PersistentVolume', 'PersistentVolumeClaim', 'PodDisruptionBudget', 'PrometheusRule',
  'ResourceQuota', 'Role', 'RoleBinding', 'Route', 'Service', 'ServiceAccount', 'ServiceMonitor', 'StatefulSet', 'VirtualService',
]);

/**
 * Property names that the generated `toJson_*` mappers of cdk8s-plus-27's k8s module and of imports/
 * write under another name (`clusterIp` as `clusterIP`, `ref` as `$ref`, ...). An object holding
 * one anywhere, even as a label or data key, goes through its mapper. __tests__/resolve-directly.test.ts
 * reads the list off the generated sources and fails when it is stale.
 */
export const RENAMED_PROPERTIES: ReadonlySet<string> = new Set([
  'clusterIp', 'consecutive5XxErrors', 'convertClassicHistogramsToNhcb', 'datasetUuid', 'destinationCaCertificate', 'diskUri', 'externalId',
  'hostIp', 'hostIpc', 'hostPid', 'insecureSkipTlsVerify', 'keepFiringFor', 'loadBalancerIp', 'mirrorPercent', 'nodeId', 'nonResourceUrLs',
  'partialResponseStrategy', 'pdId', 'podCidRs', 'podCidr', 'providerId', 'queryOffset', 'ref', 'schema', 'setHostnameAsFqdn',
  'storagePolicyId', 'targetCpuUtilizationPercentage', 'targetWwNs', 'volumeId', 'xKubernetesEmbeddedResource', 'xKubernetesIntOrString',
  'xKubernetesListMapKeys', 'xKubernetesListType', 'xKubernetesMapType', 'xKubernetesPreserveUnknownFields', 'xKubernetesValidations',
]);

type Resolve = (key: string[], value: unknown, apiObject: ApiObject) => unknown;
interface SanitizeOptions { readonly sortKeys?: boolean; readonly filterEmptyArrays?: boolean; readonly filterEmptyObjects?: boolean }
type Sanitize = (value: unknown, options?: SanitizeOptions) => unknown;

// The modules whose `resolve` and `sanitizeValue` ApiObject.toJson() and its metadata's toJson()
// call through their exports objects at every call, so replacing an export reaches them; the
// package index only re-exports `resolve`.
const cdk8sResolve: { resolve: Resolve } = require('cdk8s/lib/resolve');
const cdk8sUtil: { sanitizeValue: Sanitize } = require('cdk8s/lib/_util');

/**
 * Runs `render` (a chart's `toJson()`) with cdk8s's token resolution, the clean-up that follows it
 * and, for the objects of `chart`, the generated classes' mapping to the manifest, done in one
 * direct walk per object.
 *
 * cdk8s resolves every value of every object by walking up to the App for its resolvers, building
 * a ResolutionContext and a key path and asking each resolver in turn, then walks the result again
 * (`sanitizeValue`) to sort its keys and drop empty values, and a generated class (`KubeDeployment`,
 * `ServiceMonitor`, ...) then copies it once more through its `toJson_*` mappers. For an App with
 * only the three built-in resolvers, which ignore the key, one walk asks the same questions in the
 * same order (producers run in cdk8s's order) and builds the sanitized result, which the sanitizer
 * then hands back as it is. For an object of a generated class the walk also writes what its
 * mappers would: union values (`Quantity`, `IntOrString`) as the bare number or string, keys in the
 * mappers' order (sorted, as the sanitizer leaves them; tested), nothing undefined; an object that
 * holds a property the mappers rename (RENAMED_PROPERTIES) goes through its mappers. Any other App
 * (custom resolvers), and any object of a kind outside DIRECTLY_RESOLVED_KINDS, goes to cdk8s's
 * own functions.
 */
export function resolvingDirectly<T>(render: () => T, chart?: Chart): T {
  const [resolve, sanitize] = [cdk8sResolve.resolve, cdk8sUtil.sanitizeValue];
  if (resolve === directOrOriginal) return render(); // nested: already in place
  // Results of the walk, and whether their keys are sorted: what the sanitizer need not redo.
  const walked = new WeakMap<object, boolean>();
  // Objects being rendered in their final form, and whether that render met a renamed property.
  const final = new WeakSet<ApiObject>();
  const state = { renamed: false };
  cdk8sResolve.resolve = directOrOriginal;
  cdk8sUtil.sanitizeValue = sanitizeUnlessWalked;
  const mapped = chart && builtInOnly(App.of(chart).resolvers) ? chart.node.findAll().filter(isGeneratedClass).map(renderFinal) : [];
  try {
    return render();
  } finally {
    mapped.forEach(undo => undo());
    cdk8sResolve.resolve = resolve;
    cdk8sUtil.sanitizeValue = sanitize;
  }

  function directOrOriginal(key: string[], value: unknown, apiObject: ApiObject): unknown {
    if (!DIRECTLY_RESOLVED_KINDS.has(apiObject.kind) || !builtInOnly(App.of(apiObject).resolvers)) return resolve(key, value, apiObject);
    // The sort that ApiObject.toJson() asks the sanitizer for, read from the same variable.
    const sortKeys = !process.env.CDK8S_DISABLE_SORT;
    const result = walk(value, sortKeys, sanitize, final.has(apiObject) ? state : undefined);
    if (result !== null && typeof result === 'object') walked.set(result, sortKeys);
    return result;
  }

  function sanitizeUnlessWalked(value: unknown, options: SanitizeOptions = {}): unknown {
    const sorted = value !== null && typeof value === 'object' ? walked.get(value) : undefined;
    if (sorted !== undefined && sorted === (options.sortKeys ?? true) && !options.filterEmptyArrays && !options.filterEmptyObjects) return value;
    // Sanitizing the walk's result gives what sanitizing cdk8s's resolution would: the walk only
    // dropped empty values and, when asked to, sorted keys as this call then does too.
    return sanitize(value, options);
  }

  /** Shadows the object's `toJson` with ApiObject's, walked in final form; returns what undoes it. */
  function renderFinal(o: ApiObject): () => void {
    const own = Object.getOwnPropertyDescriptor(o, 'toJson');
    const throughMappers = o.toJson;
    Object.defineProperty(o, 'toJson', {
      configurable: true,
      writable: true,
      value: () => {
        // Objects render others from their producers (the quota reads the workloads): keep each one's flag.
        const outer = state.renamed;
        state.renamed = false;
        final.add(o);
        let manifest: any;
        let renamed: boolean;
        try {
          manifest = ApiObject.prototype.toJson.call(o);
          renamed = state.renamed;
        } finally {
          final.delete(o);
          state.renamed = outer;
        }
        // apiVersion, kind, metadata, then the rest sorted: the order of the class's GVK and mappers.
        return renamed ? throughMappers.call(o) : manifest;
      },
    });
    return () => {
      if (own) Object.defineProperty(o, 'toJson', own);
      else delete (o as { toJson?: unknown }).toJson;
    };
  }
}

/**
 * An object of a class generated by `cdk8s import` (cdk8s-plus-27's k8s module, imports/): it extends
 * ApiObject directly, carries its GVK, and its own `toJson()` maps ApiObject's through `toJson_*`.
 */
function isGeneratedClass(c: unknown): c is ApiObject {
  if (!ApiObject.isApiObject(c) || !DIRECTLY_RESOLVED_KINDS.has(c.kind)) return false;
  const cls = c.constructor as { GVK?: { apiVersion?: string; kind?: string }; prototype: object };
  return cls.GVK?.apiVersion === c.apiVersion && cls.GVK?.kind === c.kind
    && Object.getPrototypeOf(cls.prototype) === ApiObject.prototype && Object.prototype.hasOwnProperty.call(cls.prototype, 'toJson');
}

/**
 * `sanitizeValue(resolve(value))` of cdk8s with the built-in resolvers (Lazy, implicit token,
 * number/string union) inlined: null and undefined dropped, plain objects' keys sorted. With
 * `final`, union values are written bare, as the generated mappers write them, and `final.renamed`
 * records a key those mappers would rename.
 */
function walk(value: any, sortKeys: boolean, sanitize: Sanitize, final?: { renamed: boolean }): unknown {
  if (value == null) return undefined;
  if (typeof value !== 'object' && typeof value !== 'function') return value;
  // The resolvers' questions, in their order: a Lazy, anything with resolve(), a union class.
  const plain = value.constructor === Object;
  if (!plain && value instanceof Lazy) return walk(value.produce(), sortKeys, sanitize, final);
  if (typeof value.resolve === 'function') return walk(value.resolve(), sortKeys, sanitize, final);
  if (!plain && (typeof value.value === 'number' || typeof value.value === 'string')) return final ? value.value : { value: value.value };
  if (Array.isArray(value)) {
    const items = new Array(value.length);
    for (let i = 0; i < value.length; i++) items[i] = walk(value[i], sortKeys, sanitize, final);
    return items;
  }
  // Not a plain object: cdk8s's resolve leaves it as it is, and its sanitizer copies it or throws.
  if (!plain) return sanitize(value, { sortKeys });
  const keys = Object.keys(value);
  // Resolved in the object's own key order, as cdk8s does, so that producers run in its order.
  const resolved = new Array(keys.length);
  let inOrder = true;
  for (let i = 0; i < keys.length; i++) {
    resolved[i] = walk(value[keys[i]], sortKeys, sanitize, final);
    if (i > 0 && keys[i - 1] > keys[i]) inOrder = false;
    if (final && RENAMED_PROPERTIES.has(keys[i]) && resolved[i] != null) final.renamed = true;
  }
  const result: Record<string, unknown> = {};
  if (inOrder || !sortKeys) {
    for (let i = 0; i < keys.length; i++) if (resolved[i] != null) result[keys[i]] = resolved[i];
    return result;
  }
  const byKey: Record<string, unknown> = Object.create(null);
  for (let i = 0; i < keys.length; i++) byKey[keys[i]] = resolved[i];
  for (const k of keys.sort()) if (byKey[k] != null) result[k] = byKey[k];
  return result;
}

const BUILT_IN: ReadonlyArray<new () => IResolver> = [LazyResolver, ImplicitTokenResolver, NumberStringUnionResolver];

/** Exactly cdk8s's default resolvers, in its order, none with an overridden `resolve`. */
function builtInOnly(resolvers: readonly IResolver[]): boolean {
  return resolvers.length === BUILT_IN.length
    && resolvers.every((r, i) => Object.getPrototypeOf(r) === BUILT_IN[i].prototype && !Object.prototype.hasOwnProperty.call(r, 'resolve'));
}
