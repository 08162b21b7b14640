import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { ComponentIdentity, objectLabels, selectorLabels } from './labels';
import { METRICS_PORT_NAME } from './pod-spec';

/** A Service in front of every pod's metrics port. */
export interface MetricsService {
  /** Name of the Service (the `job` label of what Prometheus scrapes through it). */
  readonly name: string;
  /** Labels of the Service, for a ServiceMonitor's selector. */
  readonly labels: Record<string, string>;
  /** Name of the Service port. */
  readonly port: string;
}

/**
 * The headless Service `<name>-metrics` over the `metrics` port of a workload's pods. It is a Service
 * of its own, with component `<component>-metrics` for a ServiceMonitor to select, so that scraping
 * reaches every pod and the workload's client Services keep only their own ports.
 */
export function addMetricsService(scope: Construct, name: string, identity: ComponentIdentity, podSelector: Record<string, string>,
  port: number): MetricsService {
  const id = { ...identity, component: `${identity.component}-metrics` };
  const service: MetricsService = { name: `${name}-metrics`, labels: selectorLabels(id), port: METRICS_PORT_NAME };
  new k8s.KubeService(scope, 'MetricsService', {
    metadata: { name: service.name, labels: objectLabels(id) },
    spec: {
      clusterIp: 'None', selector: podSelector,
      ports: [{ name: METRICS_PORT_NAME, port, targetPort: k8s.IntOrString.fromString(METRICS_PORT_NAME), protocol: 'TCP' }],
    },
  });
  return service;
}
