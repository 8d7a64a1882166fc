/**
 * A Kafka cluster of our own output on the test bed, for the controller's proofs and
 * benchmarks: the real API server (with the controller-manager), the pod runner running
 * every Pod's real command and probes, a spec synthesized by lib/ and applied as GitOps
 * would (Pods and PVCs only created, never updated), and the runtime controller as its own
 * process with its ServiceAccount's token.
 */
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { synthCluster } from '../../lib/synth.js';
import { isReady } from '../../lib/controller/reconciler.js';
import { createKafkaAdmin, type KafkaAdmin } from '../../lib/controller/adapters/kafka/admin.js';
import { ANNOTATION_DESIRED_HASH, LABEL_CREATE_ONLY } from '../../lib/render/metadata.js';
import { applyManifests, kubeRequest, toObjects } from './kube-apply.js';
import { startKubeApiServer, type KubeApiServer } from './kube-server.js';
import { PodRunner, restartBrokersWithoutController, waitForPodsReady } from './pod-runner.js';
import { ControllerProcess } from './controller-process.js';
import { eventually, sleep } from './wait.js';

export { eventually, sleep };

export interface BedCluster {
  readonly kube: KubeApiServer;
  readonly runner: PodRunner;
  readonly namespace: string;
  readonly name: string;
  readonly pods: readonly string[];
  readonly brokers: readonly string[];
  readonly controllers: readonly string[];
  readonly bootstrap: readonly string[];
  readonly admin: KafkaAdmin;
  readonly kafka: Kafka;
  /** Applies a spec's output as a GitOps tool does: every object except existing create-only ones. */
  apply(spec: Record<string, unknown>): Promise<void>;
  startController(opts?: { alertmanagerUrl?: string; failureThreshold?: number; identity?: string }): Promise<ControllerProcess>;
  /** Creates a topic (RF 3) and waits until every partition has a leader in the brokers' metadata. */
  createTopic(name: string, partitions: number): Promise<void>;
  /** Pod name → { uid, ready, hash } now. */
  podStates(): Promise<Map<string, PodSample>>;
  /** true when every Pod of `spec`'s output runs at its desired hash and is Ready; undefined otherwise (for eventually()). */
  upToDate(spec: Record<string, unknown>): Promise<true | undefined>;
  close(): Promise<void>;
}

export interface PodSample {
  readonly uid: string;
  readonly ready: boolean;
  readonly hash: string;
  readonly restarts: number;
  readonly annotations: Record<string, string>;
}

export async function startBedCluster(spec: Record<string, unknown>): Promise<BedCluster> {
  const namespace = spec.namespace as string;
  const name = spec.name as string;
  const kube = await startKubeApiServer();
  const runner = await PodRunner.start({ kube: kube.client, namespace });
  const controllers: string[] = [];
  const brokers: string[] = [];
  let admin: KafkaAdmin | undefined;
  const close = async (): Promise<void> => {
    await admin?.close();
    await runner.close();
    await kube.close();
  };
  try {
    const first = synthCluster(spec);
    await applyManifests(kube.client, first.yaml, { fieldManager: 'gitops' });
    for (const o of toObjects(first.yaml)) {
      if (o.kind !== 'Pod') continue;
      ((o.metadata.labels as Record<string, string>)['kafka-cdk8s.io/pool'] === 'controller' ? controllers : brokers).push(o.metadata.name);
    }
    const pods = [...controllers, ...brokers];
    await waitForPodsReady(kube.client, namespace, pods, 240_000, runner);
    const bootstrap = await Promise.all(brokers.map((b) => runner.map.address(`${b}.${namespace}.svc.cluster.local`, 9092)));
    await restartBrokersWithoutController(runner, kube.client, namespace, brokers.map((pod, i) => ({ pod, address: bootstrap[i]! })));
    admin = createKafkaAdmin({ brokers: bootstrap, clientId: 'bed-cluster', requestTimeoutMs: 5_000 });
    const kafka = new Kafka({ clientId: 'bed-cluster', brokers: bootstrap, logLevel: logLevel.NOTHING, retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 } });
    const podStates = async (): Promise<Map<string, PodSample>> => {
      // Every node Pod of the cluster, also of nodes added or removed since it started.
      const res = await kubeRequest(kube.client, 'GET', `/api/v1/namespaces/${namespace}/pods?labelSelector=${encodeURIComponent(`kafka-cdk8s.io/cluster=${name},kafka-cdk8s.io/node-id`)}`);
      const out = new Map<string, PodSample>();
      for (const p of res.body?.items ?? []) {
        out.set(p.metadata.name, {
          uid: p.metadata.uid,
          ready: isReady(p),
          hash: p.metadata.annotations?.[ANNOTATION_DESIRED_HASH] ?? '',
          restarts: p.status?.containerStatuses?.[0]?.restartCount ?? 0,
          annotations: p.metadata.annotations ?? {},
        });
      }
      return out;
    };
    return {
      kube, runner, namespace, name, pods, brokers, controllers, bootstrap, admin, kafka, podStates, close,
      async upToDate(spec) {
        const want = toObjects(synthCluster(spec).yaml).filter((o) => o.kind === 'Pod')
          .map((o) => [o.metadata.name, (o.metadata.annotations as Record<string, string>)[ANNOTATION_DESIRED_HASH]] as const);
        const now = await podStates();
        return want.every(([n, h]) => now.get(n)?.hash === h && now.get(n)?.ready) || undefined;
      },
      async apply(next) {
        // Create-only objects (Pods, claims) only when missing; everything else applied.
        const out = synthCluster(next);
        const existing = new Set<string>();
        for (const kind of ['pods', 'persistentvolumeclaims']) {
          const res = await kubeRequest(kube.client, 'GET', `/api/v1/namespaces/${namespace}/${kind}`);
          for (const o of res.body?.items ?? []) existing.add(`${kind === 'pods' ? 'Pod' : 'PersistentVolumeClaim'}/${o.metadata.name}`);
        }
        const objects = toObjects(out.yaml).filter((o) => !((o.metadata.labels as Record<string, string> | undefined)?.[LABEL_CREATE_ONLY] && existing.has(`${o.kind}/${o.metadata.name}`)));
        await applyManifests(kube.client, objects, { fieldManager: 'gitops' });
      },
      async createTopic(topic, partitions) {
        // Our adapter waits for every partition's leader itself (not kafkajs's flaky wait).
        await admin!.createTopics([{ name: topic, partitions, replicationFactor: 3 }], { timeoutMs: 60_000 });
      },
      startController: (opts = {}) => ControllerProcess.start({
        kube: kube.client, server: kube.url, caData: kube.caData, namespace, cluster: name, bootstrap, ...opts,
      }),
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * Writes with acks=all until stopped. Each message names its partition, and counts as
 * acknowledged only when the answer holds that partition without error: kafkajs resolves
 * send() even when it skipped partitions whose leader its metadata did not know.
 */
export function produceUntilStopped(producer: Producer, topic: string, partitions: number): { acked: Set<string>; where: Map<string, string>; skipped: number; errors: number; stop(): Promise<void> } {
  const state = { acked: new Set<string>(), where: new Map<string, string>(), skipped: 0, errors: 0, stopped: false };
  let seq = 0;
  const loop = (async () => {
    while (!state.stopped) {
      const batch = Array.from({ length: 20 }, () => ({ value: `m-${seq}`, partition: seq++ % partitions }));
      try {
        const meta = await producer.send({ topic, acks: -1, messages: batch.map(({ value, partition }) => ({ key: value, value, partition })) });
        const ok = new Map(meta.filter((m) => m.errorCode === 0).map((m) => [m.partition, m.baseOffset]));
        for (const m of batch) {
          if (ok.has(m.partition)) {
            state.acked.add(m.value);
            state.where.set(m.value, `${m.partition}@>=${ok.get(m.partition)} acked ${new Date().toISOString()}`);
          } else state.skipped++;
        }
      } catch {
        state.errors++;
        await sleep(100);
      }
    }
  })();
  return {
    acked: state.acked,
    where: state.where,
    get skipped() {
      return state.skipped;
    },
    get errors() {
      return state.errors;
    },
    async stop() {
      state.stopped = true;
      await loop;
    },
  };
}

/** Where consumeAll found each value (partition@offset), for failure messages. */
export const seenAt = new Map<string, string>();
/** What consumeAll read at each partition@offset. */
export const readAt = new Map<string, string>();

/** Reads a topic from the beginning until `expected` values are all seen (or the timeout). */
export async function consumeAll(kafka: Kafka, topic: string, expected: ReadonlySet<string>, timeoutMs = 60_000): Promise<Set<string>> {
  const seen = new Set<string>();
  const consumer = kafka.consumer({ groupId: `verify-${topic}-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message, partition }) => {
    const v = message.value?.toString() ?? '';
    seen.add(v);
    seenAt.set(v, `${partition}@${message.offset}`);
    readAt.set(`${partition}@${message.offset}`, v);
  } });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && [...expected].some((v) => !seen.has(v))) await sleep(250);
  await consumer.disconnect();
  return seen;
}
