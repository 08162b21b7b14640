import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { IAffinityTarget } from '../k8s/pod-spec';

/** How strongly replicas of one workload avoid each other. */
export enum AntiAffinityMode {
  /** Spread when possible (`preferredDuringScheduling...`); pods still schedule when it is not. */
  SOFT = 'soft',
  /** Never two replicas in one topology domain (`requiredDuringScheduling...`); extra pods stay Pending. */
  HARD = 'hard',
  /** No anti-affinity. */
  NONE = 'none',
}

/** Well-known topology keys; any node label key may be used instead. */
export enum Topology {
  /** One node: replicas on different nodes. */
  HOSTNAME = 'kubernetes.io/hostname',
  /** One zone (the label cloud providers set): replicas in different zones. */
  ZONE = 'topology.kubernetes.io/zone',
}

/** Operators of a node affinity rule. */
export enum NodeAffinityOperator {
  /** The label has one of `values`. */
  IN = 'In',
  /** The label is absent or has none of `values`. */
  NOT_IN = 'NotIn',
  /** The label is set, whatever its value. */
  EXISTS = 'Exists',
  /** The label is not set. */
  DOES_NOT_EXIST = 'DoesNotExist',
}

/** A rule about node labels. */
export interface NodeAffinityRule {
  /** Node label key, e.g. `node.kubernetes.io/instance-type`. */
  readonly key: string;
  /** How the label is matched against `values`. */
  readonly operator: NodeAffinityOperator;
  /**
   * Values for `In`/`NotIn` (required there, forbidden with `Exists`/`DoesNotExist`).
   * @default none
   */
  readonly values?: string[];
  /**
   * Whether pods may only run on matching nodes (true) or merely prefer them (false).
   * @default false
   */
  readonly required?: boolean;
  /**
   * Weight (1-100) of a preferred rule.
   * @default 50
   */
  readonly weight?: number;
}

/** Placement options, also accepted by workloads that apply AntiAffinity themselves. */
export interface AntiAffinityOptions {
  /**
   * Soft, hard or no anti-affinity between the workload's own pods.
   * @default AntiAffinityMode.SOFT
   */
  readonly mode?: AntiAffinityMode;
  /**
   * Topology domain to spread over: a `Topology` value or any node label key.
   * @default Topology.HOSTNAME
   */
  readonly topologyKey?: Topology | string;
  /**
   * Weight (1-100) of the soft rule.
   * @default 100
   */
  readonly weight?: number;
  /**
   * Node affinity rules.
   * @default none
   */
  readonly nodeAffinity?: NodeAffinityRule[];
}

/** Props of `AntiAffinity`: the placement options and the workload they apply to. */
export interface AntiAffinityProps extends AntiAffinityOptions {
  /** The workload whose pods are placed. */
  readonly target: IAffinityTarget;
}

/**
 * Anti-affinity of a workload with its own pods (so one node or zone failure takes out at most one
 * replica), plus optional node affinity. Works on any `IAffinityTarget`.
 */
export class AntiAffinity extends Construct {
  constructor(scope: Construct, id: string, props: AntiAffinityProps) {
    super(scope, id);
    const mode = props.mode ?? AntiAffinityMode.SOFT;
    const weight = props.weight ?? 100;
    checkWeight('weight', weight);
    const term: k8s.PodAffinityTerm = {
      labelSelector: { matchLabels: props.target.selectorLabels },
      topologyKey: props.topologyKey ?? Topology.HOSTNAME,
    };
    const affinity: { podAntiAffinity?: k8s.PodAntiAffinity; nodeAffinity?: k8s.NodeAffinity } = {};
    if (mode === AntiAffinityMode.SOFT) {
      affinity.podAntiAffinity = { preferredDuringSchedulingIgnoredDuringExecution: [{ weight, podAffinityTerm: term }] };
    } else if (mode === AntiAffinityMode.HARD) {
      affinity.podAntiAffinity = { requiredDuringSchedulingIgnoredDuringExecution: [term] };
    }
    const rules = props.nodeAffinity ?? [];
    if (rules.length > 0) affinity.nodeAffinity = nodeAffinity(rules);
    if (affinity.podAntiAffinity || affinity.nodeAffinity) props.target.addAffinity(affinity);
  }
}

function nodeAffinity(rules: NodeAffinityRule[]): k8s.NodeAffinity {
  const required: k8s.NodeSelectorRequirement[] = [];
  const preferred: k8s.PreferredSchedulingTerm[] = [];
  rules.forEach((rule, i) => {
    const needsValues = rule.operator === NodeAffinityOperator.IN || rule.operator === NodeAffinityOperator.NOT_IN;
    const values = rule.values ?? [];
    if (needsValues && values.length === 0) {
      throw new Error(`AntiAffinity: nodeAffinity[${i}] (${rule.key} ${rule.operator}) needs at least one value`);
    }
    if (!needsValues && values.length > 0) {
      throw new Error(`AntiAffinity: nodeAffinity[${i}] (${rule.key} ${rule.operator}) takes no values; remove them or use In/NotIn`);
    }
    const expr: k8s.NodeSelectorRequirement = { key: rule.key, operator: rule.operator, values: needsValues ? values : undefined };
    if (rule.required) {
      required.push(expr);
    } else {
      const weight = rule.weight ?? 50;
      checkWeight(`nodeAffinity[${i}].weight`, weight);
      preferred.push({ weight, preference: { matchExpressions: [expr] } });
    }
  });
  return {
    // All required rules in one term: a node must match every one of them.
    requiredDuringSchedulingIgnoredDuringExecution: required.length ? { nodeSelectorTerms: [{ matchExpressions: required }] } : undefined,
    preferredDuringSchedulingIgnoredDuringExecution: preferred.length ? preferred : undefined,
  };
}

function checkWeight(field: string, weight: number) {
  if (!Number.isInteger(weight) || weight < 1 || weight > 100) {
    throw new Error(`AntiAffinity: ${field} is ${weight}; use a whole number from 1 to 100`);
  }
}
