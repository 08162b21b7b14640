// What a platform's admission does to a pod before the kubelet sees it, for platforms whose pod
// specs deliberately leave fields to it. OpenShift's restricted SCCs (restricted-v2) assign the
// user and fsGroup from the namespace's UID range (annotation openshift.io/sa.scc.uid-range) to pods
// that set none; a spec that sets them outside the range is rejected there.

/** First UID of the range OpenShift gives a namespace, when the test does not name one. */
export const OPENSHIFT_DEFAULT_UID = 1000680000;

/** Whether a site's objects are meant for OpenShift: they hold a route.openshift.io Route. */
export function forOpenShift(objects: readonly any[]): boolean {
  return objects.some(o => o?.kind === 'Route' && String(o.apiVersion).startsWith('route.openshift.io/'));
}

/**
 * A copy of `workload` as OpenShift's restricted-v2 SCC admits it: runAsUser and fsGroup set to the
 * first UID of the namespace's range where the pod gives none. Throws where the SCC would reject
 * the pod: a fixed runAsUser or fsGroup outside the range.
 */
export function admitOpenShiftRestricted(workload: any, uid = OPENSHIFT_DEFAULT_UID): any {
  const copy = JSON.parse(JSON.stringify(workload));
  const template = copy.spec?.jobTemplate?.spec?.template ?? copy.spec?.template;
  if (!template) return copy;
  const spec = template.spec;
  const where = `${copy.kind}/${copy.metadata?.name}`;
  for (const c of [...spec.initContainers ?? [], ...spec.containers]) {
    const fixed = c.securityContext?.runAsUser;
    if (fixed !== undefined && fixed !== uid) throw new Error(`${where} container ${c.name}: runAsUser ${fixed} is outside the namespace's UID range (${uid}); the SCC rejects it`);
  }
  const sc = spec.securityContext ?? {};
  for (const key of ['runAsUser', 'fsGroup'] as const) {
    if (sc[key] !== undefined && sc[key] !== uid) throw new Error(`${where}: ${key} ${sc[key]} is outside the namespace's UID range (${uid}); the SCC rejects it`);
  }
  spec.securityContext = { ...sc, runAsUser: uid, fsGroup: uid };
  return copy;
}
