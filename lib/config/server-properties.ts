/**
 * The server.properties of one node: the keys the tool owns (derived from the
 * topology) plus the user's merged config. Deterministic: sorted keys, no
 * timestamps, so a spec change shows in git as exactly the keys that changed.
 */
import type { ClusterModel, KafkaNodeModel } from '../spec/resolve.js';
import { formatProperties } from './properties-format.js';
import { nodeContributions } from '../render/contributions.js';

export const INTERNAL_LISTENER = 'INTERNAL';
export const CONTROLLER_LISTENER = 'CONTROLLER';
export const EXTERNAL_LISTENER = 'EXTERNAL';
/** Kafka stores data in a subdirectory, so a filesystem's lost+found never sits in a log dir. */
export const LOG_SUBDIR = 'kafka-log';
/** Where the rendered server.properties is mounted in every Kafka container. */
export const CONFIG_DIR = '/etc/kafka-cdk8s';
export const CONFIG_FILE = 'server.properties';

/** The keys kafka-cdk8s derives for a node, by key: the topology's, then every feature's (listeners, TLS, ...). */
export function ownedConfig(cluster: ClusterModel, node: KafkaNodeModel): Record<string, string> {
  const owned: Record<string, string> = {
    'node.id': String(node.id),
    'process.roles': node.roles.join(','),
    // A dynamic quorum (KIP-853): nodes find the voters through these; the voter set itself
    // lives in the metadata log, bootstrapped once (see render/start-script.ts).
    'controller.quorum.bootstrap.servers': quorumBootstrapServers(cluster),
    'log.dirs': node.volumes.map(logDir).join(','),
    // Pinned: with several log dirs Kafka would otherwise put it on the first one, so a
    // volume added in front would get a second, empty metadata log.
    'metadata.log.dir': logDir(node.volumes.find((v) => v.metadataLog)!),
    ...nodeContributions(cluster, node).config,
  };
  if (node.roles.includes('broker') && node.rack !== undefined) owned['broker.rack'] = node.rack;
  return owned;
}

const logDir = (volume: KafkaNodeModel['volumes'][number]) => `${volume.mountPath}/${LOG_SUBDIR}`;

/** host:port of every controller, for controller.quorum.bootstrap.servers and the admin tools. */
export function quorumBootstrapServers(cluster: ClusterModel): string {
  return cluster.voters.map((v) => `${v.host}:${cluster.ports.controller}`).join(',');
}

/** Effective config of a node: user config with the owned keys on top. */
export function nodeConfig(cluster: ClusterModel, node: KafkaNodeModel): Record<string, string> {
  return { ...node.config, ...ownedConfig(cluster, node) };
}

export function renderServerProperties(cluster: ClusterModel, node: KafkaNodeModel): string {
  return formatProperties(nodeConfig(cluster, node), [
    `Kafka ${cluster.kafkaVersion} ${node.roles.join('+')} ${node.id} of cluster ${cluster.namespace}/${cluster.name}.`,
    'Rendered by kafka-cdk8s from the cluster spec; edit the spec, not this file.',
  ]);
}
