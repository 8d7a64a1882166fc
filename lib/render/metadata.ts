/**
 * Names, labels and annotations shared by the constructs and the controller.
 * Everything here is part of the public contract with the cluster: changing a
 * value orphans existing objects, so treat these as stable.
 */
import type { ClusterModel, KafkaNodeModel, ResolvedVolume, TlsModel } from '../spec/resolve.js';

export const LABEL_NAME = 'app.kubernetes.io/name';
export const LABEL_COMPONENT = 'app.kubernetes.io/component';
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const LABEL_PART_OF = 'app.kubernetes.io/part-of';
/**
 * Selectors use only labels of our own: Argo CD's label tracking rewrites
 * `app.kubernetes.io/instance` with the Application name, so we neither set
 * nor select on it.
 */
export const LABEL_CLUSTER = 'kafka-cdk8s.io/cluster';
export const LABEL_POOL = 'kafka-cdk8s.io/pool';
export const LABEL_NODE_ID = 'kafka-cdk8s.io/node-id';
export const LABEL_BROKER_GROUP = 'kafka-cdk8s.io/broker-group';
export const LABEL_VOLUME = 'kafka-cdk8s.io/volume';
/** On objects a GitOps tool may create but must never update or prune (broker Pods and PVCs). */
export const LABEL_CREATE_ONLY = 'kafka-cdk8s.io/create-only';

/** sha256 of a node's rendered server.properties and desired Pod; on the Pod and its ConfigMap. */
export const ANNOTATION_DESIRED_HASH = 'kafka-cdk8s.io/desired-hash';
/** On PVCs: whether the controller deletes the claim when its broker is removed. */
export const ANNOTATION_DELETE_CLAIM = 'kafka-cdk8s.io/delete-claim';
/** ConfigMap keys. */
export const CONFIG_KEY_PROPERTIES = 'server.properties';
export const CONFIG_KEY_POD = 'pod.json';

/**
 * Objects that must outlive their removal from Git until the controller has
 * drained their node (a node's ConfigMap and Service, its Pod and PVCs, the
 * Namespace). Flux: never prune. Argo CD: never prune or delete, and a copy
 * no longer in Git is not drift. See README "GitOps".
 */
export const GITOPS_PRUNE_PROOF_ANNOTATIONS: Readonly<Record<string, string>> = {
  'argocd.argoproj.io/compare-options': 'IgnoreExtraneous',
  'argocd.argoproj.io/sync-options': 'Prune=false,Delete=false',
  'kustomize.toolkit.fluxcd.io/prune': 'disabled',
};

/**
 * Prune-proof, and also create-only for Flux (kustomize-controller >= 1.1):
 * created when missing, never updated (ssa: IfNotPresent). Argo CD has no
 * create-only option; the Application ignores their differences instead.
 */
export const GITOPS_CREATE_ONLY_ANNOTATIONS: Readonly<Record<string, string>> = {
  ...GITOPS_PRUNE_PROOF_ANNOTATIONS,
  'kustomize.toolkit.fluxcd.io/ssa': 'IfNotPresent',
};

export const MANAGED_BY = 'kafka-cdk8s';

/** The alert label that holds the controller's rolling restarts when "true" (spec: operator.rolling.alertmanager.holdLabel). */
export const DEFAULT_HOLD_LABEL = 'kafka_cdk8s_hold_roll';

export function clusterLabels(cluster: Pick<ClusterModel, 'name'>): Record<string, string> {
  return {
    [LABEL_NAME]: 'kafka',
    [LABEL_MANAGED_BY]: MANAGED_BY,
    [LABEL_PART_OF]: MANAGED_BY,
    [LABEL_CLUSTER]: cluster.name,
  };
}

/** Labels that select one pool (brokers or dedicated controllers); stable across versions. */
export function poolSelector(cluster: ClusterModel, pool: KafkaNodeModel['pool']): Record<string, string> {
  return { [LABEL_CLUSTER]: cluster.name, [LABEL_POOL]: pool };
}

/** Labels that select exactly one node's Pod. */
export function nodeSelectorLabels(cluster: ClusterModel, node: KafkaNodeModel): Record<string, string> {
  return { ...poolSelector(cluster, node.pool), [LABEL_NODE_ID]: String(node.id) };
}

export function nodeLabels(cluster: ClusterModel, node: KafkaNodeModel): Record<string, string> {
  return {
    ...clusterLabels(cluster),
    [LABEL_COMPONENT]: node.pool,
    ...nodeSelectorLabels(cluster, node),
    ...(node.group ? { [LABEL_BROKER_GROUP]: node.group } : {}),
  };
}

export function createOnlyLabels(cluster: ClusterModel, node: KafkaNodeModel): Record<string, string> {
  return { ...nodeLabels(cluster, node), [LABEL_CREATE_ONLY]: 'true' };
}

export function volumeLabels(cluster: ClusterModel, node: KafkaNodeModel, volume: ResolvedVolume): Record<string, string> {
  return { ...createOnlyLabels(cluster, node), [LABEL_VOLUME]: volume.name };
}

export const names = {
  bootstrapService: (cluster: ClusterModel) => `${cluster.name}-bootstrap`,
  disruptionBudget: (cluster: ClusterModel, pool: KafkaNodeModel['pool']) => `${cluster.name}-${pool}s`,
  /** The runtime controller's Deployment, ServiceAccount, Role, RoleBinding, Service and Lease. */
  operator: (cluster: ClusterModel) => `${cluster.name}-operator`,
  /** The cluster document (render/cluster-document.ts): the spec's nodes, Kafka version and metadata.version hold. */
  clusterDocument: (cluster: Pick<ClusterModel, 'name'>) => `${cluster.name}-cluster`,
  /** The ConfigMap the runtime controller keeps its state in (it creates it; not in Git). */
  operatorState: (cluster: Pick<ClusterModel, 'name'>) => `${cluster.name}-operator-state`,
  /** A node's TLS Secret: the spec's template with the node's name. */
  nodeTlsSecret: (tls: Pick<TlsModel, 'secretName'>, node: Pick<KafkaNodeModel, 'name'>) => tls.secretName.replaceAll('{node}', node.name),
};
