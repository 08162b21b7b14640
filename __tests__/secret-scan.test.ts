import { createHash } from 'crypto';
import { closeSecretScanner, K8S_SECRET_RULE_ID, scanForSecrets } from './support/secret-scan';

// Fake credentials are assembled at run time so that this file holds no
// literal that a secret scanner (this one or any other) would flag.
const fakeAccessKeyId = ['AK', 'IA', 'ZX7Q2M4N8P3R5T6V'].join('');
const fakeSecretAccessKey = 'q7Hk' + 'P2vN'.repeat(9); // 40 chars
const pemLabel = ['RSA', 'PRIVATE', 'KEY'].join(' ');

function fakePrivateKeyBody(): string[] {
  let bytes = Buffer.alloc(0);
  for (let i = 0; bytes.length < 600; i++) {
    bytes = Buffer.concat([bytes, createHash('sha256').update(`not-a-key-${i}`).digest()]);
  }
  // A DER SEQUENCE header, so the base64 starts with "MI" like a real key.
  const der = Buffer.concat([Buffer.from([0x30, 0x82, 0x02, 0x5c]), bytes]);
  return der.toString('base64').match(/.{1,64}/g) ?? [];
}

const secretManifest = [
  'apiVersion: v1',
  'kind: Secret',
  'metadata:',
  '  name: mariadb-credentials',
  'type: Opaque',
  'data:',
  `  username: ${Buffer.from('wordpress').toString('base64')}`,
  `  password: ${Buffer.from('hunter2-but-longer').toString('base64')}`,
  '',
].join('\n');

const referencesOnly = [
  'apiVersion: apps/v1',
  'kind: Deployment',
  'metadata:',
  '  name: wordpress',
  'spec:',
  '  selector:',
  '    matchLabels: {app: wordpress}',
  '  template:',
  '    metadata:',
  '      labels: {app: wordpress}',
  '    spec:',
  '      containers:',
  '        - name: wordpress',
  '          image: wordpress:6.5-apache',
  '          env:',
  '            - name: WORDPRESS_DB_PASSWORD',
  '              valueFrom:',
  '                secretKeyRef: {name: mariadb-credentials, key: password}',
  '          envFrom:',
  '            - secretRef: {name: wordpress-salts}',
  '          volumeMounts:',
  '            - {name: tls, mountPath: /etc/tls, readOnly: true}',
  '      volumes:',
  '        - name: tls',
  '          secret:',
  '            secretName: wordpress-tls',
  '---',
  'apiVersion: v1',
  'kind: Secret',
  'metadata:',
  '  name: filled-in-by-an-operator',
  'type: Opaque',
  '',
].join('\n');

afterAll(closeSecretScanner);

test('a manifest that only references Secrets by name is clean', async () => {
  expect(await scanForSecrets([{ path: 'dist/wordpress.k8s.yaml', content: referencesOnly }])).toEqual([]);
});

test('an empty list of files is clean', async () => {
  expect(await scanForSecrets([])).toEqual([]);
});

test('a kind: Secret with base64 data is flagged at its data: line', async () => {
  const findings = await scanForSecrets([{ path: 'dist/mariadb.k8s.yaml', content: secretManifest }]);
  expect(findings).toHaveLength(1);
  expect(findings[0]).toMatch(
    new RegExp(`^dist/mariadb\\.k8s\\.yaml:6: ${K8S_SECRET_RULE_ID} Secret/mariadb-credentials embeds values in data \\(username, password\\)`),
  );
});

test('stringData and a Secret later in a multi-document file are flagged too', async () => {
  const content = [referencesOnly.trimEnd(), '---', 'apiVersion: v1', 'kind: Secret', 'metadata: {name: salts}', 'stringData:', '  AUTH_KEY: abc', ''].join('\n');
  const findings = await scanForSecrets([{ path: 'all.yaml', content }]);
  const line = content.split('\n').indexOf('stringData:') + 1;
  expect(findings).toEqual([expect.stringMatching(new RegExp(`^all\\.yaml:${line}: ${K8S_SECRET_RULE_ID} Secret/salts embeds values in stringData \\(AUTH_KEY\\)`))]);
});

test('an AWS access key pair in a ConfigMap is flagged, with the values masked', async () => {
  const content = [
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    '  name: backup-settings',
    'data:',
    `  AWS_ACCESS_KEY_ID: ${fakeAccessKeyId}`,
    `  AWS_SECRET_ACCESS_KEY: ${fakeSecretAccessKey}`,
    '',
  ].join('\n');
  const findings = await scanForSecrets([{ path: 'dist/backup.k8s.yaml', content }]);
  expect(findings).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/^dist\/backup\.k8s\.yaml:6: @secretlint\/secretlint-rule-aws found AWS Access Key ID/),
      expect.stringMatching(/^dist\/backup\.k8s\.yaml:7: @secretlint\/secretlint-rule-aws found AWS Secret Access Key/),
    ]),
  );
  for (const f of findings) {
    expect(f).not.toContain(fakeAccessKeyId);
    expect(f).not.toContain(fakeSecretAccessKey);
  }
});

test('a private key block in a manifest is flagged', async () => {
  const content = [
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    '  name: tls-material',
    'data:',
    '  tls.key: |',
    `    -----BEGIN ${pemLabel}-----`,
    ...fakePrivateKeyBody().map((l) => `    ${l}`),
    `    -----END ${pemLabel}-----`,
    '',
  ].join('\n');
  const findings = await scanForSecrets([{ path: 'dist/tls.k8s.yaml', content }]);
  expect(findings).toEqual([expect.stringMatching(/^dist\/tls\.k8s\.yaml:7: @secretlint\/secretlint-rule-privatekey found private key/)]);
});

test('findings keep file order across several files', async () => {
  const findings = await scanForSecrets([
    { path: 'a.yaml', content: secretManifest },
    { path: 'b.yaml', content: referencesOnly },
    { path: 'c.yaml', content: secretManifest },
  ]);
  expect(findings.map((f) => f.split(':')[0])).toEqual(['a.yaml', 'c.yaml']);
});

test('scanning many manifests reuses one worker and stays quick', async () => {
  await scanForSecrets([{ path: 'warm.yaml', content: referencesOnly }]);
  const files = Array.from({ length: 100 }, (_, i) => ({ path: `m${i}.yaml`, content: referencesOnly }));
  const start = Date.now();
  expect(await scanForSecrets(files)).toEqual([]);
  expect(Date.now() - start).toBeLessThan(5000);
});
