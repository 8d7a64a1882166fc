/**
 * What a change of the desired state means for each node: nothing, a live config change,
 * or a restart, and why. Pure: the same function answers `kafka-cdk8s plan` (running =
 * the previous output) and the controller (running = the Pods), so the two agree.
 *
 * Keys are compared as the node runs them (static config + live changes) against the
 * desired server.properties. Each changed key is, by Kafka's own kinds (KIP-226):
 * - read-only (and every key the tool owns, and every unknown key): restart;
 * - per-broker: IncrementalAlterConfigs on that broker;
 * - cluster-wide: one IncrementalAlterConfigs on the default resource "", which only
 *   works when every node wants the same value; otherwise a restart.
 * A key that goes from unset to Kafka's default (or back) is no change at all.
 * A live change either sets an override or, when the desired value is the one the Pod
 * started with, deletes it. A key that leaves the spec while the Pod's static config still
 * sets it is overridden with Kafka's default, which the key table knows.
 * Any change of a Pod field is a restart.
 * `controller.quorum.bootstrap.servers` changes with the controller set, but only helps a
 * node find the quorum when it starts: a running node needs no restart for it (it knows
 * the voters from the metadata log), and gets the new list at its next restart. The same
 * holds for the start script's quorum env vars (initial controllers, quorum bootstrap).
 */
import { ownedKeyReplacement } from '../../config/owned-keys.js';
import { classifyKey, kafkaKey, type KeyKind } from '../../config/kafka-keys.js';
import { changedPodFields } from '../../render/pod-fields.js';
import { ENV } from '../../render/start-script.js';
import { effectiveConfig, type NodeRole, type NodeState } from './node-state.js';
import { compareStrings as compare } from '../../render/canonical.js';

export type RestartReason =
  | { readonly kind: 'pod-field'; readonly field: string }
  | { readonly kind: 'pod-unknown' }
  | { readonly kind: 'read-only-key'; readonly key: string }
  | { readonly kind: 'no-live-default'; readonly key: string }
  | { readonly kind: 'not-uniform'; readonly key: string }
  | { readonly kind: 'controller-key'; readonly key: string }
  | { readonly kind: 'read-only-at-run-time'; readonly key: string };

export interface KeyChange {
  readonly key: string;
  /** As the node runs it now; undefined: not set (Kafka's default). */
  readonly from?: string;
  /** As desired; undefined: not set. */
  readonly to?: string;
}

/** One IncrementalAlterConfigs entry. */
export interface LiveOp {
  readonly key: string;
  readonly op: 'SET' | 'DELETE';
  readonly value?: string;
}

export type NodeAction = 'restart' | 'live' | 'annotate';

export interface NodePlan {
  readonly name: string;
  readonly id: number;
  readonly roles: readonly NodeRole[];
  readonly fromHash: string;
  readonly toHash: string;
  /** restart: some change needs one; live: every change is live; annotate: nothing differs but the hash. */
  readonly action: NodeAction;
  readonly restart: readonly RestartReason[];
  /** Live on this broker's own resource (empty when it restarts). */
  readonly perBroker: readonly (KeyChange & LiveOp)[];
  /** Live through the cluster-wide default resource "" (see ClusterPlan.clusterWide). */
  readonly clusterWide: readonly KeyChange[];
  /** The node's live-config annotation once the live changes are made. */
  readonly live: Readonly<Record<string, string>>;
}

export interface ClusterPlan {
  /** Nodes whose running hash differs from the desired one, by name. */
  readonly nodes: readonly NodePlan[];
  /** Ops on the cluster-wide default resource "", by key. */
  readonly clusterWide: readonly LiveOp[];
}

export interface NodePair {
  /** undefined: the node has no Pod (it will be created from the desired one). */
  readonly running?: NodeState;
  readonly desired: NodeState;
}

export interface PlanOptions {
  /** How a key changes live (default: Kafka's table, classifyKey). */
  readonly kindOf?: (key: string) => KeyKind;
  /** Kafka's default of a key as server.properties spells it, if it has one (default: the table). */
  readonly defaultOf?: (key: string) => string | undefined;
}

/** Keys a running node has no use for: a change waits for the node's next restart. */
const AT_NEXT_START: ReadonlySet<string> = new Set(['controller.quorum.bootstrap.servers']);
/** Env vars only the start script reads, to find the quorum when a disk is empty (render/start-script.ts): likewise. */
const AT_NEXT_START_ENV: ReadonlySet<string> = new Set([ENV.initialControllers, ENV.quorumBootstrap]);
const ENV_FIELD = /^spec\.containers\[[^\]]+\]\.env$/;

/** Whether the env differs in more than the vars that only matter at the next start. */
function envNeedsRestart(running: NodeState, desired: NodeState): boolean {
  if (!running.env || !desired.env) return true;
  const names = new Set([...Object.keys(running.env), ...Object.keys(desired.env)]);
  // Order matters to Kubernetes env (later entries may refer to earlier ones): compare it too.
  const order = (env: Readonly<Record<string, string>>) => Object.keys(env).filter((n) => !AT_NEXT_START_ENV.has(n)).join('\n');
  return [...names].some((n) => !AT_NEXT_START_ENV.has(n) && running.env![n] !== desired.env![n]) || order(running.env) !== order(desired.env);
}

const tableDefault = (key: string): string | undefined => {
  const d = kafkaKey(key)?.default;
  return typeof d === 'string' ? d : undefined;
};

export function planCluster(pairs: readonly NodePair[], opts: PlanOptions = {}): ClusterPlan {
  const kindOf = (key: string): KeyKind => (ownedKeyReplacement(key) !== undefined ? 'read-only' : (opts.kindOf ?? classifyKey)(key));
  const defaultOf = opts.defaultOf ?? tableDefault;
  const running = pairs.filter((p): p is Required<NodePair> => p.running !== undefined);
  const changing = running.filter((p) => p.running.hash !== p.desired.hash);

  interface Draft { pair: Required<NodePair>; restart: RestartReason[]; perBroker: KeyChange[]; clusterWide: KeyChange[] }
  const drafts: Draft[] = changing.map((pair) => {
    const d: Draft = { pair, restart: [], perBroker: [], clusterWide: [] };
    const { running: r, desired } = pair;
    if (!r.podFields || !desired.podFields) d.restart.push({ kind: 'pod-unknown' });
    else {
      for (const field of changedPodFields(r.podFields, desired.podFields)) {
        if (!ENV_FIELD.test(field) || envNeedsRestart(r, desired)) d.restart.push({ kind: 'pod-field', field });
      }
    }
    const from = effectiveConfig(r);
    for (const key of sortedUnion(Object.keys(from), Object.keys(desired.properties))) {
      const change: KeyChange = { key, from: from[key], to: desired.properties[key] };
      // Unset and set to Kafka's default are the same config: no change (and no restart).
      if ((change.from ?? defaultOf(key)) === (change.to ?? defaultOf(key)) || AT_NEXT_START.has(key)) continue;
      const kind = kindOf(key);
      if (kind === 'read-only') d.restart.push({ kind: 'read-only-key', key });
      else if (kind === 'per-broker' && !r.roles.includes('broker')) d.restart.push({ kind: 'controller-key', key });
      else (kind === 'per-broker' ? d.perBroker : d.clusterWide).push(change);
    }
    return d;
  });

  // Cluster-wide keys: one value on "" for every node, or a restart where they differ.
  const clusterOps: LiveOp[] = [];
  for (const key of sortedUnion(...drafts.map((d) => d.clusterWide.map((c) => c.key)))) {
    const wanted = new Set(pairs.map((p) => p.desired.properties[key]));
    const statics = running.map((p) => p.running.properties[key]);
    const to = pairs[0]?.desired.properties[key];
    let op: LiveOp | undefined;
    let reason: RestartReason | undefined;
    if (wanted.size > 1) reason = { kind: 'not-uniform', key };
    else if (statics.every((s) => s === to)) op = { key, op: 'DELETE' };
    else if (to !== undefined) op = { key, op: 'SET', value: to };
    else {
      const dflt = defaultOf(key);
      if (dflt === undefined) reason = { kind: 'no-live-default', key };
      else op = { key, op: 'SET', value: dflt };
    }
    if (op) clusterOps.push(op);
    for (const d of drafts) {
      if (reason && d.clusterWide.some((c) => c.key === key)) d.restart.push(reason);
    }
  }

  const nodes = drafts.map(({ pair, restart, perBroker, clusterWide }): NodePlan => {
    const { running: r, desired } = pair;
    const live: Record<string, string> = { ...r.live };
    const perBrokerOps: (KeyChange & LiveOp)[] = [];
    for (const change of perBroker) {
      const op = liveOp(change, r.properties[change.key], defaultOf);
      if (op === undefined) restart.push({ kind: 'no-live-default', key: change.key });
      else perBrokerOps.push({ ...change, ...op });
    }
    for (const op of [...perBrokerOps, ...clusterOps.filter((o) => clusterWide.some((c) => c.key === o.key))]) {
      if (op.op === 'DELETE') delete live[op.key];
      else live[op.key] = op.value!;
    }
    const base = { name: desired.name, id: desired.id, roles: desired.roles, fromHash: r.hash, toHash: desired.hash, clusterWide };
    if (restart.length > 0) return { ...base, action: 'restart', restart: dedupe(restart), perBroker: [], live: {} };
    return { ...base, action: perBrokerOps.length + clusterWide.length > 0 ? 'live' : 'annotate', restart: [], perBroker: perBrokerOps, live: sortedObject(live) };
  });
  return { nodes: nodes.sort((a, b) => compare(a.name, b.name)), clusterWide: clusterOps };
}

/** The per-broker op that makes `change` true, given the value the Pod started with; undefined when none can. */
function liveOp(change: KeyChange, staticValue: string | undefined, defaultOf: (key: string) => string | undefined): LiveOp | undefined {
  if (change.to === staticValue) return { key: change.key, op: 'DELETE' };
  if (change.to !== undefined) return { key: change.key, op: 'SET', value: change.to };
  const dflt = defaultOf(change.key);
  return dflt === undefined ? undefined : { key: change.key, op: 'SET', value: dflt };
}

/** A short human reason, as plan prints it and the controller logs it. */
export function describeReason(r: RestartReason): string {
  switch (r.kind) {
    case 'pod-field': return `Pod field ${r.field} changed`;
    case 'pod-unknown': return 'the running Pod predates field tracking';
    case 'read-only-key': return `${r.key} is read-only`;
    case 'no-live-default': return `${r.key} left the spec and Kafka has no default to set live`;
    case 'not-uniform': return `${r.key} is cluster-wide but nodes want different values`;
    case 'controller-key': return `${r.key} is per-broker and this is a dedicated controller`;
    case 'read-only-at-run-time': return `${r.key} is read-only on the running Kafka`;
  }
}

function sortedUnion(...lists: string[][]): string[] {
  return [...new Set(lists.flat())].sort(compare);
}

function dedupe(reasons: RestartReason[]): RestartReason[] {
  const seen = new Set<string>();
  return reasons.filter((r) => {
    const k = JSON.stringify(r);
    return seen.has(k) ? false : (seen.add(k), true);
  });
}

function sortedObject(o: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => compare(a, b)));
}

