/**
 * The controller's pure decisions (lib/controller/decide/), table-tested on built states:
 * what a change means per node (config-change), in which order and when nodes restart
 * (roll), and the crash-safe step of a rolling restart (roll-step).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planCluster, describeReason, type NodePair } from '../../lib/controller/decide/config-change.js';
import { effectiveConfig, readNodeState, type NodeState } from '../../lib/controller/decide/node-state.js';
import { caughtUp, restartGate, rollOrder, type HealthSnapshot, type PartitionHealth, type RollNode } from '../../lib/controller/decide/roll.js';
import { nextRollStep, type ObservedPod, type RollRecord } from '../../lib/controller/decide/roll-step.js';
import { podToCreate } from '../../lib/controller/decide/pod-to-create.js';
import { synthCluster } from '../../lib/synth.js';
import { toObjects } from '../support/kube-apply.js';

const FIELDS = { 'spec.containers[kafka].image': 'aaa', 'spec.affinity': 'bbb' };

function node(name: string, id: number, roles: NodeState['roles'], properties: Record<string, string>, extra: Partial<NodeState> = {}): NodeState {
  return { name, id, roles, hash: `h-${name}-${JSON.stringify(properties)}`, properties, live: {}, podFields: FIELDS, ...extra };
}
const broker = (id: number, props: Record<string, string> = {}, extra: Partial<NodeState> = {}) => node(`b-${id}`, id, ['broker'], { 'node.id': String(id), ...props }, extra);
const ctrl = (id: number, props: Record<string, string> = {}, extra: Partial<NodeState> = {}) => node(`c-${id}`, id, ['controller'], { 'node.id': String(id), ...props }, extra);
const pairs = (running: NodeState[], desired: NodeState[]): NodePair[] => desired.map((d) => ({ running: running.find((r) => r.name === d.name), desired: d }));
const summary = (p: ReturnType<typeof planCluster>) => Object.fromEntries(p.nodes.map((n) => [n.name, n.action === 'restart' ? n.restart.map(describeReason) : n.action]));

test('config-change: each kind of key change gives live, restart or nothing, per node', async (t) => {
  const cases: Array<{ what: string; running: NodeState[]; desired: NodeState[]; nodes: Record<string, unknown>; cluster?: string[] }> = [
    { what: 'same hash: nothing', running: [broker(0, { a: '1' })], desired: [broker(0, { a: '1' })], nodes: {}, cluster: [] },
    {
      what: 'a read-only key restarts only the nodes it changes on',
      running: [broker(0), broker(1)], desired: [broker(0, { 'num.partitions': '3' }), broker(1)],
      nodes: { 'b-0': ['num.partitions is read-only'] },
    },
    {
      what: 'a per-broker key is live on a broker, a restart on a dedicated controller',
      running: [broker(0), ctrl(9000)], desired: [broker(0, { 'cordoned.log.dirs': '*' }), ctrl(9000, { 'cordoned.log.dirs': '*' })],
      nodes: { 'b-0': 'live', 'c-9000': ['cordoned.log.dirs is per-broker and this is a dedicated controller'] },
    },
    {
      what: 'a cluster-wide key wanted alike everywhere: one SET on "", live on every node',
      running: [broker(0), broker(1), ctrl(9000)], desired: [broker(0, { 'log.cleaner.threads': '2' }), broker(1, { 'log.cleaner.threads': '2' }), ctrl(9000, { 'log.cleaner.threads': '2' })],
      nodes: { 'b-0': 'live', 'b-1': 'live', 'c-9000': 'live' }, cluster: ['SET log.cleaner.threads=2'],
    },
    {
      what: 'a cluster-wide key wanted differently: a restart where it changes, no op',
      running: [broker(0), broker(1)], desired: [broker(0, { 'log.cleaner.threads': '2' }), broker(1, { 'log.cleaner.threads': '3' })],
      nodes: { 'b-0': ['log.cleaner.threads is cluster-wide but nodes want different values'], 'b-1': ['log.cleaner.threads is cluster-wide but nodes want different values'] }, cluster: [],
    },
    {
      what: 'back to what every Pod started with: DELETE the override',
      running: [broker(0, { 'log.cleaner.threads': '2' }, { live: { 'log.cleaner.threads': '4' }, hash: 'old' })], desired: [broker(0, { 'log.cleaner.threads': '2' })],
      nodes: { 'b-0': 'live' }, cluster: ['DELETE log.cleaner.threads=undefined'],
    },
    {
      what: 'a key leaves the spec but the Pod started with it: SET Kafka\'s default',
      running: [broker(0, { 'log.cleaner.threads': '2' })], desired: [broker(0)],
      nodes: { 'b-0': 'live' }, cluster: ['SET log.cleaner.threads=1'],
    },
    {
      what: 'a key with no default leaves the spec: a restart',
      running: [broker(0, { 'log.retention.ms': '1000' })], desired: [broker(0)],
      nodes: { 'b-0': ['log.retention.ms left the spec and Kafka has no default to set live'] }, cluster: [],
    },
    {
      what: 'unset and set to the default are the same: only the hash changes',
      running: [broker(0, { 'num.partitions': '1' })], desired: [broker(0)],
      nodes: { 'b-0': 'annotate' },
    },
    {
      what: 'a changed Pod field restarts, naming the field',
      running: [broker(0)], desired: [broker(0, {}, { podFields: { ...FIELDS, 'spec.affinity': 'ccc' }, hash: 'new' })],
      nodes: { 'b-0': ['Pod field spec.affinity changed'] },
    },
    {
      what: 'a Pod without a fingerprint restarts',
      running: [broker(0, {}, { podFields: undefined })], desired: [broker(0, {}, { hash: 'new' })],
      nodes: { 'b-0': ['the running Pod predates field tracking'] },
    },
    {
      what: 'keys the tool owns and keys Kafka does not know are read-only',
      running: [broker(0, { listeners: 'A://:1' })], desired: [broker(0, { listeners: 'A://:2', 'my.plugin.key': 'x' })],
      nodes: { 'b-0': ['listeners is read-only', 'my.plugin.key is read-only'] },
    },
    {
      what: 'new quorum bootstrap servers wait for the next restart',
      running: [broker(0, { 'controller.quorum.bootstrap.servers': 'a:9093' })], desired: [broker(0, { 'controller.quorum.bootstrap.servers': 'a:9093,b:9093' })],
      nodes: { 'b-0': 'annotate' },
    },
    { what: 'a node without a Pod is not planned (it is created)', running: [], desired: [broker(0, { 'num.partitions': '3' })], nodes: {}, cluster: [] },
  ];
  for (const c of cases) {
    await t.test(c.what, () => {
      const plan = planCluster(pairs(c.running, c.desired));
      assert.deepEqual(summary(plan), c.nodes);
      if (c.cluster) assert.deepEqual(plan.clusterWide.map((o) => `${o.op} ${o.key}=${o.value}`), c.cluster);
    });
  }
});

test('config-change: the live-config a node records is its overrides after the change', () => {
  const running = broker(0, { 'log.cleaner.threads': '2' }, { live: { 'cordoned.log.dirs': '*' } });
  const desired = broker(0, { 'log.cleaner.threads': '5' });
  const [n] = planCluster(pairs([running], [desired])).nodes;
  assert.equal(n?.action, 'live');
  // cordoned.log.dirs leaves the spec and was never static: its override is deleted.
  assert.deepEqual(n?.perBroker.map((c) => `${c.op} ${c.key}`), ['DELETE cordoned.log.dirs']);
  assert.deepEqual(n?.live, { 'log.cleaner.threads': '5' });
  assert.deepEqual(effectiveConfig({ ...running, live: n!.live }), { 'node.id': '0', 'log.cleaner.threads': '5' });
});

test('node-state: read off a rendered Pod; a Pod that is not ours is refused by name', () => {
  const pod = toObjects(synthCluster({ name: 'u', namespace: 'u', brokers: [{ id: 0 }, { id: 1 }, { id: 2 }] }).yaml).find((o) => o.kind === 'Pod' && o.metadata.name === 'u-broker-1')!;
  const s = readNodeState(pod as never);
  assert.equal(s.id, 1);
  assert.deepEqual(s.roles, ['broker']);
  assert.equal(s.properties['node.id'], '1');
  assert.match(s.hash, /^[0-9a-f]{64}$/);
  assert.ok(s.podFields?.['spec.containers[kafka].image']);
  assert.throws(() => readNodeState({ metadata: { name: 'other' }, spec: { containers: [{}] } }), /Pod other has no KAFKA_CDK8S_SERVER_PROPERTIES/);
  assert.throws(() => readNodeState({ ...(pod as never as object), metadata: { name: 'x', annotations: { 'kafka-cdk8s.io/live-config': '[1]' } } } as never), /live-config is not a JSON object/);
});

// --- roll ------------------------------------------------------------------------------

const rn = (name: string, id: number, roles: RollNode['roles'], ready = true): RollNode => ({ name, id, roles, ready });
const B = [rn('b-0', 0, ['broker']), rn('b-1', 1, ['broker']), rn('b-2', 2, ['broker'])];
const C = [rn('c-9000', 9000, ['controller']), rn('c-9001', 9001, ['controller']), rn('c-9002', 9002, ['controller'])];
const part = (p: number, isr: number[], minIsr = 2, leader = isr[0] ?? -1): PartitionHealth => ({ topic: 't', partition: p, leader, replicas: [0, 1, 2], isr, minIsr });
function health(over: Partial<HealthSnapshot> = {}): HealthSnapshot {
  return {
    nodes: [...B, ...C],
    partitions: [part(0, [0, 1, 2]), part(1, [1, 2, 0])],
    quorum: { leaderId: 9001, voters: [{ id: 9000, lag: 0 }, { id: 9001, lag: 0 }, { id: 9002, lag: 3 }] },
    holdingAlerts: [],
    failureThreshold: 0,
    ...over,
  };
}

test('roll: not-Ready nodes first, then brokers, then controllers, the active controller last', () => {
  const order = rollOrder([C[1]!, C[0]!, B[2]!, { ...B[1]!, ready: false }, B[0]!, C[2]!], 9001).map((n) => n.name);
  assert.deepEqual(order, ['b-1', 'b-0', 'b-2', 'c-9000', 'c-9002', 'c-9001']);
});

test('roll: each gate holds a restart and says why', async (t) => {
  const cases: Array<{ what: string; node: RollNode; h: HealthSnapshot; wait?: RegExp }> = [
    { what: 'healthy: go', node: B[0]!, h: health() },
    { what: 'an offline partition', node: B[0]!, h: health({ partitions: [part(0, [], 2, -1)] }), wait: /1 partition offline \(t-0\)/ },
    { what: 'below min.insync.replicas without it', node: B[0]!, h: health({ partitions: [part(0, [0, 1])], nodes: [...B, ...C] }), wait: /leave 1 partition below min.insync.replicas \(t-0: 2 in sync, min 2\)/ },
    { what: 'another node not Ready', node: B[0]!, h: health({ nodes: [B[0]!, { ...B[1]!, ready: false }, B[2]!, ...C] }), wait: /b-1 is not Ready.*exceed failureThreshold 0/ },
    { what: 'another node not Ready, within failureThreshold 1', node: B[0]!, h: health({ nodes: [B[0]!, { ...B[1]!, ready: false }, B[2]!, ...C], failureThreshold: 1 }) },
    { what: 'another broker out of an ISR', node: B[0]!, h: health({ partitions: [part(0, [0, 1], 1)] }), wait: /b-2 is out of the ISR of 1 partition/ },
    { what: 'a firing hold alert', node: B[0]!, h: health({ holdingAlerts: ['DiskFull'] }), wait: /alert DiskFull holds rolling restarts/ },
    { what: 'a controller whose loss leaves no caught-up majority', node: C[0]!, h: health({ quorum: { leaderId: 9001, voters: [{ id: 9000, lag: 0 }, { id: 9001, lag: 0 }, { id: 9002, lag: 5000 }] } }), wait: /only 1 of 3 voters would be caught up without 9000/ },
    { what: 'no quorum leader', node: B[0]!, h: health({ quorum: { leaderId: -1, voters: [] } }), wait: /no leader/ },
    { what: 'the node itself not Ready does not count against it', node: { ...B[0]!, ready: false }, h: health({ nodes: [{ ...B[0]!, ready: false }, B[1]!, B[2]!, ...C], partitions: [part(0, [1, 2])] }) },
  ];
  for (const c of cases) {
    await t.test(c.what, () => {
      const g = restartGate(c.node, c.h);
      if (!c.wait) assert.deepEqual(g, { ok: true });
      else {
        assert.equal(g.ok, false);
        assert.match((g as { reason: string }).reason, c.wait);
      }
    });
  }
});

test('roll: a restarted node is back when Ready and in every ISR, or caught up in the quorum', () => {
  assert.match((caughtUp(B[0]!, health({ nodes: [{ ...B[0]!, ready: false }, B[1]!, B[2]!] })) as { reason: string }).reason, /not Ready yet/);
  assert.match((caughtUp(B[0]!, health({ partitions: [part(0, [1, 2])] })) as { reason: string }).reason, /not yet in the ISR of 1 partition/);
  assert.deepEqual(caughtUp(B[0]!, health()), { ok: true });
  assert.match((caughtUp(C[2]!, health({ quorum: { leaderId: 9001, voters: [{ id: 9002, lag: 900 }] } })) as { reason: string }).reason, /900 records behind/);
  assert.deepEqual(caughtUp(C[2]!, health()), { ok: true });
});

// --- roll-step -------------------------------------------------------------------------

const pods = (...list: ObservedPod[]) => new Map(list.map((p) => [p.name, p]));
const rec: RollRecord = { node: 'b-1', uid: 'old', fromHash: 'a', toHash: 'b', startedAt: '2026-11-26T00:00:00Z' };

test('roll-step: with a record, the step follows from the Pods alone (resumes after a crash at any point)', () => {
  const base = { pending: [], health: health(), activeControllerId: 9001 };
  assert.deepEqual(nextRollStep({ ...base, record: rec, pods: pods({ name: 'b-1', uid: 'old', terminating: false }) }), { kind: 'delete', node: 'b-1', uid: 'old' });
  assert.deepEqual(nextRollStep({ ...base, record: rec, pods: pods({ name: 'b-1', uid: 'old', terminating: true }) }), { kind: 'wait', node: 'b-1', reason: 'Pod b-1 is stopping' });
  assert.deepEqual(nextRollStep({ ...base, record: rec, pods: pods() }), { kind: 'create', node: 'b-1' });
  assert.deepEqual(nextRollStep({ ...base, record: rec, pods: pods({ name: 'b-1', uid: 'new', terminating: false }) }), { kind: 'finish', node: 'b-1' });
  const behind = nextRollStep({ ...base, health: health({ partitions: [part(0, [0, 2])] }), record: rec, pods: pods({ name: 'b-1', uid: 'new', terminating: false }) });
  assert.equal(behind.kind, 'wait');
  // Never another node while a record stands, even when others are pending and healthy.
  const other = nextRollStep({ ...base, pending: [B[0]!], record: rec, pods: pods({ name: 'b-1', uid: 'old', terminating: true }) });
  assert.equal(other.kind === 'wait' && other.node, 'b-1');
});

test('roll-step: without a record, the first node whose gates pass begins; controllers wait for every broker', () => {
  const base = { pods: pods(), activeControllerId: 9001 };
  assert.deepEqual(nextRollStep({ ...base, pending: [], health: health() }), { kind: 'idle' });
  assert.deepEqual(nextRollStep({ ...base, pending: [C[0]!, B[2]!, B[1]!], health: health() }), { kind: 'begin', node: 'b-1' });
  // b-0 would leave t-0 below min ISR; b-1 is not in that ISR: b-1 goes first.
  assert.deepEqual(nextRollStep({ ...base, pending: [B[0]!, B[1]!], health: health({ partitions: [part(0, [0, 2])], failureThreshold: 1 }) }), { kind: 'begin', node: 'b-1' });
  // No broker may go: the controllers are not tried either.
  const held = nextRollStep({ ...base, pending: [B[0]!, C[0]!], health: health({ holdingAlerts: ['X'] }) });
  assert.deepEqual(held, { kind: 'wait', node: 'b-0', reason: '1 failure (alert X holds rolling restarts) exceed failureThreshold 0' });
  assert.deepEqual(nextRollStep({ ...base, pending: [C[1]!, C[0]!], health: health() }), { kind: 'begin', node: 'c-9000' });
});

test('pod-to-create: the desired Pod with its ConfigMap\'s GitOps tracking (Argo CD label or annotation, Flux labels)', () => {
  const pod: { metadata: { name: string; labels: Record<string, string>; annotations: Record<string, string> }; spec: object } = { metadata: { name: 'd-broker-0', labels: { 'kafka-cdk8s.io/node-id': '0' }, annotations: { 'kafka-cdk8s.io/desired-hash': 'h' } }, spec: { containers: [] } };
  const argoLabel = podToCreate(pod, { metadata: { name: 'd-broker-0', labels: { 'app.kubernetes.io/instance': 'kafka-prod', other: 'x' } } });
  assert.deepEqual(argoLabel.metadata.labels, { 'kafka-cdk8s.io/node-id': '0', 'app.kubernetes.io/instance': 'kafka-prod' });
  const argoAnnotation = podToCreate(pod, { metadata: { name: 'd-broker-0', annotations: { 'argocd.argoproj.io/tracking-id': 'kafka-prod:/ConfigMap:kafka/d-broker-0' } } });
  assert.equal(argoAnnotation.metadata.annotations['argocd.argoproj.io/tracking-id'], 'kafka-prod:/Pod:kafka/d-broker-0');
  assert.equal(argoAnnotation.metadata.annotations['kafka-cdk8s.io/desired-hash'], 'h');
  const flux = podToCreate(pod, { metadata: { name: 'd-broker-0', labels: { 'kustomize.toolkit.fluxcd.io/name': 'kafka', 'kustomize.toolkit.fluxcd.io/namespace': 'flux-system' } } });
  assert.equal(flux.metadata.labels['kustomize.toolkit.fluxcd.io/name'], 'kafka');
  assert.equal(flux.metadata.labels['kustomize.toolkit.fluxcd.io/namespace'], 'flux-system');
  assert.deepEqual(pod.metadata.labels, { 'kafka-cdk8s.io/node-id': '0' }, 'the desired Pod itself is not changed');
});
