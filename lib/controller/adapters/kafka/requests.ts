/**
 * Typed Kafka requests that kafkajs lacks (or restricts): ApiVersions (for negotiation and
 * features), DescribeConfigs (incl. the cluster-wide default broker resource ""),
 * IncrementalAlterConfigs, DescribeQuorum, AddRaftVoter / RemoveRaftVoter (KIP-853),
 * UpdateFeatures (KIP-584) and DescribeCluster (incl. controller endpoints, KIP-919). Field layouts follow the message schemas of Kafka 4.x
 * (clients/src/main/resources/common/message/*.json).
 */
import { ProtocolDecodeError, Reader, Writer, type ApiDefinition } from './wire.js';

// ---------------------------------------------------------------------------------------
// Shared enums

export const CONFIG_RESOURCE_TYPES = { UNKNOWN: 0, TOPIC: 2, BROKER: 4, BROKER_LOGGER: 8, CLIENT_METRICS: 16, GROUP: 32 } as const;
export type ConfigResourceType = keyof typeof CONFIG_RESOURCE_TYPES;

/** Where a config value comes from (DescribeConfigs ConfigSource). */
export const CONFIG_SOURCES = [
  'UNKNOWN', // 0
  'DYNAMIC_TOPIC_CONFIG', // 1
  'DYNAMIC_BROKER_CONFIG', // 2: per-broker dynamic
  'DYNAMIC_DEFAULT_BROKER_CONFIG', // 3: cluster-wide dynamic (resource "")
  'STATIC_BROKER_CONFIG', // 4: server.properties
  'DEFAULT_CONFIG', // 5
  'DYNAMIC_BROKER_LOGGER_CONFIG', // 6
  'CLIENT_METRICS_CONFIG', // 7
  'GROUP_CONFIG', // 8
] as const;
export type ConfigSource = (typeof CONFIG_SOURCES)[number];

export const CONFIG_TYPES = ['UNKNOWN', 'BOOLEAN', 'STRING', 'INT', 'SHORT', 'LONG', 'DOUBLE', 'LIST', 'CLASS', 'PASSWORD'] as const;
export type ConfigType = (typeof CONFIG_TYPES)[number];

export const CONFIG_OPERATIONS = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const;
export type ConfigOperation = keyof typeof CONFIG_OPERATIONS;

function resourceTypeCode(t: ConfigResourceType): number {
  return CONFIG_RESOURCE_TYPES[t];
}

function resourceTypeName(code: number): ConfigResourceType {
  const e = Object.entries(CONFIG_RESOURCE_TYPES).find(([, c]) => c === code);
  return (e?.[0] as ConfigResourceType | undefined) ?? 'UNKNOWN';
}

function configSourceName(code: number): ConfigSource {
  return CONFIG_SOURCES[code] ?? 'UNKNOWN';
}

// ---------------------------------------------------------------------------------------
// ApiVersions (key 18) — v0..v4 (v3+ flexible; the response header is always v0). v4 exists
// only so that features whose supported range starts at 0 (kraft.version, group.version, ...)
// are listed: v3 responses omit them (KAFKA-17011). v5 (4.4) only adds the client's expected
// cluster/node id to the request, which we do not use.

export interface ApiVersionsRequest {
  clientSoftwareName: string;
  clientSoftwareVersion: string;
}

export interface ApiVersionRange {
  apiKey: number;
  minVersion: number;
  maxVersion: number;
}

export interface SupportedFeature {
  name: string;
  minVersion: number;
  maxVersion: number;
}

export interface FinalizedFeature {
  name: string;
  maxVersionLevel: number;
  minVersionLevel: number;
}

export interface ApiVersionsResponse {
  errorCode: number;
  apiKeys: ApiVersionRange[];
  throttleTimeMs: number;
  /** Tag 0 (v3+): feature ranges this node supports. */
  supportedFeatures: SupportedFeature[];
  /** Tag 1 (v3+): epoch of `finalizedFeatures`, -1 when unknown (or before v3). */
  finalizedFeaturesEpoch: number;
  /** Tag 2 (v3+): cluster-wide finalized levels as this node knows them. */
  finalizedFeatures: FinalizedFeature[];
}

/** Decode one tagged field's bytes with `fn`, insisting that it uses them all. */
function tagged<T>(bytes: Buffer, what: string, fn: (r: Reader) => T): T {
  const r = new Reader(bytes);
  const v = fn(r);
  if (r.remaining !== 0) throw new ProtocolDecodeError(`${what}: ${r.remaining} unexpected trailing bytes`);
  return v;
}

export const ApiVersions: ApiDefinition<ApiVersionsRequest, ApiVersionsResponse> = {
  name: 'ApiVersions',
  apiKey: 18,
  minVersion: 0,
  maxVersion: 4,
  firstFlexibleVersion: 3,
  responseHeaderAlwaysV0: true,
  encode(w, req, v) {
    if (v >= 3) {
      w.compactString(req.clientSoftwareName).compactString(req.clientSoftwareVersion).taggedFields();
    }
  },
  decode(r, v) {
    const flexible = v >= 3;
    const errorCode = r.int16();
    const apiKeys = r.array(flexible, (rr) => {
      const k = { apiKey: rr.int16(), minVersion: rr.int16(), maxVersion: rr.int16() };
      if (flexible) rr.taggedFields();
      return k;
    });
    const throttleTimeMs = v >= 1 ? r.int32() : 0;
    let supportedFeatures: SupportedFeature[] = [];
    let finalizedFeaturesEpoch = -1;
    let finalizedFeatures: FinalizedFeature[] = [];
    if (flexible) {
      // Tag 3 (ZkMigrationReady) and unknown tags are skipped.
      const tags = r.taggedFields();
      const t0 = tags.get(0);
      const t1 = tags.get(1);
      const t2 = tags.get(2);
      if (t0) {
        supportedFeatures = tagged(t0, 'ApiVersions SupportedFeatures', (rt) =>
          rt.array(true, (rf): SupportedFeature => {
            const f = { name: rf.strNN(true, 'feature Name'), minVersion: rf.int16(), maxVersion: rf.int16() };
            rf.taggedFields();
            return f;
          }),
        );
      }
      if (t1) finalizedFeaturesEpoch = tagged(t1, 'ApiVersions FinalizedFeaturesEpoch', (rt) => rt.int64n());
      if (t2) {
        finalizedFeatures = tagged(t2, 'ApiVersions FinalizedFeatures', (rt) =>
          rt.array(true, (rf): FinalizedFeature => {
            const f = { name: rf.strNN(true, 'feature Name'), maxVersionLevel: rf.int16(), minVersionLevel: rf.int16() };
            rf.taggedFields();
            return f;
          }),
        );
      }
    }
    return { errorCode, apiKeys, throttleTimeMs, supportedFeatures, finalizedFeaturesEpoch, finalizedFeatures };
  },
};

// ---------------------------------------------------------------------------------------
// DescribeConfigs (key 32) — v1..v4 (v4 flexible)

export interface DescribeConfigsResource {
  type: ConfigResourceType;
  /** Broker id as a string, "" for the cluster-wide broker default, or a topic name. */
  name: string;
  /** null = all keys. */
  configNames: string[] | null;
}

export interface DescribeConfigsRequest {
  resources: DescribeConfigsResource[];
  includeSynonyms: boolean;
  includeDocumentation: boolean;
}

export interface ConfigSynonym {
  name: string;
  value: string | null;
  source: ConfigSource;
}

export interface ConfigEntry {
  name: string;
  value: string | null;
  readOnly: boolean;
  source: ConfigSource;
  isSensitive: boolean;
  /** Highest-precedence first (only when includeSynonyms). */
  synonyms: ConfigSynonym[];
  /** v3+; 'UNKNOWN' otherwise. */
  type: ConfigType;
  documentation: string | null;
}

export interface DescribeConfigsResult {
  errorCode: number;
  errorMessage: string | null;
  resourceType: ConfigResourceType;
  resourceName: string;
  configs: ConfigEntry[];
}

export interface DescribeConfigsResponse {
  throttleTimeMs: number;
  results: DescribeConfigsResult[];
}

export const DescribeConfigs: ApiDefinition<DescribeConfigsRequest, DescribeConfigsResponse> = {
  name: 'DescribeConfigs',
  apiKey: 32,
  minVersion: 1,
  maxVersion: 4,
  firstFlexibleVersion: 4,
  encode(w, req, v) {
    const f = v >= 4;
    w.array(req.resources, f, (ww, res) => {
      ww.int8(resourceTypeCode(res.type)).str(res.name, f);
      ww.array(res.configNames, f, (www, n) => www.str(n, f));
      if (f) ww.taggedFields();
    });
    w.bool(req.includeSynonyms);
    if (v >= 3) w.bool(req.includeDocumentation);
    if (f) w.taggedFields();
  },
  decode(r, v) {
    const f = v >= 4;
    const throttleTimeMs = r.int32();
    const results = r.array(f, (rr) => {
      const errorCode = rr.int16();
      const errorMessage = rr.str(f);
      const resourceType = resourceTypeName(rr.int8());
      const resourceName = rr.strNN(f, 'ResourceName');
      const configs = rr.array(f, (c): ConfigEntry => {
        const name = c.strNN(f, 'config Name');
        const value = c.str(f);
        const readOnly = c.bool();
        const source = configSourceName(c.int8());
        const isSensitive = c.bool();
        const synonyms = c.array(f, (s): ConfigSynonym => {
          const syn = { name: s.strNN(f, 'synonym Name'), value: s.str(f), source: configSourceName(s.int8()) };
          if (f) s.taggedFields();
          return syn;
        });
        let type: ConfigType = 'UNKNOWN';
        let documentation: string | null = null;
        if (v >= 3) {
          type = CONFIG_TYPES[c.int8()] ?? 'UNKNOWN';
          documentation = c.str(f);
        }
        if (f) c.taggedFields();
        return { name, value, readOnly, source, isSensitive, synonyms, type, documentation };
      });
      if (f) rr.taggedFields();
      return { errorCode, errorMessage, resourceType, resourceName, configs };
    });
    if (f) r.taggedFields();
    return { throttleTimeMs, results };
  },
};

// ---------------------------------------------------------------------------------------
// IncrementalAlterConfigs (key 44) — v0..v1 (v1 flexible)

export interface AlterableConfig {
  name: string;
  op: ConfigOperation;
  /** Required for SET/APPEND/SUBTRACT; ignored (sent as null) for DELETE. */
  value?: string | null;
}

export interface IncrementalAlterConfigsResource {
  type: ConfigResourceType;
  /** "<brokerId>", "" (cluster-wide broker default) or a topic name. */
  name: string;
  configs: AlterableConfig[];
}

export interface IncrementalAlterConfigsRequest {
  resources: IncrementalAlterConfigsResource[];
  validateOnly: boolean;
}

export interface AlterConfigsResourceResult {
  errorCode: number;
  errorMessage: string | null;
  resourceType: ConfigResourceType;
  resourceName: string;
}

export interface IncrementalAlterConfigsResponse {
  throttleTimeMs: number;
  responses: AlterConfigsResourceResult[];
}

export const IncrementalAlterConfigs: ApiDefinition<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse> = {
  name: 'IncrementalAlterConfigs',
  apiKey: 44,
  minVersion: 0,
  maxVersion: 1,
  firstFlexibleVersion: 1,
  encode(w, req, v) {
    const f = v >= 1;
    w.array(req.resources, f, (ww, res) => {
      ww.int8(resourceTypeCode(res.type)).str(res.name, f);
      ww.array(res.configs, f, (www, c) => {
        if (c.op !== 'DELETE' && (c.value === undefined || c.value === null)) {
          throw new TypeError(`IncrementalAlterConfigs: ${c.op} ${c.name} needs a value`);
        }
        www.str(c.name, f).int8(CONFIG_OPERATIONS[c.op]).str(c.op === 'DELETE' ? null : (c.value ?? null), f);
        if (f) www.taggedFields();
      });
      if (f) ww.taggedFields();
    });
    w.bool(req.validateOnly);
    if (f) w.taggedFields();
  },
  decode(r, v) {
    const f = v >= 1;
    const throttleTimeMs = r.int32();
    const responses = r.array(f, (rr): AlterConfigsResourceResult => {
      const res = { errorCode: rr.int16(), errorMessage: rr.str(f), resourceType: resourceTypeName(rr.int8()), resourceName: rr.strNN(f, 'ResourceName') };
      if (f) rr.taggedFields();
      return res;
    });
    if (f) r.taggedFields();
    return { throttleTimeMs, responses };
  },
};

// ---------------------------------------------------------------------------------------
// DescribeQuorum (key 55) — v0..v2, all flexible

export const CLUSTER_METADATA_TOPIC = '__cluster_metadata';

export interface DescribeQuorumRequest {
  topics: { topicName: string; partitions: number[] }[];
}

export interface QuorumReplicaState {
  replicaId: number;
  /** v2+ (KIP-853), base64url UUID. */
  replicaDirectoryId: string | null;
  logEndOffset: number;
  /** v1+, -1 when unknown. */
  lastFetchTimestamp: number;
  /** v1+, -1 when unknown. */
  lastCaughtUpTimestamp: number;
}

export interface QuorumPartition {
  partitionIndex: number;
  errorCode: number;
  errorMessage: string | null;
  leaderId: number;
  leaderEpoch: number;
  highWatermark: number;
  currentVoters: QuorumReplicaState[];
  observers: QuorumReplicaState[];
}

export interface QuorumNode {
  nodeId: number;
  listeners: { name: string; host: string; port: number }[];
}

export interface DescribeQuorumResponse {
  errorCode: number;
  errorMessage: string | null;
  topics: { topicName: string; partitions: QuorumPartition[] }[];
  /** v2+. */
  nodes: QuorumNode[];
}

export const DescribeQuorum: ApiDefinition<DescribeQuorumRequest, DescribeQuorumResponse> = {
  name: 'DescribeQuorum',
  apiKey: 55,
  minVersion: 0,
  maxVersion: 2,
  firstFlexibleVersion: 0,
  encode(w, req) {
    w.array(req.topics, true, (ww, t) => {
      ww.compactString(t.topicName);
      ww.array(t.partitions, true, (www, p) => www.int32(p).taggedFields());
      ww.taggedFields();
    });
    w.taggedFields();
  },
  decode(r, v) {
    const replica = (rr: Reader): QuorumReplicaState => {
      const replicaId = rr.int32();
      const replicaDirectoryId = v >= 2 ? rr.uuid() : null;
      const logEndOffset = rr.int64n();
      const lastFetchTimestamp = v >= 1 ? rr.int64n() : -1;
      const lastCaughtUpTimestamp = v >= 1 ? rr.int64n() : -1;
      rr.taggedFields();
      return { replicaId, replicaDirectoryId, logEndOffset, lastFetchTimestamp, lastCaughtUpTimestamp };
    };
    const errorCode = r.int16();
    const errorMessage = v >= 2 ? r.compactString() : null;
    const topics = r.array(true, (rt) => {
      const topicName = rt.strNN(true, 'TopicName');
      const partitions = rt.array(true, (rp): QuorumPartition => {
        const partitionIndex = rp.int32();
        const pErrorCode = rp.int16();
        const pErrorMessage = v >= 2 ? rp.compactString() : null;
        const leaderId = rp.int32();
        const leaderEpoch = rp.int32();
        const highWatermark = rp.int64n();
        const currentVoters = rp.array(true, replica);
        const observers = rp.array(true, replica);
        rp.taggedFields();
        return { partitionIndex, errorCode: pErrorCode, errorMessage: pErrorMessage, leaderId, leaderEpoch, highWatermark, currentVoters, observers };
      });
      rt.taggedFields();
      return { topicName, partitions };
    });
    const nodes =
      v >= 2
        ? r.array(true, (rn): QuorumNode => {
            const nodeId = rn.int32();
            const listeners = rn.array(true, (rl) => {
              const l = { name: rl.strNN(true, 'listener Name'), host: rl.strNN(true, 'listener Host'), port: rl.uint16() };
              rl.taggedFields();
              return l;
            });
            rn.taggedFields();
            return { nodeId, listeners };
          })
        : [];
    r.taggedFields();
    return { errorCode, errorMessage, topics, nodes };
  },
};

// ---------------------------------------------------------------------------------------
// AddRaftVoter (key 80) — v0..v1 and RemoveRaftVoter (key 81) — v0, all flexible (KIP-853)

export interface RaftVoterListener {
  name: string;
  host: string;
  port: number;
}

export interface AddRaftVoterRequest {
  /** null: the leader does not check the cluster id. */
  clusterId: string | null;
  timeoutMs: number;
  voterId: number;
  /** base64url (or hex) UUID. */
  voterDirectoryId: string;
  /** Must include the listener named first in the leader's controller.listener.names. */
  listeners: RaftVoterListener[];
  /** v1+: answer only once the new voter set is committed (default true); v0 always does. */
  ackWhenCommitted?: boolean;
}

/** The response of AddRaftVoter and RemoveRaftVoter (same layout). */
export interface RaftVoterChangeResponse {
  throttleTimeMs: number;
  errorCode: number;
  errorMessage: string | null;
}

function decodeVoterChange(r: Reader): RaftVoterChangeResponse {
  const res = { throttleTimeMs: r.int32(), errorCode: r.int16(), errorMessage: r.compactString() };
  r.taggedFields();
  return res;
}

export const AddRaftVoter: ApiDefinition<AddRaftVoterRequest, RaftVoterChangeResponse> = {
  name: 'AddRaftVoter',
  apiKey: 80,
  minVersion: 0,
  maxVersion: 1,
  firstFlexibleVersion: 0,
  encode(w, req, v) {
    if (v < 1 && req.ackWhenCommitted === false) throw new TypeError('AddRaftVoter v0 cannot ack before commit (ackWhenCommitted needs v1)');
    w.compactString(req.clusterId).int32(req.timeoutMs).int32(req.voterId).uuid(req.voterDirectoryId);
    w.array(req.listeners, true, (ww, l) => ww.compactString(l.name).compactString(l.host).uint16(l.port).taggedFields());
    if (v >= 1) w.bool(req.ackWhenCommitted ?? true);
    w.taggedFields();
  },
  decode: decodeVoterChange,
};

export interface RemoveRaftVoterRequest {
  clusterId: string | null;
  voterId: number;
  voterDirectoryId: string;
}

export const RemoveRaftVoter: ApiDefinition<RemoveRaftVoterRequest, RaftVoterChangeResponse> = {
  name: 'RemoveRaftVoter',
  apiKey: 81,
  minVersion: 0,
  maxVersion: 0,
  firstFlexibleVersion: 0,
  encode(w, req) {
    w.compactString(req.clusterId).int32(req.voterId).uuid(req.voterDirectoryId).taggedFields();
  },
  decode: decodeVoterChange,
};

// ---------------------------------------------------------------------------------------
// UpdateFeatures (key 57) — v0..v2, all flexible (KIP-584; v1 adds UpgradeType/ValidateOnly,
// v2 drops the per-feature results: errors come back at the top level only)

export const FEATURE_UPGRADE_TYPES = { upgrade: 1, 'safe-downgrade': 2, 'unsafe-downgrade': 3 } as const;
export type FeatureUpgradeType = keyof typeof FEATURE_UPGRADE_TYPES;

export interface FeatureUpdate {
  feature: string;
  /** < 1 deletes the finalized feature (a downgrade). */
  maxVersionLevel: number;
  upgradeType: FeatureUpgradeType;
}

export interface UpdateFeaturesRequest {
  timeoutMs: number;
  featureUpdates: FeatureUpdate[];
  /** v1+. */
  validateOnly: boolean;
}

export interface UpdateFeaturesResponse {
  throttleTimeMs: number;
  errorCode: number;
  errorMessage: string | null;
  /** v0-1 only ([] from v2). */
  results: { feature: string; errorCode: number; errorMessage: string | null }[];
}

export const UpdateFeatures: ApiDefinition<UpdateFeaturesRequest, UpdateFeaturesResponse> = {
  name: 'UpdateFeatures',
  apiKey: 57,
  minVersion: 0,
  maxVersion: 2,
  firstFlexibleVersion: 0,
  encode(w, req, v) {
    // v0 can express neither validate-only nor an unsafe downgrade: refuse rather than send
    // something that does more than asked.
    if (v < 1 && req.validateOnly) throw new TypeError('UpdateFeatures v0 has no ValidateOnly');
    w.int32(req.timeoutMs);
    w.array(req.featureUpdates, true, (ww, u) => {
      ww.compactString(u.feature).int16(u.maxVersionLevel);
      if (v >= 1) ww.int8(FEATURE_UPGRADE_TYPES[u.upgradeType]);
      else if (u.upgradeType === 'unsafe-downgrade') throw new TypeError(`UpdateFeatures v0 cannot unsafe-downgrade ${u.feature}`);
      else ww.bool(u.upgradeType === 'safe-downgrade'); // AllowDowngrade
      ww.taggedFields();
    });
    if (v >= 1) w.bool(req.validateOnly);
    w.taggedFields();
  },
  decode(r, v) {
    const throttleTimeMs = r.int32();
    const errorCode = r.int16();
    const errorMessage = r.compactString();
    const results =
      v <= 1
        ? r.array(true, (rr) => {
            const x = { feature: rr.strNN(true, 'Feature'), errorCode: rr.int16(), errorMessage: rr.compactString() };
            rr.taggedFields();
            return x;
          })
        : [];
    r.taggedFields();
    return { throttleTimeMs, errorCode, errorMessage, results };
  },
};

// ---------------------------------------------------------------------------------------
// DescribeCluster (key 60) — v0..v2, all flexible (v1: EndpointType, KIP-919; v2:
// IncludeFencedBrokers / IsFenced, KIP-1073)

export const ENDPOINT_TYPES = { broker: 1, controller: 2 } as const;
export type EndpointType = keyof typeof ENDPOINT_TYPES;

export interface DescribeClusterRequest {
  includeClusterAuthorizedOperations: boolean;
  /** v1+; v0 always describes brokers. */
  endpointType: EndpointType;
  /** v2+: also list fenced brokers (brokers only). */
  includeFencedBrokers: boolean;
}

export interface DescribeClusterNode {
  brokerId: number;
  host: string;
  port: number;
  rack: string | null;
  /** v2+, false before. */
  isFenced: boolean;
}

export interface DescribeClusterResponse {
  throttleTimeMs: number;
  errorCode: number;
  errorMessage: string | null;
  /** v1+, 'broker' before; 'unknown' for a code we do not know. */
  endpointType: EndpointType | 'unknown';
  clusterId: string;
  /** Brokers: the controller id given to clients; controllers: the active controller (raft leader). */
  controllerId: number;
  brokers: DescribeClusterNode[];
  clusterAuthorizedOperations: number;
}

export const DescribeCluster: ApiDefinition<DescribeClusterRequest, DescribeClusterResponse> = {
  name: 'DescribeCluster',
  apiKey: 60,
  minVersion: 0,
  maxVersion: 2,
  firstFlexibleVersion: 0,
  encode(w, req, v) {
    if (v < 1 && req.endpointType !== 'broker') throw new TypeError('DescribeCluster v0 can only describe brokers');
    w.bool(req.includeClusterAuthorizedOperations);
    if (v >= 1) w.int8(ENDPOINT_TYPES[req.endpointType]);
    if (v >= 2) w.bool(req.includeFencedBrokers);
    w.taggedFields();
  },
  decode(r, v) {
    const throttleTimeMs = r.int32();
    const errorCode = r.int16();
    const errorMessage = r.compactString();
    let endpointType: EndpointType | 'unknown' = 'broker';
    if (v >= 1) {
      const code = r.int8();
      endpointType = (Object.entries(ENDPOINT_TYPES).find(([, c]) => c === code)?.[0] as EndpointType | undefined) ?? 'unknown';
    }
    const clusterId = r.strNN(true, 'ClusterId');
    const controllerId = r.int32();
    const brokers = r.array(true, (rb): DescribeClusterNode => {
      const brokerId = rb.int32();
      const host = rb.strNN(true, 'Host');
      const port = rb.int32();
      const rack = rb.compactString();
      const isFenced = v >= 2 ? rb.bool() : false;
      rb.taggedFields();
      return { brokerId, host, port, rack, isFenced };
    });
    const clusterAuthorizedOperations = r.int32();
    r.taggedFields();
    return { throttleTimeMs, errorCode, errorMessage, endpointType, clusterId, controllerId, brokers, clusterAuthorizedOperations };
  },
};

/** Exposed for tests: encode a request body alone. */
export function encodeBody<Req>(api: ApiDefinition<Req, unknown>, req: Req, version: number): Buffer {
  const w = new Writer();
  api.encode(w, req, version);
  return w.toBuffer();
}
