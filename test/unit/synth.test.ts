import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseProperties } from '../../lib/config/properties-format.js';
import {
  ANNOTATION_DESIRED_HASH, GITOPS_CREATE_ONLY_ANNOTATIONS, GITOPS_PRUNE_PROOF_ANNOTATIONS, LABEL_CREATE_ONLY,
} from '../../lib/render/metadata.js';
import { diffObjects, exampleSpec, key, synthObjects, synthYaml, type K8sObject } from '../support/synth.js';

const SNAPSHOT = new URL('../snapshots/demo.k8s.yaml', import.meta.url).pathname;
const props = (objects: K8sObject[], name: string) =>
  parseProperties((objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === name)!.data as Record<string, string>)['server.properties']!);

test('the bundled example matches its snapshot (UPDATE_SNAPSHOTS=1 to accept a change)', () => {
  const yaml = synthYaml(exampleSpec());
  if (process.env.UPDATE_SNAPSHOTS === '1' || !existsSync(SNAPSHOT)) writeFileSync(SNAPSHOT, yaml);
  assert.equal(yaml, readFileSync(SNAPSHOT, 'utf8'));
});

test('synthesis is deterministic: the same spec gives byte-identical YAML', () => {
  const first = synthYaml(exampleSpec());
  const reordered = exampleSpec();
  reordered.brokers.reverse();
  assert.equal(synthYaml(exampleSpec()), first);
  assert.equal(synthYaml(reordered), first, 'broker order in the spec does not matter');
});

test('per node: a Pod, a ConfigMap, PVCs and a Service with human names; never a StatefulSet', () => {
  const objects = synthObjects(exampleSpec());
  const keys = objects.map(key);
  assert.ok(!objects.some((o) => o.kind === 'StatefulSet'));
  assert.deepEqual(objects.filter((o) => o.kind === 'Deployment').map(key), ['Deployment/demo-operator'], 'only the runtime controller is a Deployment');
  for (const node of ['demo-broker-0', 'demo-broker-1', 'demo-broker-2', 'demo-controller-9000', 'demo-controller-9001', 'demo-controller-9002']) {
    for (const kind of ['Pod', 'ConfigMap', 'Service']) assert.ok(keys.includes(`${kind}/${node}`), `${kind}/${node}`);
  }
  assert.deepEqual(objects.filter((o) => o.kind === 'PersistentVolumeClaim').map((o) => o.metadata.name).sort(), [
    'demo-broker-0-data-0', 'demo-broker-1-data-0', 'demo-broker-2-data-0', 'demo-broker-2-data-1',
    'demo-controller-9000-data-0', 'demo-controller-9001-data-0', 'demo-controller-9002-data-0',
  ]);
  for (const shared of ['Namespace/kafka', 'Service/demo-bootstrap', 'PodDisruptionBudget/demo-brokers', 'PodDisruptionBudget/demo-controllers']) {
    assert.ok(keys.includes(shared), shared);
  }
  for (const shared of ['ServiceAccount', 'Role', 'RoleBinding', 'Deployment', 'Service'].map((kind) => `${kind}/demo-operator`)) {
    assert.ok(keys.includes(shared), shared);
  }
  for (const pod of objects.filter((o) => o.kind === 'Pod')) {
    // A Pod naming a ServiceAccount of its own apply stage fails Flux's dry-run; only the Deployment names one.
    assert.equal((pod as any).spec.serviceAccountName, undefined, `${key(pod)} names no ServiceAccount`);
  }
  assert.equal(new Set(keys).size, keys.length, 'no duplicate objects');
  for (const o of objects) {
    if (o.kind !== 'Namespace') assert.equal(o.metadata.namespace, 'kafka', key(o));
    assert.equal(o.metadata.labels?.['kafka-cdk8s.io/cluster'], 'demo', key(o));
    assert.equal(o.metadata.labels?.['app.kubernetes.io/managed-by'], 'kafka-cdk8s', key(o));
    assert.doesNotMatch(o.metadata.name, /-[0-9a-f]{8}$/, `no hash suffix on ${key(o)}`);
  }
});

test('server.properties: owned keys from the topology, user config merged, sorted keys', () => {
  const objects = synthObjects(exampleSpec());
  const broker2 = props(objects, 'demo-broker-2');
  assert.equal(broker2['node.id'], '2');
  assert.equal(broker2['process.roles'], 'broker');
  assert.equal(broker2['broker.rack'], 'zone-c');
  assert.equal(broker2['num.io.threads'], '16');
  assert.equal(broker2['advertised.listeners'], 'INTERNAL://demo-broker-2.kafka.svc.cluster.local:9092');
  assert.equal(broker2['controller.quorum.bootstrap.servers'],
    [9000, 9001, 9002].map((id) => `demo-controller-${id}.kafka.svc.cluster.local:9093`).join(','));
  assert.equal(broker2['controller.quorum.voters'], undefined, 'a dynamic quorum (KIP-853)');
  assert.equal(broker2['metadata.log.dir'], '/var/lib/kafka/data-0/kafka-log');
  const controller = props(objects, 'demo-controller-9001');
  assert.equal(controller['process.roles'], 'controller');
  assert.equal(controller['listeners'], 'CONTROLLER://:9093');
  assert.equal(controller['min.insync.replicas'], '2', 'cluster config reaches controllers (they apply topic defaults)');
  const text = (objects.find((o) => o.metadata.name === 'demo-broker-0' && o.kind === 'ConfigMap')!.data as Record<string, string>)['server.properties']!;
  const keys = text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split('=')[0]!);
  assert.deepEqual(keys, [...keys].sort());
});

test('several volumes per broker are all listed in log.dirs and mounted', () => {
  const spec = exampleSpec();
  spec.brokers[0].storage = [
    { name: 'data-0', size: '10Gi' },
    { name: 'data-1', size: '20Gi', storageClass: 'slow' },
    { name: 'fast', size: '5Gi', mountPath: '/mnt/fast' },
  ];
  const objects = synthObjects(spec);
  assert.equal(props(objects, 'demo-broker-0')['log.dirs'],
    '/var/lib/kafka/data-0/kafka-log,/var/lib/kafka/data-1/kafka-log,/mnt/fast/kafka-log');
  const pod = objects.find((o) => o.kind === 'Pod' && o.metadata.name === 'demo-broker-0') as any;
  assert.deepEqual(pod.spec.containers[0].volumeMounts.map((m: any) => m.mountPath),
    ['/etc/kafka-cdk8s', '/var/lib/kafka/data-0', '/var/lib/kafka/data-1', '/mnt/fast']);
  assert.deepEqual(pod.spec.volumes.slice(1).map((v: any) => v.persistentVolumeClaim.claimName),
    ['demo-broker-0-data-0', 'demo-broker-0-data-1', 'demo-broker-0-fast']);
  const pvc = objects.find((o) => o.kind === 'PersistentVolumeClaim' && o.metadata.name === 'demo-broker-0-data-1') as any;
  assert.equal(pvc.spec.storageClassName, 'slow');
  assert.equal(pvc.spec.resources.requests.storage, '20Gi');
  assert.equal(props(objects, 'demo-broker-1')['log.dirs'], '/var/lib/kafka/data-0/kafka-log', 'other brokers keep their own disks');
});

test("changing broker 2's config changes only broker 2's ConfigMap and Pod", () => {
  const before = synthYaml(exampleSpec());
  const spec = exampleSpec();
  spec.brokers[2].config['log.retention.hours'] = 24;
  const diff = diffObjects(before, synthYaml(spec));
  assert.deepEqual(diff, { added: [], removed: [], changed: ['ConfigMap/demo-broker-2', 'Pod/demo-broker-2'] });
});

test('removing a middle broker drops exactly its objects from Git, each of them prune-proof, and resizes the broker PDB', () => {
  const four = exampleSpec();
  four.brokers.push({ id: 3, rack: 'zone-a' });
  const three = exampleSpec();
  three.brokers = four.brokers.filter((b: { id: number }) => b.id !== 1);
  const before = synthYaml(four);
  const diff = diffObjects(before, synthYaml(three));
  assert.deepEqual(diff, {
    added: [],
    removed: ['ConfigMap/demo-broker-1', 'PersistentVolumeClaim/demo-broker-1-data-0', 'Pod/demo-broker-1', 'Service/demo-broker-1'],
    changed: ['ConfigMap/demo-cluster', 'PodDisruptionBudget/demo-brokers'],
  });
  // Gone from Git, but the GitOps tools must keep every one of them until the controller drained broker 1.
  for (const o of synthObjects(four).filter((x) => diff.removed.includes(key(x)))) {
    for (const [k, v] of Object.entries(GITOPS_PRUNE_PROOF_ANNOTATIONS)) assert.equal(o.metadata.annotations?.[k], v, `${key(o)} ${k}`);
  }
});

test('each node Pod carries the hash of its rendered config and spec, also stored in its ConfigMap', () => {
  const objects = synthObjects(exampleSpec());
  const pod = objects.find((o) => o.kind === 'Pod' && o.metadata.name === 'demo-broker-0')!;
  const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'demo-broker-0')!;
  const hash = pod.metadata.annotations![ANNOTATION_DESIRED_HASH]!;
  assert.match(hash, /^[0-9a-f]{64}$/);
  assert.equal(cm.metadata.annotations![ANNOTATION_DESIRED_HASH], hash);
  const stored = JSON.parse((cm.data as Record<string, string>)['pod.json']!);
  assert.deepEqual(stored, pod, 'the ConfigMap holds exactly the desired Pod');
  const imageBump = exampleSpec();
  imageBump.brokerGroups.default.image = 'apache/kafka:9.9.9';
  const bumped = synthObjects(imageBump).find((o) => o.kind === 'Pod' && o.metadata.name === 'demo-broker-0')!;
  assert.notEqual(bumped.metadata.annotations![ANNOTATION_DESIRED_HASH], hash, 'a Pod spec change changes the hash');
});

test('GitOps markers: Pods and PVCs are create-only; per-node objects, the cluster document and the Namespace are prune-proof; the rest is applied normally', () => {
  const objects = synthObjects(exampleSpec());
  assert.deepEqual(GITOPS_PRUNE_PROOF_ANNOTATIONS, {
    'argocd.argoproj.io/compare-options': 'IgnoreExtraneous',
    'argocd.argoproj.io/sync-options': 'Prune=false,Delete=false',
    'kustomize.toolkit.fluxcd.io/prune': 'disabled',
  });
  assert.deepEqual(GITOPS_CREATE_ONLY_ANNOTATIONS, { ...GITOPS_PRUNE_PROOF_ANNOTATIONS, 'kustomize.toolkit.fluxcd.io/ssa': 'IfNotPresent' });
  const nodeNames = new Set(objects.filter((o) => o.kind === 'Pod').map((o) => o.metadata.name));
  assert.equal(nodeNames.size, 6);
  for (const o of objects) {
    const annotations = o.metadata.annotations ?? {};
    const gitops = Object.fromEntries(Object.entries(annotations).filter(([k]) => /argoproj|fluxcd/.test(k)));
    if (o.kind === 'Pod' || o.kind === 'PersistentVolumeClaim') {
      assert.deepEqual(gitops, GITOPS_CREATE_ONLY_ANNOTATIONS, key(o));
      assert.equal(o.metadata.labels?.[LABEL_CREATE_ONLY], 'true', key(o));
    } else if (o.kind === 'Namespace' || ((o.kind === 'ConfigMap' || o.kind === 'Service') && nodeNames.has(o.metadata.name))
      // Without the cluster document the controller removes no voter: losing it is the safe side.
      || (o.kind === 'ConfigMap' && o.metadata.name === 'demo-cluster')) {
      assert.deepEqual(gitops, GITOPS_PRUNE_PROOF_ANNOTATIONS, key(o));
      assert.equal(o.metadata.labels?.[LABEL_CREATE_ONLY], undefined, key(o));
    } else {
      assert.deepEqual(gitops, {}, `${key(o)} is applied normally`);
    }
    assert.equal((o.metadata as any).ownerReferences, undefined, `${key(o)} has no ownerReferences a prune could follow`);
    for (const [k, v] of Object.entries(annotations)) {
      assert.ok(!(k === 'kustomize.toolkit.fluxcd.io/force' || /Replace=true|Force=true/.test(v)), `${key(o)}: no force/replace`);
    }
  }
});

test('broker Pods write the config they were created with, format storage with the cluster id, then start Kafka', () => {
  const objects = synthObjects(exampleSpec());
  const pod = objects.find((o) => o.kind === 'Pod' && o.metadata.name === 'demo-broker-1') as any;
  const container = pod.spec.containers[0];
  const script: string = container.command.at(-1);
  const env = Object.fromEntries(container.env.map((e: any) => [e.name, e.value]));
  assert.equal(env.KAFKA_CDK8S_SERVER_PROPERTIES, (objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'demo-broker-1') as any).data['server.properties']);
  assert.match(script, /printf '%s\\n' "\$KAFKA_CDK8S_SERVER_PROPERTIES" > "\$conf\/server\.properties"/);
  assert.match(script, /kafka-storage\.sh format --cluster-id "\$KAFKA_CDK8S_CLUSTER_ID" --config "\$conf\/server\.properties" --ignore-formatted/);
  assert.match(script, /exec \/opt\/kafka\/bin\/kafka-server-start\.sh "\$conf\/server\.properties"/);
  assert.equal(env.KAFKA_CDK8S_CLUSTER_ID.length, 22);
  assert.equal(env.KAFKA_CDK8S_INITIAL_CONTROLLERS, undefined, 'brokers never bootstrap the quorum');
  assert.equal(pod.spec.enableServiceLinks, false);
  assert.deepEqual(pod.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms,
    [{ matchExpressions: [{ key: 'topology.kubernetes.io/zone', operator: 'In', values: ['zone-b'] }] }], 'rack pins the Pod to its zone');
});

test('combined mode: voters are brokers, with both listeners, and only a broker PDB', () => {
  const objects = synthObjects({
    name: 'small', controllers: { mode: 'combined' },
    config: { 'offsets.topic.replication.factor': 1, 'transaction.state.log.replication.factor': 1, 'transaction.state.log.min.isr': 1, 'share.coordinator.state.topic.replication.factor': 1 },
    brokers: [{ id: 0 }],
  });
  assert.ok(!objects.some((o) => o.metadata.name.includes('controller')));
  assert.deepEqual(objects.filter((o) => o.kind === 'PodDisruptionBudget').map((o) => o.metadata.name), ['small-brokers']);
  const p = props(objects, 'small-broker-0');
  assert.equal(p['process.roles'], 'broker,controller');
  assert.equal(p['listeners'], 'INTERNAL://:9092,CONTROLLER://:9093');
  assert.equal(p['controller.quorum.bootstrap.servers'], 'small-broker-0.default.svc.cluster.local:9093');
  const svc = objects.find((o) => o.kind === 'Service' && o.metadata.name === 'small-broker-0') as any;
  assert.deepEqual(svc.spec.ports.map((x: any) => x.port), [9092, 9093]);
});
