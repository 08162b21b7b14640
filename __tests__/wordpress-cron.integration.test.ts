// The WP-Cron CronJob's command, as config/prod.yaml renders it, run with curl against a local HTTP
// server standing in for the WordPress Service (only WP_CRON_URL is pointed at loopback).
import * as http from 'http';
import * as path from 'path';
import { AddressInfo } from 'net';
import { parseAllDocuments } from 'yaml';
import { loadConfigDir } from '../lib/config/load';
import { renderEnvironments } from '../lib/render/render';
import { REPO, tempDir } from './support/fixtures';
import { findBinary } from './support/mariadb-server';
import { LocalPod } from './support/pod-runner';

const available = ['curl', 'sh'].every(b => findBinary(b));
if (!available) console.warn('Skipping the WP-Cron integration tests: curl is not installed (apt-get install curl)');
const describeCurl = available ? describe : describe.skip;

describeCurl('the WP-Cron CronJob of config/prod.yaml site "blog"', () => {
  let cron: any;
  let objects: any[];
  let server: http.Server;
  let base: string;
  const requests: Array<{ method?: string; url?: string }> = [];
  let respond: (res: http.ServerResponse) => void;
  let dir: string;
  let cleanup: () => void;

  beforeAll(async () => {
    ({ dir, cleanup } = tempDir('wp-cron-it-'));
    const { environments } = loadConfigDir(path.join(REPO, 'config'));
    const text = renderEnvironments(environments.filter(e => e.name === 'prod')).get('prod/blog/app.k8s.yaml')!;
    objects = parseAllDocuments(text).map(d => d.toJS());
    cron = objects.find(o => o.kind === 'CronJob' && o.metadata.name === 'wordpress-cron');
    server = http.createServer((req, res) => {
      requests.push({ method: req.method, url: req.url });
      respond(res);
    });
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise(resolve => server.close(resolve));
    cleanup?.();
  });

  /** The rendered command, with the Service's address replaced by the local server's. */
  function run(overrides: Record<string, string> = {}) {
    const pod = new LocalPod(cron, { root: dir, objects });
    const url = pod.env().WP_CRON_URL;
    expect(url).toBe('http://wordpress.blog.svc.cluster.local:80/wp-cron.php?doing_wp_cron');
    return pod.run({ WP_CRON_URL: url.replace('http://wordpress.blog.svc.cluster.local:80', base), ...overrides });
  }

  test('calls wp-cron.php with GET and succeeds on a 200', async () => {
    requests.length = 0;
    respond = res => res.end('');
    const r = await run();
    expect([r.code, r.stdout, r.stderr]).toEqual([0, '', '']);
    expect(requests).toEqual([{ method: 'GET', url: '/wp-cron.php?doing_wp_cron' }]);
  });

  test('fails the Job when WordPress answers with an error', async () => {
    respond = res => { res.statusCode = 500; res.end('Error establishing a database connection'); };
    const r = await run();
    expect(r.code).toBe(22);
    expect(r.stderr).toMatch(/500/);
    expect(r.stdout).toBe('');
  });

  test('gives up after TIMEOUT_SECONDS', async () => {
    respond = res => setTimeout(() => res.end(''), 3_000);
    const started = Date.now();
    const r = await run({ TIMEOUT_SECONDS: '1' });
    expect(r.code).toBe(28);
    expect(Date.now() - started).toBeLessThan(2_900);
  });
});
