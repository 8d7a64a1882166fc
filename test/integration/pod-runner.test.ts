/**
 * The pod runner (the test bed's kubelet) against a real kube-apiserver and a real Kafka:
 * a one-node combined cluster synthesized by lib/, run as a Pod. Its Kafka process is
 * killed (SIGKILL, like an OOM kill or a crash) and must come back as a kubelet brings a
 * container back: same Pod, new process, restartCount 1, lastState.terminated 137, Ready
 * again, and the config the Pod was created with, even when the ConfigMap changed since.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Kafka, logLevel } from 'kafkajs';
import { synthCluster } from '../../lib/synth.js';
import { applyManifests, kubeRequest, kubeWatch } from '../support/kube-apply.js';
import { startKubeApiServer, type KubeApiServer } from '../support/kube-server.js';
import { PodRunner, RUNNER_NODE_NAME, waitForPodsReady } from '../support/pod-runner.js';

const NAMESPACE = 'runner';
const POD = 'tiny-broker-1';
const KEY = `${NAMESPACE}/${POD}`;
const POD_PATH = `/api/v1/namespaces/${NAMESPACE}/pods/${POD}`;
/** A read-only broker config (KIP-226): only a restart could apply a change of it. */
const READ_ONLY_KEY = 'auto.create.topics.enable';

let kube: KubeApiServer;
let runner: PodRunner;

before(async () => {
  kube = await startKubeApiServer();
  runner = await PodRunner.start({ kube: kube.client, namespace: NAMESPACE });
  const cluster = synthCluster({
    name: 'tiny',
    namespace: NAMESPACE,
    controllers: { mode: 'combined' },
    brokers: [{ id: 1 }],
    config: {
      'offsets.topic.replication.factor': 1,
      'transaction.state.log.replication.factor': 1,
      'transaction.state.log.min.isr': 1,
      'share.coordinator.state.topic.replication.factor': 1,
    },
  });
  await applyManifests(kube.client, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } }]);
  await applyManifests(kube.client, cluster.yaml, { fieldManager: 'kafka-cdk8s' });
  await waitForPodsReady(kube.client, NAMESPACE, [POD], 180_000);
});

after(async () => {
  await runner?.close();
  await kube?.close();
});

test('registers its Node, Ready and untainted, so controllers leave its Pods alone', async () => {
  const node = await kubeRequest(kube.client, 'GET', `/api/v1/nodes/${RUNNER_NODE_NAME}`);
  assert.equal(node.statusCode, 200, node.text);
  const ready = (node.body.status.conditions as { type: string; status: string }[]).find((c) => c.type === 'Ready');
  assert.equal(ready?.status, 'True');
  assert.deepEqual(node.body.spec.taints ?? [], []);
  const pod = await kubeRequest(kube.client, 'GET', POD_PATH);
  assert.equal(pod.body.spec.nodeName, RUNNER_NODE_NAME);
  assert.equal(pod.body.status.containerStatuses[0].restartCount, 0);
});

test('a killed Kafka process is restarted like a kubelet restarts a container, with the config the Pod was created with', async () => {
  const first = runner.processes().get(KEY);
  assert.ok(first, `no process for ${KEY}`);
  const propertiesFile = propertiesFileOf(first.pid);
  const properties = readFileSync(propertiesFile, 'utf8');
  assert.ok(!properties.includes(READ_ONLY_KEY), properties);

  // A changed read-only key in the ConfigMap reaches a new Pod, never a restarted container.
  const cmPath = `/api/v1/namespaces/${NAMESPACE}/configmaps/${POD}`;
  const cm = await kubeRequest(kube.client, 'GET', cmPath);
  cm.body.data['server.properties'] += `${READ_ONLY_KEY}=false\n`;
  const put = await kubeRequest(kube.client, 'PUT', cmPath, cm.body);
  assert.equal(put.statusCode, 200, put.text);

  // Every Ready value the Pod reports from now on.
  const readiness: string[] = [];
  const current = await kubeRequest(kube.client, 'GET', POD_PATH);
  const watch = await kubeWatch(kube.client, `/api/v1/namespaces/${NAMESPACE}/pods`,
    { fieldSelector: `metadata.name=${POD}`, resourceVersion: String(current.body.metadata.resourceVersion) },
    (e) => {
      const ready = (e.object?.status?.conditions as { type: string; status: string }[] | undefined)?.find((c) => c.type === 'Ready');
      if (ready && readiness.at(-1) !== ready.status) readiness.push(ready.status);
    });
  try {
    const killedPid = await runner.kill(NAMESPACE, POD, 'SIGKILL');
    assert.equal(killedPid, first.pid);

    const pod = await waitFor('the Pod Ready again after one restart', async () => {
      const p = (await kubeRequest(kube.client, 'GET', POD_PATH)).body;
      const status = p.status.containerStatuses?.[0];
      const ready = p.status.conditions.find((c: { type: string }) => c.type === 'Ready')?.status;
      return status?.restartCount === 1 && ready === 'True' ? p : undefined;
    }, 120_000);
    assert.deepEqual(readiness, ['False', 'True'], 'Ready=False while down, then True when the port answers again');

    const status = pod.status.containerStatuses[0];
    assert.equal(status.lastState.terminated.exitCode, 137, JSON.stringify(status));
    assert.equal(status.lastState.terminated.reason, 'Error');
    assert.equal(status.lastState.terminated.containerID, `pod-runner://${first.pid}`);
    assert.ok(status.state.running, JSON.stringify(status.state));
    assert.equal(status.ready, true);

    const second = runner.processes().get(KEY);
    assert.ok(second?.running, 'the process is back');
    assert.notEqual(second.pid, first.pid);
    assert.equal(status.containerID, `pod-runner://${second.pid}`);
    assert.equal(propertiesFileOf(second.pid), propertiesFile, 'the same properties file');
    assert.equal(readFileSync(propertiesFile, 'utf8'), properties, 'with the same content');

    // And Kafka itself runs the old value (the default), not the ConfigMap's new one.
    const address = await runner.map.address(`${POD}.${NAMESPACE}.svc.cluster.local`, 9092);
    const admin = new Kafka({ clientId: 'pod-runner-test', brokers: [address], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const configs = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: 4, name: '1', configNames: [READ_ONLY_KEY] }] });
      assert.equal(configs.resources[0]!.configEntries[0]!.configValue, 'true');
    } finally {
      await admin.disconnect();
    }
    assert.deepEqual(runner.problems, [], 'no problems (no 409 on a second bind)');
  } finally {
    watch.stop();
  }
});

/** The server.properties a Kafka JVM was started with: the argument after the main class. */
function propertiesFileOf(pid: number): string {
  const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  const file = args[args.indexOf('kafka.Kafka') + 1];
  assert.ok(file?.endsWith('server.properties'), `unexpected command line of ${pid}: ${args.join(' ')}`);
  return file;
}

async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
