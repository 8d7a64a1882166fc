/**
 * The pod runner (the test bed's kubelet) against a real kube-apiserver and a real Kafka:
 * a one-node combined cluster synthesized by lib/, run as a Pod with its own start script
 * and readiness probe. Its Kafka process is killed (SIGKILL, like an OOM kill or a crash)
 * and must come back as a kubelet brings a container back: same Pod, new process,
 * restartCount 1, lastState.terminated 137, Ready again, and the config the Pod was
 * created with, even when a GitOps apply changed the node's ConfigMap since. A Pod's image
 * tag picks the Kafka it runs: apache/kafka:<versions.json kafkaPrevious> runs that Kafka, and
 * a version the bed has not installed leaves the Pod waiting with ErrImagePull.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { metadataVersionOf } from '../../lib/config/metadata-versions.js';
import { KafkaConnection } from '../../lib/controller/adapters/kafka/connection.js';
import { ApiVersions } from '../../lib/controller/adapters/kafka/requests.js';
import { synthCluster } from '../../lib/synth.js';
import { createKafkaAdmin } from '../../lib/controller/adapters/kafka/admin.js';
import { ANNOTATION_DESIRED_HASH, CONFIG_KEY_POD, CONFIG_KEY_PROPERTIES } from '../../lib/render/metadata.js';
import { ANNOTATION_POD_FIELDS } from '../../lib/render/pod-fields.js';
import { sha256 } from '../../lib/render/node-pod.js';
import { ENV } from '../../lib/render/start-script.js';
import { applyManifests, kubeRequest, kubeWatch, toObjects } from '../support/kube-apply.js';
import { kafkaHome, readVersions } from '../support/kafka-process.js';
import { startKubeApiServer, type KubeApiServer } from '../support/kube-server.js';
import { PodRunner, RUNNER_NODE_NAME, waitForPodsReady } from '../support/pod-runner.js';
import { ONCE } from '../support/once.js';

const NAMESPACE = 'runner';
const POD = 'tiny-broker-1';
const KEY = `${NAMESPACE}/${POD}`;
const POD_PATH = `/api/v1/namespaces/${NAMESPACE}/pods/${POD}`;
/** A read-only broker config (KIP-226): only a restart could apply a change of it. */
const READ_ONLY_KEY = 'auto.create.topics.enable';

let kube: KubeApiServer;
let runner: PodRunner;

/** The cluster as synthesized with a value of the read-only key (and another name and Kafka version). */
function synth(readOnlyValue: boolean, name = 'tiny', kafkaVersion?: string) {
  return synthCluster({
    name,
    namespace: NAMESPACE,
    ...(kafkaVersion ? { kafka: { version: kafkaVersion } } : {}),
    controllers: { mode: 'combined' },
    brokers: [{ id: 1 }],
    config: {
      [READ_ONLY_KEY]: readOnlyValue,
      'offsets.topic.replication.factor': 1,
      'transaction.state.log.replication.factor': 1,
      'transaction.state.log.min.isr': 1,
      'share.coordinator.state.topic.replication.factor': 1,
    },
  });
}

describe('the pod runner', ONCE, () => {
  before(async () => {
    kube = await startKubeApiServer();
    runner = await PodRunner.start({ kube: kube.client, namespace: NAMESPACE });
    await applyManifests(kube.client, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } }]);
    await applyManifests(kube.client, synth(false).yaml, { fieldManager: 'kafka-cdk8s' });
    await waitForPodsReady(kube.client, NAMESPACE, [POD], 180_000, runner);
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
    assert.match(properties, new RegExp(`^${READ_ONLY_KEY}=false$`, 'm'));

    // A changed read-only key reaches a new Pod, never a restarted container. A GitOps
    // apply of the new output changes the ConfigMap (server.properties, the desired Pod,
    // their hash) and leaves the existing Pod (and PVC) alone (Flux: ssa IfNotPresent).
    const cmPath = `/api/v1/namespaces/${NAMESPACE}/configmaps/${POD}`;
    const old = (await kubeRequest(kube.client, 'GET', cmPath)).body;
    const changed = toObjects(synth(true).yaml).filter((o) => o.kind !== 'Pod' && o.kind !== 'PersistentVolumeClaim');
    await applyManifests(kube.client, changed, { fieldManager: 'kafka-cdk8s' });
    const cm = (await kubeRequest(kube.client, 'GET', cmPath)).body;
    assert.match(cm.data[CONFIG_KEY_PROPERTIES], new RegExp(`^${READ_ONLY_KEY}=true$`, 'm'));
    assert.notEqual(cm.metadata.annotations[ANNOTATION_DESIRED_HASH], old.metadata.annotations[ANNOTATION_DESIRED_HASH]);

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
      // The watch may deliver that last change a moment after the GET saw it.
      await waitFor('the watch to see Ready again', async () => (readiness.at(-1) === 'True' ? true : undefined), 10_000);
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

      // And Kafka itself runs the old value from its server.properties, not the ConfigMap's new one.
      const address = await runner.map.address(`${POD}.${NAMESPACE}.svc.cluster.local`, 9092);
      const admin = createKafkaAdmin({ brokers: [address], clientId: 'pod-runner-test' });
      try {
        const [entry] = await admin.describeBrokerConfigs(1, { names: [READ_ONLY_KEY] });
        assert.equal(entry?.value, 'false');
        assert.equal(entry?.source, 'STATIC_BROKER_CONFIG');
        assert.equal(entry?.readOnly, true);
      } finally {
        await admin.close();
      }

      // The Pod is the one created first: its desired-hash is the old one, and it is the hash
      // of the config it runs (its own env copy) and of the Pod it was created as.
      const hash = pod.metadata.annotations[ANNOTATION_DESIRED_HASH];
      assert.equal(hash, old.metadata.annotations[ANNOTATION_DESIRED_HASH], 'the Pod\'s desired-hash is unchanged');
      const created = JSON.parse(old.data[CONFIG_KEY_POD]);
      const env = (p: any): Array<{ name: string; value?: string }> => p.spec.containers[0].env;
      assert.deepEqual(env(pod), env(created), 'the Pod runs the env it was created with');
      const runs = env(pod).find((e) => e.name === ENV.serverProperties)!.value!;
      assert.equal(runs, old.data[CONFIG_KEY_PROPERTIES]);
      delete created.metadata.annotations[ANNOTATION_DESIRED_HASH];
      delete created.metadata.annotations[ANNOTATION_POD_FIELDS];
      assert.equal(sha256(`${runs}\n${JSON.stringify(created)}`), hash, 'desired-hash = sha256(the config it runs, the Pod it was created as)');
      assert.deepEqual(runner.problems, [], 'no problems (no 409 on a second bind)');
    } finally {
      watch.stop();
    }
  });

  // After the tests above: these add to runner.problems on purpose.
  test('a Pod whose image tag is kafkaPrevious runs that Kafka\'s jars', async () => {
    const { kafka, kafkaPrevious } = readVersions();
    assert.notEqual(kafkaPrevious, kafka);
    await applyManifests(kube.client, synth(false, 'old', kafkaPrevious).yaml, { fieldManager: 'kafka-cdk8s' });
    const pod = (await kubeRequest(kube.client, 'GET', `/api/v1/namespaces/${NAMESPACE}/pods/old-broker-1`)).body;
    assert.equal(pod.spec.containers[0].image, `apache/kafka:${kafkaPrevious}`);
    await waitForPodsReady(kube.client, NAMESPACE, ['old-broker-1'], 180_000, runner);

    // The JVM runs the jars of the tag's version; the tiny cluster (apache/kafka:<kafka>) the pinned ones.
    const classpath = (pid: number): string => {
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      return args[args.indexOf('-cp') + 1]!;
    };
    assert.equal(classpath(runner.processes().get(`${NAMESPACE}/old-broker-1`)!.pid), `${kafkaHome(kafkaPrevious)}/libs/*`);
    assert.equal(classpath(runner.processes().get(KEY)!.pid), `${kafkaHome(kafka)}/libs/*`);
    // Kafka says so itself: AppInfoParser's start-up line, and the highest metadata.version it
    // supports, which is its own release's latest production level (4.4 would support more).
    const log = readFileSync(`${runner.podDir(NAMESPACE, 'old-broker-1')}/container.log`, 'utf8');
    assert.match(log, new RegExp(`Kafka version: ${kafkaPrevious.replace(/\./g, '\\.')}\\b`));
    assert.doesNotMatch(log, new RegExp(`Kafka version: ${kafka.replace(/\./g, '\\.')}\\b`));
    const address = await runner.map.address(`old-broker-1.${NAMESPACE}.svc.cluster.local`, 9092);
    const conn = await KafkaConnection.open(address, { clientId: 'pod-runner-test' });
    try {
      const res = await conn.send(ApiVersions, { clientSoftwareName: 'pod-runner-test', clientSoftwareVersion: '0' });
      const mv = res.supportedFeatures.find((f) => f.name === 'metadata.version');
      assert.equal(mv?.maxVersion, metadataVersionOf(kafkaPrevious)!.level, JSON.stringify(res.supportedFeatures));
    } finally {
      conn.close();
    }
  });

  test('a Pod whose image tag names a Kafka the bed has not installed waits with ErrImagePull', async () => {
    const name = 'not-installed';
    const before = runner.problems.length;
    await applyManifests(kube.client, [{
      apiVersion: 'v1', kind: 'Pod',
      metadata: { name, namespace: NAMESPACE, labels: { 'app.kubernetes.io/managed-by': 'kafka-cdk8s' } },
      spec: {
        // The namespace enforces Pod Security "restricted", as the synthesized Namespace does.
        securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
        containers: [{
          name: 'kafka', image: 'apache/kafka:3.9.0', command: ['bash', '-c', 'sleep 600'],
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
        }],
      },
    }]);
    const path = `/api/v1/namespaces/${NAMESPACE}/pods/${name}`;
    const waiting = await waitFor('ErrImagePull', async () => {
      const p = (await kubeRequest(kube.client, 'GET', path)).body;
      return p.status?.containerStatuses?.[0]?.state?.waiting;
    }, 30_000);
    assert.equal(waiting.reason, 'ErrImagePull');
    assert.match(waiting.message, /image apache\/kafka:3\.9\.0: the test bed has no Kafka 3\.9\.0/);
    const pod = (await kubeRequest(kube.client, 'GET', path)).body;
    assert.equal(pod.spec.nodeName, RUNNER_NODE_NAME, 'bound, as a kubelet gets the Pod before it pulls');
    assert.equal(pod.status.phase, 'Pending');
    assert.equal(runner.processes().get(`${NAMESPACE}/${name}`), undefined, 'nothing runs');
    const problems = runner.problems.slice(before).filter((p) => p.startsWith(`${NAMESPACE}/${name}: `));
    assert.equal(problems.length, 1, problems.join('\n'));
    assert.match(problems[0]!, /has no Kafka 3\.9\.0 \(it installs versions\.json's kafka and kafkaPrevious: /);
    assert.match(runner.diagnostics(NAMESPACE, name), /never run\n.*has no Kafka 3\.9\.0/);
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
});
