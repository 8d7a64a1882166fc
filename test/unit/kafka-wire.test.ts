import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KafkaProtocolError, kafkaErrorInfo, throwIfError } from '../../lib/controller/adapters/kafka/errors.js';
import {
  AddRaftVoter,
  ApiVersions,
  DescribeCluster,
  DescribeQuorum,
  IncrementalAlterConfigs,
  RemoveRaftVoter,
  UpdateFeatures,
  encodeBody,
} from '../../lib/controller/adapters/kafka/requests.js';
import { FrameDecoder, Reader, Writer, encodeRequest, frame, writeRequestHeader } from '../../lib/controller/adapters/kafka/wire.js';

const hex = (b: Buffer): string => b.toString('hex');
const w = (): Writer => new Writer(1); // tiny initial size exercises growth
const rd = (h: string): Reader => new Reader(Buffer.from(h.replace(/\s+/g, ''), 'hex'));

describe('unsigned varint', () => {
  const vectors: [number, string][] = [
    [0, '00'],
    [1, '01'],
    [127, '7f'],
    [128, '8001'],
    [300, 'ac02'],
    [16383, 'ff7f'],
    [16384, '808001'],
    [2 ** 31, '8080808008'],
    [2 ** 32 - 1, 'ffffffff0f'],
  ];
  for (const [n, h] of vectors) {
    it(`${n} <-> ${h}`, () => {
      assert.equal(hex(w().uvarint(n).toBuffer()), h);
      const r = rd(h);
      assert.equal(r.uvarint(), n);
      assert.equal(r.remaining, 0);
    });
  }
  it('rejects negatives, fractions, > 32 bits and over-long input', () => {
    assert.throws(() => w().uvarint(-1), RangeError);
    assert.throws(() => w().uvarint(1.5), RangeError);
    assert.throws(() => w().uvarint(2 ** 32), RangeError);
    assert.throws(() => rd('ffffffffff01').uvarint(), /longer than 5 bytes/);
    assert.throws(() => rd('80').uvarint(), /truncated/);
  });
});

describe('signed (zigzag) varint', () => {
  const vectors: [number, string][] = [
    [0, '00'],
    [-1, '01'],
    [1, '02'],
    [-2, '03'],
    [63, '7e'],
    [-64, '7f'],
    [64, '8001'],
    [2147483647, 'feffffff0f'],
    [-2147483648, 'ffffffff0f'],
  ];
  for (const [n, h] of vectors) {
    it(`${n} <-> ${h}`, () => {
      assert.equal(hex(w().varint(n).toBuffer()), h);
      assert.equal(rd(h).varint(), n);
    });
  }
});

describe('strings', () => {
  it('classic STRING / NULLABLE_STRING (int16 length, -1 = null)', () => {
    assert.equal(hex(w().string('abc').toBuffer()), '0003616263');
    assert.equal(hex(w().string('').toBuffer()), '0000');
    assert.equal(hex(w().string(null).toBuffer()), 'ffff');
    assert.equal(rd('0003616263').string(), 'abc');
    assert.equal(rd('ffff').string(), null);
  });
  it('COMPACT_STRING / COMPACT_NULLABLE_STRING (uvarint length+1, 0 = null)', () => {
    assert.equal(hex(w().compactString('abc').toBuffer()), '04616263');
    assert.equal(hex(w().compactString('').toBuffer()), '01');
    assert.equal(hex(w().compactString(null).toBuffer()), '00');
    assert.equal(rd('04616263').compactString(), 'abc');
    assert.equal(rd('01').compactString(), '');
    assert.equal(rd('00').compactString(), null);
  });
  it('UTF-8 lengths are byte lengths', () => {
    assert.equal(hex(w().compactString('é').toBuffer()), '03c3a9');
    assert.equal(rd('03c3a9').compactString(), 'é');
  });
  it('a 127-byte compact string needs a two-byte length', () => {
    const b = w().compactString('x'.repeat(127)).toBuffer();
    assert.equal(hex(b.subarray(0, 2)), '8001');
    assert.equal(new Reader(b).compactString(), 'x'.repeat(127));
  });
  it('strNN rejects null', () => {
    assert.throws(() => rd('00').strNN(true, 'ResourceName'), /unexpected null ResourceName/);
  });
});

describe('arrays', () => {
  it('classic (int32 length, -1 = null) and compact (uvarint length+1, 0 = null)', () => {
    assert.equal(hex(w().array([1, 2], false, (x, v) => x.int8(v)).toBuffer()), '000000020102');
    assert.equal(hex(w().array(null, false, () => undefined).toBuffer()), 'ffffffff');
    assert.equal(hex(w().array([1, 2], true, (x, v) => x.int8(v)).toBuffer()), '030102');
    assert.equal(hex(w().array([], true, () => undefined).toBuffer()), '01');
    assert.equal(hex(w().array(null, true, () => undefined).toBuffer()), '00');
    assert.deepEqual(rd('030102').array(true, (r) => r.int8()), [1, 2]);
    assert.equal(rd('00').arrayLength(true), null);
    assert.equal(rd('ffffffff').arrayLength(false), null);
  });
});

describe('tagged fields', () => {
  it('empty section is a single zero byte', () => {
    assert.equal(hex(w().taggedFields().toBuffer()), '00');
  });
  it('writes count, then tag/size/bytes in ascending tag order', () => {
    const fields = new Map<number, Uint8Array>([
      [5, Uint8Array.from([0xaa, 0xbb])],
      [0, Uint8Array.from([0x01])],
    ]);
    assert.equal(hex(w().taggedFields(fields).toBuffer()), '02' + '000101' + '0502aabb');
  });
  it('reads unknown tags without interpreting them', () => {
    const r = rd('02 000101 0502aabb 7f');
    const t = r.taggedFields();
    assert.deepEqual([...t.keys()], [0, 5]);
    assert.equal(hex(t.get(5)!), 'aabb');
    assert.equal(r.int8(), 0x7f);
  });
});

describe('fixed-width and uuid', () => {
  it('int16/int32/int64/uint16/bool are big-endian', () => {
    const b = w().int16(-2).int32(0x01020304).int64(-1n).uint16(65535).bool(true).toBuffer();
    assert.equal(hex(b), 'fffe' + '01020304' + 'ffffffffffffffff' + 'ffff' + '01');
    const r = new Reader(b);
    assert.equal(r.int16(), -2);
    assert.equal(r.int32(), 0x01020304);
    assert.equal(r.int64(), -1n);
    assert.equal(r.uint16(), 65535);
    assert.equal(r.bool(), true);
  });
  it('uuid round-trips in Kafka base64url form', () => {
    const id = 'AAECAwQFBgcICQoLDA0ODw'; // bytes 00..0f
    const b = w().uuid(id).toBuffer();
    assert.equal(hex(b), '000102030405060708090a0b0c0d0e0f');
    assert.equal(new Reader(b).uuid(), id);
  });
});

describe('headers and framing', () => {
  it('request header v1 (classic) and v2 (+ tagged fields); client id always int16-length', () => {
    const h = { apiKey: 44, apiVersion: 1, correlationId: 7, clientId: 'c' };
    const v1 = w();
    writeRequestHeader(v1, h, false);
    assert.equal(hex(v1.toBuffer()), '002c' + '0001' + '00000007' + '000163');
    const v2 = w();
    writeRequestHeader(v2, h, true);
    assert.equal(hex(v2.toBuffer()), '002c' + '0001' + '00000007' + '000163' + '00');
  });
  it('frame() prefixes the int32 size; FrameDecoder reassembles split and merged chunks', () => {
    const a = frame(Buffer.from('0102', 'hex'));
    const b = frame(Buffer.from('030405', 'hex'));
    assert.equal(hex(a), '000000020102');
    const d = new FrameDecoder();
    const all = Buffer.concat([a, b]);
    assert.deepEqual(d.push(all.subarray(0, 3)), []);
    const got = [...d.push(all.subarray(3, 7)), ...d.push(all.subarray(7))].map(hex);
    assert.deepEqual(got, ['0102', '030405']);
    assert.throws(() => new FrameDecoder().push(Buffer.from('ffffffff', 'hex')), /bad frame size/);
  });
});

describe('IncrementalAlterConfigs encoding', () => {
  const req = {
    resources: [{ type: 'BROKER' as const, name: '', configs: [{ name: 'x', op: 'SET' as const, value: 'y' }, { name: 'z', op: 'DELETE' as const }] }],
    validateOnly: false,
  };
  it('v1 (flexible): compact arrays/strings, tagged fields per struct', () => {
    const expected =
      '02' + // 1 resource
      '04' + // ResourceType BROKER
      '01' + // ResourceName "" (compact)
      '03' + // 2 configs
      '0278' + '00' + '0279' + '00' + // x SET y, tags
      '027a' + '01' + '00' + '00' + // z DELETE null, tags
      '00' + // resource tags
      '00' + // ValidateOnly false
      '00'; // top-level tags
    assert.equal(hex(encodeBody(IncrementalAlterConfigs, req, 1)), expected);
  });
  it('v0 (classic): int32 arrays, int16 strings', () => {
    const expected = '00000001' + '04' + '0000' + '00000002' + '000178' + '00' + '000179' + '00017a' + '01' + 'ffff' + '00';
    assert.equal(hex(encodeBody(IncrementalAlterConfigs, req, 0)), expected);
  });
  it('SET without a value is refused before anything is sent', () => {
    assert.throws(() => encodeBody(IncrementalAlterConfigs, { resources: [{ type: 'BROKER', name: '1', configs: [{ name: 'a', op: 'SET' }] }], validateOnly: false }, 1), /needs a value/);
  });
  it('full request = header v2 + body', () => {
    const b = encodeRequest(IncrementalAlterConfigs, 1, 9, 'c', req);
    assert.equal(hex(b.subarray(0, 12)), '002c' + '0001' + '00000009' + '000163' + '00');
  });
});

describe('DescribeQuorum', () => {
  it('encodes the request for __cluster_metadata-0', () => {
    const b = encodeBody(DescribeQuorum, { topics: [{ topicName: '__cluster_metadata', partitions: [0] }] }, 2);
    assert.equal(hex(b), '02' + '13' + Buffer.from('__cluster_metadata').toString('hex') + '02' + '00000000' + '00' + '00' + '00');
  });
  it('decodes a hand-built v2 response', () => {
    const x = new Writer();
    x.int16(0).compactString(null); // ErrorCode, ErrorMessage
    x.array([0], true, (t) => {
      t.compactString('__cluster_metadata');
      t.array([0], true, (p) => {
        p.int32(0).int16(0).compactString(null).int32(9001).int32(3).int64(120n);
        p.array([9001, 9000], true, (v, id) => v.int32(id).uuid('AAECAwQFBgcICQoLDA0ODw').int64(id === 9001 ? 120n : 118n).int64(-1n).int64(1000n).taggedFields());
        p.array([0], true, (o, id) => o.int32(id).uuid('AAAAAAAAAAAAAAAAAAAAAA').int64(119n).int64(5n).int64(6n).taggedFields());
        p.taggedFields();
      });
      t.taggedFields();
    });
    x.array([9001], true, (n, id) => {
      n.int32(id);
      n.array([0], true, (l) => l.compactString('CONTROLLER').compactString('127.0.0.1').uint16(9093).taggedFields());
      n.taggedFields();
    });
    x.taggedFields();
    const r = new Reader(x.toBuffer());
    const res = DescribeQuorum.decode(r, 2);
    assert.equal(r.remaining, 0);
    const p = res.topics[0]!.partitions[0]!;
    assert.equal(p.leaderId, 9001);
    assert.equal(p.leaderEpoch, 3);
    assert.equal(p.highWatermark, 120);
    assert.deepEqual(
      p.currentVoters.map((v) => [v.replicaId, v.logEndOffset]),
      [
        [9001, 120],
        [9000, 118],
      ],
    );
    assert.equal(p.observers[0]!.lastFetchTimestamp, 5);
    assert.deepEqual(res.nodes, [{ nodeId: 9001, listeners: [{ name: 'CONTROLLER', host: '127.0.0.1', port: 9093 }] }]);
  });
});

const DIR = 'AAECAwQFBgcICQoLDA0ODw'; // bytes 00..0f
const DIR_HEX = '000102030405060708090a0b0c0d0e0f';
/** COMPACT_STRING of ASCII text, as hex. */
const cs = (t: string): string => (t.length + 1).toString(16).padStart(2, '0') + Buffer.from(t).toString('hex');

describe('AddRaftVoter / RemoveRaftVoter encoding', () => {
  const add = { clusterId: null, timeoutMs: 30_000, voterId: 9003, voterDirectoryId: DIR, listeners: [{ name: 'CONTROLLER', host: '127.0.0.1', port: 9093 }] };
  const body = '00' + '00007530' + '0000232b' + DIR_HEX + '02' + cs('CONTROLLER') + cs('127.0.0.1') + '2385' + '00';
  it('v0: ClusterId null, TimeoutMs, VoterId, VoterDirectoryId, Listeners [Name, Host, uint16 Port]', () => {
    assert.equal(hex(encodeBody(AddRaftVoter, add, 0)), body + '00');
  });
  it('v1 adds AckWhenCommitted (default true) before the tagged fields', () => {
    assert.equal(hex(encodeBody(AddRaftVoter, add, 1)), body + '01' + '00');
    assert.equal(hex(encodeBody(AddRaftVoter, { ...add, ackWhenCommitted: false }, 1)), body + '00' + '00');
  });
  it('v0 cannot ack before commit, so it refuses ackWhenCommitted=false', () => {
    assert.throws(() => encodeBody(AddRaftVoter, { ...add, ackWhenCommitted: false }, 0), /needs v1/);
  });
  it('a hex directory id encodes like its base64url form', () => {
    assert.equal(hex(encodeBody(AddRaftVoter, { ...add, voterDirectoryId: DIR_HEX }, 0)), body + '00');
  });
  it('full request uses header v2 (flexible from v0)', () => {
    const b = encodeRequest(AddRaftVoter, 1, 5, 'c', add);
    assert.equal(hex(b.subarray(0, 12)), '0050' + '0001' + '00000005' + '000163' + '00');
  });
  it('RemoveRaftVoter v0: ClusterId, VoterId, VoterDirectoryId', () => {
    assert.equal(hex(encodeBody(RemoveRaftVoter, { clusterId: 'abc', voterId: 9003, voterDirectoryId: DIR }, 0)), cs('abc') + '0000232b' + DIR_HEX + '00');
    assert.equal(hex(encodeBody(RemoveRaftVoter, { clusterId: null, voterId: 1, voterDirectoryId: DIR }, 0)), '00' + '00000001' + DIR_HEX + '00');
  });
  it('decodes the shared response layout (ThrottleTimeMs, ErrorCode, ErrorMessage)', () => {
    const r = rd('00000000' + '007e' + cs('dup') + '00');
    assert.deepEqual(AddRaftVoter.decode(r, 1), { throttleTimeMs: 0, errorCode: 126, errorMessage: 'dup' });
    assert.equal(r.remaining, 0);
    assert.deepEqual(RemoveRaftVoter.decode(rd('00000005' + '0000' + '00' + '00'), 0), { throttleTimeMs: 5, errorCode: 0, errorMessage: null });
  });
});

describe('UpdateFeatures encoding', () => {
  const mv = (upgradeType: 'upgrade' | 'safe-downgrade' | 'unsafe-downgrade', validateOnly = false) => ({
    timeoutMs: 60_000,
    featureUpdates: [{ feature: 'metadata.version', maxVersionLevel: 33, upgradeType }],
    validateOnly,
  });
  const head = '0000ea60' + '02' + cs('metadata.version') + '0021';
  it('v0: AllowDowngrade bool per feature, no ValidateOnly', () => {
    assert.equal(hex(encodeBody(UpdateFeatures, mv('upgrade'), 0)), head + '00' + '00' + '00');
    assert.equal(hex(encodeBody(UpdateFeatures, mv('safe-downgrade'), 0)), head + '01' + '00' + '00');
  });
  it('v0 refuses what it cannot express (validate-only, unsafe downgrade) instead of doing more', () => {
    assert.throws(() => encodeBody(UpdateFeatures, mv('upgrade', true), 0), /no ValidateOnly/);
    assert.throws(() => encodeBody(UpdateFeatures, mv('unsafe-downgrade'), 0), /cannot unsafe-downgrade/);
  });
  it('v1 and v2: UpgradeType int8 (1 upgrade, 2 safe, 3 unsafe) and ValidateOnly', () => {
    for (const v of [1, 2]) {
      assert.equal(hex(encodeBody(UpdateFeatures, mv('upgrade'), v)), head + '01' + '00' + '00' + '00');
      assert.equal(hex(encodeBody(UpdateFeatures, mv('safe-downgrade', true), v)), head + '02' + '00' + '01' + '00');
      assert.equal(hex(encodeBody(UpdateFeatures, mv('unsafe-downgrade'), v)), head + '03' + '00' + '00' + '00');
    }
  });
  it('decodes per-feature results (v0-1) and their absence (v2)', () => {
    const v1 = rd('00000000' + '0000' + '00' + '02' + cs('metadata.version') + '005f' + cs('bad') + '00' + '00');
    assert.deepEqual(UpdateFeatures.decode(v1, 1), { throttleTimeMs: 0, errorCode: 0, errorMessage: null, results: [{ feature: 'metadata.version', errorCode: 95, errorMessage: 'bad' }] });
    assert.equal(v1.remaining, 0);
    const v2 = rd('00000000' + '005f' + cs('bad') + '00');
    assert.deepEqual(UpdateFeatures.decode(v2, 2), { throttleTimeMs: 0, errorCode: 95, errorMessage: 'bad', results: [] });
    assert.equal(v2.remaining, 0);
  });
});

describe('DescribeCluster', () => {
  const req = { includeClusterAuthorizedOperations: false, endpointType: 'controller' as const, includeFencedBrokers: true };
  it('encodes v0 (brokers only), v1 (+EndpointType), v2 (+IncludeFencedBrokers)', () => {
    assert.equal(hex(encodeBody(DescribeCluster, { ...req, endpointType: 'broker' }, 0)), '00' + '00');
    assert.throws(() => encodeBody(DescribeCluster, req, 0), /only describe brokers/);
    assert.equal(hex(encodeBody(DescribeCluster, req, 1)), '00' + '02' + '00');
    assert.equal(hex(encodeBody(DescribeCluster, req, 2)), '00' + '02' + '01' + '00');
  });
  it('decodes a hand-built v2 response (EndpointType, IsFenced)', () => {
    const body =
      '00000000' + '0000' + '00' + // throttle, error, message null
      '02' + // EndpointType controller
      cs('cid') + '00002329' + // ClusterId, ControllerId 9001
      '03' + // 2 nodes
      ('00002328' + cs('h0') + '00002385' + '00' + '00' + '00') + // 9000 h0:9093 rack null, not fenced
      ('0000232b' + cs('h3') + '00002386' + cs('r1') + '01' + '00') + // 9003 h3:9094 rack r1, fenced
      '80000000' + '00'; // ClusterAuthorizedOperations (omitted), tags
    const r = rd(body);
    const res = DescribeCluster.decode(r, 2);
    assert.equal(r.remaining, 0);
    assert.deepEqual(res, {
      throttleTimeMs: 0,
      errorCode: 0,
      errorMessage: null,
      endpointType: 'controller',
      clusterId: 'cid',
      controllerId: 9001,
      brokers: [
        { brokerId: 9000, host: 'h0', port: 9093, rack: null, isFenced: false },
        { brokerId: 9003, host: 'h3', port: 9094, rack: 'r1', isFenced: true },
      ],
      clusterAuthorizedOperations: -2147483648,
    });
  });
  it('v0 responses have no EndpointType (brokers) and no IsFenced', () => {
    const res = DescribeCluster.decode(rd('00000000' + '0000' + '00' + cs('cid') + '00000001' + '02' + '00000001' + cs('h') + '00002383' + '00' + '00' + '80000000' + '00'), 0);
    assert.equal(res.endpointType, 'broker');
    assert.deepEqual(res.brokers, [{ brokerId: 1, host: 'h', port: 9091, rack: null, isFenced: false }]);
  });
});

describe('ApiVersions', () => {
  it('v3 and v4 requests carry the client software name and version', () => {
    const req = { clientSoftwareName: 'k', clientSoftwareVersion: '1' };
    assert.equal(hex(encodeBody(ApiVersions, req, 3)), cs('k') + cs('1') + '00');
    assert.equal(hex(encodeBody(ApiVersions, req, 4)), cs('k') + cs('1') + '00');
    assert.equal(hex(encodeBody(ApiVersions, req, 0)), '');
  });
  it('decodes a hand-built v3 body with SupportedFeatures (tag 0), FinalizedFeaturesEpoch (1), FinalizedFeatures (2)', () => {
    const supported = '03' + (cs('metadata.version') + '0007' + '0021' + '00') + (cs('kraft.version') + '0000' + '0001' + '00');
    const epoch = '000000000000012c'; // 300
    const finalized = '03' + (cs('metadata.version') + '001e' + '001e' + '00') + (cs('kraft.version') + '0001' + '0001' + '00');
    const size = (h: string): string => (h.length / 2).toString(16).padStart(2, '0'); // all < 128 bytes: one-byte uvarint
    const body =
      '0000' + // ErrorCode
      '02' + ('0012' + '0000' + '0004' + '00') + // ApiKeys: ApiVersions 0-4
      '00000000' + // ThrottleTimeMs
      '04' + // 4 tagged fields, tag 3 (ZkMigrationReady) is skipped
      ('00' + size(supported) + supported) +
      ('01' + size(epoch) + epoch) +
      ('02' + size(finalized) + finalized) +
      ('03' + '01' + '00');
    const r = rd(body);
    const res = ApiVersions.decode(r, 3);
    assert.equal(r.remaining, 0);
    assert.deepEqual(res, {
      errorCode: 0,
      apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 4 }],
      throttleTimeMs: 0,
      supportedFeatures: [
        { name: 'metadata.version', minVersion: 7, maxVersion: 33 },
        { name: 'kraft.version', minVersion: 0, maxVersion: 1 },
      ],
      finalizedFeaturesEpoch: 300,
      finalizedFeatures: [
        { name: 'metadata.version', maxVersionLevel: 30, minVersionLevel: 30 },
        { name: 'kraft.version', maxVersionLevel: 1, minVersionLevel: 1 },
      ],
    });
  });
  it('without the tags (or before v3): no features, epoch -1', () => {
    const v3 = ApiVersions.decode(rd('0000' + '01' + '00000000' + '00'), 3);
    assert.deepEqual([v3.supportedFeatures, v3.finalizedFeatures, v3.finalizedFeaturesEpoch], [[], [], -1]);
    const v0 = ApiVersions.decode(rd('0000' + '00000001' + '0012' + '0000' + '0003'), 0);
    assert.deepEqual(v0, { errorCode: 0, apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 3 }], throttleTimeMs: 0, supportedFeatures: [], finalizedFeaturesEpoch: -1, finalizedFeatures: [] });
  });
  it('a tagged field with bytes left over is a decode error', () => {
    assert.throws(() => ApiVersions.decode(rd('0000' + '01' + '00000000' + '01' + '01' + '09' + '000000000000012c' + 'ff'), 3), /FinalizedFeaturesEpoch: 1 unexpected trailing bytes/);
  });
});

describe('errors', () => {
  it('maps codes to names and retriability', () => {
    assert.deepEqual(kafkaErrorInfo(40), { name: 'INVALID_CONFIG', retriable: false });
    assert.equal(kafkaErrorInfo(41).name, 'NOT_CONTROLLER');
    assert.equal(kafkaErrorInfo(41).retriable, true);
    assert.equal(kafkaErrorInfo(-1).name, 'UNKNOWN_SERVER_ERROR');
    assert.equal(kafkaErrorInfo(9999).name, 'UNKNOWN_ERROR_9999');
  });
  it('names the codes of voter changes and feature updates', () => {
    assert.deepEqual(
      [95, 114, 125, 126, 127].map((c) => kafkaErrorInfo(c).name),
      ['INVALID_UPDATE_VERSION', 'MISMATCHED_ENDPOINT_TYPE', 'INVALID_VOTER_KEY', 'DUPLICATE_VOTER', 'VOTER_NOT_FOUND'],
    );
  });
  it('throwIfError raises a KafkaProtocolError carrying code, type and server message', () => {
    assert.doesNotThrow(() => throwIfError(0, null));
    assert.throws(
      () => throwIfError(40, 'bad value', 'IncrementalAlterConfigs BROKER "1"'),
      (e: unknown) => e instanceof KafkaProtocolError && e.code === 40 && e.type === 'INVALID_CONFIG' && e.serverMessage === 'bad value' && /BROKER "1": INVALID_CONFIG \(40\): bad value/.test(e.message),
    );
  });
});
