/**
 * The shape of a node's Pod (issue #8): it carries its own config for life,
 * joins a dynamic quorum, pins its metadata log, and its probes, spread,
 * heap, logs and shutdown budget are derived, not left to chance.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseProperties } from '../../lib/config/properties-format.js';
import { initialDirectoryId } from '../../lib/render/start-script.js';
import { exampleSpec, synthObjects, type K8sObject } from '../support/synth.js';

const pod = (objects: K8sObject[], name: string): any => objects.find((o) => o.kind === 'Pod' && o.metadata.name === name);
const env = (p: any): Record<string, string> => Object.fromEntries(p.spec.containers[0].env.map((e: any) => [e.name, e.value]));
const props = (objects: K8sObject[], name: string) => parseProperties(env(pod(objects, name)).KAFKA_CDK8S_SERVER_PROPERTIES!);

test('a Pod never reads the live ConfigMap: its config is part of its own (immutable) spec', () => {
  const p = pod(synthObjects(exampleSpec()), 'demo-broker-0');
  assert.ok(!p.spec.volumes.some((v: any) => v.configMap), 'no ConfigMap volume the kubelet could rewrite');
  assert.deepEqual(p.spec.volumes[0], { name: 'server-config', emptyDir: { sizeLimit: '16Mi' } });
  const changed = exampleSpec();
  changed.brokers[0].config = { 'num.io.threads': 32 };
  const before = props(synthObjects(exampleSpec()), 'demo-broker-0');
  const after = props(synthObjects(changed), 'demo-broker-0');
  assert.equal(before['num.io.threads'], undefined);
  assert.equal(after['num.io.threads'], '32', 'a new config is a new Pod spec (and a new desired hash)');
});

test('a dynamic quorum: bootstrap servers, never static voters; controllers know the first voters with derived directory ids', () => {
  const objects = synthObjects(exampleSpec());
  const controller = env(pod(objects, 'demo-controller-9001'));
  const clusterId = controller.KAFKA_CDK8S_CLUSTER_ID!;
  assert.equal(controller.KAFKA_CDK8S_INITIAL_CONTROLLERS, [9000, 9001, 9002]
    .map((id) => `${id}@demo-controller-${id}.kafka.svc.cluster.local:9093:${initialDirectoryId(clusterId, id)}`).join(','));
  assert.equal(controller.KAFKA_CDK8S_QUORUM_BOOTSTRAP, props(objects, 'demo-controller-9001')['controller.quorum.bootstrap.servers']);
  for (const id of [9000, 9001, 9002]) {
    const dir = initialDirectoryId(clusterId, id);
    assert.equal(Buffer.from(dir, 'base64url').length, 16);
    assert.doesNotMatch(dir, /^[-_]/);
  }
  assert.notEqual(initialDirectoryId(clusterId, 9000), initialDirectoryId(clusterId, 9001));
  const script: string = pod(objects, 'demo-controller-9001').spec.containers[0].command.at(-1);
  assert.match(script, /format --initial-controllers "\$KAFKA_CDK8S_INITIAL_CONTROLLERS"/);
  assert.match(script, /format --no-initial-controllers/);
  assert.match(script, /kafka-metadata-quorum\.sh --bootstrap-controller "\$KAFKA_CDK8S_QUORUM_BOOTSTRAP"/);
});

test('the metadata log stays on its volume when a volume is added in front of the list', () => {
  const spec = exampleSpec();
  const before = props(synthObjects(spec), 'demo-broker-2')['metadata.log.dir'];
  spec.brokerGroups['large-disk'].storage.unshift({ name: 'fast', size: '10Gi' });
  const after = props(synthObjects(spec), 'demo-broker-2');
  assert.equal(before, '/var/lib/kafka/data-0/kafka-log');
  assert.equal(after['metadata.log.dir'], before);
  assert.equal(after['log.dirs'], '/var/lib/kafka/fast/kafka-log,/var/lib/kafka/data-0/kafka-log,/var/lib/kafka/data-1/kafka-log');
  const marked = exampleSpec();
  marked.brokers[0].storage = [{ name: 'a', size: '1Gi' }, { name: 'meta', size: '1Gi', metadataLog: true }];
  assert.equal(props(synthObjects(marked), 'demo-broker-0')['metadata.log.dir'], '/var/lib/kafka/meta/kafka-log');
});

test('probes: a startup budget for log recovery, liveness on the port, readiness means in sync', () => {
  const objects = synthObjects(exampleSpec());
  const broker = pod(objects, 'demo-broker-0').spec.containers[0];
  assert.deepEqual(broker.startupProbe, { tcpSocket: { port: 9092 }, periodSeconds: 10, failureThreshold: 180 });
  assert.deepEqual(broker.livenessProbe, { tcpSocket: { port: 9092 }, periodSeconds: 10, failureThreshold: 6 });
  const brokerCheck: string = broker.readinessProbe.exec.command.at(-1);
  assert.match(brokerCheck, /kafka-topics\.sh --bootstrap-server 127\.0\.0\.1:9092 .*--describe --under-replicated-partitions/);
  assert.match(brokerCheck, /if \[ -f \/tmp\/kafka-cdk8s-ready \]/, 'after the first pass, only the port');
  const controllerCheck: string = pod(objects, 'demo-controller-9000').spec.containers[0].readinessProbe.exec.command.at(-1);
  assert.match(controllerCheck, /kafka-metadata-quorum\.sh --bootstrap-controller 127\.0\.0\.1:9093 .*describe --replication/);
  assert.doesNotMatch(controllerCheck, /kafka-topics/);
});

test('Pods are spread over nodes and zones by default; required and none are honoured', () => {
  const objects = synthObjects(exampleSpec());
  const spread = pod(objects, 'demo-controller-9000').spec.topologySpreadConstraints;
  assert.deepEqual(spread.map((c: any) => [c.topologyKey, c.whenUnsatisfiable, c.labelSelector.matchLabels['kafka-cdk8s.io/pool']]),
    [['kubernetes.io/hostname', 'ScheduleAnyway', 'controller'], ['topology.kubernetes.io/zone', 'ScheduleAnyway', 'controller']]);
  const required = exampleSpec();
  required.topologySpread = 'required';
  const r = pod(synthObjects(required), 'demo-controller-9000').spec;
  assert.deepEqual(r.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution, [{
    labelSelector: { matchLabels: { 'kafka-cdk8s.io/cluster': 'demo', 'kafka-cdk8s.io/pool': 'controller' } }, topologyKey: 'kubernetes.io/hostname',
  }]);
  const none = exampleSpec();
  none.topologySpread = 'none';
  assert.equal(pod(synthObjects(none), 'demo-controller-9000').spec.topologySpreadConstraints, undefined);
});

test('heap follows the memory (half of it) unless the user sets KAFKA_HEAP_OPTS; logs go to stdout; storage outside volumes is bounded', () => {
  const objects = synthObjects(exampleSpec());
  const controller = pod(objects, 'demo-controller-9000').spec.containers[0];
  assert.equal(env(pod(objects, 'demo-controller-9000')).KAFKA_HEAP_OPTS, '-Xms512m -Xmx512m', '1Gi request');
  assert.equal(env(pod(objects, 'demo-broker-0')).KAFKA_HEAP_OPTS, '-Xms1g -Xmx1g', "the group's own setting wins");
  assert.equal(env(pod(objects, 'demo-controller-9000')).KAFKA_LOG4J_OPTS, '-Dlog4j2.configurationFile=/etc/kafka-cdk8s/log4j2.properties');
  assert.equal(env(pod(objects, 'demo-controller-9000')).EXTRA_ARGS, '-name kafkaServer', 'no -loggc: no GC log file in the container');
  assert.match(controller.command.at(-1), /appender\.stdout\.type = Console/);
  assert.equal(controller.resources.limits['ephemeral-storage'], '1Gi');
  const noMemory = synthObjects({ name: 'n', controllers: { mode: 'combined' }, config: { 'offsets.topic.replication.factor': 1, 'transaction.state.log.replication.factor': 1, 'transaction.state.log.min.isr': 1, 'share.coordinator.state.topic.replication.factor': 1 }, brokers: [{ id: 0 }] });
  assert.equal(env(pod(noMemory, 'n-broker-0')).KAFKA_HEAP_OPTS, undefined, "Kafka's own default when nothing is known");
});

test("the grace period covers Kafka's 5-minute controlled-shutdown wait plus closing the logs", () => {
  const objects = synthObjects(exampleSpec());
  assert.equal(pod(objects, 'demo-broker-0').spec.terminationGracePeriodSeconds, 360);
  assert.equal(pod(objects, 'demo-controller-9000').spec.terminationGracePeriodSeconds, 60);
});
