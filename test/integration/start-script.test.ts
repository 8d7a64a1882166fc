/**
 * The Pod's own start script and readiness probe (lib/render/start-script.ts) on real
 * Kafka: a cluster of 3 dedicated controllers and 3 brokers synthesized by lib/, applied
 * to a real kube-apiserver and run by the pod runner, which runs each Pod's command and
 * exec readiness probe as they are (over the test bed's Kafka scripts).
 *
 *  - a new cluster bootstraps its dynamic quorum from nothing: the first controllers'
 *    derived directory ids, a leader, brokers as observers; no controller is Ready
 *    before a leader exists;
 *  - a controller whose disk is wiped comes back as an observer with a new directory id,
 *    the voter set untouched and no committed metadata lost;
 *  - a broker killed under produce load stays NotReady until it is back in the ISR of
 *    every partition it holds, then turns Ready.
 *
 * One cluster for all checks, in order.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { synthCluster } from '../../lib/synth.js';
import { createKafkaAdmin, type KafkaAdmin, type QuorumDescription } from '../../lib/controller/adapters/kafka/admin.js';
import { KafkaConnection } from '../../lib/controller/adapters/kafka/connection.js';
import { CLUSTER_METADATA_TOPIC, DescribeQuorum } from '../../lib/controller/adapters/kafka/requests.js';
import { CONFIG_KEY_POD } from '../../lib/render/metadata.js';
import { ENV, initialDirectoryId } from '../../lib/render/start-script.js';
import { applyManifests, kubeRequest } from '../support/kube-apply.js';
import { startKubeApiServer, type KubeApiServer } from '../support/kube-server.js';
import { PodRunner, restartBrokersWithoutController, waitForPodsReady } from '../support/pod-runner.js';
import { tailFile } from '../support/kafka-process.js';
import { eventually, sleep } from '../support/bed-cluster.js';
import { ONCE } from '../support/once.js';
import { createTopicsAndWait } from '../support/topics.js';

const NAMESPACE = 'quorum';
const CONTROLLER_IDS = [9000, 9001, 9002];
const BROKER_IDS = [0, 1, 2];
const controllerPod = (id: number): string => `kq-controller-${id}`;
const brokerPod = (id: number): string => `kq-broker-${id}`;
const CONTROLLERS = CONTROLLER_IDS.map(controllerPod);
const BROKERS = BROKER_IDS.map(brokerPod);
const host = (pod: string): string => `${pod}.${NAMESPACE}.svc.cluster.local`;

let kube: KubeApiServer;
let runner: PodRunner;
let kafka: Kafka;
let ours: KafkaAdmin;
let clusterId: string;
/** Brokers restarted because they lost the controllers after a split first election (see restartBrokersWithoutController). */
let restartedBrokers: string[] = [];
/** What the formation watch saw: controller Pods turning Ready, and any that did while no controller had a leader. */
const formation = { samples: 0, readyControllerSamples: 0, readyWithoutLeader: [] as string[] };

describe('the start script and probes on real Kafka', ONCE, () => {
  before(async () => {
    kube = await startKubeApiServer();
    runner = await PodRunner.start({ kube: kube.client, namespace: NAMESPACE });
    const cluster = synthCluster({
      name: 'kq',
      namespace: NAMESPACE,
      controllers: { mode: 'dedicated' },
      brokers: BROKER_IDS.map((id) => ({ id })),
      // A killed follower leaves the ISR within seconds, before its restart is back (Kafka's 30 s default
      // could outlast the restart, and the test would see nothing to prove).
      config: { 'min.insync.replicas': 2, 'default.replication.factor': 3, 'replica.lag.time.max.ms': 2000 },
    });
    await applyManifests(kube.client, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } }]);
    await applyManifests(kube.client, cluster.yaml, { fieldManager: 'kafka-cdk8s' });
    // While the cluster forms: when a controller Pod turns Ready, some controller must answer
    // with a leader (within 3 s: an election may just be moving the leadership on).
    let forming = true;
    const watch = (async () => {
      const seenReady = new Set<string>();
      while (forming) {
        const turned = (await readyPods()).filter((p) => CONTROLLERS.includes(p) && !seenReady.has(p));
        formation.samples += 1;
        if (turned.length > 0) {
          turned.forEach((p) => seenReady.add(p));
          formation.readyControllerSamples += 1;
          const leader = await leaderWithin(3_000);
          if (leader === undefined) formation.readyWithoutLeader.push(`${new Date().toISOString()}: ${turned.join(', ')} turned Ready, no leader`);
        }
        await sleep(200);
      }
    })();
    try {
      await waitForPodsReady(kube.client, NAMESPACE, [...CONTROLLERS, ...BROKERS], 240_000, runner);
    } finally {
      forming = false;
      await watch;
    }
    const brokers = await Promise.all(BROKERS.map((b) => runner.map.address(host(b), 9092)));
    restartedBrokers = await restartBrokersWithoutController(runner, kube.client, NAMESPACE, BROKERS.map((pod, i) => ({ pod, address: brokers[i]! })));
    kafka = new Kafka({ clientId: 'start-script-test', brokers, logLevel: logLevel.NOTHING, retry: { retries: 10 } });
    ours = createKafkaAdmin({ brokers, clientId: 'start-script-test' });
    clusterId = (await ours.describeCluster()).clusterId;
  }, { timeout: 300_000 });

  after(async () => {
    await ours?.close();
    await runner?.close();
    await kube?.close();
  });

  test('a new cluster bootstraps its dynamic quorum: the derived directory ids, a leader, brokers as observers', { timeout: 240_000 }, async (t) => {
    if (restartedBrokers.length > 0) t.diagnostic(`restarted after a split first election (a Kafka 4.4 hazard): ${restartedBrokers.join(', ')}`);
    const pod = await desiredPod(controllerPod(9000));
    assert.equal(envOf(pod, ENV.clusterId), clusterId, 'the cluster id of the Pod');
    const q = await eventually('every broker an observer', async () => {
      const d = await ours.describeQuorum();
      return d.observers.length === BROKER_IDS.length ? d : undefined;
    });
    assert.deepEqual(voterKeys(q), CONTROLLER_IDS.map((id) => `${id}/${initialDirectoryId(clusterId, id)}`));
    assert.ok(CONTROLLER_IDS.includes(q.leaderId), `leader ${q.leaderId}`);
    assert.deepEqual(q.observers.map((o) => o.id).sort((a, b) => a - b), BROKER_IDS);
    for (const c of CONTROLLERS) {
      assert.match(tailFile(runner.podDir(NAMESPACE, c) + '/container.log', 100_000), /bootstrapping the quorum of a new cluster/, c);
    }
    // Readiness of a controller is "a leader exists and I am caught up".
    assert.ok(formation.readyControllerSamples > 0, 'the watch saw controllers turn Ready');
    assert.deepEqual(formation.readyWithoutLeader, [], 'no controller Pod turned Ready while no controller had a leader');
    assert.deepEqual(runner.problems, []);
  });

  test('a controller whose disk is wiped comes back as an observer with a new directory id; voters and metadata stay', { timeout: 240_000 }, async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      await createTopicsAndWait(admin, [{ topic: 'before-wipe-a', numPartitions: 3 }, { topic: 'before-wipe-b', numPartitions: 1 }]);
      const before = await ours.describeQuorum();
      const topicsBefore = await partitionCounts(admin);
      assert.equal(topicsBefore.get('before-wipe-a'), 3);

      // The leader loses its disk: the most committed data goes with it.
      const victim = before.leaderId;
      const name = controllerPod(victim);
      const desired = await desiredPod(name);
      const del = await kubeRequest(kube.client, 'DELETE', `/api/v1/namespaces/${NAMESPACE}/pods/${name}`);
      assert.ok(del.statusCode < 300, del.text);
      await eventually(`${name} gone`, async () => (await kubeRequest(kube.client, 'GET', `/api/v1/namespaces/${NAMESPACE}/pods/${name}`)).statusCode === 404 || undefined, 120_000);
      const claim = (desired.spec.volumes as Array<{ persistentVolumeClaim?: { claimName: string } }>).find((v) => v.persistentVolumeClaim)!.persistentVolumeClaim!.claimName;
      const dir = runner.map.claimDir(NAMESPACE, claim);
      rmSync(dir, { recursive: true, force: true });
      runner.map.claimDir(NAMESPACE, claim); // an empty volume again

      // The controller recreates a Pod from the desired Pod in its ConfigMap.
      const created = await kubeRequest(kube.client, 'POST', `/api/v1/namespaces/${NAMESPACE}/pods`, desired);
      assert.equal(created.statusCode, 201, created.text);
      const after = await eventually(`${victim} an observer`, async () => {
        const d = await ours.describeQuorum();
        return d.observers.some((o) => o.id === victim) && d.leaderId >= 0 ? d : undefined;
      }, 120_000);
      assert.match(tailFile(`${runner.podDir(NAMESPACE, name)}/container.log`, 100_000), /joining as an observer with a new directory id/);
      // Caught up, but not Ready: its old (id, directory id) is still a voter, so the quorum has one
      // live voter less than it counts, and the PDB must not let a second controller go.
      const probeLog = `${runner.podDir(NAMESPACE, name)}/probes.log`;
      await eventually(`two failed readiness probes of ${name}`, async () =>
        ((tailFile(probeLog, 1_000_000).match(/readiness: failure/g) ?? []).length >= 2 ? true : undefined), 120_000);
      assert.equal((await podStatus(name)).ready, false, `${name} is not Ready while its old voter is in the voter set`);
      assert.deepEqual(voterKeys(after), voterKeys(before), 'the voter set is exactly as before');
      const observer = after.observers.find((o) => o.id === victim)!;
      assert.ok(observer.directoryId && observer.directoryId !== initialDirectoryId(clusterId, victim), `a new directory id: ${observer.directoryId}`);
      assert.ok(after.highWatermark >= before.highWatermark, `high watermark ${before.highWatermark} → ${after.highWatermark}`);
      assert.notEqual(after.leaderId, victim);
      assert.deepEqual(await partitionCounts(admin), topicsBefore, 'every topic and partition is still there');
      assert.deepEqual(runner.problems, []);
    } finally {
      await admin.disconnect();
    }
  });

  test('a broker killed under produce load stays NotReady until it is in the ISR of every partition it holds', { timeout: 240_000 }, async () => {
    const victim = 1;
    const name = brokerPod(victim);
    const admin = kafka.admin();
    await admin.connect();
    const producer = kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 } });
    await producer.connect();
    const load = { stop: false, acked: 0, errors: 0 };
    let loop: Promise<void> | undefined;
    const samples: Array<{ at: number; ready: boolean; restarts: number; inIsr?: boolean }> = [];
    let polling = true;
    let poller: Promise<void> | undefined;
    try {
      await createTopicsAndWait(admin, [{ topic: 'load', numPartitions: 6, replicationFactor: 3 }]);
      loop = produce(producer, 'load', load);
      await eventually('load flowing and the broker in sync', async () =>
        load.acked > 100 && (await inEveryIsr(admin, victim)) ? true : undefined, 60_000);
      const restartsBefore = (await podStatus(name)).restarts;

      poller = (async () => {
        while (polling) {
          // Ready first, then the ISR: a Ready seen at t must find the broker in the ISR after t.
          const { ready, restarts } = await podStatus(name);
          const inIsr = await inEveryIsr(admin, victim).catch(() => undefined);
          samples.push({ at: Date.now(), ready, restarts, inIsr });
          await sleep(150);
        }
      })();

      const pid = await runner.kill(NAMESPACE, name, 'SIGKILL');
      assert.ok(pid > 0);
      await eventually(`${name} NotReady`, async () => samples.some((s) => !s.ready) || undefined, 30_000);
      await eventually(`${name} restarted and Ready again`, async () => {
        const last = samples.at(-1);
        return last && last.ready && last.restarts === restartsBefore + 1 ? true : undefined;
      }, 180_000);
      const ackedAtReady = load.acked;
      await eventually('load still flowing', async () => (load.acked > ackedAtReady + 50 ? true : undefined), 60_000);
      await sleep(2_000); // a few more samples of the Ready broker
      polling = false;
      await poller;

      // The check is not vacuous: the broker ran again while still out of the ISR.
      const behind = samples.filter((s) => s.restarts === restartsBefore + 1 && s.inIsr === false);
      assert.ok(behind.length > 0, `no sample of the restarted broker out of the ISR: ${JSON.stringify(samples)}`);
      // At every moment the Pod reported Ready, the broker was in every ISR (allowing the
      // metadata of the broker the test asks up to 2 s to catch up with the broker's own).
      const violations = samples.filter((s) => s.ready && s.inIsr === false && !isrLagTolerated(s, samples));
      assert.deepEqual(violations, [], `Ready while out of the ISR: ${JSON.stringify(violations.slice(0, 5))}\n${runner.diagnostics(NAMESPACE, name)}`);
      const last = samples.at(-1)!;
      assert.ok(last.ready && last.inIsr, JSON.stringify(last));
      const readiness = samples.map((s) => s.ready).filter((r, i, all) => i === 0 || all[i - 1] !== r);
      assert.deepEqual(readiness, [true, false, true], 'Ready, NotReady while down and catching up, Ready once in sync');
      assert.deepEqual(runner.problems, []);
    } finally {
      polling = false;
      await poller;
      load.stop = true;
      await loop;
      await producer.disconnect();
      await admin.disconnect();
    }
  });

  test('a controller restarted while the quorum has no leader stays NotReady until a leader exists', { timeout: 240_000 }, async () => {
    // After the wipe above, two voters are alive; with one of them gone there is no majority.
    const q = await ours.describeQuorum();
    const live = q.voters.filter((v) => !q.observers.some((o) => o.id === v.id)).map((v) => v.id);
    assert.equal(live.length, 2, JSON.stringify(q));
    const [gone, restarted] = live.map(controllerPod) as [string, string];
    const desired = await desiredPod(gone);
    const del = await kubeRequest(kube.client, 'DELETE', `/api/v1/namespaces/${NAMESPACE}/pods/${gone}`);
    assert.ok(del.statusCode < 300, del.text);
    await eventually(`${gone} gone`, async () => (await kubeRequest(kube.client, 'GET', `/api/v1/namespaces/${NAMESPACE}/pods/${gone}`)).statusCode === 404 || undefined, 120_000);
    await eventually('no leader', async () => ((await leaderFromControllers()) === undefined ? true : undefined), 60_000);

    const probeLog = `${runner.podDir(NAMESPACE, restarted)}/probes.log`;
    const failures = (): number => (tailFile(probeLog, 1_000_000).match(/readiness: failure/g) ?? []).length;
    const failedBefore = failures();
    const restartsBefore = (await podStatus(restarted)).restarts;
    await runner.kill(NAMESPACE, restarted, 'SIGKILL');
    await eventually(`${restarted} restarted`, async () => ((await podStatus(restarted)).restarts === restartsBefore + 1 ? true : undefined), 60_000);
    // Started again, its probe runs every period and fails: no leader. Two failures in a row.
    const seen: Array<{ ready: boolean; restarts: number }> = [];
    await eventually(`two failed readiness probes of ${restarted}`, async () => {
      seen.push(await podStatus(restarted));
      return failures() >= failedBefore + 2 ? true : undefined;
    }, 90_000);
    assert.ok(seen.every((s) => s.restarts === restartsBefore + 1), JSON.stringify(seen));
    assert.ok(seen.every((s) => !s.ready), `${restarted} was Ready without a leader: ${JSON.stringify(seen)}`);
    assert.equal(await leaderFromControllers(), undefined);

    // The controller recreates the deleted Pod: a majority again, a leader, and both turn Ready.
    const created = await kubeRequest(kube.client, 'POST', `/api/v1/namespaces/${NAMESPACE}/pods`, desired);
    assert.equal(created.statusCode, 201, created.text);
    let readyWithoutLeader = 0;
    await eventually(`${restarted} Ready`, async () => {
      if (!(await podStatus(restarted)).ready) return undefined;
      if ((await leaderWithin(3_000)) === undefined) readyWithoutLeader += 1;
      return true;
    }, 120_000);
    assert.equal(readyWithoutLeader, 0);
    await waitForPodsReady(kube.client, NAMESPACE, [gone, restarted], 120_000, runner);
    assert.deepEqual(runner.problems, []);
  });

  /** A sample out of the ISR while Ready is tolerated only if a sample within 2 s after it shows the broker in the ISR. */
  function isrLagTolerated(s: { at: number }, all: ReadonlyArray<{ at: number; inIsr?: boolean }>): boolean {
    return all.some((o) => o.at > s.at && o.at <= s.at + 2_000 && o.inIsr === true);
  }

  /** acks=all batches, back to back, until stopped; send errors (a leader moving) are counted and retried. */
  async function produce(producer: Producer, topic: string, load: { stop: boolean; acked: number; errors: number }): Promise<void> {
    let n = 0;
    while (!load.stop) {
      const messages = Array.from({ length: 20 }, () => ({ key: String(n % 97), value: `m-${n++}` }));
      try {
        await producer.send({ topic, acks: -1, messages });
        load.acked += messages.length;
      } catch {
        load.errors += 1;
        await sleep(200);
      }
    }
  }

  /** The broker is in the ISR of every partition it is a replica of (kafkajs metadata of all topics). */
  async function inEveryIsr(admin: Admin, broker: number): Promise<boolean> {
    const meta = await admin.fetchTopicMetadata();
    return meta.topics.every((t) => t.partitions.every((p) => !p.replicas.includes(broker) || p.isr.includes(broker)));
  }

  async function partitionCounts(admin: Admin): Promise<Map<string, number>> {
    const meta = await admin.fetchTopicMetadata();
    return new Map(meta.topics.map((t) => [t.name, t.partitions.length] as const).sort(([a], [b]) => a.localeCompare(b)));
  }

  /** id/directory-id of every voter, sorted. */
  function voterKeys(q: QuorumDescription): string[] {
    return q.voters.map((v) => `${v.id}/${v.directoryId}`).sort();
  }

  /** leaderFromControllers, asked again for up to ms (an election may be moving the leadership on). */
  async function leaderWithin(ms: number): Promise<number | undefined> {
    const deadline = Date.now() + ms;
    for (;;) {
      const leader = await leaderFromControllers();
      if (leader !== undefined || Date.now() >= deadline) return leader;
      await sleep(100);
    }
  }

  /** The leader id, asking each controller directly (DescribeQuorum); undefined when none answers with one. */
  async function leaderFromControllers(): Promise<number | undefined> {
    for (const c of CONTROLLERS) {
      let conn: KafkaConnection | undefined;
      try {
        conn = await KafkaConnection.open(await runner.map.address(host(c), 9093), { connectTimeoutMs: 1_000, requestTimeoutMs: 3_000 });
        const res = await conn.send(DescribeQuorum, { topics: [{ topicName: CLUSTER_METADATA_TOPIC, partitions: [0] }] });
        const p = res.topics[0]?.partitions[0];
        if (res.errorCode === 0 && p?.errorCode === 0 && p.leaderId >= 0) return p.leaderId;
      } catch {
        // not listening (yet), or not the leader
      } finally {
        conn?.close();
      }
    }
    return undefined;
  }

  async function readyPods(): Promise<string[]> {
    const res = await kubeRequest(kube.client, 'GET', `/api/v1/namespaces/${NAMESPACE}/pods`);
    return (res.body?.items ?? [])
      .filter((p: any) => p.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'))
      .map((p: any) => p.metadata.name as string);
  }

  async function podStatus(name: string): Promise<{ ready: boolean; restarts: number }> {
    const p = (await kubeRequest(kube.client, 'GET', `/api/v1/namespaces/${NAMESPACE}/pods/${name}`)).body;
    return {
      ready: p?.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True') ?? false,
      restarts: p?.status?.containerStatuses?.[0]?.restartCount ?? -1,
    };
  }

  /** The desired Pod the controller would create: key pod.json of the node's ConfigMap. */
  async function desiredPod(name: string): Promise<any> {
    const cm = await kubeRequest(kube.client, 'GET', `/api/v1/namespaces/${NAMESPACE}/configmaps/${name}`);
    assert.equal(cm.statusCode, 200, cm.text);
    return JSON.parse(cm.body.data[CONFIG_KEY_POD]);
  }

  function envOf(pod: any, name: string): string | undefined {
    return (pod.spec.containers[0].env as Array<{ name: string; value?: string }>).find((e) => e.name === name)?.value;
  }
});
