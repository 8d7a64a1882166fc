/**
 * Kafka's cross-key and custom value rules: what a node's server.properties must satisfy beyond
 * each key's own type and validator (those are `checkValue` in kafka-keys.ts). Kafka 4.4 enforces
 * them when it builds its config (kafka.server.KafkaConfig and the config classes its constructor
 * builds) or when a broker starts (LogManager, RemoteLogManager), so a node that breaks one does
 * not start. Read from the 4.4 jars (javap), not from the docs.
 *
 * Table-driven and pure: `checkKafkaRules` takes one node's merged user config (keys not set take
 * Kafka's defaults from the key table) and its roles, and returns every broken rule with the keys
 * involved (the ones the user set first) and a message naming keys, values and what is allowed.
 *
 * Left out on purpose: rules about security (SASL/SSL, principal builder) and listeners
 * (kafka-cdk8s owns listeners, process.roles, node.id, log.dirs and the controller.quorum.* keys
 * that name the quorum; early.start.listeners and remote.log.metadata.manager.listener.name must
 * name one of its listeners), and checks whose failure is only logged
 * (broker.heartbeat.interval.ms vs broker.session.timeout.ms). TransactionLogConfig,
 * TransactionStateManagerConfig, CleanerConfig, QuorumConfig and RemoteLogManagerConfig check
 * nothing across keys in 4.4.
 */
import { checkValue, kafkaKey } from './kafka-keys.js';

export type KafkaRole = 'broker' | 'controller';

/**
 * A broken rule: the keys involved and what is wrong. The keys the user set come first, the most
 * specific layer's first (see `KafkaRuleContext.rank`), then the rule's order; the message is
 * phrased from the first key's side.
 */
export interface KafkaRuleProblem {
  readonly keys: string[];
  readonly message: string;
}

/** What a rule may need beyond the user's config. */
export interface KafkaRuleContext {
  /** The node's log.dirs as kafka-cdk8s renders them; rules that need them are skipped without. */
  readonly logDirs?: readonly string[];
  /**
   * How specific the layer that set a key is (e.g. 0 cluster, 1 group, 2 broker): a problem is
   * phrased from, and lists first, the key set by the most specific layer. Rule order when absent.
   */
  readonly rank?: (key: string) => number;
}

/** One node's config as Kafka sees it: the user's values (trimmed, as Kafka trims), else Kafka's defaults. */
class NodeConfig {
  constructor(private readonly config: Readonly<Record<string, string>>, private readonly rank: (key: string) => number) {}

  /** `keys` with the set ones first, the most specific layer's first, else in their order. */
  order(keys: readonly string[]): string[] {
    const set = keys.filter((k) => this.isSet(k)).map((k, i) => [k, this.rank(k), i] as const)
      .sort((a, b) => b[1] - a[1] || a[2] - b[2]).map(([k]) => k);
    return [...set, ...keys.filter((k) => !this.isSet(k))];
  }

  isSet(key: string): boolean {
    return Object.hasOwn(this.config, key);
  }

  /** The value Kafka uses: the user's, else the default; null when neither (Kafka's null). */
  text(key: string): string | null {
    if (this.isSet(key)) return this.config[key]!.trim();
    return kafkaKey(key)?.default ?? null;
  }

  /** An INT/SHORT/LONG value, exactly; null when unset without a default. */
  int(key: string): bigint | null {
    const t = this.text(key);
    return t === null ? null : BigInt(t);
  }

  bool(key: string): boolean {
    return this.text(key)?.toLowerCase() === 'true';
  }

  /** A LIST value the way Kafka parses it: empty is the empty list, else split on commas and the spaces around them. */
  list(key: string): string[] {
    const t = this.text(key);
    return t === null || t === '' ? [] : t.split(/\s*,\s*/);
  }

  private shown(key: string): string {
    const t = this.text(key);
    return t === null ? 'null' : /[\s,"]/.test(t) || t === '' ? JSON.stringify(t) : t;
  }

  /** `key=value`, marked when the value is Kafka's default. */
  is(key: string): string {
    return `${key}=${this.shown(key)}${this.isSet(key) ? '' : " (Kafka's default)"}`;
  }

  /** `key (value)`, marked when the value is Kafka's default: for the other side of a comparison. */
  ref(key: string): string {
    return `${key} (${this.shown(key)}${this.isSet(key) ? '' : ", Kafka's default"})`;
  }
}

interface Rule {
  /** Where Kafka 4.4 enforces it. */
  readonly source: string;
  /** Only nodes with this role are checked; every node when absent. */
  readonly role?: KafkaRole;
  /** Every key the rule reads. The rule is skipped when one of them has a value Kafka cannot parse (checkValue reports that). */
  readonly keys: readonly string[];
  /** The problem, if any: a message, or a message with the keys involved when only some of `keys` are. */
  readonly check: (node: NodeConfig, context: KafkaRuleContext) => string | { message: string; keys: readonly string[] } | undefined;
}

type Op = '>=' | '<=' | '<' | '>';
const OP_TEXT: Readonly<Record<Op, string>> = { '>=': 'at least', '<=': 'at most', '<': 'less than', '>': 'greater than' };
const FLIP: Readonly<Record<Op, Op>> = { '>=': '<=', '<=': '>=', '<': '>', '>': '<' };
const holds = (a: bigint, op: Op, b: bigint): boolean =>
  op === '>=' ? a >= b : op === '<=' ? a <= b : op === '<' ? a < b : a > b;

interface CompareOptions {
  readonly role?: KafkaRole;
  /** The rule applies only when this holds (e.g. "when queued.max.request.bytes > 0"). */
  readonly when?: (node: NodeConfig) => boolean;
  /** Kafka's reason or a note, appended to the message as is (start it with ' ' or '; '). */
  readonly why?: string;
}

/**
 * `left op right`, both integer keys. The message is phrased from the side the user set
 * (left when both or neither), so it reads as a statement about the value to change.
 */
function compare(source: string, left: string, op: Op, right: string, options: CompareOptions = {}): Rule {
  return {
    source,
    role: options.role,
    keys: [left, right],
    check: (node) => {
      if (options.when && !options.when(node)) return undefined;
      const l = node.int(left);
      const r = node.int(right);
      if (l === null || r === null || holds(l, op, r)) return undefined;
      const why = options.why ?? '';
      return node.order([left, right])[0] === left
        ? `${node.is(left)} must be ${OP_TEXT[op]} ${node.ref(right)}${why}`
        : `${node.is(right)} must be ${OP_TEXT[FLIP[op]]} ${node.ref(left)}${why}`;
    },
  };
}

/** The min <= value <= max and heartbeat < session rules of one kind of group (GroupCoordinatorConfig.verify*GroupConfigs). */
function groupRules(kind: 'consumer' | 'share' | 'streams'): Rule[] {
  const source = `org.apache.kafka.coordinator.group.GroupCoordinatorConfig.verify${kind[0]!.toUpperCase()}${kind.slice(1)}GroupConfigs`;
  const k = (name: string) => `group.${kind}.${name}`;
  const rules: Rule[] = [];
  for (const what of ['heartbeat.interval.ms', 'session.timeout.ms', 'assignment.interval.ms']) {
    rules.push(
      compare(source, k(`max.${what}`), '>=', k(`min.${what}`)),
      compare(source, k(what), '>=', k(`min.${what}`)),
      compare(source, k(what), '<=', k(`max.${what}`)),
    );
    if (what === 'session.timeout.ms') rules.push(compare(source, k('heartbeat.interval.ms'), '<', k('session.timeout.ms')));
  }
  return rules;
}

const RETENTION_KEYS = ['log.retention.ms', 'log.retention.minutes', 'log.retention.hours'] as const;
const RETENTION_UNIT_MS: Readonly<Record<(typeof RETENTION_KEYS)[number], bigint>> = {
  'log.retention.ms': 1n,
  'log.retention.minutes': 60_000n,
  'log.retention.hours': 3_600_000n,
};
const ONE_MB = 1_048_576n;
const INT32 = /^[+-]?\d+$/;
const INT32_MIN = -(2n ** 31n);
const INT32_MAX = 2n ** 31n - 1n;
/** Utils.VALID_HOST_CHARACTERS, matched against the whole host. */
const VALID_HOST = /^[0-9a-zA-Z\-%._:]*$/;
/** A fully qualified Java class name: what Kafka tries to load for an assignor that is not built in. */
const QUALIFIED_CLASS = /^[\p{L}_$][\p{L}\p{N}_$]*(?:\.[\p{L}_$][\p{L}\p{N}_$]*)+$/u;
/** CompressionType.forId. */
const COMPRESSION_IDS = '0 (none), 1 (gzip), 2 (snappy), 3 (lz4) or 4 (zstd)';

/** Built-in assignors: the names Kafka resolves itself, and their classes (which report the same name). */
interface Assignors { readonly key: string; readonly builtIn: Readonly<Record<string, string>>; readonly exactlyOne?: boolean; readonly source: string }
const ASSIGNORS: readonly Assignors[] = [
  {
    key: 'group.consumer.assignors',
    builtIn: { uniform: 'org.apache.kafka.coordinator.group.assignor.UniformAssignor', range: 'org.apache.kafka.coordinator.group.assignor.RangeAssignor' },
    source: 'org.apache.kafka.coordinator.group.GroupCoordinatorConfig.consumerGroupAssignors',
  },
  {
    key: 'group.share.assignors',
    builtIn: { simple: 'org.apache.kafka.coordinator.group.assignor.SimpleAssignor' },
    exactlyOne: true,
    source: 'org.apache.kafka.coordinator.group.GroupCoordinatorConfig.shareGroupAssignors and verifyShareGroupConfigs',
  },
  {
    key: 'group.streams.assignors',
    builtIn: { sticky: 'org.apache.kafka.coordinator.group.streams.assignor.StickyTaskAssignor' },
    source: 'org.apache.kafka.coordinator.group.GroupCoordinatorConfig.streamsGroupAssignors',
  },
];

function assignorRule({ key, builtIn, exactlyOne, source }: Assignors): Rule {
  const names = Object.keys(builtIn);
  const nameOfClass = new Map(Object.entries(builtIn).map(([name, klass]) => [klass, name]));
  return {
    source,
    keys: [key],
    check: (node) => {
      const entries = node.list(key);
      if (exactlyOne && entries.length !== 1) {
        return `${node.is(key)} must contain exactly one assignor, but found ${entries.length}`;
      }
      const unknown = entries.find((e) => !names.includes(e) && !QUALIFIED_CLASS.test(e));
      if (unknown !== undefined) {
        return `${node.is(key)}: ${JSON.stringify(unknown)} is neither a built-in assignor (${names.join(', ')}) `
          + 'nor a fully qualified class name; Kafka would try to load it as a class (Class cannot be found)';
      }
      // A built-in named once and once by its class registers the same assignor name twice.
      const seen = new Set<string>();
      for (const e of entries) {
        const name = names.includes(e) ? e : nameOfClass.get(e);
        if (name === undefined) continue;
        if (seen.has(name)) {
          return `${node.is(key)}: assignor name '${name}' is already registered by another configured assignor; assignor names must be unique`;
        }
        seen.add(name);
      }
      return undefined;
    },
  };
}

function compressionCodecRule(key: string, source: string): Rule {
  return {
    source,
    keys: [key],
    check: (node) => {
      const id = node.int(key);
      return id === null || (id >= 0n && id <= 4n) ? undefined : `${node.is(key)} must be a compression type id: ${COMPRESSION_IDS} (Kafka: Unknown compression type id: ${id})`;
    },
  };
}

/** AbstractKafkaConfig.getMap (Csv.parseCsvMap) and maxConnectionsPerIpOverrides: host:limit entries, or why not. */
function parseConnectionOverrides(value: string): { entries: Array<readonly [string, bigint]> } | { problem: string } {
  if (value === '') return { entries: [] };
  const parts = value.split(/\s*,\s*/);
  while (parts.length > 0 && parts.at(-1) === '') parts.pop(); // Java's String.split drops trailing empty strings
  const entries: Array<readonly [string, bigint]> = [];
  for (const part of parts) {
    const colon = part.lastIndexOf(':');
    if (colon < 0) return { problem: `${JSON.stringify(part)} has no ':'` };
    const host = part.slice(0, colon).trim();
    const limit = part.slice(colon + 1).trim();
    if (!INT32.test(limit) || BigInt(limit) < INT32_MIN || BigInt(limit) > INT32_MAX) {
      return { problem: `the limit in ${JSON.stringify(part)} must be a whole number (a 32-bit integer)` };
    }
    entries.push([host, BigInt(limit)]);
  }
  return { entries };
}

const RULES: readonly Rule[] = [
  // ---- kafka.server.KafkaConfig.validateValues (every node) ----
  {
    source: 'kafka.server.KafkaConfig.validateValues (logRollTimeMillis: log.roll.ms, else log.roll.hours)',
    keys: ['log.roll.ms'],
    check: (node) => {
      const ms = node.int('log.roll.ms');
      return ms !== null && ms < 1n ? `${node.is('log.roll.ms')} must be greater than or equal to 1 (it overrides log.roll.hours)` : undefined;
    },
  },
  {
    source: 'kafka.server.KafkaConfig.validateValues (logRollTimeJitterMillis: log.roll.jitter.ms, else log.roll.jitter.hours)',
    keys: ['log.roll.jitter.ms'],
    check: (node) => {
      const ms = node.int('log.roll.jitter.ms');
      return ms !== null && ms < 0n ? `${node.is('log.roll.jitter.ms')} must be greater than or equal to 0 (it overrides log.roll.jitter.hours)` : undefined;
    },
  },
  {
    // AbstractKafkaConfig.logRetentionTimeMillis: log.retention.ms, else log.retention.minutes, else
    // log.retention.hours, in ms; a negative result means unlimited (-1). Only 0 is refused.
    source: 'kafka.server.KafkaConfig.validateValues (AbstractKafkaConfig.logRetentionTimeMillis)',
    keys: RETENTION_KEYS,
    check: (node) => {
      const from = RETENTION_KEYS.find((k) => node.int(k) !== null) ?? 'log.retention.hours';
      const millis = (node.int(from) ?? 0n) * RETENTION_UNIT_MS[from];
      if (millis !== 0n) return undefined;
      const message = from === 'log.retention.ms'
        ? `${node.is(from)} must be unlimited (-1) or, greater than or equal to 1`
        : `${node.is(from)} gives a retention time of 0 ms; log.retention.ms must be unlimited (-1) or, greater than or equal to 1 `
          + '(Kafka takes log.retention.ms, else log.retention.minutes, else log.retention.hours; a negative value means unlimited)';
      return { message, keys: [from] };
    },
  },
  {
    // Kafka divides the buffer by the thread count ("/ by zero" for 0 threads) and wants more than 1 MiB each.
    source: 'kafka.server.KafkaConfig.validateValues',
    keys: ['log.cleaner.dedupe.buffer.size', 'log.cleaner.threads'],
    check: (node) => {
      const size = node.int('log.cleaner.dedupe.buffer.size')!;
      const threads = node.int('log.cleaner.threads')!;
      if (threads === 0n) {
        return { message: `${node.is('log.cleaner.threads')} makes Kafka fail at start ("/ by zero": it divides log.cleaner.dedupe.buffer.size by the number of cleaner threads); `
          + 'log.cleaner.threads must be at least 1', keys: ['log.cleaner.threads'] };
      }
      const each = size / threads; // Java's long division truncates, as BigInt's does
      if (each > ONE_MB) return undefined;
      return `log.cleaner.dedupe.buffer.size must be at least 1MB per cleaner thread (more than ${ONE_MB} bytes each): `
        + `${node.is('log.cleaner.dedupe.buffer.size')} over ${node.is('log.cleaner.threads')} gives ${each}`;
    },
  },
  compare('kafka.server.KafkaConfig.validateValues', 'replica.fetch.wait.max.ms', '<=', 'replica.socket.timeout.ms', {
    why: ' to prevent unnecessary socket timeouts',
  }),
  compare('kafka.server.KafkaConfig.validateValues', 'replica.fetch.wait.max.ms', '<=', 'replica.lag.time.max.ms', {
    why: ' to prevent frequent changes in ISR',
  }),
  compare('kafka.server.KafkaConfig.validateValues', 'queued.max.request.bytes', '>=', 'socket.request.max.bytes', {
    when: (node) => node.int('queued.max.request.bytes')! > 0n,
    why: '; a queued.max.request.bytes of 0 or less means no limit',
  }),
  {
    source: 'kafka.server.KafkaConfig.validateValues (AbstractKafkaConfig.maxConnectionsPerIpOverrides)',
    keys: ['max.connections.per.ip.overrides'],
    check: (node) => {
      const value = node.text('max.connections.per.ip.overrides') ?? '';
      const parsed = parseConnectionOverrides(value);
      if ('problem' in parsed) {
        return `${node.is('max.connections.per.ip.overrides')} must be a comma-separated list of <host or IP>:<limit> entries; ${parsed.problem} `
          + "(Kafka: Error parsing configuration property 'max.connections.per.ip.overrides')";
      }
      const invalid = parsed.entries.map(([host]) => host).filter((host) => !VALID_HOST.test(host));
      return invalid.length === 0 ? undefined
        : `${node.is('max.connections.per.ip.overrides')} contains invalid addresses: ${invalid.map((h) => JSON.stringify(h)).join(', ')} `
          + '(a host or IP may hold letters, digits and - % . _ : only)';
    },
  },
  {
    source: 'kafka.server.KafkaConfig.validateValues',
    keys: ['max.connections.per.ip', 'max.connections.per.ip.overrides'],
    check: (node) => {
      if (node.int('max.connections.per.ip') !== 0n) return undefined;
      const parsed = parseConnectionOverrides(node.text('max.connections.per.ip.overrides') ?? '');
      if ('problem' in parsed || parsed.entries.length > 0) return undefined; // malformed: the rule above says so
      return `${node.is('max.connections.per.ip')}: max.connections.per.ip can be set to zero only if max.connections.per.ip.overrides is set `
        + `(it is ${node.isSet('max.connections.per.ip.overrides') ? 'empty' : 'unset'})`;
    },
  },
  compare('kafka.server.KafkaConfig.validateValues', 'connection.failed.authentication.delay.ms', '<', 'connections.max.idle.ms', {
    when: (node) => node.int('connections.max.idle.ms')! >= 0n,
    why: ' to prevent failed authentication responses from timing out',
  }),
  {
    source: 'kafka.server.KafkaConfig.validateCordonedLogDirs (brokers)',
    role: 'broker',
    keys: ['cordoned.log.dirs'],
    check: (node, { logDirs }) => {
      const cordoned = node.list('cordoned.log.dirs');
      if (cordoned.includes('*')) {
        return cordoned.length === 1 ? undefined : `${node.is('cordoned.log.dirs')}: when cordoned.log.dirs is set to *, it must not contain other values`;
      }
      if (!logDirs) return undefined;
      const missing = cordoned.filter((d) => !logDirs.includes(d));
      return missing.length === 0 ? undefined
        : `${node.is('cordoned.log.dirs')}: all entries in cordoned.log.dirs must be present in log.dirs (${logDirs.join(',')}, from the node's volumes); `
          + `missing: ${missing.join(',')}`;
    },
  },

  // ---- kafka.server.KafkaConfig.<init> (every node) ----
  {
    source: 'kafka.server.KafkaConfig.<init> (groupCoordinatorRebalanceProtocols)',
    keys: ['group.coordinator.rebalance.protocols'],
    check: (node) => (node.list('group.coordinator.rebalance.protocols').includes('classic') ? undefined
      : `${node.is('group.coordinator.rebalance.protocols')} must include classic: disabling the 'classic' protocol is not supported`),
  },

  // ---- org.apache.kafka.coordinator.group.GroupCoordinatorConfig, built by KafkaConfig (every node) ----
  ...groupRules('consumer'),
  ...groupRules('share'),
  ...groupRules('streams'),
  compare('org.apache.kafka.coordinator.group.GroupCoordinatorConfig.verifyStreamsGroupConfigs',
    'group.streams.num.standby.replicas', '<=', 'group.streams.max.standby.replicas'),
  compare('org.apache.kafka.coordinator.group.GroupCoordinatorConfig.verifyStreamsGroupConfigs',
    'group.streams.task.offset.interval.ms', '>=', 'group.streams.min.task.offset.interval.ms'),
  compare('org.apache.kafka.coordinator.group.GroupCoordinatorConfig.verifyStreamsGroupConfigs',
    'group.streams.num.warmup.replicas', '<=', 'group.streams.max.warmup.replicas'),
  ...ASSIGNORS.map(assignorRule),
  compressionCodecRule('offsets.topic.compression.codec', 'org.apache.kafka.coordinator.group.GroupCoordinatorConfig.<init> (CompressionType.forId)'),

  // ---- org.apache.kafka.coordinator.group.modern.share.ShareGroupConfig.validate, built by KafkaConfig (every node) ----
  compare('org.apache.kafka.coordinator.group.modern.share.ShareGroupConfig.validate',
    'group.share.max.delivery.count.limit', '>=', 'group.share.delivery.count.limit'),
  compare('org.apache.kafka.coordinator.group.modern.share.ShareGroupConfig.validate',
    'group.share.delivery.count.limit', '>=', 'group.share.min.delivery.count.limit'),
  compare('org.apache.kafka.coordinator.group.modern.share.ShareGroupConfig.validate',
    'group.share.max.partition.max.record.locks', '>=', 'group.share.partition.max.record.locks'),
  compare('org.apache.kafka.coordinator.group.modern.share.ShareGroupConfig.validate',
    'group.share.partition.max.record.locks', '>=', 'group.share.min.partition.max.record.locks'),
  compare('org.apache.kafka.coordinator.group.modern.share.ShareGroupConfig.validate',
    'group.share.record.lock.duration.ms', '>=', 'group.share.min.record.lock.duration.ms'),
  compare('org.apache.kafka.coordinator.group.modern.share.ShareGroupConfig.validate',
    'group.share.max.record.lock.duration.ms', '>=', 'group.share.record.lock.duration.ms'),
  compare('org.apache.kafka.coordinator.group.modern.share.ShareGroupConfig.validate',
    'group.share.max.share.sessions', '>=', 'group.share.max.size'),

  // ---- org.apache.kafka.coordinator.share.ShareCoordinatorConfig, built by KafkaConfig (every node) ----
  compressionCodecRule('share.coordinator.state.topic.compression.codec', 'org.apache.kafka.coordinator.share.ShareCoordinatorConfig.<init> (CompressionType.forId)'),

  // ---- broker start: kafka.log.LogManager.apply checks the topic defaults (LogConfig) ----
  compare('org.apache.kafka.storage.internals.log.LogConfig.validateValues (LogManager.apply, brokers)',
    'log.cleaner.min.compaction.lag.ms', '<=', 'log.cleaner.max.compaction.lag.ms', {
      role: 'broker',
      why: ' (Kafka: conflict topic config setting min.compaction.lag.ms > max.compaction.lag.ms)',
    }),
  {
    // KafkaConfig.extractLogConfigMap puts log.flush.interval.ms, else log.flush.scheduler.interval.ms, as the
    // topic default flush.ms, whose validator is [0,...]; neither broker key has one.
    source: 'org.apache.kafka.storage.internals.log.LogConfig.<init> (LogManager.apply, brokers)',
    role: 'broker',
    keys: ['log.flush.interval.ms', 'log.flush.scheduler.interval.ms'],
    check: (node) => {
      const from = node.int('log.flush.interval.ms') !== null ? 'log.flush.interval.ms' : 'log.flush.scheduler.interval.ms';
      if (node.int(from)! >= 0n) return undefined;
      return {
        message: `${node.is(from)} must be at least 0: ${from === 'log.flush.interval.ms' ? 'it' : 'with log.flush.interval.ms unset, it'} `
          + 'is the topic default flush.ms (Kafka: Value must be at least 0)',
        keys: [from],
      };
    },
  },
  {
    // With tiered storage on, local retention may not exceed the total (-2: same as the total).
    source: 'org.apache.kafka.storage.internals.log.LogConfig.validateRemoteStorageRetentionSize (LogManager.apply, brokers)',
    role: 'broker',
    keys: ['log.local.retention.bytes', 'log.retention.bytes', 'remote.log.storage.system.enable'],
    check: (node) => {
      if (!node.bool('remote.log.storage.system.enable')) return undefined;
      const total = node.int('log.retention.bytes')!;
      const local = node.int('log.local.retention.bytes')!;
      if (total <= -1n || local === -2n) return undefined;
      if (local === -1n) {
        return `${node.is('log.local.retention.bytes')} (unlimited) must not exceed ${node.ref('log.retention.bytes')} when remote.log.storage.system.enable=true `
          + `(Kafka: Value must not be -1 as retention.bytes value is set as ${total})`;
      }
      return local <= total ? undefined : `${node.is('log.local.retention.bytes')} must be at most ${node.ref('log.retention.bytes')} when remote.log.storage.system.enable=true `
        + `(Kafka: Value must not be more than retention.bytes property value: ${total})`;
    },
  },
  {
    source: 'org.apache.kafka.storage.internals.log.LogConfig.validateRemoteStorageRetentionTime (LogManager.apply, brokers)',
    role: 'broker',
    keys: ['log.local.retention.ms', ...RETENTION_KEYS, 'remote.log.storage.system.enable'],
    check: (node) => {
      if (!node.bool('remote.log.storage.system.enable')) return undefined;
      const from = RETENTION_KEYS.find((k) => node.int(k) !== null) ?? 'log.retention.hours';
      let total = (node.int(from) ?? 0n) * RETENTION_UNIT_MS[from];
      if (total < 0n) total = -1n;
      const local = node.int('log.local.retention.ms')!;
      if (total === -1n || local === -2n) return undefined;
      if (local !== -1n && local <= total) return undefined;
      const retention = from === 'log.retention.ms' ? node.ref(from) : `the retention time, ${node.ref(from)} = ${total} ms,`;
      const message = local === -1n
        ? `${node.is('log.local.retention.ms')} (unlimited) must not exceed ${retention} when remote.log.storage.system.enable=true `
          + `(Kafka: Value must not be -1 as retention.ms value is set as ${total})`
        : `${node.is('log.local.retention.ms')} must be at most ${retention} when remote.log.storage.system.enable=true `
          + `(Kafka: Value must not be more than retention.ms property value: ${total})`;
      return { message, keys: ['log.local.retention.ms', from, 'remote.log.storage.system.enable'] };
    },
  },

  // ---- broker start: kafka.server.BrokerServer builds a RemoteLogManager when tiered storage is on ----
  {
    source: 'org.apache.kafka.server.log.remote.storage.RemoteLogManager.createRemoteStorageManager (BrokerServer.startup, brokers)',
    role: 'broker',
    keys: ['remote.log.storage.system.enable', 'remote.log.storage.manager.class.name'],
    check: (node) => (node.bool('remote.log.storage.system.enable') && node.text('remote.log.storage.manager.class.name') === null
      ? `${node.is('remote.log.storage.system.enable')} needs remote.log.storage.manager.class.name (unset): the broker loads that class to reach the remote storage`
      : undefined),
  },
];

/**
 * The rules reading each key. Kafka's defaults satisfy every rule (a unit test holds this), so a
 * rule can only break when the user set one of its keys: a node is checked in time proportional
 * to its own keys, not to the number of rules.
 */
const RULES_BY_KEY = new Map<string, number[]>();
RULES.forEach((rule, index) => {
  for (const key of rule.keys) RULES_BY_KEY.set(key, [...(RULES_BY_KEY.get(key) ?? []), index]);
});

/** Where each rule comes from, for documentation and tests. */
export function kafkaRuleSources(): string[] {
  return [...new Set(RULES.map((r) => r.source))];
}

/**
 * Every Kafka 4.4 cross-key or custom rule that one node's config breaks. `config` is the node's
 * full user config (owned keys aside): keys not in it take Kafka's defaults. Rules reading a key
 * whose value Kafka cannot parse are skipped: `checkValue` reports that value.
 */
export function checkKafkaRules(
  config: Readonly<Record<string, string>>,
  roles: readonly KafkaRole[],
  context: KafkaRuleContext = {},
): KafkaRuleProblem[] {
  const node = new NodeConfig(config, context.rank ?? (() => 0));
  const touched = new Set<number>();
  for (const key of Object.keys(config)) for (const index of RULES_BY_KEY.get(key) ?? []) touched.add(index);
  const problems: KafkaRuleProblem[] = [];
  for (const index of [...touched].sort((a, b) => a - b)) {
    const rule = RULES[index]!;
    if (rule.role && !roles.includes(rule.role)) continue;
    if (rule.keys.some((k) => node.isSet(k) && checkValue(k, config[k]!) !== undefined)) continue;
    const found = rule.check(node, context);
    if (found === undefined) continue;
    const { message, keys } = typeof found === 'string' ? { message: found, keys: rule.keys } : found;
    problems.push({ message, keys: node.order(keys) });
  }
  return problems;
}
