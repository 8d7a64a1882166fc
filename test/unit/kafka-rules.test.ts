/**
 * Kafka 4.4's cross-key and custom value rules (lib/config/kafka-rules.ts): for each rule a config
 * Kafka refuses (with the exact message) and one it accepts; then how validation reports them per
 * node and per layer. The verdicts were checked against the Kafka 4.4 jars (KafkaConfig, plus
 * LogManager's LogConfig checks and the RemoteLogManager for broker-start rules).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkKafkaRules, kafkaRuleSources, type KafkaRole, type KafkaRuleContext } from '../../lib/config/kafka-rules.js';
import { validateSpec } from '../../lib/spec/validate.js';

type Config = Record<string, string>;
interface Case {
  /** Kafka's class enforcing it. */
  readonly source: string;
  readonly bad: Config;
  /** [message, keys involved] Kafka's refusal, as kafka-cdk8s says it; a second one when the bad value breaks two rules. */
  readonly problem: readonly [string, readonly string[]];
  readonly also?: readonly [string, readonly string[]];
  readonly good: Config;
  readonly roles?: readonly KafkaRole[];
  readonly context?: KafkaRuleContext;
}

const DEF = "Kafka's default";
const TIERED = { 'remote.log.storage.system.enable': 'true', 'remote.log.storage.manager.class.name': 'com.example.Rsm' };

const CASES: readonly Case[] = [
  // kafka.server.KafkaConfig.validateValues
  {
    source: 'KafkaConfig.validateValues',
    bad: { 'log.roll.ms': '0' },
    problem: ['log.roll.ms=0 must be greater than or equal to 1 (it overrides log.roll.hours)', ['log.roll.ms']],
    good: { 'log.roll.ms': '1', 'log.roll.hours': '1' },
  },
  {
    source: 'KafkaConfig.validateValues',
    bad: { 'log.roll.jitter.ms': '-1' },
    problem: ['log.roll.jitter.ms=-1 must be greater than or equal to 0 (it overrides log.roll.jitter.hours)', ['log.roll.jitter.ms']],
    good: { 'log.roll.jitter.ms': '0' },
  },
  {
    source: 'KafkaConfig.validateValues (retention from hours)',
    bad: { 'log.retention.hours': '0' },
    problem: ['log.retention.hours=0 gives a retention time of 0 ms; log.retention.ms must be unlimited (-1) or, greater than or equal to 1 '
      + '(Kafka takes log.retention.ms, else log.retention.minutes, else log.retention.hours; a negative value means unlimited)', ['log.retention.hours']],
    // log.retention.ms wins over the hours; a negative value is unlimited
    good: { 'log.retention.hours': '0', 'log.retention.ms': '-5' },
  },
  {
    source: 'KafkaConfig.validateValues (retention from minutes)',
    bad: { 'log.retention.minutes': '0', 'log.retention.hours': '5' },
    problem: ['log.retention.minutes=0 gives a retention time of 0 ms; log.retention.ms must be unlimited (-1) or, greater than or equal to 1 '
      + '(Kafka takes log.retention.ms, else log.retention.minutes, else log.retention.hours; a negative value means unlimited)', ['log.retention.minutes']],
    good: { 'log.retention.minutes': '-1', 'log.retention.hours': '0' },
  },
  {
    source: 'KafkaConfig.validateValues (retention in ms)',
    bad: { 'log.retention.ms': '0', 'log.retention.hours': '1' },
    problem: ['log.retention.ms=0 must be unlimited (-1) or, greater than or equal to 1', ['log.retention.ms']],
    good: { 'log.retention.ms': '1' },
  },
  {
    source: 'KafkaConfig.validateValues (dedupe buffer over 0 threads)',
    bad: { 'log.cleaner.threads': '0' },
    problem: ['log.cleaner.threads=0 makes Kafka fail at start ("/ by zero": it divides log.cleaner.dedupe.buffer.size by the number of cleaner threads); '
      + 'log.cleaner.threads must be at least 1', ['log.cleaner.threads']],
    good: { 'log.cleaner.threads': '127' },
  },
  {
    source: 'KafkaConfig.validateValues (dedupe buffer per thread)',
    bad: { 'log.cleaner.threads': '128' },
    problem: [`log.cleaner.dedupe.buffer.size must be at least 1MB per cleaner thread (more than 1048576 bytes each): log.cleaner.dedupe.buffer.size=134217728 (${DEF}) `
      + 'over log.cleaner.threads=128 gives 1048576', ['log.cleaner.threads', 'log.cleaner.dedupe.buffer.size']],
    good: { 'log.cleaner.threads': '2', 'log.cleaner.dedupe.buffer.size': '2097154' },
  },
  {
    source: 'KafkaConfig.validateValues',
    bad: { 'replica.socket.timeout.ms': '499' },
    problem: [`replica.socket.timeout.ms=499 must be at least replica.fetch.wait.max.ms (500, ${DEF}) to prevent unnecessary socket timeouts`,
      ['replica.socket.timeout.ms', 'replica.fetch.wait.max.ms']],
    good: { 'replica.socket.timeout.ms': '500' },
  },
  {
    source: 'KafkaConfig.validateValues',
    bad: { 'replica.lag.time.max.ms': '0' },
    problem: [`replica.lag.time.max.ms=0 must be at least replica.fetch.wait.max.ms (500, ${DEF}) to prevent frequent changes in ISR`,
      ['replica.lag.time.max.ms', 'replica.fetch.wait.max.ms']],
    good: { 'replica.lag.time.max.ms': '100', 'replica.fetch.wait.max.ms': '100' },
  },
  {
    source: 'KafkaConfig.validateValues',
    bad: { 'queued.max.request.bytes': '1000' },
    problem: [`queued.max.request.bytes=1000 must be at least socket.request.max.bytes (104857600, ${DEF}); a queued.max.request.bytes of 0 or less means no limit`,
      ['queued.max.request.bytes', 'socket.request.max.bytes']],
    good: { 'queued.max.request.bytes': '0' },
  },
  {
    source: 'KafkaConfig.validateValues (AbstractKafkaConfig.getMap)',
    bad: { 'max.connections.per.ip.overrides': 'h:1,,g:2' },
    problem: ['max.connections.per.ip.overrides="h:1,,g:2" must be a comma-separated list of <host or IP>:<limit> entries; "" has no \':\' '
      + "(Kafka: Error parsing configuration property 'max.connections.per.ip.overrides')", ['max.connections.per.ip.overrides']],
    // Java's split drops trailing empty entries; an empty host is a valid pattern
    good: { 'max.connections.per.ip.overrides': 'host-1:10, 10.0.0.1:5, fe80::1:3, :4,' },
  },
  {
    source: 'KafkaConfig.validateValues (maxConnectionsPerIpOverrides)',
    bad: { 'max.connections.per.ip.overrides': 'h:99999999999' },
    problem: ['max.connections.per.ip.overrides=h:99999999999 must be a comma-separated list of <host or IP>:<limit> entries; '
      + 'the limit in "h:99999999999" must be a whole number (a 32-bit integer) '
      + "(Kafka: Error parsing configuration property 'max.connections.per.ip.overrides')", ['max.connections.per.ip.overrides']],
    good: { 'max.connections.per.ip.overrides': 'h:-5' },
  },
  {
    source: 'KafkaConfig.validateValues (Utils.validHostPattern)',
    bad: { 'max.connections.per.ip.overrides': 'bad host:3' },
    problem: ['max.connections.per.ip.overrides="bad host:3" contains invalid addresses: "bad host" (a host or IP may hold letters, digits and - % . _ : only)',
      ['max.connections.per.ip.overrides']],
    good: { 'max.connections.per.ip.overrides': 'good-host.example.com:3' },
  },
  {
    source: 'KafkaConfig.validateValues',
    bad: { 'max.connections.per.ip': '0', 'max.connections.per.ip.overrides': '' },
    problem: ['max.connections.per.ip=0: max.connections.per.ip can be set to zero only if max.connections.per.ip.overrides is set (it is empty)',
      ['max.connections.per.ip', 'max.connections.per.ip.overrides']],
    good: { 'max.connections.per.ip': '0', 'max.connections.per.ip.overrides': 'admin-host:5' },
  },
  {
    source: 'KafkaConfig.validateValues',
    bad: { 'connection.failed.authentication.delay.ms': '600000' },
    problem: [`connection.failed.authentication.delay.ms=600000 must be less than connections.max.idle.ms (600000, ${DEF}) to prevent failed authentication responses from timing out`,
      ['connection.failed.authentication.delay.ms', 'connections.max.idle.ms']],
    // a negative idle time turns the check off
    good: { 'connection.failed.authentication.delay.ms': '600000', 'connections.max.idle.ms': '-1' },
  },
  {
    source: 'KafkaConfig.validateCordonedLogDirs',
    bad: { 'cordoned.log.dirs': '*,/var/lib/kafka/data-0/kafka-log' },
    problem: ['cordoned.log.dirs="*,/var/lib/kafka/data-0/kafka-log": when cordoned.log.dirs is set to *, it must not contain other values', ['cordoned.log.dirs']],
    good: { 'cordoned.log.dirs': '*' },
  },
  {
    source: 'KafkaConfig.validateCordonedLogDirs',
    bad: { 'cordoned.log.dirs': '/data/kafka-log, /var/lib/kafka/data-0/kafka-log' },
    problem: ['cordoned.log.dirs="/data/kafka-log, /var/lib/kafka/data-0/kafka-log": all entries in cordoned.log.dirs must be present in log.dirs '
      + "(/var/lib/kafka/data-0/kafka-log,/var/lib/kafka/data-1/kafka-log, from the node's volumes); missing: /data/kafka-log", ['cordoned.log.dirs']],
    good: { 'cordoned.log.dirs': '/var/lib/kafka/data-1/kafka-log' },
    context: { logDirs: ['/var/lib/kafka/data-0/kafka-log', '/var/lib/kafka/data-1/kafka-log'] },
  },
  // kafka.server.KafkaConfig.<init>
  {
    source: 'KafkaConfig.<init>',
    bad: { 'group.coordinator.rebalance.protocols': 'consumer,streams' },
    problem: ['group.coordinator.rebalance.protocols="consumer,streams" must include classic: disabling the \'classic\' protocol is not supported',
      ['group.coordinator.rebalance.protocols']],
    good: { 'group.coordinator.rebalance.protocols': 'classic' },
  },
  // org.apache.kafka.coordinator.group.GroupCoordinatorConfig
  ...groupCases('consumer'),
  ...groupCases('share'),
  ...groupCases('streams'),
  {
    source: 'GroupCoordinatorConfig.verifyStreamsGroupConfigs',
    bad: { 'group.streams.num.standby.replicas': '3' },
    problem: [`group.streams.num.standby.replicas=3 must be at most group.streams.max.standby.replicas (2, ${DEF})`,
      ['group.streams.num.standby.replicas', 'group.streams.max.standby.replicas']],
    good: { 'group.streams.num.standby.replicas': '3', 'group.streams.max.standby.replicas': '3' },
  },
  {
    source: 'GroupCoordinatorConfig.verifyStreamsGroupConfigs',
    bad: { 'group.streams.min.task.offset.interval.ms': '60001' },
    problem: [`group.streams.min.task.offset.interval.ms=60001 must be at most group.streams.task.offset.interval.ms (60000, ${DEF})`,
      ['group.streams.min.task.offset.interval.ms', 'group.streams.task.offset.interval.ms']],
    good: { 'group.streams.min.task.offset.interval.ms': '60000' },
  },
  {
    source: 'GroupCoordinatorConfig.verifyStreamsGroupConfigs',
    bad: { 'group.streams.num.warmup.replicas': '21' },
    problem: [`group.streams.num.warmup.replicas=21 must be at most group.streams.max.warmup.replicas (20, ${DEF})`,
      ['group.streams.num.warmup.replicas', 'group.streams.max.warmup.replicas']],
    good: { 'group.streams.num.warmup.replicas': '20' },
  },
  {
    source: 'GroupCoordinatorConfig.consumerGroupAssignors',
    bad: { 'group.consumer.assignors': 'uniform,roundrobin' },
    problem: ['group.consumer.assignors="uniform,roundrobin": "roundrobin" is neither a built-in assignor (uniform, range) nor a fully qualified class name; '
      + 'Kafka would try to load it as a class (Class cannot be found)', ['group.consumer.assignors']],
    good: { 'group.consumer.assignors': 'range,com.example.MyAssignor' },
  },
  {
    source: 'GroupCoordinatorConfig.consumerGroupAssignors',
    bad: { 'group.consumer.assignors': 'range,org.apache.kafka.coordinator.group.assignor.RangeAssignor' },
    problem: ['group.consumer.assignors="range,org.apache.kafka.coordinator.group.assignor.RangeAssignor": assignor name \'range\' is already registered '
      + 'by another configured assignor; assignor names must be unique', ['group.consumer.assignors']],
    good: { 'group.consumer.assignors': 'uniform,org.apache.kafka.coordinator.group.assignor.RangeAssignor' },
  },
  {
    source: 'GroupCoordinatorConfig.verifyShareGroupConfigs',
    bad: { 'group.share.assignors': 'simple,com.example.Other' },
    problem: ['group.share.assignors="simple,com.example.Other" must contain exactly one assignor, but found 2', ['group.share.assignors']],
    good: { 'group.share.assignors': 'org.apache.kafka.coordinator.group.assignor.SimpleAssignor' },
  },
  {
    source: 'GroupCoordinatorConfig.streamsGroupAssignors',
    bad: { 'group.streams.assignors': 'balanced' },
    problem: ['group.streams.assignors=balanced: "balanced" is neither a built-in assignor (sticky) nor a fully qualified class name; '
      + 'Kafka would try to load it as a class (Class cannot be found)', ['group.streams.assignors']],
    good: { 'group.streams.assignors': 'sticky' },
  },
  {
    source: 'GroupCoordinatorConfig.<init>',
    bad: { 'offsets.topic.compression.codec': '5' },
    problem: ['offsets.topic.compression.codec=5 must be a compression type id: 0 (none), 1 (gzip), 2 (snappy), 3 (lz4) or 4 (zstd) (Kafka: Unknown compression type id: 5)',
      ['offsets.topic.compression.codec']],
    good: { 'offsets.topic.compression.codec': '4' },
  },
  // org.apache.kafka.coordinator.group.modern.share.ShareGroupConfig
  ...shareGroupCases(),
  // org.apache.kafka.coordinator.share.ShareCoordinatorConfig
  {
    source: 'ShareCoordinatorConfig.<init>',
    bad: { 'share.coordinator.state.topic.compression.codec': '-1' },
    problem: ['share.coordinator.state.topic.compression.codec=-1 must be a compression type id: 0 (none), 1 (gzip), 2 (snappy), 3 (lz4) or 4 (zstd) '
      + '(Kafka: Unknown compression type id: -1)', ['share.coordinator.state.topic.compression.codec']],
    good: { 'share.coordinator.state.topic.compression.codec': '0' },
  },
  // broker start: LogManager.apply (LogConfig)
  {
    source: 'LogConfig.validateValues',
    bad: { 'log.cleaner.max.compaction.lag.ms': '5', 'log.cleaner.min.compaction.lag.ms': '10' },
    problem: ['log.cleaner.min.compaction.lag.ms=10 must be at most log.cleaner.max.compaction.lag.ms (5) '
      + '(Kafka: conflict topic config setting min.compaction.lag.ms > max.compaction.lag.ms)',
    ['log.cleaner.min.compaction.lag.ms', 'log.cleaner.max.compaction.lag.ms']],
    good: { 'log.cleaner.max.compaction.lag.ms': '5', 'log.cleaner.min.compaction.lag.ms': '5' },
  },
  {
    source: 'LogConfig.<init> (flush.ms)',
    bad: { 'log.flush.scheduler.interval.ms': '-1' },
    problem: ['log.flush.scheduler.interval.ms=-1 must be at least 0: with log.flush.interval.ms unset, it is the topic default flush.ms (Kafka: Value must be at least 0)',
      ['log.flush.scheduler.interval.ms']],
    // log.flush.interval.ms, when set, is the topic default instead
    good: { 'log.flush.scheduler.interval.ms': '-1', 'log.flush.interval.ms': '0' },
  },
  {
    source: 'LogConfig.<init> (flush.ms)',
    bad: { 'log.flush.interval.ms': '-1' },
    problem: ['log.flush.interval.ms=-1 must be at least 0: it is the topic default flush.ms (Kafka: Value must be at least 0)', ['log.flush.interval.ms']],
    good: { 'log.flush.interval.ms': '-1' },
    roles: ['controller'],
  },
  {
    source: 'LogConfig.validateRemoteStorageRetentionSize',
    bad: { ...TIERED, 'log.retention.bytes': '100', 'log.local.retention.bytes': '-1' },
    problem: ['log.local.retention.bytes=-1 (unlimited) must not exceed log.retention.bytes (100) when remote.log.storage.system.enable=true '
      + '(Kafka: Value must not be -1 as retention.bytes value is set as 100)',
    ['log.local.retention.bytes', 'log.retention.bytes', 'remote.log.storage.system.enable']],
    good: { ...TIERED, 'log.retention.bytes': '100', 'log.local.retention.bytes': '100' },
  },
  {
    source: 'LogConfig.validateRemoteStorageRetentionSize',
    bad: { ...TIERED, 'log.retention.bytes': '100', 'log.local.retention.bytes': '101' },
    problem: ['log.local.retention.bytes=101 must be at most log.retention.bytes (100) when remote.log.storage.system.enable=true '
      + '(Kafka: Value must not be more than retention.bytes property value: 100)',
    ['log.local.retention.bytes', 'log.retention.bytes', 'remote.log.storage.system.enable']],
    // without tiered storage Kafka does not compare them
    good: { 'log.retention.bytes': '100', 'log.local.retention.bytes': '101' },
  },
  {
    source: 'LogConfig.validateRemoteStorageRetentionTime',
    bad: { ...TIERED, 'log.retention.hours': '1', 'log.local.retention.ms': '-1' },
    problem: ['log.local.retention.ms=-1 (unlimited) must not exceed the retention time, log.retention.hours (1) = 3600000 ms, when remote.log.storage.system.enable=true '
      + '(Kafka: Value must not be -1 as retention.ms value is set as 3600000)',
    ['log.local.retention.ms', 'log.retention.hours', 'remote.log.storage.system.enable']],
    good: { ...TIERED, 'log.retention.hours': '-1', 'log.local.retention.ms': '-1' },
  },
  {
    source: 'LogConfig.validateRemoteStorageRetentionTime',
    bad: { ...TIERED, 'log.local.retention.ms': '604800001' },
    problem: [`log.local.retention.ms=604800001 must be at most the retention time, log.retention.hours (168, ${DEF}) = 604800000 ms, `
      + 'when remote.log.storage.system.enable=true (Kafka: Value must not be more than retention.ms property value: 604800000)',
    ['log.local.retention.ms', 'remote.log.storage.system.enable', 'log.retention.hours']],
    good: { ...TIERED, 'log.local.retention.ms': '604800000' },
  },
  // broker start: RemoteLogManager
  {
    source: 'RemoteLogManager.createRemoteStorageManager',
    bad: { 'remote.log.storage.system.enable': 'true' },
    problem: ['remote.log.storage.system.enable=true needs remote.log.storage.manager.class.name (unset): the broker loads that class to reach the remote storage',
      ['remote.log.storage.system.enable', 'remote.log.storage.manager.class.name']],
    good: TIERED,
  },
];

/** GroupCoordinatorConfig's min <= value <= max and heartbeat < session rules of one kind of group. */
function groupCases(kind: 'consumer' | 'share' | 'streams'): Case[] {
  const source = `GroupCoordinatorConfig.verify${kind}GroupConfigs`;
  const k = (name: string) => `group.${kind}.${name}`;
  return [
    {
      source,
      bad: { [k('max.heartbeat.interval.ms')]: '4999' },
      problem: [`${k('max.heartbeat.interval.ms')}=4999 must be at least ${k('min.heartbeat.interval.ms')} (5000, ${DEF})`,
        [k('max.heartbeat.interval.ms'), k('min.heartbeat.interval.ms')]],
      // min <= max follows from min <= value <= max, so breaking it breaks one of those too
      also: [`${k('max.heartbeat.interval.ms')}=4999 must be at least ${k('heartbeat.interval.ms')} (5000, ${DEF})`,
        [k('max.heartbeat.interval.ms'), k('heartbeat.interval.ms')]],
      good: { [k('max.heartbeat.interval.ms')]: '5000' },
    },
    {
      source,
      bad: { [k('min.heartbeat.interval.ms')]: '6000' },
      problem: [`${k('min.heartbeat.interval.ms')}=6000 must be at most ${k('heartbeat.interval.ms')} (5000, ${DEF})`,
        [k('min.heartbeat.interval.ms'), k('heartbeat.interval.ms')]],
      good: { [k('min.heartbeat.interval.ms')]: '1000' },
    },
    {
      source,
      bad: { [k('heartbeat.interval.ms')]: '15001', [k('session.timeout.ms')]: '50000' },
      problem: [`${k('heartbeat.interval.ms')}=15001 must be at most ${k('max.heartbeat.interval.ms')} (15000, ${DEF})`,
        [k('heartbeat.interval.ms'), k('max.heartbeat.interval.ms')]],
      good: { [k('heartbeat.interval.ms')]: '15000' },
    },
    {
      source,
      bad: { [k('min.session.timeout.ms')]: '60001', [k('session.timeout.ms')]: '60001' },
      problem: [`${k('min.session.timeout.ms')}=60001 must be at most ${k('max.session.timeout.ms')} (60000, ${DEF})`,
        [k('min.session.timeout.ms'), k('max.session.timeout.ms')]],
      also: [`${k('session.timeout.ms')}=60001 must be at most ${k('max.session.timeout.ms')} (60000, ${DEF})`,
        [k('session.timeout.ms'), k('max.session.timeout.ms')]],
      good: { [k('min.session.timeout.ms')]: '60000', [k('session.timeout.ms')]: '60000' },
    },
    {
      source,
      bad: { [k('session.timeout.ms')]: '44999' },
      problem: [`${k('session.timeout.ms')}=44999 must be at least ${k('min.session.timeout.ms')} (45000, ${DEF})`,
        [k('session.timeout.ms'), k('min.session.timeout.ms')]],
      good: { [k('session.timeout.ms')]: '45000' },
    },
    {
      source,
      bad: { [k('session.timeout.ms')]: '60001' },
      problem: [`${k('session.timeout.ms')}=60001 must be at most ${k('max.session.timeout.ms')} (60000, ${DEF})`,
        [k('session.timeout.ms'), k('max.session.timeout.ms')]],
      good: { [k('session.timeout.ms')]: '60000', [k('max.session.timeout.ms')]: '60000' },
    },
    {
      source,
      bad: { [k('heartbeat.interval.ms')]: '6000', [k('session.timeout.ms')]: '6000', [k('min.session.timeout.ms')]: '1000' },
      problem: [`${k('heartbeat.interval.ms')}=6000 must be less than ${k('session.timeout.ms')} (6000)`,
        [k('heartbeat.interval.ms'), k('session.timeout.ms')]],
      good: { [k('heartbeat.interval.ms')]: '5999', [k('session.timeout.ms')]: '6000', [k('min.session.timeout.ms')]: '1000' },
    },
    {
      source,
      bad: { [k('max.assignment.interval.ms')]: '10', [k('assignment.interval.ms')]: '10', [k('min.assignment.interval.ms')]: '11' },
      problem: [`${k('max.assignment.interval.ms')}=10 must be at least ${k('min.assignment.interval.ms')} (11)`,
        [k('max.assignment.interval.ms'), k('min.assignment.interval.ms')]],
      also: [`${k('assignment.interval.ms')}=10 must be at least ${k('min.assignment.interval.ms')} (11)`,
        [k('assignment.interval.ms'), k('min.assignment.interval.ms')]],
      good: { [k('max.assignment.interval.ms')]: '10', [k('assignment.interval.ms')]: '10', [k('min.assignment.interval.ms')]: '10' },
    },
    {
      source,
      bad: { [k('assignment.interval.ms')]: '0', [k('min.assignment.interval.ms')]: '1' },
      problem: [`${k('assignment.interval.ms')}=0 must be at least ${k('min.assignment.interval.ms')} (1)`,
        [k('assignment.interval.ms'), k('min.assignment.interval.ms')]],
      good: { [k('assignment.interval.ms')]: '0' },
    },
    {
      source,
      bad: { [k('assignment.interval.ms')]: '15001' },
      problem: [`${k('assignment.interval.ms')}=15001 must be at most ${k('max.assignment.interval.ms')} (15000, ${DEF})`,
        [k('assignment.interval.ms'), k('max.assignment.interval.ms')]],
      good: { [k('assignment.interval.ms')]: '15000' },
    },
  ];
}

/** ShareGroupConfig.validate: [larger key, value, smaller key, value] pairs; every value within its own range. */
function shareGroupCases(): Case[] {
  const pairs: ReadonlyArray<readonly [string, number, string, number]> = [
    ['group.share.max.delivery.count.limit', 6, 'group.share.delivery.count.limit', 7],
    ['group.share.delivery.count.limit', 3, 'group.share.min.delivery.count.limit', 4],
    ['group.share.max.partition.max.record.locks', 3000, 'group.share.partition.max.record.locks', 3500],
    ['group.share.partition.max.record.locks', 1500, 'group.share.min.partition.max.record.locks', 1800],
    ['group.share.record.lock.duration.ms', 20000, 'group.share.min.record.lock.duration.ms', 25000],
    ['group.share.max.record.lock.duration.ms', 40000, 'group.share.record.lock.duration.ms', 50000],
    ['group.share.max.share.sessions', 199, 'group.share.max.size', 200],
  ];
  return pairs.map(([large, low, small, high]) => ({
    source: 'ShareGroupConfig.validate',
    bad: { [large]: String(low), [small]: String(high) },
    problem: [`${large}=${low} must be at least ${small} (${high})`, [large, small]],
    good: { [large]: String(high), [small]: String(high) },
  }));
}

for (const c of CASES) {
  const roles = c.roles ?? ['broker'];
  const expected = [c.problem, ...(c.also ? [c.also] : [])].map(([message, keys]) => ({ message, keys: [...keys] }));
  test(`${c.source}: refuses ${JSON.stringify(c.bad)}, accepts ${JSON.stringify(c.good)}`, () => {
    // A case for another role: the bad config is refused on a broker, the good one accepted on that role.
    const badRoles = roles.includes('broker') ? roles : ['broker'] as const;
    assert.deepEqual(checkKafkaRules(c.bad, badRoles, c.context), expected);
    assert.deepEqual(checkKafkaRules(c.good, roles, c.context), []);
  });
}

test("Kafka's defaults break no rule, on any role", () => {
  for (const roles of [['broker'], ['controller'], ['broker', 'controller']] as const) {
    assert.deepEqual(checkKafkaRules({}, roles, { logDirs: ['/var/lib/kafka/data-0/kafka-log'] }), []);
  }
});

test('a rule is skipped when one of its values does not parse (checkValue reports that one)', () => {
  assert.deepEqual(checkKafkaRules({ 'replica.lag.time.max.ms': 'soon', 'replica.fetch.wait.max.ms': '40000' }, ['broker']).map((p) => p.keys), [
    ['replica.fetch.wait.max.ms', 'replica.socket.timeout.ms'],
  ]);
  assert.deepEqual(checkKafkaRules({ 'log.retention.ms': 'x', 'log.retention.hours': '0' }, ['broker']), []);
});

test('64-bit values compare exactly', () => {
  const max = '9223372036854775807';
  assert.deepEqual(checkKafkaRules({ 'log.cleaner.min.compaction.lag.ms': max, 'log.cleaner.max.compaction.lag.ms': '9223372036854775806' }, ['broker']).length, 1);
  assert.deepEqual(checkKafkaRules({ 'log.cleaner.min.compaction.lag.ms': max, 'log.cleaner.max.compaction.lag.ms': max }, ['broker']), []);
  assert.deepEqual(checkKafkaRules({ 'replica.lag.time.max.ms': max, 'replica.fetch.wait.max.ms': '2147483647', 'replica.socket.timeout.ms': '2147483647' }, ['broker']), []);
});

test('broker-start rules apply to brokers (combined nodes included), not to dedicated controllers', () => {
  const config = { 'log.flush.interval.ms': '-1', 'cordoned.log.dirs': '*,x', 'remote.log.storage.system.enable': 'true' };
  assert.equal(checkKafkaRules(config, ['broker']).length, 3);
  assert.equal(checkKafkaRules(config, ['broker', 'controller']).length, 3);
  assert.deepEqual(checkKafkaRules(config, ['controller']), []);
});

test('every rule names the Kafka class it comes from', () => {
  const sources = kafkaRuleSources();
  for (const cls of ['kafka.server.KafkaConfig.validateValues', 'kafka.server.KafkaConfig.<init>', 'GroupCoordinatorConfig', 'ShareGroupConfig.validate',
    'ShareCoordinatorConfig', 'LogConfig.validateValues', 'LogConfig.<init>', 'RemoteLogManager']) {
    assert.ok(sources.some((s) => s.includes(cls)), `no rule from ${cls}`);
  }
});

// ---- wired into validation: per node, per layer ----

const RF1 = {
  'offsets.topic.replication.factor': 1, 'transaction.state.log.replication.factor': 1, 'transaction.state.log.min.isr': 1,
  'share.coordinator.state.topic.replication.factor': 1,
};
const problems = (spec: unknown) => validateSpec(spec).map((p) => `${p.path}: ${p.message}`);

test('validation reports a broken rule once, at the layer that set the first key involved', () => {
  const lag = `replica.lag.time.max.ms=100 must be at least replica.fetch.wait.max.ms (500, ${DEF}) to prevent frequent changes in ISR`;
  assert.deepEqual(problems({
    name: 'c', config: { ...RF1, 'replica.lag.time.max.ms': 100 }, brokers: [{ id: 0 }, { id: 1 }, { id: 2 }],
  }), [
    `config["replica.lag.time.max.ms"]: ${lag}`,
  ]);
  // set by a group: reported at the group, once for all its brokers
  assert.deepEqual(problems({
    name: 'c', config: RF1, brokerGroups: { slow: { config: { 'replica.lag.time.max.ms': 100 } } },
    brokers: [{ id: 0, group: 'slow' }, { id: 1, group: 'slow' }, { id: 2 }],
  }), [
    `brokerGroups.slow.config["replica.lag.time.max.ms"]: ${lag}`,
  ]);
  // a broker overrides the group's value; the other key comes from the cluster
  assert.deepEqual(problems({
    name: 'c', config: { ...RF1, 'replica.fetch.wait.max.ms': 200 }, brokerGroups: { default: { config: { 'replica.lag.time.max.ms': 300 } } },
    brokers: [{ id: 0 }, { id: 1, config: { 'replica.lag.time.max.ms': 100 } }],
  }), [
    'brokers[1].config["replica.lag.time.max.ms"]: replica.lag.time.max.ms=100 must be at least replica.fetch.wait.max.ms (200) to prevent frequent changes in ISR',
  ]);
});

test('dedicated controllers are checked with the cluster and controllers config; broker-start rules only on brokers', () => {
  assert.deepEqual(problems({
    name: 'c', config: { ...RF1, 'log.flush.interval.ms': -1 }, controllers: { config: { 'group.consumer.session.timeout.ms': 1000 } },
    brokers: [{ id: 0, config: { 'log.flush.interval.ms': 0 } }],
  }), [
    `controllers.config["group.consumer.session.timeout.ms"]: group.consumer.session.timeout.ms=1000 must be at least group.consumer.min.session.timeout.ms (45000, ${DEF})`,
    `controllers.config["group.consumer.session.timeout.ms"]: group.consumer.session.timeout.ms=1000 must be greater than group.consumer.heartbeat.interval.ms (5000, ${DEF})`,
  ]);
});

test("cordoned.log.dirs must name the node's own log dirs", () => {
  assert.deepEqual(problems({
    name: 'c', config: { ...RF1, 'cordoned.log.dirs': '/data/fast/kafka-log' },
    brokerGroups: { default: { storage: [{ name: 'data-0', size: '1Gi' }, { name: 'fast', size: '1Gi', mountPath: '/data/fast' }] } },
    brokers: [{ id: 0 }, { id: 1 }, { id: 2, storage: [{ name: 'data-0', size: '1Gi' }] }],
  }), [
    'config["cordoned.log.dirs"]: cordoned.log.dirs=/data/fast/kafka-log: all entries in cordoned.log.dirs must be present in log.dirs '
      + "(/var/lib/kafka/data-0/kafka-log, from the node's volumes); missing: /data/fast/kafka-log",
  ]);
});

test('the check stays linear in the number of brokers', () => {
  const brokers = Array.from({ length: 100_000 }, (_, id) => ({ id, ...(id % 1000 === 0 ? { config: { 'replica.lag.time.max.ms': 100 } } : {}) }));
  const start = process.hrtime.bigint();
  const found = problems({ name: 'big', config: { 'num.partitions': 3 }, controllers: { replicas: 3 }, brokers });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  assert.equal(found.filter((p) => p.includes('replica.lag.time.max.ms')).length, 100);
  assert.ok(ms < 15_000, `took ${ms} ms`);
});
