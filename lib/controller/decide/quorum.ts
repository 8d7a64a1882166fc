/**
 * The next change to the KRaft voter set (KIP-853), one at a time. Pure: the reconciler
 * gives it the spec's controllers, the controller nodes that exist and DescribeQuorum;
 * it answers with one step, and the reconciler acts and asks again (level-triggered, so
 * a crash between steps only repeats a question).
 *
 * - A new controller joins as an observer (the start script formats it so); once it has
 *   caught up it is added (AddRaftVoter).
 * - A wiped or replaced disk comes back as an observer with the same id and a new
 *   directory id: the old (id, directory) is removed, then the new one added.
 * - A controller that left the spec is removed (RemoveRaftVoter); if it leads, it first
 *   steps down (its Pod restarts: a leader resigns when it shuts down). Only when it is no
 *   voter any more are its Pod, Service, ConfigMap and claims deleted ("retire").
 *
 * Gates: no change while a restart is in progress or the quorum has no leader; a change
 * only when every voter that stays is caught up, so the majority is never at risk;
 * additions before removals, so a replacement never shrinks the quorum first.
 */
import type { NodeRole } from './node-state.js';

export interface QuorumVoterState {
  readonly id: number;
  readonly directoryId: string;
  /** Records behind the leader; -1 when unknown. */
  readonly lag: number;
  /** When the leader last had a fetch from it (leader's clock, ms); -1 when never. */
  readonly lastFetchTimestamp: number;
}

/**
 * A replica is live when it fetched from the leader within this long of the freshest fetch
 * the leader reports (replicas fetch continuously; comparing the leader's own timestamps
 * needs no clock of ours).
 */
export const QUORUM_LIVE_WINDOW_MS = 5_000;

export interface QuorumControllerNode {
  readonly name: string;
  readonly id: number;
  readonly roles: readonly NodeRole[];
  /** Its Pod exists and is Ready (for a controller: caught up once since it started). */
  readonly ready: boolean;
}

export interface QuorumInput {
  /** Ids of the spec's controllers; undefined when unknown (no cluster document): then nobody is removed. */
  readonly desired?: readonly number[];
  /** Nodes with the controller role that have a ConfigMap (in the spec, or left it and not yet retired). */
  readonly nodes: readonly QuorumControllerNode[];
  readonly quorum?: {
    readonly leaderId: number;
    readonly voters: readonly QuorumVoterState[];
    readonly observers: readonly QuorumVoterState[];
  };
  /** A voter this far behind the leader or less is caught up. */
  readonly caughtUpLag: number;
  /** Set while a restart is in progress or pending: the voter set waits for it. */
  readonly busy?: string;
}

export type QuorumStep =
  | { readonly kind: 'none' }
  | { readonly kind: 'wait'; readonly reason: string }
  | { readonly kind: 'add'; readonly id: number; readonly directoryId: string; readonly node: string; readonly reason: string }
  | { readonly kind: 'remove'; readonly id: number; readonly directoryId: string; readonly reason: string }
  | { readonly kind: 'step-down'; readonly id: number; readonly node: string; readonly reason: string }
  | { readonly kind: 'retire'; readonly id: number; readonly node: string; readonly reason: string };

const short = (dir: string): string => dir.slice(0, 8);

/** Whether a voter or observer of this DescribeQuorum answer is fetching (the leader always is). */
export function liveness(quorum: { readonly leaderId: number; readonly voters: readonly QuorumVoterState[]; readonly observers: readonly QuorumVoterState[] }): (m: QuorumVoterState) => boolean {
  const freshest = Math.max(-1, ...[...quorum.voters, ...quorum.observers].map((m) => m.lastFetchTimestamp));
  return (m) => (m.id === quorum.leaderId && quorum.voters.includes(m))
    || (m.lastFetchTimestamp >= 0 && freshest - m.lastFetchTimestamp <= QUORUM_LIVE_WINDOW_MS);
}

export function nextQuorumStep(input: QuorumInput): QuorumStep {
  const { quorum, caughtUpLag: limit } = input;
  // The leader keeps reporting replicas that stopped fetching (a removed voter, a wiped
  // disk's old directory) for minutes, with the lag they had: such an entry must never pass
  // for caught up, or be added back as a voter.
  const live = quorum ? liveness(quorum) : () => false;
  const caughtUp = (m: QuorumVoterState, lagLimit: number): boolean => live(m) && m.lag >= 0 && m.lag <= lagLimit;
  /** The live observer entry of `id` that fetched last (its current directory), if any. */
  const liveObserver = (id: number, notDirectory?: string): QuorumVoterState | undefined =>
    quorum?.observers.filter((o) => o.id === id && o.directoryId !== notDirectory && live(o)).sort((a, b) => b.lastFetchTimestamp - a.lastFetchTimestamp)[0];
  const desired = input.desired === undefined ? undefined : new Set(input.desired);
  const nodeById = new Map(input.nodes.map((n) => [n.id, n]));

  // A controller that left the spec and is no voter any more holds nothing: retire it.
  // Nodes with the broker role too are brokers: they leave only once drained (not here).
  if (desired && quorum) {
    for (const n of input.nodes) {
      if (desired.has(n.id) || n.roles.includes('broker')) continue;
      if (!quorum.voters.some((v) => v.id === n.id)) {
        return { kind: 'retire', id: n.id, node: n.name, reason: `controller ${n.id} left the spec and is no voter: deleting its Pod, Service, ConfigMap and the claims marked for deletion` };
      }
    }
  }
  if (!quorum || quorum.leaderId < 0) return { kind: 'wait', reason: 'the quorum has no leader' };
  if (input.busy) return { kind: 'wait', reason: input.busy };

  const voters = quorum.voters;
  const lagging = (except?: QuorumVoterState): string | undefined => {
    const behind = voters.filter((v) => v !== except && !caughtUp(v, limit));
    return behind.length === 0 ? undefined : `voter${behind.length > 1 ? 's' : ''} ${behind.map((v) => `${v.id} (${live(v) ? `lag ${v.lag}` : 'not fetching'})`).join(', ')} not caught up`;
  };

  // A voter whose disk was replaced: same id, new directory, now an observer.
  for (const old of [...voters].sort((a, b) => a.id - b.id)) {
    const fresh = liveObserver(old.id, old.directoryId);
    if (!fresh || (desired && !desired.has(old.id))) continue;
    if (voters.length === 1) return { kind: 'wait', reason: `controller ${old.id} has a new disk, but it was the only voter: the metadata is gone with it; restore its disk` };
    if (!caughtUp(fresh, limit)) return { kind: 'wait', reason: `controller ${old.id} came back with a new disk (directory ${short(fresh.directoryId)}); waiting for it to catch up (lag ${fresh.lag})` };
    const behind = lagging(old);
    if (behind) return { kind: 'wait', reason: `controller ${old.id} has a new disk; removing its old directory waits: ${behind}` };
    return { kind: 'remove', id: old.id, directoryId: old.directoryId, reason: `controller ${old.id} came back with a new disk: removing its old directory ${short(old.directoryId)}, then adding ${short(fresh.directoryId)}` };
  }

  if (!desired) return { kind: 'none' };

  // Additions, lowest id first.
  for (const id of [...desired].sort((a, b) => a - b)) {
    if (voters.some((v) => v.id === id)) continue;
    const node = nodeById.get(id);
    const observer = liveObserver(id);
    if (!node) return { kind: 'wait', reason: `controller ${id} is in the spec but has no ConfigMap yet` };
    if (!observer) return { kind: 'wait', reason: `controller ${id} has not joined the quorum as an observer yet` };
    if (!caughtUp(observer, limit) || !node.ready) return { kind: 'wait', reason: `controller ${id} is catching up as an observer (lag ${observer.lag}${node.ready ? '' : ', not Ready'})` };
    const behind = lagging();
    if (behind) return { kind: 'wait', reason: `adding controller ${id} waits: ${behind}` };
    return { kind: 'add', id, directoryId: observer.directoryId, node: node.name, reason: `controller ${id} has caught up as an observer: adding it as a voter` };
  }

  // Removals, lowest id first; never the last voter.
  for (const v of [...voters].sort((a, b) => a.id - b.id)) {
    if (desired.has(v.id)) continue;
    if (voters.length === 1) return { kind: 'wait', reason: `controller ${v.id} left the spec but is the only voter` };
    const behind = lagging(v);
    if (behind) return { kind: 'wait', reason: `removing controller ${v.id} waits: ${behind}` };
    if (v.id === quorum.leaderId) {
      const node = nodeById.get(v.id);
      if (!node) return { kind: 'wait', reason: `controller ${v.id} leads and left the spec, but has no ConfigMap to restart it from` };
      if (!node.ready) return { kind: 'wait', reason: `controller ${v.id} leads and left the spec; waiting for it to be Ready before it steps down` };
      return { kind: 'step-down', id: v.id, node: node.name, reason: `controller ${v.id} left the spec and is the active controller: restarting it so that it hands leadership over before it is removed` };
    }
    return { kind: 'remove', id: v.id, directoryId: v.directoryId, reason: `controller ${v.id} left the spec: removing it from the voters` };
  }
  return { kind: 'none' };
}
