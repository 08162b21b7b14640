import { Chart, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import {
  AntiAffinity, AntiAffinityMode, IngressRule, IngressTls, MariaDbStatefulSet, NodeAffinityOperator, StorageClaims, WordPressApp,
} from 'cdk8s-wordpress';

export class MyBlogChart extends Chart {
  constructor(scope: Construct, id: string) {
    super(scope, id, { namespace: 'my-blog', disableResourceNameHashes: true });
    const storage = new StorageClaims(this, 'Storage', { content: { size: Size.gibibytes(20) } });
    const db = new MariaDbStatefulSet(this, 'Db', {
      credentials: { secret: kplus.Secret.fromSecretName(this, 'DbSecret', 'mariadb-credentials') },
    });
    // Host, port, user and password Secret are read from the database object.
    const wp = new WordPressApp(this, 'Wp', {
      database: db,
      content: storage.content,
      keys: kplus.Secret.fromSecretName(this, 'Keys', 'wordpress-keys'),
    });
    new IngressRule(this, 'Ingress', { backend: wp, host: 'blog.example.com', tls: IngressTls.certManager('letsencrypt-prod') });
    // One MariaDB replica, nothing to spread: only keep it on SSD nodes.
    new AntiAffinity(this, 'DbOnSsd', {
      target: db,
      mode: AntiAffinityMode.NONE,
      nodeAffinity: [{ key: 'disk', operator: NodeAffinityOperator.IN, values: ['ssd'], required: true }],
    });
  }
}
