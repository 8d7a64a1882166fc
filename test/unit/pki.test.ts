import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { clientTlsProperties, tlsListenerConfig, tlsReloadKeys } from '../../lib/config/tls-config.js';
import {
  certificateAuthorityFromPem,
  createCertificateAuthority,
  describeCertificate,
  issueCertificate,
  normalizeSerial,
  renewalDue,
  type CertificateAuthority,
  type IssuedCertificate,
} from '../../lib/tls/pki.js';
import { TLS_MOUNT_DIR, TLS_SECRET_KEYS, secretData, secretDataBase64 } from '../../lib/tls/secret-layout.js';
import { issueAsCertManager, issueWithOpenssl, parseGoDuration, writeSecretDir } from '../support/cert-issuer.js';

const DAY = 24 * 3600 * 1000;
let dir: string;
const file = (name: string, content: string): string => {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
};
const openssl = (...args: string[]): string => execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const NOW = new Date('2026-03-01T12:00:00.750Z');
/** `openssl verify` exit status and output (it fails with a non-zero status), at the tests' `now`. */
const verify = (caFile: string, certFile: string, untrusted?: string, at = NOW) => {
  const attime = ['-attime', String(Math.floor(at.getTime() / 1000) + 1)];
  const r = spawnSync('openssl', ['verify', ...attime, '-CAfile', caFile, ...(untrusted ? ['-untrusted', untrusted] : []), certFile], { encoding: 'utf8' });
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` };
};
const pemBlocks = (pem: string, type = 'CERTIFICATE'): string[] => pem.match(new RegExp(`-----BEGIN ${type}-----[\\s\\S]+?-----END ${type}-----\\n?`, 'g')) ?? [];

describe('pki', () => {
  const now = NOW;
  let ca: CertificateAuthority;
  let leaf: IssuedCertificate;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pki-test-'));
    ca = await createCertificateAuthority({ commonName: 'demo CA', validityDays: 3650, now });
    leaf = await issueCertificate(ca, { commonName: 'demo-broker-0', dnsNames: ['demo-broker-0.kafka.svc', 'localhost'], ipAddresses: ['127.0.0.1'], validityDays: 90, now });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('issues a leaf openssl verifies against the CA, with the SANs, usages and constraints Kafka and Node need', () => {
    const caFile = file('ca.crt', leaf.caPem);
    const crt = file('tls.crt', leaf.certificatePem);
    assert.deepEqual(verify(caFile, crt), { ok: true, out: `${crt}: OK\n` });
    const text = openssl('x509', '-in', crt, '-noout', '-text');
    assert.match(text, /Subject: CN ?= ?demo-broker-0/);
    assert.match(text, /X509v3 Subject Alternative Name: \n\s+DNS:demo-broker-0\.kafka\.svc, DNS:localhost, IP Address:127\.0\.0\.1\n/);
    assert.match(text, /X509v3 Key Usage: critical\n\s+Digital Signature, Key Encipherment\n/);
    assert.match(text, /X509v3 Extended Key Usage: \n\s+TLS Web Server Authentication, TLS Web Client Authentication\n/);
    assert.match(text, /X509v3 Basic Constraints: critical\n\s+CA:FALSE\n/);
    assert.match(text, /Public-Key: \(2048 bit\)/);
    assert.match(text, /Signature Algorithm: sha256WithRSAEncryption/);
    const caText = openssl('x509', '-in', caFile, '-noout', '-text');
    assert.match(caText, /X509v3 Basic Constraints: critical\n\s+CA:TRUE\n/);
    assert.match(caText, /X509v3 Key Usage: critical\n\s+Digital Signature, Certificate Sign, CRL Sign\n/);
    // A root is not sent along: tls.crt is the leaf alone.
    assert.equal(pemBlocks(leaf.certificatePem).length, 1);
  });

  it('openssl refuses the leaf against another CA', async () => {
    const other = await createCertificateAuthority({ commonName: 'other CA', validityDays: 10, now });
    const r = verify(file('other.crt', other.certificatePem), file('tls2.crt', leaf.certificatePem));
    assert.equal(r.ok, false);
    assert.match(r.out, /unable to get local issuer certificate/);
  });

  it('writes the key as unencrypted PKCS#8 that matches the certificate', () => {
    assert.match(leaf.privateKeyPem, /^-----BEGIN PRIVATE KEY-----\n/);
    assert.equal(pemBlocks(leaf.privateKeyPem, 'PRIVATE KEY').length, 1);
    const key = createPrivateKey(leaf.privateKeyPem);
    assert.equal(key.asymmetricKeyType, 'rsa');
    assert.equal(new X509Certificate(leaf.certificatePem).checkPrivateKey(key), true);
    // openssl reads it as PKCS#8 without a passphrase (what Kafka's PEM loader needs).
    assert.match(openssl('pkey', '-in', file('tls.key', leaf.privateKeyPem), '-noout', '-text'), /Private-Key: \(2048 bit/);
  });

  it('combines key then chain in one file, in the Secret layout', () => {
    assert.equal(leaf.combinedPem, `${leaf.privateKeyPem}\n${leaf.certificatePem}`);
    const data = secretData(leaf);
    assert.deepEqual(Object.keys(data).sort(), [...TLS_SECRET_KEYS].sort());
    assert.deepEqual(data, { 'tls.crt': leaf.certificatePem, 'tls.key': leaf.privateKeyPem, 'ca.crt': leaf.caPem, 'tls-combined.pem': leaf.combinedPem });
    assert.equal(Buffer.from(secretDataBase64(leaf)['tls-combined.pem'], 'base64').toString(), leaf.combinedPem);
    // Both halves readable from the one file by openssl.
    const combined = file('combined.pem', leaf.combinedPem);
    // openssl pads the serial to whole bytes (a leading 0 when the first nibble is 0); compared without it.
    assert.equal(normalizeSerial(openssl('x509', '-in', combined, '-noout', '-serial').trim().replace(/^serial=/, '')), describeCertificate(leaf.certificatePem).serialNumber);
    assert.match(openssl('pkey', '-in', combined, '-noout', '-text'), /Private-Key: \(2048 bit/);
    assert.throws(() => secretData({ ...leaf, privateKeyPem: createPrivateKey(leaf.privateKeyPem).export({ type: 'pkcs1', format: 'pem' }).toString() }), /must be a PKCS#8 key/);
  });

  it('describes a certificate as openssl and Node see it', () => {
    const d = describeCertificate(leaf.certificatePem);
    assert.equal(d.subject, 'CN=demo-broker-0');
    assert.equal(d.issuer, 'CN=demo CA');
    assert.deepEqual(d.dnsNames, ['demo-broker-0.kafka.svc', 'localhost']);
    assert.deepEqual(d.ipAddresses, ['127.0.0.1']);
    // Validity is exact to the second, from `now`.
    assert.equal(d.notBefore.toISOString(), '2026-03-01T12:00:00.000Z');
    assert.equal(d.notAfter.toISOString(), '2026-05-30T12:00:00.000Z');
    const crt = file('d.crt', leaf.certificatePem);
    assert.equal(d.serialNumber, normalizeSerial(openssl('x509', '-in', crt, '-noout', '-serial').trim().replace(/^serial=/, '')));
    assert.equal(`sha256 Fingerprint=${d.sha256Fingerprint}`, openssl('x509', '-in', crt, '-noout', '-fingerprint', '-sha256').trim());
    assert.equal(d.sha256Fingerprint, new X509Certificate(leaf.certificatePem).fingerprint256);
    // Serials are random: a second leaf differs.
    return issueCertificate(ca, { commonName: 'x', dnsNames: ['x'], validityDays: 1, now }).then((other) => {
      assert.notEqual(describeCertificate(other.certificatePem).serialNumber, d.serialNumber);
    });
  });

  it('takes an explicit validity window, even one in the past', async () => {
    const expired = await issueCertificate(ca, { dnsNames: ['localhost'], notBefore: new Date(now.getTime() - 10 * DAY), notAfter: new Date(now.getTime() - DAY) });
    const d = describeCertificate(expired.certificatePem);
    assert.equal(d.notAfter.toISOString(), '2026-02-28T12:00:00.000Z');
    assert.equal(d.subject, '');
    const r = verify(file('ca-e.crt', ca.rootPem), file('expired.crt', expired.certificatePem));
    assert.equal(r.ok, false);
    assert.match(r.out, /certificate has expired/);
    await assert.rejects(issueCertificate(ca, { dnsNames: ['a'], notBefore: now, notAfter: now }), /must be after notBefore/);
    await assert.rejects(issueCertificate(ca, { dnsNames: ['a'], now }), /give validityDays or notAfter/);
    await assert.rejects(issueCertificate(ca, { commonName: 'bare', dnsNames: [], validityDays: 1 }), /needs at least one DNS name or IP address/);
  });

  it('sends intermediates in tls.crt and trusts the root in ca.crt', async () => {
    const intermediate = await createCertificateAuthority({ commonName: 'demo intermediate', validityDays: 365, issuer: ca, now });
    assert.equal(intermediate.rootPem, ca.certificatePem);
    const l = await issueCertificate(intermediate, { dnsNames: ['localhost'], validityDays: 5, now });
    const blocks = pemBlocks(l.certificatePem);
    assert.equal(blocks.length, 2);
    assert.equal(blocks[1], intermediate.certificatePem);
    assert.equal(l.caPem, ca.certificatePem);
    const leafOnly = file('leaf-only.crt', blocks[0]!);
    assert.equal(verify(file('root.crt', l.caPem), leafOnly, file('chain.crt', l.certificatePem)).ok, true);
    assert.equal(verify(file('root2.crt', l.caPem), leafOnly).ok, false, 'the leaf alone does not chain to the root');
    assert.match(openssl('x509', '-in', file('int.crt', intermediate.certificatePem), '-noout', '-text'), /Authority Key Identifier/);
  });

  it('says when renewal is due', () => {
    const cert = { notAfter: new Date('2026-06-01T00:00:00Z') };
    const renewBefore = 30 * DAY;
    assert.equal(renewalDue(cert, new Date('2026-05-01T23:59:59Z'), renewBefore), false);
    assert.equal(renewalDue(cert, new Date('2026-05-02T00:00:00Z'), renewBefore), true);
    assert.equal(renewalDue(cert, new Date('2026-07-01T00:00:00Z'), renewBefore), true);
    assert.equal(renewalDue(describeCertificate(leaf.certificatePem), now, 30 * DAY), false);
    assert.equal(renewalDue(describeCertificate(leaf.certificatePem), new Date(now.getTime() + 61 * DAY), 30 * DAY), true);
  });

  it('signs with a CA made elsewhere (openssl)', async () => {
    const byo = issueWithOpenssl({ commonName: 'byo', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
    assert.match(byo.privateKeyPem, /^-----BEGIN PRIVATE KEY-----/, 'openssl 3 writes PKCS#8');
    assert.deepEqual(describeCertificate(byo.certificatePem).ipAddresses, ['127.0.0.1']);
    const l = await issueCertificate(certificateAuthorityFromPem(byo.caPem, byo.caKeyPem), { dnsNames: ['client'], validityDays: 1 });
    const today = new Date();
    assert.equal(verify(file('byo-ca.crt', byo.caPem), file('byo-leaf.crt', l.certificatePem), undefined, today).ok, true);
    assert.equal(verify(file('byo-ca2.crt', byo.caPem), file('byo-own.crt', byo.certificatePem), undefined, today).ok, true);
  });
});

describe('cert-manager emulation', () => {
  const manifest = {
    apiVersion: 'cert-manager.io/v1',
    kind: 'Certificate',
    metadata: { name: 'demo-broker-0-tls', namespace: 'kafka' },
    spec: {
      secretName: 'demo-broker-0-tls',
      commonName: 'demo-broker-0',
      dnsNames: ['demo-broker-0.demo.kafka.svc'],
      ipAddresses: ['127.0.0.1'],
      duration: '720h0m0s',
      usages: ['server auth', 'client auth'],
      privateKey: { algorithm: 'RSA', encoding: 'PKCS8' as const, size: 2048 },
      additionalOutputFormats: [{ type: 'CombinedPEM' as const }],
      issuerRef: { name: 'demo-ca', kind: 'Issuer' },
    },
  };

  it('parses Go durations', () => {
    assert.equal(parseGoDuration('2160h'), 90 * DAY);
    assert.equal(parseGoDuration('1h30m0s'), 5_400_000);
    assert.throws(() => parseGoDuration('90d'), /not a Go duration/);
  });

  it('writes the keys cert-manager writes, in its formats', async () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const ca = await createCertificateAuthority({ commonName: 'cm CA', validityDays: 100, now });
    const { secretName, data } = await issueAsCertManager(manifest, ca, now);
    assert.equal(secretName, 'demo-broker-0-tls');
    assert.deepEqual(Object.keys(data).sort(), ['ca.crt', 'tls-combined.pem', 'tls.crt', 'tls.key']);
    assert.match(data['tls.key']!, /^-----BEGIN PRIVATE KEY-----/);
    assert.equal(data['tls-combined.pem'], `${data['tls.key']}\n${data['tls.crt']}`);
    assert.equal(data['ca.crt'], ca.certificatePem);
    const d = describeCertificate(data['tls.crt']!);
    assert.deepEqual([d.subject, d.dnsNames, d.ipAddresses, d.notAfter.toISOString()], ['CN=demo-broker-0', ['demo-broker-0.demo.kafka.svc'], ['127.0.0.1'], '2026-01-31T00:00:00.000Z']);
    // cert-manager's default encoding is PKCS1, which Kafka cannot read: the manifest must say PKCS8.
    const pkcs1 = await issueAsCertManager({ spec: { ...manifest.spec, privateKey: { algorithm: 'RSA' }, additionalOutputFormats: [] } }, ca, now);
    assert.match(pkcs1.data['tls.key']!, /^-----BEGIN RSA PRIVATE KEY-----/);
    assert.equal(pkcs1.data['tls-combined.pem'], undefined);
    await assert.rejects(issueAsCertManager({ spec: { ...manifest.spec, privateKey: { algorithm: 'ECDSA' } } }, ca, now), /RSA 2048 keys only/);
  });

  it('mounts like a Secret volume and swaps atomically', async () => {
    const d = mkdtempSync(join(tmpdir(), 'secret-dir-'));
    try {
      const ca = await createCertificateAuthority({ commonName: 'swap CA', validityDays: 10 });
      const first = await issueCertificate(ca, { dnsNames: ['localhost'], validityDays: 1 });
      writeSecretDir(d, secretData(first));
      assert.equal(readlinkSync(join(d, 'tls.crt')), '..data/tls.crt');
      const before = readlinkSync(join(d, '..data'));
      assert.equal(lstatSync(join(d, 'tls-combined.pem')).isSymbolicLink(), true);
      assert.equal(readFileSync(join(d, 'tls-combined.pem'), 'utf8'), first.combinedPem);
      const second = await issueCertificate(ca, { dnsNames: ['localhost'], validityDays: 1 });
      writeSecretDir(d, secretData(second));
      assert.notEqual(readlinkSync(join(d, '..data')), before);
      assert.equal(readFileSync(join(d, 'tls-combined.pem'), 'utf8'), second.combinedPem);
      assert.equal(lstatSync(join(d, 'tls.key')).isSymbolicLink(), true);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});

describe('tls-config', () => {
  it('prefixes listener keys with the lower-cased listener name and points at the PEM files', () => {
    assert.deepEqual(tlsListenerConfig('INTERNAL', { clientAuth: 'required' }), {
      'listener.name.internal.ssl.client.auth': 'required',
      'listener.name.internal.ssl.keystore.location': `${TLS_MOUNT_DIR}/tls-combined.pem`,
      'listener.name.internal.ssl.keystore.type': 'PEM',
      'listener.name.internal.ssl.truststore.location': `${TLS_MOUNT_DIR}/ca.crt`,
      'listener.name.internal.ssl.truststore.type': 'PEM',
    });
    assert.equal(tlsListenerConfig('External', { clientAuth: 'none', dir: '/x' })['listener.name.external.ssl.keystore.location'], '/x/tls-combined.pem');
    assert.deepEqual(tlsReloadKeys('SSL_A'), { keystore: 'listener.name.ssl_a.ssl.keystore.location', truststore: 'listener.name.ssl_a.ssl.truststore.location' });
  });

  it('gives Kafka CLI tools a truststore, and a keystore only when the listener asks for client certificates', () => {
    assert.deepEqual(clientTlsProperties({ dir: '/t', clientAuth: 'none', verifyHostname: false }), {
      'security.protocol': 'SSL',
      'ssl.endpoint.identification.algorithm': '',
      'ssl.truststore.location': '/t/ca.crt',
      'ssl.truststore.type': 'PEM',
    });
    const mtls = clientTlsProperties({ clientAuth: 'required', verifyHostname: true });
    assert.equal(mtls['ssl.endpoint.identification.algorithm'], 'https');
    assert.equal(mtls['ssl.keystore.location'], `${TLS_MOUNT_DIR}/tls-combined.pem`);
    assert.equal(mtls['ssl.keystore.type'], 'PEM');
    assert.equal(clientTlsProperties({ clientAuth: 'requested', verifyHostname: false })['ssl.keystore.type'], 'PEM');
  });
});
