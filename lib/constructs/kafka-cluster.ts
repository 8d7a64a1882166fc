import { Construct } from 'constructs';
import { IntOrString, KubePodDisruptionBudget, KubeService, KubeServiceAccount } from 'cdk8s-plus-27/lib/imports/k8s.js';
import { resolveSpec, type ClusterModel } from '../spec/resolve.js';
import type { KafkaClusterSpec } from '../spec/schema.js';
import { KafkaNode } from './kafka-node.js';
import { clusterLabels, names, poolSelector } from './metadata.js';

export interface KafkaClusterProps {
  /** The cluster spec, as a TS object or parsed from YAML. Validated on construction. */
  readonly spec: KafkaClusterSpec;
  /**
   * Where the spec came from, for error messages.
   * @default - none
   */
  readonly source?: string;
}

/**
 * A KRaft Kafka cluster: per-node Pods, ConfigMaps, PVCs and Services (no
 * StatefulSet), a bootstrap Service, PodDisruptionBudgets and a ServiceAccount.
 * Throws SpecValidationError, listing every problem, when the spec is invalid.
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

    new KubeServiceAccount(this, 'ServiceAccount', {
      metadata: meta(names.serviceAccount(cluster)),
      automountServiceAccountToken: false,
    });

    new KubeService(this, 'Bootstrap', {
      metadata: meta(names.bootstrapService(cluster)),
      spec: {
        type: 'ClusterIP',
        selector: poolSelector(cluster, 'broker'),
        ports: [{ name: 'internal', port: cluster.ports.internal, protocol: 'TCP' }],
      },
    });

    const pools = cluster.controllerMode === 'dedicated' ? (['controller', 'broker'] as const) : (['broker'] as const);
    for (const pool of pools) {
      new KubePodDisruptionBudget(this, `${pool}-budget`, {
        metadata: meta(names.disruptionBudget(cluster, pool)),
        // One node at a time: Kafka's replicas and the KRaft quorum tolerate one loss.
        spec: { maxUnavailable: IntOrString.fromNumber(1), selector: { matchLabels: poolSelector(cluster, pool) } },
      });
    }

    const nodes = new Map<number, KafkaNode>();
    for (const node of cluster.nodes) nodes.set(node.id, new KafkaNode(this, node.name, { cluster, node }));
    this.nodes = nodes;
  }
}
