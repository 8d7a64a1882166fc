/**
 * A user's path, end to end: the bundled example spec → synth → apply to a
 * real kube-apiserver → the pod runner runs every Pod as a real Kafka process
 * → a topic with RF=3 takes and serves messages. Then a broker Pod is deleted
 * and recreated from the desired Pod stored in its ConfigMap (what the
 * controller will do when it rolls a broker) and keeps its data.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { synthClusters } from '../../lib/synth.js';
import { loadSpecFile } from '../../lib/spec/load.js';
import { applyManifests, kubeRequest } from '../support/kube-apply.js';
import { startKubeApiServer, type KubeApiServer } from '../support/kube-server.js';
import { PodRunner, restartBrokersWithoutController, waitForPodsReady } from '../support/pod-runner.js';
import { EXAMPLE_FILE } from '../support/synth.js';
import { createTopicsAndWait } from '../support/topics.js';

const NAMESPACE = 'kafka';
const BROKERS = ['demo-broker-0', 'demo-broker-1', 'demo-broker-2'];
const PODS = ['demo-controller-9000', 'demo-controller-9001', 'demo-controller-9002', ...BROKERS];
let kube: KubeApiServer;
let runner: PodRunner;
let kafka: Kafka;
/** Brokers restarted by restartBrokersWithoutController. */
let restarted: string[] = [];

before(async () => {
  kube = await startKubeApiServer();
  runner = await PodRunner.start({ kube: kube.client, namespace: NAMESPACE });
  const [cluster] = synthClusters(loadSpecFile(EXAMPLE_FILE));
  await applyManifests(kube.client, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } }]);
  await applyManifests(kube.client, cluster!.yaml, { fieldManager: 'kafka-cdk8s' });
  await waitForPodsReady(kube.client, NAMESPACE, PODS, 240_000, runner);
  const bootstrap = await Promise.all(BROKERS.map((b) => runner.map.address(`${b}.${NAMESPACE}.svc.cluster.local`, 9092)));
  // A split first election of the new quorum can leave a broker without the voter set (Kafka 4.4).
  restarted = await restartBrokersWithoutController(runner, kube.client, NAMESPACE, BROKERS.map((pod, i) => ({ pod, address: bootstrap[i]! })));
  kafka = new Kafka({ clientId: 'e2e', brokers: bootstrap, logLevel: logLevel.NOTHING, retry: { retries: 10 } });
});

after(async () => {
  await runner?.close();
  await kube?.close();
});

test('every Pod of the example runs and reports Ready through the API server', async (t) => {
  if (restarted.length > 0) t.diagnostic(`restarted after a split first election (a Kafka 4.4 hazard): ${restarted.join(', ')}`);
  assert.deepEqual([...runner.processes().keys()].sort(), PODS.map((p) => `${NAMESPACE}/${p}`).sort());
  const pods = await kubeRequest(kube.client, 'GET', `/api/v1/namespaces/${NAMESPACE}/pods`);
  for (const pod of pods.body.items) {
    assert.equal(pod.status.phase, 'Running', pod.metadata.name);
    assert.equal(pod.spec.nodeName, 'kafka-cdk8s-pod-runner');
  }
  assert.deepEqual(runner.problems, []);
});

test('the brokers form one KRaft cluster with the ids, racks and disks of the spec', async () => {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const cluster = await admin.describeCluster();
    assert.deepEqual(cluster.brokers.map((b) => b.nodeId).sort(), [0, 1, 2]);
    const configs = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: 4, name: '2', configNames: ['broker.rack', 'num.io.threads', 'log.dirs', 'min.insync.replicas'] }],
    });
    const byName = Object.fromEntries(configs.resources[0]!.configEntries.map((e) => [e.configName, e.configValue]));
    assert.equal(byName['broker.rack'], 'zone-c');
    assert.equal(byName['num.io.threads'], '16');
    assert.equal(byName['min.insync.replicas'], '2');
    assert.equal(byName['log.dirs']!.split(',').length, 2, 'broker 2 of group large-disk has two log dirs');
  } finally {
    await admin.disconnect();
  }
});

test('a topic with RF=3 takes messages with acks=all and serves them back', async () => {
  const admin = kafka.admin();
  await admin.connect();
  let meta;
  try {
    await createTopicsAndWait(admin, [{ topic: 'orders', numPartitions: 3, replicationFactor: 3 }]);
    meta = await admin.fetchTopicMetadata({ topics: ['orders'] });
  } finally {
    await admin.disconnect();
  }
  for (const p of meta.topics[0]!.partitions) assert.equal(p.replicas.length, 3);
  await produceAndConsume(kafka, 'orders', 30);
});

test('a broker Pod deleted and recreated from its ConfigMap comes back with its data', async () => {
  const cm = await kubeRequest(kube.client, 'GET', `/api/v1/namespaces/${NAMESPACE}/configmaps/demo-broker-1`);
  const desired = JSON.parse(cm.body.data['pod.json']);
  const del = await kubeRequest(kube.client, 'DELETE', `/api/v1/namespaces/${NAMESPACE}/pods/demo-broker-1`);
  assert.ok(del.statusCode < 300, del.text);
  // Graceful: the Pod stays (Terminating) until the runner has stopped Kafka.
  await waitFor(async () => (await kubeRequest(kube.client, 'GET', `/api/v1/namespaces/${NAMESPACE}/pods/demo-broker-1`)).statusCode === 404, 120_000);
  assert.ok(!runner.processes().has(`${NAMESPACE}/demo-broker-1`));
  const created = await kubeRequest(kube.client, 'POST', `/api/v1/namespaces/${NAMESPACE}/pods`, desired);
  assert.equal(created.statusCode, 201, created.text);
  await waitForPodsReady(kube.client, NAMESPACE, ['demo-broker-1'], 120_000);
  const admin = kafka.admin();
  await admin.connect();
  try {
    await waitFor(async () => {
      const meta = await admin.fetchTopicMetadata({ topics: ['orders'] });
      return meta.topics[0]!.partitions.every((p) => p.isr.length === 3);
    }, 120_000);
  } finally {
    await admin.disconnect();
  }
  await produceAndConsume(kafka, 'orders', 10, 30);
});

async function produceAndConsume(client: Kafka, topic: string, count: number, alreadyThere = 0): Promise<void> {
  // Clients are always disconnected: a consumer left running after a failure keeps the test
  // process alive (rejoining forever), and the whole run would hang.
  const producer = client.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const sent = Array.from({ length: count }, (_, i) => `message-${alreadyThere + i}`);
  try {
    await producer.send({ topic, acks: -1, messages: sent.map((value, i) => ({ key: String(i), value })) });
  } finally {
    await producer.disconnect();
  }
  const consumer = client.consumer({ groupId: `e2e-${Date.now()}` });
  await consumer.connect();
  const seen = new Set<string>();
  const total = alreadyThere + count;
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`consumed ${seen.size} of ${total} messages`)), 90_000);
      void consumer.run({
        eachMessage: async ({ message }) => {
          seen.add(message.value!.toString());
          if (seen.size >= total) { clearTimeout(timer); resolve(); }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  for (const value of sent) assert.ok(seen.has(value), value);
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
