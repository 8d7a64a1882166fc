/**
 * Kafka upgrades, the part after the roll: finalizing metadata.version and kraft.version
 * (KIP-584 UpdateFeatures), and refusing a downgrade that Kafka could not run. Pure.
 *
 * A new kafka.version rolls every node through the usual gates (the image changes). Only
 * when every node runs it, Ready, with nothing left to restart, are the finalized levels
 * raised: to the lowest level every node supports, capped by the spec's hold
 * (kafka.metadataVersion). Finalizing is one-way: afterwards, Kafka older than that level
 * cannot read the metadata log, so a spec that asks for it is refused before any restart.
 */
import { metadataVersionByLevel, metadataVersionOf } from '../../config/metadata-versions.js';

export const METADATA_VERSION = 'metadata.version';
export const KRAFT_VERSION = 'kraft.version';

export interface FinalizedLevels {
  readonly [METADATA_VERSION]: number;
  readonly [KRAFT_VERSION]: number;
}

export interface FeatureInput {
  /** From the cluster document; undefined when unknown: nothing is finalized. */
  readonly desired?: { readonly kafkaVersion: string; readonly metadataVersion?: string };
  /** The cluster's finalized levels (ApiVersions); undefined when unknown. */
  readonly finalized?: FinalizedLevels;
  /** The highest level every node supports (the minimum over nodes of each one's max); undefined when a node could not be asked. */
  readonly supported?: FinalizedLevels;
  /** Why the cluster is not settled (a restart pending or running, a node not Ready or not at its desired hash, a voter change); undefined when settled. */
  readonly unsettled?: string;
}

export interface FeatureUpdate {
  readonly feature: string;
  readonly from: number;
  readonly to: number;
}

export type FeatureStep =
  | { readonly kind: 'none'; readonly reason?: string }
  | { readonly kind: 'wait'; readonly reason: string }
  | { readonly kind: 'finalize'; readonly updates: readonly FeatureUpdate[]; readonly reason: string };

/** Names a level for people: "4.4-IV0 (level 28)". */
export function describeMetadataLevel(level: number): string {
  const known = metadataVersionByLevel(level);
  return known && known.level === level ? `${known.name} (level ${level})` : `level ${level}`;
}

/**
 * Why `kafkaVersion` cannot run a cluster whose metadata.version is finalized at `finalized`;
 * undefined when it can (or when the version is not in the table: Kafka then decides).
 */
export function downgradeRefusal(kafkaVersion: string, finalized: number | undefined): string | undefined {
  if (finalized === undefined) return undefined;
  const target = metadataVersionOf(kafkaVersion);
  if (!target || target.level >= finalized) return undefined;
  return `kafka.version ${kafkaVersion} cannot run this cluster: its metadata.version is finalized at ${describeMetadataLevel(finalized)}, `
    + `above ${target.release}'s ${target.name} (level ${target.level}). Finalizing is one-way; keep kafka.version at ${metadataVersionByLevel(finalized)?.release ?? 'the finalized release'} or later. No node is restarted for it.`;
}

export function nextFeatureStep(input: FeatureInput): FeatureStep {
  const { desired, finalized, supported } = input;
  if (!desired || !finalized) return { kind: 'none' };
  const wanted = metadataVersionOf(desired.metadataVersion ?? desired.kafkaVersion);
  if (!wanted) return { kind: 'none', reason: `Kafka ${desired.metadataVersion ?? desired.kafkaVersion} is not in the metadata.version table: finalize it with kafka-features.sh` };
  const held = desired.metadataVersion !== undefined;
  if (finalized[METADATA_VERSION] >= wanted.level) {
    return { kind: 'none', ...(held && finalized[METADATA_VERSION] > wanted.level ? { reason: `metadata.version is already finalized at ${describeMetadataLevel(finalized[METADATA_VERSION])}, above the hold ${desired.metadataVersion}: it cannot go back` } : {}) };
  }
  if (input.unsettled) return { kind: 'wait', reason: `finalizing metadata.version ${wanted.name} waits: ${input.unsettled}` };
  if (!supported) return { kind: 'wait', reason: 'finalizing metadata.version waits: not every node told which levels it supports' };
  const updates: FeatureUpdate[] = [];
  const mv = Math.min(wanted.level, supported[METADATA_VERSION]);
  if (mv > finalized[METADATA_VERSION]) updates.push({ feature: METADATA_VERSION, from: finalized[METADATA_VERSION], to: mv });
  // kraft.version is raised with an upgrade, never held apart from it: every node supports it by then.
  if (!held && supported[KRAFT_VERSION] > finalized[KRAFT_VERSION]) updates.push({ feature: KRAFT_VERSION, from: finalized[KRAFT_VERSION], to: supported[KRAFT_VERSION] });
  if (updates.length === 0) return { kind: 'wait', reason: `finalizing metadata.version ${wanted.name} waits: some node supports only ${describeMetadataLevel(supported[METADATA_VERSION])}` };
  return {
    kind: 'finalize',
    updates,
    reason: `every node runs Kafka ${desired.kafkaVersion}: finalizing ${updates.map((u) => `${u.feature} ${u.feature === METADATA_VERSION ? `${describeMetadataLevel(u.from)} → ${describeMetadataLevel(u.to)}` : `${u.from} → ${u.to}`}`).join(' and ')} (one-way)`,
  };
}
