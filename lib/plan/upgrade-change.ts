/**
 * What a change of kafka.version or kafka.metadataVersion does, before it is made: the
 * roll, then finalizing metadata.version (one-way), or the refusal of a downgrade. Pure;
 * `plan` prints it. The runtime controller carries it out (controller/decide/features.ts).
 */
import { metadataVersionOf } from '../config/metadata-versions.js';
import { compareVersions } from '../config/versions.js';
import { CONFIG_KEY_CLUSTER, parseClusterDocument } from '../render/cluster-document.js';
import { clusterConfigMaps } from './output-config-maps.js';
import type { ClusterModel } from '../spec/resolve.js';

export interface KafkaVersions {
  readonly kafkaVersion: string;
  readonly metadataVersion?: string;
}

/**
 * The Kafka version (and hold) of a cluster in a previous output: from its cluster document,
 * or, for output made before there was one, from the header of a node's server.properties.
 */
export function kafkaVersionsInOutput(objects: readonly unknown[], cluster: string, namespace: string): KafkaVersions | undefined {
  let fromHeader: string | undefined;
  for (const o of clusterConfigMaps(objects, cluster, namespace)) {
    const doc = o.data?.[CONFIG_KEY_CLUSTER];
    if (doc) return parseClusterDocument(doc, `ConfigMap ${namespace}/${o.metadata?.name}`);
    fromHeader ??= /^# Kafka (\d+\.\d+\.\d+) /m.exec(o.data?.['server.properties'] ?? '')?.[1];
  }
  return fromHeader ? { kafkaVersion: fromHeader } : undefined;
}

export function upgradeChange(previous: KafkaVersions | undefined, cluster: ClusterModel): string[] {
  if (!previous) return [];
  const from = previous.kafkaVersion;
  const to = cluster.kafkaVersion;
  const notes: string[] = [];
  const level = (v: string) => metadataVersionOf(v);
  const name = (v: string) => (level(v) ? `${level(v)!.name} (level ${level(v)!.level})` : `the level of ${v}`);
  const hold = cluster.metadataVersion;
  const cmp = compareVersions(to, from);
  if (cmp > 0) {
    notes.push(`kafka.version ${from} → ${to}: every node restarts into the new image, one at a time through the usual gates (brokers first, then the controllers, the active one last)`);
    if (hold) {
      notes.push(`metadata.version stays at most ${name(hold)}: kafka.metadataVersion holds it; Kafka can still be rolled back to ${hold}`);
    } else {
      notes.push(`then, once every node runs ${to}, the controller finalizes metadata.version to ${name(to)} (and raises kraft.version if every node supports more). `
        + `This is one-way: afterwards Kafka older than ${level(to)?.release ?? to} cannot run this cluster. To keep a way back, set kafka.metadataVersion: '${level(from)?.release ?? from}' first`);
    }
  } else if (cmp < 0) {
    const target = level(to);
    notes.push(`kafka.version ${from} → ${to} is a downgrade: the controller refuses it, restarting nothing, if metadata.version is finalized above ${name(to)}; `
      + `that is the case unless kafka.metadataVersion held it at ${target?.release ?? to} or lower since before the upgrade`);
  } else if (hold !== previous.metadataVersion) {
    if (!hold || (previous.metadataVersion && compareVersions(hold, previous.metadataVersion) > 0)) {
      notes.push(`kafka.metadataVersion ${previous.metadataVersion ?? '(none)'} → ${hold ?? '(none)'}: the controller finalizes metadata.version to ${name(hold ?? to)}; one-way: afterwards Kafka older than ${level(hold ?? to)?.release ?? hold ?? to} cannot run this cluster`);
    } else {
      notes.push(`kafka.metadataVersion ${previous.metadataVersion ?? '(none)'} → ${hold}: a finalized metadata.version never goes back; this only holds later upgrades at ${name(hold)}`);
    }
  }
  return notes;
}
