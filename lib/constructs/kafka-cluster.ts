import { Construct } from 'constructs';
import { IntOrString, KubeConfigMap, KubeNamespace, KubePodDisruptionBudget, KubeService } from 'cdk8s-plus-27/lib/imports/k8s.js';
import { resolveSpec, type ClusterModel, type KafkaNodeModel } from '../spec/resolve.js';
import type { KafkaClusterSpec } from '../spec/schema.js';
import { KafkaNode } from './kafka-node.js';
import { KafkaOperator } from './kafka-operator.js';
import { ClusterCertificates } from './cluster-certificates.js';
import { EnvoyIngress } from './envoy-ingress.js';
import { IstioIngress } from './istio-ingress.js';
import { clusterLabels, GITOPS_PRUNE_PROOF_ANNOTATIONS, names, poolSelector } from '../render/metadata.js';
import { CONFIG_KEY_CLUSTER, renderClusterDocument } from '../render/cluster-document.js';

export interface KafkaClusterProps {
  /** The cluster spec, as a TS object or parsed from YAML. Validated on construction. */
  readonly spec: KafkaClusterSpec;
  /**
   * Where the spec came from, for error messages.
   * @default - none
   */
  readonly source?: string;
}

/** Pod Security Standard enforced on a Namespace we create: every Pod we emit passes it. */
const POD_SECURITY_LABELS: Readonly<Record<string, string>> = {
  'pod-security.kubernetes.io/audit': 'restricted',
  'pod-security.kubernetes.io/enforce': 'restricted',
  'pod-security.kubernetes.io/warn': 'restricted',
};

/**
 * A KRaft Kafka cluster: per-node Pods, ConfigMaps, PVCs and Services (no
 * StatefulSet), a bootstrap Service, PodDisruptionBudgets and, unless turned
 * off, its Namespace and the runtime controller; with the spec's features, the
 * cert-manager Certificates, the Envoy LoadBalancer or the Istio Gateway. Throws SpecValidationError,
 * listing every problem, when the spec is invalid.
 */
export class KafkaCluster extends Construct {
  public readonly model: ClusterModel;
  /** The node constructs by node id. */
  public readonly nodes: ReadonlyMap<number, KafkaNode>;

  constructor(scope: Construct, id: string, props: KafkaClusterProps) {
    super(scope, id);
    const cluster = resolveSpec(props.spec, props.source);
    this.model = cluster;
    const labels = clusterLabels(cluster);
    const meta = (name: string) => ({ name, namespace: cluster.namespace, labels });

    if (cluster.createNamespace) {
      new KubeNamespace(this, 'Namespace', {
        // Pruning a Namespace deletes every broker in it: it must outlive its removal from Git.
        metadata: { name: cluster.namespace, labels: { ...labels, ...POD_SECURITY_LABELS }, annotations: { ...GITOPS_PRUNE_PROOF_ANNOTATIONS } },
      });
    }

    new KubeService(this, 'Bootstrap', {
      metadata: meta(names.bootstrapService(cluster)),
      spec: {
        type: 'ClusterIP',
        selector: poolSelector(cluster, 'broker'),
        ports: cluster.listeners.filter((l) => l.name === 'INTERNAL').map((l) => ({ name: l.portName, port: l.port, protocol: 'TCP', ...(cluster.istio ? { appProtocol: 'tcp' } : {}) })),
      },
    });

    const pools: ReadonlyArray<readonly [KafkaNodeModel['pool'], number]> = cluster.controllerMode === 'dedicated'
      ? [['controller', cluster.voters.length], ['broker', cluster.brokers.length]]
      : [['broker', cluster.brokers.length]];
    for (const [pool, size] of pools) {
      new KubePodDisruptionBudget(this, `${pool}-budget`, {
        metadata: meta(names.disruptionBudget(cluster, pool)),
        // One node at a time: Kafka's replicas and the KRaft quorum tolerate one loss. Our Pods
        // have no workload controller, and for such Pods Kubernetes honours only an integer
        // minAvailable (maxUnavailable or a percentage would block every eviction).
        spec: { minAvailable: IntOrString.fromNumber(Math.max(size - 1, 0)), selector: { matchLabels: poolSelector(cluster, pool) } },
      });
    }

    new KubeConfigMap(this, 'ClusterDocument', {
      // Prune-proof: without it the controller removes nobody, which is the safe side.
      metadata: { ...meta(names.clusterDocument(cluster)), annotations: { ...GITOPS_PRUNE_PROOF_ANNOTATIONS } },
      data: { [CONFIG_KEY_CLUSTER]: renderClusterDocument(cluster) },
    });

    if (cluster.operator) new KafkaOperator(this, 'Operator', { cluster, operator: cluster.operator });
    if (cluster.tls?.mode === 'cert-manager') new ClusterCertificates(this, 'Certificates', { cluster, tls: cluster.tls });
    const access = cluster.externalAccess;
    if (access?.envoy) new EnvoyIngress(this, 'Envoy', { cluster, access, envoy: access.envoy });
    if (access?.istio) new IstioIngress(this, 'IstioIngress', { cluster, access, istio: access.istio });

    const nodes = new Map<number, KafkaNode>();
    for (const node of cluster.nodes) nodes.set(node.id, new KafkaNode(this, node.name, { cluster, node }));
    this.nodes = nodes;
  }
}
