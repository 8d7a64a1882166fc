/**
 * Proves, against a real 3-controller + 3-broker KRaft cluster of the pinned Kafka version,
 * which admin calls work through kafkajs and through our own typed requests
 * (lib/controller/adapters/kafka). Needs `bash test/bed/install-kafka.sh` first.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import { createKafkaAdmin, type KafkaAdmin } from '../../lib/controller/adapters/kafka/admin.js';
import { KafkaConnection } from '../../lib/controller/adapters/kafka/connection.js';
import { KafkaProtocolError } from '../../lib/controller/adapters/kafka/errors.js';
import { CONFIG_SOURCES, DescribeQuorum, IncrementalAlterConfigs } from '../../lib/controller/adapters/kafka/requests.js';
import { startKafkaCluster, type KafkaCluster } from '../support/kafka-cluster.js';
import { eventually } from '../support/wait.js';
import { createTopicsAndWait } from '../support/topics.js';

const { Kafka, logLevel, ConfigResourceTypes } = kafkajs;
const SOURCE = (name: (typeof CONFIG_SOURCES)[number]): number => CONFIG_SOURCES.indexOf(name);

let cluster: KafkaCluster;
let kafka: InstanceType<typeof Kafka>;
let admin: ReturnType<InstanceType<typeof Kafka>['admin']>;
let ours: KafkaAdmin;


before(async () => {
  const t0 = Date.now();
  cluster = await startKafkaCluster({ controllers: 3, brokers: 3 });
  console.log(`# 3+3 KRaft cluster ready in ${Date.now() - t0} ms (${cluster.bootstrapServers.join(',')})`);
  kafka = new Kafka({ clientId: 'kafka-client-test', brokers: cluster.bootstrapServers, logLevel: logLevel.NOTHING });
  admin = kafka.admin();
  await admin.connect();
  ours = createKafkaAdmin({ brokers: cluster.bootstrapServers, clientId: 'kafka-client-test' });
});

after(async () => {
  await admin?.disconnect().catch(() => undefined);
  await ours?.close().catch(() => undefined);
  await cluster?.close();
});

describe('kafkajs against the pinned Kafka', () => {
  it('metadata: describeCluster lists the 3 brokers, the cluster id and a controller', async () => {
    const c = await admin.describeCluster();
    assert.deepEqual(
      c.brokers.map((b) => b.nodeId).sort(),
      [0, 1, 2],
    );
    assert.equal(c.clusterId, cluster.clusterId);
    assert.ok(c.controller !== null && [0, 1, 2].includes(c.controller), `controller ${c.controller}`);
    for (const b of c.brokers) assert.equal(`${b.host}:${b.port}`, cluster.brokerAddress(b.nodeId));
  });

  it('createTopics RF=3 and metadata shows 3 replicas, full ISR and a leader per partition', async () => {
    await createTopicsAndWait(admin, [{ topic: 'rf3', numPartitions: 3, replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: '2' }] }]);
    const md = await admin.fetchTopicMetadata({ topics: ['rf3'] });
    const parts = md.topics[0]!.partitions;
    assert.equal(parts.length, 3);
    for (const p of parts) {
      assert.equal(p.replicas.length, 3);
      assert.deepEqual([...p.isr].sort(), [0, 1, 2]);
      assert.ok(p.replicas.includes(p.leader));
    }
    assert.ok((await admin.listTopics()).includes('rf3'));
  });

  it('describeConfigs with synonyms: readOnly flag and source of log.dirs vs log.retention.ms', async () => {
    const r = await admin.describeConfigs({ includeSynonyms: true, resources: [{ type: ConfigResourceTypes.BROKER, name: '1', configNames: ['log.dirs', 'log.retention.ms', 'log.cleaner.threads'] }] });
    const entries = new Map(r.resources[0]!.configEntries.map((e) => [e.configName, e]));
    const logDirs = entries.get('log.dirs')!;
    assert.equal(logDirs.readOnly, true);
    assert.equal(logDirs.configSource, SOURCE('STATIC_BROKER_CONFIG'));
    assert.match(logDirs.configValue, /node-1/);
    const retention = entries.get('log.retention.ms')!;
    assert.equal(retention.readOnly, false); // cluster-wide dynamic
    assert.equal(retention.configSource, SOURCE('DEFAULT_CONFIG'));
    // The ms key has no default of its own (value null, no synonyms); the effective retention
    // comes from log.retention.hours=168.
    assert.equal(retention.configValue, null);
    const hours = await admin.describeConfigs({ includeSynonyms: true, resources: [{ type: ConfigResourceTypes.BROKER, name: '1', configNames: ['log.retention.hours'] }] });
    const h = hours.resources[0]!.configEntries[0]!;
    assert.equal(h.configValue, '168');
    assert.equal(h.configSource, SOURCE('DEFAULT_CONFIG'));
    assert.equal(h.readOnly, true); // only log.retention.ms is dynamic; the hours/minutes keys need a restart
    assert.equal(entries.get('log.cleaner.threads')!.readOnly, false);
  });

  it('alterConfigs on broker "1" (legacy: replaces the whole dynamic set) and read back', async () => {
    const set = (entries: { name: string; value: string }[]) =>
      admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.BROKER, name: '1', configEntries: entries }] });
    const read = async () => {
      const r = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.BROKER, name: '1', configNames: ['log.cleaner.threads', 'log.cleaner.io.max.bytes.per.second'] }] });
      return new Map(r.resources[0]!.configEntries.map((e) => [e.configName, e]));
    };
    await set([{ name: 'log.cleaner.threads', value: '2' }, { name: 'log.cleaner.io.max.bytes.per.second', value: '1000000' }]);
    let m = await eventually('dynamic broker config', async () => {
      const x = await read();
      return x.get('log.cleaner.threads')?.configValue === '2' ? x : undefined;
    });
    assert.equal(m.get('log.cleaner.threads')!.configSource, SOURCE('DYNAMIC_BROKER_CONFIG'));
    assert.equal(Number(m.get('log.cleaner.io.max.bytes.per.second')!.configValue), 1000000);
    // Sending only one key drops the other: legacy AlterConfigs is a full replace.
    await set([{ name: 'log.cleaner.threads', value: '3' }]);
    m = await eventually('replaced dynamic set', async () => {
      const x = await read();
      return x.get('log.cleaner.threads')?.configValue === '3' ? x : undefined;
    });
    assert.equal(m.get('log.cleaner.io.max.bytes.per.second')!.configSource, SOURCE('DEFAULT_CONFIG'));
    await set([]);
    await eventually('cleared', async () => ((await read()).get('log.cleaner.threads')?.configSource === SOURCE('DEFAULT_CONFIG') ? true : undefined));
  });

  it('limitation: kafkajs refuses the cluster-wide default resource ""', async () => {
    await assert.rejects(
      admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.BROKER, name: '', configEntries: [{ name: 'log.cleaner.threads', value: '2' }] }] }),
      /Invalid resource name/,
    );
    await assert.rejects(admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.BROKER, name: '' }] }), /Invalid resource name/);
  });

  it('produce with acks=-1 and consume back', async () => {
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const sent = Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: `v${i}` }));
    const res = await producer.send({ topic: 'rf3', acks: -1, messages: sent });
    await producer.disconnect();
    assert.ok(res.every((r) => r.errorCode === 0));
    const consumer = kafka.consumer({ groupId: 'kafka-client-test', sessionTimeout: 10_000, heartbeatInterval: 500 });
    await consumer.connect();
    await consumer.subscribe({ topics: ['rf3'], fromBeginning: true });
    const got: string[] = [];
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`consumed only ${got.length}/20`)), 45_000);
        void consumer.run({
          eachMessage: async ({ message }) => {
            got.push(String(message.value));
            if (got.length === sent.length) {
              clearTimeout(timer);
              resolve();
            }
          },
        });
      });
    } finally {
      await consumer.disconnect();
    }
    assert.deepEqual([...got].sort(), sent.map((m) => m.value).sort());
  });

  it('alterPartitionReassignments moves a replica; listPartitionReassignments sees the move', async () => {
    await createTopicsAndWait(admin, [{ topic: 'moving', replicaAssignment: [{ partition: 0, replicas: [0, 1] }] }]);
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'moving', acks: -1, messages: Array.from({ length: 50 }, (_, i) => ({ value: `m${i}` })) });
    await producer.disconnect();
    // Throttle the move so it is still in progress when we list it.
    await ours.alterBrokerConfigsIncremental(2, [{ name: 'follower.replication.throttled.rate', op: 'SET', value: '1' }]);
    await ours.alterTopicConfigsIncremental('moving', [{ name: 'follower.replication.throttled.replicas', op: 'SET', value: '*' }]);
    await admin.alterPartitionReassignments({ topics: [{ topic: 'moving', partitionAssignment: [{ partition: 0, replicas: [2, 1] }] }] });
    const ongoing = await ours.listPartitionReassignments();
    const mine = ongoing.find((o) => o.topic === 'moving' && o.partition === 0);
    assert.ok(mine, `ongoing: ${JSON.stringify(ongoing)}`);
    assert.deepEqual(mine.addingReplicas, [2]);
    assert.deepEqual(mine.removingReplicas, [0]);
    // Raw kafkajs result too (its typings say {topic, partitionIndex}; it returns {name, partition}).
    const raw = (await admin.listPartitionReassignments({})) as unknown as { topics: { name: string; partitions: { partition: number }[] }[] };
    assert.equal(raw.topics[0]!.name, 'moving');
    // Lift the throttle and watch the replica set become exactly [2, 1].
    await ours.alterBrokerConfigsIncremental(2, [{ name: 'follower.replication.throttled.rate', op: 'DELETE' }]);
    await ours.alterTopicConfigsIncremental('moving', [{ name: 'follower.replication.throttled.replicas', op: 'DELETE' }]);
    const done = await eventually(
      'replica move',
      async () => {
        const md = await admin.fetchTopicMetadata({ topics: ['moving'] });
        const p = md.topics[0]!.partitions[0]!;
        return p.replicas.length === 2 && p.replicas.includes(2) && !p.replicas.includes(0) && p.isr.length === 2 ? p : undefined;
      },
      60_000,
    );
    assert.deepEqual([...done.replicas].sort(), [1, 2]);
    assert.deepEqual(await ours.listPartitionReassignments(), []);
    const offsets = await admin.fetchTopicOffsets('moving');
    assert.equal(offsets[0]!.high, '50');
  });

  it('describeCluster (our adapter, via kafkajs)', async () => {
    const c = await ours.describeCluster();
    assert.equal(c.clusterId, cluster.clusterId);
    assert.deepEqual(
      c.brokers.map((b) => b.nodeId).sort(),
      [0, 1, 2],
    );
    const topics = await ours.describeTopics(['rf3']);
    assert.equal(topics[0]!.partitions.length, 3);
  });
});

describe('our own requests (lib/controller/adapters/kafka)', () => {
  it('ApiVersions negotiation picks the flexible versions of our APIs', async () => {
    const conn = await KafkaConnection.open(cluster.bootstrapServers[0]!, { clientId: 'kafka-client-test' });
    try {
      assert.equal(conn.versionFor(IncrementalAlterConfigs), 1);
      assert.equal(conn.versionFor(DescribeQuorum), 2);
      const range = conn.supportedVersions(IncrementalAlterConfigs.apiKey)!;
      assert.ok(range.maxVersion >= 1);
      // v0 (classic encoding) works too.
      const res = await conn.send(IncrementalAlterConfigs, { resources: [{ type: 'BROKER', name: '0', configs: [{ name: 'log.cleaner.threads', op: 'SET', value: '2' }] }], validateOnly: true }, 0);
      assert.equal(res.responses[0]!.errorCode, 0);
    } finally {
      conn.close();
    }
  });

  it('IncrementalAlterConfigs on "" sets a cluster-wide default, read back as DYNAMIC_DEFAULT_BROKER_CONFIG', async () => {
    await ours.alterBrokerConfigsIncremental('', [{ name: 'log.cleaner.backoff.ms', op: 'SET', value: '20000' }]);
    const def = await eventually('cluster default', async () => {
      const e = (await ours.describeBrokerConfigs('', { names: ['log.cleaner.backoff.ms'] }))[0];
      return e?.value === '20000' ? e : undefined;
    });
    assert.equal(def.source, 'DYNAMIC_DEFAULT_BROKER_CONFIG');
    // Every broker now sees it, with the default as the winning synonym.
    for (const id of [0, 1, 2]) {
      const e = await eventually(`broker ${id} sees the default`, async () => {
        const x = (await ours.describeBrokerConfigs(id, { names: ['log.cleaner.backoff.ms'] }))[0];
        return x?.value === '20000' ? x : undefined;
      });
      assert.equal(e.source, 'DYNAMIC_DEFAULT_BROKER_CONFIG');
      assert.deepEqual(
        e.synonyms.map((s) => s.source),
        ['DYNAMIC_DEFAULT_BROKER_CONFIG', 'DEFAULT_CONFIG'],
      );
    }
    // Listing the whole default resource only shows dynamic defaults.
    const all = await ours.describeBrokerConfigs('');
    assert.ok(all.length >= 1 && all.every((e) => e.source === 'DYNAMIC_DEFAULT_BROKER_CONFIG'), JSON.stringify(all.map((e) => [e.name, e.source])));
  });

  it('IncrementalAlterConfigs per broker: SET overrides the default on one broker only, DELETE reverts', async () => {
    await ours.alterBrokerConfigsIncremental(1, [{ name: 'log.cleaner.backoff.ms', op: 'SET', value: '30000' }]);
    const b1 = await eventually('broker 1 override', async () => {
      const x = (await ours.describeBrokerConfigs(1, { names: ['log.cleaner.backoff.ms'] }))[0];
      return x?.value === '30000' ? x : undefined;
    });
    assert.equal(b1.source, 'DYNAMIC_BROKER_CONFIG');
    assert.deepEqual(
      b1.synonyms.map((s) => [s.source, s.value]),
      [
        ['DYNAMIC_BROKER_CONFIG', '30000'],
        ['DYNAMIC_DEFAULT_BROKER_CONFIG', '20000'],
        ['DEFAULT_CONFIG', '15000'],
      ],
    );
    assert.equal((await ours.describeBrokerConfigs(0, { names: ['log.cleaner.backoff.ms'] }))[0]!.value, '20000');
    await ours.alterBrokerConfigsIncremental(1, [{ name: 'log.cleaner.backoff.ms', op: 'DELETE' }]);
    await eventually('broker 1 back to default', async () => {
      const x = (await ours.describeBrokerConfigs(1, { names: ['log.cleaner.backoff.ms'] }))[0];
      return x?.value === '20000' && x.source === 'DYNAMIC_DEFAULT_BROKER_CONFIG' ? true : undefined;
    });
    await ours.alterBrokerConfigsIncremental('', [{ name: 'log.cleaner.backoff.ms', op: 'DELETE' }]);
    await eventually('cluster default removed', async () => {
      const x = (await ours.describeBrokerConfigs(2, { names: ['log.cleaner.backoff.ms'] }))[0];
      return x?.source === 'DEFAULT_CONFIG' && x.value === '15000' ? true : undefined;
    });
  });

  it('IncrementalAlterConfigs APPEND / SUBTRACT on a list config (cluster default log.cleanup.policy)', async () => {
    await ours.alterBrokerConfigsIncremental('', [{ name: 'log.cleanup.policy', op: 'APPEND', value: 'compact' }]);
    await eventually('append', async () => ((await ours.describeBrokerConfigs('', { names: ['log.cleanup.policy'] }))[0]?.value === 'delete,compact' ? true : undefined));
    await ours.alterBrokerConfigsIncremental('', [{ name: 'log.cleanup.policy', op: 'SUBTRACT', value: 'delete' }]);
    await eventually('subtract', async () => ((await ours.describeBrokerConfigs('', { names: ['log.cleanup.policy'] }))[0]?.value === 'compact' ? true : undefined));
    await ours.alterBrokerConfigsIncremental('', [{ name: 'log.cleanup.policy', op: 'DELETE' }]);
    await eventually('delete', async () => ((await ours.describeBrokerConfigs('', { names: ['log.cleanup.policy'] })).length === 0 ? true : undefined));
  });

  it('errors map to named KafkaProtocolErrors (bad value, read-only key, validateOnly changes nothing)', async () => {
    await assert.rejects(
      ours.alterBrokerConfigsIncremental(0, [{ name: 'log.cleaner.threads', op: 'SET', value: 'abc' }]),
      (e: unknown) => e instanceof KafkaProtocolError && e.type === 'INVALID_REQUEST' && e.code === 42 && /BROKER "0"/.test(e.message) && /Not a number/.test(e.serverMessage ?? ''),
    );
    await assert.rejects(ours.alterBrokerConfigsIncremental(0, [{ name: 'log.dirs', op: 'SET', value: '/nope' }]), (e: unknown) => {
      assert.ok(e instanceof KafkaProtocolError, String(e));
      assert.ok(['INVALID_CONFIG', 'INVALID_REQUEST'].includes(e.type), e.message);
      return true;
    });
    await ours.alterBrokerConfigsIncremental(0, [{ name: 'log.cleaner.threads', op: 'SET', value: '2' }], { validateOnly: true });
    assert.equal((await ours.describeBrokerConfigs(0, { names: ['log.cleaner.threads'] }))[0]!.source, 'DEFAULT_CONFIG');
    await assert.rejects(ours.describeBrokerConfigs(7), (e: unknown) => e instanceof KafkaProtocolError && e.type === 'BROKER_NOT_AVAILABLE');
  });

  it('describeConfigs (ours) agrees with kafkajs on readOnly and source, and carries config types', async () => {
    const mine = new Map((await ours.describeBrokerConfigs(2, { names: ['log.dirs', 'log.retention.ms', 'num.io.threads'] })).map((e) => [e.name, e]));
    assert.equal(mine.get('log.dirs')!.readOnly, true);
    assert.equal(mine.get('log.dirs')!.source, 'STATIC_BROKER_CONFIG');
    assert.equal(mine.get('log.dirs')!.type, 'LIST');
    assert.equal(mine.get('log.retention.ms')!.readOnly, false);
    assert.equal(mine.get('log.retention.ms')!.type, 'LONG');
    assert.equal(mine.get('num.io.threads')!.source, 'STATIC_BROKER_CONFIG');
    const topic = await ours.describeTopicConfigs('rf3', { names: ['min.insync.replicas'] });
    assert.equal(topic[0]!.value, '2');
    assert.equal(topic[0]!.source, 'DYNAMIC_TOPIC_CONFIG');
  });

  it('describeQuorum: 3 voters, a leader among them, brokers as observers, lag', async () => {
    const q = await eventually('quorum caught up', async () => {
      const x = await ours.describeQuorum();
      return x.observers.length === 3 ? x : undefined;
    });
    assert.deepEqual(
      q.voters.map((v) => v.id).sort(),
      [9000, 9001, 9002],
    );
    assert.ok(q.voters.some((v) => v.id === q.leaderId), `leader ${q.leaderId}`);
    assert.ok(q.leaderEpoch >= 1);
    assert.ok(q.highWatermark > 0);
    assert.equal(q.voters.find((v) => v.id === q.leaderId)!.lag, 0);
    for (const v of q.voters) assert.ok(v.logEndOffset > 0 && v.lag >= 0);
    assert.deepEqual(
      q.observers.map((o) => o.id).sort(),
      [0, 1, 2],
    );
    // v2 lists every voter's CONTROLLER endpoint.
    assert.deepEqual(
      q.nodes.map((n) => n.nodeId).sort(),
      [9000, 9001, 9002],
    );
    const leaderEndpoint = q.nodes.find((n) => n.nodeId === q.leaderId)!.listeners.find((l) => l.name === 'CONTROLLER')!;
    assert.ok(cluster.controllerBootstrapServers.includes(`${leaderEndpoint.host}:${leaderEndpoint.port}`));
    // Straight to the controllers: the leader answers, the others say NOT_LEADER_OR_FOLLOWER.
    for (const addr of cluster.controllerBootstrapServers) {
      const conn = await KafkaConnection.open(addr);
      try {
        const res = await conn.send(DescribeQuorum, { topics: [{ topicName: '__cluster_metadata', partitions: [0] }] });
        assert.equal(res.errorCode, 0);
        const p = res.topics[0]!.partitions[0]!;
        if (addr === `${leaderEndpoint.host}:${leaderEndpoint.port}`) {
          assert.equal(p.errorCode, 0);
          assert.equal(p.leaderId, q.leaderId);
          assert.equal(p.currentVoters.length, 3);
        } else {
          assert.equal(p.errorCode, 6, `${addr}: ${JSON.stringify(p)}`); // NOT_LEADER_OR_FOLLOWER
        }
      } finally {
        conn.close();
      }
    }
  });

  it('test bed: a killed broker restarts with its data and rejoins', async () => {
    await cluster.kill(2);
    await cluster.waitForBrokers(2, 30_000);
    await cluster.start(2);
    await cluster.waitForBrokers(3, 60_000);
    const isr = await eventually(
      'broker 2 back in ISR',
      async () => {
        const md = await admin.fetchTopicMetadata({ topics: ['rf3'] });
        return md.topics[0]!.partitions.every((p) => p.isr.length === 3) ? true : undefined;
      },
      60_000,
    );
    assert.equal(isr, true);
  });
});
