/**
 * What a change of the controller set does, before it is made: compares the controllers
 * of a previous synthesis with those of a new spec. Pure; `plan` and `validate --previous`
 * print it. The runtime controller carries it out (controller/decide/quorum.ts), one voter
 * at a time (KIP-853).
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
  const plural = (ids: number[], one: string, many: string) => (ids.length > 1 ? many : one);
  if (added.length > 0) {
    notes.push(`controller${plural(added, '', 's')} ${added.join(', ')} will be created and join${plural(added, 's', '')} the quorum as ${plural(added, 'an observer', 'observers')}; `
      + `the kafka-cdk8s controller then adds ${plural(added, 'it', 'each')} as a voter (AddRaftVoter) once it has caught up and every voter is caught up, one at a time`);
  }
  if (removed.length > 0) {
    notes.push(`controller${plural(removed, '', 's')} ${removed.join(', ')} leave${plural(removed, 's', '')} the spec: the kafka-cdk8s controller removes ${plural(removed, 'it', 'each')} from the voters (RemoveRaftVoter) `
      + 'while every other voter is caught up, one at a time (the active controller first restarts to hand leadership over), '
      + `and only then deletes ${plural(removed, 'its', 'their')} Pod, Service and ConfigMap, and the claims marked deleteClaim (GitOps keeps them: they are prune-proof)`);
  }
  if (notes.length > 0) {
    notes.push(`voters {${previous.join(', ')}} → {${after.join(', ')}}: additions first, so the quorum never shrinks before it has grown; `
      + 'nothing changes while a node restarts or the quorum has no leader');
    notes.push('running nodes are not restarted for the new controller.quorum.bootstrap.servers (it only helps a node find the quorum when it starts): each gets it at its next restart');
  }
  return { cluster: cluster.name, before: [...previous], after, notes };
}
