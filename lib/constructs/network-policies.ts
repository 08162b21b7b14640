import { Lazy } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { IHttpBackend } from './ingress-rule';
import { objectLabels, siteInstance } from '../k8s/labels';
import { DatabaseClient } from './mariadb-statefulset';

/** Pods in other namespaces, selected by the labels of their namespace and, optionally, their own. */
export interface NamespacedPods {
  /**
   * Labels of the namespaces. Kubernetes puts `kubernetes.io/metadata.name: <name>` on every
   * namespace, so one namespace is selected by its name that way.
   */
  readonly namespaceLabels: Record<string, string>;
  /**
   * Labels of the pods in those namespaces.
   * @default every pod in those namespaces
   */
  readonly podLabels?: Record<string, string>;
}

/** A server in the chart that records its clients as they are wired; `MariaDbStatefulSet` is one. */
export interface IClientTrackingServer {
  /** Name of the server, used in policy names. */
  readonly name: string;
  /** Labels that select the server's pods. */
  readonly selectorLabels: Record<string, string>;
  /** TCP port the server's pods listen on. */
  readonly port: number;
  /** Every workload that connects; read at synth, so clients wired later are included. */
  readonly clients: readonly DatabaseClient[];
  /** TCP ports the server's pods use among themselves (a cluster's own traffic), besides `port`. */
  readonly peerPorts?: readonly number[];
}

/** Pods that serve Prometheus metrics on a port of their own. */
export interface MetricsTarget {
  /** Name of the workload, used in the policy name `allow-prometheus-to-<name>`. */
  readonly name: string;
  /** Labels that select the pods. */
  readonly selectorLabels: Record<string, string>;
  /** The metrics port (a container port of those pods). */
  readonly port: number;
}

/** Who may open connections to the web pods. */
export class WebAccess {
  /**
   * Only pods of the ingress controller: the way in for an Ingress.
   * @param controller the controller's namespace (and, optionally, pod) labels
   */
  public static ingressController(controller: NamespacedPods): WebAccess {
    return new WebAccess(namespacedPeer('WebAccess.ingressController', controller));
  }

  /**
   * Only pods of a Gateway's data plane (Gateway API): the way in for an HTTPRoute.
   * @param gateway the namespace (and, optionally, pod) labels of the Gateway's proxies
   */
  public static gateway(gateway: NamespacedPods): WebAccess {
    return new WebAccess(namespacedPeer('WebAccess.gateway', gateway));
  }

  /**
   * Only the OpenShift router: the way in for a Route.
   * @param router the router's namespace (and, optionally, pod) labels
   * @default OPENSHIFT_ROUTER
   */
  public static openShiftRouter(router: NamespacedPods = OPENSHIFT_ROUTER): WebAccess {
    return new WebAccess(namespacedPeer('WebAccess.openShiftRouter', router));
  }

  /**
   * Any source. For NodePort and LoadBalancer Services: their traffic comes from clients or, after
   * kube-proxy's SNAT, from node addresses, not from pods in a namespace a selector could name.
   */
  public static anywhere(): WebAccess {
    return new WebAccess(undefined);
  }

  private constructor(
    /** The one allowed peer; undefined allows every source. */
    public readonly peer: k8s.NetworkPolicyPeer | undefined,
  ) {}
}

/** Where the cluster DNS usually runs: CoreDNS keeps the `k8s-app: kube-dns` label of its predecessor. */
export const KUBE_DNS: NamespacedPods = {
  namespaceLabels: { 'kubernetes.io/metadata.name': 'kube-system' },
  podLabels: { 'k8s-app': 'kube-dns' },
};

/** Where kube-prometheus-stack and the prometheus-operator manifests usually install Prometheus. */
export const PROMETHEUS: NamespacedPods = { namespaceLabels: { 'kubernetes.io/metadata.name': 'monitoring' } };

/** Where ingress-nginx is installed by its own chart and manifests. */
export const INGRESS_NGINX: NamespacedPods = { namespaceLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } };

/**
 * The OpenShift router: OpenShift labels the namespaces whose traffic is the router's with
 * `policy-group.network.openshift.io/ingress: ""`, also when the router runs on the host network
 * (its traffic then comes from the nodes, which no pod selector would match).
 */
export const OPENSHIFT_ROUTER: NamespacedPods = { namespaceLabels: { 'policy-group.network.openshift.io/ingress': '' } };

/** Where istiod runs in a default Istio installation. */
export const ISTIOD: NamespacedPods = { namespaceLabels: { 'kubernetes.io/metadata.name': 'istio-system' }, podLabels: { app: 'istiod' } };

/** Port the sidecars fetch their configuration and certificates from istiod on (XDS and CA, over TLS). */
export const ISTIOD_XDS_PORT = 15012;

/**
 * Addresses WordPress never needs to reach for updates: RFC 1918 private ranges (pods, Services and
 * nodes are usually there), shared address space (RFC 6598, used by some clusters for pods) and
 * link-local (the cloud metadata endpoint 169.254.169.254 hands out node credentials).
 */
export const NON_PUBLIC_IPV4 = ['10.0.0.0/8', '100.64.0.0/10', '169.254.0.0/16', '172.16.0.0/12', '192.168.0.0/16'] as const;

/** Props of `SiteNetworkPolicies`. */
export interface SiteNetworkPoliciesProps {
  /** The database; its clients may reach it, nothing else may. */
  readonly database: IClientTrackingServer;
  /** The web workload. Its Service port must be the port its pods listen on (true for `WordPressApp`). */
  readonly web: IHttpBackend;
  /**
   * A second web workload (a canary) that gets the same web policies as `web`.
   * @default none
   */
  readonly canary?: IHttpBackend;
  /**
   * Container ports of the web pods that `webAccess` may reach.
   * @default [web.servicePort]
   */
  readonly webPorts?: number[];
  /**
   * The mesh control plane the web pods' sidecars must reach (`ISTIOD` for Istio) on `ISTIOD_XDS_PORT`.
   * @default no mesh
   */
  readonly meshControlPlane?: NamespacedPods;
  /**
   * Who may reach the web pods.
   * @default WebAccess.ingressController(INGRESS_NGINX)
   */
  readonly webAccess?: WebAccess;
  /**
   * The cluster DNS, which every pod may query on port 53 (UDP and TCP).
   * @default KUBE_DNS: pods labelled `k8s-app: kube-dns` in namespace kube-system
   */
  readonly dns?: NamespacedPods;
  /**
   * Let the web pods open HTTP and HTTPS connections (TCP 80 and 443) to public IPv4 addresses
   * (everything outside `NON_PUBLIC_IPV4`): WordPress core, plugin and theme updates.
   * @default false: the web pods reach only DNS and the database
   */
  readonly internetEgress?: boolean;
  /**
   * Pods that `prometheus` may scrape, each on its metrics port only.
   * @default none
   */
  readonly metricsTargets?: MetricsTarget[];
  /**
   * Where Prometheus runs (used with `metricsTargets`).
   * @default PROMETHEUS: every pod in namespace monitoring
   */
  readonly prometheus?: NamespacedPods;
  /**
   * Site name for the `app.kubernetes.io/instance` label.
   * @default the id of the enclosing chart
   */
  readonly instance?: string;
}

/**
 * The NetworkPolicies of a site, generated from how its constructs are wired:
 *
 * - `default-deny`: no pod in the namespace sends or receives anything not allowed below;
 * - `allow-dns`: every pod may query the cluster DNS;
 * - `allow-to-<database>`: every pod may open connections to the database port; the database's own
 *   ingress policy decides which of them get through (a policy selects one label set, and clients
 *   can be added until synth);
 * - `allow-<database>-clients`: the database accepts connections from its recorded clients only;
 * - `allow-<database>-peers` (only with `peerPorts`): the database pods reach each other on those ports;
 * - `allow-<web>-http`: the web pods accept HTTP from `webAccess` and from their recorded clients
 *   (e.g. `WordPressCron`);
 * - `allow-<client>-to-<web>`: each of those clients may open connections to the web port;
 * - `allow-<web>-internet` (only with `internetEgress`): the web pods may reach public addresses;
 * - `allow-<web>-istiod` (only with `meshControlPlane`): the web pods' sidecars may reach istiod;
 * - `allow-prometheus-to-<target>` (for each of `metricsTargets`): Prometheus may reach the metrics port.
 *
 * With a `canary`, each `<web>` policy is rendered for it as well. The `-http` policy is named
 * `-https` when the only port is not the Service's HTTP port.
 *
 * Plain `KubeNetworkPolicy`: cdk8s-plus-27's NetworkPolicy fixes a rule's peers when the rule is
 * added (the client list is complete only at synth) and cannot allow every source on one port.
 */
export class SiteNetworkPolicies extends Construct {
  private readonly labels: Record<string, string>;

  constructor(scope: Construct, id: string, props: SiteNetworkPoliciesProps) {
    super(scope, id);
    this.labels = objectLabels({ name: 'wordpress', instance: siteInstance(this, props.instance), component: 'network-policy' });
    const db = props.database;
    const web = props.web;
    const dns = namespacedPeer('SiteNetworkPolicies: dns', props.dns ?? KUBE_DNS);
    const all: k8s.LabelSelector = {};

    this.policy('default-deny', all, ['Ingress', 'Egress']);
    this.policy('allow-dns', all, ['Egress'], { egress: [{ to: [dns], ports: [udp(53), tcp(53)] }] });
    this.policy(`allow-to-${db.name}`, all, ['Egress'], {
      egress: [{ to: [{ podSelector: { matchLabels: db.selectorLabels } }], ports: [tcp(db.port)] }],
    });
    this.policy(`allow-${db.name}-clients`, { matchLabels: db.selectorLabels }, ['Ingress'], {
      // Sorted, so that wiring order does not show up in diffs.
      ingress: Lazy.any({
        produce: (): k8s.NetworkPolicyIngressRule[] | undefined => {
          const clients = sortedClients(db.clients);
          return clients.length ? [{ from: clients.map(peerOf), ports: [tcp(db.port)] }] : undefined;
        },
      }),
    });
    if (db.peerPorts?.length) {
      const peers = [{ podSelector: { matchLabels: db.selectorLabels } }];
      const ports = db.peerPorts.map(tcp);
      this.policy(`allow-${db.name}-peers`, { matchLabels: db.selectorLabels }, ['Ingress', 'Egress'], {
        ingress: [{ from: peers, ports }],
        egress: [{ to: peers, ports }],
      });
    }
    const access = props.webAccess ?? WebAccess.ingressController(INGRESS_NGINX);
    const mesh = props.meshControlPlane && namespacedPeer('SiteNetworkPolicies: meshControlPlane', props.meshControlPlane);
    // The web's clients as wired so far (the chart creates this construct last): each gets its own
    // way out to the web pods, so no other pod can reach them even when any source may come in.
    const webClients = sortedClients(web.clients ?? []);
    const webs = props.canary ? [web, props.canary] : [web];
    for (const w of webs) {
      const ports = props.webPorts ?? [web.servicePort];
      const suffix = ports.length === 1 && ports[0] !== web.servicePort ? 'https' : 'http';
      this.policy(`allow-${w.serviceName}-${suffix}`, { matchLabels: w.selectorLabels }, ['Ingress'], {
        ingress: [
          { from: access.peer && [access.peer], ports: ports.map(tcp) },
          ...(webClients.length ? [{ from: webClients.map(peerOf), ports: [tcp(web.servicePort)] }] : []),
        ],
      });
      if (props.internetEgress) {
        this.policy(`allow-${w.serviceName}-internet`, { matchLabels: w.selectorLabels }, ['Egress'], {
          egress: [{ to: [{ ipBlock: { cidr: '0.0.0.0/0', except: [...NON_PUBLIC_IPV4] } }], ports: [tcp(80), tcp(443)] }],
        });
      }
      if (mesh) {
        this.policy(`allow-${w.serviceName}-istiod`, { matchLabels: w.selectorLabels }, ['Egress'], {
          egress: [{ to: [mesh], ports: [tcp(ISTIOD_XDS_PORT)] }],
        });
      }
    }
    const targets = props.metricsTargets ?? [];
    const prometheus = targets.length ? namespacedPeer('SiteNetworkPolicies: prometheus', props.prometheus ?? PROMETHEUS) : undefined;
    for (const t of targets) {
      this.policy(`allow-prometheus-to-${t.name}`, { matchLabels: t.selectorLabels }, ['Ingress'], {
        ingress: [{ from: [prometheus!], ports: [tcp(t.port)] }],
      });
    }
    for (const client of webClients) {
      this.policy(`allow-${client.name}-to-${web.serviceName}`, { matchLabels: client.selectorLabels }, ['Egress'], {
        egress: [{ to: webs.map(w => ({ podSelector: { matchLabels: w.selectorLabels } })), ports: [tcp(web.servicePort)] }],
      });
    }
  }

  /** A policy isolating the selected pods in the directions given; only `rules` get through (none: deny). */
  private policy(name: string, podSelector: k8s.LabelSelector, policyTypes: Array<'Ingress' | 'Egress'>,
    rules: Pick<k8s.NetworkPolicySpec, 'ingress' | 'egress'> = {}) {
    new k8s.KubeNetworkPolicy(this, name, {
      metadata: { name, labels: this.labels },
      spec: { podSelector, policyTypes, ...rules },
    });
  }
}

function namespacedPeer(owner: string, pods: NamespacedPods): k8s.NetworkPolicyPeer {
  // An empty selector would match every namespace (or pod) in the cluster.
  if (Object.keys(pods.namespaceLabels).length === 0) {
    throw new Error(`${owner}: namespaceLabels is empty, which selects every namespace; give the namespace's labels, `
      + 'e.g. { "kubernetes.io/metadata.name": "ingress-nginx" }');
  }
  if (pods.podLabels && Object.keys(pods.podLabels).length === 0) {
    throw new Error(`${owner}: podLabels is empty; leave it out to select every pod in the namespaces, or give labels`);
  }
  return {
    namespaceSelector: { matchLabels: pods.namespaceLabels },
    podSelector: pods.podLabels && { matchLabels: pods.podLabels },
  };
}

function sortedClients(clients: readonly DatabaseClient[]): DatabaseClient[] {
  return [...clients].sort((a, b) => a.name.localeCompare(b.name));
}

function peerOf(client: DatabaseClient): k8s.NetworkPolicyPeer {
  return { podSelector: { matchLabels: client.selectorLabels } };
}

function tcp(port: number): k8s.NetworkPolicyPort {
  return { protocol: 'TCP', port: k8s.IntOrString.fromNumber(port) };
}

function udp(port: number): k8s.NetworkPolicyPort {
  return { protocol: 'UDP', port: k8s.IntOrString.fromNumber(port) };
}
