/**
 * Proves TLS listeners reading the node's Secret as PEM files against a real 2-node (combined)
 * KRaft cluster of the pinned Kafka: certificates made each supported way are served and
 * accepted, bad ones are refused, and a renewed certificate (the kubelet's atomic swap of the
 * Secret dir) is picked up by the running broker on an IncrementalAlterConfigs of the
 * unchanged keystore path, without a restart. Needs `bash test/bed/install-kafka.sh` first.
 *
 * Listeners (each node has its own Secret dir per listener):
 *   TLS      client auth none; inter-broker listener. Node 0: lib/tls/pki.ts; node 1: cert-manager's Secret.
 *   MTLS     client auth required. Both nodes: bring-your-own, made with the openssl CLI.
 *   EXPIRED  client auth none. Both nodes: a certificate whose notAfter has passed.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import { clientTlsProperties, tlsListenerConfig, tlsReloadKeys } from '../../lib/config/tls-config.js';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { WRAPPER_HOME } from '../support/pod-runner.js';
import { createKafkaAdmin, type KafkaAdmin } from '../../lib/controller/adapters/kafka/admin.js';
import { KafkaConnection } from '../../lib/controller/adapters/kafka/connection.js';
import { servedCertificate, tlsSocketFactory, type TlsClientOptions } from '../../lib/controller/adapters/kafka/tls-socket.js';
import { certificateAuthorityFromPem, createCertificateAuthority, describeCertificate, issueCertificate, type CertificateAuthority, type IssuedCertificate } from '../../lib/tls/pki.js';
import { secretData, tlsFilePaths } from '../../lib/tls/secret-layout.js';
import { issueAsCertManager, issueWithOpenssl, writeSecretDir, type OpensslIssued } from '../support/cert-issuer.js';
import { startKafkaCluster, type KafkaCluster } from '../support/kafka-cluster.js';
import { ONCE } from '../support/once.js';
import { eventually, sleep } from '../support/wait.js';
import { createTopicsAndWait } from '../support/topics.js';

const { Kafka, logLevel } = kafkajs;
type KafkaSsl = NonNullable<ConstructorParameters<typeof Kafka>[0]['ssl']>;

const NODES = [0, 1] as const;
const LISTENERS = { TLS: 'none', MTLS: 'required', EXPIRED: 'none' } as const;
type ListenerName = keyof typeof LISTENERS;
/** Every certificate carries these SANs: clients dial 127.0.0.1 and verify `localhost`. */
const SANS = { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] };
const SERVERNAME = 'localhost';
const DAY = 24 * 3600 * 1000;
/** Java's alerts (TLS 1.3) for a missing client certificate, and for one from a CA it does not trust. */
const NO_CLIENT_CERT = /alert bad certificate/;
const UNTRUSTED_CLIENT_CERT = /refused our client certificate: .*alert certificate unknown/;

let base: string;
let cluster: KafkaCluster;
let ours: KafkaAdmin;
let caA: CertificateAuthority;
let byo0: OpensslIssued;
/** The openssl-made CA (MTLS) as a CA our pki can sign client certificates with. */
let caB: CertificateAuthority;
const served: Record<number, { tls: string; expired: string }> = {};
const t0 = Date.now();

const secretDir = (id: number, listener: ListenerName): string => join(base, `node-${id}-${listener.toLowerCase()}`);
const addr = (id: number, listener: ListenerName): string => `127.0.0.1:${cluster.node(id).listenerPorts[listener]}`;
const bootstrap = (listener: ListenerName): string[] => NODES.map((id) => addr(id, listener));
const serialOf = (pem: string): string => describeCertificate(pem).serialNumber;

function client(listener: ListenerName, ssl: KafkaSsl, retries = 0): InstanceType<typeof Kafka> {
  return new Kafka({ clientId: `tls-test-${listener}`, brokers: bootstrap(listener), ssl, logLevel: logLevel.NOTHING, connectionTimeout: 5000, retry: { retries } });
}

/** Produces to both partitions (acks=all, so replication over TLS must work) and reads them back. */
async function roundTrip(kafka: InstanceType<typeof Kafka>, topic: string, tag: string, consume: boolean): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages: [0, 1].map((partition) => ({ partition, value: `${tag}-${partition}` })) });
  } finally {
    await producer.disconnect();
  }
  if (!consume) return;
  const consumer = kafka.consumer({ groupId: `g-${tag}`, sessionTimeout: 6000, heartbeatInterval: 500 });
  await consumer.connect();
  try {
    const seen = new Set<string>();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void seen.add(String(message.value)) });
    await eventually(`consumer ${tag} to read both messages`, async () => (seen.has(`${tag}-0`) && seen.has(`${tag}-1`) ? true : undefined), 30_000);
  } finally {
    await consumer.disconnect();
  }
}

/** Creates a topic with one partition led by each node, replicated to both. */
async function createTopic(kafka: InstanceType<typeof Kafka>, topic: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await createTopicsAndWait(admin, [{ topic, replicaAssignment: [{ partition: 0, replicas: [0, 1] }, { partition: 1, replicas: [1, 0] }], configEntries: [{ name: 'min.insync.replicas', value: '2' }] }]);
  } finally {
    await admin.disconnect();
  }
}

/** Opens one of our own connections (ApiVersions round trip) through the TLS socket factory. */
async function ourConnection(address: string, opts: TlsClientOptions): Promise<void> {
  const c = await KafkaConnection.open(address, { socketFactory: tlsSocketFactory(opts), connectTimeoutMs: 5000, requestTimeoutMs: 5000 });
  c.close();
}

before(async () => {
  base = mkdtempSync(join(tmpdir(), 'kafka-tls-'));
  caA = await createCertificateAuthority({ commonName: 'kafka-tls test CA A', validityDays: 30 });
  // TLS: node 0 from our pki, node 1 as cert-manager would write it, both signed by CA A.
  const pkiLeaf = await issueCertificate(caA, { commonName: 'broker-0', ...SANS, validityDays: 30 });
  writeSecretDir(secretDir(0, 'TLS'), secretData(pkiLeaf));
  const cm = await issueAsCertManager(
    {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: { name: 'broker-1-tls' },
      spec: { secretName: 'broker-1-tls', commonName: 'broker-1', ...SANS, duration: '720h', usages: ['server auth', 'client auth'], privateKey: { algorithm: 'RSA', encoding: 'PKCS8', size: 2048 }, additionalOutputFormats: [{ type: 'CombinedPEM' }] },
    },
    caA,
  );
  writeSecretDir(secretDir(1, 'TLS'), cm.data);
  // MTLS: bring-your-own from openssl, one openssl CA for both nodes.
  byo0 = issueWithOpenssl({ commonName: 'broker-0', ...SANS });
  const byo1 = issueWithOpenssl({ commonName: 'broker-1', ...SANS, ca: { certificatePem: byo0.caPem, privateKeyPem: byo0.caKeyPem } });
  writeSecretDir(secretDir(0, 'MTLS'), secretData(byo0));
  writeSecretDir(secretDir(1, 'MTLS'), secretData(byo1));
  caB = certificateAuthorityFromPem(byo0.caPem, byo0.caKeyPem);
  // EXPIRED: valid last week, expired yesterday.
  for (const id of NODES) {
    const expired = await issueCertificate(caA, { commonName: `broker-${id}`, ...SANS, notBefore: new Date(Date.now() - 7 * DAY), notAfter: new Date(Date.now() - DAY) });
    writeSecretDir(secretDir(id, 'EXPIRED'), secretData(expired));
    served[id] = { tls: serialOf(id === 0 ? pkiLeaf.certificatePem : cm.data['tls.crt']!), expired: serialOf(expired.certificatePem) };
  }
  const tCerts = Date.now();

  cluster = await startKafkaCluster({
    combined: true,
    brokers: 2,
    // Replication runs over TLS: the brokers' own clients use the listener's keys, hostname verification on.
    brokerConfig: { 'inter.broker.listener.name': 'TLS' },
    extraListeners: (Object.keys(LISTENERS) as ListenerName[]).map((name) => ({
      name,
      protocol: 'SSL' as const,
      config: (id: number) => tlsListenerConfig(name, { clientAuth: LISTENERS[name], dir: secretDir(id, name) }),
    })),
  });
  ours = createKafkaAdmin({ brokers: cluster.bootstrapServers, clientId: 'kafka-tls-test' });
  console.log(`# certificates in ${tCerts - t0} ms; 2-node TLS cluster ready in ${Date.now() - tCerts} ms`);
});

after(async () => {
  await ours?.close().catch(() => undefined);
  await cluster?.close();
  if (base) rmSync(base, { recursive: true, force: true });
  console.log(`# kafka-tls suite: ${Date.now() - t0} ms`);
});

describe('Kafka TLS listeners with PEM files from the node Secret', ONCE, () => {
  it('serves each node its own certificate: ours on node 0, cert-manager\'s on node 1', async () => {
    for (const id of NODES) {
      const cert = await servedCertificate(addr(id, 'TLS'), { ca: caA.rootPem, servername: SERVERNAME });
      assert.equal(cert.serialNumber, served[id]!.tls, `node ${id}`);
      assert.equal(cert.subject, `CN=broker-${id}`);
    }
  });

  it('kafkajs produces and consumes over TLS, replicating over TLS (acks=all, min ISR 2)', async () => {
    const kafka = client('TLS', { ca: [caA.rootPem], servername: SERVERNAME }, 3);
    await createTopic(kafka, 'tls');
    await roundTrip(kafka, 'tls', 'tls', true);
  });

  it('the readiness probe\'s Kafka tool reaches a mutual-TLS listener with the node\'s own Secret (clientTlsProperties), not without its certificate', () => {
    const run = (props: Record<string, string>) => {
      const file = join(base, `probe-${Object.keys(props).length}.properties`);
      writeFileSync(file, Object.entries({ 'request.timeout.ms': '5000', 'default.api.timeout.ms': '10000', ...props }).map(([k, v]) => `${k}=${v}`).join('\n'));
      return spawnSync(join(WRAPPER_HOME, 'bin', 'kafka-topics.sh'), ['--bootstrap-server', addr(0, 'MTLS'), '--command-config', file, '--describe', '--under-replicated-partitions'], { encoding: 'utf8', timeout: 60_000 });
    };
    const probe = run(clientTlsProperties({ dir: secretDir(0, 'MTLS'), clientAuth: 'required', verifyHostname: false }));
    assert.equal(probe.status, 0, probe.stderr);
    const noCert = run(clientTlsProperties({ dir: secretDir(0, 'MTLS'), clientAuth: 'none', verifyHostname: false }));
    assert.notEqual(noCert.status, 0, 'the listener asks for a client certificate');
  });

  it('mTLS with openssl-made (bring-your-own) certificates: a client certificate is required', async () => {
    const clientCert = await issueCertificate(caB, { commonName: 'client', dnsNames: ['client'], validityDays: 1 });
    const withCert = client('MTLS', { ca: [byo0.caPem], servername: SERVERNAME, cert: clientCert.certificatePem, key: clientCert.privateKeyPem }, 3);
    await createTopic(withCert, 'mtls');
    await roundTrip(withCert, 'mtls', 'mtls', true);
    // The same without a certificate: the broker ends the connection after the handshake.
    const admin = client('MTLS', { ca: [byo0.caPem], servername: SERVERNAME }).admin();
    await assert.rejects(admin.connect(), (e: Error) => NO_CLIENT_CERT.test(e.message) || assert.fail(e.message));
    await admin.disconnect();
    await assert.rejects(ourConnection(addr(0, 'MTLS'), { ca: byo0.caPem, servername: SERVERNAME }), /refused a connection without a client certificate: .*alert bad certificate/);
    await ourConnection(addr(0, 'MTLS'), { ca: byo0.caPem, servername: SERVERNAME, cert: clientCert.certificatePem, key: clientCert.privateKeyPem });
  });

  it('refuses a server certificate from an untrusted CA, for another name, or expired', async () => {
    const otherCa = await createCertificateAuthority({ commonName: 'some other CA', validityDays: 1 });
    const refused = async (listener: ListenerName, ssl: KafkaSsl, why: RegExp): Promise<void> => {
      const admin = client(listener, ssl).admin();
      await assert.rejects(admin.connect(), (e: Error) => why.test(e.message) || assert.fail(`${listener}: ${e.message}`));
      await admin.disconnect();
    };
    await refused('TLS', { ca: [otherCa.rootPem], servername: SERVERNAME }, /unable to (get local issuer|verify)|self[- ]signed/);
    await refused('TLS', { ca: [caA.rootPem], servername: 'kafka.elsewhere.test' }, /does not match certificate's altnames/);
    await refused('EXPIRED', { ca: [caA.rootPem], servername: SERVERNAME }, /certificate has expired/);
    // Our own connections say why, naming the broker and the name checked.
    await assert.rejects(ourConnection(addr(0, 'TLS'), { ca: otherCa.rootPem, servername: SERVERNAME }), /TLS: the certificate of 127\.0\.0\.1:\d+ was not accepted \(checked name: localhost\)/);
    await assert.rejects(ourConnection(addr(0, 'TLS'), { ca: caA.rootPem, servername: 'kafka.elsewhere.test' }), /checked name: kafka\.elsewhere\.test.*ERR_TLS_CERT_ALTNAME_INVALID/);
    await assert.rejects(servedCertificate(addr(1, 'EXPIRED'), { ca: caA.rootPem, servername: SERVERNAME }), /CERT_HAS_EXPIRED/);
    // Kafka itself loaded and serves the expired certificate: refusing it is the client's job.
    for (const id of NODES) {
      const cert = await servedCertificate(addr(id, 'EXPIRED'), { ca: caA.rootPem, servername: SERVERNAME, verify: false });
      assert.equal(cert.serialNumber, served[id]!.expired);
      assert.ok(cert.notAfter.getTime() < Date.now());
    }
    // Our own client with the right CA and name gets through (the refusals above are not a broken listener).
    await ourConnection(addr(0, 'TLS'), { ca: caA.rootPem, servername: SERVERNAME });
  });

  it('a renewed keystore is served after an IncrementalAlterConfigs of the unchanged path, by the same process, twice', async () => {
    const pid = cluster.node(0).handle!.pid;
    const keystore = tlsFilePaths(secretDir(0, 'TLS')).keystore;
    for (const round of [1, 2]) {
      const renewed: IssuedCertificate = await issueCertificate(caA, { commonName: 'broker-0', ...SANS, validityDays: 30 });
      const want = serialOf(renewed.certificatePem);
      assert.notEqual(want, served[0]!.tls);
      writeSecretDir(secretDir(0, 'TLS'), secretData(renewed));
      // Kafka does not watch the file: it keeps serving the certificate it loaded.
      await sleep(1500);
      assert.equal((await servedCertificate(addr(0, 'TLS'), { ca: caA.rootPem, servername: SERVERNAME })).serialNumber, served[0]!.tls, `round ${round}: served before the alter`);
      const tAlter = Date.now();
      await ours.alterBrokerConfigsIncremental(0, [{ name: tlsReloadKeys('TLS').keystore, op: 'SET', value: keystore }]);
      await eventually(`round ${round}: node 0 to serve serial ${want}`, async () =>
        (await servedCertificate(addr(0, 'TLS'), { ca: caA.rootPem, servername: SERVERNAME })).serialNumber === want ? true : undefined, 20_000);
      console.log(`# round ${round}: node 0 served the renewed certificate ${Date.now() - tAlter} ms after the alter`);
      served[0]!.tls = want;
      assert.equal(cluster.node(0).handle!.pid, pid, 'no restart');
      assert.equal(cluster.node(0).handle!.running, true);
    }
    // Node 1 was not told and still serves its own certificate.
    assert.equal((await servedCertificate(addr(1, 'TLS'), { ca: caA.rootPem, servername: SERVERNAME })).serialNumber, served[1]!.tls);
    // New TLS clients work, and replication (node 1 fetching from node 0 over TLS) still does.
    await roundTrip(client('TLS', { ca: [caA.rootPem], servername: SERVERNAME }, 3), 'tls', 'renewed', false);
  });

  it('a changed truststore (an added CA) is used after an IncrementalAlterConfigs of the unchanged path', async () => {
    const caC = await createCertificateAuthority({ commonName: 'kafka-tls test CA C', validityDays: 1 });
    const clientC = await issueCertificate(caC, { commonName: 'client-c', dnsNames: ['client-c'], validityDays: 1 });
    const asClientC: TlsClientOptions = { ca: byo0.caPem, servername: SERVERNAME, cert: clientC.certificatePem, key: clientC.privateKeyPem };
    await assert.rejects(ourConnection(addr(0, 'MTLS'), asClientC), UNTRUSTED_CLIENT_CERT, 'CA C is not trusted yet');
    writeSecretDir(secretDir(0, 'MTLS'), secretData({ ...byo0, caPem: byo0.caPem + caC.rootPem }));
    await sleep(1000);
    await assert.rejects(ourConnection(addr(0, 'MTLS'), asClientC), UNTRUSTED_CLIENT_CERT, 'the new bundle is not read without the alter');
    await ours.alterBrokerConfigsIncremental(0, [{ name: tlsReloadKeys('MTLS').truststore, op: 'SET', value: tlsFilePaths(secretDir(0, 'MTLS')).truststore }]);
    await eventually('node 0 to accept a client certificate from CA C', async () => {
      await ourConnection(addr(0, 'MTLS'), asClientC);
      return true;
    }, 20_000);
    // Node 1 still trusts only the openssl CA.
    await assert.rejects(ourConnection(addr(1, 'MTLS'), asClientC), UNTRUSTED_CLIENT_CERT);
  });
});
