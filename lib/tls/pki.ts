/**
 * A small PKI for Kafka listeners: a CA, leaf certificates for server and client auth, and
 * reading back what a certificate says. Used by `kafka-cdk8s certs` and the controller when
 * neither cert-manager nor the user provides certificates.
 *
 * Keys are RSA 2048: cert-manager's default too, accepted by every Java (Kafka's PEM loader)
 * and Node (kafkajs) TLS stack and every cipher-suite policy. node-forge encodes the
 * certificates (it encodes RSA signatures only, which is why not ECDSA); Node's crypto makes
 * the keys, signs (native, fast) and writes keys as PKCS#8, the only unencrypted form
 * Kafka's PEM keystore reads.
 */
import { createHash, createPrivateKey, generateKeyPair, randomBytes, sign as cryptoSign } from 'node:crypto';
import { promisify } from 'node:util';
import forge from 'node-forge';
import { combinePem, type TlsMaterial } from './secret-layout.js';

const generateKeyPairAsync = promisify(generateKeyPair);
const DAY_MS = 24 * 60 * 60 * 1000;

export interface CertificateAuthority {
  /** This CA's certificate. */
  readonly certificatePem: string;
  /** This CA's private key (PKCS#8). */
  readonly privateKeyPem: string;
  /** Certificates a leaf must send after itself: this CA and its issuers, without the self-signed root ('' for a root). */
  readonly chainPem: string;
  /** The self-signed root at the top: what clients trust (ca.crt). */
  readonly rootPem: string;
}

export interface CertificateAuthorityOptions {
  readonly commonName: string;
  readonly validityDays: number;
  /** @default new Date() */
  readonly now?: Date;
  /** Make an intermediate signed by this CA. @default - a self-signed root */
  readonly issuer?: CertificateAuthority;
}

export interface IssueOptions {
  /** @default - an empty subject (clients check the SANs only, as cert-manager allows) */
  readonly commonName?: string;
  readonly dnsNames: readonly string[];
  readonly ipAddresses?: readonly string[];
  /** Validity from `now`; or give notBefore/notAfter. */
  readonly validityDays?: number;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  /** @default new Date() */
  readonly now?: Date;
  /** 'node': server and client auth (a broker serves and replicates); 'client': client auth only, no name needed. @default 'node' */
  readonly usage?: 'node' | 'client';
}

/** A leaf certificate in the shape of the TLS Secret. */
export interface IssuedCertificate extends TlsMaterial {
  /** Leaf + chain (no self-signed root). */
  readonly certificatePem: string;
  /** PKCS#8. */
  readonly privateKeyPem: string;
  /** The root to trust. */
  readonly caPem: string;
  /** Private key then certificatePem: Kafka's PEM keystore file. */
  readonly combinedPem: string;
}

export interface CertificateDescription {
  /** e.g. `CN=demo-broker-0`. */
  readonly subject: string;
  readonly issuer: string;
  readonly dnsNames: string[];
  readonly ipAddresses: string[];
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Upper-case hex, no leading zeros (comparable with Node's peer certificate). */
  readonly serialNumber: string;
  /** SHA-256 of the DER, upper-case hex pairs joined by ':' (as openssl and Node print it). */
  readonly sha256Fingerprint: string;
}

async function newKeyPair(): Promise<{ privateKeyPem: string; forgePublic: forge.pki.PublicKey }> {
  const { privateKey, publicKey } = await generateKeyPairAsync('rsa', { modulusLength: 2048, publicExponent: 0x10001 });
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    forgePublic: forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString()),
  };
}

/** 128 random bits, positive (RFC 5280 serials are positive and at most 20 bytes). */
function newSerial(): string {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x01;
  return b.toString('hex');
}

/** X.509 has second precision; truncating here keeps describeCertificate() round-trips exact. */
const wholeSeconds = (d: Date): Date => new Date(Math.floor(d.getTime() / 1000) * 1000);

function validity(opts: { validityDays?: number; notBefore?: Date; notAfter?: Date; now?: Date }): { notBefore: Date; notAfter: Date } {
  const now = opts.now ?? new Date();
  const notBefore = wholeSeconds(opts.notBefore ?? now);
  let notAfter: Date;
  if (opts.notAfter) notAfter = wholeSeconds(opts.notAfter);
  else if (opts.validityDays !== undefined) notAfter = wholeSeconds(new Date(notBefore.getTime() + opts.validityDays * DAY_MS));
  else throw new Error('give validityDays or notAfter');
  if (notAfter <= notBefore) throw new Error(`notAfter (${notAfter.toISOString()}) must be after notBefore (${notBefore.toISOString()})`);
  return { notBefore, notAfter };
}

/** Parses the first certificate of a PEM bundle. */
function firstCertificate(pem: string): forge.pki.Certificate {
  return forge.pki.certificateFromPem(pem);
}

function subjectKeyId(cert: forge.pki.Certificate): string {
  return cert.generateSubjectKeyIdentifier().getBytes();
}

/** In forge (x509.js) but missing from @types/node-forge. */
interface ForgeTbs {
  getTBSCertificate(cert: forge.pki.Certificate): forge.asn1.Asn1;
}

/**
 * Signs with Node's crypto instead of forge's pure-JS RSA (about 100x faster). The CA key may
 * be PKCS#1 or PKCS#8 (a BYO CA's may be either); it must be RSA, the one signature
 * algorithm forge encodes.
 */
function sign(cert: forge.pki.Certificate, caKeyPem: string): string {
  const key = createPrivateKey(caKeyPem);
  if (key.asymmetricKeyType !== 'rsa') throw new Error(`the CA key is ${key.asymmetricKeyType ?? 'unknown'}; only RSA CA keys can sign here`);
  cert.signatureOid = cert.siginfo.algorithmOid = forge.pki.oids.sha256WithRSAEncryption!;
  const tbs = (forge.pki as unknown as ForgeTbs).getTBSCertificate(cert);
  cert.signature = cryptoSign('sha256', Buffer.from(forge.asn1.toDer(tbs).getBytes(), 'binary'), key).toString('binary');
  // forge ends PEM lines with CRLF; everything else here (Node, openssl, cert-manager) uses LF.
  return forge.pki.certificateToPem(cert).replace(/\r\n/g, '\n');
}

export async function createCertificateAuthority(opts: CertificateAuthorityOptions): Promise<CertificateAuthority> {
  const { privateKeyPem, forgePublic } = await newKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forgePublic;
  cert.serialNumber = newSerial();
  const v = validity({ validityDays: opts.validityDays, now: opts.now });
  cert.validity.notBefore = v.notBefore;
  cert.validity.notAfter = v.notAfter;
  cert.setSubject([{ shortName: 'CN', value: opts.commonName }]);
  const issuerCert = opts.issuer ? firstCertificate(opts.issuer.certificatePem) : cert;
  cert.setIssuer(issuerCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
    ...(opts.issuer ? [{ name: 'authorityKeyIdentifier', keyIdentifier: subjectKeyId(issuerCert) }] : []),
  ]);
  const certificatePem = sign(cert, opts.issuer?.privateKeyPem ?? privateKeyPem);
  return {
    certificatePem,
    privateKeyPem,
    chainPem: opts.issuer ? certificatePem + opts.issuer.chainPem : '',
    rootPem: opts.issuer ? opts.issuer.rootPem : certificatePem,
  };
}

/** A certificate the CA made elsewhere (e.g. with openssl), used as a self-signed root. */
export function certificateAuthorityFromPem(certificatePem: string, privateKeyPem: string): CertificateAuthority {
  return { certificatePem, privateKeyPem, chainPem: '', rootPem: certificatePem };
}

/** A leaf for server and client auth (a broker is both: it serves and replicates), or a client's. */
export async function issueCertificate(ca: CertificateAuthority, opts: IssueOptions): Promise<IssuedCertificate> {
  const { privateKeyPem, forgePublic } = await newKeyPair();
  const caCert = firstCertificate(ca.certificatePem);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forgePublic;
  cert.serialNumber = newSerial();
  const v = validity(opts);
  cert.validity.notBefore = v.notBefore;
  cert.validity.notAfter = v.notAfter;
  cert.setSubject(opts.commonName ? [{ shortName: 'CN', value: opts.commonName }] : []);
  cert.setIssuer(caCert.subject.attributes);
  const altNames = [...opts.dnsNames.map((value) => ({ type: 2, value })), ...(opts.ipAddresses ?? []).map((ip) => ({ type: 7, ip }))];
  const client = opts.usage === 'client';
  if (!altNames.length && !client) throw new Error(`certificate "${opts.commonName ?? ''}" needs at least one DNS name or IP address: clients verify the SANs, not the CN`);
  if (client && !opts.commonName && !altNames.length) throw new Error('a client certificate needs a common name or a SAN: it is who the client is');
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: !client, clientAuth: true },
    ...(altNames.length ? [{ name: 'subjectAltName', altNames }] : []),
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: subjectKeyId(caCert) },
  ]);
  const leafPem = sign(cert, ca.privateKeyPem);
  const certificatePem = leafPem + ca.chainPem;
  return { certificatePem, privateKeyPem, caPem: ca.rootPem, combinedPem: combinePem(privateKeyPem, certificatePem) };
}

const normalizeSerial = (hex: string): string => hex.replace(/[^0-9a-f]/gi, '').replace(/^0+(?=.)/, '').toUpperCase();

function dn(attrs: forge.pki.CertificateField[]): string {
  return attrs.map((a) => `${a.shortName ?? a.name ?? a.type}=${String(a.value)}`).join(', ');
}

/** What the first certificate of a PEM bundle (or a DER buffer) says. */
export function describeCertificate(pemOrDer: string | Buffer): CertificateDescription {
  const der = typeof pemOrDer === 'string' ? Buffer.from(forge.pem.decode(pemOrDer).find((m) => m.type === 'CERTIFICATE')?.body ?? '', 'binary') : pemOrDer;
  if (!der.length) throw new Error('no CERTIFICATE block in the PEM text');
  const cert = forge.pki.certificateFromAsn1(forge.asn1.fromDer(forge.util.createBuffer(der.toString('binary'))));
  const san = cert.getExtension('subjectAltName') as { altNames?: { type: number; value?: string; ip?: string }[] } | null;
  const alt = san?.altNames ?? [];
  return {
    subject: dn(cert.subject.attributes),
    issuer: dn(cert.issuer.attributes),
    dnsNames: alt.filter((a) => a.type === 2).map((a) => a.value!),
    ipAddresses: alt.filter((a) => a.type === 7).map((a) => a.ip!),
    notBefore: cert.validity.notBefore,
    notAfter: cert.validity.notAfter,
    serialNumber: normalizeSerial(cert.serialNumber),
    sha256Fingerprint: fingerprint(der),
  };
}

/** Upper-case hex pairs joined by ':' (openssl's and Node's `fingerprint256` format). */
export function fingerprint(der: Buffer): string {
  return createHash('sha256').update(der).digest('hex').toUpperCase().match(/../g)!.join(':');
}

/** Peer serials from Node's TLS come in the same form as ours after this. */
export { normalizeSerial };

/** True once `now` is within `renewBeforeMs` of the certificate's end (or past it). */
export function renewalDue(cert: Pick<CertificateDescription, 'notAfter'>, now: Date, renewBeforeMs: number): boolean {
  return now.getTime() >= cert.notAfter.getTime() - renewBeforeMs;
}
