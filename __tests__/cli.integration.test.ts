import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { REPO, readTree, tempDir } from './support/fixtures';

// End to end through the real `cdk8s synth` CLI, which deletes its own output folder before it runs
// the app: dist/ must still survive bad input.
describe('cdk8s synth', () => {
  const work = tempDir('cdk8s-wp-cli-');
  const cli = path.join(REPO, 'node_modules', '.bin', 'cdk8s');
  const register = path.join(REPO, 'node_modules', 'sucrase', 'register', 'ts');
  const synth = () => spawnSync(cli, ['synth', '--check-upgrade=false'], { cwd: work.dir, encoding: 'utf8' });
  const writeConfig = (text: string) => fs.writeFileSync(path.join(work.dir, 'config', 'test.yaml'), text);

  beforeAll(() => {
    fs.mkdirSync(path.join(work.dir, 'config'));
    const app = `node -r ${register} ${path.join(REPO, 'main.ts')}`;
    fs.writeFileSync(path.join(work.dir, 'cdk8s.yaml'), `language: typescript\napp: ${app}\noutput: .cdk8s-out\n`);
  });
  afterAll(() => work.cleanup());

  test('renders into dist/, then leaves it untouched when the config turns bad', () => {
    writeConfig('sites:\n  blog:\n    exposure: { host: blog.example.com }\n');
    const ok = synth();
    expect([ok.status, ok.stderr]).toEqual([0, expect.any(String)]);
    const good = readTree(path.join(work.dir, 'dist'));
    expect(Object.keys(good).sort()).toEqual(['test/blog/README.md', 'test/blog/app.k8s.yaml', 'test/blog/kustomization.yaml', 'test/blog/storage.k8s.yaml', 'test/kustomization.yaml']);
    // The CLI's folder holds one file per environment, with every manifest of it, in dist/ order.
    expect(ok.stdout).toBe('Synthesizing application\n  - .cdk8s-out/test.k8s.yaml\n');
    expect(readTree(path.join(work.dir, '.cdk8s-out'))).toEqual({ 'test.k8s.yaml': `${good['test/blog/storage.k8s.yaml']}---\n${good['test/blog/app.k8s.yaml']}` });

    writeConfig('sites:\n  blog:\n    exposure: { host: Blog.Example.com }\n    wordpress: { replicas: 0 }\n');
    const bad = synth();
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain('config/test.yaml: sites.blog.exposure.host: must match pattern');
    expect(bad.stderr).toContain('config/test.yaml: sites.blog.wordpress.replicas: must be >= 1 (got 0)');
    expect(bad.stderr).toContain('2 error(s); dist/ was left unchanged.');
    expect(readTree(path.join(work.dir, 'dist'))).toEqual(good);
  }, 60_000);

  test('`npm run synth` on a bad config prints our error lines and nothing after them', () => {
    // The npm script is this wrapper around `cdk8s synth`; run it as npm would, from the project.
    expect(JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')).scripts.synth).toBe('node scripts/synth.js');
    writeConfig('sites:\n  default:\n    exposure: { host: blog.example.com, nodePort: 30080 }\n');
    const bad = spawnSync(process.execPath, [path.join(REPO, 'scripts', 'synth.js')], { cwd: work.dir, encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect(bad.stdout).toBe('Synthesizing application\n');
    expect(bad.stderr).toBe([
      'error: config/test.yaml: sites.default.exposure.nodePort: only applies to type nodePort/loadBalancer; remove it or change exposure.type',
      'error: config/test.yaml: sites.default.namespace: namespace "default" is the cluster\'s default namespace, shared by every workload that names none; '
        + 'the site\'s default-deny NetworkPolicies and ResourceQuota would apply to everything in it. Set sites.default.namespace to a namespace of the site\'s own, e.g. "default-site"',
      '2 error(s); dist/ was left unchanged.',
      '',
    ].join('\n'));
  }, 60_000);

  test('the wrapper passes a successful run through, then prints what changed in dist/', () => {
    const wrapper = () => spawnSync(process.execPath, [path.join(REPO, 'scripts', 'synth.js')], { cwd: work.dir, encoding: 'utf8' });
    writeConfig('sites:\n  blog:\n    exposure: { host: blog.example.com }\n');
    const same = wrapper();
    expect([same.status, same.stderr]).toEqual([0, '']);
    // dist/ already holds this site (the first test rendered it): nothing changed.
    expect(same.stdout).toBe('Synthesizing application\n  - .cdk8s-out/test.k8s.yaml\nChanges in dist/ against what was there:\n  1 site(s) unchanged\n');

    writeConfig('sites:\n  blog:\n    exposure: { host: www.example.com }\n    wordpress: { content: { size: 20Gi } }\n');
    const changed = wrapper();
    expect([changed.status, changed.stderr]).toEqual([0, '']);
    expect(changed.stdout).toBe([
      'Synthesizing application',
      '  - .cdk8s-out/test.k8s.yaml',
      'Changes in dist/ against what was there:',
      '  test/blog: 0 added, 2 changed, 0 removed',
      '    ~ Ingress/blog/wordpress',
      '    ~ PersistentVolumeClaim/blog/wordpress-content  DANGER: its spec changed; most fields of a PersistentVolumeClaim are immutable, and replacing it loses or orphans the data',
      '  0 site(s) unchanged; 1 dangerous change(s): review them before applying',
      '',
    ].join('\n'));
    // No summary file is left behind in the temp dir.
    expect(fs.existsSync(path.join(os.tmpdir(), `cdk8s-wordpress-changes-${changed.pid}.txt`))).toBe(false);
  }, 60_000);
});
