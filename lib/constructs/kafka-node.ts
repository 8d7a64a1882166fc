import { Construct } from 'constructs';
import { ApiObject } from 'cdk8s';
import { KubeConfigMap, KubePersistentVolumeClaim, KubeService, Quantity } from 'cdk8s-plus-27/lib/imports/k8s.js';
import { renderServerProperties } from '../config/server-properties.js';
import type { ClusterModel, KafkaNodeModel } from '../spec/resolve.js';
import {
  ANNOTATION_DELETE_CLAIM, ANNOTATION_DESIRED_HASH, CONFIG_KEY_POD, CONFIG_KEY_PROPERTIES, GITOPS_CREATE_ONLY_ANNOTATIONS,
  GITOPS_PRUNE_PROOF_ANNOTATIONS, nodeLabels, nodeSelectorLabels, volumeLabels,
} from '../render/metadata.js';
import { renderNodePod } from '../render/node-pod.js';
import { nodeListeners } from '../config/listeners.js';

export interface KafkaNodeProps {
  /** The resolved cluster the node belongs to. */
  readonly cluster: ClusterModel;
  /** The node (a broker, a dedicated controller or a combined node). */
  readonly node: KafkaNodeModel;
}

/**
 * One Kafka node: its ConfigMap (server.properties, the desired Pod and their
 * hash), its PVCs, a headless Service giving it a stable DNS name, and its Pod.
 * Pod and PVCs carry the GitOps create-only markers; the ConfigMap and Service
 * are applied normally, so they always show the desired state. All of them are
 * prune-proof: a node removed from Git stays reachable (its Service is its
 * advertised address) until the controller has drained it and deletes them.
 */
export class KafkaNode extends Construct {
  /** sha256 of the rendered server.properties and desired Pod. */
  public readonly desiredHash: string;
  public readonly serverProperties: string;

  constructor(scope: Construct, id: string, props: KafkaNodeProps) {
    super(scope, id);
    const { cluster, node } = props;
    this.serverProperties = renderServerProperties(cluster, node);
    const pod = renderNodePod(cluster, node, this.serverProperties);
    this.desiredHash = pod.hash;
    const labels = nodeLabels(cluster, node);

    new KubeConfigMap(this, 'Config', {
      metadata: {
        name: node.name,
        namespace: cluster.namespace,
        labels,
        annotations: { ...GITOPS_PRUNE_PROOF_ANNOTATIONS, [ANNOTATION_DESIRED_HASH]: pod.hash },
      },
      data: {
        [CONFIG_KEY_PROPERTIES]: this.serverProperties,
        // Compact: the same Pod is readable right beside it in the output.
        [CONFIG_KEY_POD]: JSON.stringify(pod.manifest),
      },
    });

    for (const volume of node.volumes) {
      new KubePersistentVolumeClaim(this, `Volume-${volume.name}`, {
        metadata: {
          name: volume.claimName,
          namespace: cluster.namespace,
          labels: volumeLabels(cluster, node, volume),
          annotations: { ...GITOPS_CREATE_ONLY_ANNOTATIONS, [ANNOTATION_DELETE_CLAIM]: String(volume.deleteClaim) },
        },
        spec: {
          accessModes: ['ReadWriteOnce'],
          volumeMode: 'Filesystem',
          storageClassName: volume.storageClass,
          resources: { requests: { storage: Quantity.fromString(volume.size) } },
        },
      });
    }

    new KubeService(this, 'Service', {
      metadata: { name: node.name, namespace: cluster.namespace, labels, annotations: { ...GITOPS_PRUNE_PROOF_ANNOTATIONS } },
      spec: {
        // Headless: the DNS name resolves straight to the Pod. In an Istio mesh a ClusterIP
        // instead, as the sidecar routes by Service address. Not-ready addresses are
        // published because a starting node must reach the quorum before it is ready.
        // (clusterIP is immutable: a running cluster cannot switch; see README "Istio".)
        clusterIp: cluster.istio ? undefined : 'None',
        publishNotReadyAddresses: true,
        selector: nodeSelectorLabels(cluster, node),
        ports: nodeListeners(cluster, node).map((l) => ({
          name: l.portName,
          port: l.port,
          protocol: 'TCP',
          // Kafka's protocol is opaque TCP to the mesh.
          ...(cluster.istio ? { appProtocol: 'tcp' } : {}),
        })),
      },
    });

    // Emitted exactly as stored in the ConfigMap (plain Kubernetes JSON, see render/node-pod.ts).
    new ApiObject(this, 'Pod', pod.manifest as never);
  }
}
