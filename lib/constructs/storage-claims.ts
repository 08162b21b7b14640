import { ApiObject, Chart, JsonPatch, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { ComponentIdentity, objectLabels, siteInstance } from '../k8s/labels';
import { storageQuantity } from '../k8s/pod-spec';

/**
 * Annotations that stop Helm, Argo CD and Flux from ever deleting or pruning an object, so that an
 * uninstall, a pruning sync or a deleted GitOps app keeps the data.
 */
export const KEEP_ANNOTATIONS: Readonly<Record<string, string>> = {
  'helm.sh/resource-policy': 'keep',
  'argocd.argoproj.io/sync-options': 'Prune=false,Delete=false',
  'kustomize.toolkit.fluxcd.io/prune': 'disabled',
};

/**
 * Annotations of what must exist before a claim or a pod can use it (Namespace, static
 * PersistentVolume): Argo CD applies them in an earlier sync wave and waits until they are healthy.
 * Claims stay in the workloads' wave (0), where Argo CD still creates them before the workloads: a
 * claim on a WaitForFirstConsumer StorageClass stays Pending until a pod uses it, so a wave of its
 * own would wait for it forever.
 */
export const FOUNDATION_ANNOTATIONS: Readonly<Record<string, string>> = {
  ...KEEP_ANNOTATIONS,
  'argocd.argoproj.io/sync-wave': '-1',
};

/** Cluster-scoped objects (Namespace, PersistentVolume) must not carry the chart's namespace. */
export function clusterScoped(obj: ApiObject): void {
  obj.addJsonPatch(JsonPatch.remove('/metadata/namespace'));
}

/** A pre-provisioned NFS export to bind a claim to. */
export interface NfsVolumeOptions {
  /** NFS server host name or IP. */
  readonly server: string;
  /** Exported path. */
  readonly path: string;
  /**
   * Name of the PersistentVolume. PVs are cluster-scoped, so the name must be unique in the cluster.
   * @default `<namespace>-<claim name>` (or the claim name without a namespace)
   */
  readonly volumeName?: string;
}

/** Where a claim's storage comes from. */
export class ClaimSource {
  /** A new volume from the StorageClass's dynamic provisioner. */
  public static dynamic(): ClaimSource {
    return new ClaimSource('dynamic');
  }

  /** A claim that already exists in the namespace; nothing is created, the name is adopted. */
  public static existingClaim(claimName: string): ClaimSource {
    return new ClaimSource('existing', claimName);
  }

  /**
   * A static PersistentVolume on NFS plus a claim pinned to it by `volumeName` and `claimRef`,
   * matching storage class, access modes and capacity (no dynamic provisioning).
   */
  public static nfs(options: NfsVolumeOptions): ClaimSource {
    return new ClaimSource('nfs', undefined, options);
  }

  private constructor(
    /** Which of the three sources this is. */
    public readonly kind: 'dynamic' | 'existing' | 'nfs',
    /** The adopted claim, for `existing`. */
    public readonly existingClaimName?: string,
    /** The NFS export, for `nfs`. */
    public readonly nfs?: NfsVolumeOptions,
  ) {}
}

/** One claim: its size, class, access modes and source. */
export interface ClaimOptions {
  /**
   * Requested capacity (and the capacity of a static PersistentVolume).
   * @default 10Gi
   */
  readonly size?: Size;
  /**
   * StorageClass. A static NFS volume without one gets `''`, which disables dynamic provisioning.
   * @default the cluster's default StorageClass (dynamic), `''` (nfs)
   */
  readonly storageClassName?: string;
  /**
   * Access modes.
   * @default the default of the method that adds the claim
   */
  readonly accessModes?: kplus.PersistentVolumeAccessMode[];
  /**
   * Where the storage comes from.
   * @default ClaimSource.dynamic()
   */
  readonly source?: ClaimSource;
}

/** A claim a pod can mount, with what is known about it. */
export interface StorageClaim {
  /** Name of the PersistentVolumeClaim in the namespace. */
  readonly claimName: string;
  /** Access modes of the claim (declared, for adopted claims). */
  readonly accessModes: kplus.PersistentVolumeAccessMode[];
  /** The claim as a cdk8s-plus object, for L2 volumes. */
  readonly claim: kplus.IPersistentVolumeClaim;
}

/** Props of `StorageClaims`. */
export interface StorageClaimsProps {
  /**
   * Site name for the `app.kubernetes.io/instance` label.
   * @default the id of the enclosing chart
   */
  readonly instance?: string;
  /**
   * The WordPress content volume (`/var/www/html`), shared by every replica.
   * @default 10Gi, ReadWriteMany, dynamically provisioned, named `wordpress-content`
   */
  readonly content?: ClaimOptions;
}

/** Name of the WordPress content claim. */
export const CONTENT_CLAIM = 'wordpress-content';

/**
 * Default name of the static PersistentVolume bound to `claimName`. Volumes are cluster-wide, so the
 * namespace is part of it.
 */
export function staticVolumeName(namespace: string | undefined, claimName: string): string {
  return namespace ? `${namespace}-${claimName}` : claimName;
}

/**
 * The PersistentVolumeClaims of a site that live outside StatefulSets. Claim names come from the
 * caller, never from construct paths, so moving or renaming constructs cannot orphan data.
 */
export class StorageClaims extends Construct {
  /** The WordPress content claim. */
  public readonly content: StorageClaim;
  private readonly instance: string;
  private readonly namespace?: string;
  private readonly byName = new Map<string, StorageClaim>();

  constructor(scope: Construct, id: string, props: StorageClaimsProps = {}) {
    super(scope, id);
    this.instance = siteInstance(this, props.instance);
    this.namespace = Chart.of(this).namespace;
    this.content = this.addClaim(CONTENT_CLAIM, { name: 'wordpress', component: 'content' }, {
      ...props.content,
      accessModes: props.content?.accessModes ?? [kplus.PersistentVolumeAccessMode.READ_WRITE_MANY],
    });
  }

  /** Every claim added so far, in order. */
  public get claims(): StorageClaim[] {
    return [...this.byName.values()];
  }

  /**
   * Add a claim named `claimName` (the exact PVC name in the namespace).
   * @param owner the app/component it serves, for its labels
   * @param options size, class, access modes (default ReadWriteOnce) and source
   */
  public addClaim(claimName: string, owner: Omit<ComponentIdentity, 'instance'>, options: ClaimOptions = {}): StorageClaim {
    const taken = this.byName.has(claimName) || Chart.of(this).node.findAll()
      .some(c => c instanceof ApiObject && c.kind === 'PersistentVolumeClaim' && c.name === claimName);
    if (taken) {
      throw new Error(`StorageClaims: claim "${claimName}" is defined twice in this chart; give each claim its own name`);
    }
    const accessModes = options.accessModes ?? [kplus.PersistentVolumeAccessMode.READ_WRITE_ONCE];
    if (accessModes.length === 0) {
      throw new Error(`StorageClaims: claim "${claimName}" has no access modes; give at least one, e.g. ReadWriteOnce`);
    }
    const source = options.source ?? ClaimSource.dynamic();
    const labels = objectLabels({ ...owner, instance: this.instance });
    const size = storageQuantity(options.size ?? Size.gibibytes(10));

    let name = claimName;
    if (source.kind === 'existing') {
      name = source.existingClaimName!;
    } else {
      let volumeName: string | undefined;
      let storageClassName = options.storageClassName;
      if (source.kind === 'nfs') {
        const nfs = source.nfs!;
        volumeName = nfs.volumeName ?? staticVolumeName(this.namespace, claimName);
        storageClassName = storageClassName ?? '';
        const pv = new k8s.KubePersistentVolume(this, `${claimName}-volume`, {
          metadata: { name: volumeName, labels, annotations: { ...FOUNDATION_ANNOTATIONS } },
          spec: {
            capacity: { storage: size },
            accessModes,
            storageClassName,
            persistentVolumeReclaimPolicy: 'Retain',
            nfs: { server: nfs.server, path: nfs.path },
            // Reserve the volume for this claim so no other claim can take it first.
            claimRef: { namespace: this.namespace, name: claimName },
          },
        });
        clusterScoped(pv);
      }
      new k8s.KubePersistentVolumeClaim(this, claimName, {
        metadata: { name: claimName, labels, annotations: { ...KEEP_ANNOTATIONS } },
        spec: { accessModes, storageClassName, volumeName, resources: { requests: { storage: size } } },
      });
    }
    const claim: StorageClaim = {
      claimName: name,
      accessModes,
      claim: kplus.PersistentVolumeClaim.fromClaimName(this, `${claimName}-ref`, name),
    };
    this.byName.set(claimName, claim);
    return claim;
  }
}
