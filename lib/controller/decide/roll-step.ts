/**
 * The next step of a rolling restart, crash-safe by construction: the only memory is the
 * RollRecord kept in the cluster (the state ConfigMap), written *before* a Pod is deleted
 * and cleared only once the new Pod is back in sync. Whatever moment the controller dies
 * at, the record and the Pods say where it was:
 *  - record, Pod with the recorded uid, not terminating → it was not deleted yet: delete;
 *  - record, Pod with the recorded uid, terminating → wait;
 *  - record, no Pod → create it from the desired Pod (GitOps may win: AlreadyExists is fine);
 *  - record, Pod with another uid → wait until it is back in sync, then clear the record;
 *  - no record → choose the next node (roll.ts), write the record, then delete.
 * So a node is never restarted twice for one record, and never two at once.
 */
import { caughtUp, restartGate, rollOrder, type HealthSnapshot, type RollNode } from './roll.js';

export interface RollRecord {
  readonly node: string;
  /** uid of the Pod this step deletes. */
  readonly uid: string;
  readonly fromHash: string;
  readonly toHash: string;
  readonly startedAt: string;
}

export interface ObservedPod {
  readonly name: string;
  readonly uid: string;
  readonly terminating: boolean;
}

export type RollStep =
  | { readonly kind: 'idle' }
  | { readonly kind: 'wait'; readonly node: string; readonly reason: string }
  | { readonly kind: 'begin'; readonly node: string }
  | { readonly kind: 'delete'; readonly node: string; readonly uid: string }
  | { readonly kind: 'create'; readonly node: string }
  | { readonly kind: 'finish'; readonly node: string };

export interface RollInput {
  readonly record?: RollRecord;
  /** Pods of the cluster's nodes, by name. */
  readonly pods: ReadonlyMap<string, ObservedPod>;
  /** Nodes whose plan is a restart (with a running Pod). */
  readonly pending: readonly RollNode[];
  readonly health: HealthSnapshot;
  readonly activeControllerId: number;
}

export function nextRollStep(input: RollInput): RollStep {
  const { record, pods, health } = input;
  if (record) {
    const pod = pods.get(record.node);
    if (!pod) return { kind: 'create', node: record.node };
    if (pod.uid === record.uid) {
      return pod.terminating ? { kind: 'wait', node: record.node, reason: `Pod ${record.node} is stopping` } : { kind: 'delete', node: record.node, uid: record.uid };
    }
    const node = health.nodes.find((n) => n.name === record.node) ?? { name: record.node, id: -1, roles: [], ready: false };
    const back = caughtUp(node, health);
    return back.ok ? { kind: 'finish', node: record.node } : { kind: 'wait', node: record.node, reason: back.reason };
  }
  const ordered = rollOrder(input.pending, input.activeControllerId);
  if (ordered.length === 0) return { kind: 'idle' };
  // Brokers before controllers, the active controller last: only nodes of the first group
  // still pending are candidates; within it, the first one whose gates pass goes.
  const group = (n: RollNode): number => (!n.roles.includes('controller') ? 0 : n.id === input.activeControllerId ? 2 : 1);
  const first = Math.min(...ordered.map(group));
  let firstWait: RollStep | undefined;
  for (const node of ordered.filter((n) => group(n) === first)) {
    const gate = restartGate(node, health);
    if (gate.ok) return { kind: 'begin', node: node.name };
    firstWait ??= { kind: 'wait', node: node.name, reason: gate.reason };
  }
  return firstWait!;
}
