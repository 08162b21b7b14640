import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { DestinationRule } from '../../imports/destinationrules-networking.istio.io';
import { VirtualService } from '../../imports/virtualservices-networking.istio.io';
import { objectLabels } from '../k8s/labels';
import { IHttpBackend, checkCanaryWeight, upgradePath } from './ingress-rule';

/** Props of `IstioCanary`. */
export interface IstioCanaryProps {
  /**
   * The Service in front of both tracks: its selector must select the pods of both (their routing
   * subsets are told apart by `trackLabel`).
   */
  readonly service: IHttpBackend;
  /** Percent of the requests for the canary subset (0-100); the stable subset gets the rest. */
  readonly weight: number;
  /**
   * Pod label that tells the tracks apart: value `stable` on the stable pods, `canary` on the canary's.
   * @default 'track'
   */
  readonly trackLabel?: string;
  /**
   * Site path, for the database upgrade page that always goes to the stable subset.
   * @default '/'
   */
  readonly path?: string;
}

/**
 * Splits the requests to one Service between two tracks with Istio: a `DestinationRule` with the
 * subsets `stable` and `canary` (by the track label) and a `VirtualService` for the Service's cluster
 * host name with weighted routes to them, after a route that keeps `wp-admin/upgrade.php` on stable.
 * The weights apply to requests sent by a sidecar (or an Istio gateway): the clients must be in the mesh.
 */
export class IstioCanary extends Construct {
  /** The VirtualService object. */
  public readonly virtualService: VirtualService;
  /** The DestinationRule object. */
  public readonly destinationRule: DestinationRule;

  constructor(scope: Construct, id: string, props: IstioCanaryProps) {
    super(scope, id);
    checkCanaryWeight('IstioCanary', { backend: props.service, weight: props.weight });
    const trackLabel = props.trackLabel ?? 'track';
    const svc = props.service;
    const host = `${svc.serviceName}.${Chart.of(this).namespace}.svc.cluster.local`;
    const labels = objectLabels(svc.identity);
    this.destinationRule = new DestinationRule(this, 'DestinationRule', {
      metadata: { name: svc.serviceName, labels },
      spec: {
        host,
        subsets: [
          { name: 'stable', labels: { [trackLabel]: 'stable' } },
          { name: 'canary', labels: { [trackLabel]: 'canary' } },
        ],
      },
    });
    const to = (subset: string, weight?: number) => ({ destination: { host, subset, port: { number: svc.servicePort } }, weight });
    this.virtualService = new VirtualService(this, 'VirtualService', {
      metadata: { name: svc.serviceName, labels },
      spec: {
        hosts: [host],
        http: [
          { name: 'upgrade-on-stable', match: [{ uri: { exact: upgradePath(props.path ?? '/') } }], route: [to('stable')] },
          { name: 'canary-split', route: [to('stable', 100 - props.weight), to('canary', props.weight)] },
        ],
      },
    });
  }
}
