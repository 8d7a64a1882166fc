/**
 * Proves lib/render/envoy-config.ts with the real Envoy (test/bed/install-envoy.sh) and a
 * real Kafka: every rendered shape passes `envoy --mode validate` (dynamic files included);
 * a kafkajs client given only Envoy's bootstrap port produces and consumes through the
 * per-broker ports; and a broker added to (then removed from) the dynamic files, written
 * the way the kubelet updates a ConfigMap volume, is picked up by the running Envoy without
 * a restart and without closing the connections on the other brokers' ports.
 * Needs `bash test/bed/install-kafka.sh` and `bash test/bed/install-envoy.sh` first.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import { ENVOY_FILES, renderEnvoyBootstrap, renderEnvoyClusters, renderEnvoyListeners, type EnvoyRouting } from '../../lib/render/envoy-config.js';
import { ENVOY_DYNAMIC_DIR } from '../../lib/constructs/envoy-ingress.js';
import { loadSpecFile } from '../../lib/spec/load.js';
import { synthClusters } from '../../lib/synth.js';
import { writeAtomicDir } from '../support/atomic-dir.js';
import { startEnvoy, validateEnvoyFiles, type EnvoyHandle } from '../support/envoy.js';
import { toObjects } from '../support/kube-apply.js';
import { HOST, startKafkaCluster, type KafkaCluster } from '../support/kafka-cluster.js';
import { ONCE } from '../support/once.js';
import { allocatePorts } from '../support/ports.js';
import { eventually, sleep } from '../support/wait.js';

const { Kafka, logLevel } = kafkajs;
const CLUSTER = 'demo';
/** Partitions on brokers 0 and 1 only: reachable while Envoy routes just those two. */
const HELD_TOPIC = 'held';
/** One partition led by broker 2: reachable only once Envoy routes broker 2. */
const BROKER2_TOPIC = 'on-broker-2';

describe('Envoy in front of Kafka', ONCE, () => {
  const dir = mkdtempSync(join(tmpdir(), 'kafka-cdk8s-envoy-test-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('accepts every rendered shape: one broker, several, ids with gaps', async () => {
    const shapes: Record<string, number[]> = { one: [0], three: [0, 1, 2], gaps: [0, 3, 7, 12] };
    for (const [shape, ids] of Object.entries(shapes)) {
      const r: EnvoyRouting = {
        clusterName: 'demo.kafka',
        brokers: ids.map((id) => ({ id, listenPort: 32_000 + id, upstream: { host: `demo-broker-${id}.kafka.svc.cluster.local`, port: 9094 } })),
        bootstrapPort: 31_999,
        healthPort: 31_998,
        adminPort: 31_997,
        dynamicDir: join(dir, shape, 'dynamic'),
      };
      const files = { bootstrap: join(dir, shape, ENVOY_FILES.bootstrap), listeners: join(r.dynamicDir, ENVOY_FILES.listeners), clusters: join(r.dynamicDir, ENVOY_FILES.clusters) };
      writeAtomicDir(r.dynamicDir, { [ENVOY_FILES.listeners]: renderEnvoyListeners(r), [ENVOY_FILES.clusters]: renderEnvoyClusters(r) });
      writeFileSync(files.bootstrap, renderEnvoyBootstrap(r));
      await validateEnvoyFiles(files);
    }
  });

  it('accepts every file the EnvoyIngress construct emits for examples/external-envoy.yaml', async () => {
    const objects = toObjects(synthClusters(loadSpecFile(new URL('../../examples/external-envoy.yaml', import.meta.url).pathname))[0]!.yaml);
    const data = (name: string) => objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === name)!.data as Record<string, string>;
    const bootstrap = data('edge-envoy');
    const routes = data('edge-envoy-routes');
    assert.deepEqual(Object.keys(bootstrap), [ENVOY_FILES.bootstrap]);
    assert.deepEqual(Object.keys(routes).sort(), [ENVOY_FILES.clusters, ENVOY_FILES.listeners].sort());
    // Written where the Deployment mounts them would be /etc/envoy/...; here a temp dir, the bootstrap's paths moved along.
    const base = join(dir, 'construct');
    const dynamicDir = join(base, 'dynamic');
    writeAtomicDir(dynamicDir, routes);
    const files = { bootstrap: join(base, ENVOY_FILES.bootstrap), listeners: join(dynamicDir, ENVOY_FILES.listeners), clusters: join(dynamicDir, ENVOY_FILES.clusters) };
    assert.ok(bootstrap[ENVOY_FILES.bootstrap]!.includes(ENVOY_DYNAMIC_DIR));
    writeFileSync(files.bootstrap, bootstrap[ENVOY_FILES.bootstrap]!.replaceAll(ENVOY_DYNAMIC_DIR, dynamicDir));
    await validateEnvoyFiles(files);
  });

  describe('with a real Kafka', () => {
    let cluster: KafkaCluster;
    let envoy: EnvoyHandle;
    let routingFor: (ids: readonly number[]) => EnvoyRouting;
    let externalBase: number;
    let bootstrapAddress: string;
    const dynamicDir = join(dir, 'live', 'dynamic');
    const writeRouting = (ids: readonly number[]): void => {
      const r = routingFor(ids);
      writeAtomicDir(dynamicDir, { [ENVOY_FILES.listeners]: renderEnvoyListeners(r), [ENVOY_FILES.clusters]: renderEnvoyClusters(r) });
    };

    before(async () => {
      const t0 = Date.now();
      // externalStartingPort + brokerId must be free for ids 0..2: a run of 3 consecutive ports.
      externalBase = await consecutivePorts(3);
      const [bootstrapPort, healthPort, adminPort] = await allocatePorts(3);
      cluster = await startKafkaCluster({
        combined: true,
        brokers: 3,
        extraListeners: [{ name: 'EXTERNAL', protocol: 'PLAINTEXT', advertise: (id) => ({ host: HOST, port: externalBase + id }) }],
      });
      console.log(`# 3-node combined cluster ready in ${Date.now() - t0} ms; Envoy ports ${externalBase}+id, bootstrap ${bootstrapPort}`);
      routingFor = (ids) => ({
        clusterName: CLUSTER,
        brokers: ids.map((id) => ({ id, listenPort: externalBase + id, upstream: { host: HOST, port: cluster.node(id).listenerPorts.EXTERNAL! } })),
        bootstrapPort: bootstrapPort!,
        healthPort: healthPort!,
        adminPort: adminPort!,
        dynamicDir,
      });
      bootstrapAddress = `${HOST}:${bootstrapPort}`;
      // Topics through the cluster's own PLAINTEXT listener: setup, not what is proven.
      const admin = new Kafka({ clientId: 'envoy-test-setup', brokers: cluster.bootstrapServers, logLevel: logLevel.NOTHING }).admin();
      await admin.connect();
      try {
        await admin.createTopics({
          topics: [
            { topic: HELD_TOPIC, replicaAssignment: [{ partition: 0, replicas: [0] }, { partition: 1, replicas: [1] }] },
            { topic: BROKER2_TOPIC, replicaAssignment: [{ partition: 0, replicas: [2] }] },
          ],
        });
        // Leaders polled by hand: createTopics' waitForLeaders is flaky.
        await eventually('topic leaders', async () => {
          const md = await admin.fetchTopicMetadata({ topics: [HELD_TOPIC, BROKER2_TOPIC] });
          const leaders = md.topics.flatMap((t) => t.partitions.map((p) => `${t.name}/${p.partitionId}@${p.leader}`)).sort();
          return leaders.join(',') === [`${BROKER2_TOPIC}/0@2`, `${HELD_TOPIC}/0@0`, `${HELD_TOPIC}/1@1`].sort().join(',') ? true : undefined;
        }, 30_000);
      } finally {
        await admin.disconnect();
      }
      writeRouting([0, 1]);
      const bootstrapFile = join(dir, 'live', ENVOY_FILES.bootstrap);
      writeFileSync(bootstrapFile, renderEnvoyBootstrap(routingFor([0, 1])));
      envoy = await startEnvoy({ bootstrapFile, adminPort: adminPort!, drainTimeS: 2 });
      console.log(`# Envoy ready ${Date.now() - t0} ms after the start`);
    });

    after(async () => {
      await envoy?.stop();
      await cluster?.close();
    });

    it('serves a broker added to and removed from the mounted files without a restart or a dropped connection', async () => {
      const sockets = new SocketLog();
      const client = (id: string) => new Kafka({ clientId: id, brokers: [bootstrapAddress], logLevel: logLevel.NOTHING, socketFactory: sockets.factory(id) });
      const envoyPorts = new Set([Number(bootstrapAddress.split(':')[1]), externalBase, externalBase + 1, externalBase + 2]);

      // Held while the files change: a producer that keeps producing, and raw connections.
      const held = client('held').producer({ allowAutoTopicCreation: false, idempotent: false, retry: { retries: 0 } });
      await held.connect();
      const produced: string[] = [];
      const errors: string[] = [];
      // Sends every 50 ms until the returned stop() (retries 0: a failure is recorded, not hidden).
      const keepProducing = (prefix: string): (() => Promise<void>) => {
        let on = true;
        const done = (async () => {
          for (let i = 0; on; i++) {
            const value = `${prefix}${i}`;
            try {
              await held.send({ topic: HELD_TOPIC, messages: [{ partition: i % 2, value }] });
              produced.push(value);
            } catch (e) {
              errors.push(`${value}: ${(e as Error).message}`);
            }
            await sleep(50);
          }
        })();
        return async () => {
          on = false;
          await done;
        };
      };
      let stopProducing = keepProducing('m');
      const raw = await Promise.all([externalBase, externalBase + 1].map((port) => HeldConnection.open(port)));
      for (const c of raw) await c.apiVersions();
      await eventually('the held producer to reach both brokers', async () => (produced.length >= 4 ? true : undefined), 20_000);
      const heldSockets = sockets.of('held');
      assert.ok(heldSockets.some((s) => s.port === externalBase) && heldSockets.some((s) => s.port === externalBase + 1), `held producer sockets: ${JSON.stringify(heldSockets)}`);

      const destroyed = async () => {
        const s = await envoy.stats('downstream_cx_destroy');
        return [0, 1].map((id) => s.get(`listener.broker-${id}.downstream_cx_destroy`) ?? -1);
      };
      const active = await envoy.stats('downstream_cx_active');
      for (const id of [0, 1]) {
        // The raw connection and the held producer's, both through Envoy.
        assert.ok((active.get(`listener.broker-${id}.downstream_cx_active`) ?? 0) >= 2, `listener.broker-${id}.downstream_cx_active`);
      }
      const destroyedBefore = await destroyed();
      const uptime = async () => Number(String((await envoy.serverInfo()).uptime_current_epoch).replace(/s$/, ''));
      const uptimeBefore = await uptime();

      // Add broker 2: only the dynamic files change, swapped like the kubelet does.
      writeRouting([0, 1, 2]);
      await eventually('Envoy to list broker-2', async () => {
        const [listeners, clusters] = await Promise.all([envoy.listeners(), envoy.clusters()]);
        return listeners.some((l) => l.name === 'broker-2' && l.port === externalBase + 2) && clusters.includes('broker-2') ? true : undefined;
      }, 15_000);
      assert.ok(envoy.running, 'the same Envoy process is still running');
      assert.ok((await uptime()) >= uptimeBefore, 'uptime went on: no restart');
      const s = await envoy.stats('server.hot_restart_epoch');
      assert.equal(s.get('server.hot_restart_epoch'), 0);
      // Nothing else touched broker 0/1's ports since the snapshot: no connection closed there.
      assert.deepEqual(await destroyed(), destroyedBefore);

      // The new port proxies to broker 2; a client knowing only the bootstrap port reads everything back.
      const producer = client('new').producer({ allowAutoTopicCreation: false, idempotent: false });
      await producer.connect();
      await producer.send({ topic: BROKER2_TOPIC, messages: [{ partition: 0, value: 'to-broker-2' }] });
      await producer.disconnect();
      const stats = await envoy.stats('tcp.demo.broker-2.downstream_cx_total');
      assert.ok((stats.get('tcp.demo.broker-2.downstream_cx_total') ?? 0) >= 1, 'the produce to broker 2 went through its Envoy port');

      await stopProducing();
      const consumed = await consumeAll(client('reader'), [HELD_TOPIC, BROKER2_TOPIC], produced.length + 1);
      assert.deepEqual(consumed.get(BROKER2_TOPIC), ['to-broker-2']);
      assert.deepEqual([...(consumed.get(HELD_TOPIC) ?? [])].sort(), [...produced].sort());
      assert.deepEqual([...errors], [], 'the held producer never failed');
      const strays = sockets.all().filter((x) => !envoyPorts.has(x.port));
      assert.deepEqual(strays, [], 'kafkajs connected to Envoy ports only');
      stopProducing = keepProducing('n');

      // Remove broker 2 again: its listener goes, the others' connections stay.
      writeRouting([0, 1]);
      await eventually('Envoy to drop broker-2', async () => ((await envoy.listeners()).some((l) => l.name === 'broker-2') ? undefined : true), 15_000);
      await eventually('broker-2\'s port to refuse connections', async () => ((await canConnect(externalBase + 2)) ? undefined : true), 15_000);
      await sleep(500); // a few more sends through the held connections after the swap
      await stopProducing();
      assert.deepEqual([...errors], [], 'the held producer never failed');

      for (const c of raw) await c.apiVersions(); // the raw connections still reach their brokers
      for (const c of raw) assert.equal(c.closed, false, `raw connection to ${c.port} was closed`);
      // The held producer never lost nor replaced a connection to broker 0 or 1.
      assert.deepEqual(sockets.of('held').filter((x) => x.closed), []);
      assert.deepEqual(sockets.of('held').map((x) => x.port).filter((p) => p !== Number(bootstrapAddress.split(':')[1])).sort(), [externalBase, externalBase + 1]);
      assert.ok(envoy.running);
      const lm = await envoy.stats('listener_manager.listener_');
      assert.equal(lm.get('listener_manager.listener_added'), 4 + 1, 'health, bootstrap, broker-0, broker-1 at start, then broker-2');
      assert.equal(lm.get('listener_manager.listener_removed'), 1);
      assert.equal(lm.get('listener_manager.listener_modified'), 0, 'broker-0/1 listeners never replaced');

      await held.disconnect();
      for (const c of raw) c.close();
    });

    it('answers the LB health check on the health port until told to fail', async () => {
      const health = `http://${HOST}:${routingFor([]).healthPort}/healthz`;
      assert.equal((await fetch(health)).status, 200);
      await fetch(`http://${HOST}:${envoy.adminPort}/healthcheck/fail`, { method: 'POST' });
      assert.equal((await fetch(health)).status, 503);
      await fetch(`http://${HOST}:${envoy.adminPort}/healthcheck/ok`, { method: 'POST' });
      assert.equal((await fetch(health)).status, 200);
    });
  });
});

/** Base of `count` consecutive free ports (the per-broker ports are base + broker id). */
async function consecutivePorts(count: number): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    // The allocator hands out ports round robin, so a batch is usually one run.
    const ports = await allocatePorts(count);
    if (ports.every((p, i) => p === ports[0]! + i)) return ports[0]!;
  }
  throw new Error(`no run of ${count} consecutive free ports`);
}

async function canConnect(port: number): Promise<boolean> {
  return await new Promise((res) => {
    const s = connect({ host: HOST, port });
    s.once('connect', () => {
      s.destroy();
      res(true);
    });
    s.once('error', () => res(false));
  });
}

/** Every socket kafkajs opened, by client, and whether it was closed. */
class SocketLog {
  private readonly entries: Array<{ client: string; port: number; closed: boolean }> = [];
  factory(client: string): kafkajs.ISocketFactory {
    return ({ host, port, onConnect }) => {
      const entry = { client, port, closed: false };
      this.entries.push(entry);
      const socket = connect({ host, port }, onConnect);
      socket.setKeepAlive(true, 60_000);
      socket.once('close', () => (entry.closed = true));
      return socket;
    };
  }
  of(client: string) {
    return this.entries.filter((e) => e.client === client).map(({ port, closed }) => ({ port, closed }));
  }
  all() {
    return this.entries.map(({ client, port }) => ({ client, port }));
  }
}

/** A raw Kafka connection through an Envoy port that sends ApiVersions v0 now and then. */
class HeldConnection {
  closed = false;
  private buffer = Buffer.alloc(0);
  private waiting?: { correlationId: number; resolve: (errorCode: number) => void };
  private correlationId = 0;

  private constructor(readonly port: number, private readonly socket: Socket) {
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => undefined); // 'close' follows and is what the test checks
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      while (this.buffer.length >= 4 && this.buffer.length >= 4 + this.buffer.readInt32BE(0)) {
        const size = this.buffer.readInt32BE(0);
        const frame = this.buffer.subarray(4, 4 + size);
        this.buffer = this.buffer.subarray(4 + size);
        if (this.waiting?.correlationId === frame.readInt32BE(0)) this.waiting.resolve(frame.readInt16BE(4));
      }
    });
  }

  static open(port: number): Promise<HeldConnection> {
    return new Promise((res, rej) => {
      const socket = connect({ host: HOST, port }, () => res(new HeldConnection(port, socket)));
      socket.once('error', rej);
    });
  }

  /** One ApiVersions v0 round trip; rejects after 5 s or on an error code. */
  async apiVersions(): Promise<void> {
    const correlationId = ++this.correlationId;
    const clientId = Buffer.from('envoy-test-raw');
    const body = Buffer.alloc(10 + clientId.length);
    body.writeInt16BE(18, 0); // ApiVersions
    body.writeInt16BE(0, 2);
    body.writeInt32BE(correlationId, 4);
    body.writeInt16BE(clientId.length, 8);
    clientId.copy(body, 10);
    const size = Buffer.alloc(4);
    size.writeInt32BE(body.length);
    const answer = new Promise<number>((resolve) => (this.waiting = { correlationId, resolve }));
    this.socket.write(Buffer.concat([size, body]));
    let timer: NodeJS.Timeout | undefined;
    const errorCode = await Promise.race([answer, new Promise<never>((_, rej) => (timer = setTimeout(() => rej(new Error(`no ApiVersions answer through port ${this.port}`)), 5_000)))]);
    clearTimeout(timer);
    assert.equal(errorCode, 0, `ApiVersions through port ${this.port}`);
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Reads `want` messages from the topics from the beginning; values by topic. */
async function consumeAll(kafka: InstanceType<typeof Kafka>, topics: string[], want: number): Promise<Map<string, string[]>> {
  const consumer = kafka.consumer({ groupId: `envoy-test-${Date.now()}`, allowAutoTopicCreation: false });
  const got = new Map<string, string[]>();
  let count = 0;
  await consumer.connect();
  try {
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic, message }) => {
        got.set(topic, [...(got.get(topic) ?? []), message.value?.toString() ?? '']);
        count++;
      },
    });
    await eventually(`${want} messages through Envoy`, async () => (count >= want ? true : undefined), 30_000, () => `got ${count}`);
  } finally {
    await consumer.disconnect();
  }
  return got;
}
