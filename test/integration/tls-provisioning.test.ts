/**
 * Mode 'provisioned' against a real kube-apiserver: `kafka-cdk8s certs`, run with the
 * runtime controller's own ServiceAccount token (so its Role is what it may do), makes
 * the cluster's CA and every node's and the controller's Secret, in the layout Kafka's
 * PEM stores read; a second run changes nothing; a due, tampered or missing certificate
 * is issued again under the same CA; the controller cannot read other Secrets.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSpecFile } from '../../lib/spec/load.js';
import { resolveSpec } from '../../lib/spec/resolve.js';
import { synthCluster } from '../../lib/synth.js';
import { namingContext } from '../../lib/config/listeners.js';
import { desiredCertificates, durationMs } from '../../lib/tls/desired-certificates.js';
import { createCertificateAuthority, issueCertificate } from '../../lib/tls/pki.js';
import { secretDataBase64 } from '../../lib/tls/secret-layout.js';
import { provisionCertificates } from '../../lib/controller/certificates.js';
import { KubeClient } from '../../lib/controller/adapters/kube/client.js';
import { KubeConnection } from '../../lib/controller/adapters/kube/connection.js';
import { ClusterTls } from '../../lib/controller/cluster-tls.js';
import { createLogger } from '../../lib/controller/observability/log.js';
import { parseClusterDocument, renderClusterDocument } from '../../lib/render/cluster-document.js';
import { applyManifests, kubeRequest } from '../support/kube-apply.js';
import { startKubeApiServer, type KubeApiServer } from '../support/kube-server.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const CLI = join(ROOT, 'bin', 'kafka-cdk8s.js');
const EXAMPLE = join(ROOT, 'examples', 'tls-provisioned.yaml');
const model = resolveSpec(loadSpecFile(EXAMPLE)[0]!.spec);
const NS = model.namespace;
const wanted = desiredCertificates({ naming: namingContext(model), tls: model.tls!, nodes: model.nodes, operator: true });
let kube: KubeApiServer;
let dir: string;
let kubeconfig: string;

const certs = (...args: string[]) => spawnSync(process.execPath, [CLI, 'certs', ...args], { encoding: 'utf8' });
const secret = async (name: string) => {
  const res = await kubeRequest(kube.client, 'GET', `/api/v1/namespaces/${NS}/secrets/${name}`);
  assert.equal(res.statusCode, 200, `${name}: ${res.text.slice(0, 200)}`);
  const text = (k: string) => Buffer.from(res.body.data[k] ?? '', 'base64').toString('utf8');
  return { body: res.body, text };
};

before(async () => {
  kube = await startKubeApiServer({ controllerManager: false, installCrds: false });
  await applyManifests(kube.client, synthCluster(loadSpecFile(EXAMPLE)[0]!.spec).yaml, { fieldManager: 'kafka-cdk8s' });
  // The controller's ServiceAccount token, in a kubeconfig of its own.
  const sa = `${model.name}-operator`;
  const token = await kubeRequest(kube.client, 'POST', `/api/v1/namespaces/${NS}/serviceaccounts/${sa}/token`, { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } });
  assert.equal(token.statusCode, 201, token.text);
  dir = mkdtempSync(join(tmpdir(), 'kafka-cdk8s-certs-'));
  kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, JSON.stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': 'operator',
    clusters: [{ name: 'bed', cluster: { server: kube.url, 'certificate-authority-data': Buffer.from(kube.caData).toString('base64') } }],
    users: [{ name: sa, user: { token: token.body.status.token } }],
    contexts: [{ name: 'operator', context: { cluster: 'bed', user: sa, namespace: NS } }],
  }));
});

after(async () => {
  await kube?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('kafka-cdk8s certs makes the CA and every Secret, in the layout Kafka reads, as the controller\'s ServiceAccount', async () => {
  const run = certs('-f', EXAMPLE, '--kubeconfig', kubeconfig);
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /^kafka-tls\/tls: created the CA \(Secret tls-ca\)$/m);
  assert.equal(run.stdout.match(/: issued /g)?.length, wanted.length, run.stdout);
  assert.doesNotMatch(run.stdout + run.stderr, /PRIVATE KEY/, 'no key is printed');

  const ca = new X509Certificate((await secret('tls-ca')).text('tls.crt'));
  assert.ok(ca.ca, 'the CA Secret holds a CA');
  for (const want of wanted) {
    const s = await secret(want.secretName);
    assert.equal(s.body.type, 'kubernetes.io/tls');
    assert.deepEqual(Object.keys(s.body.data).sort(), ['ca.crt', 'tls-combined.pem', 'tls.crt', 'tls.key']);
    const leaf = new X509Certificate(s.text('tls.crt'));
    assert.ok(leaf.verify(ca.publicKey), `${want.secretName} is signed by the cluster's CA`);
    assert.equal(s.text('ca.crt'), ca.toString(), 'ca.crt is the CA');
    const names = (leaf.subjectAltName ?? '').split(', ').filter(Boolean).map((n) => n.replace(/^DNS:/, '')).sort();
    assert.deepEqual(names, [...want.dnsNames].sort(), `${want.secretName}: every name it is reached by`);
    assert.match(s.text('tls.key'), /^-----BEGIN PRIVATE KEY-----\n/, 'PKCS#8, which Kafka\'s PEM keystore reads');
    assert.ok(leaf.checkPrivateKey(createPrivateKey(s.text('tls.key'))), 'the key is the certificate\'s');
    assert.equal(s.text('tls-combined.pem'), `${s.text('tls.key')}\n${s.text('tls.crt')}`, 'key then chain, in one file');
    assert.equal(s.body.metadata.labels['kafka-cdk8s.io/cluster'], 'tls');
    const days = (Date.parse(leaf.validTo) - Date.now()) / 86_400_000;
    assert.ok(Math.abs(days - durationMs(model.tls!.duration) / 86_400_000) < 1, `valid for tls.duration (${days} days)`);
  }
  assert.equal(new X509Certificate((await secret('tls-operator-tls')).text('tls.crt')).subject, 'CN=tls-operator');
});

test('a second run changes nothing; a tampered, missing or due certificate is issued again under the same CA', async () => {
  const versions = async () => Object.fromEntries(await Promise.all(['tls-ca', ...wanted.map((w) => w.secretName)].map(async (n) => [n, (await secret(n)).body.metadata.resourceVersion])));
  const before = await versions();
  const again = certs('-f', EXAMPLE, '--kubeconfig', kubeconfig);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /every certificate is in place and not due/);
  assert.deepEqual(await versions(), before);

  // Another CA's certificate in one Secret; another Secret deleted.
  const other = await createCertificateAuthority({ commonName: 'someone else', validityDays: 1 });
  const foreign = await issueCertificate(other, { commonName: 'tls-broker-0', dnsNames: [...wanted[0]!.dnsNames], validityDays: 30 });
  const s0 = await secret('tls-broker-0-tls');
  assert.equal((await kubeRequest(kube.client, 'PUT', `/api/v1/namespaces/${NS}/secrets/tls-broker-0-tls`, { ...s0.body, data: secretDataBase64(foreign) })).statusCode, 200);
  assert.equal((await kubeRequest(kube.client, 'DELETE', `/api/v1/namespaces/${NS}/secrets/tls-broker-1-tls`)).statusCode, 200);
  const fix = certs('-f', EXAMPLE, '--kubeconfig', kubeconfig);
  assert.equal(fix.status, 0, fix.stderr);
  assert.match(fix.stdout, /issued tls-broker-0-tls: Secret tls-broker-0-tls was signed by another CA/);
  assert.match(fix.stdout, /issued tls-broker-1-tls: Secret tls-broker-1-tls does not exist/);
  assert.equal(fix.stdout.match(/: issued /g)?.length, 2, fix.stdout);
  const ca = new X509Certificate((await secret('tls-ca')).text('tls.crt'));
  assert.ok(new X509Certificate((await secret('tls-broker-0-tls')).text('tls.crt')).verify(ca.publicKey));

  // Due: the controller's own pass (the same code), at a time inside renewBefore.
  const kubeAsController = new KubeClient(KubeConnection.fromKubeconfig(kubeconfig), NS);
  const notAfter = Date.parse(new X509Certificate((await secret('tls-broker-2-tls')).text('tls.crt')).validTo);
  const result = await provisionCertificates(kubeAsController, {
    caName: model.tls!.caName, caCommonName: 'unused', certificates: wanted,
    validityMs: durationMs(model.tls!.duration), renewBeforeMs: durationMs(model.tls!.renewBefore), labels: {},
    now: new Date(notAfter - durationMs(model.tls!.renewBefore) + 60_000), limit: 2,
  });
  assert.equal(result.caCreated, false);
  assert.equal(result.issued.length, 2, 'at most the limit per call');
  assert.ok(result.deferred >= 1, 'the rest is left for the next call');
  assert.match(result.issued[0]!.reason, /expires on .*: renewing/);
});

test('the controller\'s pass makes a missing node Secret from the cluster document, as its ServiceAccount', async () => {
  assert.equal((await kubeRequest(kube.client, 'DELETE', `/api/v1/namespaces/${NS}/secrets/tls-broker-2-tls`)).statusCode, 200);
  const doc = parseClusterDocument(renderClusterDocument(model), 'document');
  const events: string[] = [];
  const kubeAsController = new KubeClient(KubeConnection.fromKubeconfig(kubeconfig), NS);
  const tls = new ClusterTls({
    cluster: model.name,
    kube: kubeAsController,
    log: createLogger({ level: 'error' }),
    labels: { 'kafka-cdk8s.io/cluster': model.name },
    event: async (type, reason, message) => { events.push(`${type} ${reason}: ${message}`); },
    reloader: undefined as never, // not used by provision()
  });
  assert.equal(await tls.provision(doc), false, 'nothing left for a next pass');
  assert.deepEqual(events, ['Normal CertificateIssued: tls-broker-2-tls: Secret tls-broker-2-tls does not exist']);
  const leaf = new X509Certificate((await secret('tls-broker-2-tls')).text('tls.crt'));
  assert.ok(leaf.verify(new X509Certificate((await secret('tls-ca')).text('tls.crt')).publicKey));
  assert.match(leaf.subjectAltName ?? '', /DNS:tls-bootstrap\.kafka-tls\.svc\.cluster\.local/);
});

test('the controller may not read other Secrets; the command refuses a cluster whose certificates it does not make', async () => {
  const other = await kubeRequest(kube.client, 'POST', `/api/v1/namespaces/${NS}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'someone-elses' }, stringData: { a: 'b' } });
  assert.equal(other.statusCode, 201, other.text);
  const asController = new KubeClient(KubeConnection.fromKubeconfig(kubeconfig), NS);
  await assert.rejects(asController.getSecret('someone-elses'), /403/);
  const refused = certs('-f', join(ROOT, 'examples', 'tls-cert-manager.yaml'), '--kubeconfig', kubeconfig);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /tls\.mode is 'cert-manager'; kafka-cdk8s certs makes certificates for tls\.mode 'provisioned' only/);
});
