import { k8s } from 'cdk8s-plus-27';
import {
  EXPORTER_RESOURCES, METRICS_PORT_NAME, ResolvedTimings, exporterProbes, resourceRequirements, restrictedContainerSecurityContext,
} from '../k8s/pod-spec';

/**
 * apache_exporter (github.com/Lusitaniae/apache_exporter, which Debian packages as
 * prometheus-apache-exporter), pinned by tag, from the quay.io organisation its release CI pushes to.
 */
export const APACHE_EXPORTER_DEFAULT_IMAGE = 'quay.io/lusitaniae/apache-exporter:v1.1.1';

/** Port of apache_exporter's /metrics in the WordPress pods (its default). */
export const APACHE_EXPORTER_PORT = 9117;

/** Port of Apache's mod_status listener, bound to 127.0.0.1: it is not on the pod IP at all. */
export const APACHE_STATUS_PORT = 8080;

/**
 * MaxRequestWorkers of the image's prefork MPM (Debian's mpm_prefork.conf), restated together with
 * an equal ServerLimit: the scoreboard then has one slot per worker Apache may start, whatever the
 * default ServerLimit of the Apache version, so busy / `apache_scoreboard` slots is the share of
 * the limit in use.
 */
export const APACHE_MAX_REQUEST_WORKERS = 150;

/** `nobody`, the USER of the exporter image: it reads no file, so it shares no UID with Apache. */
const NOBODY = 65534;

/**
 * What WordPress's Apache adds for the exporter. Debian's status.conf, enabled in the image, serves
 * /server-status on every listener to "local" clients, and the image's mod_remoteip takes the client
 * address from X-Forwarded-For whenever the peer has a private address, so a request relayed by a
 * proxy in the pod network can pass as local: the public listeners refuse the page outright (not
 * left to WordPress's .htaccess, whose rewrite to index.php hides it only while that file has the
 * rule) and only a listener on loopback serves it. That vhost reads no .htaccess (the rewrite would
 * take the page there too) and serves nothing else, aliases such as Debian's /icons/ included.
 */
export const APACHE_STATUS_CONF = [
  '# mod_status for the apache-exporter sidecar, on loopback only; refused on every other listener.',
  '<IfModule !status_module>',
  '  LoadModule status_module /usr/lib/apache2/modules/mod_status.so',
  '</IfModule>',
  '<IfModule mpm_prefork_module>',
  `  ServerLimit ${APACHE_MAX_REQUEST_WORKERS}`,
  `  MaxRequestWorkers ${APACHE_MAX_REQUEST_WORKERS}`,
  '</IfModule>',
  '<Location "/server-status">',
  '  Require all denied',
  '</Location>',
  `Listen 127.0.0.1:${APACHE_STATUS_PORT}`,
  `<VirtualHost 127.0.0.1:${APACHE_STATUS_PORT}>`,
  '  DocumentRoot /var/www/html',
  '  <Directory /var/www/html>',
  '    AllowOverride None',
  '  </Directory>',
  '  <Location "/">',
  '    Require all denied',
  '  </Location>',
  '  <Location "/server-status">',
  '    SetHandler server-status',
  '    Require ip 127.0.0.1',
  '  </Location>',
  '</VirtualHost>',
].join('\n');

/** The apache_exporter sidecar of a WordPress pod, reading mod_status over loopback. */
export function apacheExporterContainer(image: string, timings: { startup: ResolvedTimings; liveness: ResolvedTimings; readiness: ResolvedTimings }): k8s.Container {
  return {
    name: 'apache-exporter',
    image,
    imagePullPolicy: 'IfNotPresent',
    args: [`--scrape_uri=http://127.0.0.1:${APACHE_STATUS_PORT}/server-status?auto`, `--web.listen-address=:${APACHE_EXPORTER_PORT}`],
    ports: [{ name: METRICS_PORT_NAME, containerPort: APACHE_EXPORTER_PORT, protocol: 'TCP' }],
    resources: resourceRequirements(EXPORTER_RESOURCES),
    securityContext: restrictedContainerSecurityContext(NOBODY, NOBODY),
    ...exporterProbes(timings),
  };
}
