import { Construct } from 'constructs';
import {
  Route, RouteSpecAlternateBackendsKind, RouteSpecTls, RouteSpecTlsInsecureEdgeTerminationPolicy, RouteSpecTlsTermination, RouteSpecToKind,
} from '../../imports/route.openshift.io';
import { objectLabels } from '../k8s/labels';
import { CanaryBackend, IHttpBackend, TlsMode, checkCanaryWeight, upgradePath } from './ingress-rule';

/** Props of `OpenShiftRoute`. */
export interface OpenShiftRouteProps {
  /** The Service to route to. */
  readonly backend: IHttpBackend;
  /** Host name of the site. */
  readonly host: string;
  /**
   * Path prefix routed to the site (not with passthrough, which routes by host name only).
   * @default '/'
   */
  readonly path?: string;
  /**
   * Where TLS ends: `EDGE` at the router (HTTP on to the pods, plain HTTP redirected to HTTPS),
   * `REENCRYPT` at the router and again from it to the backend's HTTPS port, `PASSTHROUGH` at the
   * backend only. The last two need a backend with `httpsServicePort`.
   * @default TlsMode.EDGE
   */
  readonly tlsMode?: TlsMode;
  /**
   * `kubernetes.io/tls` Secret in the namespace with the certificate the router presents (edge,
   * reencrypt; `spec.tls.externalCertificate`, which the router's ServiceAccount must be allowed to read).
   * @default the router's default (wildcard) certificate
   */
  readonly certificateSecret?: string;
  /**
   * A canary: `alternateBackends` with the weights (100 − weight and weight), and, unless
   * passthrough, a Route `<name>-upgrade` keeping the database upgrade page on the main backend.
   * @default no canary
   */
  readonly canary?: CanaryBackend;
  /**
   * Extra annotations on the Route (e.g. `haproxy.router.openshift.io/timeout`).
   * @default none
   */
  readonly annotations?: Record<string, string>;
}

/**
 * Exposes an HTTP backend through OpenShift's router: a `Route` (route.openshift.io/v1) named like the
 * Service, with TLS at the edge (plain HTTP redirected), re-encrypted, or passed through to the pods.
 */
export class OpenShiftRoute extends Construct {
  /** Name of the Route. */
  public readonly name: string;
  /** The Route object. */
  public readonly route: Route;

  constructor(scope: Construct, id: string, props: OpenShiftRouteProps) {
    super(scope, id);
    checkCanaryWeight('OpenShiftRoute', props.canary);
    const backend = props.backend;
    const mode = props.tlsMode ?? TlsMode.EDGE;
    const path = props.path ?? '/';
    if (mode !== TlsMode.EDGE && !backend.httpsServicePort) {
      throw new Error(`OpenShiftRoute: tlsMode ${mode} needs a backend that serves HTTPS (httpsServicePort); give WordPress a certificate (httpsSecret)`);
    }
    if (mode === TlsMode.PASSTHROUGH && path !== '/') {
      throw new Error(`OpenShiftRoute: path is "${path}" but passthrough routes by host name only (the path is inside the TLS stream); use path "/"`);
    }
    if (mode === TlsMode.PASSTHROUGH && props.certificateSecret) {
      throw new Error('OpenShiftRoute: certificateSecret is set with passthrough, where the certificate is the backend\'s own; remove it');
    }
    if (props.canary && mode !== TlsMode.EDGE && !props.canary.backend.httpsServicePort) {
      throw new Error(`OpenShiftRoute: the canary backend serves no HTTPS but tlsMode is ${mode}; give it a certificate too`);
    }
    this.name = backend.serviceName;
    const labels = objectLabels(backend.identity);
    const tls: RouteSpecTls = {
      termination: { edge: RouteSpecTlsTermination.EDGE, reencrypt: RouteSpecTlsTermination.REENCRYPT, passthrough: RouteSpecTlsTermination.PASSTHROUGH }[mode],
      insecureEdgeTerminationPolicy: RouteSpecTlsInsecureEdgeTerminationPolicy.REDIRECT,
      externalCertificate: props.certificateSecret ? { name: props.certificateSecret } : undefined,
    };
    // targetPort names the pods' port, through the Service: "http" for edge, "https" otherwise.
    const port = { targetPort: mode === TlsMode.EDGE ? 'http' : 'https' };
    const routePath = mode === TlsMode.PASSTHROUGH || path === '/' ? undefined : path;
    const canary = props.canary;
    this.route = new Route(this, 'Resource', {
      metadata: { name: this.name, labels, annotations: props.annotations },
      spec: {
        host: props.host,
        path: routePath,
        to: { kind: RouteSpecToKind.SERVICE, name: backend.serviceName, weight: canary ? 100 - canary.weight : 100 },
        alternateBackends: canary && [{ kind: RouteSpecAlternateBackendsKind.SERVICE, name: canary.backend.serviceName, weight: canary.weight }],
        port,
        tls,
        wildcardPolicy: undefined,
      },
    });
    if (canary && mode !== TlsMode.PASSTHROUGH) {
      // The router picks the Route with the longest matching path: this one wins for the upgrade page.
      new Route(this, 'Upgrade', {
        metadata: { name: `${this.name}-upgrade`, labels, annotations: props.annotations },
        spec: { host: props.host, path: upgradePath(path), to: { kind: RouteSpecToKind.SERVICE, name: backend.serviceName, weight: 100 }, port, tls },
      });
    }
  }
}
