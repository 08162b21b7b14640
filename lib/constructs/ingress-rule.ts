import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { objectLabels, ComponentIdentity } from '../k8s/labels';

/** A Service that serves HTTP, such as `WordPressApp`. */
export interface IHttpBackend {
  /** Name of the ClusterIP Service. */
  readonly serviceName: string;
  /** Port of that Service. */
  readonly servicePort: number;
  /** Labels selecting the pods behind it (for a NodePort/LoadBalancer Service). */
  readonly selectorLabels: Record<string, string>;
  /** Identity used for labels. */
  readonly identity: ComponentIdentity;
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
}

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
    public readonly secretName?: string,
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

    if (type === ExposureType.INGRESS) {
      if (!props.host) {
        throw new Error('IngressRule: host is missing; an Ingress needs the site\'s host name, e.g. "blog.example.com"');
      }
      if (props.nodePort !== undefined) {
        throw new Error('IngressRule: nodePort is set but type is ingress; remove nodePort or use type nodePort/loadBalancer');
      }
      this.name = backend.serviceName;
      const annotations: Record<string, string> = { ...props.annotations };
      const tls = props.tls;
      if (tls?.issuer) {
        annotations[tls.issuer.kind === IssuerKind.CLUSTER_ISSUER ? 'cert-manager.io/cluster-issuer' : 'cert-manager.io/issuer'] = tls.issuer.issuer;
      }
      new k8s.KubeIngress(this, 'Resource', {
        metadata: { name: this.name, labels, annotations: Object.keys(annotations).length ? annotations : undefined },
        spec: {
          ingressClassName: props.ingressClassName,
          tls: tls ? [{ hosts: [props.host], secretName: tls.secretName ?? `${this.name}-tls` }] : undefined,
          rules: [{
            host: props.host,
            http: {
              paths: [{
                path: props.path ?? '/',
                pathType: 'Prefix',
                backend: { service: { name: backend.serviceName, port: { number: backend.servicePort } } },
              }],
            },
          }],
        },
      });
      return;
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
}
