/**
 * TLS, pure parts: the cluster's certificates (names), what the synth emits in each mode
 * (Kafka's PEM config, the Secret each Pod mounts, cert-manager objects, the controller's
 * certificate and RBAC), that no private key is ever in the output, and the controller's
 * decisions (issue or keep a certificate, reload a renewed one).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { parseProperties } from '../../lib/config/properties-format.js';
import { synthCluster } from '../../lib/synth.js';
import { loadSpecFile } from '../../lib/spec/load.js';
import { validateSpec } from '../../lib/spec/validate.js';
import { resolveSpec } from '../../lib/spec/resolve.js';
import { namingContext } from '../../lib/config/listeners.js';
import { desiredCertificates, durationMs } from '../../lib/tls/desired-certificates.js';
import { clusterDocument, parseClusterDocument, renderClusterDocument } from '../../lib/render/cluster-document.js';
import { certificateStep } from '../../lib/controller/decide/certificates.js';
import { BLIND_RELOAD_DELAYS_MS, RELOAD_RETRY_MS, reloadStep, tlsListeners } from '../../lib/controller/decide/tls-reload.js';
import { synthObjects, type K8sObject } from '../support/synth.js';

const EXAMPLES = new URL('../../examples/', import.meta.url).pathname;
const example = (file: string) => parseYaml(readFileSync(EXAMPLES + file, 'utf8'));
const find = (objects: K8sObject[], kind: string, name: string) => {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(o, `${kind}/${name} is in the output`);
  return o as any;
};
const podOf = (objects: K8sObject[], name: string) => JSON.parse(find(objects, 'ConfigMap', name).data['pod.json']);
const propsOf = (objects: K8sObject[], name: string) => parseProperties(find(objects, 'ConfigMap', name).data['server.properties']);

test('every node certificate names every way the node is reached: its Service, the bootstrap Service, the external host', () => {
  const spec = example('tls-provisioned.yaml');
  spec.externalAccess = { type: 'envoy', host: 'kafka.example.com' };
  const model = resolveSpec(spec);
  const certs = desiredCertificates({ naming: namingContext(model), tls: model.tls!, nodes: model.nodes, operator: true });
  assert.deepEqual(certs.map((c) => c.secretName), ['tls-broker-0-tls', 'tls-broker-1-tls', 'tls-broker-2-tls', 'tls-operator-tls']);
  assert.deepEqual(certs[1]!.dnsNames, [
    'tls-broker-1', 'tls-broker-1.kafka-tls', 'tls-broker-1.kafka-tls.svc', 'tls-broker-1.kafka-tls.svc.cluster.local',
    'tls-bootstrap', 'tls-bootstrap.kafka-tls', 'tls-bootstrap.kafka-tls.svc', 'tls-bootstrap.kafka-tls.svc.cluster.local',
    'kafka.example.com',
  ]);
  assert.deepEqual(certs[3], { secretName: 'tls-operator-tls', commonName: 'tls-operator', dnsNames: [], usage: 'client' });
  // Dedicated controllers are reached by their own Service only.
  const dedicated = resolveSpec({ ...example('tls-provisioned.yaml'), controllers: { mode: 'dedicated', replicas: 3 } });
  const controller = desiredCertificates({ naming: namingContext(dedicated), tls: dedicated.tls!, nodes: dedicated.nodes, operator: false })
    .find((c) => c.nodeId === 9000)!;
  assert.deepEqual(controller.dnsNames, ['tls-controller-9000', 'tls-controller-9000.kafka-tls', 'tls-controller-9000.kafka-tls.svc', 'tls-controller-9000.kafka-tls.svc.cluster.local']);
});

test('a TLS listener reads the node\'s mounted Secret as PEM; the probes speak TLS; without tls nothing changes', () => {
  const objects = synthObjects(example('tls-cert-manager.yaml'));
  const props = propsOf(objects, 'secure-broker-1');
  assert.equal(props['listener.security.protocol.map'], 'CONTROLLER:PLAINTEXT,INTERNAL:SSL');
  assert.equal(props['listener.name.internal.ssl.keystore.type'], 'PEM');
  assert.equal(props['listener.name.internal.ssl.keystore.location'], '/etc/kafka-cdk8s-tls/tls-combined.pem');
  assert.equal(props['listener.name.internal.ssl.truststore.location'], '/etc/kafka-cdk8s-tls/ca.crt');
  assert.equal(props['listener.name.internal.ssl.client.auth'], 'required');
  const pod = podOf(objects, 'secure-broker-1');
  assert.deepEqual(pod.spec.volumes.find((v: any) => v.name === 'tls'), { name: 'tls', secret: { secretName: 'secure-broker-1-tls', defaultMode: 0o440 } });
  const kafka = pod.spec.containers[0];
  assert.deepEqual(kafka.volumeMounts.find((m: any) => m.name === 'tls'), { name: 'tls', mountPath: '/etc/kafka-cdk8s-tls', readOnly: true });
  assert.match(kafka.command[2], /security\.protocol=SSL\\nssl\.endpoint\.identification\.algorithm=\\n.*ssl\.keystore\.location=\/etc\/kafka-cdk8s-tls\/tls-combined\.pem/);
  assert.match(kafka.readinessProbe.exec.command[2], /--command-config \/tmp\/kafka-cdk8s-client\.properties/);
  // The Pod in the output is the one the ConfigMap stores (and hashes).
  assert.deepEqual(find(objects, 'Pod', 'secure-broker-1').spec, pod.spec);

  const plain = synthObjects(example('small-combined.yaml'));
  const plainPod = podOf(plain, 'small-broker-1');
  assert.ok(!plainPod.spec.volumes.some((v: any) => v.name === 'tls'));
  assert.doesNotMatch(plainPod.spec.containers[0].command[2], /client\.properties/);
  assert.ok(!Object.keys(propsOf(plain, 'small-broker-1')).some((k) => k.includes('ssl')));
});

test('a listener can stay plaintext while the other is TLS; clientAuth per listener', () => {
  const spec = example('tls-provisioned.yaml');
  spec.listeners = { internal: { tls: false }, external: { clientAuth: 'required' } };
  spec.externalAccess = { type: 'envoy', host: 'kafka.example.com' };
  const objects = synthObjects(spec);
  const props = propsOf(objects, 'tls-broker-0');
  assert.equal(props['listener.security.protocol.map'], 'CONTROLLER:PLAINTEXT,EXTERNAL:SSL,INTERNAL:PLAINTEXT');
  assert.equal(props['listener.name.external.ssl.client.auth'], 'required');
  assert.equal(props['listener.name.internal.ssl.keystore.location'], undefined);
  assert.doesNotMatch(podOf(objects, 'tls-broker-0').spec.containers[0].command[2], /client\.properties/, 'the probes reach INTERNAL in plaintext');
  const deployment = find(objects, 'Deployment', 'tls-operator');
  assert.ok(!deployment.spec.template.spec.containers[0].args.includes('--tls-dir'), 'the controller talks to INTERNAL, which is plaintext');
});

test('cert-manager: a CA of our own unless an issuer is given; Certificates with PKCS#8 and CombinedPEM; node Certificates are prune-proof', () => {
  const objects = synthObjects(example('tls-cert-manager.yaml'));
  const certs = objects.filter((o) => o.kind === 'Certificate').map((o) => o.metadata.name);
  assert.deepEqual(certs.sort(), ['secure-broker-0-tls', 'secure-broker-1-tls', 'secure-broker-2-tls', 'secure-ca', 'secure-operator-tls']);
  assert.deepEqual(objects.filter((o) => o.kind === 'Issuer').map((o) => o.metadata.name).sort(), ['secure-ca', 'secure-ca-selfsigned']);
  const node = find(objects, 'Certificate', 'secure-broker-0-tls');
  assert.deepEqual(node.spec.privateKey, { algorithm: 'RSA', encoding: 'PKCS8', rotationPolicy: 'Always', size: 2048 });
  assert.deepEqual(node.spec.additionalOutputFormats, [{ type: 'CombinedPEM' }]);
  assert.deepEqual(node.spec.issuerRef, { group: 'cert-manager.io', kind: 'Issuer', name: 'secure-ca' });
  assert.ok(node.spec.usages.includes('server auth') && node.spec.usages.includes('client auth'));
  assert.equal(node.metadata.annotations['kustomize.toolkit.fluxcd.io/prune'], 'disabled');
  assert.equal(node.spec.secretTemplate.labels['kafka-cdk8s.io/node-id'], '0');
  const operator = find(objects, 'Certificate', 'secure-operator-tls');
  assert.deepEqual(operator.spec.usages, ['digital signature', 'key encipherment', 'client auth']);
  assert.equal(operator.spec.dnsNames, undefined);

  const given = example('tls-cert-manager.yaml');
  given.tls.issuer = { kind: 'ClusterIssuer', name: 'corporate-ca' };
  const withIssuer = synthObjects(given);
  assert.deepEqual(withIssuer.filter((o) => o.kind === 'Issuer'), [], 'no CA of our own');
  assert.deepEqual(find(withIssuer, 'Certificate', 'secure-broker-2-tls').spec.issuerRef, { group: 'cert-manager.io', kind: 'ClusterIssuer', name: 'corporate-ca' });
  for (const file of ['tls-provisioned.yaml', 'tls-secrets.yaml']) {
    assert.deepEqual(synthObjects(example(file)).filter((o) => o.metadata.name && String(o.apiVersion).startsWith('cert-manager.io')), [], file);
  }
});

test('the controller: its client certificate mounted, and RBAC on exactly the cluster\'s Secrets (create and update in mode provisioned)', () => {
  const provisioned = synthObjects(example('tls-provisioned.yaml'));
  const pod = find(provisioned, 'Deployment', 'tls-operator').spec.template.spec;
  assert.deepEqual(pod.volumes.find((v: any) => v.name === 'tls'), { name: 'tls', secret: { defaultMode: 0o440, optional: true, secretName: 'tls-operator-tls' } });
  assert.equal(pod.securityContext.fsGroup, 1000, 'the Secret files are readable by the controller\'s group');
  assert.deepEqual(pod.containers[0].args.slice(-2), ['--tls-dir', '/etc/kafka-cdk8s-tls']);
  const names = ['tls-broker-0-tls', 'tls-broker-1-tls', 'tls-broker-2-tls', 'tls-operator-tls'];
  const rules = find(provisioned, 'Role', 'tls-operator').rules.filter((r: any) => r.resources.includes('secrets'));
  assert.deepEqual(rules, [
    { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
    { apiGroups: [''], resources: ['secrets'], resourceNames: ['tls-ca', ...names], verbs: ['get', 'update'] },
  ]);
  const byo = find(synthObjects(example('tls-secrets.yaml')), 'Role', 'byo-operator').rules.filter((r: any) => r.resources.includes('secrets'));
  assert.deepEqual(byo, [{ apiGroups: [''], resources: ['secrets'], resourceNames: ['byo-broker-0-cert', 'byo-broker-1-cert', 'byo-broker-2-cert', 'byo-controller-cert'], verbs: ['get'] }]);
  const plain = find(synthObjects(example('small-combined.yaml')), 'Role', 'small-operator').rules;
  assert.ok(!plain.some((r: any) => r.resources.includes('secrets')), 'no TLS, no Secrets');
});

test('no private key is ever in the output of any example, nor a Secret', () => {
  const files = readdirSync(EXAMPLES).filter((f) => f.endsWith('.yaml'));
  assert.ok(files.filter((f) => f.startsWith('tls-')).length >= 3, 'the TLS examples are among them');
  for (const file of files) {
    for (const { spec, source } of loadSpecFile(EXAMPLES + file)) {
      const out = synthCluster(spec, source);
      assert.doesNotMatch(out.yaml, /PRIVATE KEY|BEGIN CERTIFICATE/, file);
      assert.doesNotMatch(out.yaml, /^kind: Secret$/m, file);
      // Nor hidden in a base64 blob.
      for (const blob of out.yaml.match(/[A-Za-z0-9+/]{60,}={0,2}/g) ?? []) {
        assert.doesNotMatch(Buffer.from(blob, 'base64').toString('latin1'), /PRIVATE KEY/, `${file}: a base64 value`);
      }
    }
  }
});

test('the cluster document carries the TLS settings the controller needs, and reads back the same', () => {
  const spec = example('tls-provisioned.yaml');
  spec.externalAccess = { type: 'envoy', host: 'kafka.example.com' };
  const model = resolveSpec(spec);
  const text = renderClusterDocument(model);
  assert.deepEqual(parseClusterDocument(text, 'doc'), clusterDocument(model));
  assert.deepEqual(clusterDocument(model).tls, {
    mode: 'provisioned', secretName: '{node}-tls', operatorSecretName: 'tls-operator-tls', caName: 'tls-ca',
    duration: '720h', renewBefore: '240h', clusterDomain: 'cluster.local', externalHost: 'kafka.example.com',
  });
  assert.equal(clusterDocument(resolveSpec(example('small-combined.yaml'))).tls, undefined);
  assert.throws(() => parseClusterDocument(text.replace('"provisioned"', '"magic"'), 'doc'), /doc: tls\.mode "magic" is unknown/);
});

test('spec: TLS settings are checked against each other, naming the field', () => {
  const problems = (spec: unknown) => validateSpec(spec).filter((p) => !p.warning).map((p) => `${p.path}: ${p.message}`);
  const base = example('small-combined.yaml');
  assert.deepEqual(problems({ ...base, listeners: { internal: { tls: true } } }),
    ['listeners.internal.tls: listener internal has tls: true, but there is no tls section saying where its certificates come from']);
  assert.deepEqual(problems({ ...base, listeners: { internal: { clientAuth: 'required' } } }),
    ["listeners.internal.clientAuth: clientAuth 'required' needs TLS on the internal listener (a tls section, and tls not false)"]);
  assert.deepEqual(problems({ ...base, tls: { mode: 'secrets', issuer: { name: 'x' }, duration: '24h' } }), [
    "tls.issuer: issuer is a cert-manager setting; mode is 'secrets'",
    "tls.duration: duration does not apply to mode 'secrets': you make and renew those certificates",
  ]);
  assert.deepEqual(problems({ ...base, tls: { mode: 'provisioned', secretName: 'fixed-name' } }).map((p) => p.split(':')[0]), ['tls.secretName']);
  assert.deepEqual(problems({ ...base, tls: { mode: 'provisioned', duration: '90d' } }),
    ["tls.duration: duration must be a duration in hours and minutes such as '2160h' or '720h30m' (got \"90d\")"]);
  assert.deepEqual(problems({ ...base, tls: { mode: 'provisioned' }, config: { 'listener.name.internal.ssl.keystore.location': '/x' } }),
    ['config["listener.name.internal.ssl.keystore.location"]: \'listener.name.internal.ssl.keystore.location\' is set by kafka-cdk8s and cannot be overridden; use tls and listeners.<name>.clientAuth instead']);
  assert.equal(durationMs('720h30m'), (720 * 60 + 30) * 60_000);
});

test('certificates in mode provisioned: issue when missing, incomplete, from another CA, for other names, expired or due; else keep', () => {
  const desired = { secretName: 's', commonName: 'n', dnsNames: ['a', 'b'], usage: 'node' as const };
  const now = new Date('2026-11-26T00:00:00Z');
  const day = 86_400_000;
  const leaf = (notAfter: Date, dnsNames = ['b', 'a']) => ({ subject: 'CN=n', issuer: 'CN=ca', dnsNames, ipAddresses: [], notBefore: now, notAfter, serialNumber: '1', sha256Fingerprint: 'F' });
  const good = { leaf: leaf(new Date(now.getTime() + 60 * day)), complete: true, trustsCurrentCa: true };
  const step = (c: Parameters<typeof certificateStep>[0]) => certificateStep(c, desired, now, 30 * day);
  assert.deepEqual(step(good), { action: 'keep' }, 'names compared as a set');
  assert.match((step(undefined) as { reason: string }).reason, /does not exist/);
  assert.match((step({ ...good, complete: false }) as { reason: string }).reason, /lacks/);
  assert.match((step({ ...good, trustsCurrentCa: false }) as { reason: string }).reason, /another CA/);
  assert.match((step({ ...good, leaf: leaf(good.leaf.notAfter, ['a', 'c']) }) as { reason: string }).reason, /names of s changed/);
  assert.match((step({ ...good, leaf: leaf(new Date(now.getTime() - 1)) }) as { reason: string }).reason, /expired/);
  assert.match((step({ ...good, leaf: leaf(new Date(now.getTime() + 30 * day)) }) as { reason: string }).reason, /renewing/);
  assert.deepEqual(step({ ...good, leaf: leaf(new Date(now.getTime() + 30 * day + 1)) }), { action: 'keep' });
});

test('reload: until the broker serves the Secret\'s certificate, an update at most every RELOAD_RETRY_MS; blind updates when it cannot be looked at', () => {
  const base = { wanted: 'B', seenAt: 0, reloads: 0, now: 1000 };
  assert.deepEqual(reloadStep({ ...base, served: 'B' }), { kind: 'done' });
  assert.equal(reloadStep({ ...base, served: 'A' }).kind, 'reload');
  assert.equal(reloadStep({ ...base, served: 'A', reloads: 1, lastReloadAt: 1000, now: 1000 + RELOAD_RETRY_MS - 1 }).kind, 'wait');
  assert.match((reloadStep({ ...base, served: 'A', reloads: 1, lastReloadAt: 1000, now: 1000 + RELOAD_RETRY_MS }) as { reason: string }).reason, /still serves its old certificate after 1 update/);
  assert.equal(reloadStep({ ...base, served: '' }).kind, 'reload', 'a failed look counts as not served yet');
  // Blind: at each delay after the Secret changed, then done.
  assert.equal(reloadStep({ ...base, now: 0 }).kind, 'reload');
  assert.equal(reloadStep({ ...base, reloads: 1, now: BLIND_RELOAD_DELAYS_MS[1]! - 1 }).kind, 'wait');
  assert.equal(reloadStep({ ...base, reloads: 1, now: BLIND_RELOAD_DELAYS_MS[1]! }).kind, 'reload');
  assert.deepEqual(reloadStep({ ...base, reloads: BLIND_RELOAD_DELAYS_MS.length, now: 10 ** 9 }), { kind: 'done' });
});

test('reload: the TLS listeners of a node, from its server.properties', () => {
  assert.deepEqual(tlsListeners({
    'listeners': 'INTERNAL://:9092,CONTROLLER://:9093,EXTERNAL://:9094',
    'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,EXTERNAL:SSL,INTERNAL:SSL',
  }), ['EXTERNAL', 'INTERNAL']);
  assert.deepEqual(tlsListeners({ 'listeners': 'CONTROLLER://:9093', 'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,INTERNAL:SSL' }), [], 'a dedicated controller has no TLS listener');
  assert.deepEqual(tlsListeners({}), []);
});
