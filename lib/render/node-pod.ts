/**
 * The desired Pod of one Kafka node, as pure data. The KafkaNode construct
 * emits it, stores it in the node's ConfigMap, and the controller recreates
 * Pods from that stored copy, so there is one definition of a broker Pod.
 *
 * Written as plain Kubernetes JSON rather than through the typed L1 classes:
 * those are generated from an older Kubernetes API and silently drop fields
 * they don't know, and the user's own Kubernetes JSON (affinity) must reach
 * the Pod exactly as written.
 */
import { createHash } from 'node:crypto';
import { CONFIG_DIR, CONFIG_FILE } from '../config/server-properties.js';
import type { ClusterModel, KafkaNodeModel } from '../spec/resolve.js';
import type { AffinitySpec } from '../spec/kube-schemas.js';
import {
  ANNOTATION_DESIRED_HASH, CONFIG_KEY_PROPERTIES, GITOPS_CREATE_ONLY_ANNOTATIONS, createOnlyLabels,
} from './metadata.js';

const CONFIG_VOLUME = 'server-config';
/** Container env var holding the KRaft cluster id that storage is formatted with. */
export const CLUSTER_ID_ENV = 'KAFKA_CDK8S_CLUSTER_ID';
/** Generous, so a broker finishes its controlled shutdown (leadership moves away) before SIGKILL. */
const TERMINATION_GRACE_SECONDS = 180;

/**
 * Formats every log dir on first start (idempotent: --ignore-formatted skips
 * formatted dirs and formats new ones, e.g. an added disk), then runs Kafka
 * with the mounted server.properties.
 */
const START_SCRIPT = [
  'set -e',
  `/opt/kafka/bin/kafka-storage.sh format --cluster-id "$${CLUSTER_ID_ENV}" --config ${CONFIG_DIR}/${CONFIG_FILE} --ignore-formatted`,
  `exec /opt/kafka/bin/kafka-server-start.sh ${CONFIG_DIR}/${CONFIG_FILE}`,
].join('\n');

export interface NodePod {
  /** The Pod as Kubernetes JSON, as emitted and stored in the ConfigMap. */
  readonly manifest: Record<string, unknown>;
  /** sha256 over server.properties and the Pod (without the hash itself). */
  readonly hash: string;
}

export function renderNodePod(cluster: ClusterModel, node: KafkaNodeModel, serverProperties: string): NodePod {
  const manifest = podManifest(cluster, node);
  // Every input is canonical (resolve sorts the user's maps), so equal meaning gives equal bytes.
  const hash = sha256(`${serverProperties}\n${JSON.stringify(manifest)}`);
  manifest.metadata.annotations[ANNOTATION_DESIRED_HASH] = hash;
  return { manifest, hash };
}

const tcpProbe = (port: number) => ({ tcpSocket: { port } });

function podManifest(cluster: ClusterModel, node: KafkaNodeModel) {
  const isBroker = node.roles.includes('broker');
  const probePort = isBroker ? cluster.ports.internal : cluster.ports.controller;
  const ports = [
    ...(isBroker ? [{ name: 'internal', containerPort: cluster.ports.internal, protocol: 'TCP' }] : []),
    ...(node.roles.includes('controller') ? [{ name: 'controller', containerPort: cluster.ports.controller, protocol: 'TCP' }] : []),
  ];
  const env = [
    { name: CLUSTER_ID_ENV, value: cluster.clusterId },
    ...Object.keys(node.env).map((name) => ({ name, value: node.env[name]! })),
  ];
  const { runAsUser, runAsGroup, fsGroup } = node.securityContext;
  const affinity = withRackAffinity(cluster, node);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: node.name,
      namespace: cluster.namespace,
      labels: createOnlyLabels(cluster, node),
      annotations: { ...GITOPS_CREATE_ONLY_ANNOTATIONS } as Record<string, string>,
    },
    spec: {
      // The namespace's default ServiceAccount, with no token: a ServiceAccount of our own
      // would be created in the same GitOps apply stage, and Flux dry-runs every Pod of
      // that stage before creating anything, so admission would refuse them all.
      automountServiceAccountToken: false,
      // Service links put one env var per Service into every Pod: thousands with 1000 brokers.
      enableServiceLinks: false,
      hostname: node.name,
      terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS,
      // Pod Security Standard "restricted".
      securityContext: {
        runAsNonRoot: true,
        runAsUser,
        runAsGroup,
        fsGroup,
        fsGroupChangePolicy: 'OnRootMismatch',
        seccompProfile: { type: 'RuntimeDefault' },
      },
      containers: [{
        name: 'kafka',
        image: node.image,
        command: ['/bin/bash', '-c', START_SCRIPT],
        env,
        ports,
        ...(node.resources ? { resources: node.resources } : {}),
        volumeMounts: [
          { name: CONFIG_VOLUME, mountPath: CONFIG_DIR, readOnly: true },
          ...node.volumes.map((v) => ({ name: v.name, mountPath: v.mountPath })),
        ],
        readinessProbe: { ...tcpProbe(probePort), periodSeconds: 5, failureThreshold: 3 },
        livenessProbe: { ...tcpProbe(probePort), initialDelaySeconds: 60, periodSeconds: 10, failureThreshold: 6 },
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, runAsNonRoot: true },
      }],
      volumes: [
        { name: CONFIG_VOLUME, configMap: { name: node.name, items: [{ key: CONFIG_KEY_PROPERTIES, path: CONFIG_FILE }] } },
        ...node.volumes.map((v) => ({ name: v.name, persistentVolumeClaim: { claimName: v.claimName } })),
      ],
      ...(Object.keys(node.nodeSelector).length ? { nodeSelector: node.nodeSelector } : {}),
      ...(affinity ? { affinity } : {}),
      ...(node.tolerations.length ? { tolerations: node.tolerations } : {}),
    },
  };
}

/** Pins a broker to nodes of its rack, ANDed into each required term of the user's own affinity. */
function withRackAffinity(cluster: ClusterModel, node: KafkaNodeModel): AffinitySpec | undefined {
  const user = node.affinity;
  if (!cluster.rackTopologyKey || node.rack === undefined || !node.roles.includes('broker')) return user;
  const rackExpr = { key: cluster.rackTopologyKey, operator: 'In', values: [node.rack] };
  const required = user?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  const terms = required?.nodeSelectorTerms.length
    ? required.nodeSelectorTerms.map((t) => ({ ...t, matchExpressions: [...(t.matchExpressions ?? []), rackExpr] }))
    : [{ matchExpressions: [rackExpr] }];
  return {
    ...user,
    nodeAffinity: { ...user?.nodeAffinity, requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } },
  };
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
