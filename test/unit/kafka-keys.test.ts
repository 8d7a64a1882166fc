import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  KAFKA_KEYS_VERSION,
  checkValue,
  classifyKey,
  kafkaKey,
  kafkaKeyNames,
  listenerKey,
  removedKey,
  suggestKey,
  type KeyKind,
} from '../../lib/config/kafka-keys.js';

test('the table is for Kafka 4.4 and sorted', () => {
  assert.match(KAFKA_KEYS_VERSION, /^4\.4\./);
  const names = kafkaKeyNames();
  assert.ok(names.length > 300, `${names.length} keys`);
  assert.deepEqual(names, [...names].sort());
});

// Kafka 4.4's own classification (DynamicBrokerConfig), see ConfigTable.java.
const CLASSIFY: ReadonlyArray<readonly [string, KeyKind, string]> = [
  // cluster-wide: allowed on the default broker resource ""
  ['log.retention.ms', 'cluster-wide', 'DynamicLogConfig'],
  ['log.retention.bytes', 'cluster-wide', 'DynamicLogConfig'],
  ['log.segment.bytes', 'cluster-wide', 'DynamicLogConfig'],
  ['log.cleanup.policy', 'cluster-wide', 'DynamicLogConfig'],
  ['min.insync.replicas', 'cluster-wide', 'DynamicLogConfig'],
  ['unclean.leader.election.enable', 'cluster-wide', 'DynamicLogConfig'],
  ['message.max.bytes', 'cluster-wide', 'DynamicLogConfig'],
  ['compression.type', 'cluster-wide', 'DynamicLogConfig'],
  ['num.io.threads', 'cluster-wide', 'DynamicThreadPool'],
  ['num.network.threads', 'cluster-wide', 'DynamicThreadPool / listener config, cluster level'],
  ['background.threads', 'cluster-wide', 'DynamicThreadPool'],
  ['num.replica.fetchers', 'cluster-wide', 'DynamicReplicationConfig'],
  ['log.cleaner.threads', 'cluster-wide', 'LogCleaner'],
  ['max.connections', 'cluster-wide', 'listener config, cluster level'],
  ['max.connections.per.ip', 'cluster-wide', 'SocketServer'],
  ['metric.reporters', 'cluster-wide', 'metric.reporters'],
  ['leader.replication.throttled.rate', 'cluster-wide', 'DynamicQuotaConfig (dynamic only)'],
  // per-broker: only on broker N
  ['listeners', 'per-broker', 'DynamicListenerConfig'],
  ['listener.security.protocol.map', 'per-broker', 'DynamicListenerConfig'],
  ['cordoned.log.dirs', 'per-broker', 'KIP-1066'],
  ['listener.name.internal.ssl.keystore.location', 'per-broker', 'listener-prefixed keystore'],
  ['listener.name.EXTERNAL.ssl.truststore.certificates', 'per-broker', 'listener-prefixed truststore'],
  ['listener.name.client.ssl.key.password', 'per-broker', 'listener-prefixed key password'],
  // cluster-wide listener overrides (CLUSTER_LEVEL_LISTENER_CONFIGS)
  ['listener.name.internal.max.connections', 'cluster-wide', 'CLUSTER_LEVEL_LISTENER_CONFIGS'],
  ['listener.name.internal.num.network.threads', 'cluster-wide', 'CLUSTER_LEVEL_LISTENER_CONFIGS'],
  // read-only: restart
  ['node.id', 'read-only', 'static'],
  ['process.roles', 'read-only', 'static'],
  ['log.dirs', 'read-only', 'static'],
  ['advertised.listeners', 'read-only', 'not dynamic in KRaft'],
  ['controller.quorum.bootstrap.servers', 'read-only', 'static'],
  ['default.replication.factor', 'read-only', 'static'],
  ['auto.create.topics.enable', 'read-only', 'static'],
  ['log.retention.hours', 'read-only', 'only its synonym log.retention.ms is dynamic'],
  ['ssl.keystore.location', 'read-only', 'Kafka refuses the bare keystore key dynamically (listener prefix only)'],
  ['ssl.truststore.password', 'read-only', 'Kafka refuses the bare truststore key dynamically (listener prefix only)'],
  ['ssl.client.auth', 'read-only', 'accepted dynamically but only used by new listeners'],
  ['sasl.enabled.mechanisms', 'read-only', 'accepted dynamically but only used by new listeners'],
  ['listener.name.internal.ssl.client.auth', 'read-only', 'cannot change on an existing listener'],
  ['listener.name.sasl_ssl.plain.sasl.jaas.config', 'read-only', 'cannot change on an existing listener'],
  // unknown: read-only (a restart is always safe)
  ['no.such.key', 'read-only', 'unknown'],
  ['zookeeper.connect', 'read-only', 'removed'],
  ['', 'read-only', 'empty'],
];

for (const [key, kind, why] of CLASSIFY) {
  test(`classifyKey(${JSON.stringify(key)}) is ${kind} (${why})`, () => {
    assert.equal(classifyKey(key), kind);
  });
}

test("the table keeps Kafka's own answer next to the safer classification", () => {
  const ks = kafkaKey('ssl.keystore.location');
  assert.equal(ks?.dynamic, 'read-only');
  assert.equal(ks?.kafkaDocMode, 'per-broker');
  assert.equal(ks?.listenerPrefix, 'per-broker');
  const auth = kafkaKey('ssl.client.auth');
  assert.equal(auth?.dynamic, 'per-broker');
  assert.equal(auth?.newListenersOnly, true);
  assert.equal(kafkaKey('log.retention.hours')?.dynamicSynonym, 'log.retention.ms');
  assert.equal(kafkaKey('leader.replication.throttled.rate')?.dynamicOnly, true);
});

test('kafkaKey gives type, default, validator and importance as Kafka renders them', () => {
  assert.deepEqual(kafkaKey('log.retention.hours'), {
    name: 'log.retention.hours',
    type: 'INT',
    default: '168',
    validValues: null,
    dynamic: 'read-only',
    dynamicSynonym: 'log.retention.ms',
    importance: 'HIGH',
  });
  assert.equal(kafkaKey('log.retention.ms')?.default, null);
  assert.equal(kafkaKey('node.id')?.required, true);
  assert.equal(kafkaKey('log.cleanup.policy')?.validValues, '[compact, delete]');
  assert.equal(kafkaKey('ssl.keystore.password')?.type, 'PASSWORD');
  assert.equal('default' in kafkaKey('ssl.keystore.password')!, false, 'PASSWORD defaults are left out');
  assert.equal(kafkaKey('no.such.key'), undefined);
  assert.equal(kafkaKey('listener.name.internal.ssl.keystore.location'), undefined, 'exact names only');
});

test('listenerKey splits a listener-prefixed key', () => {
  assert.deepEqual(listenerKey('listener.name.internal.ssl.keystore.location'), { listener: 'internal', key: 'ssl.keystore.location' });
  assert.equal(listenerKey('ssl.keystore.location'), undefined);
});

// [key, value, accepted]
const VALUES: ReadonlyArray<readonly [string, string, boolean]> = [
  // INT
  ['num.io.threads', '8', true],
  ['num.io.threads', ' 8 ', true],
  ['num.io.threads', '+8', true],
  ['num.io.threads', 'eight', false],
  ['num.io.threads', '8.5', false],
  ['num.io.threads', '2147483648', false],
  ['num.io.threads', '0', false], // [1,...]
  ['log.retention.hours', '-1', true],
  ['log.retention.hours', '2147483647', true],
  // SHORT
  ['offsets.topic.replication.factor', '3', true],
  ['offsets.topic.replication.factor', 'three', false],
  ['default.replication.factor', 'three', false], // INT
  ['offsets.topic.replication.factor', '32768', false],
  // LONG: 64-bit exact, never through a JS number
  ['log.retention.ms', '9223372036854775807', true],
  ['log.retention.ms', '-9223372036854775808', true],
  ['log.retention.ms', '9223372036854775808', false],
  ['log.retention.ms', '99999999999999999999', false],
  ['log.retention.ms', '1e3', false],
  ['log.flush.interval.messages', '9223372036854775807', true], // [1,...]
  ['log.flush.interval.messages', '0', false],
  // DOUBLE
  ['log.cleaner.min.cleanable.ratio', '0.5', true],
  ['log.cleaner.min.cleanable.ratio', '1', true],
  ['log.cleaner.min.cleanable.ratio', '1.5', false], // [0,...,1]
  ['log.cleaner.min.cleanable.ratio', 'half', false],
  ['log.cleaner.io.buffer.load.factor', '9e-1', true],
  // BOOLEAN
  ['auto.create.topics.enable', 'false', true],
  ['auto.create.topics.enable', 'TRUE', true], // Kafka compares ignoring case
  ['auto.create.topics.enable', 'yes', false],
  ['auto.create.topics.enable', '1', false],
  // LIST
  ['log.cleanup.policy', 'compact,delete', true],
  ['log.cleanup.policy', 'compact, delete', true],
  ['log.cleanup.policy', 'delete', true],
  ['log.cleanup.policy', 'remove', false],
  ['log.cleanup.policy', 'compact,compact', false],
  ['log.cleanup.policy', 'compact,', false],
  ['process.roles', 'broker,controller', true],
  ['process.roles', '', false], // may not be empty
  ['process.roles', 'broker,zookeeper', false],
  ['ssl.enabled.protocols', 'TLSv1.3', true],
  ['metric.reporters', 'org.apache.kafka.common.metrics.JmxReporter', true],
  ['controller.quorum.bootstrap.servers', 'a:9093,b:9093', true],
  // CLASS
  ['principal.builder.class', 'org.example.MyPrincipalBuilder', true],
  ['principal.builder.class', 'org.example.Outer$Inner', true],
  ['principal.builder.class', 'not a class', false],
  ['principal.builder.class', 'org..Bad', false],
  // STRING with a set
  ['compression.type', 'zstd', true],
  ['compression.type', 'brotli', false],
  ['ssl.client.auth', 'required', true],
  ['ssl.client.auth', 'REQUIRED', false], // ValidString is case-sensitive
  ['log.message.timestamp.type', 'LogAppendTime', true],
  // STRING / PASSWORD: anything
  ['ssl.keystore.location', '/etc/kafka/keystore.jks', true],
  ['ssl.keystore.password', 'secret', true],
  // validators that are not a simple range or set are skipped
  ['compression.gzip.level', '-1', true], // "[1,...,9] or -1"
  ['compression.gzip.level', '5', true],
  // listener-prefixed keys are checked as the key they override
  ['listener.name.internal.ssl.client.auth', 'requested', true],
  ['listener.name.internal.ssl.client.auth', 'sometimes', false],
  ['listener.name.internal.max.connections', 'many', false],
  // unknown and removed keys: nothing to check
  ['no.such.key', 'anything', true],
  ['zookeeper.connect', 'zk:2181', true],
];

for (const [key, value, ok] of VALUES) {
  test(`checkValue(${key}, ${JSON.stringify(value)}) ${ok ? 'accepts' : 'refuses'}`, () => {
    const msg = checkValue(key, value);
    if (ok) assert.equal(msg, undefined);
    else {
      assert.equal(typeof msg, 'string');
      assert.ok(msg!.startsWith(`${key} must be `), msg);
      assert.ok(msg!.includes(JSON.stringify(value)), msg);
    }
  });
}

test('checkValue messages say what is allowed', () => {
  assert.equal(checkValue('default.replication.factor', 'three'), 'default.replication.factor must be a 32-bit integer (INT); got "three"');
  assert.equal(
    checkValue('offsets.topic.replication.factor', 'three'),
    'offsets.topic.replication.factor must be a 16-bit integer (SHORT); got "three"',
  );
  assert.equal(
    checkValue('log.retention.ms', '9223372036854775808'),
    'log.retention.ms must be a 64-bit integer (LONG), between -9223372036854775808 and 9223372036854775807; got "9223372036854775808"',
  );
  assert.equal(checkValue('auto.create.topics.enable', 'yes'), 'auto.create.topics.enable must be true or false; got "yes"');
  assert.equal(checkValue('num.io.threads', '0'), 'num.io.threads must be at least 1; got "0"');
  assert.equal(checkValue('log.cleaner.min.cleanable.ratio', '2'), 'log.cleaner.min.cleanable.ratio must be between 0 and 1; got "2"');
  assert.equal(checkValue('log.cleanup.policy', 'remove'), 'log.cleanup.policy must be a comma-separated list of one of compact, delete; got "remove"');
  assert.equal(
    checkValue('compression.type', 'brotli'),
    'compression.type must be one of uncompressed, zstd, lz4, snappy, gzip, producer; got "brotli"',
  );
});

test('removedKey explains keys Kafka 4 removed', () => {
  for (const key of ['zookeeper.connect', 'log.message.format.version', 'inter.broker.protocol.version', 'broker.id.generation.enable', 'control.plane.listener.name']) {
    const why = removedKey(key);
    assert.ok(why, key);
    assert.match(why, /removed/);
    assert.equal(kafkaKey(key), undefined, `${key} is not a Kafka 4.4 key`);
  }
  assert.match(removedKey('inter.broker.protocol.version')!, /metadata/);
  assert.match(removedKey('log.message.timestamp.difference.max.ms')!, /log\.message\.timestamp\.before\.max\.ms/);
  assert.equal(removedKey('log.retention.ms'), undefined);
  assert.equal(removedKey('no.such.key'), undefined);
});

test('suggestKey offers the closest key for a typo, and nothing when far or known', () => {
  assert.equal(suggestKey('log.retention.hour'), 'log.retention.hours');
  assert.equal(suggestKey('log.retension.ms'), 'log.retention.ms');
  assert.equal(suggestKey('num.io.thread'), 'num.io.threads');
  assert.equal(suggestKey('LOG_RETENTION_HOURS'), 'log.retention.hours');
  assert.equal(suggestKey('auto-create-topics-enable'), 'auto.create.topics.enable');
  assert.equal(suggestKey('log.retention.hours'), undefined, 'known');
  assert.equal(suggestKey('zookeeper.connect'), undefined, 'removed: see removedKey');
  assert.equal(suggestKey('completely.unrelated.setting'), undefined);
  assert.equal(suggestKey('x'), undefined);
});
