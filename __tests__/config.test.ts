import * as fs from 'fs';
import * as path from 'path';
import { stringify } from 'yaml';
import { REFERENCE_END, REFERENCE_START, configReference, schemaFileText } from '../lib/config/reference';
import { VALIDATOR_FILE, validatorModuleText } from '../lib/config/validator-source';
import { publish, renderEnvironments } from '../lib/render/render';
import { StagedTree } from '../lib/render/staged-tree';
import { synthesize } from '../lib/render/synthesize';
import { REPO, exampleEnvironments, readTree, tempDir } from './support/fixtures';

/** A valid environment every bad case starts from. */
const BASE = {
  cluster: { nodes: 2, zones: 2 },
  sites: {
    blog: {
      wordpress: { replicas: 2, content: { accessModes: ['ReadWriteMany'] } },
      database: { volumeSize: '5Gi' },
      exposure: { host: 'blog.example.com' },
    },
  },
};

type Patch = (c: any) => void;
const GW = { name: 'public', namespace: 'gateway-system', sectionName: 'https' };
const CANARY = { image: 'wordpress:6.9-php8.4-apache', weight: 10 };

/** [title, change to BASE (or raw file text), expected path, expected message]. */
const BAD: Array<[string, Patch | string, string, RegExp]> = [
  ['unknown top-level key', c => { c.site = c.sites; }, 'site', /unknown key "site"; did you mean "sites"\?/],
  ['typo in a key', c => { c.sites.blog.wordpress.replica = 2; }, 'sites.blog.wordpress.replica', /did you mean "replicas"/],
  ['replicas as text', c => { c.sites.blog.wordpress.replicas = 'two'; }, 'sites.blog.wordpress.replicas', /must be integer \(got "two"\)/],
  ['zero replicas', c => { c.sites.blog.wordpress.replicas = 0; }, 'sites.blog.wordpress.replicas', /must be >= 1 \(got 0\)/],
  ['anti-affinity mode with wrong case', c => { c.sites.blog.wordpress.placement = { antiAffinity: 'Hard' }; }, 'sites.blog.wordpress.placement.antiAffinity', /\(got "Hard"\); use one of: soft, hard, none/],
  ['invalid topology key', c => { c.sites.blog.wordpress.placement = { topologyKey: 'Host Name' }; }, 'sites.blog.wordpress.placement.topologyKey', /got "Host Name".*"hostname", "zone"/],
  ['unknown exposure type', c => { c.sites.blog.exposure.type = 'ClusterIP'; }, 'sites.blog.exposure.type', /got "ClusterIP"\); use one of: ingress, nodePort, loadBalancer/],
  ['image tag latest', c => { c.sites.blog.wordpress.image = 'wordpress:latest'; }, 'sites.blog.wordpress.image', /"wordpress:latest" uses "latest"; pin a version/],
  ['image without tag', c => { c.sites.blog.database.image = 'mariadb'; }, 'sites.blog.database.image', /"mariadb" has no tag; pin a version/],
  ['malformed image', c => { c.sites.blog.database.image = 'MariaDB:11'; }, 'sites.blog.database.image', /got "MariaDB:11".*pinned by tag/],
  ['several replicas on ReadWriteOnce', c => { c.sites.blog.wordpress.replicas = 3; c.sites.blog.wordpress.content.accessModes = ['ReadWriteOnce']; }, 'sites.blog.wordpress.replicas', /3 replicas need a ReadWriteMany content volume.*Multi-Attach/],
  ['memory limit != request', c => { c.sites.blog.database.resources = { requests: { memory: '1Gi' }, limits: { memory: '2Gi' } }; }, 'sites.blog.database.resources.limits.memory', /memory limit "2Gi" differs from the request "1Gi"; make them equal/],
  ['PHP memory above the container', c => { c.sites.blog.wordpress.php = { memoryLimit: '1Gi' }; }, 'sites.blog.wordpress.php.memoryLimit', /"1Gi" is not below the container memory "512Mi"/],
  ['size in decimal units', c => { c.sites.blog.database.volumeSize = '10GB'; }, 'sites.blog.database.volumeSize', /got "10GB".*"512Mi", "10Gi"/],
  ['CPU as words', c => { c.sites.blog.wordpress.resources = { requests: { cpu: 'two' } }; }, 'sites.blog.wordpress.resources.requests.cpu', /got "two".*millicores/],
  ['probe timeout as a number', c => { c.sites.blog.wordpress.probes = { liveness: { timeout: 5 } }; }, 'sites.blog.wordpress.probes.liveness.timeout', /must be string \(got 5\)/],
  ['probe period of zero', c => { c.sites.blog.database.probes = { readiness: { period: '0s' } }; }, 'sites.blog.database.probes.readiness.period', /period "0s" must be at least 1s/],
  ['duration without unit', c => { c.sites.blog.wordpress.php = { maxExecutionTime: '60' }; }, 'sites.blog.wordpress.php.maxExecutionTime', /got "60".*"5s", "10m"/],
  ['namespace not a DNS label', c => { c.sites.blog.namespace = 'Blog_NS'; }, 'sites.blog.namespace', /got "Blog_NS".*lowercase letters/],
  ['namespace too long', c => { c.sites.blog.namespace = 'a'.repeat(64); }, 'sites.blog.namespace', /must NOT have more than 63 characters/],
  ['site name not a DNS label', c => { c.sites['My Site'] = c.sites.blog; delete c.sites.blog; }, 'sites.My Site', /name "My Site" is invalid; name sites with lowercase DNS labels/],
  ['host name with capitals', c => { c.sites.blog.exposure.host = 'Blog.Example.com'; }, 'sites.blog.exposure.host', /got "Blog.Example.com".*lowercase DNS name/],
  ['database name with a dash', c => { c.sites.blog.database.databaseName = 'wp-db'; }, 'sites.blog.database.databaseName', /got "wp-db".*letters, digits and "_"/],
  ['user name too long', c => { c.sites.blog.database.username = 'u'.repeat(81); }, 'sites.blog.database.username', /at most 80 characters/],
  ['table prefix with a dash', c => { c.sites.blog.wordpress.tablePrefix = 'wp-'; }, 'sites.blog.wordpress.tablePrefix', /got "wp-".*e.g. "wp_"/],
  ['node port out of range', c => { c.sites.blog.exposure = { type: 'nodePort', nodePort: 80 }; }, 'sites.blog.exposure.nodePort', /must be >= 30000 \(got 80\)/],
  ['node port on an Ingress', c => { c.sites.blog.exposure.nodePort = 30080; }, 'sites.blog.exposure.nodePort', /only applies to type nodePort\/loadBalancer/],
  ['TLS on a NodePort', c => { c.sites.blog.exposure = { type: 'nodePort', tls: { secretName: 'x' } }; }, 'sites.blog.exposure.tls', /only applies to types ingress, gateway and route, not nodePort; remove it/],
  ['Ingress without host', c => { delete c.sites.blog.exposure.host; }, 'sites.blog.exposure.host', /is required for type ingress/],
  ['TLS without a source', c => { c.sites.blog.exposure.tls = {}; }, 'sites.blog.exposure.tls', /needs secretName .* or issuer/],
  ['issuer kind without issuer', c => { c.sites.blog.exposure.tls = { secretName: 's', issuerKind: 'Issuer' }; }, 'sites.blog.exposure.tls.issuerKind', /is set without issuer/],
  ['two sites in one namespace', c => { c.sites.shop = { namespace: 'blog', exposure: { host: 'shop.example.com' } }; }, 'sites.shop.namespace', /: namespace "blog" is already used by site "blog" of .*prod.yaml; give each site its own namespace/],
  ['In without values', c => { c.sites.blog.wordpress.placement = { nodeAffinity: [{ key: 'pool', operator: 'In' }] }; }, 'sites.blog.wordpress.placement.nodeAffinity.0.values', /operator In needs at least one value/],
  ['Exists with values', c => { c.sites.blog.database.placement = { nodeAffinity: [{ key: 'ssd', operator: 'Exists', values: ['x'] }] }; }, 'sites.blog.database.placement.nodeAffinity.0.values', /operator Exists takes no values/],
  ['unknown access mode', c => { c.sites.blog.wordpress.content.accessModes = ['ReadWriteSometimes']; }, 'sites.blog.wordpress.content.accessModes.0', /got "ReadWriteSometimes"\); use one of: ReadWriteOnce/],
  ['existing claim and NFS together', c => { c.sites.blog.wordpress.content = { accessModes: ['ReadWriteMany'], existingClaim: 'a', nfs: { server: 's', path: '/p' } }; }, 'sites.blog.wordpress.content', /existingClaim and nfs are both set/],
  ['relative NFS path', c => { c.sites.blog.wordpress.content.nfs = { server: 's', path: 'exports' }; }, 'sites.blog.wordpress.content.nfs.path', /got "exports".*absolute path/],
  ['no sites', c => { c.sites = {}; }, 'sites', /must NOT have fewer than 1 properties/],
  ['weight above 100', c => { c.sites.blog.wordpress.placement = { weight: 101 }; }, 'sites.blog.wordpress.placement.weight', /must be <= 100 \(got 101\)/],
  ['exporter image without tag', c => { c.sites.blog.metrics = { enabled: true, exporterImage: 'prom/mysqld-exporter' }; }, 'sites.blog.metrics.exporterImage', /"prom\/mysqld-exporter" has no tag; pin a version/],
  ['exporter image latest', c => { c.sites.blog.metrics = { enabled: true, exporterImage: 'prom/mysqld-exporter:latest' }; }, 'sites.blog.metrics.exporterImage', /uses "latest"; pin a version/],
  ['Apache exporter image without tag', c => { c.sites.blog.metrics = { enabled: true, apacheExporterImage: 'quay.io/lusitaniae/apache-exporter' }; }, 'sites.blog.metrics.apacheExporterImage', /image "quay.io\/lusitaniae\/apache-exporter" has no tag; pin a version/],
  ['Apache exporter image latest', c => { c.sites.blog.metrics = { enabled: true, apacheExporterImage: 'quay.io/lusitaniae/apache-exporter:latest' }; }, 'sites.blog.metrics.apacheExporterImage', /uses "latest"; pin a version/],
  ['Apache exporter image with metrics off', c => { c.sites.blog.metrics = { apacheExporterImage: 'quay.io/lusitaniae/apache-exporter:v1.1.1' }; }, 'sites.blog.metrics.apacheExporterImage', /metrics.enabled is not true, so no exporter is rendered; set enabled: true or remove it/],
  ['metrics without the monitoring Secret key', c => { c.sites.blog.metrics = { enabled: true }; c.sites.blog.database.secret = { name: 'db', monitoringPasswordKey: '' }; }, 'sites.blog.database.secret.monitoringPasswordKey', /got ""\).*use a Secret key made of letters/],
  ['metrics settings with metrics off', c => { c.sites.blog.metrics = { user: 'prom' }; }, 'sites.blog.metrics.user', /metrics.enabled is not true, so no exporter is rendered; set enabled: true or remove it/],
  ['Prometheus selector without metrics', c => { c.sites.blog.security = { prometheus: { namespaceSelector: { 'kubernetes.io/metadata.name': 'mon' } } }; }, 'sites.blog.security.prometheus', /only applies with metrics.enabled: true/],
  ['monitoring user with a dash', c => { c.sites.blog.metrics = { enabled: true, user: 'prom-user' }; }, 'sites.blog.metrics.user', /got "prom-user".*letters, digits and "_"/],
  ['multi-line my.cnf value', c => { c.sites.blog.database.config = { max_connections: '1\n[client]' }; }, 'sites.blog.database.config.max_connections', /one-line string value/],
  ['my.cnf option in capitals', c => { c.sites.blog.database.config = { MaxConnections: '5' }; }, 'sites.blog.database.config.MaxConnections', /name "MaxConnections" is invalid; use lowercase option names/],
  // Front doors, TLS modes and canaries: combinations that cannot work.
  ['gateway without a Gateway', c => { c.sites.blog.exposure.type = 'gateway'; }, 'sites.blog.exposure.gateway', /is required for type gateway; add the Gateway to attach to/],
  ['gateway without a namespace', c => { c.sites.blog.exposure = { type: 'gateway', host: 'b.example.com', gateway: { name: 'public' } }; }, 'sites.blog.exposure.gateway.namespace', /is required; add it/],
  ['gateway with TLS', c => { c.sites.blog.exposure = { type: 'gateway', host: 'b.example.com', gateway: GW, tls: { secretName: 'x' } }; }, 'sites.blog.exposure.tls', /TLS ends at the Gateway's listener/],
  ['redirect on the HTTPS listener', c => { c.sites.blog.exposure = { type: 'gateway', host: 'b.example.com', gateway: { ...GW, redirect: { sectionName: 'https' } } }; }, 'sites.blog.exposure.gateway.redirect.sectionName', /"https" is the listener the site is served on.*use the Gateway's plain-HTTP listener/],
  ['gateway keys on an Ingress', c => { c.sites.blog.exposure.gateway = GW; }, 'sites.blog.exposure.gateway', /only applies to type gateway, not ingress/],
  ['ingress class on a gateway', c => { c.sites.blog.exposure = { type: 'gateway', host: 'b.example.com', gateway: GW, ingressClassName: 'nginx' }; }, 'sites.blog.exposure.ingressClassName', /only applies to type ingress, not gateway/],
  ['route without host', c => { c.sites.blog.exposure = { type: 'route' }; }, 'sites.blog.exposure.host', /is required for type route/],
  ['route with a cert-manager issuer', c => { c.sites.blog.exposure = { type: 'route', host: 'b.example.com', tls: { issuer: 'le' } }; }, 'sites.blog.exposure.tls.issuer', /does not apply to type route.*use secretName/],
  ['unknown TLS mode', c => { c.sites.blog.exposure.tls = { mode: 'reencrypted', secretName: 'x' }; }, 'sites.blog.exposure.tls.mode', /got "reencrypted"\); use one of: edge, reencrypt, passthrough/],
  ['passthrough with a path', c => { c.sites.blog.exposure = { host: 'b.example.com', path: '/blog', tls: { mode: 'passthrough', backendSecret: 'b' } }; }, 'sites.blog.exposure.path', /is "\/blog" but tls.mode passthrough routes by host name only.*use path "\/"/],
  ['passthrough with an edge certificate', c => { c.sites.blog.exposure.tls = { mode: 'passthrough', secretName: 'x', backendSecret: 'b' }; }, 'sites.blog.exposure.tls', /with mode passthrough, where the only certificate is WordPress's own.*remove secretName/],
  ['re-encrypt without a backend certificate', c => { c.sites.blog.exposure.tls = { mode: 'reencrypt', secretName: 'x' }; }, 'sites.blog.exposure.tls.backendSecret', /is required for tls.mode reencrypt: WordPress serves HTTPS on 8443/],
  ['backend certificate with edge TLS', c => { c.sites.blog.exposure.tls = { secretName: 'x', backendSecret: 'b' }; }, 'sites.blog.exposure.tls.backendSecret', /only applies to tls.mode reencrypt or passthrough/],
  ['backend TLS on another controller', c => { c.sites.blog.exposure = { host: 'b.example.com', ingressClassName: 'traefik', tls: { mode: 'reencrypt', secretName: 'x', backendSecret: 'b' } }; }, 'sites.blog.exposure.controller', /is "other" \(ingressClassName "traefik"\), but tls.mode reencrypt needs ingress-nginx annotations; set controller: ingress-nginx/],
  ['Istio with a gateway', c => { c.sites.blog.exposure = { type: 'gateway', host: 'b.example.com', gateway: GW, mesh: 'istio' }; }, 'sites.blog.exposure.mesh', /istio only applies to type ingress.*weighted backendRefs itself/],
  ['Istio with passthrough', c => { c.sites.blog.exposure = { host: 'b.example.com', mesh: 'istio', tls: { mode: 'passthrough', backendSecret: 'b' } }; }, 'sites.blog.exposure.tls.mode', /is passthrough with mesh: istio.*use edge/],
  ['istiod without a mesh', c => { c.sites.blog.security = { istiod: { namespaceSelector: { a: 'b' } } }; }, 'sites.blog.security.istiod', /only applies with exposure.mesh: istio/],
  ['router selector on an Ingress', c => { c.sites.blog.security = { router: { namespaceSelector: { a: 'b' } } }; }, 'sites.blog.security.router', /only applies to exposure type route; with ingress the source is security.ingressController/],
  ['canary with the stable image', c => { c.sites.blog.wordpress.image = 'wordpress:6.8-php8.3-apache'; c.sites.blog.wordpress.canary = { image: 'wordpress:6.8-php8.3-apache', weight: 5 }; }, 'sites.blog.wordpress.canary.image', /"wordpress:6.8-php8.3-apache" is the stable image.*give the canary the new image/],
  ['canary with the default stable image', c => { c.sites.blog.wordpress.canary = { image: 'wordpress:6.8-php8.3-apache', weight: 5 }; }, 'sites.blog.wordpress.canary.image', /is the stable image/],
  ['canary weight above 100', c => { c.sites.blog.wordpress.canary = { image: 'wordpress:6.9-php8.4-apache', weight: 110 }; }, 'sites.blog.wordpress.canary.weight', /must be <= 100 \(got 110\)/],
  ['canary weight as a fraction', c => { c.sites.blog.wordpress.canary = { image: 'wordpress:6.9-php8.4-apache', weight: 0.1 }; }, 'sites.blog.wordpress.canary.weight', /must be integer \(got 0.1\)/],
  ['canary without weight', c => { c.sites.blog.wordpress.canary = { image: 'wordpress:6.9-php8.4-apache' }; }, 'sites.blog.wordpress.canary.weight', /is required; add it/],
  ['canary on a NodePort', c => { c.sites.blog.wordpress.canary = CANARY; c.sites.blog.exposure = { type: 'nodePort' }; }, 'sites.blog.wordpress.canary', /a nodePort Service only balances connections.*use exposure type ingress, gateway or route/],
  ['canary behind ingress-nginx passthrough', c => { c.sites.blog.wordpress.canary = CANARY; c.sites.blog.exposure.tls = { mode: 'passthrough', backendSecret: 'b' }; }, 'sites.blog.wordpress.canary', /cannot be split by ingress-nginx with tls.mode passthrough/],
  ['canary on ReadWriteOnce content', c => { c.sites.blog.wordpress = { replicas: 1, content: { accessModes: ['ReadWriteOnce'] }, canary: CANARY }; }, 'sites.blog.wordpress.canary', /shares the content volume.*use accessModes: \[ReadWriteMany\]/],
  ['canary on another controller', c => { c.sites.blog.wordpress.canary = CANARY; c.sites.blog.exposure.controller = 'other'; }, 'sites.blog.exposure.controller', /wordpress.canary needs ingress-nginx annotations/],
  ['canary image on latest', c => { c.sites.blog.wordpress.canary = { image: 'wordpress:latest', weight: 1 }; }, 'sites.blog.wordpress.canary.image', /uses "latest"; pin a version/],
  ['replication with one pod', c => { c.sites.blog.database = { mode: 'replication', replicas: 1 }; }, 'sites.blog.database.replicas', /1 is too few for mode replication.*set replicas: 2 or more, or mode: standalone/],
  ['several standalone servers', c => { c.sites.blog.database.replicas = 3; }, 'sites.blog.database.replicas', /3 standalone servers would be independent, diverging databases.*set mode: replication or galera, or replicas: 1/],
  ['Galera with one node', c => { c.sites.blog.database = { mode: 'galera', replicas: 1 }; }, 'sites.blog.database.replicas', /1 is not an odd number of at least 3 for mode galera: fewer than 3 nodes lose quorum.*set replicas: 3 \(or 5\)/],
  ['Galera with two nodes', c => { c.sites.blog.database = { mode: 'galera', replicas: 2 }; }, 'sites.blog.database.replicas', /2 is not an odd number of at least 3 for mode galera: fewer than 3 nodes lose quorum.*set replicas: 3/],
  ['Galera with an even count', c => { c.sites.blog.database = { mode: 'galera', replicas: 4 }; }, 'sites.blog.database.replicas', /4 is not an odd number of at least 3 for mode galera: an even count can split into two halves.*set replicas: 5 \(or 3\)/],
  ['Galera settings on a standalone server', c => { c.sites.blog.database.galera = { clusterName: 'x' }; }, 'sites.blog.database.galera', /only applies to mode galera, not standalone; set mode: galera or remove it/],
  ['replication settings on Galera', c => { c.sites.blog.database = { mode: 'galera', replication: { user: 'repl' } }; }, 'sites.blog.database.replication', /only applies to mode replication, not galera/],
  ['Galera cluster name with a space', c => { c.sites.blog.database = { mode: 'galera', galera: { clusterName: 'my cluster' } }; }, 'sites.blog.database.galera.clusterName', /use letters, digits, ".", "-" and "_" only/],
  ['replication settings on a standalone server', c => { c.sites.blog.database.replication = { user: 'repl' }; }, 'sites.blog.database.replication', /only applies to mode replication/],
  ['primary beyond the pods', c => { c.sites.blog.database = { mode: 'replication', replicas: 2, replication: { primary: 2 } }; }, 'sites.blog.database.replication.primary', /2 is not the ordinal of a pod of 2 \(0 to 1\)/],
  ['replication lag bound of zero', c => { c.sites.blog.database = { mode: 'replication', replication: { maxLag: '0s' } }; }, 'sites.blog.database.replication.maxLag', /"0s" must be at least 1s/],
  ['WP-Cron schedule with four fields', c => { c.sites.blog.wordpress.cron = { schedule: '*/5 * * *' }; }, 'sites.blog.wordpress.cron.schedule', /schedule "\*\/5 \* \* \*" /],
  ['WP-Cron schedule while disabled', c => { c.sites.blog.wordpress.cron = { enabled: false, schedule: '@hourly' }; }, 'sites.blog.wordpress.cron.schedule', /cron.enabled is false, so no CronJob is rendered/],
  ['autoscaling minimum above its maximum', c => { delete c.sites.blog.wordpress.replicas; c.sites.blog.wordpress.autoscaling = { minReplicas: 5, maxReplicas: 3 }; }, 'sites.blog.wordpress.autoscaling.minReplicas', /5 is above maxReplicas 3; make minReplicas <= maxReplicas/],
  ['autoscaling down to one pod with a PDB', c => { delete c.sites.blog.wordpress.replicas; c.sites.blog.wordpress.autoscaling = { minReplicas: 1, maxReplicas: 3 }; }, 'sites.blog.wordpress.autoscaling.minReplicas', /1 leaves one pod, and the PodDisruptionBudget/],
  ['autoscaling beside fixed replicas', c => { c.sites.blog.wordpress.autoscaling = { minReplicas: 2, maxReplicas: 3 }; }, 'sites.blog.wordpress.replicas', /is 2 while autoscaling is set; .*remove replicas/],
  ['autoscaling without a CPU request', c => { delete c.sites.blog.wordpress.replicas; c.sites.blog.wordpress.autoscaling = { minReplicas: 2, maxReplicas: 3 }; c.sites.blog.wordpress.resources = { requests: { cpu: '0' } }; }, 'sites.blog.wordpress.resources.requests.cpu', /"0" gives the autoscaler no CPU request/],
  ['autoscaling beyond ReadWriteOnce', c => { delete c.sites.blog.wordpress.replicas; c.sites.blog.wordpress.autoscaling = { minReplicas: 2, maxReplicas: 3 }; c.sites.blog.wordpress.content.accessModes = ['ReadWriteOnce']; }, 'sites.blog.wordpress.autoscaling.maxReplicas', /3 replicas need a ReadWriteMany content volume/],
  ['unknown topology spread policy', c => { c.sites.blog.wordpress.topologySpread = { whenUnsatisfiable: 'Never' }; }, 'sites.blog.wordpress.topologySpread.whenUnsatisfiable', /got "Never"\); use one of: ScheduleAnyway, DoNotSchedule/],
  ['unknown database mode', c => { c.sites.blog.database.mode = 'cluster'; }, 'sites.blog.database.mode', /got "cluster"\); use one of: standalone, replication, galera/],
  ['YAML syntax error', 'sites:\n  blog: {exposure: {host: a.example.com}\n', 'line 3', /YAML syntax error/],
  ['duplicate YAML key', 'sites:\n  blog: {exposure: {host: a.example.com}}\n  blog: {exposure: {host: b.example.com}}\n', 'sites.blog', /: key "blog" is given twice, at lines 2 and 3; keep one/],
  ['duplicate YAML key in a list item', 'sites:\n  blog:\n    exposure: {host: a.example.com}\n    wordpress:\n      placement:\n        nodeAffinity:\n          - key: pool\n            operator: Exists\n            key: zone\n',
    'sites.blog.wordpress.placement.nodeAffinity.0.key', /: key "key" is given twice, at lines 7 and 9; keep one/],
  // Namespaces the cluster or another tenant owns: a default-deny policy and a quota there break them.
  ['site in the default namespace', c => { c.sites.blog.namespace = 'default'; }, 'sites.blog.namespace', /: namespace "default" is the cluster's default namespace.*default-deny NetworkPolicies and ResourceQuota.*Set sites.blog.namespace to a namespace of the site's own/],
  ['site named after a kube-* namespace', c => { c.sites['kube-system'] = c.sites.blog; delete c.sites.blog; }, 'sites.kube-system.namespace', /: namespace "kube-system" belongs to Kubernetes itself/],
  ['site in an OpenShift namespace', c => { c.sites.blog.namespace = 'openshift-ingress'; }, 'sites.blog.namespace', /: namespace "openshift-ingress" belongs to OpenShift's own components/],
  ['site in the default ingress controller namespace', c => { c.sites.blog.namespace = 'ingress-nginx'; }, 'sites.blog.namespace', /: namespace "ingress-nginx" is where the ingress controller \(security.ingressController of site "blog" in .*prod.yaml\) runs/],
  ['site in another site\'s controller namespace', c => {
    c.sites.blog.security = { ingressController: { namespaceSelector: { 'kubernetes.io/metadata.name': 'traefik' } } };
    c.sites.shop = { namespace: 'traefik', exposure: { host: 'shop.example.com' } };
  }, 'sites.shop.namespace', /: namespace "traefik" is where the ingress controller \(security.ingressController of site "blog" in .*\) runs.*cutting it off/],
  ['site in the DNS namespace', c => {
    c.sites.blog.security = { dns: { namespaceSelector: { 'kubernetes.io/metadata.name': 'coredns' } } };
    c.sites.shop = { namespace: 'coredns', exposure: { host: 'shop.example.com' } };
  }, 'sites.shop.namespace', /: namespace "coredns" is where the cluster DNS \(security.dns of site "blog" in .*\) runs/],
  // Two sites claiming one thing of the cluster.
  ['two sites for one host and path', c => { c.sites.shop = { exposure: { host: 'blog.example.com' } }; }, 'sites.shop.exposure.host', /: host and path "blog.example.com\/" are already routed to site "blog" of .*prod.yaml: two Ingresses for one URL/],
  ['two sites sharing a static volume name', c => {
    c.sites.blog.wordpress.content.nfs = { server: 'nfs.example.com', path: '/exports/blog', volumeName: 'shared-pv' };
    c.sites.shop = { exposure: { host: 'shop.example.com' }, backup: { volume: { nfs: { server: 'nfs.example.com', path: '/exports/shop', volumeName: 'shared-pv' } } } };
  }, 'sites.shop.backup.volume.nfs.volumeName', /: PersistentVolume "shared-pv" is already the volume of site "blog" of .*prod.yaml; PersistentVolumes are cluster-wide/],
];

describe('bad configs are rejected with file, path, value and fix, and dist/ stays byte-identical', () => {
  const work = tempDir('cdk8s-wp-config-');
  const outDir = path.join(work.dir, 'dist');
  const quiet = { log: () => undefined, warn: () => undefined, error: () => undefined };
  let before: Record<string, string>;

  beforeAll(() => {
    const good = path.join(work.dir, 'good');
    fs.mkdirSync(good);
    fs.writeFileSync(path.join(good, 'prod.yaml'), stringify(BASE));
    expect(synthesize({ configDir: good, outDir, log: quiet })).toBe(0);
    before = readTree(outDir);
    expect(Object.keys(before).sort()).toEqual(['prod/blog/README.md', 'prod/blog/app.k8s.yaml', 'prod/blog/kustomization.yaml', 'prod/blog/storage.k8s.yaml', 'prod/kustomization.yaml']);
  });
  afterAll(() => work.cleanup());

  test('the table covers at least 30 distinct cases', () => {
    expect(new Set(BAD.map(([title]) => title)).size).toBeGreaterThanOrEqual(30);
  });

  test.each(BAD)('%s', (_, change, expectedPath, expectedMessage) => {
    const configDir = fs.mkdtempSync(path.join(work.dir, 'case-'));
    let text: string;
    if (typeof change === 'string') {
      text = change;
    } else {
      const config = structuredClone(BASE) as any;
      change(config);
      text = stringify(config);
    }
    const file = path.join(configDir, 'prod.yaml');
    fs.writeFileSync(file, text);
    const errors: string[] = [];
    const code = synthesize({ configDir, outDir, log: { ...quiet, error: (m: string) => errors.push(m) } });
    expect(code).toBe(1);
    const line = errors.find(e => e.startsWith(`error: ${file}: ${expectedPath}: `));
    expect([line, errors]).toEqual([expect.stringMatching(expectedMessage), errors]);
    expect(errors[errors.length - 1]).toMatch(/error\(s\); .* was left unchanged/);
    expect(readTree(outDir)).toEqual(before);
  });

  test('every problem of a file is reported at once', () => {
    const configDir = fs.mkdtempSync(path.join(work.dir, 'many-'));
    const config = structuredClone(BASE) as any;
    config.sites.blog.wordpress.replicas = 0;
    config.sites.blog.wordpress.image = 'wordpress:6.8-php8.3-apache';
    config.sites.blog.database.databaseName = 'bad-name';
    config.sites.blog.exposure.type = 'Route';
    fs.writeFileSync(path.join(configDir, 'prod.yaml'), stringify(config));
    fs.writeFileSync(path.join(configDir, 'dev.yaml'), stringify({ sites: { x: { exposure: { hots: 'x' } } } }));
    const errors: string[] = [];
    expect(synthesize({ configDir, outDir, log: { ...quiet, error: (m: string) => errors.push(m) } })).toBe(1);
    expect(errors.filter(e => e.startsWith('error: '))).toEqual([
      expect.stringContaining('dev.yaml: sites.x.exposure.hots: unknown key "hots"; did you mean "host"?'),
      expect.stringContaining('prod.yaml: sites.blog.wordpress.replicas: must be >= 1'),
      expect.stringContaining('prod.yaml: sites.blog.database.databaseName: '),
      expect.stringContaining('prod.yaml: sites.blog.exposure.type: '),
    ]);
    expect(readTree(outDir)).toEqual(before);
  });

  test('an environment file name must be a DNS label', () => {
    const configDir = fs.mkdtempSync(path.join(work.dir, 'name-'));
    fs.writeFileSync(path.join(configDir, 'Prod_EU.yaml'), stringify(BASE));
    const errors: string[] = [];
    expect(synthesize({ configDir, outDir, log: { ...quiet, error: (m: string) => errors.push(m) } })).toBe(1);
    expect(errors[0]).toMatch(/Prod_EU.yaml: \(top level\): file name "Prod_EU" is not a valid environment name; rename/);
  });

  test('warnings print but do not fail: hard anti-affinity with more replicas than nodes', () => {
    const configDir = fs.mkdtempSync(path.join(work.dir, 'warn-'));
    const config = structuredClone(BASE) as any;
    config.sites.blog.wordpress.replicas = 3;
    config.sites.blog.wordpress.placement = { antiAffinity: 'hard' };
    fs.writeFileSync(path.join(configDir, 'prod.yaml'), stringify(config));
    const warnings: string[] = [];
    const out = path.join(work.dir, 'warn-out');
    expect(synthesize({ configDir, outDir: out, log: { ...quiet, warn: (m: string) => warnings.push(m) } })).toBe(0);
    expect(warnings).toEqual([expect.stringMatching(/sites.blog.wordpress.placement.antiAffinity: hard anti-affinity with 3 replicas but cluster.nodes is 2: 1 pod\(s\) will stay Pending/)]);
    expect(readTree(out)['prod/blog/app.k8s.yaml']).toContain('requiredDuringSchedulingIgnoredDuringExecution');
  });

  /** Writes `files` (name → config) into a fresh config dir and synthesizes it; returns the code and error lines. */
  const run = (files: Record<string, object>) => {
    const configDir = fs.mkdtempSync(path.join(work.dir, 'cluster-'));
    for (const [name, config] of Object.entries(files)) fs.writeFileSync(path.join(configDir, name), stringify(config));
    const errors: string[] = [];
    const code = synthesize({ configDir, outDir, log: { ...quiet, error: (m: string) => errors.push(m) } });
    return { code, errors: errors.filter(e => e.startsWith('error: ')).map(e => e.slice(e.indexOf(configDir) + configDir.length + 1)) };
  };
  const site = (host: string, extra: object = {}) => ({ exposure: { host }, ...extra });

  describe('files naming one cluster are checked together; dist/ stays byte-identical', () => {
    const cluster = { cluster: { name: 'eu-1' } };
    test.each([
      ['a namespace', { sites: { blog: site('a.example.com') } }, { sites: { blog: site('b.example.com') } },
        'b.yaml: sites.blog.namespace: namespace "blog" is already used by site "blog" of '],
      ['a host and path', { sites: { blog: site('a.example.com') } }, { sites: { shop: site('a.example.com') } },
        'b.yaml: sites.shop.exposure.host: host and path "a.example.com/" are already routed to site "blog" of '],
      ['a PersistentVolume name', { sites: { blog: site('a.example.com', { wordpress: { content: { nfs: { server: 'n', path: '/a', volumeName: 'pv-1' } } } }) } },
        { sites: { shop: site('b.example.com', { wordpress: { content: { nfs: { server: 'n', path: '/b', volumeName: 'pv-1' } } } }) } },
        'b.yaml: sites.shop.wordpress.content.nfs.volumeName: PersistentVolume "pv-1" is already the volume of site "blog" of '],
      ['an ingress controller namespace', { sites: { blog: site('a.example.com') } }, { sites: { 'ingress-nginx': site('b.example.com') } },
        'b.yaml: sites.ingress-nginx.namespace: namespace "ingress-nginx" is where the ingress controller'],
    ])('two files sharing %s', (_, a, b, expected) => {
      const { code, errors } = run({ 'a.yaml': { ...cluster, ...a }, 'b.yaml': { ...cluster, ...b } });
      expect(code).toBe(1);
      expect(errors).toEqual([expect.stringContaining(expected)]);
      expect(errors[0]).toContain('(cluster "eu-1")');
      expect(readTree(outDir)).toEqual(before);
    });

    test('files without cluster.name are clusters of their own: dev and prod may both hold site "blog"', () => {
      const out = path.join(work.dir, 'two-clusters-out');
      const configDir = fs.mkdtempSync(path.join(work.dir, 'two-clusters-'));
      for (const env of ['dev', 'prod']) fs.writeFileSync(path.join(configDir, `${env}.yaml`), stringify({ sites: { blog: site('blog.example.com') } }));
      expect(synthesize({ configDir, outDir: out, log: quiet })).toBe(0);
      expect(Object.keys(readTree(out)).filter(f => f.endsWith('.k8s.yaml')).sort()).toEqual(['dev/blog/app.k8s.yaml', 'dev/blog/storage.k8s.yaml', 'prod/blog/app.k8s.yaml', 'prod/blog/storage.k8s.yaml']);
    });

    test('one host may serve two sites on different paths', () => {
      const paths = { sites: { blog: site('example.com', { exposure: { host: 'example.com', path: '/blog' } }), shop: site('example.com', { exposure: { host: 'example.com', path: '/shop' } }) } };
      expect(run({ 'prod.yaml': paths })).toEqual({ code: 0, errors: [] });
    });
  });

  test('defaults are inherited and overridden key by key', () => {
    const configDir = fs.mkdtempSync(path.join(work.dir, 'defaults-'));
    fs.writeFileSync(path.join(configDir, 'prod.yaml'), stringify({
      defaults: { wordpress: { replicas: 1, tablePrefix: 'x_', content: { accessModes: ['ReadWriteOnce'] } }, exposure: { type: 'nodePort' } },
      sites: { a: {}, b: { wordpress: { tablePrefix: 'b_' } } },
    }));
    const out = path.join(work.dir, 'defaults-out');
    expect(synthesize({ configDir, outDir: out, log: quiet })).toBe(0);
    const tree = readTree(out);
    expect(tree['prod/a/app.k8s.yaml']).toMatch(/WORDPRESS_TABLE_PREFIX\n\s+value: x_/);
    expect(tree['prod/b/app.k8s.yaml']).toMatch(/WORDPRESS_TABLE_PREFIX\n\s+value: b_/);
    expect(tree['prod/b/app.k8s.yaml']).toMatch(/type: NodePort/);
  });
});

describe('generated files are fresh and output is deterministic', () => {
  test('config.schema.json matches the schema in code', () => {
    expect(fs.readFileSync(path.join(REPO, 'config.schema.json'), 'utf8')).toBe(schemaFileText());
  });

  test('the README config reference matches the schema', () => {
    const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf(REFERENCE_START) + REFERENCE_START.length, readme.indexOf(REFERENCE_END));
    expect(section).toBe(`\n${configReference()}`);
  });

  test('the precompiled config validator matches the schema (else run `npm run gen`)', () => {
    // A boolean, not toBe on the text: a diff of 600 kB of one-line generated code helps nobody.
    const fresh = fs.readFileSync(path.join(REPO, VALIDATOR_FILE), 'utf8') === validatorModuleText();
    expect(fresh).toBe(true);
  });

  test('every example config points editors at the schema', () => {
    for (const f of fs.readdirSync(path.join(REPO, 'config')).filter(f => f.endsWith('.yaml'))) {
      expect(fs.readFileSync(path.join(REPO, 'config', f), 'utf8').split('\n')[0]).toBe('# yaml-language-server: $schema=../config.schema.json');
    }
  });

  test('the committed dist/ is what the config renders, byte for byte', () => {
    const rendered = Object.fromEntries(renderEnvironments(exampleEnvironments()));
    expect(readTree(path.join(REPO, 'dist'))).toEqual(rendered);
  });

  test('rendering twice gives identical bytes', () => {
    const once = renderEnvironments(exampleEnvironments());
    const twice = renderEnvironments(exampleEnvironments());
    expect([...twice]).toEqual([...once]);
  });
});

describe('publishing', () => {
  const old = { 'prod/blog/app.k8s.yaml': 'old\n' };
  const withTree = (run: (dir: string, outDir: string) => void) => {
    const work = tempDir('cdk8s-wp-publish-');
    try {
      const outDir = path.join(work.dir, 'dist');
      for (const [file, content] of Object.entries(old)) {
        fs.mkdirSync(path.dirname(path.join(outDir, file)), { recursive: true });
        fs.writeFileSync(path.join(outDir, file), content);
      }
      run(work.dir, outDir);
    } finally {
      work.cleanup();
    }
  };

  /** Makes every write to a path through `folder` fail as a full disk would, until restored. */
  const diskFullIn = (folder: string) => {
    // The module itself, not this file's import namespace (whose properties are read-only getters).
    const nodeFs: typeof fs = require('fs');
    const write = nodeFs.writeFileSync;
    return jest.spyOn(nodeFs, 'writeFileSync').mockImplementation((file, ...rest) => {
      if (String(file).includes(`${path.sep}${folder}${path.sep}`)) throw new Error('ENOSPC: no space left on device');
      write(file, ...rest);
    });
  };

  test('publish swaps in the files and keeps the tree it replaced beside it as the spare', () => withTree((dir, outDir) => {
    publish(new Map([['new.yaml', 'new\n']]), outDir);
    expect(readTree(outDir)).toEqual({ 'new.yaml': 'new\n' });
    expect(fs.readdirSync(dir).sort()).toEqual(['.dist.spare', 'dist']);
    expect(readTree(path.join(dir, '.dist.spare'))).toEqual(old);
  }));

  describe('starting from the spare', () => {
    const inode = (file: string) => fs.statSync(file).ino;

    test('a link in place of the spare is removed, not followed', () => withTree((dir, outDir) => {
      const elsewhere = path.join(dir, 'elsewhere');
      fs.mkdirSync(path.join(elsewhere, 'prod'), { recursive: true });
      fs.writeFileSync(path.join(elsewhere, 'prod', 'keep.txt'), 'keep\n');
      fs.symlinkSync(elsewhere, path.join(dir, '.dist.spare'));
      publish(new Map([['prod/blog/app.k8s.yaml', 'app\n']]), outDir);
      expect(readTree(outDir)).toEqual({ 'prod/blog/app.k8s.yaml': 'app\n' });
      expect(readTree(elsewhere)).toEqual({ 'prod/keep.txt': 'keep\n' });
      expect(fs.lstatSync(path.join(dir, '.dist.spare')).isDirectory()).toBe(true);
    }));

    test('rewrites only the files that changed, removes those no longer rendered, and gives exactly the files', () => withTree((dir, outDir) => {
      const spare = path.join(dir, '.dist.spare');
      const next = new Map([['prod/blog/app.k8s.yaml', 'new\n'], ['prod/blog/README.md', 'same\n'], ['prod/shop/app.k8s.yaml', 'shop\n']]);
      publish(next, outDir);
      // The spare now holds the first tree; make it an older render with extra and changed files.
      publish(new Map([['prod/blog/README.md', 'same\n'], ['prod/blog/app.k8s.yaml', 'older\n'], ['prod/gone/app.k8s.yaml', 'gone\n']]), outDir);
      const before = { same: inode(path.join(outDir, 'prod/blog/README.md')), spareSame: inode(path.join(spare, 'prod/blog/README.md')) };
      publish(next, outDir);
      expect(readTree(outDir)).toEqual(Object.fromEntries(next));
      // The unchanged file of the spare was moved in as it was, not written again.
      expect(inode(path.join(outDir, 'prod/blog/README.md'))).toBe(before.spareSame);
      expect(inode(path.join(spare, 'prod/blog/README.md'))).toBe(before.same);
      expect(readTree(spare)).toEqual({ 'prod/blog/README.md': 'same\n', 'prod/blog/app.k8s.yaml': 'older\n', 'prod/gone/app.k8s.yaml': 'gone\n' });
      // A file that differs from the spare's is rewritten in place: a second name for it sees the new bytes.
      const alias = path.join(dir, 'alias.yaml');
      fs.linkSync(path.join(spare, 'prod/blog/app.k8s.yaml'), alias);
      publish(new Map([...next, ['prod/blog/app.k8s.yaml', 'newest\n']]), outDir);
      expect(fs.readFileSync(path.join(outDir, 'prod/blog/app.k8s.yaml'), 'utf8')).toBe('newest\n');
      expect(fs.readFileSync(alias, 'utf8')).toBe('newest\n');
    }));

    test('replaces a link or folder where a file goes, and a file where a folder goes, never writing through them', () => withTree((dir, outDir) => {
      const spare = path.join(dir, '.dist.spare');
      const outside = path.join(dir, 'outside.txt');
      fs.writeFileSync(outside, 'keep\n');
      fs.mkdirSync(path.join(spare, 'prod/blog/app.k8s.yaml'), { recursive: true });
      fs.symlinkSync(outside, path.join(spare, 'prod/blog/README.md'));
      fs.writeFileSync(path.join(spare, 'dev'), 'a file where a folder goes\n');
      fs.symlinkSync(dir, path.join(spare, 'link-to-folder'));
      const files = new Map([['prod/blog/app.k8s.yaml', 'app\n'], ['prod/blog/README.md', 'readme\n'], ['dev/blog/app.k8s.yaml', 'dev\n']]);
      publish(files, outDir);
      expect(readTree(outDir)).toEqual(Object.fromEntries(files));
      expect(fs.lstatSync(path.join(outDir, 'prod/blog/README.md')).isFile()).toBe(true);
      expect(fs.readFileSync(outside, 'utf8')).toBe('keep\n');
    }));
  });

  test('a write that fails halfway leaves the previous tree, and what was staged only as the spare', () => withTree((dir, outDir) => {
    const full = diskFullIn('b');
    try {
      expect(() => publish(new Map([['a/half.yaml', 'half\n'], ['b/other.yaml', 'other\n']]), outDir)).toThrow('ENOSPC: no space left on device');
      expect(full).toHaveBeenCalledTimes(2);
    } finally {
      full.mockRestore();
    }
    expect(readTree(outDir)).toEqual(old);
    expect(fs.readdirSync(dir).sort()).toEqual(['.dist.spare', 'dist']);
  }));

  test('a disk error after some sites were written leaves dist/ as it was', () => withTree((dir, outDir) => {
    const configDir = path.join(dir, 'config');
    fs.mkdirSync(configDir);
    fs.writeFileSync(path.join(configDir, 'prod.yaml'), stringify({
      sites: { a: { exposure: { host: 'a.example.com' } }, b: { exposure: { host: 'b.example.com' } } },
    }));
    const full = diskFullIn('b');
    const errors: string[] = [];
    try {
      const code = synthesize({ configDir, outDir, log: { log() {}, warn() {}, error: (m: string) => errors.push(m) } });
      expect({ code, errors }).toEqual({ code: 1, errors: [`error: ENOSPC: no space left on device\n${outDir}/ was left unchanged.`] });
      // Site a had been written into the staging folder before b failed.
      expect(full.mock.calls.map(([f]) => path.relative(dir, String(f)).split(path.sep).slice(1).join('/'))).toEqual(['prod/a/storage.k8s.yaml', 'prod/a/app.k8s.yaml', 'prod/a/README.md', 'prod/a/kustomization.yaml', 'prod/b/storage.k8s.yaml']);
    } finally {
      full.mockRestore();
    }
    expect(readTree(outDir)).toEqual(old);
    expect(fs.readdirSync(dir).sort()).toEqual(['.dist.spare', 'config', 'dist']);
  }));

  test('files staged as they come stay out of dist/ until the commit', () => withTree((dir, outDir) => {
    const tree = new StagedTree(outDir);
    tree.write([['prod/a/app.k8s.yaml', 'a\n']]);
    tree.write([['prod/b/app.k8s.yaml', 'b\n']]);
    expect(readTree(outDir)).toEqual(old);
    tree.commit();
    expect(readTree(outDir)).toEqual({ 'prod/a/app.k8s.yaml': 'a\n', 'prod/b/app.k8s.yaml': 'b\n' });
    expect([tree.files, fs.readdirSync(dir).sort()]).toEqual([2, ['.dist.spare', 'dist']]);
  }));

  describe('the CLI\'s folder', () => {
    const twoEnvironments = (configDir: string) => {
      fs.mkdirSync(configDir);
      for (const env of ['other', 'prod']) {
        fs.writeFileSync(path.join(configDir, `${env}.yaml`), stringify({
          sites: { a: { exposure: { host: `a.${env}.example.com` } }, b: { exposure: { host: `b.${env}.example.com` } } },
        }));
      }
    };

    test('holds one file per environment: its sites\' manifests in dist/ order', () => withTree((dir, outDir) => {
      twoEnvironments(path.join(dir, 'config'));
      const cliOutDir = path.join(dir, '.cdk8s-out');
      fs.mkdirSync(cliOutDir);
      // A file the app did not write there (a validation plugin's, say) is kept.
      fs.writeFileSync(path.join(cliOutDir, 'app.js'), '// bundle\n');
      expect(synthesize({ configDir: path.join(dir, 'config'), outDir, cliOutDir, log: { log() {}, warn() {}, error() {} } })).toBe(0);
      const dist = readTree(outDir);
      const env = (name: string) => ['a', 'b'].flatMap(site => [dist[`${name}/${site}/storage.k8s.yaml`], dist[`${name}/${site}/app.k8s.yaml`]]).join('---\n');
      expect(readTree(cliOutDir)).toEqual({ 'app.js': '// bundle\n', 'other.k8s.yaml': env('other'), 'prod.k8s.yaml': env('prod') });
    }));

    test('and dist/ keep nothing of a run that failed after some environments were written', () => withTree((dir, outDir) => {
      twoEnvironments(path.join(dir, 'config'));
      const cliOutDir = path.join(dir, '.cdk8s-out');
      // Every site of "other" has been staged and copied for the CLI when the first of "prod" fails.
      const full = diskFullIn('prod');
      const errors: string[] = [];
      try {
        const code = synthesize({ configDir: path.join(dir, 'config'), outDir, cliOutDir, log: { log() {}, warn() {}, error: (m: string) => errors.push(m) } });
        expect({ code, errors }).toEqual({ code: 1, errors: [`error: ENOSPC: no space left on device\n${outDir}/ was left unchanged.`] });
      } finally {
        full.mockRestore();
      }
      expect(readTree(outDir)).toEqual(old);
      expect(readTree(cliOutDir)).toEqual({});
      expect(fs.readdirSync(dir).sort()).toEqual(['.cdk8s-out', '.dist.spare', 'config', 'dist']);
    }));
  });
});
