/**
 * The Kafka adapter the controller talks to. kafkajs does what it does well (metadata,
 * topics, partition reassignments); our own typed requests (requests.ts) do what kafkajs
 * cannot: IncrementalAlterConfigs, configs of the cluster-wide default broker resource "",
 * DescribeQuorum, KRaft voter changes (KIP-853), features (KIP-584) and the controllers
 * registered in the cluster metadata (KIP-919).
 */
import kafkajs from 'kafkajs';
import type { Admin as KafkajsAdmin, Kafka as KafkajsKafka } from 'kafkajs';
import { KafkaConnection, formatAddress, parseAddress, type BrokerAddress, type NodeFeatureInfo, type SocketFactory } from './connection.js';
import { KafkaConnectionError, KafkaProtocolError, throwIfError } from './errors.js';
import {
  AddRaftVoter,
  CLUSTER_METADATA_TOPIC,
  DescribeCluster,
  DescribeConfigs,
  DescribeQuorum,
  IncrementalAlterConfigs,
  RemoveRaftVoter,
  UpdateFeatures,
  type FeatureUpgradeType,
  type RaftVoterListener,
  type AlterableConfig,
  type ConfigEntry,
  type ConfigResourceType,
  type QuorumNode,
  type QuorumReplicaState,
} from './requests.js';

export type { AlterableConfig, ConfigEntry, ConfigOperation, ConfigSource, ConfigType } from './requests.js';

/** A broker id, or "" for the cluster-wide default broker config (KIP-226). */
export type BrokerResource = number | '';

export interface BrokerInfo {
  nodeId: number;
  host: string;
  port: number;
}

export interface ClusterDescription {
  clusterId: string;
  /** Active controller as reported to clients (in KRaft: a random broker id), -1 if unknown. */
  controllerId: number;
  brokers: BrokerInfo[];
}

export interface PartitionDescription {
  partition: number;
  leader: number;
  replicas: number[];
  isr: number[];
  offlineReplicas: number[];
  errorCode: number;
}

export interface TopicDescription {
  name: string;
  partitions: PartitionDescription[];
}

export interface NewTopic {
  name: string;
  partitions?: number;
  replicationFactor?: number;
  /** partition → replica list (instead of partitions/replicationFactor). */
  assignments?: Record<number, number[]>;
  configs?: Record<string, string>;
}

export interface DescribeConfigsOptions {
  /** Only these keys (default: all). */
  names?: string[];
  /** Include synonyms (default true): shows every layer (dynamic per-broker, default, static, ...). */
  includeSynonyms?: boolean;
  includeDocumentation?: boolean;
}

export interface QuorumMember {
  id: number;
  directoryId: string | null;
  logEndOffset: number;
  /** Leader's log end offset minus this member's (0 for the leader; -1 if unknown). */
  lag: number;
  lastFetchTimestamp: number;
  lastCaughtUpTimestamp: number;
}

export interface QuorumDescription {
  leaderId: number;
  leaderEpoch: number;
  highWatermark: number;
  voters: QuorumMember[];
  observers: QuorumMember[];
  /** Listener endpoints of the voters (DescribeQuorum v2+, else []). */
  nodes: QuorumNode[];
}

export interface PartitionMove {
  topic: string;
  partition: number;
  /** Target replica list; the first one becomes the preferred leader. */
  replicas: number[];
}

export interface OngoingReassignment {
  topic: string;
  partition: number;
  replicas: number[];
  addingReplicas: number[];
  removingReplicas: number[];
}

/** A listener a voter is reached at (the request's own type). */
export type RaftVoterEndpoint = RaftVoterListener;

export interface FeatureRange {
  min: number;
  max: number;
}

export interface NodeFeatures {
  /** Features this node supports (ApiVersions SupportedFeatures). */
  supported: Record<string, FeatureRange>;
  /** Cluster-wide finalized levels as this node knows them (FinalizedFeatures); max is the level. */
  finalized: Record<string, FeatureRange>;
  /** -1 when unknown. */
  finalizedEpoch: number;
}

export interface ControllerRegistration {
  id: number;
  host: string;
  port: number;
  rack: string | null;
}

export interface KafkaAdmin {
  describeCluster(): Promise<ClusterDescription>;
  listTopics(): Promise<string[]>;
  /** Metadata for the given topics (default: all). */
  describeTopics(topics?: string[]): Promise<TopicDescription[]>;
  createTopics(topics: NewTopic[], opts?: { waitForLeaders?: boolean; timeoutMs?: number }): Promise<void>;
  deleteTopics(topics: string[]): Promise<void>;
  /** Configs of broker `id`, or of the cluster-wide default resource "". */
  describeBrokerConfigs(broker: BrokerResource, opts?: DescribeConfigsOptions): Promise<ConfigEntry[]>;
  describeTopicConfigs(topic: string, opts?: DescribeConfigsOptions): Promise<ConfigEntry[]>;
  /** Configs of many topics in one request per batch (e.g. min.insync.replicas of every topic). */
  describeTopicsConfigs(topics: readonly string[], names: readonly string[]): Promise<Map<string, ConfigEntry[]>>;
  /** IncrementalAlterConfigs on broker `id` or on "" (cluster-wide default). Only the given keys change. */
  alterBrokerConfigsIncremental(broker: BrokerResource, ops: AlterableConfig[], opts?: { validateOnly?: boolean }): Promise<void>;
  alterTopicConfigsIncremental(topic: string, ops: AlterableConfig[], opts?: { validateOnly?: boolean }): Promise<void>;
  /** The KRaft metadata quorum: leader, epoch, voters and observers with their lag. */
  describeQuorum(): Promise<QuorumDescription>;
  /**
   * KIP-853 AddRaftVoter (forwarded to the active controller by any broker). Resolves once the
   * new voter set is committed. The leader first sends ApiVersions to the listener named like
   * its own first controller listener, so `listeners` must include that name and the leader
   * must reach that address; the voter must be an observer that has caught up. That check
   * goes over the leader's connection to node `id` when it has one, so a wrong endpoint can
   * pass and be recorded. REQUEST_TIMED_OUT is ambiguous (busy with another change, voter not
   * reachable or lagging, or not committed in time and may still commit): re-read
   * describeQuorum before sending again.
   */
  addRaftVoter(voter: { id: number; directoryId: string; listeners: RaftVoterEndpoint[] }, opts?: { timeoutMs?: number }): Promise<void>;
  /** KIP-853 RemoveRaftVoter of exactly this (id, directory id). */
  removeRaftVoter(voter: { id: number; directoryId: string }): Promise<void>;
  /** Features of broker `brokerId` (ApiVersions), or of any reachable broker when undefined. */
  describeFeatures(brokerId?: number): Promise<NodeFeatures>;
  /** Features of the node at this address (e.g. a controller endpoint from describeQuorum().nodes). */
  describeFeaturesAt(address: { host: string; port: number }): Promise<NodeFeatures>;
  /**
   * Controllers registered in the cluster metadata (KIP-919; DescribeCluster with endpoint type
   * "controller", sent to a controller: `via`, or each voter endpoint of describeQuorum().nodes
   * in turn). Includes observers. Host/port are those of the listener the request arrived on.
   */
  describeControllers(via?: { host: string; port: number }): Promise<{ activeControllerId: number; controllers: ControllerRegistration[] }>;
  /** KIP-584 UpdateFeatures; throws KafkaProtocolError with Kafka's message when refused (top-level or per feature). */
  updateFeatures(
    updates: { feature: string; maxVersionLevel: number; upgradeType?: 'upgrade' | 'safe-downgrade' | 'unsafe-downgrade' }[],
    opts?: { validateOnly?: boolean; timeoutMs?: number },
  ): Promise<void>;
  alterPartitionReassignments(moves: PartitionMove[], opts?: { timeoutMs?: number }): Promise<void>;
  listPartitionReassignments(): Promise<OngoingReassignment[]>;
  close(): Promise<void>;
}

export interface KafkaAdminOptions {
  /** Bootstrap brokers, host:port. */
  brokers: string[];
  clientId?: string;
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** How our own connections reach a node (TLS goes here; kafkajs gets `kafkajs` options). */
  socketFactory?: SocketFactory;
  /** Extra kafkajs client options (ssl, sasl, retry, logLevel, ...). */
  kafkajs?: Partial<ConstructorParameters<typeof kafkajs.Kafka>[0]>;
}

const TOPIC_CONFIG_BATCH = 500;
/** Server-side timeout of voter changes and feature updates when the caller gives none. */
const DEFAULT_ADMIN_OP_TIMEOUT_MS = 30_000;
/** How much longer than a server-side timeout we wait for the response itself. */
const RESPONSE_GRACE_MS = 5_000;

function toNodeFeatures(f: NodeFeatureInfo): NodeFeatures {
  return {
    supported: Object.fromEntries(f.supported.map((x) => [x.name, { min: x.minVersion, max: x.maxVersion }])),
    finalized: Object.fromEntries(f.finalized.map((x) => [x.name, { min: x.minVersionLevel, max: x.maxVersionLevel }])),
    finalizedEpoch: f.finalizedEpoch,
  };
}

export function createKafkaAdmin(opts: KafkaAdminOptions): KafkaAdmin {
  return new KafkaAdminImpl(opts);
}

class KafkaAdminImpl implements KafkaAdmin {
  private readonly kafka: KafkajsKafka;
  private admin: KafkajsAdmin | null = null;
  private adminConnecting: Promise<KafkajsAdmin> | null = null;
  private readonly connections = new Map<string, Promise<KafkaConnection>>();
  private brokerAddresses = new Map<number, BrokerAddress>();
  private closed = false;

  constructor(private readonly opts: KafkaAdminOptions) {
    if (!opts.brokers.length) throw new Error('KafkaAdmin: no bootstrap brokers');
    this.kafka = new kafkajs.Kafka({
      clientId: opts.clientId ?? 'kafka-cdk8s',
      brokers: opts.brokers,
      connectionTimeout: opts.connectTimeoutMs ?? 10_000,
      requestTimeout: opts.requestTimeoutMs ?? 30_000,
      logLevel: kafkajs.logLevel.NOTHING,
      ...opts.kafkajs,
    });
  }

  // -- kafkajs-backed -------------------------------------------------------------------

  private async kjs(): Promise<KafkajsAdmin> {
    if (this.closed) throw new Error('KafkaAdmin is closed');
    if (this.admin) return this.admin;
    this.adminConnecting ??= (async () => {
      const a = this.kafka.admin();
      await a.connect();
      this.admin = a;
      return a;
    })().finally(() => {
      this.adminConnecting = null;
    });
    return this.adminConnecting;
  }

  /**
   * Runs a kafkajs call; after a timeout or a connection failure the kafkajs client is
   * dropped, so that the next call connects again through a randomly chosen bootstrap broker:
   * kafkajs keeps asking the broker it first connected to, even when that one hangs.
   */
  private async viaKafkajs<T>(fn: (a: KafkajsAdmin) => Promise<T>): Promise<T> {
    const admin = await this.kjs();
    try {
      return await fn(admin);
    } catch (err) {
      const name = (err as Error).name ?? '';
      if (/Timeout|Connection|NumberOfRetriesExceeded/.test(name) && this.admin === admin) {
        this.admin = null;
        void admin.disconnect().catch(() => undefined);
      }
      throw err;
    }
  }

  async describeCluster(): Promise<ClusterDescription> {
    const c = await this.viaKafkajs((a) => a.describeCluster());
    this.brokerAddresses = new Map(c.brokers.map((b) => [b.nodeId, { host: b.host, port: b.port }]));
    return { clusterId: c.clusterId, controllerId: c.controller ?? -1, brokers: c.brokers.map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port })) };
  }

  async listTopics(): Promise<string[]> {
    return this.viaKafkajs((a) => a.listTopics());
  }

  async describeTopics(topics?: string[]): Promise<TopicDescription[]> {
    const md = await this.viaKafkajs((a) => a.fetchTopicMetadata(topics ? { topics } : undefined));
    return md.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions
        .map((p) => ({ partition: p.partitionId, leader: p.leader, replicas: p.replicas, isr: p.isr, offlineReplicas: p.offlineReplicas ?? [], errorCode: p.partitionErrorCode }))
        .sort((a, b) => a.partition - b.partition),
    }));
  }

  async createTopics(topics: NewTopic[], opts: { waitForLeaders?: boolean; timeoutMs?: number } = {}): Promise<void> {
    await (
      await this.kjs()
    ).createTopics({
      // Not kafkajs's own wait: it gives up on UNKNOWN_TOPIC_OR_PARTITION while a new topic
      // is still on its way to the broker's metadata.
      waitForLeaders: false,
      timeout: opts.timeoutMs,
      topics: topics.map((t) => ({
        topic: t.name,
        ...(t.assignments
          ? { replicaAssignment: Object.entries(t.assignments).map(([p, replicas]) => ({ partition: Number(p), replicas })) }
          : { numPartitions: t.partitions ?? -1, replicationFactor: t.replicationFactor ?? -1 }),
        configEntries: Object.entries(t.configs ?? {}).map(([name, value]) => ({ name, value })),
      })),
    });
    if (opts.waitForLeaders ?? true) await this.waitForLeaders(topics.map((t) => t.name), opts.timeoutMs ?? 30_000);
  }

  /** Until every partition of the topics has a leader in metadata. */
  private async waitForLeaders(names: readonly string[], timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const described = await this.describeTopics([...names]).catch(() => []);
      const led = names.every((name) => {
        const t = described.find((d) => d.name === name);
        return t !== undefined && t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0);
      });
      if (led) return;
      if (Date.now() > deadline) throw new Error(`topics ${names.join(', ')} have no leader for every partition after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  async deleteTopics(topics: string[]): Promise<void> {
    await (await this.kjs()).deleteTopics({ topics });
  }

  async alterPartitionReassignments(moves: PartitionMove[], opts: { timeoutMs?: number } = {}): Promise<void> {
    const byTopic = new Map<string, { partition: number; replicas: number[] }[]>();
    for (const m of moves) {
      const list = byTopic.get(m.topic) ?? [];
      list.push({ partition: m.partition, replicas: m.replicas });
      byTopic.set(m.topic, list);
    }
    await (
      await this.kjs()
    ).alterPartitionReassignments({
      timeout: opts.timeoutMs,
      topics: [...byTopic].map(([topic, partitionAssignment]) => ({ topic, partitionAssignment })),
    });
  }

  async listPartitionReassignments(): Promise<OngoingReassignment[]> {
    const res = await (await this.kjs()).listPartitionReassignments({});
    // kafkajs 2.2.4's typings say {topic, partitionIndex}; at run time it returns {name, partition}.
    type Loose = { topic?: string; name?: string; partitions: { partition?: number; partitionIndex?: number; replicas: number[]; addingReplicas?: number[]; removingReplicas?: number[] }[] };
    return (res.topics as unknown as Loose[]).flatMap((t) =>
      t.partitions.map((p) => ({
        topic: (t.topic ?? t.name)!,
        partition: (p.partition ?? p.partitionIndex)!,
        replicas: p.replicas,
        addingReplicas: p.addingReplicas ?? [],
        removingReplicas: p.removingReplicas ?? [],
      })),
    );
  }

  // -- our own requests -----------------------------------------------------------------

  async describeBrokerConfigs(broker: BrokerResource, opts: DescribeConfigsOptions = {}): Promise<ConfigEntry[]> {
    // A broker answers only for itself; the default resource "" can go to any broker.
    return this.describeConfigs('BROKER', String(broker), opts, broker === '' ? undefined : broker);
  }

  async describeTopicConfigs(topic: string, opts: DescribeConfigsOptions = {}): Promise<ConfigEntry[]> {
    return this.describeConfigs('TOPIC', topic, opts, undefined);
  }

  async describeTopicsConfigs(topics: readonly string[], names: readonly string[]): Promise<Map<string, ConfigEntry[]>> {
    const out = new Map<string, ConfigEntry[]>();
    // Batches keep each request and response small with thousands of topics.
    for (let i = 0; i < topics.length; i += TOPIC_CONFIG_BATCH) {
      const batch = topics.slice(i, i + TOPIC_CONFIG_BATCH);
      const res = await this.withConnection(undefined, (c) =>
        c.send(DescribeConfigs, {
          resources: batch.map((name) => ({ type: 'TOPIC' as const, name, configNames: [...names] })),
          includeSynonyms: false,
          includeDocumentation: false,
        }),
      );
      for (const r of res.results) {
        // A topic deleted since it was listed answers UNKNOWN_TOPIC_OR_PARTITION: leave it out.
        if (r.errorCode === 3) continue;
        throwIfError(r.errorCode, r.errorMessage, `DescribeConfigs TOPIC "${r.resourceName}"`);
        out.set(r.resourceName, r.configs);
      }
    }
    return out;
  }

  async alterBrokerConfigsIncremental(broker: BrokerResource, ops: AlterableConfig[], opts: { validateOnly?: boolean } = {}): Promise<void> {
    await this.alterIncremental('BROKER', String(broker), ops, opts.validateOnly ?? false, broker === '' ? undefined : broker);
  }

  async alterTopicConfigsIncremental(topic: string, ops: AlterableConfig[], opts: { validateOnly?: boolean } = {}): Promise<void> {
    await this.alterIncremental('TOPIC', topic, ops, opts.validateOnly ?? false, undefined);
  }

  async describeQuorum(): Promise<QuorumDescription> {
    // Brokers forward DescribeQuorum to the active controller.
    const res = await this.withConnection(undefined, (c) => c.send(DescribeQuorum, { topics: [{ topicName: CLUSTER_METADATA_TOPIC, partitions: [0] }] }));
    throwIfError(res.errorCode, res.errorMessage, 'DescribeQuorum');
    const p = res.topics.find((t) => t.topicName === CLUSTER_METADATA_TOPIC)?.partitions.find((x) => x.partitionIndex === 0);
    if (!p) throw new KafkaProtocolError(-1, 'no __cluster_metadata-0 in response', 'DescribeQuorum');
    throwIfError(p.errorCode, p.errorMessage, 'DescribeQuorum __cluster_metadata-0');
    const leaderLeo = p.currentVoters.find((v) => v.replicaId === p.leaderId)?.logEndOffset ?? -1;
    const member = (s: QuorumReplicaState): QuorumMember => ({
      id: s.replicaId,
      directoryId: s.replicaDirectoryId,
      logEndOffset: s.logEndOffset,
      lag: leaderLeo >= 0 && s.logEndOffset >= 0 ? Math.max(0, leaderLeo - s.logEndOffset) : -1,
      lastFetchTimestamp: s.lastFetchTimestamp,
      lastCaughtUpTimestamp: s.lastCaughtUpTimestamp,
    });
    return {
      leaderId: p.leaderId,
      leaderEpoch: p.leaderEpoch,
      highWatermark: p.highWatermark,
      voters: p.currentVoters.map(member),
      observers: p.observers.map(member),
      nodes: res.nodes,
    };
  }

  async addRaftVoter(voter: { id: number; directoryId: string; listeners: RaftVoterEndpoint[] }, opts: { timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_ADMIN_OP_TIMEOUT_MS;
    // clusterId null: the broker we ask forwards to its own quorum, so a check adds nothing.
    const res = await this.withConnection(undefined, (c) =>
      c.send(
        AddRaftVoter,
        { clusterId: null, timeoutMs, voterId: voter.id, voterDirectoryId: voter.directoryId, listeners: voter.listeners, ackWhenCommitted: true },
        undefined,
        this.responseTimeout(timeoutMs),
      ),
    );
    throwIfError(res.errorCode, res.errorMessage, `AddRaftVoter ${voter.id}/${voter.directoryId}`);
  }

  async removeRaftVoter(voter: { id: number; directoryId: string }): Promise<void> {
    const res = await this.withConnection(undefined, (c) => c.send(RemoveRaftVoter, { clusterId: null, voterId: voter.id, voterDirectoryId: voter.directoryId }));
    throwIfError(res.errorCode, res.errorMessage, `RemoveRaftVoter ${voter.id}/${voter.directoryId}`);
  }

  async describeFeatures(brokerId?: number): Promise<NodeFeatures> {
    // A fresh ApiVersions: finalized levels change (UpdateFeatures), the one from connect may be stale.
    return toNodeFeatures(await this.withConnection(brokerId, (c) => c.refreshFeatures()));
  }

  async describeFeaturesAt(address: { host: string; port: number }): Promise<NodeFeatures> {
    return toNodeFeatures(await this.withAddresses([address], (c) => c.refreshFeatures()));
  }

  async describeControllers(via?: { host: string; port: number }): Promise<{ activeControllerId: number; controllers: ControllerRegistration[] }> {
    // Only controllers answer endpoint type "controller" (brokers: MISMATCHED_ENDPOINT_TYPE).
    const targets = via ? [via] : (await this.describeQuorum()).nodes.flatMap((n) => n.listeners.map((l) => ({ host: l.host, port: l.port })));
    if (!targets.length) throw new KafkaProtocolError(-1, 'no controller endpoint known (DescribeQuorum listed no nodes)', 'DescribeCluster controllers');
    const res = await this.withAddresses(targets, async (c) => {
      const version = c.versionFor(DescribeCluster);
      if (version < 1) throw new KafkaProtocolError(35, `${c.broker} speaks DescribeCluster v${version} only; controller endpoints need v1+`, 'DescribeCluster controllers');
      return c.send(DescribeCluster, { includeClusterAuthorizedOperations: false, endpointType: 'controller', includeFencedBrokers: false }, version);
    });
    throwIfError(res.errorCode, res.errorMessage, 'DescribeCluster controllers');
    return {
      activeControllerId: res.controllerId,
      controllers: res.brokers.map((b) => ({ id: b.brokerId, host: b.host, port: b.port, rack: b.rack })).sort((a, b) => a.id - b.id),
    };
  }

  async updateFeatures(
    updates: { feature: string; maxVersionLevel: number; upgradeType?: FeatureUpgradeType }[],
    opts: { validateOnly?: boolean; timeoutMs?: number } = {},
  ): Promise<void> {
    if (!updates.length) return;
    const timeoutMs = opts.timeoutMs ?? DEFAULT_ADMIN_OP_TIMEOUT_MS;
    const featureUpdates = updates.map((u) => ({ feature: u.feature, maxVersionLevel: u.maxVersionLevel, upgradeType: u.upgradeType ?? 'upgrade' }));
    const what = `UpdateFeatures ${featureUpdates.map((u) => `${u.feature}=${u.maxVersionLevel}`).join(',')}`;
    // Brokers forward UpdateFeatures to the active controller.
    const res = await this.withConnection(undefined, (c) =>
      c.send(UpdateFeatures, { timeoutMs, featureUpdates, validateOnly: opts.validateOnly ?? false }, undefined, this.responseTimeout(timeoutMs)),
    );
    throwIfError(res.errorCode, res.errorMessage, what);
    for (const r of res.results) throwIfError(r.errorCode, r.errorMessage, `UpdateFeatures ${r.feature}`);
  }

  async close(): Promise<void> {
    this.closed = true;
    const conns = [...this.connections.values()];
    this.connections.clear();
    await Promise.all(conns.map((p) => p.then((c) => c.close()).catch(() => undefined)));
    const a = this.admin ?? (await this.adminConnecting?.catch(() => null)) ?? null;
    this.admin = null;
    await a?.disconnect().catch(() => undefined);
  }

  // -- internals ------------------------------------------------------------------------

  private async describeConfigs(type: ConfigResourceType, name: string, opts: DescribeConfigsOptions, brokerId: number | undefined): Promise<ConfigEntry[]> {
    const res = await this.withConnection(brokerId, (c) =>
      c.send(DescribeConfigs, {
        resources: [{ type, name, configNames: opts.names ?? null }],
        includeSynonyms: opts.includeSynonyms ?? true,
        includeDocumentation: opts.includeDocumentation ?? false,
      }),
    );
    const r = res.results[0];
    if (!r) throw new KafkaProtocolError(-1, 'empty response', `DescribeConfigs ${type} "${name}"`);
    throwIfError(r.errorCode, r.errorMessage, `DescribeConfigs ${type} "${name}"`);
    return r.configs;
  }

  private async alterIncremental(type: ConfigResourceType, name: string, ops: AlterableConfig[], validateOnly: boolean, brokerId: number | undefined): Promise<void> {
    const res = await this.withConnection(brokerId, (c) => c.send(IncrementalAlterConfigs, { resources: [{ type, name, configs: ops }], validateOnly }));
    const r = res.responses[0];
    if (!r) throw new KafkaProtocolError(-1, 'empty response', `IncrementalAlterConfigs ${type} "${name}"`);
    throwIfError(r.errorCode, r.errorMessage, `IncrementalAlterConfigs ${type} "${name}"`);
  }

  private responseTimeout(serverTimeoutMs: number): number {
    return Math.max(this.opts.requestTimeoutMs ?? 30_000, serverTimeoutMs + RESPONSE_GRACE_MS);
  }

  /** Address of broker `id` (refreshing metadata once when unknown). */
  private async addressOf(id: number): Promise<BrokerAddress> {
    let a = this.brokerAddresses.get(id);
    if (!a) {
      await this.describeCluster();
      a = this.brokerAddresses.get(id);
    }
    if (!a) throw new KafkaProtocolError(8, `broker ${id} is not in the cluster metadata`, 'KafkaAdmin');
    return a;
  }

  private connection(addr: BrokerAddress): Promise<KafkaConnection> {
    const key = formatAddress(addr);
    const existing = this.connections.get(key);
    if (existing) return existing;
    const p = KafkaConnection.open(addr, {
      clientId: this.opts.clientId ?? 'kafka-cdk8s',
      connectTimeoutMs: this.opts.connectTimeoutMs,
      requestTimeoutMs: this.opts.requestTimeoutMs,
      socketFactory: this.opts.socketFactory,
    });
    this.connections.set(key, p);
    p.catch(() => this.connections.delete(key));
    return p;
  }

  /**
   * Run `fn` on a connection to broker `brokerId`, or to any reachable broker when undefined
   * (known brokers first, then the bootstrap list). A dead pooled connection is replaced once.
   */
  private async withConnection<T>(brokerId: number | undefined, fn: (c: KafkaConnection) => Promise<T>): Promise<T> {
    if (this.closed) throw new Error('KafkaAdmin is closed');
    const candidates: BrokerAddress[] =
      brokerId !== undefined
        ? [await this.addressOf(brokerId)]
        : [...this.brokerAddresses.values(), ...this.opts.brokers.map((b) => parseAddress(b))];
    return this.withAddresses(candidates, fn);
  }

  /** Run `fn` on the first of `candidates` that can be reached (pooled connections). */
  private async withAddresses<T>(candidates: readonly BrokerAddress[], fn: (c: KafkaConnection) => Promise<T>): Promise<T> {
    if (this.closed) throw new Error('KafkaAdmin is closed');
    let lastError: unknown;
    for (const addr of candidates) {
      for (let attempt = 0; attempt < 2; attempt++) {
        try {
          let conn = await this.connection(addr);
          if (conn.closed) {
            this.connections.delete(formatAddress(addr));
            conn = await this.connection(addr);
          }
          return await fn(conn);
        } catch (e) {
          lastError = e;
          if (!(e instanceof KafkaConnectionError)) throw e;
          this.connections.delete(formatAddress(addr));
        }
      }
    }
    throw lastError instanceof Error ? lastError : new KafkaConnectionError('no broker reachable');
  }
}
