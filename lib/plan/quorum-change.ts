/**
 * What a change of the controller set needs, before it is made: compares the
 * controllers of a previous synthesis with those of a new spec. Pure; the
 * `validate --previous` command prints it. Until the kafka-cdk8s controller
 * changes the voter set (KIP-853: AddRaftVoter / RemoveRaftVoter), nothing in
 * the output changes the voters of a running quorum: new controllers join as
 * observers, and running nodes are not restarted for the new bootstrap servers.
 */
import { loadAll } from 'js-yaml';
import { LABEL_CLUSTER, LABEL_NODE_ID } from '../render/metadata.js';
import type { ClusterModel } from '../spec/resolve.js';

export interface QuorumChange {
  readonly cluster: string;
  readonly before: readonly number[];
  readonly after: readonly number[];
  /** One line per consequence, for people. Empty when the controller set is unchanged. */
  readonly notes: readonly string[];
}

/** Node ids with the controller role in a synthesized output, by cluster name. */
export function controllersInOutput(yaml: string): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const doc of loadAll(yaml)) {
    const o = doc as { kind?: string; metadata?: { labels?: Record<string, string> }; data?: Record<string, string> } | null;
    if (o?.kind !== 'ConfigMap' || !o.data?.['server.properties']) continue;
    const roles = /^process\.roles=(.*)$/m.exec(o.data['server.properties'])?.[1] ?? '';
    const cluster = o.metadata?.labels?.[LABEL_CLUSTER];
    const id = Number(o.metadata?.labels?.[LABEL_NODE_ID]);
    if (!cluster || !Number.isInteger(id) || !roles.split(',').includes('controller')) continue;
    out.set(cluster, [...(out.get(cluster) ?? []), id].sort((a, b) => a - b));
  }
  return out;
}

export function quorumChange(previous: readonly number[], cluster: ClusterModel): QuorumChange {
  const after = cluster.voters.map((v) => v.id);
  const added = after.filter((id) => !previous.includes(id));
  const removed = previous.filter((id) => !after.includes(id));
  const notes: string[] = [];
  if (added.length > 0) {
    notes.push(`controller${added.length > 1 ? 's' : ''} ${added.join(', ')} will be created and join the quorum as observer${added.length > 1 ? 's' : ''}, `
      + 'not voters: making each a voter needs AddRaftVoter once it has caught up (kafka-metadata-quorum add-controller), one at a time');
  }
  if (removed.length > 0) {
    notes.push(`controller${removed.length > 1 ? 's' : ''} ${removed.join(', ')} leave${removed.length > 1 ? '' : 's'} the spec, but stay${removed.length > 1 ? '' : 's'} a voter: `
      + 'remove each with RemoveRaftVoter (kafka-metadata-quorum remove-controller) while the quorum is healthy, one at a time, '
      + 'and only then delete its Pod, PVCs, ConfigMap and Service (they are prune-proof, so GitOps keeps them)');
  }
  if (notes.length > 0) {
    const majority = Math.floor(previous.length / 2) + 1;
    notes.push(`the voter set stays {${previous.join(', ')}} until then: it needs ${majority} of ${previous.length} voters up`);
    notes.push('running nodes are not restarted for the new controller.quorum.bootstrap.servers (it only helps a node find the quorum when it starts): each gets it at its next restart');
  }
  return { cluster: cluster.name, before: [...previous], after, notes };
}
