// imports/ is generated code (`cdk8s import` of the shared CRD files) and committed: it must be
// exactly what the import writes today, or a CRD file changed without `npm run import`.
import * as fs from 'fs';
import * as path from 'path';
import { importCrds, importSpecs } from '../scripts/import-crds';
import { REPO, readTree, tempDir } from './support/fixtures';
import { CRD_DIR } from './support/k8s-schema';

const committed = () => Object.fromEntries(Object.entries(readTree(path.join(REPO, 'imports'))).filter(([f]) => f.endsWith('.ts')));

test('cdk8s.yaml imports the CRDs the exposure and monitoring constructs use, from the shared crds/ folder', () => {
  expect(importSpecs()).toEqual([
    '../shared/crds/route.openshift.io_routes.yaml',
    'httproutes:=../shared/crds/gateway.networking.k8s.io_httproutes.yaml',
    'virtualservices:=../shared/crds/networking.istio.io_virtualservices.yaml',
    'destinationrules:=../shared/crds/networking.istio.io_destinationrules.yaml',
    'servicemonitors:=../shared/crds/monitoring.coreos.com_servicemonitors.yaml',
    'prometheusrules:=../shared/crds/monitoring.coreos.com_prometheusrules.yaml',
  ]);
  for (const spec of importSpecs()) expect(fs.existsSync(path.resolve(REPO, spec.split(':=').pop()!))).toBe(true);
  expect(path.resolve(REPO, '../shared/crds')).toBe(CRD_DIR);
});

test('imports/ is byte for byte what `cdk8s import` generates from the CRD files now', () => {
  const out = tempDir('cdk8s-imports-');
  try {
    const written = importCrds(out.dir);
    expect(written).toEqual(Object.keys(committed()).sort());
    const fresh = readTree(out.dir);
    for (const [file, content] of Object.entries(committed())) {
      // Not toEqual on the whole tree: a 500 kB diff would drown the file name.
      expect([file, fresh[file] === content]).toEqual([file, true]);
    }
  } finally {
    out.cleanup();
  }
}, 180_000);

test('the staleness check notices a changed CRD: a field added to the schema changes the generated code', () => {
  const out = tempDir('cdk8s-imports-changed-');
  try {
    const crd = fs.readFileSync(path.join(CRD_DIR, 'route.openshift.io_routes.yaml'), 'utf8');
    const changed = crd.replace(/\n(\s+)subdomain:\n/, '\n$1zzNewField:\n$1  type: string\n$1  description: added\n$1subdomain:\n');
    expect(changed).not.toBe(crd);
    fs.writeFileSync(path.join(out.dir, 'routes.yaml'), changed);
    const { execFileSync } = require('child_process') as typeof import('child_process');
    execFileSync(path.join(REPO, 'node_modules', '.bin', 'cdk8s'), ['import', 'routes.yaml', '--language', 'typescript', '--output', 'gen', '--no-check-upgrade'],
      { cwd: out.dir, stdio: 'ignore' });
    const generated = fs.readFileSync(path.join(out.dir, 'gen', 'route.openshift.io.ts'), 'utf8');
    expect(generated).toContain('zzNewField');
    expect(generated).not.toBe(committed()['route.openshift.io.ts']);
  } finally {
    out.cleanup();
  }
}, 60_000);
