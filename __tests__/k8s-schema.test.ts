import * as fs from 'fs';
import * as path from 'path';
import { jsPattern, validateManifest, validateManifests } from './support/k8s-schema';

const labels = { 'app.kubernetes.io/name': 'wordpress' };

function container(): any {
  return {
    name: 'wordpress',
    image: 'wordpress:6.5-apache',
    imagePullPolicy: 'IfNotPresent',
    ports: [{ name: 'http', containerPort: 80, protocol: 'TCP' }],
    env: [
      { name: 'WORDPRESS_DB_HOST', value: 'mariadb' },
      {
        name: 'WORDPRESS_DB_PASSWORD',
        valueFrom: { secretKeyRef: { name: 'mariadb-credentials', key: 'password' } },
      },
    ],
    resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { cpu: 1, memory: '512Mi' } },
    readinessProbe: { httpGet: { path: '/wp-login.php', port: 'http' }, periodSeconds: 10 },
    livenessProbe: { tcpSocket: { port: 80 }, initialDelaySeconds: 30 },
    volumeMounts: [{ name: 'content', mountPath: '/var/www/html' }],
  };
}

function deployment(): any {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'wordpress', labels, annotations: { 'example.com/owner': 'web' } },
    spec: {
      replicas: 2,
      selector: { matchLabels: labels },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } },
      template: {
        metadata: { labels },
        spec: {
          securityContext: { fsGroup: 33, runAsNonRoot: true },
          containers: [container()],
          volumes: [{ name: 'content', persistentVolumeClaim: { claimName: 'wordpress-content' } }],
        },
      },
    },
  };
}

function service(targetPort: number | string): any {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'wordpress', labels },
    spec: {
      type: 'ClusterIP',
      selector: labels,
      ports: [{ name: 'http', port: 80, targetPort, protocol: 'TCP' }],
    },
  };
}

const pvc = {
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: { name: 'wordpress-content', labels },
  spec: {
    accessModes: ['ReadWriteOnce'],
    storageClassName: 'standard',
    resources: { requests: { storage: '10Gi' } },
  },
};

const statefulSet = {
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: { name: 'mariadb', labels: { app: 'mariadb' } },
  spec: {
    serviceName: 'mariadb',
    replicas: 1,
    selector: { matchLabels: { app: 'mariadb' } },
    template: {
      metadata: { labels: { app: 'mariadb' } },
      spec: {
        containers: [
          {
            name: 'mariadb',
            image: 'mariadb:11.4',
            ports: [{ name: 'mysql', containerPort: 3306 }],
            envFrom: [{ secretRef: { name: 'mariadb-credentials' } }],
            volumeMounts: [{ name: 'data', mountPath: '/var/lib/mysql' }],
          },
        ],
        volumes: [{ name: 'config', secret: { secretName: 'mariadb-config', defaultMode: 0o400 } }],
      },
    },
    volumeClaimTemplates: [
      {
        metadata: { name: 'data' },
        spec: {
          accessModes: ['ReadWriteOnce'],
          resources: { requests: { storage: '8Gi' } },
        },
      },
    ],
  },
};

const cronJob = {
  apiVersion: 'batch/v1',
  kind: 'CronJob',
  metadata: { name: 'mariadb-backup' },
  spec: {
    schedule: '0 3 * * *',
    concurrencyPolicy: 'Forbid',
    successfulJobsHistoryLimit: 3,
    jobTemplate: {
      spec: {
        backoffLimit: 2,
        template: {
          spec: {
            restartPolicy: 'OnFailure',
            containers: [{ name: 'backup', image: 'mariadb:11.4', command: ['sh', '-c', 'mariadb-dump --all-databases'] }],
          },
        },
      },
    },
  },
};

const networkPolicy = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'mariadb-from-wordpress' },
  spec: {
    podSelector: { matchLabels: { app: 'mariadb' } },
    policyTypes: ['Ingress'],
    ingress: [{ from: [{ podSelector: { matchLabels: labels } }], ports: [{ protocol: 'TCP', port: 3306 }] }],
  },
};

function expectErrorAt(errors: string[], jsonPath: string, problem: RegExp): void {
  const hit = errors.find((e) => e.startsWith(`${jsonPath}: `) && problem.test(e));
  if (!hit) {
    throw new Error(`expected an error at ${jsonPath} matching ${problem}, got:\n${errors.join('\n') || '(no errors)'}`);
  }
}

describe('validateManifest accepts valid objects', () => {
  test.each([
    ['Deployment', deployment()],
    ['Service', service('http')],
    ['PersistentVolumeClaim', pvc],
    ['StatefulSet with volumeClaimTemplates', statefulSet],
    ['CronJob', cronJob],
    ['NetworkPolicy', networkPolicy],
  ])('%s', (_name, obj) => {
    expect(validateManifest(obj)).toEqual([]);
  });

  test('int-or-string port accepted both as 80 and "http"', () => {
    expect(validateManifest(service(80))).toEqual([]);
    expect(validateManifest(service('http'))).toEqual([]);
  });

  test('quantities accepted as string or number', () => {
    const d = deployment();
    d.spec.template.spec.containers[0].resources = { requests: { cpu: 0.5, memory: '1Gi' }, limits: { cpu: '2' } };
    expect(validateManifest(d)).toEqual([]);
  });

  test('validateManifests on a valid list is empty', () => {
    expect(validateManifests([deployment(), service(80), pvc, statefulSet, cronJob, networkPolicy])).toEqual([]);
  });
});

describe('validateManifest rejects broken objects', () => {
  test('unknown field in a container', () => {
    const d = deployment();
    d.spec.template.spec.containers[0].imagePullPolicyy = 'Always';
    const errors = validateManifest(d);
    expectErrorAt(errors, '/spec/template/spec/containers/0/imagePullPolicyy', /must NOT have additional properties \(imagePullPolicyy\)/);
  });

  test('wrong type: replicas "two"', () => {
    const d = deployment();
    d.spec.replicas = 'two';
    expectErrorAt(validateManifest(d), '/spec/replicas', /must be integer/);
  });

  test('missing required field: container without name', () => {
    const d = deployment();
    delete d.spec.template.spec.containers[0].name;
    expectErrorAt(validateManifest(d), '/spec/template/spec/containers/0', /must have required property 'name'/);
  });

  test('unknown kind', () => {
    const errors = validateManifest({ apiVersion: 'apps/v1', kind: 'Deploymint', metadata: { name: 'x' } });
    expectErrorAt(errors, '/', /unknown apiVersion\/kind apps\/v1\/Deploymint/);
  });

  test('unknown apiVersion: apps/v1beta1 Deployment does not exist in 1.27', () => {
    const d = deployment();
    d.apiVersion = 'apps/v1beta1';
    expectErrorAt(validateManifest(d), '/', /unknown apiVersion\/kind apps\/v1beta1\/Deployment/);
  });

  test('unknown top-level field', () => {
    const d = deployment();
    d.specs = d.spec;
    expectErrorAt(validateManifest(d), '/specs', /must NOT have additional properties \(specs\)/);
  });

  test('unknown field deep in a volumeClaimTemplate', () => {
    const s = JSON.parse(JSON.stringify(statefulSet));
    s.spec.volumeClaimTemplates[0].spec.size = '8Gi';
    expectErrorAt(validateManifest(s), '/spec/volumeClaimTemplates/0/spec/size', /additional properties/);
  });

  test('int-or-string rejects other types', () => {
    expectErrorAt(validateManifest(service(true as any)), '/spec/ports/0/targetPort', /must be integer or string/);
  });

  test('formats are checked: date-time and byte', () => {
    const d = deployment();
    d.metadata.creationTimestamp = 'yesterday';
    expectErrorAt(validateManifest(d), '/metadata/creationTimestamp', /format "date-time"/);
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { password: 'not base64!' } };
    expectErrorAt(validateManifest(secret), '/data/password', /format "byte"/);
  });

  test('not an object / missing apiVersion or kind', () => {
    expect(validateManifest(null)).toEqual(['/: must be an object (got null)']);
    expectErrorAt(validateManifest({ kind: 'Service' }), '/apiVersion', /non-empty string/);
    expectErrorAt(validateManifest({ apiVersion: 'v1' }), '/kind', /non-empty string/);
  });

  test('validateManifests prefixes errors with Kind/name', () => {
    const d = deployment();
    d.spec.template.spec.containers[0].foo = 1;
    const errors = validateManifests([service(80), d]);
    expect(errors).toEqual([
      'Deployment/wordpress: /spec/template/spec/containers/0/foo: must NOT have additional properties (foo)',
    ]);
  });
});

test('the schema file on disk is left untouched (strictness is added in memory)', () => {
  const file = path.join(__dirname, 'schemas', 'k8s-v1.27.0-definitions.json');
  const raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  expect(raw.definitions['io.k8s.api.core.v1.Container'].additionalProperties).toBeUndefined();
});

test('validating 200 objects after the first compile is fast', () => {
  const objs = [deployment(), service(80), pvc, statefulSet, cronJob, networkPolicy];
  validateManifests(objs); // compile every kind used below
  const start = process.hrtime.bigint();
  for (let i = 0; i < 200; i++) validateManifest(objs[i % objs.length]);
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  // Typically a few ms; the bound only catches accidental recompilation.
  expect(ms).toBeLessThan(1000);
});

describe('CRD patterns written for Go RE2', () => {
  const rule = (strategy: string) => ({
    apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule', metadata: { name: 'r' },
    spec: { groups: [{ name: 'g', partial_response_strategy: strategy, rules: [{ alert: 'A', expr: 'up == 0' }] }] },
  });

  test('(?i) is honoured: PrometheusRule\'s ^(?i)(abort|warn)?$ takes any case and nothing else', () => {
    for (const ok of ['warn', 'WARN', 'Abort', '']) expect([ok, validateManifest(rule(ok))]).toEqual([ok, []]);
    for (const bad of ['ignore', 'warnx']) expect(validateManifest(rule(bad)).join('\n')).toMatch(/partial_response_strategy/);
  });

  test('a (?i) pattern it cannot translate is refused, not misread', () => {
    expect(jsPattern('^[a-z]+$')).toBe('^[a-z]+$');
    expect(jsPattern('^(?i)ab$')).toBe('^[aA][bB]$');
    expect(() => jsPattern('^(?i)[a-z]$')).toThrow(/not translated/);
    expect(() => jsPattern('^(?i)\\d$')).toThrow(/not translated/);
  });
});
