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
import { CONFIG_DIR } from '../config/server-properties.js';
import type { ClusterModel, KafkaNodeModel } from '../spec/resolve.js';
import type { AffinitySpec } from '../spec/kube-schemas.js';
import { quantityValue } from '../spec/kube-schemas.js';
import { ANNOTATION_DESIRED_HASH, GITOPS_CREATE_ONLY_ANNOTATIONS, createOnlyLabels, poolSelector } from './metadata.js';
import { ANNOTATION_POD_FIELDS, podFields } from './pod-fields.js';
import { LOG4J2_FILE, readinessScript, scriptEnv, startScript } from './start-script.js';
import { nodeContributions } from './contributions.js';

/** An emptyDir for the files the start script writes (server.properties, log4j2); never the live ConfigMap. */
export const CONFIG_VOLUME = 'server-config';
/** Kafka 4.4 waits up to 5 minutes (fixed) for the controllers to approve a broker's controlled shutdown. */
const CONTROLLED_SHUTDOWN_WAIT_SECONDS = 300;
/** Then it closes its logs; a SIGKILL before that means log recovery at the next start. */
const LOG_CLOSE_SECONDS = 60;
/** Controllers stop in seconds; the margin covers a snapshot being written. */
const CONTROLLER_GRACE_SECONDS = 60;
/** Log recovery after an unclean stop can take long; the startup probe allows this much before liveness counts. */
const STARTUP_BUDGET_SECONDS = 1800;
/** Heap as a share of the container's memory: Kafka lives on the page cache. */
const HEAP_SHARE = 0.5;
const MIN_HEAP_MIB = 256;
/** Bounds for what the container writes outside its volumes (Kafka itself logs to stdout). */
const EPHEMERAL_STORAGE = { request: '100Mi', limit: '1Gi' };

export interface NodePod {
  /** The Pod as Kubernetes JSON, as emitted and stored in the ConfigMap. */
  readonly manifest: Record<string, unknown>;
  /** sha256 over server.properties and the Pod (without the hash itself). */
  readonly hash: string;
}

export function renderNodePod(cluster: ClusterModel, node: KafkaNodeModel, serverProperties: string): NodePod {
  const manifest = podManifest(cluster, node, serverProperties);
  // Every input is canonical (resolve sorts the user's maps), so equal meaning gives equal bytes.
  const hash = sha256(`${serverProperties}\n${JSON.stringify(manifest)}`);
  const fields = podFields(manifest);
  manifest.metadata.annotations[ANNOTATION_DESIRED_HASH] = hash;
  manifest.metadata.annotations[ANNOTATION_POD_FIELDS] = JSON.stringify(fields);
  return { manifest, hash };
}

const tcpProbe = (port: number) => ({ tcpSocket: { port } });
const execProbe = (script: string) => ({ exec: { command: ['/bin/bash', '-c', script] } });

function podManifest(cluster: ClusterModel, node: KafkaNodeModel, serverProperties: string) {
  const isBroker = node.roles.includes('broker');
  const probePort = isBroker ? cluster.ports.internal : cluster.ports.controller;
  // Everything features add (listeners' ports, TLS volumes, a sidecar wait, ...), before rendering and hashing.
  const added = nodeContributions(cluster, node);
  const env = [
    ...scriptEnv(cluster, node, serverProperties),
    ...added.env,
    ...Object.entries(kafkaEnv(node)).map(([name, value]) => ({ name, value })),
  ];
  const { runAsUser, runAsGroup, fsGroup } = node.securityContext;
  const affinity = withSpreadAffinity(cluster, node, withRackAffinity(cluster, node));
  const spread = topologySpread(cluster, node);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: node.name,
      namespace: cluster.namespace,
      labels: createOnlyLabels(cluster, node),
      annotations: { ...added.podAnnotations, ...GITOPS_CREATE_ONLY_ANNOTATIONS } as Record<string, string>,
    },
    spec: {
      // The namespace's default ServiceAccount, with no token: a ServiceAccount of our own
      // would be created in the same GitOps apply stage, and Flux dry-runs every Pod of
      // that stage before creating anything, so admission would refuse them all.
      automountServiceAccountToken: false,
      // Service links put one env var per Service into every Pod: thousands with 1000 brokers.
      enableServiceLinks: false,
      hostname: node.name,
      // Longer than Kafka's own controlled-shutdown wait plus closing the logs, so that a broker
      // stopping while the quorum is down still ends cleanly instead of being killed.
      terminationGracePeriodSeconds: isBroker ? CONTROLLED_SHUTDOWN_WAIT_SECONDS + LOG_CLOSE_SECONDS : CONTROLLER_GRACE_SECONDS,
      // Pod Security Standard "restricted".
      securityContext: {
        runAsNonRoot: true,
        runAsUser,
        runAsGroup,
        fsGroup,
        fsGroupChangePolicy: 'OnRootMismatch',
        seccompProfile: { type: 'RuntimeDefault' },
      },
      ...(added.initContainers.length ? { initContainers: added.initContainers } : {}),
      containers: [{
        name: 'kafka',
        image: node.image,
        command: ['/bin/bash', '-c', startScript(added)],
        env,
        ports: added.ports,
        resources: withEphemeralStorage(node.resources),
        volumeMounts: [
          { name: CONFIG_VOLUME, mountPath: CONFIG_DIR },
          ...node.volumes.map((v) => ({ name: v.name, mountPath: v.mountPath })),
          ...added.volumeMounts,
        ],
        startupProbe: { ...tcpProbe(probePort), periodSeconds: 10, failureThreshold: STARTUP_BUDGET_SECONDS / 10 },
        livenessProbe: { ...tcpProbe(probePort), periodSeconds: 10, failureThreshold: 6 },
        // The in-sync check starts a JVM (the image's Kafka tools), so it gets time; it runs
        // until it first passes after a container start, then only the port is checked.
        readinessProbe: { ...execProbe(readinessScript(cluster, node, added.adminProperties)), periodSeconds: 10, timeoutSeconds: 60, failureThreshold: 1 },
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, runAsNonRoot: true },
      }],
      volumes: [
        { name: CONFIG_VOLUME, emptyDir: { sizeLimit: '16Mi' } },
        ...node.volumes.map((v) => ({ name: v.name, persistentVolumeClaim: { claimName: v.claimName } })),
        ...added.volumes,
      ],
      ...(Object.keys(node.nodeSelector).length ? { nodeSelector: node.nodeSelector } : {}),
      ...(affinity ? { affinity } : {}),
      ...(node.tolerations.length ? { tolerations: node.tolerations } : {}),
      ...(spread.length ? { topologySpreadConstraints: spread } : {}),
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

/**
 * Kafka's env: heap from the container's memory (unless the user set
 * KAFKA_HEAP_OPTS), logs to stdout with no GC log file, then the user's env.
 */
function kafkaEnv(node: KafkaNodeModel): Record<string, string> {
  const memory = node.resources?.limits?.memory ?? node.resources?.requests?.memory;
  const heapMiB = memory === undefined ? undefined : Math.max(MIN_HEAP_MIB, Math.floor((quantityValue(memory) * HEAP_SHARE) / 2 ** 20));
  return {
    ...(heapMiB !== undefined ? { KAFKA_HEAP_OPTS: `-Xms${heapMiB}m -Xmx${heapMiB}m` } : {}),
    KAFKA_LOG4J_OPTS: `-Dlog4j2.configurationFile=${CONFIG_DIR}/${LOG4J2_FILE}`,
    // kafka-server-start.sh adds -loggc (a GC log file in the container) unless EXTRA_ARGS is set.
    EXTRA_ARGS: '-name kafkaServer',
    LOG_DIR: '/tmp/kafka-logs',
    ...node.env,
  };
}

function withEphemeralStorage(resources: KafkaNodeModel['resources']) {
  return {
    limits: { 'ephemeral-storage': EPHEMERAL_STORAGE.limit, ...resources?.limits },
    requests: { 'ephemeral-storage': EPHEMERAL_STORAGE.request, ...resources?.requests },
  };
}

const SPREAD_KEYS = ['kubernetes.io/hostname', 'topology.kubernetes.io/zone'] as const;

/** 'preferred': spread each pool over nodes and zones as far as possible, never blocking scheduling. */
function topologySpread(cluster: ClusterModel, node: KafkaNodeModel) {
  if (cluster.topologySpread === 'none') return [];
  const keys = cluster.topologySpread === 'required' ? SPREAD_KEYS.slice(1) : SPREAD_KEYS;
  return keys.map((topologyKey) => ({
    maxSkew: 1,
    topologyKey,
    whenUnsatisfiable: 'ScheduleAnyway',
    labelSelector: { matchLabels: poolSelector(cluster, node.pool) },
  }));
}

/** 'required': at most one Pod of the pool per Kubernetes node, added to the user's own pod anti-affinity. */
function withSpreadAffinity(cluster: ClusterModel, node: KafkaNodeModel, affinity: AffinitySpec | undefined): AffinitySpec | undefined {
  if (cluster.topologySpread !== 'required') return affinity;
  const term = { labelSelector: { matchLabels: poolSelector(cluster, node.pool) }, topologyKey: SPREAD_KEYS[0] };
  const anti = affinity?.podAntiAffinity;
  return {
    ...affinity,
    podAntiAffinity: { ...anti, requiredDuringSchedulingIgnoredDuringExecution: [...(anti?.requiredDuringSchedulingIgnoredDuringExecution ?? []), term] },
  };
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
