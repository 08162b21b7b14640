// Using the constructs from your own chart instead of the config files.
// Compiled by `npm test` (tsc) and synthesized by __tests__/example.test.ts, so it stays true.
import { App, Chart, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import {
  AntiAffinityMode, IngressRule, IngressTls, MariaDbStatefulSet, StorageClaims, WordPressApp,
} from '../lib';

export class MyBlogChart extends Chart {
  constructor(scope: Construct, id: string) {
    super(scope, id, { namespace: 'my-blog', disableResourceNameHashes: true });
    const storage = new StorageClaims(this, 'Storage', { content: { size: Size.gibibytes(20) } });
    const db = new MariaDbStatefulSet(this, 'Db', {
      credentials: { secret: kplus.Secret.fromSecretName(this, 'DbSecret', 'mariadb-credentials') },
      volumeSize: Size.gibibytes(10),
    });
    // Host, port, user and password Secret are read from the database object.
    const wp = new WordPressApp(this, 'Wp', {
      database: db,
      content: storage.content,
      keys: kplus.Secret.fromSecretName(this, 'Keys', 'wordpress-keys'),
      replicas: 3,
      placement: { mode: AntiAffinityMode.SOFT },
    });
    new IngressRule(this, 'Ingress', {
      backend: wp,
      host: 'blog.example.com',
      ingressClassName: 'nginx',
      tls: IngressTls.certManager('letsencrypt-prod'),
    });
  }
}

if (require.main === module) {
  const app = new App();
  new MyBlogChart(app, 'my-blog');
  app.synth();
}
