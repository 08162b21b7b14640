import { Chart } from 'cdk8s';
import { IConstruct } from 'constructs';

/**
 * Identity of one component of a site, rendered as the `app.kubernetes.io/*` recommended labels.
 */
export interface ComponentIdentity {
  /** Application, e.g. `wordpress` or `mariadb` (`app.kubernetes.io/name`). */
  readonly name: string;
  /** Site this object belongs to (`app.kubernetes.io/instance`). */
  readonly instance: string;
  /** Role inside the site, e.g. `web`, `database`, `backup` (`app.kubernetes.io/component`). */
  readonly component: string;
}

/** Value of `app.kubernetes.io/part-of` on everything this library renders. */
export const PART_OF = 'wordpress';
/** Value of `app.kubernetes.io/managed-by`. */
export const MANAGED_BY = 'cdk8s';

/**
 * Labels that select the pods of one workload. Kept to name/instance/component because selectors
 * are immutable: anything that may change later (versions, part-of) must stay out of them.
 */
export function selectorLabels(id: ComponentIdentity): Record<string, string> {
  return {
    'app.kubernetes.io/name': id.name,
    'app.kubernetes.io/instance': id.instance,
    'app.kubernetes.io/component': id.component,
  };
}

/** Selector labels plus part-of and managed-by: what every object and pod template carries. */
export function objectLabels(id: ComponentIdentity): Record<string, string> {
  return {
    ...selectorLabels(id),
    'app.kubernetes.io/part-of': PART_OF,
    'app.kubernetes.io/managed-by': MANAGED_BY,
  };
}

/**
 * The site a construct belongs to (`app.kubernetes.io/instance`): the `instance` prop when given,
 * else the id of the enclosing chart, which is the site name in a `WordPressChart`.
 */
export function siteInstance(scope: IConstruct, instance?: string): string {
  return instance ?? Chart.of(scope).node.id;
}
