/**
 * What runs inside a node's container: the start script (write the config
 * the Pod was created with, format storage, decide how a controller joins the
 * quorum, start Kafka) and the probes. Plain bash and the image's own Kafka
 * tools, so any apache/kafka-like image works. See README "KRaft quorum" and
 * "Probes and readiness".
 */
import { createHash } from 'node:crypto';
import type { ClusterModel, KafkaNodeModel } from '../spec/resolve.js';
import { CONFIG_DIR, CONFIG_FILE, quorumBootstrapServers } from '../config/server-properties.js';

/** Env vars the start script and the probes read; all carry this prefix (users may not set it). */
export const ENV = {
  clusterId: 'KAFKA_CDK8S_CLUSTER_ID',
  nodeId: 'KAFKA_CDK8S_NODE_ID',
  /** The node's server.properties: the Pod's own copy, fixed for its whole life. */
  serverProperties: 'KAFKA_CDK8S_SERVER_PROPERTIES',
  metadataDir: 'KAFKA_CDK8S_METADATA_DIR',
  /** Controllers only: the first voters of a new cluster, id@host:port:directory-id. */
  initialControllers: 'KAFKA_CDK8S_INITIAL_CONTROLLERS',
  /** Controllers only: where the quorum is asked whether it already exists. */
  quorumBootstrap: 'KAFKA_CDK8S_QUORUM_BOOTSTRAP',
  /** Controllers only: how long a first controller looks for an existing quorum before it bootstraps one. */
  bootstrapWaitSeconds: 'KAFKA_CDK8S_BOOTSTRAP_WAIT_SECONDS',
} as const;

/** Seconds a first controller with an empty disk asks for an existing quorum before bootstrapping one. */
export const BOOTSTRAP_WAIT_SECONDS = 30;
/** A controller is caught up (ready) when it is at most this many records behind the leader. */
export const CONTROLLER_CAUGHT_UP_LAG = 50;
/** Marker of "this container has been in sync once"; in the container's own layer, so a restart clears it. */
const READY_MARKER = '/tmp/kafka-cdk8s-ready';
/** Kafka tools' properties for the CONTROLLER listener (plaintext). */
const ADMIN_CONFIG = '/tmp/kafka-cdk8s-admin.properties';
/** Kafka tools' properties for the node's own INTERNAL listener (with its TLS, if any). */
const CLIENT_CONFIG = '/tmp/kafka-cdk8s-client.properties';
export const LOG4J2_FILE = 'log4j2.properties';

/** Kafka logs to stdout only (kubectl logs), nothing to files in the container. */
const LOG4J2 = [
  'status = warn',
  'appender.stdout.type = Console',
  'appender.stdout.name = STDOUT',
  'appender.stdout.layout.type = PatternLayout',
  'appender.stdout.layout.pattern = [%d] %p %m (%c)%n',
  'rootLogger.level = INFO',
  'rootLogger.appenderRef.stdout.ref = STDOUT',
  'logger.request.name = kafka.request.logger',
  'logger.request.level = WARN',
].join('\n');

/** Short admin timeouts, so a probe or a quorum check answers within its budget. */
const ADMIN_PROPERTIES: Readonly<Record<string, string>> = { 'request.timeout.ms': '5000', 'default.api.timeout.ms': '10000' };

/** The image's tools run with a small heap and their own logging, not the broker's. */
const TOOL_ENV = "KAFKA_HEAP_OPTS='-Xms32m -Xmx256m' KAFKA_LOG4J_OPTS=''";

/** What features add to the start script (render/contributions.ts). */
export interface StartScriptHooks {
  /** Properties of the Kafka tools that talk to the INTERNAL listener, besides the timeouts (e.g. TLS). */
  readonly adminProperties: Readonly<Record<string, string>>;
  /** Bash run first (e.g. wait for a sidecar). */
  readonly beforeStart: readonly string[];
  /** How Kafka's start command is launched (default `exec`). */
  readonly launch: (command: string) => string;
}

/** Short admin timeouts as one printf line (its exact bytes are part of every Pod's hash). */
const propertiesPrintf = (props: Readonly<Record<string, string>>, file: string) =>
  `printf '${Object.entries(props).map(([k, v]) => `${k}=${v}`).join('\\n')}\\n' > ${file}`;

function common(hooks: StartScriptHooks): string {
  // The client file only when a feature adds to it (TLS): Pods without one keep their hash.
  const client = Object.keys(hooks.adminProperties).length ? [propertiesPrintf({ ...ADMIN_PROPERTIES, ...hooks.adminProperties }, CLIENT_CONFIG)] : [];
  return [
    'set -euo pipefail',
    `conf=${CONFIG_DIR}`,
    'log() { echo "kafka-cdk8s: $*"; }',
    `printf '%s\\n' "$${ENV.serverProperties}" > "$conf/${CONFIG_FILE}"`,
    propertiesPrintf(ADMIN_PROPERTIES, ADMIN_CONFIG),
    ...client,
  ].join('\n');
}

/** The properties file of the Kafka tools that talk to a node's INTERNAL listener. */
export const clientConfigFile = (adminProperties: Readonly<Record<string, string>>) =>
  (Object.keys(adminProperties).length ? CLIENT_CONFIG : ADMIN_CONFIG);

/**
 * Start script. Every node formats its log dirs on first start (idempotent:
 * --ignore-formatted skips formatted dirs and formats new ones, e.g. an added
 * disk). A node with the controller role whose metadata log is empty decides
 * how to join the quorum:
 * - some controller answers with a leader: the quorum exists, so this is a new
 *   controller or a wiped or replaced disk; it joins as an observer with a
 *   fresh directory id, never as a voter;
 * - nobody answers within the wait, and this node is one of the first
 *   controllers: a new cluster; it bootstraps the quorum with the others;
 * - otherwise it waits for the quorum, then joins as an observer.
 */
export function startScript(hooks: StartScriptHooks): string {
  // Until bash execs Kafka, a deletion (SIGTERM) must end the Pod at once, not after the grace period.
  return `trap 'exit 143' TERM
${[common(hooks), ...hooks.beforeStart].join('\n')}
cat > "$conf/${LOG4J2_FILE}" <<'LOG4J2'
${LOG4J2}
LOG4J2
rm -f ${READY_MARKER}
format() { ${TOOL_ENV} /opt/kafka/bin/kafka-storage.sh format --cluster-id "$${ENV.clusterId}" --config "$conf/${CONFIG_FILE}" --ignore-formatted "$@"; }
has_leader() {
  ${TOOL_ENV} /opt/kafka/bin/kafka-metadata-quorum.sh --bootstrap-controller "$${ENV.quorumBootstrap}" --command-config ${ADMIN_CONFIG} \\
    describe --status 2>/dev/null | grep -Eq '^LeaderId:[[:space:]]*[0-9]+'
}
if [ -z "\${${ENV.initialControllers}:-}" ]; then
  format
elif [ -f "$${ENV.metadataDir}/meta.properties" ]; then
  format --no-initial-controllers
else
  deadline=$((SECONDS + \${${ENV.bootstrapWaitSeconds}:-${BOOTSTRAP_WAIT_SECONDS}}))
  first=false
  case ",$${ENV.initialControllers}" in *",$${ENV.nodeId}@"*) first=true ;; esac
  until has_leader; do
    if [ "$first" = true ] && [ $SECONDS -ge $deadline ]; then
      log "empty metadata log and no quorum answers: bootstrapping the quorum of a new cluster as one of its first controllers"
      format --initial-controllers "$${ENV.initialControllers}"
      break
    fi
    log "empty metadata log: waiting for the quorum to answer"
    sleep 5
  done
  if [ ! -f "$${ENV.metadataDir}/meta.properties" ]; then
    log "empty metadata log and the quorum has a leader: joining as an observer with a new directory id"
    format --no-initial-controllers
  fi
fi
${hooks.launch(`/opt/kafka/bin/kafka-server-start.sh "$conf/${CONFIG_FILE}"`)}
`;
}

/**
 * Readiness: once per container start, the node must be in sync; after that,
 * its port answering is enough. A broker is in sync when it is in the ISR of
 * every partition it holds; a controller when a leader exists and it is at
 * most CONTROLLER_CAUGHT_UP_LAG records behind. So a restarted broker stays
 * unready, and the PodDisruptionBudget lets no second node go, until it has
 * caught up, with or without the kafka-cdk8s controller running.
 */
export function readinessScript(cluster: ClusterModel, node: KafkaNodeModel, adminProperties: Readonly<Record<string, string>> = {}): string {
  const { internal, controller } = cluster.ports;
  const checks: string[] = [];
  if (node.roles.includes('broker')) {
    checks.push(`out=$(${TOOL_ENV} /opt/kafka/bin/kafka-topics.sh --bootstrap-server 127.0.0.1:${internal} --command-config ${clientConfigFile(adminProperties)} --describe --under-replicated-partitions)
printf '%s\\n' "$out" | awk -v id="$${ENV.nodeId}" '
  function has(list, x,  a, n, i) { n = split(list, a, ","); for (i = 1; i <= n; i++) if (a[i] == x) return 1; return 0 }
  { r = ""; s = ""; for (i = 1; i < NF; i++) { if ($i == "Replicas:") r = $(i + 1); if ($i == "Isr:") s = $(i + 1) }
    if (has(r, id) && !has(s, id)) behind = 1 }
  END { exit behind }'`);
  }
  if (node.roles.includes('controller')) {
    // Rows are matched by id and directory id: after a wiped disk the id is listed twice, as the
    // old voter and as this new observer, and this node is not ready while the old one is a voter.
    checks.push(`dir=$(sed -n 's/^directory\\.id=//p' "$${ENV.metadataDir}/meta.properties")
out=$(${TOOL_ENV} /opt/kafka/bin/kafka-metadata-quorum.sh --bootstrap-controller 127.0.0.1:${controller} --command-config ${ADMIN_CONFIG} describe --replication)
printf '%s\\n' "$out" | awk -v id="$${ENV.nodeId}" -v dir="$dir" '
  $1 == id && $2 == dir && $4 ~ /^[0-9]+$/ && $4 <= ${CONTROLLER_CAUGHT_UP_LAG} { ok = 1 }
  $1 == id && $2 != dir && ($7 == "Leader" || $7 == "Follower") { replaced = 1 }
  END { exit !(ok && !replaced) }'`);
  }
  const port = node.roles.includes('broker') ? internal : controller;
  return `set -euo pipefail
if [ -f ${READY_MARKER} ]; then : </dev/tcp/127.0.0.1/${port}; exit; fi
${checks.join('\n')}
touch ${READY_MARKER}
`;
}

/** The node's container env that the scripts read (besides the user's). */
export function scriptEnv(cluster: ClusterModel, node: KafkaNodeModel, serverProperties: string): Array<{ name: string; value: string }> {
  const env: Array<{ name: string; value: string }> = [
    { name: ENV.clusterId, value: cluster.clusterId },
    { name: ENV.nodeId, value: String(node.id) },
    { name: ENV.metadataDir, value: `${node.volumes.find((v) => v.metadataLog)!.mountPath}/kafka-log` },
  ];
  if (node.roles.includes('controller')) {
    env.push(
      { name: ENV.initialControllers, value: initialControllers(cluster) },
      { name: ENV.quorumBootstrap, value: quorumBootstrapServers(cluster) },
    );
  }
  env.push({ name: ENV.serverProperties, value: serverProperties });
  return env;
}

/** The first voters: every controller of the spec, each with a directory id derived from the cluster and node. */
export function initialControllers(cluster: ClusterModel): string {
  return cluster.voters.map((v) => `${v.id}@${v.host}:${cluster.ports.controller}:${initialDirectoryId(cluster.clusterId, v.id)}`).join(',');
}

/**
 * The directory id a first controller formats with. Derived, so that every
 * first controller agrees on the initial voter set without talking; used only
 * by the bootstrap of a new cluster (a later format gets a random one).
 */
export function initialDirectoryId(clusterId: string, nodeId: number): string {
  const bytes = createHash('sha256').update(`kafka-cdk8s/directory/${clusterId}/${nodeId}`).digest().subarray(0, 16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01; // never a leading '-', never one of Kafka's reserved ids
  return bytes.toString('base64url');
}
