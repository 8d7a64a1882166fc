/**
 * One cluster's reconcile: read everything, decide with the pure functions of decide/,
 * write the gap. Level-triggered: it never depends on which event woke it, and running it
 * twice in a row changes nothing the second time.
 *
 *  1. Keep every node's Pod alive: a missing Pod is created from its ConfigMap's desired
 *     Pod; a Failed (evicted) one is deleted so that it can be.
 *  2. Plan (decide/config-change.ts): running = the Pods, desired = the ConfigMaps.
 *  3. Live changes: cluster-wide ops on "", per-broker ops on each broker, read back until
 *     every broker reports the desired values, then the Pods' hash and live-config
 *     annotations are brought up to date (no restart).
 *  4. Restarts, one node at a time, through the crash-safe steps of decide/roll-step.ts.
 *  5. Status (the state ConfigMap), Events, metrics.
 */
import { classifyKey, kafkaKey, type KeyKind } from '../config/kafka-keys.js';
import { compareStrings } from '../render/canonical.js';
import { ANNOTATION_DESIRED_HASH, CONFIG_KEY_POD, LABEL_CLUSTER } from '../render/metadata.js';
import type { AlertSource } from './adapters/alertmanager.js';
import type { ConfigMapObject, KubeClient, PodObject } from './adapters/kube/client.js';
import type { KafkaAdmin } from './adapters/kafka/admin.js';
import { describeReason, planCluster, type ClusterPlan, type NodePair, type NodePlan } from './decide/config-change.js';
import { ANNOTATION_LIVE_CONFIG, readNodeState, type NodeState } from './decide/node-state.js';
import { podToCreate } from './decide/pod-to-create.js';
import { nextRollStep, type ObservedPod, type RollStep } from './decide/roll-step.js';
import { rollOrder, type HealthSnapshot, type RollNode } from './decide/roll.js';
import type { Informer } from './informer.js';
import type { ControllerMetrics } from './observability/metrics.js';
import type { Logger } from './observability/log.js';
import type { ClusterStatus, StateStore } from './state.js';

export const COMPONENT = 'kafka-cdk8s-controller';
/** How long a live change may take to show on every broker (Kafka applies it from the metadata log). */
const READ_BACK_TIMEOUT_MS = 10_000;
/** Drift is looked for this often (it needs a DescribeConfigs per broker). */
const DRIFT_INTERVAL_MS = 60_000;

export interface ReconcilerOptions {
  readonly cluster: string;
  readonly kube: KubeClient;
  readonly kafka: KafkaAdmin;
  readonly pods: Informer<PodObject>;
  readonly configMaps: Informer<ConfigMapObject>;
  readonly state: StateStore;
  readonly failureThreshold: number;
  readonly alerts?: AlertSource;
  readonly log: Logger;
  readonly metrics: ControllerMetrics;
  /**
   * A restart begins only once the desired state has been quiet this long: a GitOps tool
   * applies a commit one object at a time, and a half-applied commit can look like a
   * change that needs a restart (a cluster-wide key wanted by some nodes only).
   * @default 3000
   */
  readonly settleMs?: number;
}

export interface ReconcileOutcome {
  /** Run again after this long (sooner if something changes). */
  readonly requeueAfterMs: number;
  readonly status: ClusterStatus;
}

interface DesiredNode {
  readonly cm: ConfigMapObject;
  readonly pod: PodObject;
  readonly state: NodeState;
}

export class ClusterReconciler {
  private lastStatus?: string;
  private lastWait?: string;
  private drift: string[] = [];
  private driftCheckedAt = 0;
  private driftKey = '';

  constructor(private readonly o: ReconcilerOptions) {}

  async reconcile(): Promise<ReconcileOutcome> {
    const { log } = this.o;
    const desired = this.desiredNodes();
    const stored = await this.o.state.load();

    // 1. Keep Pods alive.
    const recreated = await this.keepAlive(desired, stored.record?.node);

    // 2. Plan from what runs.
    const pairs: NodePair[] = [];
    const running = new Map<string, PodObject>();
    for (const d of desired.values()) {
      const pod = this.o.pods.get(d.state.name);
      if (!pod || pod.metadata.deletionTimestamp) {
        pairs.push({ desired: d.state });
        continue;
      }
      try {
        pairs.push({ running: readNodeState(pod), desired: d.state });
        running.set(d.state.name, pod);
      } catch (err) {
        log.warn('Skipped a Pod that is not a node Pod', { pod: pod.metadata.name, err });
      }
    }
    let plan = planCluster(pairs);

    // 3. Live changes (confirming at run time that Kafka takes each key live).
    if (plan.clusterWide.length > 0 || plan.nodes.some((n) => n.action !== 'restart')) {
      const readOnly = await this.runtimeReadOnlyKeys(plan);
      if (readOnly.size > 0) {
        log.warn('Kafka reports keys read-only that the table takes live; they restart', { keys: [...readOnly].sort() });
        plan = planCluster(pairs, { kindOf: (k): KeyKind => (readOnly.has(k) ? 'read-only' : classifyKey(k)) });
      }
      await this.applyLive(plan, pairs, running);
    }

    // 4. Restarts.
    const pending = plan.nodes.filter((n) => n.action === 'restart');
    const nodes = new Map<string, RollNode>([...desired.values()].map((d) => [d.state.name, {
      name: d.state.name,
      id: d.state.id,
      roles: d.state.roles,
      ready: isReady(this.o.pods.get(d.state.name)),
    }]));
    const pendingNodes = pending.map((n) => nodes.get(n.name)!);
    let step: RollStep = { kind: 'idle' };
    let activeController = -1;
    if (stored.record || pending.length > 0) {
      const health = await this.health([...nodes.values()]);
      activeController = health.quorum?.leaderId ?? -1;
      const pods = new Map<string, ObservedPod>();
      for (const p of this.o.pods.list()) pods.set(p.metadata.name, { name: p.metadata.name, uid: p.metadata.uid ?? '', terminating: Boolean(p.metadata.deletionTimestamp) });
      step = nextRollStep({
        record: stored.record,
        pods,
        pending: pendingNodes,
        health,
        activeControllerId: activeController,
      });
      const quietFor = Date.now() - this.o.configMaps.lastChangeAt;
      const settle = this.o.settleMs ?? 3000;
      if (step.kind === 'begin' && quietFor < settle) {
        step = { kind: 'wait', node: step.node, reason: `the desired state changed less than ${settle / 1000} s ago; waiting for it to settle` };
      }
      await this.act(step, pending, desired);
    }

    // 5. Status.
    await this.checkDrift(desired, pairs);
    const upToDate = [...desired.values()].filter((d) => this.o.pods.get(d.state.name)?.metadata.annotations?.[ANNOTATION_DESIRED_HASH] === d.state.hash).length;
    const order = rollOrder(pendingNodes, activeController).map((n) => n.name);
    const status: ClusterStatus = {
      phase: step.kind === 'wait' && !stored.record ? 'Waiting' : step.kind !== 'idle' || stored.record ? 'Rolling' : upToDate < desired.size ? 'Reconfiguring' : 'Ready',
      ...(step.kind !== 'idle' ? { node: step.node } : {}),
      ...(step.kind === 'wait' ? { waitingFor: step.reason } : {}),
      progress: { upToDate, total: desired.size },
      pendingRestarts: order,
      drift: this.drift,
    };
    await this.publish(status, step);
    // Right after a step, look again at once (the next step may already be possible);
    // while waiting, twice a second; when all is done, every 10 s (watches wake it sooner).
    const acted = recreated > 0 || ['begin', 'delete', 'create', 'finish'].includes(step.kind);
    const busy = step.kind !== 'idle' || upToDate < desired.size;
    return { requeueAfterMs: acted ? 50 : busy ? 500 : 10_000, status };
  }

  /** The desired node of every node ConfigMap of this cluster, by name. */
  private desiredNodes(): Map<string, DesiredNode> {
    const out = new Map<string, DesiredNode>();
    for (const cm of this.o.configMaps.list()) {
      const text = cm.data?.[CONFIG_KEY_POD];
      if (!text || cm.metadata.labels?.[LABEL_CLUSTER] !== this.o.cluster) continue;
      try {
        const pod = JSON.parse(text) as PodObject;
        out.set(pod.metadata.name, { cm, pod, state: readNodeState(pod) });
      } catch (err) {
        this.o.log.error('Skipped a node ConfigMap whose desired Pod cannot be read', { configMap: cm.metadata.name, err });
      }
    }
    return new Map([...out].sort(([a], [b]) => compareStrings(a, b)));
  }

  /** Creates missing Pods and clears Failed ones; returns how many were created. */
  private async keepAlive(desired: Map<string, DesiredNode>, rolling: string | undefined): Promise<number> {
    let created = 0;
    for (const d of desired.values()) {
      const pod = this.o.pods.get(d.state.name);
      if (pod && !pod.metadata.deletionTimestamp && (pod.status?.phase === 'Failed' || pod.status?.phase === 'Succeeded')) {
        // Evicted, or ended: it will not run again by itself. Conditional on its uid.
        const r = await this.o.kube.deletePod(pod.metadata.name, pod.metadata.uid ?? '');
        this.o.log.info('Deleted an ended Pod so that it can be recreated', { pod: pod.metadata.name, phase: pod.status.phase, reason: pod.status.reason, result: r });
        continue;
      }
      if (pod) continue;
      const result = await this.o.kube.createPod(podToCreate(d.pod, d.cm));
      if (result === 'created') {
        created++;
        this.o.metrics.podRecreated(d.state.name);
        this.o.log.info(rolling === d.state.name ? 'Created the restarted Pod' : 'Recreated a missing Pod', { pod: d.state.name, hash: d.state.hash });
        await this.event({ apiVersion: 'v1', kind: 'Pod', name: d.state.name }, 'Normal', rolling === d.state.name ? 'Restarted' : 'PodRecreated',
          rolling === d.state.name ? `Created ${d.state.name} from its desired Pod` : `${d.state.name} was missing; created it from its desired Pod`);
      }
    }
    return created;
  }

  /** Keys that the plan takes live but the running Kafka says are read-only. */
  private async runtimeReadOnlyKeys(plan: ClusterPlan): Promise<Set<string>> {
    const out = new Set<string>();
    for (const n of plan.nodes) {
      if (n.action !== 'live' || !n.roles.includes('broker')) continue;
      const keys = [...n.perBroker.map((c) => c.key), ...n.clusterWide.map((c) => c.key)];
      if (keys.length === 0) continue;
      for (const e of await this.o.kafka.describeBrokerConfigs(n.id, { names: keys, includeSynonyms: false })) {
        // Kafka marks dynamic keys readOnly=false; a key it does not know comes back absent.
        if (e.readOnly) out.add(e.name);
      }
    }
    return out;
  }

  private async applyLive(plan: ClusterPlan, pairs: NodePair[], running: Map<string, PodObject>): Promise<void> {
    const { kafka, log, metrics } = this.o;
    const live = plan.nodes.filter((n) => n.action !== 'restart');
    if (plan.clusterWide.length > 0) {
      await kafka.alterBrokerConfigsIncremental('', plan.clusterWide.map((op) => ({ name: op.key, op: op.op, value: op.value ?? null })));
      metrics.liveConfigChanged('cluster', plan.clusterWide.length);
      log.info('Changed cluster-wide config live', { ops: plan.clusterWide });
    }
    for (const n of live) {
      if (n.perBroker.length === 0) continue;
      await kafka.alterBrokerConfigsIncremental(n.id, n.perBroker.map((c) => ({ name: c.key, op: c.op, value: c.value ?? null })));
      metrics.liveConfigChanged('broker', n.perBroker.length);
    }
    for (const n of live) {
      const pair = pairs.find((p) => p.desired.name === n.name)!;
      if (n.action === 'live' && n.roles.includes('broker')) await this.readBack(n, pair.desired);
      const pod = running.get(n.name)!;
      await this.o.kube.annotatePod(n.name, pod.metadata.uid ?? '', {
        [ANNOTATION_DESIRED_HASH]: n.toHash,
        [ANNOTATION_LIVE_CONFIG]: Object.keys(n.live).length > 0 ? JSON.stringify(n.live) : null,
      });
      if (n.action === 'live') {
        const keys = [...n.perBroker.map((c) => c.key), ...n.clusterWide.map((c) => c.key)];
        log.info('Changed config live', { node: n.name, keys, hash: n.toHash });
        await this.event({ apiVersion: 'v1', kind: 'Pod', name: n.name, uid: pod.metadata.uid }, 'Normal', 'ConfigChangedLive', `Changed ${keys.join(', ')} live, without a restart`);
      } else {
        log.info('Brought the Pod hash up to date', { node: n.name, hash: n.toHash });
      }
    }
  }

  /** Waits until broker `n` reports every changed key at its desired value. */
  private async readBack(n: NodePlan, desired: NodeState): Promise<void> {
    const keys = [...n.perBroker.map((c) => c.key), ...n.clusterWide.map((c) => c.key)];
    const deadline = Date.now() + READ_BACK_TIMEOUT_MS;
    for (;;) {
      const entries = await this.o.kafka.describeBrokerConfigs(n.id, { names: keys, includeSynonyms: false });
      const wrong = keys.filter((k) => {
        const e = entries.find((x) => x.name === k);
        if (!e || e.isSensitive) return false;
        const want = desired.properties[k] ?? kafkaKey(k)?.default ?? null;
        return e.value !== want;
      });
      if (wrong.length === 0) return;
      if (Date.now() > deadline) throw new Error(`broker ${n.id} does not read back ${wrong.join(', ')} at the desired value after ${READ_BACK_TIMEOUT_MS / 1000} s`);
      await sleep(50);
    }
  }

  private async health(nodes: RollNode[]): Promise<HealthSnapshot> {
    const { kafka } = this.o;
    const [topics, quorum, holding] = await Promise.all([
      kafka.describeTopics(),
      kafka.describeQuorum().catch((err: Error) => {
        this.o.log.warn('DescribeQuorum failed', { err });
        return undefined;
      }),
      this.holdingAlerts(),
    ]);
    const minIsr = await kafka.describeTopicsConfigs(topics.map((t) => t.name), ['min.insync.replicas']);
    return {
      nodes,
      partitions: topics.flatMap((t) => {
        const m = Number(minIsr.get(t.name)?.find((e) => e.name === 'min.insync.replicas')?.value ?? 1);
        return t.partitions.map((p) => ({ topic: t.name, partition: p.partition, leader: p.leader, replicas: p.replicas, isr: p.isr, minIsr: m }));
      }),
      quorum: quorum && { leaderId: quorum.leaderId, voters: quorum.voters.map((v) => ({ id: v.id, lag: v.lag })) },
      holdingAlerts: holding,
      failureThreshold: this.o.failureThreshold,
    };
  }

  /** Firing hold alerts; when Alertmanager cannot be asked, that itself holds (safe). */
  private async holdingAlerts(): Promise<string[]> {
    if (!this.o.alerts) return [];
    try {
      return (await this.o.alerts.holdingAlerts()).map((a) => a.name);
    } catch (err) {
      return [`(Alertmanager cannot be asked: ${(err as Error).message})`];
    }
  }

  private async act(step: RollStep, pending: readonly NodePlan[], desired: Map<string, DesiredNode>): Promise<void> {
    const { kube, log, state, metrics } = this.o;
    switch (step.kind) {
      case 'idle':
      case 'wait':
        return;
      case 'begin': {
        const pod = this.o.pods.get(step.node)!;
        const n = pending.find((p) => p.name === step.node)!;
        // The record first: if we die right after, the next run finds it and carries on.
        await state.save({ record: { node: step.node, uid: pod.metadata.uid ?? '', fromHash: n.fromHash, toHash: n.toHash, startedAt: new Date().toISOString() } });
        const why = n.restart.map(describeReason).join('; ');
        log.info('Restarting node', { node: step.node, from: n.fromHash, to: n.toHash, why });
        await this.event({ apiVersion: 'v1', kind: 'Pod', name: step.node, uid: pod.metadata.uid }, 'Normal', 'Restarting', `Restarting ${step.node}: ${why}`);
        await kube.deletePod(step.node, pod.metadata.uid ?? '');
        return;
      }
      case 'delete':
        log.info('Deleting the Pod of the restart in progress', { node: step.node });
        await kube.deletePod(step.node, step.uid);
        return;
      case 'create': {
        const d = desired.get(step.node);
        if (!d) throw new Error(`the node being restarted, ${step.node}, has no ConfigMap any more`);
        const r = await kube.createPod(podToCreate(d.pod, d.cm));
        log.info('Created the Pod of the restart in progress', { node: step.node, result: r });
        return;
      }
      case 'finish':
        await state.save({ record: null });
        metrics.nodeRestarted(step.node);
        log.info('Restarted node', { node: step.node });
        await this.event({ apiVersion: 'v1', kind: 'Pod', name: step.node }, 'Normal', 'RestartFinished', `${step.node} is back in sync`);
        return;
    }
  }

  /** Dynamic overrides nobody asked for: reported (status, metric, Event), never removed. */
  private async checkDrift(desired: Map<string, DesiredNode>, pairs: NodePair[]): Promise<void> {
    if (Date.now() - this.driftCheckedAt < DRIFT_INTERVAL_MS) return;
    this.driftCheckedAt = Date.now();
    const managed = new Set<string>();
    for (const p of pairs) {
      for (const k of Object.keys(p.desired.properties)) managed.add(k);
      for (const k of Object.keys(p.running?.properties ?? {})) managed.add(k);
      for (const k of Object.keys(p.running?.live ?? {})) managed.add(k);
    }
    const found: string[] = [];
    try {
      const defaults = await this.o.kafka.describeBrokerConfigs('', { includeSynonyms: false });
      const cluster = defaults.filter((e) => e.source === 'DYNAMIC_DEFAULT_BROKER_CONFIG' && !managed.has(e.name)).map((e) => e.name);
      this.o.metrics.configDrift('cluster-default', cluster.length);
      found.push(...cluster.map((k) => `cluster-wide ${k}`));
      for (const d of desired.values()) {
        if (!d.state.roles.includes('broker') || !isReady(this.o.pods.get(d.state.name))) continue;
        const entries = await this.o.kafka.describeBrokerConfigs(d.state.id, { includeSynonyms: false });
        const own = entries.filter((e) => e.source === 'DYNAMIC_BROKER_CONFIG' && !managed.has(e.name)).map((e) => e.name);
        this.o.metrics.configDrift(`broker-${d.state.id}`, own.length);
        found.push(...own.map((k) => `${d.state.name} ${k}`));
      }
    } catch (err) {
      this.o.log.warn('Could not look for config drift', { err });
      this.driftCheckedAt = 0;
      return;
    }
    this.drift = found.sort();
    const key = this.drift.join('\n');
    if (key !== this.driftKey && this.drift.length > 0) {
      this.o.log.warn('Found dynamic config overrides outside the spec (left as they are)', { drift: this.drift });
      await this.event(this.o.state.ref, 'Warning', 'ConfigDrift', `Dynamic overrides outside the spec, left as they are: ${this.drift.join(', ')}`);
    }
    this.driftKey = key;
  }

  private async publish(status: ClusterStatus, step: RollStep): Promise<void> {
    this.o.metrics.rollProgress(status.pendingRestarts.length > 0 || status.phase === 'Rolling'
      ? { total: status.progress.total, done: status.progress.upToDate, node: status.node, waitingFor: status.waitingFor }
      : undefined);
    if (step.kind === 'wait' && step.reason !== this.lastWait) {
      this.o.log.info('Waiting before the next restart', { node: step.node, reason: step.reason });
      await this.event(this.o.state.ref, 'Normal', 'RollWaiting', `Waiting to restart ${step.node}: ${step.reason}`);
    }
    this.lastWait = step.kind === 'wait' ? step.reason : undefined;
    const text = JSON.stringify(status);
    if (text === this.lastStatus) return;
    await this.o.state.save({ status });
    this.lastStatus = text;
  }

  private async event(involved: { apiVersion: string; kind: string; name: string; uid?: string }, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    try {
      await this.o.kube.createEvent({ involved, type, reason, message, component: COMPONENT });
    } catch (err) {
      // Events are for people; failing to record one must not stop a roll.
      this.o.log.warn('Could not record an Event', { reason, err });
    }
  }
}

export function isReady(pod: PodObject | undefined): boolean {
  return Boolean(pod && !pod.metadata.deletionTimestamp && pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
