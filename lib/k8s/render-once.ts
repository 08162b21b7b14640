import { ApiObject, Chart } from 'cdk8s';

/**
 * Runs `render` (a chart's `toJson()`) with every ApiObject of `chart` rendered at most once.
 *
 * Constructs that describe the chart's other objects call their `toJson()` from a `Lazy`:
 * NamespaceQuota reads every workload twice (quota and LimitRange), DeployerAccess reads every
 * object. Without this a site's workloads were rendered three times, a third of its render time.
 * Results are reused only during this call, so a chart changed between two renders is never
 * described from stale manifests. Callers must treat the manifests they read as read-only: the
 * chart returns the same objects.
 */
export function renderingEachObjectOnce<T>(chart: Chart, render: () => T): T {
  const restore = chart.node.findAll().filter(ApiObject.isApiObject).map(renderOnce);
  try {
    return render();
  } finally {
    restore.forEach(undo => undo());
  }
}

/** Shadows the object's `toJson` with a memo of it; returns what puts the previous one back. */
function renderOnce(o: ApiObject): () => void {
  const own = Object.getOwnPropertyDescriptor(o, 'toJson');
  const toJson = o.toJson;
  let manifest: any;
  let done = false;
  Object.defineProperty(o, 'toJson', {
    configurable: true,
    writable: true,
    value: () => {
      if (!done) {
        manifest = toJson.call(o);
        done = true;
      }
      return manifest;
    },
  });
  return () => {
    if (own) Object.defineProperty(o, 'toJson', own);
    else delete (o as { toJson?: unknown }).toJson;
  };
}
