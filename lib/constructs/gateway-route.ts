import { Construct } from 'constructs';
import {
  HttpRoute, HttpRouteSpecRules, HttpRouteSpecRulesBackendRefs, HttpRouteSpecRulesFiltersRequestRedirectScheme,
  HttpRouteSpecRulesFiltersRequestRedirectStatusCode, HttpRouteSpecRulesFiltersType, HttpRouteSpecRulesMatchesPathType,
} from '../../imports/httproutes-gateway.networking.k8s.io';
import { objectLabels } from '../k8s/labels';
import { CanaryBackend, IHttpBackend, checkCanaryWeight, upgradePath } from './ingress-rule';

/** The Gateway (and listener) an HTTPRoute attaches to. */
export interface GatewayRef {
  /** Name of the Gateway. */
  readonly name: string;
  /** Namespace of the Gateway (its listener must admit routes from the site's namespace). */
  readonly namespace: string;
  /**
   * Listener to attach to, e.g. "https".
   * @default every listener of the Gateway that admits the route
   */
  readonly sectionName?: string;
}

/** Props of `GatewayRoute`. */
export interface GatewayRouteProps {
  /** The Service to route to. */
  readonly backend: IHttpBackend;
  /** The Gateway to attach to. */
  readonly gateway: GatewayRef;
  /** Host name of the site. */
  readonly host: string;
  /**
   * Path prefix routed to the site.
   * @default '/'
   */
  readonly path?: string;
  /**
   * Plain-HTTP listener of the same Gateway on which an HTTPRoute `<name>-redirect` answers every
   * request for the host with a 301 to https.
   * @default no redirect route
   */
  readonly redirectSectionName?: string;
  /**
   * A canary: weighted backendRefs (100 − weight to the backend, weight to the canary), and the
   * database upgrade page on the main backend only.
   * @default no canary
   */
  readonly canary?: CanaryBackend;
  /**
   * Extra annotations on the HTTPRoutes.
   * @default none
   */
  readonly annotations?: Record<string, string>;
}

/**
 * Exposes an HTTP backend through an existing Gateway (Gateway API v1): an `HTTPRoute` named like the
 * Service, attached by `parentRefs` to the Gateway's listener, matching the host and path prefix.
 * TLS ends at the Gateway's listener, whose certificate the Gateway's owner configures.
 */
export class GatewayRoute extends Construct {
  /** Name of the HTTPRoute. */
  public readonly name: string;
  /** The HTTPRoute object. */
  public readonly route: HttpRoute;

  constructor(scope: Construct, id: string, props: GatewayRouteProps) {
    super(scope, id);
    checkCanaryWeight('GatewayRoute', props.canary);
    if (props.redirectSectionName !== undefined && props.redirectSectionName === props.gateway.sectionName) {
      throw new Error(`GatewayRoute: redirectSectionName "${props.redirectSectionName}" is the listener the site itself is served on, `
        + 'which would redirect every request to itself; use the Gateway\'s plain-HTTP listener');
    }
    const backend = props.backend;
    const labels = objectLabels(backend.identity);
    const path = props.path ?? '/';
    this.name = backend.serviceName;
    const parent = (sectionName: string | undefined) => [{
      group: 'gateway.networking.k8s.io', kind: 'Gateway', name: props.gateway.name, namespace: props.gateway.namespace, sectionName,
    }];
    const ref = (b: IHttpBackend, weight?: number): HttpRouteSpecRulesBackendRefs => ({
      group: '', kind: 'Service', name: b.serviceName, port: b.servicePort, weight,
    });
    const prefix = { path: { type: HttpRouteSpecRulesMatchesPathType.PATH_PREFIX, value: path } };
    const rules: HttpRouteSpecRules[] = [];
    if (props.canary) {
      rules.push({ matches: [{ path: { type: HttpRouteSpecRulesMatchesPathType.EXACT, value: upgradePath(path) } }], backendRefs: [ref(backend)] });
      rules.push({ matches: [prefix], backendRefs: [ref(backend, 100 - props.canary.weight), ref(props.canary.backend, props.canary.weight)] });
    } else {
      rules.push({ matches: [prefix], backendRefs: [ref(backend)] });
    }
    this.route = new HttpRoute(this, 'Resource', {
      metadata: { name: this.name, labels, annotations: props.annotations },
      spec: { parentRefs: parent(props.gateway.sectionName), hostnames: [props.host], rules },
    });
    if (props.redirectSectionName !== undefined) {
      new HttpRoute(this, 'Redirect', {
        metadata: { name: `${this.name}-redirect`, labels, annotations: props.annotations },
        spec: {
          parentRefs: parent(props.redirectSectionName),
          hostnames: [props.host],
          rules: [{
            filters: [{
              type: HttpRouteSpecRulesFiltersType.REQUEST_REDIRECT,
              requestRedirect: {
                scheme: HttpRouteSpecRulesFiltersRequestRedirectScheme.HTTPS,
                statusCode: HttpRouteSpecRulesFiltersRequestRedirectStatusCode.VALUE_301,
              },
            }],
          }],
        },
      });
    }
  }
}
