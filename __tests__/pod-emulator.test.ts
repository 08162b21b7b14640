// Unit tests of the pod emulator's pure parts (no namespaces, no servers): reading the reference
// Dockerfiles and reading pod specs.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { echoBlock, imageConfig, instructions } from './support/pod-emulator/dockerfile';
import { expandVars, imageInfo, parseImage, REFERENCE_IMAGES, resolvePod } from './support/pod-emulator';
import { APACHE_EXPORTER_DEFAULT_IMAGE } from '../lib/constructs/apache-metrics';
import { MYSQLD_EXPORTER_DEFAULT_IMAGE } from '../lib/constructs/mariadb-statefulset';
import { WORDPRESS_DEFAULT_IMAGE } from '../lib/constructs/wordpress-app';

const haveReference = fs.existsSync(REFERENCE_IMAGES);
const withReference = haveReference ? describe : describe.skip;
const noSources = { secretValue: () => 's', configMapValue: () => 'c' };

describe('Dockerfile reading', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pe-df-'));
  const file = path.join(dir, 'Dockerfile');
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(file, [
    'FROM base:1', 'ARG V=1.2', 'ENV A /a', 'ENV B=$A/b C="x y" \\', '  D=${V}', '# comment', 'RUN { \\', "\t\techo 'k = v'; \\",
    '# inside', "\t\techo '\\tindented'; \\", '\t\techo; \\', '\t} > "$X/out.ini"', 'ENTRYPOINT ["e.sh"]', 'WORKDIR /w', 'STOPSIGNAL SIGWINCH',
  ].join('\n'));
  const base = () => ({ env: { PATH: '/bin' }, entrypoint: ['old'], cmd: ['old-cmd'], workingDir: '/', stopSignal: 'SIGTERM' });

  test('ENV (both forms, with substitution), ENTRYPOINT resetting the inherited CMD, WORKDIR, STOPSIGNAL', () => {
    const { from, config } = imageConfig(file, base);
    expect(from).toBe('base:1');
    expect(config).toEqual({ env: { PATH: '/bin', A: '/a', B: '/a/b', C: 'x y', D: '1.2' }, entrypoint: ['e.sh'], cmd: [], workingDir: '/w', stopSignal: 'SIGWINCH' });
    expect(instructions(fs.readFileSync(file, 'utf8')).map(i => i.op)).toEqual(['FROM', 'ARG', 'ENV', 'ENV', 'RUN', 'ENTRYPOINT', 'WORKDIR', 'STOPSIGNAL']);
  });

  test('an echo block is the file the RUN step writes', () => {
    expect(echoBlock(file, '"$X/out.ini"')).toBe('k = v\n\tindented\n\n');
  });

  test('$(VAR) expansion as the kubelet does it', () => {
    expect(expandVars('$(A)-$(MISSING)-$$(A)', { A: 'x' })).toBe('x-$(MISSING)-$(A)');
  });

  test('image references', () => {
    expect(parseImage('wordpress:6.8-php8.3-apache')).toEqual({ repository: 'wordpress', tag: '6.8-php8.3-apache' });
    expect(parseImage('docker.io/library/mariadb:11.4')).toEqual({ repository: 'mariadb', tag: '11.4' });
    expect(() => imageInfo('nginx:1.27')).toThrow(/not in the pod emulator's image catalogue/);
  });
});

withReference('the image catalogue reads the reference Dockerfiles', () => {
  test('wordpress: ENTRYPOINT/CMD/WORKDIR/STOPSIGNAL and PHP_INI_DIR from its Dockerfile and its php base', () => {
    const wp = imageInfo('wordpress:6.8-php8.3-apache');
    expect([wp.entrypoint, wp.cmd, wp.workingDir, wp.stopSignal]).toEqual([['docker-entrypoint.sh'], ['apache2-foreground'], '/var/www/html', 'SIGWINCH']);
    expect(wp.env.PHP_INI_DIR).toBe('/usr/local/etc/php');
    expect(wp.env.APACHE_ENVVARS).toBe('/etc/apache2/envvars');
  });

  test('mariadb: ENTRYPOINT/CMD and ENV', () => {
    const db = imageInfo('mariadb:11.4');
    expect([db.entrypoint, db.cmd, db.workingDir, db.stopSignal]).toEqual([['docker-entrypoint.sh'], ['mariadbd'], '/', 'SIGTERM']);
    expect(db.env.LANG).toBe('C.UTF-8');
  });

  test('a pod spec: command/args override ENTRYPOINT/CMD, security context and env resolution', () => {
    const job = {
      kind: 'Job', metadata: { name: 'j', namespace: 'n' },
      spec: { template: { spec: {
        securityContext: { runAsUser: 999, fsGroup: 5, sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }] },
        containers: [
          { name: 'a', image: 'mariadb:11.4', args: ['--x=$(V)'], env: [{ name: 'V', value: '1' }, { name: 'S', valueFrom: { secretKeyRef: { name: 'sec', key: 'k' } } }] },
          { name: 'b', image: 'mariadb:11.4', command: ['bash', '-c', 'true'], securityContext: { capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] }, allowPrivilegeEscalation: false } },
        ],
      } } },
    };
    const plan = resolvePod(job, noSources);
    const [a, b] = plan.containers;
    expect(a.argv).toEqual(['docker-entrypoint.sh', '--x=1']);
    expect([a.uid, a.gid, a.groups, a.env.S]).toEqual([999, 999, [5], 's']);
    expect(a.capabilities).toContain('CHOWN');
    expect([b.argv, b.capabilities, b.noNewPrivileges]).toEqual([['bash', '-c', 'true'], ['NET_BIND_SERVICE'], true]);
    expect(plan.sysctls).toEqual([{ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }]);
  });

  test('downward API: the pod name, namespace and, once the pod has one, its IP', () => {
    const pod = { kind: 'Pod', metadata: { name: 'p', namespace: 'n' }, spec: { containers: [{ name: 'c', image: 'mariadb:11.4', env: [
      { name: 'NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
    ] }] } };
    const env = resolvePod(pod, noSources, 'p-0', '10.244.0.9').containers[0].env;
    expect([env.NAME, env.NS, env.IP]).toEqual(['p-0', 'n', '10.244.0.9']);
    expect(() => resolvePod(pod, noSources)).toThrow(/env IP fieldRef status.podIP is not emulated/);
  });

  test('what a kubelet would refuse, the emulator refuses', () => {
    const pod = (sc: any, extra: any = {}) => ({ kind: 'Pod', metadata: { name: 'p' }, spec: { securityContext: sc, containers: [{ name: 'c', image: 'mariadb:11.4' }], ...extra } });
    expect(() => resolvePod(pod({ runAsNonRoot: true }), noSources)).toThrow(/runAsNonRoot/);
    expect(() => resolvePod(pod({ sysctls: [{ name: 'kernel.shm_rmid_forced', value: '1' }] }), noSources)).toThrow(/not a network-namespaced sysctl/);
    expect(() => resolvePod(pod({}, { hostNetwork: true }), noSources)).toThrow(/hostNetwork/);
  });

  test('the exporter images, which have no reference Dockerfile here, run their binary name with the pod spec\'s args; other unknown images are errors', () => {
    const pod = (spec: any) => ({ kind: 'Pod', metadata: { name: 'p' }, spec });
    const exporter = { name: 'apache-exporter', image: APACHE_EXPORTER_DEFAULT_IMAGE, args: ['--scrape_uri=http://127.0.0.1:8080/server-status?auto'] };
    const plan = resolvePod(pod({ containers: [{ name: 'wordpress', image: WORDPRESS_DEFAULT_IMAGE }, exporter] }), noSources);
    expect(plan.containers.map(c => [c.name, c.argv])).toEqual([
      ['wordpress', ['docker-entrypoint.sh', 'apache2-foreground']],
      ['apache-exporter', ['/bin/apache_exporter', '--scrape_uri=http://127.0.0.1:8080/server-status?auto']],
    ]);
    expect(imageInfo(MYSQLD_EXPORTER_DEFAULT_IMAGE).entrypoint).toEqual(['/bin/mysqld_exporter']);
    expect(imageInfo(APACHE_EXPORTER_DEFAULT_IMAGE).reference).toMatch(/Lusitaniae\/apache_exporter Dockerfile/);
    expect(() => resolvePod(pod({ containers: [{ name: 'mariadb', image: 'mariadb:11.4' }, { name: 'x', image: 'nginx:1.27' }] }), noSources)).toThrow(/not in the pod emulator's image catalogue/);
  });
});
