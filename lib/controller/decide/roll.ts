/**
 * The rolling restart's decisions, from data alone (see STYLE.md, Strimzi's KafkaRoller):
 * which node restarts next, whether it may restart now, and whether a restarted node is
 * back. The reconciler gathers a HealthSnapshot; nothing here does I/O.
 *
 * Order: nodes that are not Ready first (restarting them costs no availability), then
 * brokers, then controllers, the active controller last, each by id.
 * Gates, all of which must pass (a failed gate waits and says why; nothing is forced):
 *  1. no partition is offline;
 *  2. every partition the node is in sync for keeps min.insync.replicas without it;
 *  3. failures (other nodes not Ready or out of some ISR, firing hold alerts) are at most
 *     the spec's failureThreshold;
 *  4. the KRaft quorum has a leader and a majority of voters caught up without the node.
 */
import { CONTROLLER_CAUGHT_UP_LAG } from '../../render/start-script.js';
import type { NodeRole } from './node-state.js';

export interface RollNode {
  readonly name: string;
  readonly id: number;
  readonly roles: readonly NodeRole[];
  /** The Pod exists and is Ready. */
  readonly ready: boolean;
}

export interface PartitionHealth {
  readonly topic: string;
  readonly partition: number;
  readonly leader: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  /** The topic's effective min.insync.replicas. */
  readonly minIsr: number;
}

export interface QuorumHealth {
  readonly leaderId: number;
  readonly voters: ReadonlyArray<{ readonly id: number; readonly lag: number }>;
}

export interface HealthSnapshot {
  /** Every node of the cluster, with its Pod's readiness. */
  readonly nodes: readonly RollNode[];
  readonly partitions: readonly PartitionHealth[];
  readonly quorum?: QuorumHealth;
  /** Names of firing alerts that hold rolling restarts; a string alone when they cannot be read. */
  readonly holdingAlerts: readonly string[];
  readonly failureThreshold: number;
}

export type Gate = { readonly ok: true } | { readonly ok: false; readonly reason: string };

const isController = (n: RollNode): boolean => n.roles.includes('controller');

/** The order in which `pending` nodes restart (see the header). */
export function rollOrder<T extends RollNode>(pending: readonly T[], activeControllerId: number): T[] {
  const rank = (n: T): number => (!n.ready ? 0 : !isController(n) ? 1 : n.id === activeControllerId ? 3 : 2);
  return [...pending].sort((a, b) => rank(a) - rank(b) || a.id - b.id);
}

/** Whether `node` may restart now. */
export function restartGate(node: RollNode, h: HealthSnapshot): Gate {
  const offline = h.partitions.filter((p) => p.leader < 0 || p.isr.length === 0);
  if (offline.length > 0) return wait(`${count(offline.length, 'partition')} offline (${partitionList(offline)})`);

  if (node.roles.includes('broker')) {
    const thin = h.partitions.filter((p) => p.isr.includes(node.id) && p.isr.length - 1 < p.minIsr);
    if (thin.length > 0) {
      const p = thin[0]!;
      return wait(`restarting ${node.name} would leave ${count(thin.length, 'partition')} below min.insync.replicas (${p.topic}-${p.partition}: ${p.isr.length} in sync, min ${p.minIsr})`);
    }
  }

  const failures = failuresWithout(node, h);
  if (failures.length > h.failureThreshold) {
    return wait(`${count(failures.length, 'failure')} (${failures.join('; ')}) exceed failureThreshold ${h.failureThreshold}`);
  }

  const quorum = quorumWithout(isController(node) ? node.id : undefined, h.quorum);
  if (quorum) return wait(quorum);
  return { ok: true };
}

/** Whether a restarted node is back: Ready, in the ISR of every partition it replicates, or caught up in the quorum. */
export function caughtUp(node: RollNode, h: HealthSnapshot): Gate {
  const current = h.nodes.find((n) => n.name === node.name);
  if (!current?.ready) return wait(`${node.name} is not Ready yet`);
  if (node.roles.includes('broker')) {
    const behind = h.partitions.filter((p) => p.replicas.includes(node.id) && !p.isr.includes(node.id));
    if (behind.length > 0) return wait(`${node.name} is not yet in the ISR of ${count(behind.length, 'partition')} (${partitionList(behind)})`);
  }
  if (isController(node)) {
    if (!h.quorum || h.quorum.leaderId < 0) return wait('the quorum has no leader');
    const voter = h.quorum.voters.find((v) => v.id === node.id);
    if (voter && (voter.lag < 0 || voter.lag > CONTROLLER_CAUGHT_UP_LAG)) return wait(`${node.name} is ${voter.lag < 0 ? 'not yet fetching' : `${voter.lag} records behind`} in the quorum`);
  }
  return { ok: true };
}

/** Failures that count against failureThreshold, other than `node` itself (restarting it loses nothing more). */
export function failuresWithout(node: RollNode, h: HealthSnapshot): string[] {
  const out: string[] = [];
  for (const n of h.nodes) {
    if (n.name === node.name) continue;
    if (!n.ready) {
      out.push(`${n.name} is not Ready`);
      continue;
    }
    const behind = h.partitions.filter((p) => p.replicas.includes(n.id) && !p.isr.includes(n.id));
    if (n.roles.includes('broker') && behind.length > 0) out.push(`${n.name} is out of the ISR of ${count(behind.length, 'partition')}`);
  }
  for (const alert of h.holdingAlerts) out.push(`alert ${alert} holds rolling restarts`);
  return out;
}

/** Why the quorum is not healthy enough to lose voter `without` (undefined: a broker), or undefined when it is. */
function quorumWithout(without: number | undefined, q: QuorumHealth | undefined): string | undefined {
  if (!q) return 'the quorum cannot be described';
  if (q.leaderId < 0) return 'the quorum has no leader';
  const majority = Math.floor(q.voters.length / 2) + 1;
  const caught = q.voters.filter((v) => v.id !== without && v.lag >= 0 && v.lag <= CONTROLLER_CAUGHT_UP_LAG);
  if (caught.length < majority) {
    return `only ${caught.length} of ${q.voters.length} voters would be caught up${without !== undefined ? ` without ${without}` : ''}; a majority is ${majority}`;
  }
  return undefined;
}

const wait = (reason: string): Gate => ({ ok: false, reason });
const count = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;
function partitionList(ps: readonly PartitionHealth[]): string {
  const shown = ps.slice(0, 3).map((p) => `${p.topic}-${p.partition}`);
  return ps.length > 3 ? `${shown.join(', ')}, ...` : shown.join(', ');
}
