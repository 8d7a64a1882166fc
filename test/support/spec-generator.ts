/**
 * Random cluster specs for the generative test: mostly valid, with "near
 * valid" mutations at the edges the validator must get right (lengths, ranges,
 * reserved names, malformed Kubernetes and Kafka values). Seeded, so a
 * failing case is reproduced from its seed.
 */
import { kafkaKey } from '../../lib/config/kafka-keys.js';

/** mulberry32: small, fast, good enough for test data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rand = () => number;
const pick = <T>(r: Rand, list: readonly T[]): T => list[Math.floor(r() * list.length)]!;
const chance = (r: Rand, p: number) => r() < p;
const int = (r: Rand, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));

/**
 * Values at the edges of Kafka's cross-key and custom rules (lib/config/kafka-rules.ts), on either
 * side: with the defaults, or with another key of the same node (set by another layer), each one
 * keeps or breaks a rule. Picked most of the time for these keys.
 */
const EDGE_VALUES: Readonly<Record<string, ReadonlyArray<string | number | boolean>>> = {
  'log.retention.hours': [0, -1, 1, 168],
  'log.retention.minutes': [0, -1, 1],
  'log.retention.ms': [0, -1, -2, 1],
  'log.roll.ms': [0, -1, 1],
  'log.roll.jitter.ms': [-1, 0, 1],
  'log.cleaner.threads': [0, 1, 2, 127, 128],
  'log.cleaner.dedupe.buffer.size': [1048576, 1048577, 2097152, 2097153, 134217728],
  'replica.fetch.wait.max.ms': [500, 30000, 30001],
  'replica.lag.time.max.ms': [0, 499, 500, 30000],
  'replica.socket.timeout.ms': [499, 500, 30000],
  'queued.max.request.bytes': [-1, 0, 104857599, 104857600],
  'socket.request.max.bytes': [104857600, 104857601],
  'max.connections.per.ip': [0, 1],
  'max.connections.per.ip.overrides': ['', 'localhost:10', '10.0.0.1:5,h-1:1,', 'fe80::1:3', 'nocolon', 'a b:1', 'h:x', 'h:1,,g:2'],
  'connections.max.idle.ms': [-1, 100, 600000],
  'connection.failed.authentication.delay.ms': [0, 100, 600000],
  'cordoned.log.dirs': ['', '*', '*,/var/lib/kafka/data-0/kafka-log', '/var/lib/kafka/data-0/kafka-log', '/var/lib/kafka/data-1/kafka-log', '/mnt/fast/kafka-log'],
  'group.coordinator.rebalance.protocols': ['classic', 'consumer', 'classic,consumer,streams,share'],
  'group.consumer.assignors': ['uniform', 'range,uniform', 'roundrobin', 'uniform,org.apache.kafka.coordinator.group.assignor.UniformAssignor'],
  'group.share.assignors': ['simple', 'simple,org.apache.kafka.coordinator.group.assignor.SimpleAssignor'],
  'group.streams.assignors': ['sticky', 'balanced'],
  'offsets.topic.compression.codec': [0, 4, 5, -1],
  'share.coordinator.state.topic.compression.codec': [0, 5],
  'group.consumer.heartbeat.interval.ms': [5000, 15000, 15001, 45000],
  'group.consumer.session.timeout.ms': [5000, 44999, 45000, 60000, 60001],
  'group.consumer.min.session.timeout.ms': [45000, 45001],
  'group.consumer.max.heartbeat.interval.ms': [4999, 5000],
  'group.consumer.assignment.interval.ms': [0, 15000, 15001],
  'group.share.heartbeat.interval.ms': [5000, 15001],
  'group.share.session.timeout.ms': [44999, 45000, 60001],
  'group.share.max.session.timeout.ms': [44999, 60000],
  'group.streams.heartbeat.interval.ms': [4999, 5000, 45000],
  'group.streams.min.assignment.interval.ms': [0, 1001],
  'group.streams.num.standby.replicas': [2, 3],
  'group.streams.num.warmup.replicas': [20, 21],
  'group.streams.min.task.offset.interval.ms': [60000, 60001],
  'group.share.max.share.sessions': [199, 200],
  'group.share.delivery.count.limit': [2, 5, 10],
  'group.share.max.delivery.count.limit': [5, 10],
  'group.share.min.delivery.count.limit': [2, 5],
  'group.share.record.lock.duration.ms': [15000, 60000, 60001],
  'group.share.partition.max.record.locks': [100, 4000, 4001],
  'log.cleaner.min.compaction.lag.ms': [0, 1000],
  'log.cleaner.max.compaction.lag.ms': [999, 1000],
  'log.flush.interval.ms': [-1, 0],
  'log.flush.scheduler.interval.ms': [-1, 0],
  'remote.log.storage.system.enable': [true, false],
  'log.local.retention.bytes': [-2, -1, 1000],
  'log.local.retention.ms': [-2, -1, 1000, 604800001],
};

/** Keys users commonly set, and the keys of Kafka's cross-key and custom rules. */
const CONFIG_KEYS = [...new Set([
  'log.retention.hours', 'log.retention.ms', 'log.retention.bytes', 'num.io.threads', 'num.network.threads',
  'num.partitions', 'auto.create.topics.enable', 'log.segment.bytes', 'compression.type', 'log.cleanup.policy',
  'unclean.leader.election.enable', 'log.retention.check.interval.ms', 'socket.send.buffer.bytes', 'background.threads',
  'queued.max.requests', 'group.initial.rebalance.delay.ms', 'num.recovery.threads.per.data.dir', 'replica.lag.time.max.ms',
  'log.message.timestamp.type', 'offsets.retention.minutes', 'log.flush.interval.messages', 'log.cleaner.threads',
  ...Object.keys(EDGE_VALUES),
])];

/** A value Kafka accepts for `key` alone (its type and validator in Kafka's own table), often at a cross-key rule's edge. */
function validValue(r: Rand, key: string): string | number | boolean | bigint {
  const edges = EDGE_VALUES[key];
  if (edges && chance(r, 0.7)) return pick(r, edges);
  const info = kafkaKey(key)!;
  const set = /^\[([^\].]*)\]$/.exec(info.validValues ?? '');
  if (set && !/\.\.\./.test(info.validValues ?? '')) return pick(r, set[1]!.split(',').map((s) => s.trim()).filter(Boolean));
  const range = /^\[(-?\d+),\.\.\.(?:,(-?\d+))?\]$/.exec(info.validValues ?? '');
  switch (info.type) {
    case 'BOOLEAN': return chance(r, 0.5);
    case 'INT': case 'SHORT': case 'LONG': {
      const lo = range ? Number(range[1]) : 1;
      if (info.type === 'LONG' && chance(r, 0.15)) return 9223372036854775807n;
      return pick(r, [lo, lo + 1, Number(info.default ?? lo + 7), lo + int(r, 0, 1000)]);
    }
    case 'DOUBLE': return 0.5;
    default: return info.default ?? 'x';
  }
}

const QUANTITIES = ['100m', '0.5', 1, '2', '512Mi', '1Gi', '3Gi', '1.5Gi', 2e9];
const LABEL_VALUES = ['zone-a', 'zone-b', 'eu-west-1a', 'r1'];
const AFFINITIES: unknown[] = [
  { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 10, preference: { matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd'] }] } }] } },
  { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { 'kafka-cdk8s.io/pool': 'broker' } }, matchLabelKeys: ['kafka-cdk8s.io/cluster'] }] } },
  { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'node.example.com/gen', operator: 'Gt', values: ['3'] }] }] } } },
];

function template(r: Rand): Record<string, unknown> {
  const t: Record<string, unknown> = {};
  if (chance(r, 0.4)) {
    const names = ['data-0', 'data-1', 'fast', 'logs'].slice(0, int(r, 1, 3));
    t.storage = names.map((name) => ({
      name, size: pick(r, ['1Gi', '10Gi', 5]),
      ...(chance(r, 0.2) ? { mountPath: `/mnt/${name}` } : {}),
      ...(chance(r, 0.2) ? { storageClass: 'fast-ssd' } : {}),
    }));
  }
  if (chance(r, 0.5)) {
    const memory = pick(r, ['512Mi', '1Gi', '2Gi']);
    t.resources = { requests: { cpu: pick(r, QUANTITIES.slice(0, 4)), memory }, ...(chance(r, 0.5) ? { limits: { memory } } : {}) };
  }
  if (chance(r, 0.2)) t.nodeSelector = { 'kubernetes.io/os': 'linux', 'node.example.com/pool': pick(r, LABEL_VALUES) };
  if (chance(r, 0.2)) t.tolerations = [{ key: 'dedicated', operator: 'Equal', value: 'kafka', effect: 'NoSchedule' }];
  if (chance(r, 0.2)) t.affinity = structuredClone(pick(r, AFFINITIES));
  if (chance(r, 0.2)) t.env = { KAFKA_OPTS: '-Dfoo=bar' };
  if (chance(r, 0.1)) t.image = pick(r, ['apache/kafka:4.4.0', 'registry.example.com:5000/team/kafka:4.4.0']);
  if (chance(r, 0.1)) t.securityContext = { runAsUser: int(r, 1, 70000), fsGroup: int(r, 0, 70000) };
  if (chance(r, 0.3)) t.config = { [pick(r, CONFIG_KEYS)]: 0 };
  if (t.config) t.config = Object.fromEntries(Object.keys(t.config).map((k) => [k, validValue(r, k)]));
  return t;
}

/** A spec that should be valid, before mutation. */
function baseSpec(r: Rand, index: number): Record<string, any> {
  const combined = chance(r, 0.3);
  const brokerCount = int(r, 1, 4);
  const ids = new Set<number>();
  while (ids.size < brokerCount) ids.add(int(r, 0, 30));
  const groups: Record<string, unknown> = {};
  if (chance(r, 0.5)) groups.default = template(r);
  if (chance(r, 0.3)) groups.big = template(r);
  const rackAware = chance(r, 0.2);
  const brokers = [...ids].map((id) => ({
    id,
    ...(groups.big && chance(r, 0.5) ? { group: 'big' } : {}),
    ...(rackAware || chance(r, 0.3) ? { rack: pick(r, LABEL_VALUES) } : {}),
    ...(chance(r, 0.3) ? template(r) : {}),
  }));
  const rf = Math.min(3, brokerCount);
  return {
    name: `g${index}-${pick(r, ['a', 'events', 'kafka-main'])}`,
    namespace: `gen-${index}`,
    ...(chance(r, 0.3) ? { createNamespace: false } : {}),
    ...(chance(r, 0.2) ? { topologySpread: pick(r, ['required', 'none']) } : {}),
    controllers: combined
      ? { mode: 'combined', ...(chance(r, 0.5) ? { brokerIds: [...ids].slice(0, 1) } : {}) }
      : { mode: 'dedicated', replicas: pick(r, [1, 3, 5]), ...(chance(r, 0.3) ? { idBase: pick(r, [100, 5000, 2_147_483_000]) } : {}), ...(chance(r, 0.3) ? template(r) : {}) },
    ...(Object.keys(groups).length ? { brokerGroups: groups } : {}),
    brokers,
    config: {
      'offsets.topic.replication.factor': rf, 'transaction.state.log.replication.factor': rf,
      'transaction.state.log.min.isr': Math.min(2, rf), 'share.coordinator.state.topic.replication.factor': rf,
      ...(chance(r, 0.5) ? { [pick(r, CONFIG_KEYS)]: 0 } : {}),
    },
    ...(chance(r, 0.2) ? { listeners: { internal: { port: int(r, 1024, 65535) }, controller: { port: int(r, 1024, 65535) } } } : {}),
    ...(rackAware ? { rackAwareness: {} } : {}),
    ...(chance(r, 0.2) ? { clusterId: randomClusterId(r) } : {}),
  };
}

function randomClusterId(r: Rand): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  let id = pick(r, [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789']);
  for (let i = 1; i < 22; i++) id += pick(r, [...alphabet]);
  return id;
}

/** Near-valid mutations: each breaks (or just touches) one edge the validator must judge like Kafka and Kubernetes. */
const MUTATIONS: ReadonlyArray<(s: Record<string, any>, r: Rand) => void> = [
  (s) => { s.name = `${'n'.repeat(53 - 0)}`; },
  (s) => { s.name = `${'n'.repeat(54)}`; },
  (s, r) => { s.listeners = { internal: { port: pick(r, [1023, 1024, 65535, 65536]) } }; },
  (s) => { s.controllers = { mode: 'combined' }; s.listeners = { internal: { port: 9100 }, controller: { port: 9100 } }; },
  (s) => { s.controllers = { mode: 'dedicated', replicas: 3, idBase: 2_147_483_646 }; },
  (s) => { s.brokers[0].rack = 'zone a'; },
  (s) => { s.clusterId = '-kU3OEVBNTcwNTJENDM2QQ'; },
  (s, r) => { s.brokers[0].storage = [{ name: 'data-0', size: '1Gi', mountPath: pick(r, ['/opt/kafka/x', '/', '/a,b', '/data/', '/etc', '/var/lib/k']) }]; },
  (s, r) => { s.brokers[0].image = pick(r, ['Apache/kafka:4', 'apache/kafka 4', 'apache/kafka:4.4.0', 'localhost:5000/k@sha256:' + 'a'.repeat(64)]); },
  (s) => { s.brokers[0].env = { KAFKA_CDK8S_X: '1' }; },
  (s) => { s.brokers[0].resources = { requests: { memory: '2Gi' }, limits: { memory: '1Gi' } }; },
  (s) => { s.config['num.io.threads'] = 'eight'; },
  (s) => { s.config['log.retention.bytes'] = 9223372036854775808n; },
  (s) => { s.config['log.retention.bytes'] = 9223372036854775807n; },
  (s, r) => { s.config[pick(r, ['node.id', 'log.dirs', 'security.inter.broker.protocol', 'controller.quorum.voters'])] = 'x'; },
  (s, r) => { s.config[pick(r, ['zookeeper.connect', 'inter.broker.protocol.version', 'log.message.format.version'])] = '1'; },
  (s) => { s.brokers[0].storage = [{ name: 'server-config', size: '1Gi' }]; },
  (s) => { s.brokers[0].affinity = { nodeAfinity: {} }; },
  (s) => { s.brokers[0].tolerations = [{ key: 'bad key', operator: 'Exists' }]; },
  (s) => { s.brokers[0].nodeSelector = { 'kubernetes.io/os': 'linux os' }; },
  (s) => { s.brokers[0].storage = [{ name: 'a', size: '1Gi' }, { name: 'b', size: '1Gi' }]; },
  (s) => { s.brokers[0].storage = [{ name: 'a', size: '1Gi' }, { name: 'b', size: '1Gi', metadataLog: true }]; },
  (s) => { s.kafka = { securityContext: { runAsUser: 0 } }; },
  (s) => { s.kafka = { securityContext: { runAsUser: 1001, runAsGroup: 0, fsGroup: 0 } }; },
];

/** Spec number `index` of a run seeded with `seed`: valid, or near-valid with one or two mutations. */
export function generateSpec(seed: number, index: number): Record<string, any> {
  const r = rng(seed * 1_000_003 + index);
  const spec = baseSpec(r, index);
  const mutations = chance(r, 0.5) ? int(r, 1, 2) : 0;
  for (let i = 0; i < mutations; i++) pick(r, MUTATIONS)(spec, r);
  return spec;
}
