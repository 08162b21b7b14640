import { ApiObject, App, IResolver, ImplicitTokenResolver, Lazy, LazyResolver, NumberStringUnionResolver } from 'cdk8s';

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

type Resolve = (key: string[], value: unknown, apiObject: ApiObject) => unknown;
interface SanitizeOptions { readonly sortKeys?: boolean; readonly filterEmptyArrays?: boolean; readonly filterEmptyObjects?: boolean }
type Sanitize = (value: unknown, options?: SanitizeOptions) => unknown;

// The modules whose `resolve` and `sanitizeValue` ApiObject.toJson() and its metadata's toJson()
// call through their exports objects at every call, so replacing an export reaches them; the
// package index only re-exports `resolve`.
const cdk8sResolve: { resolve: Resolve } = require('cdk8s/lib/resolve');
const cdk8sUtil: { sanitizeValue: Sanitize } = require('cdk8s/lib/_util');

/**
 * Runs `render` (a chart's `toJson()`) with cdk8s's token resolution and the clean-up that follows
 * it done in one direct walk.
 *
 * cdk8s resolves every value of every object by walking up to the App for its resolvers, building
 * a ResolutionContext and a key path and asking each resolver in turn, then walks the result again
 * (`sanitizeValue`) to sort its keys and drop empty values: together 40 % of a chart's `toJson()`.
 * For an App with only the three built-in resolvers, which ignore the key, one walk asks the same
 * questions in the same order (producers run in cdk8s's order) and builds the sanitized result,
 * which the sanitizer then hands back as it is. Any other App (custom resolvers), and any object of
 * a kind outside DIRECTLY_RESOLVED_KINDS, goes to cdk8s's own functions.
 */
export function resolvingDirectly<T>(render: () => T): T {
  const [resolve, sanitize] = [cdk8sResolve.resolve, cdk8sUtil.sanitizeValue];
  if (resolve === directOrOriginal) return render(); // nested: already in place
  // Results of the walk, and whether their keys are sorted: what the sanitizer need not redo.
  const walked = new WeakMap<object, boolean>();
  cdk8sResolve.resolve = directOrOriginal;
  cdk8sUtil.sanitizeValue = sanitizeUnlessWalked;
  try {
    return render();
  } finally {
    cdk8sResolve.resolve = resolve;
    cdk8sUtil.sanitizeValue = sanitize;
  }

  function directOrOriginal(key: string[], value: unknown, apiObject: ApiObject): unknown {
    if (!DIRECTLY_RESOLVED_KINDS.has(apiObject.kind) || !builtInOnly(App.of(apiObject).resolvers)) return resolve(key, value, apiObject);
    // The sort that ApiObject.toJson() asks the sanitizer for, read from the same variable.
    const sortKeys = !process.env.CDK8S_DISABLE_SORT;
    const result = walk(value, sortKeys, sanitize);
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
}

/**
 * `sanitizeValue(resolve(value))` of cdk8s with the built-in resolvers (Lazy, implicit token,
 * number/string union) inlined: null and undefined dropped, plain objects' keys sorted.
 */
function walk(value: any, sortKeys: boolean, sanitize: Sanitize): unknown {
  if (value == null) return undefined;
  if (typeof value !== 'object' && typeof value !== 'function') return value;
  // The resolvers' questions, in their order: a Lazy, anything with resolve(), a union class.
  const plain = value.constructor === Object;
  if (!plain && value instanceof Lazy) return walk(value.produce(), sortKeys, sanitize);
  if (typeof value.resolve === 'function') return walk(value.resolve(), sortKeys, sanitize);
  if (!plain && (typeof value.value === 'number' || typeof value.value === 'string')) return { value: value.value };
  if (Array.isArray(value)) {
    const items = new Array(value.length);
    for (let i = 0; i < value.length; i++) items[i] = walk(value[i], sortKeys, sanitize);
    return items;
  }
  // Not a plain object: cdk8s's resolve leaves it as it is, and its sanitizer copies it or throws.
  if (!plain) return sanitize(value, { sortKeys });
  const keys = Object.keys(value);
  // Resolved in the object's own key order, as cdk8s does, so that producers run in its order.
  const resolved = new Array(keys.length);
  let inOrder = true;
  for (let i = 0; i < keys.length; i++) {
    resolved[i] = walk(value[keys[i]], sortKeys, sanitize);
    if (i > 0 && keys[i - 1] > keys[i]) inOrder = false;
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
