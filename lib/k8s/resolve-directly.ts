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

// The module whose `resolve` ApiObject.toJson() calls through its exports object at every call,
// so replacing the export reaches it; the package index only re-exports it.
const cdk8sResolve: { resolve: Resolve } = require('cdk8s/lib/resolve');

/**
 * Runs `render` (a chart's `toJson()`) with cdk8s's token resolution done in one direct walk.
 *
 * cdk8s resolves every value of every object by walking up to the App for its resolvers, building
 * a ResolutionContext and a key path and asking each resolver in turn: 15 % of a site's render
 * time. For an App with only the three built-in resolvers, which ignore the key, this walk asks the
 * same questions in the same order and builds the same result. Any other App (custom resolvers),
 * and any object of a kind outside DIRECTLY_RESOLVED_KINDS, goes to cdk8s's own `resolve`.
 */
export function resolvingDirectly<T>(render: () => T): T {
  const original = cdk8sResolve.resolve;
  if (original === directOrOriginal) return render(); // nested: already in place
  cdk8sResolve.resolve = directOrOriginal;
  try {
    return render();
  } finally {
    cdk8sResolve.resolve = original;
  }

  function directOrOriginal(key: string[], value: unknown, apiObject: ApiObject): unknown {
    return DIRECTLY_RESOLVED_KINDS.has(apiObject.kind) && builtInOnly(App.of(apiObject).resolvers) ? direct(value) : original(key, value, apiObject);
  }
}

/** cdk8s's `resolve` with the built-in resolvers inlined: Lazy, implicit token, number/string union. */
function direct(value: any): unknown {
  if (value == null) return value;
  if (value instanceof Lazy) return direct(value.produce());
  if (typeof value.resolve === 'function') return direct(value.resolve());
  if (value.constructor !== Object && (typeof value.value === 'number' || typeof value.value === 'string')) return direct({ value: value.value });
  if (Array.isArray(value)) return value.map(x => direct(x));
  if (value.constructor == Object) {
    const result: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) result[k] = direct(v);
    return result;
  }
  return value;
}

const BUILT_IN: ReadonlyArray<new () => IResolver> = [LazyResolver, ImplicitTokenResolver, NumberStringUnionResolver];

/** Exactly cdk8s's default resolvers, in its order, none with an overridden `resolve`. */
function builtInOnly(resolvers: readonly IResolver[]): boolean {
  return resolvers.length === BUILT_IN.length
    && resolvers.every((r, i) => Object.getPrototypeOf(r) === BUILT_IN[i].prototype && !Object.prototype.hasOwnProperty.call(r, 'resolve'));
}
