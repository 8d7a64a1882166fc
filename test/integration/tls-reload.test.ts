/**
 * The controller gets a renewed certificate served by a running broker, with no restart,
 * the way it happens in Kubernetes: the Secret changes in the API server first, the
 * kubelet swaps the Pod's files some time later, and Kafka reloads only on a dynamic
 * update. Real Kafka (one combined node with an INTERNAL listener in mutual TLS, its
 * stores read from a Secret-like directory), a real kube-apiserver holding the Secret,
 * and the controller's own code: TlsReloader over its admin connection in mutual TLS
 * (our socket factory and kafkajs, both reading the controller's certificate files).
 * ONCE: the controller runs on its image's Node (see test/support/once.ts).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { createKafkaAdmin, type KafkaAdmin } from '../../lib/controller/adapters/kafka/admin.js';
import { KubeClient } from '../../lib/controller/adapters/kube/client.js';
import { kafkajsTlsFiles, tlsFilesSocketFactory, readTlsFiles } from '../../lib/controller/adapters/kafka/tls-files.js';
import { servedCertificate } from '../../lib/controller/adapters/kafka/tls-socket.js';
import { TlsReloader } from '../../lib/controller/tls-reload.js';
import { RELOAD_RETRY_MS } from '../../lib/controller/decide/tls-reload.js';
import { readNodeState } from '../../lib/controller/decide/node-state.js';
import { createLogger } from '../../lib/controller/observability/log.js';
import { parseProperties } from '../../lib/config/properties-format.js';
import { tlsListenerConfig } from '../../lib/config/tls-config.js';
import { createCertificateAuthority, describeCertificate, issueCertificate, type IssuedCertificate } from '../../lib/tls/pki.js';
import { secretData, secretDataBase64 } from '../../lib/tls/secret-layout.js';
import { ENV } from '../../lib/render/start-script.js';
import { readFileSync } from 'node:fs';
import { startKafkaCluster, type KafkaCluster } from '../support/kafka-cluster.js';
import { startKubeApiServer, type KubeApiServer } from '../support/kube-server.js';
import { kubeRequest } from '../support/kube-apply.js';
import { writeSecretDir } from '../support/cert-issuer.js';
import { eventually, sleep } from '../support/wait.js';
import { ONCE } from '../support/once.js';

const NS = 'kafka-tls';
const SECRET = 'tls-broker-0-tls';
let kube: KubeApiServer;
let kafka: KafkaCluster;
let admin: KafkaAdmin;
let dir: string;
let caPem: string;
let renew: () => Promise<IssuedCertificate>;
let first: IssuedCertificate;
const brokerDir = () => join(dir, 'broker-0');
const controllerDir = () => join(dir, 'controller');
const internalPort = () => kafka.node(0).listenerPorts.INTERNAL!;

describe('renewed certificates reach a running broker', ONCE, () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kafka-cdk8s-tls-reload-'));
    const ca = await createCertificateAuthority({ commonName: 'tls-reload test CA', validityDays: 2 });
    caPem = ca.rootPem;
    renew = () => issueCertificate(ca, { commonName: 'tls-broker-0', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], validityDays: 1 });
    first = await renew();
    const client = await issueCertificate(ca, { commonName: 'tls-operator', dnsNames: [], usage: 'client', validityDays: 1 });
    writeSecretDir(brokerDir(), secretData(first));
    writeSecretDir(controllerDir(), secretData(client));
    [kube, kafka] = await Promise.all([
      startKubeApiServer({ controllerManager: false, installCrds: false }),
      startKafkaCluster({
        combined: true,
        brokers: 1,
        extraListeners: [{ name: 'INTERNAL', protocol: 'SSL', config: () => tlsListenerConfig('INTERNAL', { clientAuth: 'required', dir: brokerDir() }) }],
      }),
    ]);
    await kubeRequest(kube.client, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    const created = await kubeRequest(kube.client, 'POST', `/api/v1/namespaces/${NS}/secrets`, {
      apiVersion: 'v1', kind: 'Secret', metadata: { name: SECRET }, type: 'kubernetes.io/tls', data: secretDataBase64(first),
    });
    assert.equal(created.statusCode, 201, created.text);
    // The controller's admin connection, as `--tls-dir` makes it: both of its paths in mutual TLS.
    admin = createKafkaAdmin({
      brokers: [`localhost:${internalPort()}`],
      clientId: 'tls-reload-test',
      socketFactory: tlsFilesSocketFactory(controllerDir()),
      kafkajs: { ssl: kafkajsTlsFiles(controllerDir()) },
    });
  });

  after(async () => {
    await admin?.close();
    await kafka?.close();
    await kube?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the controller\'s admin connection works in mutual TLS, through our requests and through kafkajs', async () => {
    const quorum = await admin.describeQuorum();
    assert.equal(quorum.leaderId, 0);
    const cluster = await admin.describeCluster();
    assert.deepEqual(cluster.brokers.map((b) => b.nodeId), [0]);
  });

  test('a Secret renewed in the API server is served by the running broker once the kubelet swapped the files: the controller updates until it is', { timeout: 120_000 }, async () => {
    const pid = kafka.node(0).handle!.pid;
    const properties = parseProperties(readFileSync(kafka.node(0).propertiesFile, 'utf8'));
    // The node as the controller reads it off its Pod: the server.properties it runs.
    const state = readNodeState({ metadata: { name: 'tls-broker-0' }, spec: { containers: [{ env: [{ name: ENV.serverProperties, value: Object.entries(properties).map(([k, v]) => `${k}=${v}`).join('\n') }] }] } });
    let clock = Date.now();
    const events: string[] = [];
    const reloader = new TlsReloader({
      kube: new KubeClient(kube.client, NS),
      kafka: admin,
      client: () => readTlsFiles(controllerDir()),
      log: createLogger({ level: 'error' }),
      event: async (pod, type, reason, message) => { events.push(`${pod} ${type} ${reason}: ${message}`); },
      now: () => clock,
    });
    const brokers = [{ state, secretName: SECRET, ready: true }];
    const served = async () => (await servedCertificate(`127.0.0.1:${internalPort()}`, { ...readTlsFiles(controllerDir()), servername: 'localhost' })).sha256Fingerprint;
    const fp = (c: IssuedCertificate) => describeCertificate(c.certificatePem).sha256Fingerprint;

    assert.equal(await reloader.reconcile(brokers), 0, 'the broker serves its Secret\'s certificate: nothing to do');
    assert.deepEqual(events, []);

    // Renewed: the API server has the new Secret; the Pod's files are still the old ones.
    const next = await renew();
    const secret = await kubeRequest(kube.client, 'GET', `/api/v1/namespaces/${NS}/secrets/${SECRET}`);
    const updated = await kubeRequest(kube.client, 'PUT', `/api/v1/namespaces/${NS}/secrets/${SECRET}`, { ...secret.body, data: secretDataBase64(next) });
    assert.equal(updated.statusCode, 200, updated.text);
    assert.equal(await reloader.reconcile(brokers), 1, 'an update went out');
    await sleep(3000); // the broker applies the update when it replays the record
    assert.equal(await served(), fp(first), 'Kafka reloaded the files it has, which are still the old ones');
    clock += RELOAD_RETRY_MS - 1;
    assert.equal(await reloader.reconcile(brokers), 1, 'waiting before the next update');

    // The kubelet swaps the files; the next update (after the retry period) makes Kafka load them.
    writeSecretDir(brokerDir(), secretData(next));
    assert.equal(await served(), fp(first), 'Kafka does not watch the files');
    clock += 1;
    assert.equal(await reloader.reconcile(brokers), 1, 'the second update went out');
    await eventually('the renewed certificate served after the second update', async () => ((await served()) === fp(next) ? true : undefined), 15_000);
    // Each network thread reloads in turn: the controller calls it done once every one serves it.
    await eventually('the reloader sees every network thread serve it', async () => ((await reloader.reconcile(brokers)) === 0 ? true : undefined), 15_000);
    assert.equal(events.length, 1);
    assert.match(events[0]!, /^tls-broker-0 Normal CertificateReloaded: Serves its renewed certificate .* after 2 dynamic update\(s\), with no restart$/);
    assert.equal(kafka.node(0).handle!.pid, pid, 'the same Kafka process');
    assert.ok(kafka.node(0).handle!.running);

    // The only dynamic overrides are the stores' locations, at their server.properties values; clients work.
    const dynamic = (await admin.describeBrokerConfigs(0, { includeSynonyms: false })).filter((e) => e.source === 'DYNAMIC_BROKER_CONFIG');
    assert.deepEqual(dynamic.map((e) => [e.name, e.value]).sort(), [
      ['listener.name.internal.ssl.keystore.location', properties['listener.name.internal.ssl.keystore.location']],
      ['listener.name.internal.ssl.truststore.location', properties['listener.name.internal.ssl.truststore.location']],
    ]);
    const files = readTlsFiles(controllerDir());
    const client = new kafkajs.Kafka({
      clientId: 'after-renewal', brokers: [`localhost:${internalPort()}`], logLevel: kafkajs.logLevel.NOTHING,
      ssl: { ca: [caPem], cert: files.cert, key: files.key },
    });
    const producer = client.producer({ idempotent: false });
    await producer.connect();
    await admin.createTopics([{ name: 'renewed', partitions: 1, replicationFactor: 1 }], { waitForLeaders: true });
    await producer.send({ topic: 'renewed', acks: -1, messages: [{ value: 'ok' }] });
    await producer.disconnect();
  });
});
