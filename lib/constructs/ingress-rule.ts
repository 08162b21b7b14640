import { Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { objectLabels, ComponentIdentity } from '../k8s/labels';
import type { DatabaseClient } from './mariadb-statefulset';

/** A Service that serves HTTP, such as `WordPressApp`. */
export interface IHttpBackend {
  /** Name of the ClusterIP Service. */
  readonly serviceName: string;
  /** Port of that Service. */
  readonly servicePort: number;
  /**
   * HTTPS port of that Service, for TLS re-encryption or passthrough.
   * @default the backend serves HTTP only
   */
  readonly httpsServicePort?: number;
  /** Labels selecting the pods behind it (for a NodePort/LoadBalancer Service). */
  readonly selectorLabels: Record<string, string>;
  /** Identity used for labels. */
  readonly identity: ComponentIdentity;
  /**
   * Workloads inside the namespace that call the Service; `SiteNetworkPolicies` reads them when it
   * is created, so wire them before it.
   * @default none
   */
  readonly clients?: readonly DatabaseClient[];
}

/** How the site is reached from outside the cluster. */
export enum ExposureType {
  /**
   * An Ingress rule for the cluster's ingress controller, where TLS ends; the site's
   * NetworkPolicy then admits only the controller's pods to WordPress.
   */
  INGRESS = 'ingress',
  /** A NodePort Service (clusters without an ingress controller). */
  NODE_PORT = 'nodePort',
  /** A LoadBalancer Service. */
  LOAD_BALANCER = 'loadBalancer',
  /** A Gateway API HTTPRoute attached to an existing Gateway (see `GatewayRoute`). */
  GATEWAY = 'gateway',
  /** An OpenShift Route (see `OpenShiftRoute`). */
  ROUTE = 'route',
}

/** Where TLS ends on the way in. */
export enum TlsMode {
  /** At the controller, gateway or router; HTTP from there to WordPress. */
  EDGE = 'edge',
  /** At the edge, and again from there to WordPress's HTTPS port (backend TLS). */
  REENCRYPT = 'reencrypt',
  /** Only at WordPress: the edge forwards the TLS connection as it is (by SNI). */
  PASSTHROUGH = 'passthrough',
}

/** The controller behind an IngressClass, for the annotations only it understands. */
export enum IngressController {
  /** ingress-nginx (kubernetes/ingress-nginx): canary, backend-protocol, ssl-passthrough, service-upstream. */
  INGRESS_NGINX = 'ingress-nginx',
  /** Any other: only the portable Ingress fields are rendered. */
  OTHER = 'other',
}

/** A second backend that gets `weight` percent of the requests; the main backend gets the rest. */
export interface CanaryBackend {
  /** The canary's Service. */
  readonly backend: IHttpBackend;
  /** Percent of the requests (a whole number from 0 to 100). */
  readonly weight: number;
}

/** Throws unless `weight` is a whole number from 0 to 100. */
export function checkCanaryWeight(owner: string, canary: CanaryBackend | undefined): void {
  if (canary && (!Number.isInteger(canary.weight) || canary.weight < 0 || canary.weight > 100)) {
    throw new Error(`${owner}: canary weight is ${canary.weight}; use a whole number from 0 to 100`);
  }
}

/** Path of WordPress's database upgrade page under a site path: routed to the stable track only. */
export function upgradePath(sitePath: string): string {
  return `${sitePath.replace(/\/+$/, '')}/wp-admin/upgrade.php`;
}

/** ingress-nginx annotations, by the feature that renders them (the README lists them). */
export const NGINX = {
  backendProtocol: 'nginx.ingress.kubernetes.io/backend-protocol',
  sslPassthrough: 'nginx.ingress.kubernetes.io/ssl-passthrough',
  canary: 'nginx.ingress.kubernetes.io/canary',
  canaryWeight: 'nginx.ingress.kubernetes.io/canary-weight',
  serviceUpstream: 'nginx.ingress.kubernetes.io/service-upstream',
  upstreamVhost: 'nginx.ingress.kubernetes.io/upstream-vhost',
} as const;

/** TLS for an Ingress. */
export class IngressTls {
  /** A certificate in an existing `kubernetes.io/tls` Secret. */
  public static fromSecret(secretName: string): IngressTls {
    return new IngressTls(secretName);
  }

  /**
   * A certificate issued by cert-manager into `secretName`.
   * @param secretName Secret cert-manager writes; defaults to `<ingress name>-tls`
   */
  public static certManager(issuer: string, kind: IssuerKind = IssuerKind.CLUSTER_ISSUER, secretName?: string): IngressTls {
    return new IngressTls(secretName, { issuer, kind });
  }

  private constructor(
    /** The TLS Secret the Ingress names; with cert-manager and none given, `<ingress name>-tls`. */
    public readonly secretName?: string,
    /** The cert-manager issuer (name and kind) that writes the Secret, if any. */
    public readonly issuer?: { readonly issuer: string; readonly kind: IssuerKind },
  ) {}
}

/** Kind of cert-manager issuer. */
export enum IssuerKind {
  /** An issuer in the site's own namespace. */
  ISSUER = 'Issuer',
  /** A cluster-wide issuer. */
  CLUSTER_ISSUER = 'ClusterIssuer',
}

/** Props of `IngressRule`. */
export interface IngressRuleProps {
  /** The Service to route to. */
  readonly backend: IHttpBackend;
  /**
   * Ingress, NodePort or LoadBalancer.
   * @default ExposureType.INGRESS
   */
  readonly type?: ExposureType;
  /** Host name of the site (required for an Ingress). */
  readonly host?: string;
  /**
   * Path prefix routed to the site.
   * @default '/'
   */
  readonly path?: string;
  /**
   * IngressClass.
   * @default the cluster's default IngressClass
   */
  readonly ingressClassName?: string;
  /**
   * TLS.
   * @default no TLS (plain HTTP)
   */
  readonly tls?: IngressTls;
  /**
   * Extra annotations on the Ingress or Service (e.g. body-size limits of the controller).
   * @default none
   */
  readonly annotations?: Record<string, string>;
  /**
   * Fixed node port (30000-32767) for NodePort/LoadBalancer.
   * @default assigned by Kubernetes
   */
  readonly nodePort?: number;
  /**
   * Where TLS ends. `REENCRYPT` and `PASSTHROUGH` need a backend with `httpsServicePort` and
   * ingress-nginx (`backend-protocol: HTTPS`, `ssl-passthrough: "true"`; the latter also needs the
   * controller started with `--enable-ssl-passthrough`). Passthrough routes by host only, so the path
   * must be `/`, and the certificate is the backend's own (no `tls`).
   * @default TlsMode.EDGE
   */
  readonly tlsMode?: TlsMode;
  /**
   * The controller behind the IngressClass.
   * @default IngressController.INGRESS_NGINX when ingressClassName is unset or "nginx", else OTHER
   */
  readonly controller?: IngressController;
  /**
   * A canary: a second Ingress `<name>-canary` with ingress-nginx's canary annotations (same host and
   * path, `canary-weight`), and the database upgrade page kept on the main backend by an Exact path
   * the canary Ingress does not have. Needs ingress-nginx and edge or re-encrypt TLS.
   * @default no canary
   */
  readonly canary?: CanaryBackend;
  /**
   * The controller's pods run a mesh sidecar: ingress-nginx sends to the Service address (not to the
   * pod addresses it would pick itself) with the Service's cluster name as Host, so the mesh's
   * routing (a VirtualService) applies (`service-upstream`, `upstream-vhost`).
   * @default false
   */
  readonly meshUpstream?: boolean;
}

/**
 * Exposes an HTTP backend: host + path → Service with optional TLS, or, for clusters without an
 * ingress controller, a NodePort or LoadBalancer Service named `<service>-external`.
 */
export class IngressRule extends Construct {
  /** Name of the Ingress or external Service. */
  public readonly name: string;

  constructor(scope: Construct, id: string, props: IngressRuleProps) {
    super(scope, id);
    const type = props.type ?? ExposureType.INGRESS;
    const backend = props.backend;
    const labels = objectLabels(backend.identity);

    if (type === ExposureType.GATEWAY || type === ExposureType.ROUTE) {
      throw new Error(`IngressRule: type ${type} is rendered by ${type === ExposureType.GATEWAY ? 'GatewayRoute' : 'OpenShiftRoute'}; use that construct`);
    }
    if (type === ExposureType.INGRESS) {
      if (!props.host) {
        throw new Error('IngressRule: host is missing; an Ingress needs the site\'s host name, e.g. "blog.example.com"');
      }
      if (props.nodePort !== undefined) {
        throw new Error('IngressRule: nodePort is set but type is ingress; remove nodePort or use type nodePort/loadBalancer');
      }
      this.name = backend.serviceName;
      this.renderIngress(props, props.host, labels);
      return;
    }

    if (props.tlsMode !== undefined && props.tlsMode !== TlsMode.EDGE) {
      throw new Error(`IngressRule: tlsMode ${props.tlsMode} only applies to an Ingress; a ${type} Service forwards TCP as it is`);
    }
    if (props.canary || props.meshUpstream) {
      throw new Error(`IngressRule: canary/meshUpstream need an Ingress, not a ${type} Service (nothing there splits requests); use type ingress`);
    }
    if (props.tls || props.ingressClassName) {
      throw new Error(`IngressRule: tls/ingressClassName only apply to type ingress, not ${type}; remove them or use an Ingress`);
    }
    if (props.nodePort !== undefined && (!Number.isInteger(props.nodePort) || props.nodePort < 30000 || props.nodePort > 32767)) {
      throw new Error(`IngressRule: nodePort is ${props.nodePort}; use a port from 30000 to 32767 or leave it unset`);
    }
    this.name = `${backend.serviceName}-external`;
    new k8s.KubeService(this, 'Resource', {
      metadata: { name: this.name, labels, annotations: props.annotations },
      spec: {
        type: type === ExposureType.NODE_PORT ? 'NodePort' : 'LoadBalancer',
        selector: backend.selectorLabels,
        ports: [{
          name: 'http',
          port: backend.servicePort,
          targetPort: k8s.IntOrString.fromString('http'),
          protocol: 'TCP',
          nodePort: props.nodePort,
        }],
      },
    });
  }

  private renderIngress(props: IngressRuleProps, host: string, labels: Record<string, string>) {
    const backend = props.backend;
    const mode = props.tlsMode ?? TlsMode.EDGE;
    const controller = props.controller
      ?? (props.ingressClassName === undefined || props.ingressClassName === 'nginx' ? IngressController.INGRESS_NGINX : IngressController.OTHER);
    const path = props.path ?? '/';
    const canary = props.canary;
    checkCanaryWeight('IngressRule', canary);
    const nginxOnly = [
      mode !== TlsMode.EDGE && `tlsMode ${mode}`, canary && 'a canary', props.meshUpstream && 'meshUpstream',
    ].filter((x): x is string => typeof x === 'string');
    if (controller !== IngressController.INGRESS_NGINX && nginxOnly.length) {
      throw new Error(`IngressRule: ${nginxOnly.join(', ')} ${nginxOnly.length === 1 ? 'needs' : 'need'} ingress-nginx annotations, but the controller is ${controller}; `
        + 'use ingress-nginx (controller: ingress-nginx) or leave them out');
    }
    if (mode !== TlsMode.EDGE && !backend.httpsServicePort) {
      throw new Error(`IngressRule: tlsMode ${mode} needs a backend that serves HTTPS (httpsServicePort); give WordPress a certificate (httpsSecret)`);
    }
    if (mode === TlsMode.PASSTHROUGH) {
      if (path !== '/') throw new Error(`IngressRule: path is "${path}" but passthrough routes by host name only (the path is inside the TLS stream); use path "/"`);
      if (props.tls) throw new Error('IngressRule: tls is set with passthrough, where the certificate is the backend\'s own; remove tls');
      if (canary) throw new Error('IngressRule: a canary cannot be split by ingress-nginx with passthrough (it never sees the requests); use edge or reencrypt');
    }
    if (props.meshUpstream && mode !== TlsMode.EDGE) {
      throw new Error(`IngressRule: meshUpstream with tlsMode ${mode}: in a mesh the sidecars encrypt (mutual TLS); use edge`);
    }
    if (canary && !canary.backend.httpsServicePort && mode === TlsMode.REENCRYPT) {
      throw new Error('IngressRule: the canary backend serves no HTTPS but tlsMode is reencrypt; give it the same certificate');
    }

    const annotations: Record<string, string> = { ...props.annotations };
    const tls = props.tls;
    if (tls?.issuer) {
      annotations[tls.issuer.kind === IssuerKind.CLUSTER_ISSUER ? 'cert-manager.io/cluster-issuer' : 'cert-manager.io/issuer'] = tls.issuer.issuer;
    }
    if (mode === TlsMode.REENCRYPT) annotations[NGINX.backendProtocol] = 'HTTPS';
    if (mode === TlsMode.PASSTHROUGH) annotations[NGINX.sslPassthrough] = 'true';
    if (props.meshUpstream) {
      annotations[NGINX.serviceUpstream] = 'true';
      annotations[NGINX.upstreamVhost] = `${backend.serviceName}.${Chart.of(this).namespace}.svc.cluster.local`;
    }
    const port = (b: IHttpBackend) => (mode === TlsMode.EDGE ? b.servicePort : b.httpsServicePort!);
    const toService = (b: IHttpBackend): k8s.IngressBackend => ({ service: { name: b.serviceName, port: { number: port(b) } } });
    const paths: k8s.HttpIngressPath[] = [{ path, pathType: 'Prefix', backend: toService(backend) }];
    // A location of its own, which the canary Ingress does not have: ingress-nginx never sends it to the canary.
    if (canary) paths.unshift({ path: upgradePath(path), pathType: 'Exact', backend: toService(backend) });
    new k8s.KubeIngress(this, 'Resource', {
      metadata: { name: this.name, labels, annotations: Object.keys(annotations).length ? annotations : undefined },
      spec: {
        ingressClassName: props.ingressClassName,
        tls: tls ? [{ hosts: [host], secretName: tls.secretName ?? `${this.name}-tls` }] : undefined,
        rules: [{ host, http: { paths } }],
      },
    });
    if (canary) {
      // ingress-nginx takes every other setting from the main Ingress of the same host and path.
      const canaryAnnotations: Record<string, string> = { [NGINX.canary]: 'true', [NGINX.canaryWeight]: String(canary.weight) };
      if (mode === TlsMode.REENCRYPT) canaryAnnotations[NGINX.backendProtocol] = 'HTTPS';
      new k8s.KubeIngress(this, 'Canary', {
        metadata: { name: `${this.name}-canary`, labels: objectLabels(canary.backend.identity), annotations: canaryAnnotations },
        spec: {
          ingressClassName: props.ingressClassName,
          rules: [{ host, http: { paths: [{ path, pathType: 'Prefix', backend: toService(canary.backend) }] } }],
        },
      });
    }
  }
}
