/**
 * Output properties that GitOps tools and Kubernetes depend on (issue #7):
 * selectors, disruption budgets, the namespace, Pod Security, canonical
 * bytes and hashes, and the user's affinity reaching the Pod untouched.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ANNOTATION_DESIRED_HASH, GITOPS_PRUNE_PROOF_ANNOTATIONS } from '../../lib/render/metadata.js';
import { synthClusters } from '../../lib/synth.js';
import { exampleSpec, key, synthObjects, synthYaml, type K8sObject } from '../support/synth.js';

const SMALL_CONFIG = {
  'offsets.topic.replication.factor': 1, 'transaction.state.log.replication.factor': 1,
  'transaction.state.log.min.isr': 1, 'share.coordinator.state.topic.replication.factor': 1,
};
const byKey = (objects: K8sObject[], k: string): any => objects.find((o) => key(o) === k);
const matches = (selector: Record<string, string>, labels: Record<string, string> = {}) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

test('selectors use only labels we set, never app.kubernetes.io/instance (Argo CD label tracking rewrites it)', () => {
  const objects = synthObjects(exampleSpec());
  // The node Pods, and the runtime controller's Pod as its Deployment's template describes it.
  const pods = [
    ...objects.filter((o) => o.kind === 'Pod'),
    ...objects.filter((o) => o.kind === 'Deployment').map((d) => (d as any).spec.template as K8sObject),
  ];
  const selectorOf = (o: K8sObject): Record<string, string> | undefined => {
    const spec = (o as any).spec ?? {};
    return o.kind === 'Service' ? spec.selector : spec.selector?.matchLabels;
  };
  for (const o of objects) {
    assert.equal(o.metadata.labels?.['app.kubernetes.io/instance'], undefined, `${key(o)} does not carry the label`);
    const selector = selectorOf(o);
    if (!selector) continue;
    // Node Pods are selected by kafka-cdk8s.io/ labels only; the controller by its cluster and component.
    assert.ok(Object.keys(selector).every((k) => k.startsWith('kafka-cdk8s.io/') || k === 'app.kubernetes.io/component'), `${key(o)} selects on ${Object.keys(selector)}`);
    assert.ok(pods.some((p) => matches(selector, p.metadata.labels)), `${key(o)} selects some Pod`);
  }
  const controller = pods.at(-1)!;
  const selectingController = objects.filter((o) => o.kind !== 'Deployment' && selectorOf(o) && matches(selectorOf(o)!, controller.metadata.labels));
  assert.deepEqual(selectingController.map(key), ['Service/demo-operator'], 'only its own Service selects the controller Pod: no PDB, not the bootstrap Service');
  const selected = (name: string) => pods.filter((p) => matches(byKey(objects, `Service/${name}`).spec.selector, p.metadata.labels)).map((p) => p.metadata.name);
  assert.deepEqual(selected('demo-broker-1'), ['demo-broker-1']);
  assert.deepEqual(selected('demo-bootstrap').sort(), ['demo-broker-0', 'demo-broker-1', 'demo-broker-2']);
});

test('PodDisruptionBudgets use an integer minAvailable (pool size - 1), the only form honoured for Pods no controller owns', () => {
  const objects = synthObjects(exampleSpec());
  for (const [name, pods] of [['demo-brokers', 3], ['demo-controllers', 3]] as const) {
    const spec = byKey(objects, `PodDisruptionBudget/${name}`).spec;
    assert.equal(spec.minAvailable, pods - 1, name);
    assert.equal(spec.maxUnavailable, undefined, name);
    assert.equal(objects.filter((o) => o.kind === 'Pod' && matches(spec.selector.matchLabels, o.metadata.labels)).length, pods, name);
  }
  const single = synthObjects({ name: 'one', controllers: { mode: 'combined' }, config: SMALL_CONFIG, brokers: [{ id: 0 }] });
  assert.equal(byKey(single, 'PodDisruptionBudget/one-brokers').spec.minAvailable, 0, 'a single node can always be evicted');
});

test('the Namespace: emitted by default, prune-proof and enforcing Pod Security "restricted"; not for system namespaces or when turned off', () => {
  const ns = byKey(synthObjects(exampleSpec()), 'Namespace/kafka');
  assert.equal(ns.metadata.namespace, undefined);
  assert.equal(ns.metadata.labels['pod-security.kubernetes.io/enforce'], 'restricted');
  for (const [k, v] of Object.entries(GITOPS_PRUNE_PROOF_ANNOTATIONS)) assert.equal(ns.metadata.annotations[k], v, k);
  const inDefault = synthObjects({ name: 'd', config: SMALL_CONFIG, brokers: [{ id: 0 }] });
  assert.ok(!inDefault.some((o) => o.kind === 'Namespace'), 'the default namespace is never emitted');
  const off = exampleSpec();
  off.createNamespace = false;
  assert.ok(!synthObjects(off).some((o) => o.kind === 'Namespace'));
  const other = { ...exampleSpec(), name: 'other' };
  assert.throws(() => synthClusters([{ spec: exampleSpec(), source: 'a.yaml' }, { spec: other, source: 'b.yaml' }]),
    /clusters 'demo' and 'other' both create Namespace kafka; set createNamespace: false on all but one of them/);
  assert.equal(synthClusters([{ spec: exampleSpec(), source: 'a.yaml' }, { spec: { ...other, createNamespace: false }, source: 'b.yaml' }]).length, 2);
});

test('Pods pass Pod Security "restricted" by default; uid, gid and fsGroup are settable for other images', () => {
  const pod = byKey(synthObjects(exampleSpec()), 'Pod/demo-broker-0');
  assert.deepEqual(pod.spec.securityContext, {
    runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, fsGroupChangePolicy: 'OnRootMismatch',
    seccompProfile: { type: 'RuntimeDefault' },
  });
  assert.deepEqual(pod.spec.containers[0].securityContext, { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, runAsNonRoot: true });
  assert.equal(pod.spec.serviceAccountName, undefined, 'the namespace default ServiceAccount');
  assert.equal(pod.spec.automountServiceAccountToken, false);

  const spec = exampleSpec();
  spec.kafka = { image: 'example.com/kafka:4.4.0', securityContext: { runAsUser: 185, runAsGroup: 0 } };
  spec.brokers[1].securityContext = { fsGroup: 2000 };
  const objects = synthObjects(spec);
  const ctx = (name: string) => byKey(objects, `Pod/${name}`).spec.securityContext;
  assert.equal(spec.kafka.securityContext.runAsGroup, 0);
  assert.deepEqual([ctx('demo-broker-0').runAsUser, ctx('demo-broker-0').fsGroup], [185, 1000]);
  assert.deepEqual([ctx('demo-broker-1').runAsUser, ctx('demo-broker-1').fsGroup], [185, 2000]);
  assert.equal(ctx('demo-controller-9000').runAsUser, 185);
});

test('root is refused as a uid or gid: Pods must run as non-root', () => {
  const spec = exampleSpec();
  spec.kafka = { securityContext: { runAsUser: 0 } };
  assert.throws(() => synthYaml(spec), /kafka\.securityContext\.runAsUser: runAsUser must be at least 1/);
});

/** A deep copy with every object's keys in reverse order. */
function reverseKeys<T>(value: T): T {
  if (Array.isArray(value)) return value.map(reverseKeys) as T;
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.keys(value).reverse().map((k) => [k, reverseKeys((value as any)[k])])) as T;
}

test('same meaning, same bytes and hash: key order in the spec never matters', () => {
  const spec = exampleSpec();
  spec.brokerGroups.default.nodeSelector = { 'kubernetes.io/os': 'linux', 'node.example.com/pool': 'kafka' };
  spec.brokerGroups.default.env.KAFKA_JVM_PERFORMANCE_OPTS = '-XX:+UseG1GC';
  spec.brokerGroups.default.tolerations = [{ key: 'dedicated', operator: 'Equal', value: 'kafka', effect: 'NoSchedule' }];
  spec.brokerGroups.default.affinity = {
    podAntiAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [{
        weight: 50,
        podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { 'kafka-cdk8s.io/pool': 'broker', 'kafka-cdk8s.io/cluster': 'demo' } } },
      }],
    },
  };
  spec.brokers[0].resources = { limits: { memory: '3Gi', cpu: '2' }, requests: { memory: '3Gi', cpu: '1' } };
  const reordered = reverseKeys(spec);
  assert.notDeepEqual(Object.keys(reordered.brokerGroups.default), Object.keys(spec.brokerGroups.default));
  const a = synthObjects(spec);
  const b = synthObjects(reordered);
  assert.equal(synthYaml(reordered), synthYaml(spec));
  for (const pod of a.filter((o) => o.kind === 'Pod')) {
    assert.equal(byKey(b, key(pod)).metadata.annotations[ANNOTATION_DESIRED_HASH], pod.metadata.annotations![ANNOTATION_DESIRED_HASH], key(pod));
  }
});

test("the user's affinity reaches the Pod exactly as written, newer fields included", () => {
  const affinity = {
    podAntiAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: [{
        labelSelector: { matchExpressions: [{ key: 'kafka-cdk8s.io/pool', operator: 'In', values: ['broker'] }] },
        matchLabelKeys: ['kafka-cdk8s.io/cluster'],
        mismatchLabelKeys: ['kafka-cdk8s.io/node-id'],
        namespaceSelector: {},
        topologyKey: 'kubernetes.io/hostname',
      }],
    },
  };
  const pod = byKey(synthObjects({ name: 'a', config: SMALL_CONFIG, brokers: [{ id: 0, affinity }] }), 'Pod/a-broker-0');
  assert.deepEqual(pod.spec.affinity, affinity);
});
