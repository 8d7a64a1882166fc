/**
 * The desired Pod of one Kafka node, as pure data. The KafkaNode construct
 * emits it, stores it in the node's ConfigMap, and the controller recreates
 * Pods from that stored copy, so there is one definition of a broker Pod.
 */
import { createHash } from 'node:crypto';
import { IntOrString, KubePod, Quantity, type Affinity, type KubePodProps, type NodeSelectorTerm, type ResourceRequirements } from 'cdk8s-plus-27/lib/imports/k8s.js';
import { CONFIG_DIR, CONFIG_FILE } from '../config/server-properties.js';
import type { ClusterModel, KafkaNodeModel } from '../spec/resolve.js';
import type { ResourcesSpec } from '../spec/schema.js';
import {
  ANNOTATION_DESIRED_HASH, CONFIG_KEY_PROPERTIES, GITOPS_CREATE_ONLY_ANNOTATIONS, createOnlyLabels, names,
} from './metadata.js';

/** uid/gid of the user in the official apache/kafka image. */
const KAFKA_UID = 1000;
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
  /** The Pod as Kubernetes JSON (rendered by the L1 KubePod), as emitted and stored in the ConfigMap. */
  readonly manifest: Record<string, unknown>;
  /** sha256 over server.properties and the Pod (without the hash itself). */
  readonly hash: string;
}

export function renderNodePod(cluster: ClusterModel, node: KafkaNodeModel, serverProperties: string): NodePod {
  // Key order is deterministic (insertion order of deterministic code), so no sorting is needed here.
  const manifest = KubePod.manifest(podProps(cluster, node)) as { metadata: { annotations: Record<string, string> } };
  const hash = sha256(`${serverProperties}\n${JSON.stringify(manifest)}`);
  manifest.metadata.annotations[ANNOTATION_DESIRED_HASH] = hash;
  return { manifest, hash };
}

function podProps(cluster: ClusterModel, node: KafkaNodeModel): KubePodProps {
  const isBroker = node.roles.includes('broker');
  const probePort = isBroker ? cluster.ports.internal : cluster.ports.controller;
  const ports = [
    ...(isBroker ? [{ name: 'internal', containerPort: cluster.ports.internal }] : []),
    ...(node.roles.includes('controller') ? [{ name: 'controller', containerPort: cluster.ports.controller }] : []),
  ];
  const env = [
    { name: CLUSTER_ID_ENV, value: cluster.clusterId },
    ...Object.keys(node.env).sort().map((name) => ({ name, value: node.env[name]! })),
  ];
  return {
    metadata: {
      name: node.name,
      namespace: cluster.namespace,
      labels: createOnlyLabels(cluster, node),
      annotations: { ...GITOPS_CREATE_ONLY_ANNOTATIONS },
    },
    spec: {
      serviceAccountName: names.serviceAccount(cluster),
      automountServiceAccountToken: false,
      // Service links put one env var per Service into every Pod: thousands with 1000 brokers.
      enableServiceLinks: false,
      hostname: node.name,
      terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS,
      securityContext: {
        runAsUser: KAFKA_UID,
        runAsGroup: KAFKA_UID,
        runAsNonRoot: true,
        fsGroup: KAFKA_UID,
        fsGroupChangePolicy: 'OnRootMismatch',
      },
      containers: [{
        name: 'kafka',
        image: node.image,
        command: ['/bin/bash', '-c', START_SCRIPT],
        env,
        ports,
        resources: toResources(node.resources),
        volumeMounts: [
          { name: CONFIG_VOLUME, mountPath: CONFIG_DIR, readOnly: true },
          ...node.volumes.map((v) => ({ name: v.name, mountPath: v.mountPath })),
        ],
        readinessProbe: { tcpSocket: { port: IntOrString.fromNumber(probePort) }, periodSeconds: 5, failureThreshold: 3 },
        livenessProbe: {
          tcpSocket: { port: IntOrString.fromNumber(probePort) },
          initialDelaySeconds: 60, periodSeconds: 10, failureThreshold: 6,
        },
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
      }],
      volumes: [
        { name: CONFIG_VOLUME, configMap: { name: node.name, items: [{ key: CONFIG_KEY_PROPERTIES, path: CONFIG_FILE }] } },
        ...node.volumes.map((v) => ({ name: v.name, persistentVolumeClaim: { claimName: v.claimName } })),
      ],
      nodeSelector: Object.keys(node.nodeSelector).length ? node.nodeSelector : undefined,
      affinity: withRackAffinity(cluster, node),
      tolerations: node.tolerations.length ? [...node.tolerations] : undefined,
    },
  };
}

function toResources(resources: ResourcesSpec | undefined): ResourceRequirements | undefined {
  if (!resources) return undefined;
  const convert = (list?: Record<string, string>) => list
    && Object.fromEntries(Object.entries(list).map(([k, v]) => [k, Quantity.fromString(v)]));
  return { requests: convert(resources.requests), limits: convert(resources.limits) };
}

/** Pins a broker to nodes of its rack, ANDed into each required term of the user's own affinity. */
function withRackAffinity(cluster: ClusterModel, node: KafkaNodeModel): Affinity | undefined {
  // The user's affinity is Kubernetes JSON, which is also the shape of the L1 props.
  const user = node.affinity as Affinity | undefined;
  if (!cluster.rackTopologyKey || node.rack === undefined || !node.roles.includes('broker')) return user;
  const rackExpr = { key: cluster.rackTopologyKey, operator: 'In', values: [node.rack] };
  const required = user?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  const terms: NodeSelectorTerm[] = required?.nodeSelectorTerms.length
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
