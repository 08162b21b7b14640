// Kubernetes moves on: every object of every example and variant site must also be valid, strictly,
// against the newest schema here (1.36), and use no API that version removed or deprecated.
import { NEWEST_K8S_VERSION, retiredApis, validateManifests } from './support/k8s-schema';
import { exampleSites, variantSites } from './support/fixtures';

const SITES = [...exampleSites(), ...variantSites()];

test.each(SITES.map(s => [s.label, s.objects]))(`%s validates strictly against Kubernetes ${NEWEST_K8S_VERSION}`, (_, objects) => {
  expect(validateManifests(objects, NEWEST_K8S_VERSION)).toEqual([]);
});

test.each(SITES.map(s => [s.label, s.objects]))(`%s uses no API Kubernetes ${NEWEST_K8S_VERSION} removed or deprecated`, (_, objects) => {
  expect(retiredApis(objects, NEWEST_K8S_VERSION)).toEqual([]);
});

test('removed and deprecated APIs are reported, with the notice the schema gives', () => {
  const old = [
    { apiVersion: 'policy/v1beta1', kind: 'PodDisruptionBudget', metadata: { name: 'old' } },
    { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'manual' } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'fine' } },
  ];
  expect(retiredApis(old, NEWEST_K8S_VERSION)).toEqual([
    `PodDisruptionBudget/old: policy/v1beta1/PodDisruptionBudget removed in Kubernetes ${NEWEST_K8S_VERSION}`,
    expect.stringMatching(/^Endpoints\/manual: v1\/Endpoints in Kubernetes 1\.36\.0: Deprecated: .+/),
  ]);
  // Unknown fields are errors against the newest schema too.
  expect(validateManifests([{ apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { selctor: {} } }], NEWEST_K8S_VERSION))
    .toEqual(['Service/s: /spec/selctor: must NOT have additional properties (selctor)']);
});
