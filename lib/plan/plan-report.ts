/**
 * `kafka-cdk8s plan`: what applying a spec change will do to each node, before it is
 * committed. Pure: the command reads the previous output and synthesizes the spec; this
 * module builds a PlanReport from them and formats it (text, markdown, json).
 *
 * The decisions are the controller's own (controller/decide/config-change.ts, roll.ts),
 * called the way the reconciler calls them, with two differences only plan has:
 * - running = the previous output's desired Pods (the ConfigMaps' pod.json), not the Pods,
 *   so no live changes are known (live = {}). Where earlier changes were made live and the
 *   Pods never restarted since, the controller may DELETE an override where plan says SET
 *   the same value: same result, other op. Restart or live, and why, are the same.
 * - which controller is active is unknown: controllers restart after brokers, by id here,
 *   the active one last at run time.
 * Like the reconciler, which takes the desired state from every node ConfigMap of the
 * cluster, a node removed from the spec keeps taking part (its prune-proof ConfigMap stays,
 * unchanged, until the controller has drained it), so its old values still count when a
 * cluster-wide key must be uniform.
 *
 * Values of sensitive keys (PASSWORD in Kafka's key table, also behind a listener or
 * mechanism prefix, or any key whose name says password) never reach the report.
 */
import { loadAll } from 'js-yaml';
import { kafkaKey } from '../config/kafka-keys.js';
import { describeReason, planCluster, type KeyChange, type LiveOp, type NodePair, type RestartReason } from '../controller/decide/config-change.js';
import { readNodeState, type NodeRole, type NodeState } from '../controller/decide/node-state.js';
import { rollOrder } from '../controller/decide/roll.js';
import { CONFIG_KEY_POD, LABEL_CLUSTER } from '../render/metadata.js';
import type { ClusterModel } from '../spec/resolve.js';
import type { SynthesizedCluster } from '../synth.js';
import { clusterConfigMaps, type OutputConfigMap } from './output-config-maps.js';
import { quorumChange } from './quorum-change.js';
import { kafkaVersionsInOutput, upgradeChange } from './upgrade-change.js';
import { listenerChange } from './listener-change.js';
import { compareStrings as compare } from '../render/canonical.js';

/**
 * What happens to a node:
 * - restart: rolled (deleted and created from its desired Pod), one node at a time;
 * - live: every change is made live (IncrementalAlterConfigs), no restart;
 * - annotate: nothing effective changes; only the Pod's hash annotation is brought up to date;
 * - unchanged: nothing at all;
 * - create: new in the spec; its Pod is created;
 * - remove: gone from the spec; its objects stay (prune-proof) until the controller has
 *   drained it, then the controller deletes them.
 */
export type PlanAction = 'restart' | 'live' | 'annotate' | 'unchanged' | 'create' | 'remove';

/** Every action, in the order summaries list them. */
export const PLAN_ACTIONS: readonly PlanAction[] = ['restart', 'live', 'annotate', 'create', 'remove', 'unchanged'];

/** Shown instead of the value of a sensitive key. */
export const HIDDEN = '(hidden)';

/** One op on the cluster-wide default resource "". value: null for DELETE. */
export interface PlanLiveOp {
  readonly key: string;
  readonly op: 'SET' | 'DELETE';
  readonly value: string | null;
}

/** A key that changes live on a node: as it runs now (from), as desired (to), and the op. null: not set. */
export interface PlanKeyChange extends PlanLiveOp {
  readonly from: string | null;
  readonly to: string | null;
}

/** A restart reason as data (kind plus its key or field) with its sentence. */
export type PlanReason = RestartReason & { readonly text: string };

export interface PlanNode {
  readonly name: string;
  readonly id: number;
  readonly roles: readonly NodeRole[];
  readonly action: PlanAction;
  /** Why it restarts; empty unless action is restart. */
  readonly reasons: readonly PlanReason[];
  /** Ops on this broker's own resource (only when action is live). */
  readonly perBroker: readonly PlanKeyChange[];
  /** Changes it gets through the cluster-wide default resource "" (also when it restarts). */
  readonly clusterWide: readonly PlanKeyChange[];
}

export interface PlanReport {
  readonly cluster: string;
  readonly namespace: string;
  /** How many nodes get each action. */
  readonly summary: Readonly<Record<PlanAction, number>>;
  /** Ops on the default resource "", once for the cluster, by key. */
  readonly clusterWide: readonly PlanLiveOp[];
  /** Nodes that restart, in the order they will: brokers by id, then controllers (the active one last at run time). */
  readonly restartOrder: readonly string[];
  /** Every node of the previous output and of the spec: dedicated controllers first, then brokers, each by id. */
  readonly nodes: readonly PlanNode[];
  /** What a change of the controller set does (quorum-change.ts); empty when it does not change. */
  readonly quorum: readonly string[];
  /** What a change of kafka.version or kafka.metadataVersion does (upgrade-change.ts); empty when neither changes. */
  readonly upgrade: readonly string[];
  /** What a change of a listener's protocol does (listener-change.ts); empty when none changes. */
  readonly listeners: readonly string[];
}

export interface PlanInput {
  /** Every object of the previous output (any number of clusters, any kinds); null documents are skipped. */
  readonly previous: readonly unknown[];
  /** Where the previous output came from, for messages (a directory, "origin/main:dist/"). */
  readonly previousSource: string;
  /** The new spec, synthesized. */
  readonly next: SynthesizedCluster;
  /** The new spec, resolved (for the controller set). */
  readonly model: ClusterModel;
}

/**
 * The node states of one cluster in a list of objects: its ConfigMaps that hold a desired
 * Pod (key pod.json), read as the controller reads them. Sorted by name.
 */
export function nodeStatesInOutput(objects: readonly unknown[], cluster: string, namespace: string): NodeState[] {
  const out: NodeState[] = [];
  for (const o of clusterConfigMaps(objects, cluster, namespace)) {
    const text = o.data?.[CONFIG_KEY_POD];
    if (text === undefined) continue;
    let pod: unknown;
    try {
      pod = JSON.parse(text);
    } catch (err) {
      throw new Error(`ConfigMap ${namespace}/${o.metadata?.name ?? '(unnamed)'}: ${CONFIG_KEY_POD} is not JSON: ${(err as Error).message}`);
    }
    out.push(readNodeState(pod as Parameters<typeof readNodeState>[0]));
  }
  return out.sort((a, b) => compare(a.name, b.name));
}

export function buildPlanReport(input: PlanInput): PlanReport {
  const { model, next } = input;
  const { name: cluster, namespace } = model;
  const previous = nodeStatesInOutput(input.previous, cluster, namespace);
  if (previous.length === 0) {
    const found = clustersIn(input.previous);
    throw new Error(`no node ConfigMaps of cluster ${namespace}/${cluster} in the previous output ${input.previousSource}: `
      + `looked for ConfigMaps in namespace ${namespace} labelled ${LABEL_CLUSTER}=${cluster} with a ${CONFIG_KEY_POD} key`
      + `; found ${found.length > 0 ? `node ConfigMaps of ${found.join(', ')}` : 'none of any cluster'}`
      + ' (a cluster new in the spec has nothing to plan against: every object is created)');
  }
  const desired = nodeStatesInOutput(loadAll(next.yaml), cluster, namespace);
  const before = new Map(previous.map((s) => [s.name, s]));
  const after = new Map(desired.map((s) => [s.name, s]));
  const removed = previous.filter((s) => !after.has(s.name));

  // As the reconciler pairs them: every node ConfigMap (a removed node's stays, unchanged), with its Pod.
  const pairs: NodePair[] = [
    ...desired.map((d) => ({ running: before.get(d.name), desired: d })),
    ...removed.map((s) => ({ running: s, desired: s })),
  ].sort((a, b) => compare(a.desired.name, b.desired.name));
  const plan = planCluster(pairs);
  const planned = new Map(plan.nodes.map((n) => [n.name, n]));
  const clusterOps = new Map(plan.clusterWide.map((op) => [op.key, op]));

  const nodes: PlanNode[] = [...desired, ...removed].map((state): PlanNode => {
    const base = { name: state.name, id: state.id, roles: state.roles };
    if (!before.has(state.name)) return { ...base, action: 'create', reasons: [], perBroker: [], clusterWide: [] };
    if (!after.has(state.name)) return { ...base, action: 'remove', reasons: [], perBroker: [], clusterWide: [] };
    const n = planned.get(state.name);
    if (!n) return { ...base, action: 'unchanged', reasons: [], perBroker: [], clusterWide: [] };
    const clusterWide = n.clusterWide.flatMap((c) => {
      const op = clusterOps.get(c.key);
      return op ? [keyChange(c, op)] : []; // none: the key is a restart reason (not uniform, no default)
    });
    return {
      ...base,
      action: n.action,
      reasons: n.restart.map((r) => ({ ...r, text: describeReason(r) })),
      perBroker: n.perBroker.map((c) => keyChange(c, c)),
      clusterWide,
    };
  }).sort((a, b) => poolRank(a) - poolRank(b) || a.id - b.id || compare(a.name, b.name));

  const restarting = nodes.filter((n) => n.action === 'restart').map((n) => ({ name: n.name, id: n.id, roles: n.roles, ready: true }));
  const previousControllers = previous.filter((s) => s.roles.includes('controller')).map((s) => s.id).sort((a, b) => a - b);
  const summary = Object.fromEntries(PLAN_ACTIONS.map((a) => [a, nodes.filter((n) => n.action === a).length])) as Record<PlanAction, number>;
  return {
    cluster,
    namespace,
    summary,
    clusterWide: plan.clusterWide.map((op) => liveOp(op)),
    restartOrder: rollOrder(restarting, -1).map((n) => n.name),
    nodes,
    quorum: quorumChange(previousControllers, model).notes,
    upgrade: upgradeChange(kafkaVersionsInOutput(input.previous, cluster, namespace), model),
    listeners: listenerChange(previous, model),
  };
}

/** Whether the value of a Kafka key must not be shown. */
export function isSensitiveKey(key: string): boolean {
  if (/password/i.test(key)) return true;
  // listener.name.<l>.ssl.keystore.key, listener.name.<l>.<mechanism>.sasl.jaas.config: the key they override.
  const parts = key.split('.');
  return parts.some((_, i) => kafkaKey(parts.slice(i).join('.'))?.type === 'PASSWORD');
}

function masked(key: string, value: string | undefined): string | null {
  if (value === undefined) return null;
  return isSensitiveKey(key) ? HIDDEN : value;
}

function liveOp(op: LiveOp): PlanLiveOp {
  return { key: op.key, op: op.op, value: op.op === 'DELETE' ? null : masked(op.key, op.value) };
}

function keyChange(change: KeyChange, op: LiveOp): PlanKeyChange {
  return { key: change.key, from: masked(change.key, change.from), to: masked(change.key, change.to), ...withoutKey(liveOp(op)) };
}

function withoutKey(op: PlanLiveOp): Omit<PlanLiveOp, 'key'> {
  return { op: op.op, value: op.value };
}

/** Dedicated controllers first, then every node with the broker role (combined ones too). */
const poolRank = (n: { roles: readonly NodeRole[] }): number => (n.roles.includes('broker') ? 1 : 0);

function clustersIn(objects: readonly unknown[]): string[] {
  const out = new Set<string>();
  for (const o of objects as readonly (OutputConfigMap | null | undefined)[]) {
    const name = o?.metadata?.labels?.[LABEL_CLUSTER];
    if (o?.kind === 'ConfigMap' && name && o.data?.[CONFIG_KEY_POD] !== undefined) out.add(`${o.metadata?.namespace ?? '(no namespace)'}/${name}`);
  }
  return [...out].sort(compare);
}


// ---------------------------------------------------------------------------------------
// Formats. Each is deterministic: the same report gives the same bytes.

const ACTION_WORDS: Readonly<Record<PlanAction, (n: number) => string>> = {
  restart: (n) => `${n} node${n === 1 ? ' restarts' : 's restart'}`,
  live: (n) => `${n} change${n === 1 ? 's' : ''} live`,
  annotate: (n) => `${n} annotation only`,
  create: (n) => `${n} created`,
  remove: (n) => `${n} to remove after draining`,
  unchanged: (n) => `${n} unchanged`,
};

/** "3 nodes restart, 2 change live, 1 unchanged": every action that some node gets. */
export function summaryLine(report: PlanReport): string {
  const parts = PLAN_ACTIONS.filter((a) => report.summary[a] > 0).map((a) => ACTION_WORDS[a](report.summary[a]));
  return parts.length > 0 ? parts.join(', ') : 'no nodes';
}

const NOTES: Readonly<Record<Exclude<PlanAction, 'restart' | 'live'>, string>> = {
  annotate: 'nothing effective changes: only the Pod\'s hash annotation is updated',
  unchanged: '',
  create: 'new in the spec: its Pod is created',
  remove: 'not in the spec any more: its Pod, PVCs, ConfigMap and Service are kept until the controller has drained it, then deleted (PVCs only with deleteClaim)',
};

const RESTART_ORDER_NOTE = 'one node at a time, each when its health gates pass; brokers by id, then controllers, the active controller last';
const BASIS_NOTE = 'Planned against the previous output (the desired Pods it holds), as the controller plans against the running Pods.';

function nodeLabel(n: PlanNode): string {
  return `${n.roles.join('+')} ${n.id}`;
}

/** The op of a change: "SET 2", "SET 1 on \"\", Kafka's default", "DELETE the override". */
function opText(c: PlanKeyChange, scope: 'per-broker' | 'cluster-wide', code: (s: string) => string = (s) => s): string {
  const on = scope === 'cluster-wide' ? ` on ${code('""')}` : '';
  if (c.op === 'DELETE') return `DELETE the override${on}: the value the Pod started with applies`;
  return `SET ${code(c.value ?? '')}${on}${c.to === null ? ", Kafka's default" : ''}`;
}

const shown = (v: string | null, code: (s: string) => string = (s) => s): string => (v === null ? '(not set)' : code(v));

function opLine(op: PlanLiveOp, code: (s: string) => string = (s) => s): string {
  return op.op === 'DELETE' ? `DELETE ${code(op.key)}` : `SET ${code(op.key)} = ${code(op.value ?? '')}`;
}

export function formatText(report: PlanReport): string {
  const lines: string[] = [`Plan for cluster ${report.namespace}/${report.cluster}: ${summaryLine(report)}`, ''];
  if (report.clusterWide.length > 0) {
    lines.push('Cluster-wide, once, on the default broker resource "":');
    for (const op of report.clusterWide) lines.push(`  ${opLine(op)}`);
    lines.push('');
  }
  const nameWidth = Math.max(...report.nodes.map((n) => n.name.length));
  const labelWidth = Math.max(...report.nodes.map((n) => nodeLabel(n).length));
  const actionWidth = Math.max(...report.nodes.map((n) => n.action.length));
  const indent = ' '.repeat(2 + nameWidth + 2 + labelWidth + 2 + actionWidth + 2);
  const changeText = (c: PlanKeyChange, scope: 'per-broker' | 'cluster-wide'): string => `${scope.padEnd(12)}  ${c.key}: ${shown(c.from)} → ${shown(c.to)}`;
  const changeWidth = Math.max(0, ...report.nodes.flatMap((n) => [
    ...n.perBroker.map((c) => changeText(c, 'per-broker').length),
    ...n.clusterWide.map((c) => changeText(c, 'cluster-wide').length),
  ]));
  for (const n of report.nodes) {
    const head = `  ${n.name.padEnd(nameWidth)}  ${nodeLabel(n).padEnd(labelWidth)}  ${n.action.padEnd(actionWidth)}`;
    const details = [
      ...n.reasons.map((r) => r.text),
      ...n.perBroker.map((c) => `${changeText(c, 'per-broker').padEnd(changeWidth)}  [${opText(c, 'per-broker')}]`),
      ...n.clusterWide.map((c) => `${changeText(c, 'cluster-wide').padEnd(changeWidth)}  [${opText(c, 'cluster-wide')}]`),
      ...(n.action === 'restart' || n.action === 'live' || n.action === 'unchanged' ? [] : [NOTES[n.action]]),
    ];
    if (details.length === 0) lines.push(head.trimEnd());
    details.forEach((d, i) => lines.push(i === 0 ? `${head}  ${d}` : `${indent}${d}`));
  }
  if (report.restartOrder.length > 0) {
    lines.push('', `Restart order (${RESTART_ORDER_NOTE}):`);
    report.restartOrder.forEach((name, i) => lines.push(`  ${String(i + 1).padStart(String(report.restartOrder.length).length)}. ${name}`));
  }
  if (report.quorum.length > 0) {
    lines.push('', 'Controllers:');
    for (const note of report.quorum) lines.push(`  - ${note}`);
  }
  if (report.upgrade.length > 0) {
    lines.push('', 'Kafka version:');
    for (const note of report.upgrade) lines.push(`  - ${note}`);
  }
  if (report.listeners.length > 0) {
    lines.push('', 'Listeners:');
    for (const note of report.listeners) lines.push(`  - ${note}`);
  }
  lines.push('', BASIS_NOTE);
  return `${lines.join('\n')}\n`;
}

/** Inline code that survives any backticks in the text. */
function code(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

/** A table cell: pipes escaped (GitHub's tables split on them even inside code). */
const cell = (text: string): string => text.replace(/\|/g, '\\|');

function why(n: PlanNode): string {
  switch (n.action) {
    case 'restart': return n.reasons.map((r) => r.text).join('; ');
    case 'live': return `changes ${[...n.perBroker, ...n.clusterWide].map((c) => code(c.key)).join(', ')}`;
    case 'unchanged': return '';
    default: return NOTES[n.action];
  }
}

export function formatMarkdown(report: PlanReport): string {
  const lines: string[] = [
    `### kafka-cdk8s plan: ${code(`${report.namespace}/${report.cluster}`)}`,
    '',
    `**${summaryLine(report)}**`,
    '',
  ];
  if (report.clusterWide.length > 0) {
    lines.push('Cluster-wide, once, on the default broker resource `""`:', '');
    for (const op of report.clusterWide) lines.push(`- ${opLine(op, code)}`);
    lines.push('');
  }
  lines.push('| node | action | why |', '| --- | --- | --- |');
  for (const n of report.nodes) lines.push(`| ${cell(code(n.name))} | ${n.action} | ${cell(why(n))} |`.replace(/ {2}\|$/, ' |'));
  lines.push('');
  if (report.restartOrder.length > 0) {
    lines.push(`**Restart order** (${RESTART_ORDER_NOTE}): ${report.restartOrder.map(code).join(', ')}`, '');
  }
  const detailed = report.nodes.filter((n) => n.reasons.length + n.perBroker.length + n.clusterWide.length > 0);
  if (detailed.length > 0) {
    // Collapsed in a pull-request comment: the table above is the summary.
    lines.push('<details><summary>Details per node</summary>', '');
    for (const n of detailed) {
      lines.push(`- ${code(n.name)} (${nodeLabel(n)}): ${n.action}`);
      for (const r of n.reasons) lines.push(`  - ${r.text}`);
      for (const c of n.perBroker) lines.push(`  - per-broker ${code(c.key)}: ${shown(c.from, code)} → ${shown(c.to, code)} (${opText(c, 'per-broker', code)})`);
      for (const c of n.clusterWide) lines.push(`  - cluster-wide ${code(c.key)}: ${shown(c.from, code)} → ${shown(c.to, code)} (${opText(c, 'cluster-wide', code)})`);
    }
    lines.push('', '</details>', '');
  }
  if (report.quorum.length > 0) {
    lines.push('**Controllers**', '');
    for (const note of report.quorum) lines.push(`- ${note}`);
    lines.push('');
  }
  if (report.upgrade.length > 0) {
    lines.push('**Kafka version**', '');
    for (const note of report.upgrade) lines.push(`- ${note}`);
    lines.push('');
  }
  if (report.listeners.length > 0) {
    lines.push('**Listeners**', '');
    for (const note of report.listeners) lines.push(`- ${note}`);
    lines.push('');
  }
  lines.push(`<sub>${BASIS_NOTE}</sub>`);
  return `${lines.join('\n')}\n`;
}

/** The report as JSON (see PlanReport): one object, or an array when several clusters were planned. */
export function formatJson(reports: PlanReport | readonly PlanReport[]): string {
  return `${JSON.stringify(reports, null, 2)}\n`;
}
