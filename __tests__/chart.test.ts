import { Chart, Size, Testing } from 'cdk8s';
import { Construct } from 'constructs';
import { StorageClaims, ClaimSource } from '../lib/constructs/storage-claims';
import { WordPressChart } from '../lib/chart/wordpress-chart';
import { MINIMAL_SITE, exampleSites, podLabelsOf, podTemplate, siteObjects, variantSites } from './support/fixtures';
import { validateManifest } from './support/k8s-schema';

const SITES: Array<{ label: string; objects: any[] }> = [...exampleSites(), ...variantSites()];

const RECOMMENDED = ['name', 'instance', 'component', 'part-of', 'managed-by'].map(k => `app.kubernetes.io/${k}`);
const workloads = (objects: any[]) => objects.filter(o => podTemplate(o));
const isSubset = (sub: Record<string, string>, sup: Record<string, string>) => Object.entries(sub).every(([k, v]) => sup?.[k] === v);

describe.each(SITES)('$label', ({ objects }) => {
  test('every object validates strictly against the Kubernetes 1.27 schema', () => {
    expect(objects.flatMap(o => validateManifest(o))).toEqual([]);
  });

  test('has the expected kinds', () => {
    const kinds = new Set(objects.map(o => o.kind));
    for (const k of ['Namespace', 'StatefulSet', 'Deployment', 'Service', 'ConfigMap']) expect(kinds).toContain(k);
    const sts = objects.find(o => o.kind === 'StatefulSet');
    expect(sts.spec.volumeClaimTemplates).toHaveLength(1);
    const services = objects.filter(o => o.kind === 'Service').map(o => o.metadata.name);
    expect(services).toEqual(expect.arrayContaining(['mariadb', 'mariadb-headless', 'wordpress']));
    const headless = objects.find(o => o.kind === 'Service' && o.metadata.name === sts.spec.serviceName);
    expect(headless.spec.clusterIP).toBe('None');
    expect(headless.spec.publishNotReadyAddresses).toBe(true);
  });

  test('every object and pod template carries the recommended labels', () => {
    for (const o of objects) {
      for (const k of RECOMMENDED) expect([o.kind, o.metadata.name, k, o.metadata.labels?.[k]]).toEqual([o.kind, o.metadata.name, k, expect.any(String)]);
    }
    for (const w of workloads(objects)) {
      for (const k of RECOMMENDED) expect(podTemplate(w).metadata.labels[k]).toEqual(expect.any(String));
    }
  });

  test('workload selectors are a subset of their pod template labels', () => {
    for (const w of workloads(objects).filter(w => w.kind !== 'CronJob' && w.kind !== 'Job')) {
      expect(isSubset(w.spec.selector.matchLabels, podTemplate(w).metadata.labels)).toBe(true);
    }
  });

  test('an autoscaled Deployment leaves replicas to its HorizontalPodAutoscaler, which targets it on CPU', () => {
    for (const hpa of objects.filter(o => o.kind === 'HorizontalPodAutoscaler')) {
      const target = objects.find(o => o.kind === hpa.spec.scaleTargetRef.kind && o.metadata.name === hpa.spec.scaleTargetRef.name);
      expect([hpa.metadata.name, target?.kind, target && 'replicas' in target.spec]).toEqual([hpa.metadata.name, 'Deployment', false]);
      expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
      expect(hpa.spec.minReplicas).toBeLessThanOrEqual(hpa.spec.maxReplicas);
      expect(hpa.spec.metrics.map((m: any) => m.resource.name)).toEqual(['cpu']);
    }
  });

  test('each Service selects the pods of exactly one workload (both tracks behind an Istio split) and targets a declared container port', () => {
    // Istio picks a DestinationRule's subsets from one Service's endpoints: that Service spans both tracks.
    const split = new Set(objects.filter(o => o.kind === 'DestinationRule').map(o => o.spec.host.split('.')[0]));
    for (const svc of objects.filter(o => o.kind === 'Service')) {
      const matches = workloads(objects).filter(w => podLabelsOf(w).some(labels => isSubset(svc.spec.selector, labels)));
      expect([svc.metadata.name, matches.length]).toEqual([svc.metadata.name, split.has(svc.metadata.name) ? 2 : 1]);
      const ports = podTemplate(matches[0]).spec.containers.flatMap((c: any) => c.ports ?? []);
      for (const p of svc.spec.ports) {
        const target = p.targetPort ?? p.port;
        const found = ports.find((cp: any) => cp.name === target || cp.containerPort === target);
        expect([svc.metadata.name, target, !!found]).toEqual([svc.metadata.name, target, true]);
      }
    }
  });

  test('every container has probes (long-running workloads), CPU+memory requests and memory limit == request', () => {
    for (const w of workloads(objects)) {
      const longRunning = w.kind === 'Deployment' || w.kind === 'StatefulSet';
      const spec = podTemplate(w).spec;
      for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
        const where = `${w.kind}/${w.metadata.name}/${c.name}`;
        if (longRunning && !(spec.initContainers ?? []).includes(c)) {
          expect([where, !!c.startupProbe, !!c.livenessProbe, !!c.readinessProbe]).toEqual([where, true, true, true]);
          // Liveness and readiness must check different things.
          expect(JSON.stringify(c.livenessProbe)).not.toEqual(JSON.stringify(c.readinessProbe));
        }
        expect([where, c.resources?.requests?.cpu, c.resources?.requests?.memory]).toEqual([where, expect.anything(), expect.anything()]);
        expect([where, c.resources.limits?.memory]).toEqual([where, c.resources.requests.memory]);
      }
    }
  });

  test('Ingress backends are existing Service ports', () => {
    for (const ing of objects.filter(o => o.kind === 'Ingress')) {
      for (const rule of ing.spec.rules) {
        for (const p of rule.http.paths) {
          const svc = objects.find(o => o.kind === 'Service' && o.metadata.name === p.backend.service.name);
          expect(svc).toBeDefined();
          expect(svc.spec.ports.map((sp: any) => sp.port)).toContain(p.backend.service.port.number);
        }
      }
    }
  });

  test('no Secret is created and no env var carries a literal secret', () => {
    expect(objects.filter(o => o.kind === 'Secret')).toEqual([]);
    for (const w of workloads(objects)) {
      for (const c of podTemplate(w).spec.containers) {
        for (const e of c.env ?? []) expect(e.name).not.toMatch(/PASSWORD$|_KEY$|_SALT$/);
      }
    }
  });

  test('PersistentVolumeClaims are annotated so no deployment tool deletes them', () => {
    for (const pvc of objects.filter(o => o.kind === 'PersistentVolumeClaim')) {
      expect(pvc.metadata.annotations).toMatchObject({
        'helm.sh/resource-policy': 'keep',
        'argocd.argoproj.io/sync-options': 'Prune=false,Delete=false',
        'kustomize.toolkit.fluxcd.io/prune': 'disabled',
      });
    }
  });

  test('cluster-scoped objects carry no namespace; namespaced ones carry the site namespace', () => {
    const ns = objects.find(o => o.kind === 'Namespace');
    for (const o of objects) {
      if (o.kind === 'Namespace' || o.kind === 'PersistentVolume') expect(o.metadata.namespace).toBeUndefined();
      else expect([o.kind, o.metadata.namespace]).toEqual([o.kind, ns.metadata.name]);
    }
  });
});

test('snapshot of the example chart (config/prod.yaml, site blog)', () => {
  expect(SITES.find(s => s.label === 'prod/blog')!.objects).toMatchSnapshot();
});

test('a deliberately broken object fails schema validation', () => {
  const deployment = siteObjects().find(o => o.kind === 'Deployment');
  deployment.spec.template.spec.containers[0].imagePullPolicyy = 'Always';
  expect(validateManifest(deployment).join('\n')).toMatch(/imagePullPolicyy/);
});

describe('names are stable', () => {
  const claimNames = (objects: any[]) => objects.filter(o => o.kind === 'PersistentVolumeClaim').map(o => o.metadata.name).sort();
  const namesOf = (objects: any[]) => objects.map(o => `${o.kind}/${o.metadata.name}`).sort();

  test('adding unrelated charts and constructs beside or above a site does not rename anything', () => {
    const alone = siteObjects();
    const app = Testing.app();
    new Chart(app, 'aaa-before');
    const chart = new WordPressChart(new Construct(new Construct(app, 'Outer'), 'Inner'), 'blog', { site: MINIMAL_SITE });
    new Chart(app, 'zzz-after');
    chart.storage.addClaim('extra', { name: 'x', component: 'y' }, { size: Size.gibibytes(1) });
    new StorageClaims(new Chart(app, 'other', { namespace: 'other' }), 'Storage');
    const crowded = chart.toJson();
    expect(claimNames(crowded)).toEqual(['extra', ...claimNames(alone)].sort());
    expect(namesOf(crowded)).toEqual([...namesOf(alone), 'PersistentVolumeClaim/extra'].sort());
  });

  test('claim names do not depend on construct nesting', () => {
    const render = (nest: (c: Chart) => Construct) => {
      const chart = new Chart(Testing.app(), 'site', { namespace: 'site' });
      const storage = new StorageClaims(nest(chart), 'AnyId', {});
      storage.addClaim('uploads', { name: 'wordpress', component: 'uploads' }, { source: ClaimSource.dynamic() });
      return claimNames(chart.toJson());
    };
    const flat = render(c => c);
    expect(flat).toEqual(['uploads', 'wordpress-content']);
    expect(render(c => new Construct(new Construct(c, 'Deep'), 'Deeper'))).toEqual(flat);
  });
});
