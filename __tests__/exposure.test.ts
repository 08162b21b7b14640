// The ways in (Ingress, Gateway API HTTPRoute, OpenShift Route), their TLS modes, and canaries split
// by ingress-nginx, a Gateway, the OpenShift router or Istio. NetworkPolicies of every mode are
// evaluated in security.test.ts; every object's schema (CRDs included) in chart/security tests too.
import { Testing } from 'cdk8s';
import { SiteConfig } from '../lib/config/schema';
import { GatewayRoute } from '../lib/constructs/gateway-route';
import { ExposureType, IngressRule, TlsMode } from '../lib/constructs/ingress-rule';
import { OpenShiftRoute } from '../lib/constructs/openshift-route';
import { CANARY_CONFIG_EXTRA, DISABLE_WP_CRON } from '../lib/constructs/wordpress-app';
import { WordPressChart } from '../lib/chart/wordpress-chart';
import { podTemplate, siteObjects } from './support/fixtures';
import { crdSchemas, validateManifest, validateManifests } from './support/k8s-schema';

const NEXT = 'wordpress:6.9-php8.3-apache';
const GATEWAY = { name: 'public', namespace: 'gateway-system', sectionName: 'https' };
const ofKind = (objects: any[], kind: string) => objects.filter(o => o.kind === kind);
const named = (objects: any[], kind: string, name: string) => objects.find(o => o.kind === kind && o.metadata.name === name);
const selects = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels?.[k] === v);

/** Every way in and TLS mode, without a canary. */
const MODES: Record<string, SiteConfig> = {
  'ingress, edge': { exposure: { host: 'a.example.com', tls: { secretName: 'a-tls' } } },
  'ingress, reencrypt': { exposure: { host: 'a.example.com', tls: { mode: 'reencrypt', issuer: 'le', backendSecret: 'a-backend' } } },
  'ingress, passthrough': { exposure: { host: 'a.example.com', tls: { mode: 'passthrough', backendSecret: 'a-tls' } } },
  'ingress in Istio': { exposure: { host: 'a.example.com', mesh: 'istio', tls: { secretName: 'a-tls' } } },
  'gateway': { exposure: { type: 'gateway', host: 'a.example.com', path: '/blog', gateway: GATEWAY } },
  'gateway with redirect': { exposure: { type: 'gateway', host: 'a.example.com', gateway: { ...GATEWAY, redirect: { sectionName: 'http' } } } },
  'route, edge': { exposure: { type: 'route', host: 'a.apps.example.com', path: '/blog', tls: { secretName: 'a-tls' } } },
  'route, reencrypt': { exposure: { type: 'route', host: 'a.apps.example.com', tls: { mode: 'reencrypt' } } },
  'route, passthrough': { exposure: { type: 'route', host: 'a.apps.example.com', tls: { mode: 'passthrough', backendSecret: 'a-tls' } } },
};

/** Every way a canary is split, at weight w. */
const CANARY_MODES: Record<string, (w: number) => SiteConfig> = {
  'ingress-nginx': w => ({ wordpress: { canary: { image: NEXT, weight: w } }, exposure: { host: 'c.example.com' } }),
  'ingress-nginx, reencrypt': w => ({
    wordpress: { canary: { image: NEXT, weight: w } },
    exposure: { host: 'c.example.com', path: '/shop', tls: { mode: 'reencrypt', secretName: 'c-tls', backendSecret: 'c-backend' } },
  }),
  'gateway': w => ({ wordpress: { canary: { image: NEXT, weight: w } }, exposure: { type: 'gateway', host: 'c.example.com', gateway: GATEWAY } }),
  'route': w => ({ wordpress: { canary: { image: NEXT, weight: w } }, exposure: { type: 'route', host: 'c.apps.example.com' } }),
  'route, passthrough': w => ({
    wordpress: { canary: { image: NEXT, weight: w } },
    exposure: { type: 'route', host: 'c.apps.example.com', tls: { mode: 'passthrough', backendSecret: 'c-tls' } },
  }),
  'istio': w => ({ wordpress: { canary: { image: NEXT, weight: w } }, exposure: { host: 'c.example.com', mesh: 'istio' } }),
};

/** [stable weight, canary weight] as rendered, whatever splits the traffic. */
function weights(objects: any[]): [number, number] {
  const vs = ofKind(objects, 'VirtualService')[0];
  if (vs) {
    const split = vs.spec.http.find((h: any) => h.route.length === 2).route;
    return [split.find((r: any) => r.destination.subset === 'stable').weight, split.find((r: any) => r.destination.subset === 'canary').weight];
  }
  const http = named(objects, 'HTTPRoute', 'wordpress');
  if (http) {
    const refs = http.spec.rules.find((r: any) => r.backendRefs.length === 2).backendRefs;
    return [refs.find((b: any) => b.name === 'wordpress').weight, refs.find((b: any) => b.name === 'wordpress-canary').weight];
  }
  const route = named(objects, 'Route', 'wordpress');
  if (route) {
    expect(route.spec.alternateBackends).toHaveLength(1);
    expect(route.spec.alternateBackends[0].name).toBe('wordpress-canary');
    return [route.spec.to.weight, route.spec.alternateBackends[0].weight];
  }
  // ingress-nginx: the main Ingress takes what the canary Ingress does not.
  const canary = named(objects, 'Ingress', 'wordpress-canary');
  expect(canary.metadata.annotations['nginx.ingress.kubernetes.io/canary']).toBe('true');
  const w = Number(canary.metadata.annotations['nginx.ingress.kubernetes.io/canary-weight']);
  const total = Number(canary.metadata.annotations['nginx.ingress.kubernetes.io/canary-weight-total'] ?? 100);
  return [total - w, w];
}

/** Which backends (Service names or Istio subsets) get requests for the upgrade page. */
function upgradeTargets(objects: any[], sitePath: string): string[] {
  const page = `${sitePath.replace(/\/$/, '')}/wp-admin/upgrade.php`;
  const vs = ofKind(objects, 'VirtualService')[0];
  if (vs) {
    // First match wins.
    const rule = vs.spec.http.find((h: any) => !h.match || h.match.some((m: any) => m.uri?.exact === page || (m.uri?.prefix && page.startsWith(m.uri.prefix))));
    return rule.route.filter((r: any) => r.weight === undefined || r.weight > 0).map((r: any) => r.destination.subset);
  }
  const http = named(objects, 'HTTPRoute', 'wordpress');
  if (http) {
    // Gateway API: an Exact match beats any prefix.
    const exact = http.spec.rules.find((r: any) => r.matches.some((m: any) => m.path.type === 'Exact' && m.path.value === page));
    const rule = exact ?? http.spec.rules.find((r: any) => r.matches.some((m: any) => page.startsWith(m.path.value)));
    return rule.backendRefs.filter((b: any) => b.weight === undefined || b.weight > 0).map((b: any) => b.name);
  }
  const routes = ofKind(objects, 'Route');
  if (routes.length) {
    // The router picks the longest path that matches.
    const route = routes.filter(r => page.startsWith(r.spec.path ?? '/')).sort((a, b) => (b.spec.path ?? '').length - (a.spec.path ?? '').length)[0];
    return [route.spec.to, ...route.spec.alternateBackends ?? []].filter((b: any) => b.weight > 0).map((b: any) => b.name);
  }
  // ingress-nginx: a canary only joins the locations (host + path) its own Ingress has.
  const main = named(objects, 'Ingress', 'wordpress');
  const canary = named(objects, 'Ingress', 'wordpress-canary');
  const location = main.spec.rules[0].http.paths.find((p: any) => p.pathType === 'Exact' && p.path === page)
    ?? main.spec.rules[0].http.paths.find((p: any) => page.startsWith(p.path));
  const canaryHas = canary.spec.rules[0].http.paths.some((p: any) => p.path === location.path && p.pathType === location.pathType);
  return [location.backend.service.name, ...(canaryHas && Number(canary.metadata.annotations['nginx.ingress.kubernetes.io/canary-weight']) > 0 ? ['wordpress-canary'] : [])];
}

describe.each(Object.entries({ ...MODES, ...Object.fromEntries(Object.entries(CANARY_MODES).map(([k, f]) => [`canary via ${k}`, f(10)])) }))('%s', (_, site) => {
  const objects = siteObjects(site);

  test('every object validates (Kubernetes 1.27, CRDs from the shared crds/ folder)', () => {
    expect(validateManifests(objects)).toEqual([]);
  });

  test('every backend reference is an existing Service and one of its ports', () => {
    const ns = ofKind(objects, 'Namespace')[0].metadata.name;
    const service = (name: string) => {
      const svc = named(objects, 'Service', name);
      expect([name, svc !== undefined]).toEqual([name, true]);
      return svc;
    };
    const refs: string[] = [];
    for (const ing of ofKind(objects, 'Ingress')) {
      for (const p of ing.spec.rules[0].http.paths) {
        expect(service(p.backend.service.name).spec.ports.map((x: any) => x.port)).toContain(p.backend.service.port.number);
        refs.push(p.backend.service.name);
      }
    }
    for (const r of ofKind(objects, 'HTTPRoute')) {
      for (const b of r.spec.rules.flatMap((x: any) => x.backendRefs ?? [])) {
        expect([b.group, b.kind]).toEqual(['', 'Service']);
        expect(service(b.name).spec.ports.map((x: any) => x.port)).toContain(b.port);
        refs.push(b.name);
      }
    }
    for (const r of ofKind(objects, 'Route')) {
      for (const b of [r.spec.to, ...r.spec.alternateBackends ?? []]) {
        // targetPort names the pods' port behind the Service.
        expect(service(b.name).spec.ports.map((x: any) => x.targetPort)).toContain(r.spec.port.targetPort);
        refs.push(b.name);
      }
    }
    for (const vs of ofKind(objects, 'VirtualService')) {
      for (const d of vs.spec.http.flatMap((h: any) => h.route.map((x: any) => x.destination))) {
        const [name, dnsNs] = d.host.split('.');
        expect(d.host).toBe(`${name}.${ns}.svc.cluster.local`);
        expect([dnsNs, service(name).spec.ports.map((x: any) => x.port)]).toEqual([ns, expect.arrayContaining([d.port.number])]);
        refs.push(name);
      }
    }
    for (const dr of ofKind(objects, 'DestinationRule')) {
      const svc = service(dr.spec.host.split('.')[0]);
      // Each subset is a set of pods behind that Service: exactly one Deployment's.
      for (const subset of dr.spec.subsets) {
        const pods = ofKind(objects, 'Deployment').filter(d => selects(svc.spec.selector, podTemplate(d).metadata.labels) && selects(subset.labels, podTemplate(d).metadata.labels));
        expect([subset.name, pods.map(d => d.metadata.name)]).toEqual([subset.name, [subset.name === 'stable' ? 'wordpress' : 'wordpress-canary']]);
      }
    }
    expect(refs.length).toBeGreaterThan(0);
  });

  test('the site\'s host name is routed, and nothing else', () => {
    const host = site.exposure!.host!;
    const hosts = [
      ...ofKind(objects, 'Ingress').flatMap(i => i.spec.rules.map((r: any) => r.host)),
      ...ofKind(objects, 'HTTPRoute').flatMap(r => r.spec.hostnames),
      ...ofKind(objects, 'Route').map(r => r.spec.host),
    ];
    expect(new Set(hosts)).toEqual(new Set([host]));
  });
});

describe('CRD objects are checked against the CRD schema, unknown fields rejected', () => {
  const gateway = siteObjects(CANARY_MODES.gateway(10));
  const route = siteObjects(CANARY_MODES.route(10));
  const istio = siteObjects(CANARY_MODES.istio(10));

  test('the shared crds/ folder provides the schemas of the four kinds rendered', () => {
    const kinds = [...crdSchemas().keys()];
    for (const k of ['gateway.networking.k8s.io/v1 HTTPRoute', 'route.openshift.io/v1 Route', 'networking.istio.io/v1 VirtualService', 'networking.istio.io/v1 DestinationRule']) {
      expect(kinds).toContain(k);
    }
  });

  test.each([
    ['HTTPRoute: unknown field in a rule', () => { const o = structuredClone(named(gateway, 'HTTPRoute', 'wordpress')); o.spec.rules[0].timeoutz = '5s'; return o; }, /\/spec\/rules\/0\/timeoutz: must NOT have additional properties/],
    ['HTTPRoute: unknown top-level spec field', () => { const o = structuredClone(named(gateway, 'HTTPRoute', 'wordpress')); o.spec.hostname = 'x'; return o; }, /\/spec\/hostname: must NOT have additional properties/],
    ['HTTPRoute: weight out of range', () => { const o = structuredClone(named(gateway, 'HTTPRoute', 'wordpress')); o.spec.rules[1].backendRefs[0].weight = 2000000; return o; }, /weight: must be <= 1000000/],
    ['HTTPRoute: unknown path match type', () => { const o = structuredClone(named(gateway, 'HTTPRoute', 'wordpress')); o.spec.rules[0].matches[0].path.type = 'Prefix'; return o; }, /path\/type: must be equal to one of the allowed values/],
    ['Route: unknown TLS field', () => { const o = structuredClone(named(route, 'Route', 'wordpress')); o.spec.tls.redirect = true; return o; }, /\/spec\/tls\/redirect: must NOT have additional properties/],
    ['Route: termination in capitals', () => { const o = structuredClone(named(route, 'Route', 'wordpress')); o.spec.tls.termination = 'Edge'; return o; }, /termination: must be equal to one of the allowed values/],
    ['Route: metadata checked as ObjectMeta', () => { const o = structuredClone(named(route, 'Route', 'wordpress')); o.metadata.label = {}; return o; }, /\/metadata\/label: must NOT have additional properties/],
    ['VirtualService: unknown route field', () => { const o = structuredClone(ofKind(istio, 'VirtualService')[0]); o.spec.http[1].route[0].percent = 90; return o; }, /route\/0\/percent: must NOT have additional properties/],
    ['DestinationRule: subset without a name', () => { const o = structuredClone(ofKind(istio, 'DestinationRule')[0]); delete o.spec.subsets[0].name; return o; }, /subsets\/0: must have required property 'name'/],
  ])('%s', (_, broken, message) => {
    expect(validateManifest(broken()).join('\n')).toMatch(message);
  });
});

describe('canary weights', () => {
  describe.each(Object.entries(CANARY_MODES))('via %s', (_, site) => {
    test.each([0, 1, 10, 20, 50, 99, 100])('weight %p renders %p for the canary and the rest for stable, summing to 100', w => {
      const objects = siteObjects(site(w));
      expect(validateManifests(objects)).toEqual([]);
      const [stable, canary] = weights(objects);
      expect([stable, canary, stable + canary]).toEqual([100 - w, w, 100]);
    });

    test('the database upgrade page goes to the stable track only, at any weight', () => {
      for (const w of [1, 50, 100]) {
        const config = site(w);
        const objects = siteObjects(config);
        const targets = upgradeTargets(objects, config.exposure?.path ?? '/');
        // Passthrough: the router cannot see the path, and Apache in the canary pods refuses the page.
        if (config.exposure?.tls?.mode === 'passthrough') continue;
        expect([w, targets]).toEqual([w, [ofKind(objects, 'VirtualService').length ? 'stable' : 'wordpress']]);
      }
    });

    test('stable and canary selectors never select each other\'s pods; the stable Deployment is the same with or without a canary', () => {
      const objects = siteObjects(site(10));
      const stable = named(objects, 'Deployment', 'wordpress');
      const canary = named(objects, 'Deployment', 'wordpress-canary');
      expect(selects(stable.spec.selector.matchLabels, podTemplate(canary).metadata.labels)).toBe(false);
      expect(selects(canary.spec.selector.matchLabels, podTemplate(stable).metadata.labels)).toBe(false);
      expect(podTemplate(stable).metadata.labels.track).toBe('stable');
      expect(podTemplate(canary).metadata.labels.track).toBe('canary');
      for (const pdb of ofKind(objects, 'PodDisruptionBudget')) {
        const matching = ofKind(objects, 'Deployment').filter(d => selects(pdb.spec.selector.matchLabels, podTemplate(d).metadata.labels));
        expect([pdb.metadata.name, matching.map(d => d.metadata.name)]).toEqual([pdb.metadata.name, [pdb.metadata.name]]);
      }
      // Starting, moving and ending the canary never touches the stable Deployment (rollback = weight 0).
      const { canary: _, ...withoutCanary } = site(10).wordpress!;
      for (const other of [siteObjects(site(0)), siteObjects(site(100)), siteObjects({ ...site(10), wordpress: withoutCanary })]) {
        expect(named(other, 'Deployment', 'wordpress')).toEqual(stable);
      }
    });
  });

  test('the canary shares content and database, has its own PDB, probes and ServiceAccount, and runs no database upgrade', () => {
    const objects = siteObjects(CANARY_MODES['ingress-nginx'](10));
    const [stable, canary] = ['wordpress', 'wordpress-canary'].map(n => podTemplate(named(objects, 'Deployment', n)).spec);
    const volume = (spec: any, name: string) => spec.volumes.find((v: any) => v.name === name);
    expect(volume(canary, 'content')).toEqual(volume(stable, 'content'));
    const env = (spec: any) => Object.fromEntries(spec.containers[0].env.map((e: any) => [e.name, e.value]));
    expect(env(canary).WORDPRESS_DB_HOST).toBe(env(stable).WORDPRESS_DB_HOST);
    // Both tracks leave WP-Cron to the CronJob; only the canary is kept from upgrading anything.
    expect(env(canary).WORDPRESS_CONFIG_EXTRA).toBe(`${CANARY_CONFIG_EXTRA} ${DISABLE_WP_CRON}`);
    expect(env(stable).WORDPRESS_CONFIG_EXTRA).toBe(DISABLE_WP_CRON);
    expect(canary.containers[0].image).toBe(NEXT);
    for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) expect(canary.containers[0][probe]).toEqual(stable.containers[0][probe]);
    expect(canary.serviceAccountName).toBe('wordpress-canary');
    expect(named(objects, 'PodDisruptionBudget', 'wordpress-canary').spec.maxUnavailable).toBe(1);
    // Apache in the canary pods refuses the upgrade page, whatever routes a request there.
    const apache = named(objects, 'ConfigMap', 'wordpress-canary-apache').data['zz-cdk8s.conf'];
    expect(apache).toContain('<LocationMatch "/wp-admin/upgrade\\.php$">\n  Require all denied\n</LocationMatch>');
    expect(canary.containers[0].volumeMounts).toContainEqual({ name: 'apache-config', mountPath: '/etc/apache2/conf-enabled/zz-cdk8s.conf', subPath: 'zz-cdk8s.conf', readOnly: true });
    expect(named(objects, 'ConfigMap', 'wordpress-apache')).toBeUndefined();
    // Both tracks are database clients (beside the backup).
    const dbPolicy = named(objects, 'NetworkPolicy', 'allow-mariadb-clients');
    expect(dbPolicy.spec.ingress[0].from.map((f: any) => f.podSelector.matchLabels['app.kubernetes.io/component'])).toEqual(['backup', 'web', 'web-canary']);
  });

  test('replicas of the canary are its own', () => {
    const objects = siteObjects({ wordpress: { replicas: 3, canary: { image: NEXT, weight: 5, replicas: 2 } }, exposure: { host: 'c.example.com' } });
    expect([named(objects, 'Deployment', 'wordpress').spec.replicas, named(objects, 'Deployment', 'wordpress-canary').spec.replicas]).toEqual([3, 2]);
  });
});

describe('Istio', () => {
  const objects = siteObjects(CANARY_MODES.istio(10));

  test('the namespace is labelled for injection; only the web pods get a sidecar, sized for the quota', () => {
    const [ns] = ofKind(objects, 'Namespace');
    expect(ns.metadata.labels['istio-injection']).toBe('enabled');
    for (const w of objects.filter(o => podTemplate(o))) {
      const t = podTemplate(w);
      const web = ['web', 'web-canary'].includes(t.metadata.labels['app.kubernetes.io/component']);
      expect([w.metadata.name, t.metadata.labels['sidecar.istio.io/inject']]).toEqual([w.metadata.name, web ? undefined : 'false']);
      if (web) {
        expect(t.metadata.annotations).toMatchObject({
          'sidecar.istio.io/proxyCPU': '100m', 'sidecar.istio.io/proxyCPULimit': '500m',
          'sidecar.istio.io/proxyMemory': '128Mi', 'sidecar.istio.io/proxyMemoryLimit': '128Mi',
        });
      }
    }
  });

  test('ingress-nginx sends to the Service address with its cluster name, so the VirtualService applies', () => {
    const ing = named(objects, 'Ingress', 'wordpress');
    expect(ing.metadata.annotations).toMatchObject({
      'nginx.ingress.kubernetes.io/service-upstream': 'true',
      'nginx.ingress.kubernetes.io/upstream-vhost': 'wordpress.blog.svc.cluster.local',
    });
    expect(named(objects, 'Ingress', 'wordpress-canary')).toBeUndefined();
    expect(ofKind(objects, 'VirtualService')[0].spec.hosts).toEqual(['wordpress.blog.svc.cluster.local']);
  });

  test('the Service spans both tracks; the subsets tell them apart by the track label', () => {
    const svc = named(objects, 'Service', 'wordpress');
    expect(svc.spec.selector).toEqual({ 'app.kubernetes.io/name': 'wordpress', 'app.kubernetes.io/instance': 'blog' });
    expect(ofKind(objects, 'DestinationRule')[0].spec.subsets).toEqual([{ name: 'stable', labels: { track: 'stable' } }, { name: 'canary', labels: { track: 'canary' } }]);
  });

  test('without a mesh nothing of Istio is rendered', () => {
    const plain = siteObjects(CANARY_MODES['ingress-nginx'](10));
    expect(JSON.stringify(plain)).not.toMatch(/istio/);
  });
});

describe('OpenShift Route', () => {
  test('edge: TLS at the router, plain HTTP redirected, HTTP to the pods, the site path kept', () => {
    const route = named(siteObjects(MODES['route, edge']), 'Route', 'wordpress');
    expect(route.spec).toEqual({
      host: 'a.apps.example.com', path: '/blog', port: { targetPort: 'http' },
      tls: { termination: 'edge', insecureEdgeTerminationPolicy: 'Redirect', externalCertificate: { name: 'a-tls' } },
      to: { kind: 'Service', name: 'wordpress', weight: 100 },
    });
  });

  test('reencrypt: to the pods\' HTTPS port, with a certificate OpenShift\'s service CA issues for the Service', () => {
    const objects = siteObjects(MODES['route, reencrypt']);
    expect(named(objects, 'Route', 'wordpress').spec).toMatchObject({ port: { targetPort: 'https' }, tls: { termination: 'reencrypt', insecureEdgeTerminationPolicy: 'Redirect' } });
    const svc = named(objects, 'Service', 'wordpress');
    expect(svc.metadata.annotations).toEqual({ 'service.beta.openshift.io/serving-cert-secret-name': 'wordpress-serving-cert' });
    expect(svc.spec.ports).toContainEqual({ name: 'https', port: 443, targetPort: 'https', protocol: 'TCP' });
    const spec = podTemplate(named(objects, 'Deployment', 'wordpress')).spec;
    expect(spec.volumes).toContainEqual(expect.objectContaining({ name: 'tls', secret: expect.objectContaining({ secretName: 'wordpress-serving-cert' }) }));
    expect(named(objects, 'NetworkPolicy', 'allow-wordpress-https').spec.ingress).toEqual([{
      from: [{ namespaceSelector: { matchLabels: { 'policy-group.network.openshift.io/ingress': '' } } }], ports: [{ protocol: 'TCP', port: 8443 }],
    }, {
      // WP-Cron calls the Service's plain HTTP port from inside the namespace.
      from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'wordpress-cron', 'app.kubernetes.io/instance': 'blog', 'app.kubernetes.io/component': 'cron' } } }],
      ports: [{ protocol: 'TCP', port: 80 }],
    }]);
  });

  test('passthrough: no path (the router sees only the TLS handshake), the pods present their own certificate', () => {
    const objects = siteObjects(MODES['route, passthrough']);
    const route = named(objects, 'Route', 'wordpress');
    expect(route.spec.path).toBeUndefined();
    expect(route.spec.tls).toEqual({ termination: 'passthrough', insecureEdgeTerminationPolicy: 'Redirect' });
    expect(named(objects, 'Service', 'wordpress').metadata.annotations).toBeUndefined();
  });

  test('the pods name no UID, GID or fsGroup (the restricted SCC assigns them) and stay restricted otherwise', () => {
    for (const config of [MODES['route, edge'], { ...MODES['ingress, edge'], security: { assignedUids: true } }]) {
      const objects = siteObjects(config);
      for (const w of objects.filter(o => podTemplate(o))) {
        const spec = podTemplate(w).spec;
        expect(spec.securityContext).toEqual(expect.objectContaining({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } }));
        expect(JSON.stringify(spec)).not.toMatch(/runAsUser|runAsGroup|fsGroup"/);
        for (const c of spec.containers) {
          expect(c.securityContext).toEqual(expect.objectContaining({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } }));
        }
      }
    }
    const fixed = podTemplate(named(siteObjects({ ...MODES['route, edge'], security: { assignedUids: false } }), 'Deployment', 'wordpress')).spec;
    expect(fixed.securityContext).toMatchObject({ runAsUser: 33, runAsGroup: 33, fsGroup: 33 });
  });
});

describe('Gateway API', () => {
  test('an HTTPRoute on the Gateway\'s listener for the host and path, and the redirect route on the HTTP listener', () => {
    const objects = siteObjects(MODES['gateway with redirect']);
    const [main, redirect] = ofKind(objects, 'HTTPRoute');
    expect(main.spec).toEqual({
      parentRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'public', namespace: 'gateway-system', sectionName: 'https' }],
      hostnames: ['a.example.com'],
      rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/' } }], backendRefs: [{ group: '', kind: 'Service', name: 'wordpress', port: 80 }] }],
    });
    expect(redirect.metadata.name).toBe('wordpress-redirect');
    expect(redirect.spec.parentRefs[0].sectionName).toBe('http');
    expect(redirect.spec.rules).toEqual([{ filters: [{ type: 'RequestRedirect', requestRedirect: { scheme: 'https', statusCode: 301 } }] }]);
    expect(ofKind(siteObjects(MODES.gateway), 'HTTPRoute').map(r => r.metadata.name)).toEqual(['wordpress']);
  });

  test('the NetworkPolicy source is the Gateway\'s namespace, or the configured gateway pods', () => {
    const policy = (config: SiteConfig) => named(siteObjects(config), 'NetworkPolicy', 'allow-wordpress-http').spec.ingress[0].from;
    expect(policy(MODES.gateway)).toEqual([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'gateway-system' } } }]);
    expect(policy({ ...MODES.gateway, security: { gateway: { namespaceSelector: { team: 'edge' }, podSelector: { 'gateway.networking.k8s.io/gateway-name': 'public' } } } }))
      .toEqual([{ namespaceSelector: { matchLabels: { team: 'edge' } }, podSelector: { matchLabels: { 'gateway.networking.k8s.io/gateway-name': 'public' } } }]);
  });
});

describe('Ingress TLS modes and controller annotations', () => {
  const ingress = (config: SiteConfig, name = 'wordpress') => named(siteObjects(config), 'Ingress', name);

  test('edge: only the cert-manager annotation; the TLS Secret on the Ingress', () => {
    const ing = ingress({ exposure: { host: 'a.example.com', tls: { issuer: 'le' } } });
    expect(ing.metadata.annotations).toEqual({ 'cert-manager.io/cluster-issuer': 'le' });
    expect(ing.spec.tls).toEqual([{ hosts: ['a.example.com'], secretName: 'wordpress-tls' }]);
  });

  test('reencrypt: backend-protocol HTTPS to the Service\'s HTTPS port, on the canary Ingress too', () => {
    const config = CANARY_MODES['ingress-nginx, reencrypt'](10);
    const ing = ingress(config);
    expect(ing.metadata.annotations['nginx.ingress.kubernetes.io/backend-protocol']).toBe('HTTPS');
    expect(ing.spec.rules[0].http.paths.map((p: any) => p.backend.service.port.number)).toEqual([443, 443]);
    expect(ingress(config, 'wordpress-canary').metadata.annotations).toEqual({
      'nginx.ingress.kubernetes.io/canary': 'true', 'nginx.ingress.kubernetes.io/canary-weight': '10', 'nginx.ingress.kubernetes.io/backend-protocol': 'HTTPS',
    });
  });

  test('passthrough: ssl-passthrough, no TLS section (the certificate is WordPress\'s), the HTTPS port', () => {
    const ing = ingress(MODES['ingress, passthrough']);
    expect(ing.metadata.annotations).toEqual({ 'nginx.ingress.kubernetes.io/ssl-passthrough': 'true' });
    expect(ing.spec.tls).toBeUndefined();
    expect(ing.spec.rules[0].http.paths[0].backend.service.port.number).toBe(443);
  });

  test('another controller class gets no ingress-nginx annotation', () => {
    const ing = ingress({ exposure: { host: 'a.example.com', ingressClassName: 'traefik', tls: { secretName: 'x' } } });
    expect(ing.metadata.annotations).toBeUndefined();
  });

  test('the HTTPS listener: Apache with mod_ssl on 8443 from the mounted Secret', () => {
    const objects = siteObjects(MODES['ingress, reencrypt']);
    const conf = named(objects, 'ConfigMap', 'wordpress-apache').data['zz-cdk8s.conf'];
    for (const line of ['LoadModule ssl_module /usr/lib/apache2/modules/mod_ssl.so', 'Listen 8443 https', '<VirtualHost *:8443>',
      'SSLCertificateFile /etc/wordpress-tls/tls.crt', 'SSLCertificateKeyFile /etc/wordpress-tls/tls.key']) expect(conf).toContain(line);
    const c = podTemplate(named(objects, 'Deployment', 'wordpress')).spec.containers[0];
    expect(c.ports).toContainEqual({ name: 'https', containerPort: 8443, protocol: 'TCP' });
    expect(c.volumeMounts).toContainEqual({ name: 'tls', mountPath: '/etc/wordpress-tls', readOnly: true });
  });
});

describe('constructs reject combinations that cannot work', () => {
  const backend = () => {
    const chart = new WordPressChart(Testing.app(), 'x', { site: { exposure: { host: 'x.example.com' } } });
    return { chart, backend: chart.wordpress };
  };
  test.each([
    ['passthrough with a path', () => { const b = backend(); new IngressRule(b.chart, 'I', { backend: { ...b.backend, serviceName: b.backend.serviceName, servicePort: 80, selectorLabels: {}, identity: b.backend.identity, httpsServicePort: 443 }, host: 'a.b', path: '/x', tlsMode: TlsMode.PASSTHROUGH }); },
      /path is "\/x" but passthrough routes by host name only/],
    ['reencrypt without an HTTPS backend', () => { const b = backend(); new IngressRule(b.chart, 'I', { backend: b.backend, host: 'a.b', tlsMode: TlsMode.REENCRYPT }); },
      /tlsMode reencrypt needs a backend that serves HTTPS/],
    ['a canary behind another controller', () => { const b = backend(); new IngressRule(b.chart, 'I', { backend: b.backend, host: 'a.b', ingressClassName: 'traefik', canary: { backend: b.backend, weight: 5 } }); },
      /a canary needs ingress-nginx annotations, but the controller is other/],
    ['a canary weight of 101', () => { const b = backend(); new GatewayRoute(b.chart, 'G', { backend: b.backend, host: 'a.b', gateway: GATEWAY, canary: { backend: b.backend, weight: 101 } }); },
      /canary weight is 101; use a whole number from 0 to 100/],
    ['a redirect on the served listener', () => { const b = backend(); new GatewayRoute(b.chart, 'G', { backend: b.backend, host: 'a.b', gateway: GATEWAY, redirectSectionName: 'https' }); },
      /redirectSectionName "https" is the listener the site itself is served on/],
    ['a Route passing through on a path', () => { const b = backend(); new OpenShiftRoute(b.chart, 'R', { backend: { ...b.backend, serviceName: 'wordpress', servicePort: 80, selectorLabels: {}, identity: b.backend.identity, httpsServicePort: 443 }, host: 'a.b', path: '/x', tlsMode: TlsMode.PASSTHROUGH }); },
      /OpenShiftRoute: path is "\/x" but passthrough/],
    ['a canary on a NodePort', () => { const b = backend(); new IngressRule(b.chart, 'I', { backend: b.backend, type: ExposureType.NODE_PORT, canary: { backend: b.backend, weight: 5 } }); },
      /canary\/meshUpstream need an Ingress, not a nodePort Service/],
    ['a canary with the stable image', () => new WordPressChart(Testing.app(), 'c', { site: { wordpress: { canary: { image: 'wordpress:6.8-php8.3-apache', weight: 1 } }, exposure: { host: 'c.example.com' } } }),
      /wordpress.canary.image "wordpress:6.8-php8.3-apache" is the stable image/],
  ])('%s', (_, build, message) => {
    expect(build).toThrow(message);
  });
});
