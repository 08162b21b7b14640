import * as fs from 'fs';
import * as path from 'path';
import { ApiObject, App, Chart, IResolver, Lazy, ResolutionContext } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { k8s } from 'cdk8s-plus-27';
import { WordPressChart } from '../lib/chart/wordpress-chart';
import { SiteConfig } from '../lib/config/schema';
import { DIRECTLY_RESOLVED_KINDS, RENAMED_PROPERTIES, resolvingDirectly } from '../lib/k8s/resolve-directly';
import { emitYaml } from '../lib/render/yaml-emitter';
import { REPO, SITE_VARIANTS, exampleEnvironments } from './support/fixtures';

// WordPressChart.toJson() resolves tokens through resolvingDirectly; cdk8s's own path is a plain
// Chart's toJson() over the same constructs. Both must give the same bytes for every kind.

/** Everything a site can render at once: deployer, restore Job, static NFS volume, TLS Ingress. */
const EVERYTHING: SiteConfig = {
  wordpress: { content: { nfs: { server: 'nfs.example.internal', path: '/exports/blog' } } },
  backup: { restore: { file: 'wordpress-20250131T031700Z.sql.gz' } },
  security: { deployer: { enabled: true, readSecrets: true }, allowInternetEgress: true },
  exposure: { host: 'blog.example.com', path: '/blog', tls: { issuer: 'letsencrypt-prod' } },
};

const SITES: Array<[string, SiteConfig]> = [
  ['everything', EVERYTHING],
  ...Object.entries(SITE_VARIANTS),
  ...exampleEnvironments().flatMap(env => Object.entries(env.sites).map(([name, site]): [string, SiteConfig] => [`${env.name}-${name}`, site])),
];

/** A resolver that changes nothing: an App holding it is resolved by cdk8s's own walk. */
const NO_OP: IResolver = { resolve: () => undefined };

/**
 * A site as cdk8s resolves it: the same chart, with everything WordPressChart.toJson() does on top
 * of cdk8s (each object rendered once, platform changes to pods), in an App whose extra no-op
 * resolver sends every object through cdk8s's own `resolve`.
 */
const byCdk8s = (name: string, site: SiteConfig): any[] => new WordPressChart(new App({ outdir: 'unused', resolvers: [NO_OP] }), name, { site }).toJson();

test.each(SITES)('%s: the same bytes as cdk8s\'s own token resolution', (name, site) => {
  const ours = new WordPressChart(new App({ outdir: 'unused' }), name, { site }).toJson();
  const theirs = byCdk8s(name, site);
  expect(emitYaml(...ours)).toBe(emitYaml(...theirs));
  expect(JSON.stringify(ours)).toBe(JSON.stringify(theirs));
});

test('the charts resolve no object through cdk8s\'s own walk', () => {
  const cdk8sResolve = require('cdk8s/lib/resolve');
  const original = cdk8sResolve.resolve;
  let calls = 0;
  cdk8sResolve.resolve = (...args: unknown[]) => {
    calls++;
    return original(...args);
  };
  try {
    new WordPressChart(new App({ outdir: 'unused' }), 'everything', { site: EVERYTHING }).toJson();
    expect(calls).toBe(0);
    byCdk8s('everything', EVERYTHING);
    expect(calls).toBeGreaterThan(20);
  } finally {
    cdk8sResolve.resolve = original;
  }
});

test('the kinds resolved directly are exactly those the charts emit', () => {
  const kinds = new Set(SITES.flatMap(([name, site]) => new WordPressChart(new App({ outdir: 'unused' }), name, { site }).toJson().map(o => o.kind)));
  expect([...kinds].sort()).toEqual([...DIRECTLY_RESOLVED_KINDS].sort());
});

describe('what the direct walk leaves to cdk8s', () => {
  const render = (app: App) => {
    const chart = new Chart(app, 'c');
    new kplus.ConfigMap(chart, 'cm', { data: { a: 'b' } });
    // A kind outside the list, holding a Lazy: resolved by cdk8s.
    new ApiObject(chart, 'custom', { apiVersion: 'example.com/v1', kind: 'Widget', spec: { size: Lazy.any({ produce: () => 3 }) } });
    return resolvingDirectly(() => chart.toJson());
  };

  test('an App with a resolver of its own is resolved by cdk8s, resolver included', () => {
    const seen: string[] = [];
    const upper: IResolver = {
      resolve(context: ResolutionContext) {
        seen.push(context.key.join('.'));
        if (context.value === 'b') context.replaceValue('B');
      },
    };
    const objects = render(new App({ outdir: 'unused', resolvers: [upper] }));
    expect(objects.map(o => o.data ?? o.spec)).toEqual([{ a: 'B' }, { size: 3 }]);
    expect(seen).toContain('data.a');
  });

  test('other kinds, and everything after the render, go through cdk8s as before', () => {
    const cdk8sResolve = require('cdk8s/lib/resolve');
    const before = cdk8sResolve.resolve;
    const objects = render(new App({ outdir: 'unused' }));
    expect(objects.map(o => o.data ?? o.spec)).toEqual([{ a: 'b' }, { size: 3 }]);
    expect(cdk8sResolve.resolve).toBe(before);
  });
});

describe('the generated classes\' mappers', () => {
  const GENERATED = [path.join(REPO, 'node_modules', 'cdk8s-plus-27', 'lib', 'imports', 'k8s.js'),
    ...fs.readdirSync(path.join(REPO, 'imports')).filter(f => f.endsWith('.ts')).map(f => path.join(REPO, 'imports', f))];
  /** Every `toJson_*` mapper: its name and its `[json name, property]` pairs in the order it writes them. */
  const mappers = () => GENERATED.flatMap(file => [...fs.readFileSync(file, 'utf8').matchAll(/function (toJson_\w+)\(obj[^)]*\)[^{]*\{[\s\S]*?const result = \{([\s\S]*?)\n\s*\};/g)]
    .map(([, name, body]) => ({ name, fields: [...body.matchAll(/^\s*'([^']+)': (?:\(\()?obj\.([A-Za-z0-9_$]+)/gm)].map(([, json, prop]) => [json, prop]) })));

  test('RENAMED_PROPERTIES is every property a mapper writes under another name', () => {
    const all = mappers();
    expect(all.length).toBeGreaterThan(900);
    const renamed = new Set(all.flatMap(m => m.fields.filter(([json, prop]) => json !== prop).map(([, prop]) => prop)));
    expect([...RENAMED_PROPERTIES].sort()).toEqual([...renamed].sort());
  });

  test('each mapper writes its fields in sorted order (metadata first), the order the walk leaves them, unless it renames one', () => {
    const unsorted = mappers().filter(({ name, fields }) => {
      const props = fields.map(([, prop]) => prop).filter((p, i) => !(i === 0 && p === 'metadata' && name.endsWith('Props')));
      return props.join() !== [...props].sort().join() && !props.some(p => RENAMED_PROPERTIES.has(p));
    });
    expect(unsorted.map(m => m.name)).toEqual([]);
  });

  test('an object holding a renamed property goes through its mappers; the others do not, with the same bytes', () => {
    const build = (app: App) => {
      const chart = new Chart(app, 'c');
      new k8s.KubeService(chart, 'svc', { metadata: { name: 'db' }, spec: { clusterIp: 'None', ports: [{ port: 3306, targetPort: k8s.IntOrString.fromString('mysql') }] } });
      new k8s.KubePersistentVolumeClaim(chart, 'pvc', { metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: k8s.Quantity.fromString('1Gi') } } } });
      return chart;
    };
    const theirs = build(new App({ outdir: 'unused' })).toJson();
    const chart = build(new App({ outdir: 'unused' }));
    const service = jest.spyOn(k8s.KubeService.prototype, 'toJson');
    const claim = jest.spyOn(k8s.KubePersistentVolumeClaim.prototype, 'toJson');
    try {
      const ours = resolvingDirectly(() => chart.toJson(), chart);
      expect(JSON.stringify(ours)).toBe(JSON.stringify(theirs));
      expect(ours[0].spec).toEqual({ clusterIP: 'None', ports: [{ port: 3306, targetPort: 'mysql' }] });
      expect(ours[1].spec.resources).toEqual({ requests: { storage: '1Gi' } });
      expect([service.mock.calls.length, claim.mock.calls.length]).toEqual([1, 0]);
    } finally {
      service.mockRestore();
      claim.mockRestore();
    }
  });
});
