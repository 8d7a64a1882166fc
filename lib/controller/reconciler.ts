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
 *  4. Restarts, one node at a time, through the crash-safe steps of decide/roll-step.ts;
 *     none into a Kafka older than the finalized metadata.version (decide/features.ts).
 *  5. When no restart is under way: the next voter change (decide/quorum.ts), then, when
 *     the cluster is settled, finalizing metadata.version after an upgrade.
 *  6. Status (the state ConfigMap), Events, metrics.
 */
import { classifyKey, kafkaKey, type KeyKind } from '../config/kafka-keys.js';
import { compareStrings } from '../render/canonical.js';
import { ANNOTATION_DELETE_CLAIM, ANNOTATION_DESIRED_HASH, CONFIG_KEY_POD, LABEL_CLUSTER, names } from '../render/metadata.js';
import { CONFIG_KEY_CLUSTER, parseClusterDocument, type ClusterDocument } from '../render/cluster-document.js';
import { CONTROLLER_LISTENER } from '../config/server-properties.js';
import { CONTROLLER_CAUGHT_UP_LAG } from '../render/start-script.js';
import type { AlertSource } from './adapters/alertmanager.js';
import type { ConfigMapObject, KubeClient, PodObject } from './adapters/kube/client.js';
import type { KafkaAdmin, NodeFeatures, QuorumDescription } from './adapters/kafka/admin.js';
import { KafkaProtocolError } from './adapters/kafka/errors.js';
import { describeReason, planCluster, type ClusterPlan, type NodePair, type NodePlan } from './decide/config-change.js';
import { ANNOTATION_LIVE_CONFIG, readNodeState, type NodeState } from './decide/node-state.js';
import { podToCreate } from './decide/pod-to-create.js';
import { nextRollStep, type ObservedPod, type RollStep } from './decide/roll-step.js';
import { rollOrder, type HealthSnapshot, type RollNode } from './decide/roll.js';
import { liveness, nextQuorumStep, type QuorumStep, type QuorumVoterState } from './decide/quorum.js';
import { downgradeRefusal, nextFeatureStep, KRAFT_VERSION, METADATA_VERSION, type FeatureStep, type FinalizedLevels } from './decide/features.js';
import type { Informer } from './informer.js';
import type { ControllerMetrics } from './observability/metrics.js';
import type { Logger } from './observability/log.js';
import type { ClusterStatus, StateStore } from './state.js';
import type { ClusterTls } from './cluster-tls.js';
import { eventRecorder, type RecordEvent } from './events.js';

export { COMPONENT } from './events.js';
/** How long a live change may take to show on every broker (Kafka applies it from the metadata log). */
const READ_BACK_TIMEOUT_MS = 10_000;
/** Answers to a voter change after which DescribeQuorum, not the answer, says what happened. */
const VOTER_CHANGE_MAYBE_DONE: ReadonlySet<string> = new Set(['REQUEST_TIMED_OUT', 'DUPLICATE_VOTER', 'VOTER_NOT_FOUND']);
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
  /** TLS duties (certificates in mode 'provisioned', reloading renewed ones); undefined: none. */
  readonly tls?: ClusterTls;
  /**
   * A restart begins only once the desired state has been quiet this long: a GitOps tool
   * applies a commit one object at a time, and a half-applied commit can look like a
   * change that needs a restart (a cluster-wide key wanted by some nodes only).
   * @default 3000
   */
  readonly settleMs?: number;
}

/** While certificates are being made or reloaded, look again this often. */
const TLS_RETRY_MS = 5000;

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

  private readonly recordEvent: RecordEvent;

  constructor(private readonly o: ReconcilerOptions) {
    this.recordEvent = eventRecorder(o.kube, o.log);
  }

  async reconcile(): Promise<ReconcileOutcome> {
    const { log } = this.o;
    const desired = this.desiredNodes();
    const doc = this.clusterDocument();
    const provisioning = doc?.tls && this.o.tls ? await this.tlsStep('certificates', () => this.o.tls!.provision(doc)) : false;
    const stored = await this.o.state.load();
    const quorum = await this.o.kafka.describeQuorum().catch((err: Error) => {
      log.warn('DescribeQuorum failed', { err });
      return undefined;
    });
    const members = quorum && quorumMembers(quorum);

    // 1. Keep Pods alive (not those of controllers being retired).
    const retiring = new Map([...desired].filter(([, d]) => isRetiring(d.state, doc, quorum)));
    for (const name of retiring.keys()) desired.delete(name);
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
    let activeController = quorum?.leaderId ?? -1;
    // Only the cluster document says which version is wanted: without it there is nothing to compare.
    const finalized = doc ? await this.finalizedLevels() : undefined;
    const refusal = doc ? downgradeRefusal(doc.kafkaVersion, finalized?.[METADATA_VERSION]) : undefined;
    if (stored.record || pending.length > 0) {
      const health = await this.health([...nodes.values()], members);
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
      if (step.kind === 'begin' && refusal) {
        step = { kind: 'wait', node: step.node, reason: refusal };
      } else if (step.kind === 'begin' && quietFor < settle) {
        step = { kind: 'wait', node: step.node, reason: `the desired state changed less than ${settle / 1000} s ago; waiting for it to settle` };
      }
      await this.act(step, pending, desired);
    }

    // 5. Voter changes, then finalizing an upgrade: only while no restart is under way.
    let quorumStep: QuorumStep = { kind: 'none' };
    let featureStep: FeatureStep = { kind: 'none' };
    if (step.kind === 'idle') {
      quorumStep = nextQuorumStep({
        desired: doc?.nodes.filter((n) => n.roles.includes('controller')).map((n) => n.id),
        nodes: [...desired.values(), ...retiring.values()]
          .filter((d) => d.state.roles.includes('controller'))
          .map((d) => ({ name: d.state.name, id: d.state.id, roles: d.state.roles, ready: isReady(this.o.pods.get(d.state.name)) })),
        quorum: members,
        caughtUpLag: CONTROLLER_CAUGHT_UP_LAG,
        busy: pending.length > 0 ? `restarts pending (${pending.map((n) => n.name).join(', ')})` : undefined,
      });
      await this.actQuorum(quorumStep, new Map([...desired, ...retiring]));
      if (quorumStep.kind === 'none' && doc) {
        const notUp = [...desired.values()].find((d) => !isReady(this.o.pods.get(d.state.name)) || !this.atDesiredHash(d));
        const input = {
          desired: { kafkaVersion: doc.kafkaVersion, ...(doc.metadataVersion ? { metadataVersion: doc.metadataVersion } : {}) },
          finalized,
          unsettled: pending.length > 0 ? 'restarts pending' : notUp ? `${notUp.state.name} is not Ready at its desired hash` : undefined,
        };
        featureStep = nextFeatureStep(input);
        if (featureStep.kind === 'wait' && !input.unsettled) featureStep = nextFeatureStep({ ...input, supported: await this.supportedLevels(desired, quorum) });
        await this.actFeatures(featureStep);
      }
    }

    // 6. TLS: renewed certificates served live.
    const reloading = doc?.tls && this.o.tls ? await this.tlsStep('reload', () => this.o.tls!.reload(doc, runningNodes(pairs, running))) : false;
    const tlsBusy = provisioning || reloading;

    // 7. Status.
    await this.checkDrift(desired, pairs);
    const upToDate = [...desired.values()].filter((d) => this.atDesiredHash(d)).length;
    const order = rollOrder(pendingNodes, activeController).map((n) => n.name);
    const quorumNote = quorumStep.kind === 'none' ? undefined : quorumStep.reason;
    const featureNote = featureStep.reason;
    const changing = (quorumStep.kind !== 'none' && quorumStep.kind !== 'wait') || featureStep.kind === 'finalize';
    const status: ClusterStatus = {
      phase: step.kind === 'wait' && step.reason === refusal ? 'Refused'
        : step.kind === 'wait' && !stored.record ? 'Waiting'
        : step.kind !== 'idle' || stored.record ? 'Rolling'
        : upToDate < desired.size || changing ? 'Reconfiguring'
        : quorumStep.kind === 'wait' || featureStep.kind === 'wait' ? 'Waiting' : 'Ready',
      ...(step.kind !== 'idle' ? { node: step.node } : {}),
      ...(step.kind === 'wait' ? { waitingFor: step.reason } : {}),
      ...(quorumNote ? { quorum: quorumNote } : {}),
      ...(featureNote ? { features: featureNote } : {}),
      progress: { upToDate, total: desired.size },
      pendingRestarts: order,
      drift: this.drift,
    };
    await this.publish(status, step);
    // Right after a step, look again at once (the next step may already be possible);
    // while waiting, twice a second; when all is done, every 10 s (watches wake it sooner).
    const acted = recreated > 0 || ['begin', 'delete', 'create', 'finish'].includes(step.kind) || changing;
    const busy = step.kind !== 'idle' || upToDate < desired.size || quorumStep.kind === 'wait' || featureStep.kind === 'wait';
    return { requeueAfterMs: acted ? 50 : busy ? 500 : tlsBusy ? TLS_RETRY_MS : 10_000, status };
  }

  /** A TLS duty never fails the pass: it is logged and tried again soon. */
  private async tlsStep(what: string, step: () => Promise<boolean>): Promise<boolean> {
    try {
      return await step();
    } catch (err) {
      this.o.log.warn(`TLS ${what} failed; will retry`, { err });
      return true;
    }
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

  /** Whether the node's Pod carries its desired hash (created from it, or brought up to date live). */
  private atDesiredHash(d: DesiredNode): boolean {
    return this.o.pods.get(d.state.name)?.metadata.annotations?.[ANNOTATION_DESIRED_HASH] === d.state.hash;
  }

  /** The cluster document (which nodes the spec has, the Kafka version); undefined when absent or unreadable. */
  private clusterDocument(): ClusterDocument | undefined {
    const cm = this.o.configMaps.get(names.clusterDocument({ name: this.o.cluster }));
    const text = cm?.data?.[CONFIG_KEY_CLUSTER];
    if (!text) return undefined;
    try {
      return parseClusterDocument(text, `ConfigMap ${cm.metadata.name}`);
    } catch (err) {
      this.o.log.error('Cannot read the cluster document: no voter is removed and nothing is finalized until it is fixed', { err });
      return undefined;
    }
  }

  /** The cluster's finalized feature levels; undefined when no broker answers. */
  private async finalizedLevels(): Promise<FinalizedLevels | undefined> {
    try {
      const f = await this.o.kafka.describeFeatures();
      const mv = f.finalized[METADATA_VERSION]?.max;
      return mv === undefined ? undefined : { [METADATA_VERSION]: mv, [KRAFT_VERSION]: f.finalized[KRAFT_VERSION]?.max ?? 0 };
    } catch (err) {
      this.o.log.warn('Could not read the finalized features', { err });
      return undefined;
    }
  }

  /** The highest levels every node supports: each broker, and each voter at its controller endpoint. */
  private async supportedLevels(desired: Map<string, DesiredNode>, quorum: QuorumDescription | undefined): Promise<FinalizedLevels | undefined> {
    try {
      const answers: NodeFeatures[] = [];
      for (const d of desired.values()) if (d.state.roles.includes('broker')) answers.push(await this.o.kafka.describeFeatures(d.state.id));
      const controllers = [...desired.values()].filter((d) => d.state.roles.includes('controller') && !d.state.roles.includes('broker'));
      for (const c of controllers) {
        const listener = controllerListener(c.state);
        const at = quorum?.nodes.find((n) => n.nodeId === c.state.id)?.listeners.find((l) => l.name === listener);
        if (!at) return undefined;
        answers.push(await this.o.kafka.describeFeaturesAt({ host: at.host, port: at.port }));
      }
      const min = (feature: string) => Math.min(...answers.map((a) => a.supported[feature]?.max ?? 0));
      return { [METADATA_VERSION]: min(METADATA_VERSION), [KRAFT_VERSION]: min(KRAFT_VERSION) };
    } catch (err) {
      this.o.log.warn('Could not ask every node which feature levels it supports', { err });
      return undefined;
    }
  }

  private async actQuorum(step: QuorumStep, nodes: Map<string, DesiredNode>): Promise<void> {
    try {
      await this.changeVoters(step, nodes);
    } catch (err) {
      // Kafka answers REQUEST_TIMED_OUT also when the change went through (slow commit, or
      // another change pending), and DUPLICATE_VOTER / VOTER_NOT_FOUND when an earlier try
      // did it: the next reconcile reads DescribeQuorum again and decides afresh.
      if (err instanceof KafkaProtocolError && VOTER_CHANGE_MAYBE_DONE.has(err.type)) {
        this.o.log.info('A voter change was not confirmed; looking again', { step: step.kind, err: err.message });
        return;
      }
      throw err;
    }
  }

  private async changeVoters(step: QuorumStep, nodes: Map<string, DesiredNode>): Promise<void> {
    const { kafka, kube, log } = this.o;
    const byId = (id: number) => [...nodes.values()].find((d) => d.state.id === id);
    switch (step.kind) {
      case 'none':
      case 'wait':
        return;
      case 'add': {
        const node = byId(step.id)!;
        const listener = controllerListener(node.state);
        // Where the other controllers reach it: as it registered itself (its advertised controller listener).
        const registered = (await kafka.describeControllers()).controllers.find((c) => c.id === step.id);
        if (!registered) throw new Error(`controller ${step.id} has not registered its endpoint yet`);
        log.info('Adding a voter', { id: step.id, directoryId: step.directoryId, endpoint: `${registered.host}:${registered.port}` });
        await kafka.addRaftVoter({ id: step.id, directoryId: step.directoryId, listeners: [{ name: listener, host: registered.host, port: registered.port }] });
        await this.event({ apiVersion: 'v1', kind: 'Pod', name: node.state.name }, 'Normal', 'VoterAdded', `Added controller ${step.id} (directory ${step.directoryId}) to the voters: ${step.reason}`);
        return;
      }
      case 'remove':
        log.info('Removing a voter', { id: step.id, directoryId: step.directoryId, why: step.reason });
        await kafka.removeRaftVoter({ id: step.id, directoryId: step.directoryId });
        await this.event(this.o.state.ref, 'Normal', 'VoterRemoved', `Removed controller ${step.id} (directory ${step.directoryId}) from the voters: ${step.reason}`);
        return;
      case 'step-down': {
        const pod = this.o.pods.get(step.node);
        if (!pod) return;
        log.info('Restarting the active controller so that it steps down', { node: step.node });
        await this.event({ apiVersion: 'v1', kind: 'Pod', name: step.node, uid: pod.metadata.uid }, 'Normal', 'SteppingDown', step.reason);
        await kube.deletePod(step.node, pod.metadata.uid ?? '');
        return;
      }
      case 'retire':
        await this.retire(nodes.get(step.node)!, step.reason);
        return;
    }
  }

  /**
   * Deletes a controller that left the spec and the voters: Pod, Service, the claims marked
   * deleteClaim, and its ConfigMap last (while it exists, the next reconcile finishes the job).
   */
  private async retire(node: DesiredNode, why: string): Promise<void> {
    const { kube, log } = this.o;
    const name = node.state.name;
    const pod = this.o.pods.get(name);
    if (pod && !pod.metadata.deletionTimestamp) await kube.deletePod(name, pod.metadata.uid ?? '');
    await kube.deleteObject('services', name);
    const claims = (node.pod.spec?.volumes ?? []).flatMap((v) => (v.persistentVolumeClaim?.claimName ? [v.persistentVolumeClaim.claimName] : []));
    const deleted: string[] = [];
    for (const claim of claims) {
      const pvc = await kube.getPersistentVolumeClaim(claim);
      if (pvc?.metadata.annotations?.[ANNOTATION_DELETE_CLAIM] !== 'true') continue;
      if ((await kube.deleteObject('persistentvolumeclaims', claim, pvc.metadata.uid)) === 'deleted') deleted.push(claim);
    }
    await kube.deleteObject('configmaps', node.cm.metadata.name, node.cm.metadata.uid);
    log.info('Retired a controller', { node: name, why, claimsDeleted: deleted });
    await this.event(this.o.state.ref, 'Normal', 'ControllerRetired', `${why}${deleted.length > 0 ? ` (claims deleted: ${deleted.join(', ')})` : ''}`);
  }

  private async actFeatures(step: FeatureStep): Promise<void> {
    if (step.kind !== 'finalize') return;
    this.o.log.info('Finalizing features', { updates: step.updates });
    await this.o.kafka.updateFeatures(step.updates.map((u) => ({ feature: u.feature, maxVersionLevel: u.to })));
    await this.event(this.o.state.ref, 'Normal', 'FeaturesFinalized', step.reason);
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

  private async health(nodes: RollNode[], quorum: QuorumMembers | undefined): Promise<HealthSnapshot> {
    const { kafka } = this.o;
    const [topics, holding] = await Promise.all([kafka.describeTopics(), this.holdingAlerts()]);
    const minIsr = await kafka.describeTopicsConfigs(topics.map((t) => t.name), ['min.insync.replicas']);
    return {
      nodes,
      partitions: topics.flatMap((t) => {
        const m = Number(minIsr.get(t.name)?.find((e) => e.name === 'min.insync.replicas')?.value ?? 1);
        return t.partitions.map((p) => ({ topic: t.name, partition: p.partition, leader: p.leader, replicas: p.replicas, isr: p.isr, minIsr: m }));
      }),
      // A voter that stopped fetching keeps its last lag in the leader's answer: count it as unknown.
      quorum: quorum && { leaderId: quorum.leaderId, voters: quorum.voters.map((v) => ({ id: v.id, lag: quorum.live(v) ? v.lag : -1 })) },
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

  private event(...args: Parameters<RecordEvent>): Promise<void> {
    return this.recordEvent(...args);
  }

}

/** The listener other controllers reach a controller at: the first of its controller.listener.names. */
function controllerListener(node: NodeState): string {
  return node.properties['controller.listener.names']?.split(',')[0] ?? CONTROLLER_LISTENER;
}

/** DescribeQuorum as the decisions read it, with whether each member is fetching. */
interface QuorumMembers {
  readonly leaderId: number;
  readonly voters: readonly QuorumVoterState[];
  readonly observers: readonly QuorumVoterState[];
  readonly live: (m: QuorumVoterState) => boolean;
}

function quorumMembers(q: QuorumDescription): QuorumMembers {
  const member = (m: QuorumDescription['voters'][number]): QuorumVoterState =>
    ({ id: m.id, directoryId: m.directoryId ?? '', lag: m.lag, lastFetchTimestamp: m.lastFetchTimestamp });
  const members = { leaderId: q.leaderId, voters: q.voters.map(member), observers: q.observers.map(member) };
  return { ...members, live: liveness(members) };
}

/**
 * A controller that left the spec and is no voter: it is being retired, so its Pod is not
 * recreated and its config no longer counts. Unknown membership or quorum: nobody is.
 */
function isRetiring(node: NodeState, doc: ClusterDocument | undefined, quorum: QuorumDescription | undefined): boolean {
  if (!doc || !quorum || quorum.leaderId < 0 || node.roles.includes('broker') || !node.roles.includes('controller')) return false;
  return !doc.nodes.some((n) => n.id === node.id) && !quorum.voters.some((v) => v.id === node.id);
}

export function isReady(pod: PodObject | undefined): boolean {
  return Boolean(pod && !pod.metadata.deletionTimestamp && pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The nodes as they run (their Pods' state, read once in step 2), with their readiness. */
function runningNodes(pairs: readonly NodePair[], running: ReadonlyMap<string, PodObject>) {
  return pairs.flatMap((p) => (p.running ? [{ state: p.running, ready: isReady(running.get(p.running.name)) }] : []));
}
